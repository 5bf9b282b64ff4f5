"""One tick: the world as of a moment → every asset's decision → the due plan, recorded and
handed to the runner. The only impure step of automation: it may run ``dbt source freshness``
(for the sources that feed a condition, at most every ``source_check_interval``), it records
what it decided (in the transaction that starts the run it launches), and it starts that run.

    >>> automation = Automation(Project("fixtures/dbt_project"), history)   # doctest: +SKIP
    >>> tick = automation.tick(dry_run=True)                                 # doctest: +SKIP
    >>> [(d.unique_id, d.decision, d.reason) for d in tick.decisions.decided]  # doctest: +SKIP

A dry run decides exactly as the real tick would at the same moment (the same code, the same
world) and records no decision (a source check that is due is an observation: it runs); a
real tick at a moment other than now (``at``, a test's or a simulation's clock) records its
run on that clock.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from dbt_assets._core.errors import DbtAssetsError
from dbt_assets.automate.conditions import Condition
from dbt_assets.automate.config import Policy, read_policies
from dbt_assets.automate.decide import Decisions, checks_to_run, decide
from dbt_assets.automate.snapshot import World, checksum_of, code_fingerprints
from dbt_assets.history.automation import Decided
from dbt_assets.history.freshness import record_source_freshness
from dbt_assets.history.store import History
from dbt_assets.manifest.decode import NodeRecord, paused_gc
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import Plan, plan
from dbt_assets.run.invocation import RunOptions
from dbt_assets.run.project import Project
from dbt_assets.run.runner import Run
from dbt_assets.run.worker import DbtWorker, Worker
from dbt_assets.selection import select
from dbt_assets.selection.request import Selection
from dbt_assets.sla.judge import work_left

DEFAULT_SOURCE_CHECK = 10 * 60.0
"""How often ``dbt source freshness`` may run for the sources that feed a condition."""
_CHECK_SLACK = 60.0
"""A check is due this much before its interval ends (a tick's check is recorded when dbt
queried, seconds after the tick), so that ticks on the interval check on each of them."""


@dataclass(frozen=True)
class TickOptions:
    """How a tick decides and runs."""

    selection: Selection = field(default_factory=Selection)
    """Which assets automation decides for (default: every model, seed and snapshot)."""
    max_runs: int = 1
    """At most this many automation runs at once (DuckDB allows one writer)."""
    source_check_interval: float = DEFAULT_SOURCE_CHECK
    check_sources: bool = True
    tests: bool = True
    """Build the due assets' tests with them (``dbt build``)."""
    run_options: RunOptions = field(default_factory=RunOptions)


@dataclass
class SourceCheck:
    """What a tick did about source freshness."""

    sources: tuple[str, ...] = ()
    """The sources that feed a condition and can be checked."""
    checked: bool = False
    run_id: int | None = None
    error: str | None = None
    next_at: float | None = None

    def said(self) -> str | None:
        if self.error is not None:
            return f"`dbt source freshness` failed, so decisions use the last check: {self.error}"
        if self.checked:
            return f"checked the freshness of {len(self.sources)} source(s)"
        return None


@dataclass
class Tick:
    """A tick's outcome: its decisions, the plan of what is due, and the run that builds it."""

    at: float
    decisions: Decisions
    plan: Plan | None
    world: World
    sources: SourceCheck
    policies: dict[str, Policy]
    run: Run | None = None
    """A real tick's run, started when iterated (``run.run()``); None for a dry run or when
    nothing is due."""
    tick_id: int | None = None
    dry_run: bool = False
    run_history: History | None = None
    """The history connection ``run`` records to, when it is not the tick's own (a loop's run
    in a thread of its own); its owner closes it when the run ends."""


