"""``automate --simulate 7d``: the same decisions on a virtual clock, with predicted runtimes
and no dbt.

From the history as it stands (or as of ``--from``), ticks every ``step`` seconds decide with
the very :func:`~.decide.decide` a real tick uses; a run of the due assets takes the invocation
overhead the history shows plus, for each asset, the p90 of its recent execution times along
dbt's order (an asset finishes when its slowest parent has, plus its own time); its successes
are folded into the facts as the history would fold them. Sources get new data when
``loads`` says (default: at the times of day the history saw each one load over its last
week), and are checked at most every ``source_check_interval``, as a tick checks them.

The result: each run (when, what, why), each deadline of the period met or missed, the number
of dbt invocations; and the same for running everything on ``compare_cron`` (the schedule a
team has now), for comparison.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from dbt_assets._core.durations import percentile
from dbt_assets.automate.conditions import Condition
from dbt_assets.automate.config import Policy
from dbt_assets.automate.decide import decide
from dbt_assets.automate.snapshot import World
from dbt_assets.automate.tick import Automation, TickOptions
from dbt_assets.history.automation import AssetState
from dbt_assets.history.claims import Holder
from dbt_assets.history.facts import AssetFacts, ResultRow, fold
from dbt_assets.history.store import History
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.shard import default_overhead
from dbt_assets.run.project import Project
from dbt_assets.sla.judge import work_left
from dbt_assets.sla.schedule import Deadline

DAY = 86400.0


@dataclass(frozen=True)
class SimulatedRun:
    start: float
    end: float
    unique_ids: tuple[str, ...]
    reasons: dict[str, str]
    """Why each asset is in it (the condition that fired)."""
    finishes: dict[str, float] = field(default_factory=dict)
    """When each asset is predicted to finish."""


@dataclass(frozen=True)
class DeadlineOutcome:
    unique_id: str
    due: float
    met: bool
    succeeded_at: float | None


@dataclass
class Strategy:
    """What one way of scheduling gives over the period."""

    runs: list[SimulatedRun] = field(default_factory=list)
    deadlines: list[DeadlineOutcome] = field(default_factory=list)

    @property
    def invocations(self) -> int:
        return len(self.runs)

    @property
    def builds(self) -> int:
        return sum(len(r.unique_ids) for r in self.runs)

    @property
    def missed(self) -> int:
        return sum(not d.met for d in self.deadlines)


@dataclass
class Simulation:
    start: float
    end: float
    step: float
    automation: Strategy
    cron: Strategy | None
    compare_cron: str | None
    loads: dict[str, list[float]]


def simulate(
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
    import time

    chosen = options or TickOptions()
    automation = Automation(project, history, chosen)
    graph, policies, fed = automation.graph()
    begin = time.time() if start is None else start
    facts = dict(history.facts(at=begin if start is not None else None))
    end = begin + days * DAY
    load_times = {s: sorted(ts) for s, ts in (loads or _usual_loads(facts, fed, begin, end)).items()}
    overhead = _overhead(history, graph)
    state = history.automation_state()
    sim = _Clock(graph, policies, facts, state, overhead, chosen, load_times)
    automated = sim.run(begin, end, step)
    baseline = None
    if compare_cron:
        before = dict(history.facts(at=begin if start is not None else None))
        cron_clock = _Clock(graph, policies, before, state, overhead, chosen, load_times)
        baseline = cron_clock.run_cron(Deadline.parse(compare_cron), begin, end)
    return Simulation(begin, end, step, automated, baseline, compare_cron, load_times)


def _overhead(history: History, graph: AssetGraph) -> float:
    seen = history.invocation_overheads()
    return statistics.median(seen) if seen else default_overhead(graph)


def _usual_loads(
    facts: Mapping[str, AssetFacts], fed: Iterable[str], begin: float, end: float
) -> dict[str, list[float]]:
    """Each source's loads over the period at the times of day the history saw it load in its
    last week (none when it never did)."""
    found: dict[str, list[float]] = {}
    for source in fed:
        seen = [t for t, _ in (facts[source].loads if source in facts else [])]
        recent = [t for t in seen if t > begin - 7 * DAY]
        offsets = sorted({t % DAY for t in recent})
        first_day = begin - begin % DAY
        found[source] = [
            day + offset for day in _days(first_day, end) for offset in offsets if begin < day + offset <= end
        ]
    return found


def _days(first: float, end: float) -> Iterable[float]:
    day = first
    while day <= end:
        yield day
        day += DAY


class _Clock:
    """The world as a simulation advances it."""

    def __init__(
        self,
        graph: AssetGraph,
        policies: Mapping[str, Policy],
        facts: dict[str, AssetFacts],
        state: Mapping[str, AssetState],
        overhead: float,
        options: TickOptions,
        loads: Mapping[str, list[float]],
    ) -> None:
        self.graph, self.policies, self.facts, self.state = graph, policies, facts, state
        self.overhead, self.options, self.loads = overhead, options, loads
        self.pending: list[tuple[float, ResultRow]] = []
        self.conditions: dict[str, tuple[Condition, Condition | None]] = {}
        self.in_flight: tuple[float, tuple[str, ...]] | None = None
        self.last_check = (
            max((facts[s].last_at or 0.0) if s in facts else 0.0 for s in loads) if loads else 0.0
        )
        self.loaded: dict[str, float] = {
            s: (facts[s].max_loaded_at or 0.0) if s in facts else 0.0 for s in loads
        }
        self.run_id = 10**9  # simulated runs, beyond any recorded one
        known = [p for f in facts.values() if f.recent for p in [percentile(t for _, t in f.recent) or 0.0]]
        self.typical = statistics.median(known) if known else 1.0

    def cost(self, uid: str) -> float:
        facts = self.facts.get(uid)
        p90 = percentile(t for _, t in facts.recent) if facts is not None and facts.recent else None
        return self.typical if p90 is None else p90

    def advance(self, now: float) -> None:
        """Fold the results that finished by ``now``; check sources when due."""
        done = [item for item in self.pending if item[0] <= now]
        self.pending = [item for item in self.pending if item[0] > now]
        for _, row in sorted(done, key=lambda item: item[0]):
            self.facts[row.unique_id] = fold(self.facts.get(row.unique_id), row)
        if self.in_flight is not None and self.in_flight[0] <= now:
            self.in_flight = None
        if self.loads and now - self.last_check >= self.options.source_check_interval:
            self.last_check = now
            for source, times in self.loads.items():
                known = self.facts.get(source)
                if known is None or known.max_loaded_at is None:  # a first check: the baseline
                    baseline = ResultRow(source, 0, "pass", now, now, 0.0, self.loaded[source] or 1.0)
                    self.facts[source] = fold(known, baseline)
                newest = max((t for t in times if t <= now), default=None)
                if newest is not None and newest > self.loaded[source]:
                    self.loaded[source] = newest
                    self.facts[source] = fold(
                        self.facts.get(source), ResultRow(source, 0, "pass", now, now, 0.0, newest)
                    )

    def start(self, now: float, unique_ids: Iterable[str]) -> dict[str, float]:
        """A run of ``unique_ids`` from ``now``: each finishes after its slowest planned parent."""
        chosen = set(unique_ids)
        finish: dict[str, float] = {}
        self.run_id += 1
        order = sorted(chosen, key=lambda u: len(self.graph.upstream(u) & chosen))
        for uid in order:
            before = max(
                (finish[p] for p in self.graph.records[uid].depends_on.nodes if p in finish),
                default=now + self.overhead,
            )
            finish[uid] = before + self.cost(uid)
            row = ResultRow(
                uid, self.run_id, "success", finish[uid] - self.cost(uid), finish[uid], self.cost(uid), None
            )
            self.pending.append((finish[uid], row))
        self.in_flight = (max(finish.values(), default=now), tuple(sorted(chosen)))
        return finish

    def world(self, now: float) -> World:
        claims = {}
        if self.in_flight is not None:
            holder = Holder(self.run_id, "build", "simulation", 0, now)
            claims = {uid: holder for uid in self.in_flight[1]}
        in_flight = (self.run_id,) if self.in_flight else ()
        return World(self.graph, now, self.facts, claims, self.state, in_flight, self.options.max_runs)

    def run(self, begin: float, end: float, step: float) -> Strategy:
        strategy = Strategy()
        now = begin
        while now <= end:
            self.advance(now)
            world = self.world(now)
            world.estimate = work_left(self.graph, self.facts, now)
            decisions = decide(world, self.policies, self.conditions)
            if decisions.due:
                finish = self.start(now, decisions.due)
                reasons = {d.unique_id: d.condition or "" for d in decisions.decided if d.decision == "run"}
                strategy.runs.append(SimulatedRun(now, max(finish.values()), decisions.due, reasons, finish))
            now += step
        self.advance(end + 10 * DAY)
        strategy.deadlines = self.deadlines(begin, end, strategy.runs)
        return strategy

    def run_cron(self, cron: Deadline, begin: float, end: float) -> Strategy:
        strategy = Strategy()
        everything = sorted(self.policies)
        tick = cron.next(begin)
        while tick <= end:
            self.advance(tick)
            finish = self.start(tick, everything)
            end_at = max(finish.values(), default=tick)
            ids = tuple(everything)
            strategy.runs.append(SimulatedRun(tick, end_at, ids, dict.fromkeys(ids, "cron"), finish))
            tick = cron.next(max(tick, end_at))
        strategy.deadlines = self.deadlines(begin, end, strategy.runs)
        return strategy

    def deadlines(self, begin: float, end: float, runs: list[SimulatedRun]) -> list[DeadlineOutcome]:
        found = []
        for uid, policy in sorted(self.policies.items()):
            sla = policy.sla
            if sla is None or sla.deadline is None:
                continue
            schedule = Deadline.parse(sla.deadline, sla.timezone)
            finished = sorted(r.finishes[uid] for r in runs if uid in r.finishes)
            due = schedule.next(begin)
            while due <= end:
                before = schedule.before(due)
                done = [t for t in finished if before < t <= due]
                found.append(DeadlineOutcome(uid, due, bool(done), done[-1] if done else None))
                due = schedule.next(due)
        return found


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="minutes")
