"""What every command module shares: the error line, the graph and history from the common
options, printing lines and plans, JSON, and the group class that turns errors into the error
contract's one line."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

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

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DbtAssetsError as exc:
            if ctx.meta.get("dbt_assets.debug"):
                traceback.print_exc()
            echo_error(exc.message, exc.hint)
            ctx.exit(2)


def echo_error(message: str, hint: str | None = None) -> None:
    """The error contract's line on stderr: ``Error: message (hint: ...)``."""
    click.echo(f"Error: {one_line(message)}" + (f" (hint: {one_line(hint)})" if hint else ""), err=True)


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
        }
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
