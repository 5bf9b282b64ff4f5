"""Automation: one tick (what is due now, and why), the loop that keeps a project's promises,
what an asset's decisions were and when it is next due, and a simulation of the days ahead.

>>> tick = automation_tick(Project("fixtures/dbt_project"), history)      # doctest: +SKIP
>>> [(d.unique_id, d.decision, d.reason) for d in tick.decisions.decided]  # doctest: +SKIP
>>> tick.plan.argv                                                          # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.run.project import Project
from dbt_assets.selection.request import Selected, Selection

if TYPE_CHECKING:
    from dbt_assets.automate.explain import AutomationExplanation
    from dbt_assets.automate.loop import LoopOptions
    from dbt_assets.automate.simulate import Simulation
    from dbt_assets.automate.tick import Tick, TickOptions
    from dbt_assets.history.store import History
    from dbt_assets.run.invocation import RunOptions
    from dbt_assets.run.worker import DbtWorker


def tick_options(
    selection: Selected = (),
    *,
    max_runs: int = 1,
    source_check_interval: float | None = None,
    check_sources: bool = True,
    tests: bool = True,
    run_options: RunOptions | None = None,
) -> TickOptions:
    """How ticks decide and run (see :class:`dbt_assets.automate.tick.TickOptions`)."""
    from dbt_assets.automate.tick import DEFAULT_SOURCE_CHECK, TickOptions
    from dbt_assets.run.invocation import RunOptions

    return TickOptions(
        selection=Selection.of(selection),
        max_runs=max_runs,
        source_check_interval=DEFAULT_SOURCE_CHECK
        if source_check_interval is None
        else source_check_interval,
        check_sources=check_sources,
        tests=tests,
        run_options=run_options or RunOptions(),
    )


def automation_tick(
    project: Project,
    history: History,
    *,
    at: float | None = None,
    options: TickOptions | None = None,
    dry_run: bool = False,
    worker: DbtWorker | None = None,
) -> Tick:
    """Decide every asset as of ``at`` (default now): ``tick.decisions`` (one per asset, with
    its condition and reason) and ``tick.plan`` (the exact dbt arguments of what is due), without
    running it. Unless ``dry_run``, ``tick.run`` is the run of that plan, not started: iterating
    it (or ``tick.run.run()``) records the decisions with the run's start, in one transaction,
    and builds (through ``worker``, a warm dbt, when given). A dry run records no decision and
    decides exactly as the real tick would (it runs a source freshness check that is due, as the
    real tick would: an observation, recorded as any ``dbt source freshness``;
    ``tick_options(check_sources=False)`` leaves it out)."""
    from dbt_assets.automate.tick import Automation

    return Automation(project, history, options, worker=worker).tick(at, dry_run=dry_run)


def automate_once(
    project: Project,
    history: History,
    *,
    at: float | None = None,
    options: TickOptions | None = None,
    worker: DbtWorker | None = None,
) -> Tick:
    """One real tick, its run (if anything is due) run to its end: ``tick.run.result``. With
    ``worker`` (:func:`open_worker`), the run goes through that warm dbt."""
    tick = automation_tick(project, history, at=at, options=options, worker=worker)
    if tick.run is not None:
        tick.run.run()
    return tick


def explain_automation(
    project: Project, history: History, unique_id: str, *, at: float | None = None, limit: int = 10
) -> AutomationExplanation:
    """An asset's recorded decisions (newest first), how it is decided (its conditions), what a
    tick would decide now, and when it is next expected to be due."""
    from dbt_assets.automate.explain import explain

    return explain(project, history, unique_id, at=at, limit=limit)


def run_automation(
    project: Project, history_location: str | Path | None = None, options: LoopOptions | None = None
) -> int:
    """Tick every ``options.interval`` seconds until stopped (SIGTERM, Ctrl-C or
    ``options.stop``): one scheduler acts per history (the others stand by and take over
    within two intervals when it dies). The exit code: 0, or 130 when cancelled."""
    from dbt_assets.automate.loop import run_loop

    return run_loop(project, history_location, options)


def simulate_automation(
    project: Project,
    history: History,
    *,
    days: float = 7.0,
    start: float | None = None,
    loads: Mapping[str, Iterable[float]] | None = None,
    compare_cron: str | None = None,
    options: TickOptions | None = None,
    step: float = 300.0,
) -> Simulation:
    """Replay the conditions on a virtual clock from ``start`` for ``days``, with predicted
    runtimes and no dbt: which runs start when, which deadlines are met, how many dbt
    invocations; compared with running everything on ``compare_cron``. ``loads``: when each
    source gets new data (default: the times of day the history saw it load)."""
    from dbt_assets.automate.simulate import simulate

    return simulate(
        project,
        history,
        days=days,
        start=start,
        loads=loads,
        compare_cron=compare_cron,
        options=options,
        step=step,
    )


def automation_outlook(
    graph: AssetGraph, history: History, at: float | None = None
) -> dict[str, dict[str, str]]:
    """For the report: what automation decides for each asset as of ``at`` (default now),
    from the recorded facts only (no source check, no dbt), and when it is next due, where a
    condition says (``{unique_id: {"decision", "reason", "next_due"}}``). Empty when the
    project's automation configuration cannot be read (the report still shows the rest)."""
    import time

    from dbt_assets._core.errors import DbtAssetsError
    from dbt_assets.automate.config import read_policies
    from dbt_assets.automate.decide import decide
    from dbt_assets.automate.explain import next_due
    from dbt_assets.automate.snapshot import World
    from dbt_assets.sla.judge import iso, work_left

    now = time.time() if at is None else at
    try:
        policies = read_policies(graph, graph.records)
    except DbtAssetsError:
        return {}
    facts = history.facts(at)
    world = World(graph, now, facts, history.claims(), history.automation_state())
    world.estimate = work_left(graph, facts, now)
    found: dict[str, dict[str, str]] = {}
    for decided in decide(world, policies).decided:
        due = next_due(decided, now)
        found[decided.unique_id] = {
            "decision": "due now" if decided.decision == "run" else "not due",
            "reason": decided.reason,
            "next_due": "now" if decided.decision == "run" else (iso(due) or "on new upstream data"),
        }
    return found