class Automation:
    """Ticks over one project and history; keeps the policies while the manifest is unchanged
    (a loop decides in milliseconds, not the time of reading the project again)."""

    def __init__(
        self,
        project: Project,
        history: History,
        options: TickOptions | None = None,
        *,
        worker: DbtWorker | None = None,
    ) -> None:
        self.project = project
        self.history = history
        self.options = options or TickOptions()
        self.worker = worker
        """A warm dbt the ticks' runs go through (a loop keeps one across ticks); None: the
        dbt CLI."""
        self._cached: tuple[tuple[int, int, str], AssetGraph, dict[str, Policy], frozenset[str]] | None = None
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._unobserved: frozenset[str] = frozenset()
        self._recorded_until = 0.0
        """The latest moment (on the ticks' clock) this automation recorded anything at."""
        self._conditions: dict[str, tuple[Condition, Condition | None]] = {}
        """Each policy's condition, kept while the policies are (a loop builds them once)."""

    def graph(self) -> tuple[AssetGraph, dict[str, Policy], frozenset[str]]:
        """The project's graph, the policies of what automation decides, and the sources that
        feed a condition, read again only when the manifest changed."""
        if self.worker is not None:
            self.worker.prepare(self.project)  # a stale manifest is parsed there, warm
        path = self.project.ensure_manifest()
        stat = path.stat()
        key = (stat.st_mtime_ns, stat.st_size, str(path))
        if self._cached is None or self._cached[0] != key:
            graph = self.project.graph()
            scope = select(graph, self.options.selection, command="build")
            policies = read_policies(graph, scope)
            fed = _fed_all(graph, policies.values())
            checkable = frozenset(s for s in fed if _checkable(graph, s))
            self._cached = (key, graph, policies, checkable)
            self._unobserved = frozenset(fed - checkable)
            self._conditions = {}
        return self._cached[1], self._cached[2], self._cached[3]

    def tick(
        self,
        at: float | None = None,
        *,
        dry_run: bool = False,
        in_flight: Iterable[int] = (),
        run_history: History | None = None,
        record_always: bool = False,
    ) -> Tick:
        """Decide every asset as of ``at`` (default: now); unless ``dry_run``, record the
        decisions and prepare the run of what is due (``tick.run``, started by iterating it; it
        records to ``run_history`` when given, else to this history). A tick that changes no
        decision and starts no run is recorded only with ``record_always``."""
        try:
            with paused_gc():  # a tick makes tens of thousands of small objects and no cycle
                return self._tick(at, dry_run, tuple(in_flight), run_history, record_always)
        except BaseException:
            if run_history is not None:
                run_history.close()
            raise

    def _tick(
        self,
        at: float | None,
        dry_run: bool,
        in_flight: tuple[int, ...],
        run_history: History | None,
        record_always: bool,
    ) -> Tick:
        now = time.time() if at is None else at
        # what this tick records (a source check, its run) happens after what an earlier tick
        # recorded, on a clock that is not the wall clock too (two ticks at one moment)
        offset = max(now, self._recorded_until) - time.time()
        graph, policies, fed = self.graph()
        sources = self._check_sources(graph, fed, now, offset)
        self._recorded_until = max(self._recorded_until, time.time() + offset)
        facts = self.history.facts()
        world = World(
            graph=graph,
            now=now,
            facts=facts,
            claims=self.history.claims(target=self.project.target),
            state=self.history.automation_state(),
            in_flight=tuple(in_flight),
            max_runs=self.options.max_runs,
            unobserved=self._unobserved,
            code_of=code_fingerprints(graph),
            estimate=work_left(graph, facts, now),
        )
        decisions = decide(world, policies, self._conditions)
        due = set(decisions.due)
        planned = None
        if due:
            checks = checks_to_run(world, due) if self.options.tests else []
            planned = plan(graph, "build", unique_ids=sorted(due | set(checks)))
        tick = Tick(now, decisions, planned, world, sources, policies, dry_run=dry_run)
        if (dry_run or planned is None) and run_history is not None:
            run_history.close()
        if dry_run:
            return tick
        decided = [_with_code(d, world) for d in decisions.decided]
        summary = _summary(decisions, sources)
        if planned is None:
            if record_always or any(_changed(world, d) for d in decided):
                tick.tick_id = self.history.record_tick(
                    now, time.time(), self.owner, decided, summary, world.state
                )
            return tick
        recorder = run_history or self.history
        tick.run_history = run_history
        run = Run(
            self.project, graph, planned, self.options.run_options, history=recorder, worker=self.worker
        )
        run.time_offset = offset
        run.selection = {"automate": {"due": len(due), "at": now}}
        state, owner = world.state, self.owner

        def record(run_id: int) -> None:  # in the transaction that records the run's start
            tick.tick_id = recorder.write_tick(now, time.time(), owner, decided, summary, state, run_id)

        run.on_start = record
        tick.run = run
        return tick

    def _check_sources(
        self, graph: AssetGraph, fed: frozenset[str], now: float, offset: float
    ) -> SourceCheck:
        """Run ``dbt source freshness`` for the sources that feed a condition when their last
        check is older than the interval; a failed check is said, and decisions go on."""
        check = SourceCheck(tuple(sorted(fed)))
        if not fed:
            return check
        facts = self.history.facts_of(fed)
        last = min((facts[s].last_started_at or 0.0) if s in facts else 0.0 for s in fed)
        interval = self.options.source_check_interval
        check.next_at = last + interval
        # a check is recorded when dbt queried, seconds after its tick: allow for that
        if not self.options.check_sources or now < check.next_at - min(_CHECK_SLACK, interval / 10):
            return check
        words = [_source_word(graph, s) for s in sorted(fed)]
        try:
            check.run_id = record_source_freshness(
                self.project,
                self.history,
                words,
                time_offset=offset,
                worker=self.worker if isinstance(self.worker, Worker) else None,
            )
            check.checked = True
            check.next_at = now + self.options.source_check_interval
        except DbtAssetsError as exc:
            check.error = exc.message
        return check


