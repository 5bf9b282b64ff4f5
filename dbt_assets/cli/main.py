"""The ``dbt-assets`` command line: a thin shell over :mod:`dbt_assets.api`.

Heavy modules are imported inside commands, so ``dbt-assets --help`` stays instant and a
cold ``dbt-assets ls`` pays only for what it uses. This module holds the group and the
commands that look at the graph (ls, plan, show, graph); the running and history commands,
the SLA commands and those for embedding live in their own modules and are added here.
"""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING, Any

import click

from dbt_assets._core.serial import to_json
from dbt_assets.cli import automate as cli_automate
from dbt_assets.cli import diff as cli_diff
from dbt_assets.cli import embed as cli_embed
from dbt_assets.cli import history as cli_history
from dbt_assets.cli import run as cli_run
from dbt_assets.cli import sla as cli_sla
from dbt_assets.cli import worker as cli_worker
from dbt_assets.cli.common import (
    Group,
    graph_from,
    history_for_selection,
    print_lines,
    print_plan,
    warn_unmatched,
)
from dbt_assets.cli.options import (
    HISTORY,
    STATE_OUT,
    command_option,
    project_options,
    select_ids_option,
    selection_from,
    selection_options,
    spread_multi_values,
)

if TYPE_CHECKING:
    pass


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
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
@HISTORY
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
    from dbt_assets.manifest.listing import format_listing

    selection = selection_from(kwargs)
    unmatched: list[str] = []
    with history_for_selection(kwargs) as history:
        graph = graph_from(kwargs)
        uids = list_assets(graph, selection, models=kwargs["models"], history=history, unmatched=unmatched)
    warn_unmatched(graph, unmatched)
    print_lines(format_listing(graph, uids, kwargs["output"], kwargs["output_keys"]))


main.add_command(ls_command, "list")


@main.command("plan")
@project_options
@selection_options
@command_option("The dbt command to plan.")
@select_ids_option("Select exactly these unique_ids, one per line ('-' reads stdin), instead of --select.")
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
@STATE_OUT
@HISTORY
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
      dbt-assets plan --command run --select-ids ids.txt --state-out plan-state -o json

    \b
    A plan of many criteria selects in one pass (dbt --select result:success over a
    generated state): its argv runs as printed only with --state-out DIR, which writes that
    state to DIR and adds it (the JSON says "runnable" and what it "needs").
    """
    from dbt_assets.api import plan_selection

    selection = selection_from(kwargs)
    unique_ids = kwargs.pop("unique_ids")
    with history_for_selection(kwargs) as history:
        graph = graph_from(kwargs)
        result = plan_selection(
            graph,
            kwargs["dbt_command"],
            selection,
            unique_ids=unique_ids,
            history=history,
            state_out=kwargs["state_out"],
        )
    print_plan(graph, result, kwargs["output"])


@main.command("show")
@click.argument("asset", required=False)
@project_options
@selection_options
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
@HISTORY
def show_command(asset: str | None, **kwargs: Any) -> None:
    """Everything known about one ASSET (or each selected asset): its parents, children and checks.

    \b
    ASSET is a name (orders), a version (customer_segments.v1), a source
    (shop.orders) or a unique_id (model.shop.orders). With --select (and the other
    selection options, as in `ls`), every selected asset is shown; --output json then
    prints a list.

    \b
    Examples:
      dbt-assets show orders
      dbt-assets show shop.orders --output json
      dbt-assets show -s "tag:finance" --resource-type model -o json
    """
    from dbt_assets.api import describe_asset, list_assets
    from dbt_assets.cli.render import render_detail

    selection = selection_from(kwargs)
    selecting = not selection.empty or bool(selection.resource_types)
    if asset is None and not selecting:
        raise click.UsageError("give an ASSET, or select assets with --select")
    with history_for_selection(kwargs) as history:
        graph = graph_from(kwargs)
        chosen = list_assets(graph, selection, history=history) if selecting else []
    if asset is not None and not selecting:  # one asset: one object
        detail = describe_asset(graph, asset)
        if kwargs["output"] == "json":
            click.echo(to_json(detail, indent=2))
        else:
            click.echo(render_detail(detail), nl=False)
        return
    ids = dict.fromkeys(([graph.find(asset)] if asset else []) + chosen)  # in order, once each
    details = [describe_asset(graph, uid) for uid in ids]
    if kwargs["output"] == "json":
        click.echo(to_json(details, indent=2))
    else:
        click.echo("\n".join(render_detail(detail) for detail in details), nl=False)


@main.command("graph")
@project_options
@selection_options
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
    """Draw the lineage of a selection (default: every asset) as Mermaid, Graphviz dot or JSON.

    \b
    Examples:
      dbt-assets graph -s downstream_of:orders        # orders and everything downstream
      dbt-assets graph -s orders --expand             # orders, upstream and downstream
      dbt-assets graph -s orders --checks             # orders and its tests
      dbt-assets graph --format dot | dot -Tsvg > lineage.svg
    """
    from dbt_assets.api import lineage

    graph = graph_from(kwargs)
    text = lineage(
        graph,
        selection_from(kwargs),
        fmt=kwargs["fmt"],
        include_checks=kwargs["checks"],
        expand=kwargs["expand"],
    )
    print_lines([text.rstrip("\n")])


for _module in (cli_run, cli_history, cli_sla, cli_embed, cli_diff, cli_automate, cli_worker):
    for _command in _module.COMMANDS:
        main.add_command(_command)


def run() -> None:
    """Console-script entry point."""
    main(args=spread_multi_values(sys.argv[1:]), prog_name="dbt-assets")
