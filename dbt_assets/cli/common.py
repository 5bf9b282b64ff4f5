"""What every command module shares: the error line, the graph and history from the common
options, printing lines and plans, JSON, and the group class that turns errors into the error
contract's one line and lets a group's options be given after its subcommands.

Options of a group, in either position (as dbt's own flags): every option declared on a click
group under ``dbt-assets`` (``history --project-dir``, the root's ``--debug``) is accepted after
its subcommands too, at any depth: ``dbt-assets history show 1 --project-dir .`` is
``dbt-assets history --project-dir . show 1``. Nothing to do but declare the option once, on
the group (a plain ``@click.group`` works, the root :class:`Group` does it for the whole tree):

    @click.group("automate", invoke_without_command=True)
    @PROJECT_DIR                 # accepted by `automate` and after each of its subcommands
    @HISTORY
    @click.option("--limit", cls=GroupOnlyOption)  # only for `automate` run alone
    @click.pass_context
    def automate_group(ctx, /, **kwargs): ...

    @automate_group.command("tick")
    def tick() -> None:
        values = group_values()  # {"project_dir": ..., "history_path": ..., ...}, from either position

The whole command line is parsed before any callback runs, so a group's callback already sees
the values given after its subcommand, and a subcommand reads them with :func:`group_values`.
Given in both positions with different values, an option is a usage error (a ``multiple``
option adds them up). Do not declare a group's option again on its subcommands (the walk test,
tests/test_cli_positions.py, checks every command for it): the subcommand's own would win after
it and the group's value would not reach it. A group option cannot be ``required``; a group
result callback (``@group.result_callback``) is not supported."""

from __future__ import annotations

import copy
import itertools
import json
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from dbt_assets._core.errors import DbtAssetsError, one_line

if TYPE_CHECKING:
    from dbt_assets.history.store import History
    from dbt_assets.manifest.graph import AssetGraph
    from dbt_assets.plan.compile import Plan