def _fed_all(graph: AssetGraph, policies: Collection[Policy]) -> set[str]:
    """The sources whose new data a condition reads: those a ``build_after``, ``lag_tolerance``
    or ``eager`` asset reads (through views and ephemeral models), and every source upstream of a
    ``keep_slas`` asset (whose late assets pull the upstream assets that have new data)."""
    reading = [
        parent
        for p in policies
        if p.lag is not None or p.build_after is not None or p.automate.eager
        for parent in graph.records[p.unique_id].depends_on.nodes
    ]
    pulling = [p.unique_id for p in policies if p.automate.keep_slas]
    return _sources_reached(graph, reading, _holds_no_data) | _sources_reached(
        graph, pulling, lambda _record: True
    )


def _holds_no_data(record: NodeRecord) -> bool:
    return record.resource_type == "model" and record.config.get("materialized") in ("view", "ephemeral")


def _sources_reached(
    graph: AssetGraph, starts: Iterable[str], through: Callable[[NodeRecord], bool]
) -> set[str]:
    """The sources found walking up from ``starts`` (one walk for them all), going on past
    the nodes ``through`` accepts."""
    found: set[str] = set()
    walked: set[str] = set()
    todo = list(starts)
    while todo:
        node = todo.pop()
        if node in walked or node not in graph.records:
            continue
        walked.add(node)
        record = graph.records[node]
        if record.resource_type == "source":
            found.add(node)
        elif through(record):
            todo.extend(record.depends_on.nodes)
    return found


def _checkable(graph: AssetGraph, source: str) -> bool:
    record = graph.records[source]
    freshness = record.freshness or {}
    criteria = any(
        isinstance(freshness.get(k), dict) and freshness[k].get("count")
        for k in ("warn_after", "error_after")
    )
    return criteria and bool(record.loaded_at_field or record.config.get("loaded_at_query"))


def _source_word(graph: AssetGraph, source: str) -> str:
    record = graph.records[source]
    return f"source:{record.package_name}.{record.source_name}.{record.name}"


def _with_code(decided: Decided, world: World) -> Decided:
    """A decision to build, with the code it builds (what ``code_changed`` compares later)."""
    if decided.decision != "run" or world.code_of is None:
        return decided
    built = f"{checksum_of(world.graph, decided.unique_id)}|{world.code_of(decided.unique_id)}"
    return msgspec.structs.replace(decided, fingerprint=built)


def _changed(world: World, decided: Decided) -> bool:
    before = world.state.get(decided.unique_id)
    return before is None or (before.decision, before.condition, before.code) != (
        decided.decision,
        decided.condition,
        decided.code,
    )


def _summary(decisions: Decisions, sources: SourceCheck) -> dict[str, object]:
    counts: dict[str, int] = {}
    for d in decisions.decided:
        counts[d.code] = counts.get(d.code, 0) + 1
    return {
        "due": len(decisions.due),
        "decided": len(decisions.decided),
        "codes": counts,
        **({"sources": sources.said()} if sources.said() else {}),
    }


def history_location(project: Project, path: str | Path | None) -> Path | str:
    from dbt_assets.history.schema import history_path

    return history_path(project.project_dir, path)
