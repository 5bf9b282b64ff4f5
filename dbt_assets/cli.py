"""The ``dbt-assets`` command line: a thin shell over :mod:`dbt_assets.api`.

Heavy modules are imported inside commands, so ``dbt-assets --help`` stays instant and a
cold ``dbt-assets ls`` pays only for what it uses.
"""

from __future__ import annotations

import functools
import json
import sys
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from dbt_assets.cli_options import (
    _HISTORY,
    _selection_kwargs,
    command_option,
    project_options,
    select_ids_option,
    selection_options,
    spread_multi_values,
)
from dbt_assets.errors import DbtAssetsError, one_line

if TYPE_CHECKING:
    from dbt_assets.compile import Plan
    from dbt_assets.graph import AssetGraph
    from dbt_assets.history import History


class _Group(click.Group):
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


def _graph(kwargs: dict[str, Any]) -> AssetGraph:
    from dbt_assets.api import load_graph

    return load_graph(
        project_dir=kwargs.pop("project_dir"),
        manifest=kwargs.pop("manifest"),
        profiles_dir=kwargs.pop("profiles_dir"),
        target=kwargs.pop("target"),
        dbt_executable=kwargs.pop("dbt_executable"),
    )


@contextmanager
def _history_for_selection(kwargs: dict[str, Any]) -> Iterator[History | None]:
    """The history ``status:`` and ``sla:`` read when --history names one (else they read
    the project's, only if the selection uses them)."""
    path = kwargs.pop("history_path")
    if path is None:
        yield None
        return
    from dbt_assets.history import History

    with History.open(path, create=False) as history:
        yield history


def _print_lines(lines: Any) -> None:
    out = sys.stdout
    try:
        for line in lines:
            out.write(line)
            out.write("\n")
        out.flush()
    except BrokenPipeError:  # `dbt-assets ls | head`
        sys.stderr.close()
        sys.exit(0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, envvar="DBT_ASSETS_DEBUG", help="Show a traceback on errors.")
@click.version_option(package_name="dbt-assets")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """dbt-assets: a dbt project as a graph of data assets.

    \b
    Every model, seed, snapshot, source, exposure, metric, test ... of the project is an
    asset with its lineage. Point it at a project (--project-dir, re-parsed with `dbt parse`
    when the manifest is stale) or straight at a manifest (--manifest).

    \b
    Examples:
      dbt-assets ls --project-dir fixtures/dbt_project --output json
      dbt-assets show orders
      dbt-assets graph --select orders --format mermaid
    """
    ctx.meta["dbt_assets.debug"] = debug


@main.command("ls")
@project_options
@functools.partial(selection_options, models="ls")
@click.option(
    "--models",
    "--model",
    "-m",
    "models",
    multiple=True,
    metavar="SELECTION",
    help="dbt ls's legacy form: select among models only (not with --select or --resource-type).",
)
@click.option(
    "--output",
    "-o",
    default="selector",
    show_default=True,
    type=click.Choice(["selector", "name", "path", "json"]),
    help="dbt ls output shape.",
)
@click.option(
    "--output-keys",
    multiple=True,
    metavar="KEYS",
    help="With --output json: only these keys (space-separated or repeated; dotted keys "
    "such as config.materialized reach into nested values).",
)
@_HISTORY
def ls_command(**kwargs: Any) -> None:
    """List assets like `dbt ls`, from the manifest alone (no dbt start-up).

    \b
    Selects exactly what `dbt ls` selects with the same options. With no selection:
    models, seeds, snapshots, sources, tests, unit tests, exposures, metrics, semantic
    models, saved queries and functions; analyses with --resource-type all.

    \b
    Examples:
      dbt-assets ls --project-dir fixtures/dbt_project --output json
      dbt-assets ls -s downstream_of:orders --resource-type model -o name
      dbt-assets ls -s "tag:finance,config.materialized:table" --exclude "stg_*"
      dbt-assets ls -s owner:finance@* -o json --output-keys "unique_id config.materialized"
    """
    from dbt_assets.api import list_assets
    from dbt_assets.listing import format_listing

    selection = _selection_kwargs(kwargs)
    unmatched: list[str] = []
    with _history_for_selection(kwargs) as history:
        graph = _graph(kwargs)
        uids = list_assets(
            graph,
            kwargs["select_values"],
            models=kwargs["models"],
            history=history,
            unmatched=unmatched,
            **selection,
        )
    warn_unmatched(graph, unmatched)
    _print_lines(format_listing(graph, uids, kwargs["output"], kwargs["output_keys"]))


