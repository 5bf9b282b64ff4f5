"""``dbt-assets automate``: one tick, the loop, an asset's decisions, a simulation. A thin shell
over :mod:`dbt_assets.api.automation`."""

from __future__ import annotations

import sys
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from dbt_assets._core.errors import one_line
from dbt_assets._core.serial import to_json
from dbt_assets.cli.common import print_lines
from dbt_assets.cli.options import (
    AT,
    DBT_EXECUTABLE,
    HISTORY,
    LOCK_TIMEOUT,
    PROFILES_DIR,
    PROJECT_DIR,
    TARGET,
    moment,
    selection_from,
    selection_options,
)

if TYPE_CHECKING:
    from dbt_assets.automate.explain import AutomationExplanation
    from dbt_assets.automate.simulate import Simulation, Strategy
    from dbt_assets.automate.tick import Tick


def _duration(ctx: click.Context, param: click.Parameter, value: Any) -> float | None:
    from dbt_assets._core.durations import parse_duration

    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from exc


@click.command("automate")
@PROJECT_DIR
@PROFILES_DIR
@TARGET
@DBT_EXECUTABLE
@click.option("--vars", help="dbt --vars (YAML) for the runs and the parse.")
@HISTORY
@LOCK_TIMEOUT
@selection_options
@click.option("--once", is_flag=True, help="One tick, then exit (with the run's exit code).")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Decide and show what is due; build nothing, record no decision (a due source check runs).",
)
@AT
@click.option(
    "--interval",
    default="60s",
    show_default=True,
    callback=_duration,
    metavar="DURATION",
    help="Between ticks.",
)
@click.option(
    "--max-runs",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Automation runs at once (DuckDB: 1, it has one writer).",
)
@click.option(
    "--source-check-interval",
    default="10m",
    show_default=True,
    callback=_duration,
    metavar="DURATION",
    help="At most this often `dbt source freshness` for the sources that feed a condition.",
)
@click.option("--no-source-check", is_flag=True, help="Decide on the last recorded freshness checks only.")
@click.option("--no-tests", is_flag=True, help="Build the due assets without their tests.")
@click.option(
    "--no-warm",
    is_flag=True,
    help="Start the dbt CLI for each run (the loop otherwise keeps one dbt warm across ticks; "
    "--once uses a running `dbt-assets worker`). Env: DBT_ASSETS_NO_WARM=1.",
)
@click.option("--threads", type=click.IntRange(min=1), help="dbt --threads for the runs.")
@click.option(
    "--cancel-grace",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="On SIGTERM/Ctrl-C: how long the running dbt may take to stop before it is killed.",
)
@click.option(
    "--explain", "explain_asset", metavar="ASSET", help="An asset's decisions and when it is next due."
)
@click.option(
    "--simulate",
    callback=_duration,
    metavar="DURATION",
    help="Replay the conditions over DURATION (7d), no dbt.",
)
@click.option("--from", "simulate_from", metavar="TIME", help="Where --simulate starts (default: now).")
@click.option("--compare-cron", metavar="CRON", help="With --simulate: also run everything on this cron.")
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
def automate_command(**kwargs: Any) -> None:
    """Build what is due, when it is due: dbt's build_after, cron, new data, deadlines.

    \b
    Each tick decides every model, seed and snapshot of the selection (default: all) from
    dbt's freshness.build_after (and dbt State's state: block) on the models, and the
    automate: keys of dbt_assets.yml rules and config.meta.dbt_assets.automate (cron,
    on_missing, eager, keep_slas, retry, paused), then builds what is due as one dbt
    build, recording each decision with its reason in the run history. The README's
    "Automation" has the table of conditions.

    \b
    Examples:
      dbt-assets automate --once --dry-run          # what is due now, and why
      dbt-assets automate --once --dry-run --at 06:30 -o json
      dbt-assets automate --once                     # one tick, and its run
      dbt-assets automate --interval 2m              # the loop (SIGTERM or Ctrl-C stops it)
      dbt-assets automate --explain orders           # orders' decisions, when it is next due
      dbt-assets automate --simulate 7d --compare-cron "0 * * * *"

    \b
    Exit codes: 0 (nothing failed), 1 an asset of the tick's run failed, 2 a bad
    configuration or usage, 130 stopped.
    """
    from dbt_assets.api import automation_tick, open_history, tick_options
    from dbt_assets.run.invocation import RunOptions
    from dbt_assets.run.project import Project

    output = kwargs["output"]
    selection = selection_from(kwargs)
    project = Project(
        kwargs["project_dir"] or ".",
        profiles_dir=kwargs["profiles_dir"],
        target=kwargs["target"],
        dbt_executable=kwargs["dbt_executable"],
        vars=kwargs["vars"],
    )
    at = moment(kwargs["at"])
    if at is not None and not (kwargs["dry_run"] or kwargs["explain_asset"]):
        raise click.UsageError("--at decides as of another moment: use it with --dry-run or --explain")
    options = tick_options(
        selection,
        max_runs=kwargs["max_runs"],
        source_check_interval=kwargs["source_check_interval"],
        check_sources=not kwargs["no_source_check"],
        tests=not kwargs["no_tests"],
        run_options=RunOptions(threads=kwargs["threads"], cancel_grace=kwargs["cancel_grace"]),
    )
    if kwargs["simulate"] is not None:
        _simulate(project, kwargs, options)
        return
    if not (kwargs["once"] or kwargs["dry_run"] or kwargs["explain_asset"]):
        _loop(project, kwargs, options)
        return
    with open_history(
        project.project_dir, kwargs["history_path"], lock_timeout=kwargs["lock_timeout"]
    ) as history:
        if kwargs["explain_asset"]:
            from dbt_assets.api import explain_automation

            explained = explain_automation(project, history, kwargs["explain_asset"], at=at)
            print_lines(_explanation(explained, output))
            return
        if kwargs["dry_run"]:
            tick = automation_tick(project, history, at=at, options=options, dry_run=True)
            print_lines(_decisions(tick, output, dry=True))
            return
        from dbt_assets.api import running_worker

        worker = None if kwargs["no_warm"] else running_worker(project)
        tick = automation_tick(project, history, options=options, worker=worker)
        print_lines(_decisions(tick, output, dry=False))
        if tick.run is None:
            return
        from dbt_assets.cli.run import execute_run

        execute_run(tick.run, history, output)  # exits with the run's code


