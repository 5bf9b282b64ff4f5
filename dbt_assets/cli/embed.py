"""Commands for embedding dbt-assets elsewhere: ``export`` (assets, lineage, SLAs and last
status for other tools), ``shard`` (one selection split over K workers) and ``openlineage``
(a run's OpenLineage events)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dbt_assets._core.serial import to_json
from dbt_assets.cli.common import echo_error, graph_from
from dbt_assets.cli.options import (
    AT,
    HISTORY,
    STATE_OUT,
    command_option,
    moment,
    project_options,
    selection_from,
    selection_options,
)

if TYPE_CHECKING:
    from dbt_assets.history.store import History


@contextmanager
def _history_if_any(kwargs: dict[str, Any]) -> Iterator[History | None]:
    """The run history (--history, else the project's) when there is one: these commands
    work without history, and read it when it exists (a --history given that does not exist
    is an error, not no history)."""
    from dbt_assets.api import open_history
    from dbt_assets.history.schema import history_exists, history_path

    given = kwargs.pop("history_path")
    located = history_path(Path(kwargs["project_dir"] or "."), given)
    if given is None and not history_exists(located):
        yield None
        return
    with open_history(path=located, create=False) as history:
        yield history


@click.command("export")
@click.argument("positional", nargs=-1, metavar="[SELECTION]...")
@project_options
@selection_options
@HISTORY
@click.option(
    "--format",
    "fmt",
    default="json",
    show_default=True,
    type=click.Choice(["json"]),
    help="json: one document with assets, lineage, effective SLAs and last status.",
)
@click.option(
    "--out", type=click.Path(dir_okay=False, writable=True), help="Write to this file instead of stdout."
)
def export_command(positional: tuple[str, ...], **kwargs: Any) -> None:
    """Export the selected assets (default: all) for tools that do not embed dbt-assets.

    \b
    --select (or SELECTION, the same) takes the selection options of every command; every
    resource type is exported unless --resource-type says which.

    \b
    One JSON document: dbt-assets and dbt versions, the project, each asset (the fields of
    `dbt-assets show --output json`, its children and checks, its effective SLA, its last
    result from the run history when there is one) and the lineage edges among them.

    \b
    Examples:
      dbt-assets export > assets.json
      dbt-assets export -s tag:finance --out finance.json
    """
    from dbt_assets.api import export

    selection = selection_from(kwargs, positional)
    out = kwargs.pop("out")
    kwargs.pop("fmt")
    with _history_if_any(kwargs) as history:
        graph = graph_from(kwargs)
        document = export(graph, history, selection)
    text = to_json(document, indent=2)
    if out:
        from dbt_assets._core.outputs import write_output

        write_output(out, text + "\n", option="the export")  # never over the project's files or history
    else:
        click.echo(text)


@click.command("report")
@click.argument("positional", nargs=-1, metavar="[SELECTION]...")
@project_options
@selection_options
@HISTORY
@click.option(
    "--out",
    default="report.html",
    show_default=True,
    type=click.Path(dir_okay=False, writable=True),
    help="The HTML file to write (replaced whole).",
)
@click.option(
    "--run",
    "run_id",
    type=int,
    metavar="RUN_ID",
    help="The run whose timeline is shown. Default: the newest.",
)
@AT
def report_command(positional: tuple[str, ...], **kwargs: Any) -> None:
    """Write an HTML report: lineage, SLAs, critical paths and a run's timeline, one file.

    \b
    The file opens in any browser with no server and no network (scripts and styles are
    inline): the selected assets (default: all) as a graph coloured by last status (fill)
    and SLA state (border), tests folded into the assets they check; search, pan, zoom,
    and a click for an asset's detail (SLAs observed against their limits, last results,
    the causes `why` finds, the command that rebuilds it); each deadline's critical path;
    the run's timeline by dbt thread with failures and skips. Past 300 assets it draws the
    neighbourhood of what needs attention, of what is searched or clicked.

    \b
    Examples:
      dbt-assets report                                  # report.html, every asset
      dbt-assets report -s +orders --out orders.html     # orders and its upstream
      dbt-assets report --run 12 --at 07:00              # run 12's timeline, SLAs as of 07:00
    """
    from dbt_assets.api import report

    selection = selection_from(kwargs, positional)
    out, run_id, at = kwargs.pop("out"), kwargs.pop("run_id"), moment(kwargs.pop("at"))
    with _history_if_any(kwargs) as history:
        graph = graph_from(kwargs)
        if run_id is not None and history is None:
            raise click.UsageError(f"--run {run_id}: there is no run history here")
        if history is not None and run_id is not None:
            history.run(run_id)  # an unknown run is an error, not an empty timeline
        written = report(graph, history, out, selection, run_id=run_id, at=at)
    click.echo(f"dbt-assets: report written to {written}", err=True)


@click.command("shard")
@click.argument("k", type=click.IntRange(min=1))
@project_options
@selection_options
@HISTORY
@command_option("The dbt command each group runs.")
@click.option(
    "--threads", default=4, show_default=True, type=click.IntRange(min=1), help="dbt threads per worker."
)
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
@STATE_OUT
def shard_command(k: int, **kwargs: Any) -> None:
    """Split a selection over K workers: groups with exact dbt arguments, at most K at once.

    \b
    What several groups need forms a first group (the trunk); the others run side by side
    after it. No asset depends on an asset of a later group: run a group once the groups it
    is after are done. Groups balance the run history's execution times (p90 per asset);
    the output gives each group's dbt argv, the groups it waits for, its predicted
    duration, and the predicted makespan against one dbt invocation.

    \b
    Examples:
      dbt-assets shard 4 --command build
      dbt-assets shard 3 -s tag:finance+ --command run --output json
      dbt-assets shard 4 --state-out shard-state -o json   # each group's argv runs as printed

    \b
    A large group selects in one pass over a generated state: with --state-out DIR its
    state is written to DIR/group-N and its argv runs as printed; without, the JSON marks
    it "runnable": false and says what it "needs".
    """
    import json

    from dbt_assets.api import shard_selection

    selection = selection_from(kwargs)
    with _history_if_any(kwargs) as history:
        graph = graph_from(kwargs)
        sharded = shard_selection(
            graph,
            kwargs["dbt_command"],
            selection,
            k,
            history=history,
            threads=kwargs["threads"],
            state_out=kwargs["state_out"],
        )
    if kwargs["output"] == "json":
        click.echo(
            json.dumps(
                {
                    "command": sharded.command,
                    "makespan": sharded.makespan,
                    "single_invocation": sharded.single_invocation,
                    "threads": sharded.threads,
                    "overhead": sharded.overhead,
                    "shards": [
                        {
                            "index": s.index,
                            "argv": ["dbt", *s.plan.argv],
                            "runnable": s.plan.runnable,
                            **({"needs": s.plan.needs()} if s.plan.needs() else {}),
                            "selector": s.plan.selector,
                            "unique_ids": list(s.plan.unique_ids),
                            "after": list(s.after),
                            "work": s.work,
                            "duration": s.duration,
                            "finish": s.finish,
                        }
                        for s in sharded.shards
                    ],
                }
            )
        )
        return
    from dbt_assets._core.durations import duration_text

    for s in sharded.shards:
        after = f", after {', '.join(map(str, s.after))}" if s.after else ""
        click.echo(
            f"group {s.index}: {len(s.plan.unique_ids)} assets, ~{duration_text(s.duration)}{after}, "
            f"done at ~{duration_text(s.finish)}"
        )
        click.echo(f"  dbt {' '.join(s.plan.argv)}")
        if s.plan.needs() is not None:
            click.echo(f"  (not runnable as shown: {s.plan.needs()})")
    click.echo(
        f"predicted makespan {duration_text(sharded.makespan)} over {len(sharded.shards)} worker(s) "
        f"vs {duration_text(sharded.single_invocation)} as one dbt invocation "
        f"({sharded.threads} threads each; each invocation ~{duration_text(sharded.overhead)} "
        "of dbt starting, parsing and selecting)"
    )


@click.command("openlineage")
@click.argument("run_id", type=int, required=False)
@project_options
@HISTORY
@click.option(
    "--to",
    envvar="DBT_ASSETS_OPENLINEAGE",
    metavar="URL|FILE",
    help="POST each event to an http(s) URL, or append them to a file; default: print them "
    "[env DBT_ASSETS_OPENLINEAGE].",
)
@click.option(
    "--namespace",
    envvar="DBT_ASSETS_OPENLINEAGE_NAMESPACE",
    default="dbt-assets",
    show_default=True,
    help="The OpenLineage namespace of the jobs [env DBT_ASSETS_OPENLINEAGE_NAMESPACE].",
)
def openlineage_command(run_id: int | None, to: str | None, namespace: str, **kwargs: Any) -> None:
    """The OpenLineage run events of a recorded run (default: the newest).

    \b
    Spec 2-0-2 RunEvents: START and COMPLETE/FAIL of the dbt invocation (the parent run),
    and for every asset of the run a START and a COMPLETE, FAIL or ABORT (skipped) with
    its parent facet, job type, error message, and its input and output datasets
    (<adapter>://<database>, <database>.<schema>.<identifier>). Printed one per line, or
    sent with --to. `run`/`build` send them as they end with --openlineage URL|FILE.

    \b
    Exit codes: 0 sent (or printed), 2 not delivered, or no such run.

    \b
    Examples:
      dbt-assets openlineage                       # the newest run, printed
      dbt-assets openlineage 12 --to http://localhost:5000/api/v1/lineage
      dbt-assets openlineage --to lineage.jsonl --namespace prod
    """
    import json

    from dbt_assets.api import emit_openlineage, open_history, openlineage_events

    history_path, project_dir = kwargs.pop("history_path"), kwargs["project_dir"] or "."
    graph = graph_from(kwargs)
    with open_history(project_dir, history_path, create=False) as history:
        events = openlineage_events(graph, history, run_id, namespace=namespace)
    if not to:
        for event in events:
            click.echo(json.dumps(event, separators=(",", ":")))
        return
    failed = [d for d in emit_openlineage(events, to) if not d.ok]
    for delivery in failed:
        echo_error(
            f"OpenLineage events not delivered to {delivery.target} after "
            f"{delivery.attempts} attempt(s): {delivery.error}"
        )
    if failed:
        raise SystemExit(2)
    click.echo(f"{len(events)} OpenLineage events sent to {to}")


COMMANDS = [export_command, report_command, shard_command, openlineage_command]
