"""The run history commands (``history``, ``history show|recover|import``, ``status``): a thin
shell over :mod:`dbt_assets.api`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dbt_assets._core.errors import ProjectNotFoundError
from dbt_assets._core.serial import plain, to_json
from dbt_assets.cli.common import GroupOnlyOption, graph_from, group_values, print_lines
from dbt_assets.cli.options import (
    HISTORY,
    LOCK_TIMEOUT,
    PROJECT_DIR,
    WIDE_OUTPUT,
    project_options,
    selection_from,
    selection_options,
)

if TYPE_CHECKING:
    from dbt_assets.history.store import History


@click.group("history", invoke_without_command=True)
@PROJECT_DIR
@HISTORY
@LOCK_TIMEOUT
@WIDE_OUTPUT
@click.option(
    "--limit",
    cls=GroupOnlyOption,
    default=20,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many runs (the list of runs only).",
)
@click.pass_context
def history_group(ctx: click.Context, /, **kwargs: Any) -> None:
    """The recorded runs, newest first, with their count of assets per status.

    \b
    --project-dir, --history and --output go before or after the subcommand
    (`history show 12 -o json` is `history -o json show 12`).

    \b
    Examples:
      dbt-assets history --limit 5
      dbt-assets history show 12 --output json
      dbt-assets history import target/run_results.json   # a run made by plain dbt
    """
    if ctx.invoked_subcommand is not None:
        return
    from dbt_assets.cli.render import render_runs

    with _open(kwargs) as history:
        runs = history.runs(kwargs["limit"])
    if kwargs["output"] == "json":
        print_lines(to_json(run) for run in runs)
    else:
        click.echo(render_runs(runs), nl=False)


def _open(values: dict[str, Any], *, create: bool = False) -> History:
    """The history the group's options name (given before or after the subcommand). A history
    is created only in a project folder that exists (a mistyped --project-dir is an error)."""
    from dbt_assets.api import open_history
    from dbt_assets.history.schema import DEFAULT_LOCATION, history_path

    project_dir = Path(values["project_dir"] or ".")
    in_project = history_path(project_dir, values["history_path"]) == project_dir / DEFAULT_LOCATION
    if create and in_project and not project_dir.is_dir():
        raise ProjectNotFoundError(
            f"no folder {project_dir} (--project-dir): the run history would be created in it",
            "pass --project-dir DIR of an existing dbt project, or --history FILE|URL",
        )
    return open_history(
        project_dir, values["history_path"], create=create, lock_timeout=values["lock_timeout"]
    )


@history_group.command("show")
@click.argument("run_id", type=int)
def history_show(run_id: int) -> None:
    """One run: how it went, and each asset's result (each error in dbt's words below)."""
    from dbt_assets.cli.render import render_run

    values = group_values()
    with _open(values) as history:
        record = history.run(run_id)
        results = history.results(run_id)
        logs = history.logs(run_id)
    if values["output"] == "json":
        click.echo(json.dumps({"run": plain(record), "assets": [plain(r) for r in results]}))
    else:
        click.echo(render_run(record, results, logs, wide=values["output"] == "wide"), nl=False)


@history_group.command("recover")
def history_recover() -> None:
    """Close the runs whose dbt-assets process was killed (every command that opens the
    history does this too): what dbt finished is kept, running assets become cancelled. A run
    whose history failed during it is completed from the file it was saved to, as it ended."""
    values = group_values()
    with _open(values) as history:
        recovered = [history.run(run_id) for run_id in history.recovered]
    if values["output"] == "json":
        print_lines(
            json.dumps({"run_id": run.run_id, "status": run.status, "exit_code": run.exit_code})
            for run in recovered
        )
        return
    click.echo(
        "\n".join(f"run {run.run_id}: recovered ({run.status}, exit {run.exit_code})" for run in recovered)
        or "nothing to recover: no run was left open by a killed dbt-assets"
    )


@history_group.command("import")
@click.argument("run_results", nargs=-1, required=True, type=click.Path(dir_okay=False))
def history_import(run_results: tuple[str, ...]) -> None:
    """Record runs made by plain dbt from their run_results.json (each only once)."""
    values = group_values()
    with _open(values, create=True) as history:
        for path in run_results:
            run_id = history.import_run_results(path)
            if values["output"] == "json":
                click.echo(json.dumps({"path": path, "run_id": run_id, "recorded": run_id is not None}))
            elif run_id is None:
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