def _loop(project: Any, kwargs: dict[str, Any], options: Any) -> None:
    from dbt_assets.api import run_automation
    from dbt_assets.automate.loop import LoopOptions

    output = kwargs["output"]

    def on_tick(tick: Tick) -> None:
        if tick.plan is not None or tick.sources.error or output == "json":
            print_lines(_decisions(tick, output, dry=False, only_due=output != "json"))

    def on_run(run: Any) -> None:
        result = run.result
        if result is None:
            return
        if output == "json":
            print_lines(
                [to_json({"event": "run_finished", "run_id": result.run_id, "status": result.status})]
            )
        else:
            click.echo(f"dbt-assets: run {result.run_id} {result.status} ({result.counts})", err=True)

    def on_note(said: str) -> None:
        click.echo(f"dbt-assets: {one_line(said)}", err=True)

    loop = LoopOptions(
        interval=kwargs["interval"],
        tick=options,
        on_tick=on_tick,
        on_run=on_run,
        on_note=on_note,
        warm=not kwargs["no_warm"],
    )
    sys.exit(run_automation(project, kwargs["history_path"], loop))


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="minutes").replace("+00:00", "Z")


def _decisions(tick: Tick, output: str, *, dry: bool, only_due: bool = False) -> list[str]:
    """A tick's decisions: JSON lines (one per asset), or the due assets and a count of the
    others by reason."""
    if output == "json":
        return [
            to_json(
                {
                    "event": "decision",
                    "at": _when(tick.at),
                    "dry_run": dry,
                    "unique_id": d.unique_id,
                    "decision": d.decision,
                    "condition": d.condition,
                    "reason": d.reason,
                    "code": d.code,
                    "data": d.data,
                }
            )
            for d in tick.decisions.decided
        ]
    lines = []
    said = tick.sources.said()
    if said:
        lines.append(f"dbt-assets: {said}")
    graph = tick.world.graph
    due = [d for d in tick.decisions.decided if d.decision == "run"]
    head = "would build" if dry else "due"
    for d in due:
        lines.append(
            f"{head}: {graph.records[d.unique_id].search_name} ({d.condition}): {one_line(d.reason)}"
        )
    if only_due:
        return lines
    skipped = Counter(d.code for d in tick.decisions.decided if d.decision == "skip")
    if skipped:
        counts = ", ".join(f"{n} {code.replace('_', ' ')}" for code, n in skipped.most_common())
        lines.append(f"not due: {sum(skipped.values())} ({counts})")
    if not due:
        lines.append(
            f"nothing due at {_when(tick.at)} (`dbt-assets automate --explain ASSET` says why, and when)"
        )
    elif tick.plan is not None:
        lines.append("dbt " + " ".join(tick.plan.argv))
    return lines


