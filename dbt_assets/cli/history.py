"""The run history commands (``history``, ``history show|recover|import``, ``status``): a thin
shell over :mod:`dbt_assets.api`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from dbt_assets._core.serial import plain, to_json
from dbt_assets.cli.common import graph_from, print_lines
from dbt_assets.cli.options import (
    HISTORY,
    PROJECT_DIR,
    WIDE_OUTPUT,
    project_options,
    selection_from,
    selection_options,
)

if TYPE_CHECKING:
    pass


@click.group("history", invoke_without_command=True)
@PROJECT_DIR
@HISTORY
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many runs.")
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
@click.pass_context
def history_group(ctx: click.Context, /, **kwargs: Any) -> None:
    """The recorded runs, newest first, with their count of assets per status.

    \b
    Examples:
      dbt-assets history --limit 5
      dbt-assets history show 12 --output json
      dbt-assets history import target/run_results.json   # a run made by plain dbt
    """
    ctx.obj = kwargs
    if ctx.invoked_subcommand is not None:
        return
    from dbt_assets.api import open_history
    from dbt_assets.cli.render import render_runs

    with open_history(kwargs["project_dir"] or ".", kwargs["history_path"], create=False) as history:
        runs = history.runs(kwargs["limit"])
    if kwargs["output"] == "json":
        print_lines(to_json(run) for run in runs)
    else:
        click.echo(render_runs(runs), nl=False)


@history_group.command("show")
@click.argument("run_id", type=int)
@WIDE_OUTPUT
@click.pass_obj
def history_show(parent: dict[str, Any], run_id: int, output: str) -> None:
    """One run: how it went, and each asset's result (each error in dbt's words below)."""
    from dbt_assets.api import open_history
    from dbt_assets.cli.render import render_run

    with open_history(parent["project_dir"] or ".", parent["history_path"], create=False) as history:
        record = history.run(run_id)
        results = history.results(run_id)
        logs = history.logs(run_id)
    if output == "json":
        click.echo(json.dumps({"run": plain(record), "assets": [plain(r) for r in results]}))
    else:
        click.echo(render_run(record, results, logs, wide=output == "wide"), nl=False)


@history_group.command("recover")
@click.pass_obj
def history_recover(parent: dict[str, Any]) -> None:
    """Close the runs whose dbt-assets process was killed (every command that opens the
    history does this too): what dbt finished is kept, running assets become cancelled."""
    from dbt_assets.api import open_history

    with open_history(parent["project_dir"] or ".", parent["history_path"], create=False) as history:
        recovered = history.recovered
    click.echo(
        "\n".join(f"run {run_id}: recovered (interrupted)" for run_id in recovered)
        or "nothing to recover: no run was left open by a killed dbt-assets"
    )


@history_group.command("import")
@click.argument("run_results", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.pass_obj
def history_import(parent: dict[str, Any], run_results: tuple[str, ...]) -> None:
    """Record runs made by plain dbt from their run_results.json (each only once)."""
    from dbt_assets.api import open_history

    with open_history(parent["project_dir"] or ".", parent["history_path"]) as history:
        for path in run_results:
            run_id = history.import_run_results(path)
            if run_id is None:
                click.echo(f"{path}: already recorded")
            else:
                click.echo(f"{path}: recorded as run {run_id}")


@click.command("status")
@project_options
@selection_options
@HISTORY
@WIDE_OUTPUT
def status_command(**kwargs: Any) -> None:
    """Per asset: last status, how long ago it last ran and last succeeded, the last execution time.

    \b
    Lists what `dbt build` would select (models, seeds, snapshots, tests, ...), or the
    selection given.

    \b
    Examples:
      dbt-assets status
      dbt-assets status -s downstream_of:orders --resource-type model --output json
      dbt-assets status -o wide     # unique_ids and times, not cut to 100 columns
    """
    import time

    from dbt_assets.api import asset_statuses, list_assets, open_history
    from dbt_assets.cli.render import render_status

    selection = selection_from(kwargs)
    history_path = kwargs.pop("history_path")
    output = kwargs.pop("output")
    project_dir = kwargs["project_dir"] or "."
    graph = graph_from(kwargs)
    uids = list_assets(graph, selection, command="build")
    with open_history(project_dir, history_path, create=False) as history:
        rows = asset_statuses(graph, history, uids)
    now = time.time()
    if output == "json":
        for uid, status in rows:
            payload = plain(status) if status is not None else {"unique_id": uid, "last_status": None}
            success = status.last_success_at if status is not None else None
            payload["age"] = None if success is None else now - success
            click.echo(json.dumps(payload))
    else:
        click.echo(render_status(graph, rows, now, wide=output == "wide"), nl=False)


COMMANDS = [history_group, status_command]