def warn_unmatched(graph: AssetGraph, unmatched: Sequence[str]) -> None:
    """dbt's warning for each criterion that matched nothing, on stderr (the exit code stays 0,
    as dbt's)."""
    from dbt_assets.selection import unmatched_warning

    for raw in unmatched:
        click.echo(f"Warning: {one_line(unmatched_warning(graph, raw))}", err=True)


main.add_command(ls_command, "list")


@main.command("plan")
@project_options
@selection_options
@command_option("The dbt command to plan.")
@select_ids_option("Select exactly these unique_ids, one per line ('-' reads stdin), instead of --select.")
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
@_HISTORY
def plan_command(**kwargs: Any) -> None:
    """Show what a dbt command would run and the exact dbt arguments for it.

    \b
    dbt syntax passes through as written; downstream_of:/upstream_of: become dbt
    operators; anything else (owner:, --select-ids) compiles to the shortest exact
    list of dbt selectors found. Each is checked to select exactly the planned set.

    \b
    Examples:
      dbt-assets plan --command run -s downstream_of:orders
      dbt-assets plan --command build -s owner:finance@* --output json
      printf 'model.shop.orders\\nmodel.shop.customers\\n' | dbt-assets plan --select-ids -
    """
    from dbt_assets.api import plan_selection

    selection = _selection_kwargs(kwargs)
    unique_ids = kwargs.pop("unique_ids")
    with _history_for_selection(kwargs) as history:
        graph = _graph(kwargs)
        result = plan_selection(
            graph,
            kwargs["dbt_command"],
            kwargs["select_values"],
            unique_ids=unique_ids,
            history=history,
            **selection,
        )
    _print_plan(graph, result, kwargs["output"])


@main.command("show")
@click.argument("asset")
@project_options
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
def show_command(asset: str, **kwargs: Any) -> None:
    """Everything known about one ASSET, its parents, children and checks.

    \b
    ASSET is a name (orders), a version (customer_segments.v1), a source
    (shop.orders) or a unique_id (model.shop.orders).

    \b
    Examples:
      dbt-assets show orders
      dbt-assets show shop.orders --output json
    """
    from dbt_assets.api import describe_asset
    from dbt_assets.render import render_detail

    detail = describe_asset(_graph(kwargs), asset)
    if kwargs["output"] == "json":
        click.echo(detail.model_dump_json(indent=2))
    else:
        click.echo(render_detail(detail), nl=False)


@main.command("graph")
@project_options
@click.option(
    "--select",
    "-s",
    "select_values",
    multiple=True,
    metavar="SELECTION",
    help="Draw these assets, in dbt's syntax (default: every asset).",
)
@click.option(
    "--format", "fmt", default="mermaid", show_default=True, type=click.Choice(["mermaid", "dot", "json"])
)
@click.option("--checks/--no-checks", default=False, show_default=True, help="Include tests and unit tests.")
@click.option(
    "--expand/--no-expand",
    default=False,
    show_default=True,
    help="Add everything upstream and downstream of the selected assets.",
)
def graph_command(**kwargs: Any) -> None:
    """Draw the lineage of a selection as Mermaid, Graphviz dot or JSON.

    \b
    Examples:
      dbt-assets graph -s downstream_of:orders        # orders and everything downstream
      dbt-assets graph -s orders --expand             # orders, upstream and downstream
      dbt-assets graph -s orders --checks             # orders and its tests
      dbt-assets graph --format dot | dot -Tsvg > lineage.svg
    """
    from dbt_assets.api import lineage

    graph = _graph(kwargs)
    text = lineage(
        graph,
        kwargs["select_values"],
        fmt=kwargs["fmt"],
        include_checks=kwargs["checks"],
        expand=kwargs["expand"],
    )
    _print_lines([text.rstrip("\n")])


def _print_plan(graph: AssetGraph, plan: Plan, output: str, argv: list[str] | None = None) -> None:
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
    from dbt_assets.render import render_plan

    click.echo(render_plan(graph, plan), nl=False)


def _json(value: Any) -> str:
    import msgspec

    return msgspec.json.encode(value).decode()


def run() -> None:
    """Console-script entry point."""
    main(args=spread_multi_values(sys.argv[1:]), prog_name="dbt-assets")


# The running and history commands, the SLA commands and those for embedding (export,
# shard) live in their own modules; importing them adds them to `main`.
import dbt_assets.cli_embed  # noqa: E402
import dbt_assets.cli_run  # noqa: E402
import dbt_assets.cli_sla  # noqa: E402, F401