class Group(click.Group):
    """Turns a :class:`DbtAssetsError`, and a usage error, into one line on stderr and exit
    code 2 (click would print the usage and a help hint on lines of their own)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        given = list(sys.argv[1:] if args is None else args)
        if any("\x00" in arg for arg in given):  # no path, name or dbt argument holds one
            echo_error("an argument contains a NUL byte", "see `dbt-assets --help`")
            sys.exit(2)
        args = given
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "dbt-assets"
            echo_error(exc.format_message(), f"see `{where} --help`")
            sys.exit(exc.exit_code)
        except click.ClickException as exc:
            echo_error(exc.format_message())
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("Aborted.", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        super().add_command(cmd, name)
        _share_below(cmd, (self,))  # so that --help and introspection see them before any call

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return _invoke_parsed(ctx)
        except DbtAssetsError as exc:
            if ctx.meta.get("dbt_assets.debug"):
                traceback.print_exc()
            echo_error(exc.message, exc.hint)
            ctx.exit(2)


def echo_error(message: str, hint: str | None = None) -> None:
    """The error contract's line on stderr: ``Error: message (hint: ...)``, one line of bounded
    length whatever the input quoted in it."""
    from dbt_assets._core.quoting import cut

    click.echo(f"Error: {cut(message, 1200)}" + (f" (hint: {cut(hint, 600)})" if hint else ""), err=True)


def graph_from(kwargs: dict[str, Any]) -> AssetGraph:
    from dbt_assets.api import load_graph

    return load_graph(
        project_dir=kwargs.pop("project_dir"),
        manifest=kwargs.pop("manifest"),
        profiles_dir=kwargs.pop("profiles_dir"),
        target=kwargs.pop("target"),
        dbt_executable=kwargs.pop("dbt_executable"),
    )


@contextmanager
def history_for_selection(kwargs: dict[str, Any]) -> Iterator[History | None]:
    """The history ``status:`` and ``sla:`` read when --history names one (else they read
    the project's, only if the selection uses them)."""
    path = kwargs.pop("history_path")
    if path is None:
        yield None
        return
    from dbt_assets.api import open_history

    with open_history(path=path, create=False) as history:
        yield history


def print_lines(lines: Any) -> None:
    out = sys.stdout
    try:
        for line in lines:
            out.write(line)
            out.write("\n")
        out.flush()
    except BrokenPipeError:  # `dbt-assets ls | head`
        sys.stderr.close()
        sys.exit(0)


def print_plan(graph: AssetGraph, plan: Plan, output: str, argv: list[str] | None = None) -> None:
    warn_unmatched(graph, plan.unmatched)
    if output == "json":
        payload: dict[str, Any] = {
            "command": plan.command,
            "argv": ["dbt", *(plan.argv or (plan.command,))],
            "unique_ids": list(plan.unique_ids),
            "empty": plan.empty,
            "runnable": plan.runnable,
        }
        if plan.needs() is not None:  # the argv cannot run as it stands: say what it needs
            payload["needs"] = plan.needs()
        if plan.state_dir is not None:
            payload["state_dir"] = plan.state_dir
        if plan.empty:
            payload["message"] = plan.why_empty()[0]
            payload["unmatched"] = list(plan.unmatched)
        if plan.selector is not None:  # too long for a command line: add it to a selectors.yml
            payload["selector"] = plan.selector
        if argv is not None:
            payload["command_line"] = ["dbt", *argv[1:]]
        click.echo(json.dumps(payload))
        return
    from dbt_assets.cli.render import render_plan

    click.echo(render_plan(graph, plan), nl=False)


def warn_unmatched(graph: AssetGraph, unmatched: Sequence[str]) -> None:
    """dbt's warning for each criterion that matched nothing, on stderr (the exit code stays 0,
    as dbt's)."""
    from dbt_assets.selection import unmatched_warning

    for raw in unmatched:
        click.echo(f"Warning: {one_line(unmatched_warning(graph, raw))}", err=True)


# --- a group's options, before or after its subcommands (see the module's docstring) -------------


class GroupOnlyOption(click.Option):
    """An option of what a group does run alone (``dbt-assets history --limit 5``), not of its
    subcommands: refused with a subcommand, before it or after it, with the same message."""


class _FromGroup:
    """The callback of a group's option attached to a command below the group: a value given
    there goes to the group's context, as if it had been given before the subcommand."""

    def __init__(self, group: click.Command, option: click.Option) -> None:
        self.group, self.option = group, option

    def __call__(self, ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        name = self.option.name
        if name is None or ctx.get_parameter_source(name) is not ParameterSource.COMMANDLINE:
            return value
        flag = _flag(self.option)
        group_ctx = ctx.parent
        while group_ctx is not None and group_ctx.command is not self.group:
            group_ctx = group_ctx.parent
        if group_ctx is None:  # the command was reached without its group
            raise click.NoSuchOption(flag, ctx=ctx)
        if isinstance(self.option, GroupOnlyOption):
            raise _group_only(group_ctx, flag)
        if self.option.callback is not None:
            value = self.option.callback(ctx, param, value)
        if group_ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE:  # given before too
            before = group_ctx.params.get(name)
            if self.option.multiple:
                value = (*(before or ()), *value)
            elif before != value:
                raise click.UsageError(
                    f"{flag} is given twice with different values ({_shown(before)} and {_shown(value)}); "
                    f"give it once, before or after `{ctx.info_name}`",
                    ctx,
                )
        group_ctx.params[name] = value
        group_ctx.set_parameter_source(name, ParameterSource.COMMANDLINE)
        return value


def _flag(option: click.Option) -> str:
    """The option's name as users know it: its longest spelling (``--output``, not ``-o``)."""
    return max(option.opts, key=len)


def _shown(value: Any) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def _group_only(group_ctx: click.Context, flag: str) -> click.UsageError:
    """The same refusal before and after the subcommand (its hint: the group's --help)."""
    return click.UsageError(
        f"{flag} is for `{group_ctx.command_path}` run alone, not with a subcommand "
        f"(`{group_ctx.command_path} {group_ctx.invoked_subcommand}`)",
        group_ctx,
    )


def share_group_options(command: click.Command, groups: Sequence[click.Command]) -> None:
    """Attach the options of ``groups`` (the groups above ``command``, outermost first) to
    ``command``, once each; the nearest group's first, as ``--help`` lists them. An option the
    command declares itself (same name or flag) is left to it."""
    names = {param.name for param in command.params}
    flags = {flag for param in command.params for flag in (*param.opts, *param.secondary_opts)}
    for group in reversed(groups):
        for param in group.params:
            if not isinstance(param, click.Option) or param.is_eager:
                continue  # --help, --version
            if isinstance(param.callback, _FromGroup):
                continue  # an option this group has from a group above it
            spellings = {*param.opts, *param.secondary_opts}
            if param.name in names or spellings & flags:
                continue
            clone = copy.copy(param)
            clone.callback = _FromGroup(group, param)
            clone.expose_value = False
            clone.required = False
            clone.prompt = None
            clone.hidden = param.hidden or isinstance(param, GroupOnlyOption)
            command.params.append(clone)
            names.add(param.name)
            flags |= spellings


def _share_below(command: click.Command, groups: tuple[click.Command, ...]) -> None:
    """:func:`share_group_options` for a command and everything below it (parsing does it again
    for what is added later: it is idempotent)."""
    share_group_options(command, groups)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _share_below(sub, (*groups, command))


def parse_command_line(ctx: click.Context) -> list[click.Context]:
    """Parse what follows the root's own options, group by group down to the command that runs
    (each given its groups' options first): the contexts, root first. Nothing runs yet, so
    every group's callback sees the values given after its subcommand too."""
    contexts = [ctx]
    while isinstance(ctx.command, click.Group) and not ctx.command.chain:
        # the subcommand and its arguments: `_protected_args` since click 8.2, `protected_args` before
        state = vars(ctx)
        key = "_protected_args" if "_protected_args" in state else "protected_args"
        pending = [*state.get(key, ()), *ctx.args]
        if not pending:
            if not ctx.command.invoke_without_command:
                ctx.fail("Missing command.")
            break
        state[key], ctx.args = [], []
        name, command, args = ctx.command.resolve_command(ctx, pending)
        assert name is not None and command is not None  # resolve_command raises otherwise
        ctx.invoked_subcommand = name
        share_group_options(command, [context.command for context in contexts])
        ctx = command.make_context(name, args, parent=ctx)
        contexts.append(ctx)
    for ctx in contexts[:-1]:  # a group's option for the group run alone, given before a subcommand
        for param in ctx.command.params:
            given = ctx.get_parameter_source(param.name or "") is ParameterSource.COMMANDLINE
            if isinstance(param, GroupOnlyOption) and given:
                raise _group_only(ctx, _flag(param))
    return contexts


def _invoke_parsed(root: click.Context) -> Any:
    """Run a parsed command line: each group's callback, outermost first, then the command's."""
    with ExitStack() as stack:
        stack.enter_context(root)
        contexts = parse_command_line(root)
        for ctx in contexts[1:]:
            stack.enter_context(ctx)
        # each context was made before its parent's callback ran: pass on the ctx.obj it sets
        pairs = list(itertools.pairwise(contexts))
        inherited = [child.obj is ctx.obj for ctx, child in pairs]
        for (ctx, child), inherits in zip(pairs, inherited, strict=True):
            click.Command.invoke(ctx.command, ctx)
            if inherits:
                child.obj = ctx.obj
        last = contexts[-1]
        if isinstance(last.command, click.Group) and not last.command.chain:  # a group run alone
            return click.Command.invoke(last.command, last)
        return last.command.invoke(last)


def group_values(ctx: click.Context | None = None) -> dict[str, Any]:
    """The values of the options of the groups above the running command, given before or after
    its name (the nearest group's when two groups have one of the same name)."""
    values: dict[str, Any] = {}
    parent = (ctx or click.get_current_context()).parent
    while parent is not None:
        for name, value in parent.params.items():
            values.setdefault(name, value)
        parent = parent.parent
    return values