def _explanation(explained: AutomationExplanation, output: str) -> list[str]:
    if output == "json":
        from dbt_assets._core.serial import plain

        return [
            to_json(
                {
                    "unique_id": explained.unique_id,
                    "conditions": explained.conditions,
                    "now": plain(explained.now),
                    "at": _when(explained.at),
                    "next_due": _when(explained.next_due) if explained.next_due else None,
                    "recent": [plain(r) for r in explained.recent],
                }
            )
        ]
    now = explained.now
    lines = [f"{explained.unique_id}:"]
    lines += [f"  decided by: {c}" for c in explained.conditions] or [
        "  decided by: nothing (never built by automation)"
    ]
    verdict = "due now" if now.decision == "run" else "not due"
    lines.append(f"  at {_when(explained.at)}: {verdict}: {one_line(now.reason)}")
    if now.decision != "run":
        nxt = explained.next_due
        lines.append(
            f"  next due: {_when(nxt)}" if nxt else "  next due: on new upstream data (not foreseeable)"
        )
    if explained.recent:
        lines.append("  recorded decisions, newest first:")
        for r in explained.recent:
            run = f" (run {r.run_id})" if r.run_id else ""
            lines.append(f"    {_when(r.at)} {r.decision}{run}: {one_line(r.reason)}")
    else:
        lines.append("  no recorded decision yet")
    return lines


def _simulate(project: Any, kwargs: dict[str, Any], options: Any) -> None:
    from dbt_assets.api import open_history, simulate_automation

    start = moment(kwargs["simulate_from"]) if kwargs["simulate_from"] else None
    with open_history(project.project_dir, kwargs["history_path"]) as history:
        result = simulate_automation(
            project,
            history,
            days=kwargs["simulate"] / 86400,
            start=start,
            compare_cron=kwargs["compare_cron"],
            options=options,
        )
    print_lines(_simulation(result, kwargs["output"]))


def _strategy(strategy: Strategy) -> dict[str, Any]:
    return {
        "invocations": strategy.invocations,
        "builds": strategy.builds,
        "deadlines": len(strategy.deadlines),
        "deadlines_missed": strategy.missed,
        "runs": [
            {
                "start": _when(r.start),
                "end": _when(r.end),
                "unique_ids": list(r.unique_ids),
                "reasons": r.reasons,
            }
            for r in strategy.runs
        ],
        "missed": [
            {"unique_id": d.unique_id, "due": _when(d.due), "succeeded_at": _when(d.succeeded_at)}
            for d in strategy.deadlines
            if not d.met
        ],
    }


def _simulation(result: Simulation, output: str) -> list[str]:
    automated = _strategy(result.automation)
    baseline = _strategy(result.cron) if result.cron is not None else None
    if output == "json":
        payload = {"start": _when(result.start), "end": _when(result.end), "automation": automated}
        if baseline is not None:
            payload["cron"] = {"schedule": result.compare_cron, **baseline}
        return [to_json(payload)]
    lines = [f"simulated {_when(result.start)} to {_when(result.end)} (no dbt; predicted runtimes):"]
    for name, found in (("automation", automated), (f"cron {result.compare_cron}", baseline)):
        if found is None:
            continue
        lines.append(
            f"  {name}: {found['invocations']} dbt invocations, {found['builds']} asset builds, "
            f"{found['deadlines'] - found['deadlines_missed']}/{found['deadlines']} deadlines met"
        )
    for run in automated["runs"][:20]:
        why = ", ".join(sorted(set(run["reasons"].values())))
        lines.append(f"    {run['start']} build {len(run['unique_ids'])}: {why}")
    if len(automated["runs"]) > 20:
        lines.append(f"    ... {len(automated['runs']) - 20} more runs (-o json lists them all)")
    return lines


COMMANDS = [automate_command]
