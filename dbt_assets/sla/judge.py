"""Judging SLAs: each (asset, SLA kind) against what the run history says, as of a moment.

    >>> results = judge(graph, history.facts(), at=time.time())          # doctest: +SKIP
    >>> [(r.unique_id, r.sla, r.status) for r in results if r.status != "ok"]   # doctest: +SKIP
    [('model.shop.orders', 'deadline', 'at_risk')]

Statuses: ``ok``; ``breached`` (an error-severity SLA is not met) or ``warn`` (a warn-severity
one is not); ``at_risk`` (a deadline is still ahead but the work left before it would finish
too late); ``unknown`` (no history to judge from).

- **freshness**: the last success is at most ``freshness`` old. For a source, dbt's own
  ``warn_after``/``error_after`` against the newest row's load time at the last
  ``dbt source freshness``.
- **deadline**: each time the deadline falls due, the asset has succeeded since the time
  before. Between deadlines an asset that has not succeeded yet is ``at_risk`` when its
  not-yet-done upstream chain, run now with the p90 of each asset's recent execution times,
  would finish after the next deadline (the critical path is in ``details``). A miss stands
  until the next deadline falls due, even if a later run succeeds. An asset whose history
  starts after a deadline is judged by the next one only.
- **max_runtime**: the last execution (or the one running now) took at most this long.
- **max_failures**: at most this many failed runs in a row (since the last success).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import msgspec

from dbt_assets._core.durations import duration_text, percentile
from dbt_assets._core.vocab import MATERIALIZED_TYPES
from dbt_assets.history.facts import RECENT, AssetFacts
from dbt_assets.manifest.decode import paused_gc
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.sla.config import Sla, SourceSla, effective_slas, source_slas
from dbt_assets.sla.schedule import Deadline

Status = Literal["ok", "warn", "breached", "at_risk", "unknown"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "breached", "at_risk", "unknown")
KINDS = ("freshness", "deadline", "max_runtime", "max_failures")


class SlaResult(msgspec.Struct, frozen=True):
    """One SLA of one asset, judged.

    ``observed`` and ``limit`` are seconds for freshness and max_runtime, a count for
    max_failures, and ISO 8601 times for a deadline (the success that met it and the time
    it fell due)."""

    unique_id: str
    sla: str
    status: str
    severity: str
    observed: float | int | str | None
    limit: float | int | str | None
    message: str
    at: str
    details: dict[str, Any] = {}


def iso(epoch: float | None) -> str | None:
    """``2026-11-24T07:00:00+00:00`` for epoch seconds (UTC)."""
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def declared_slas(graph: AssetGraph) -> dict[str, Sla | SourceSla]:
    """Every asset with an SLA: models, seeds and snapshots from their YAML and
    ``dbt_assets.yml``; sources from dbt's freshness."""
    found: dict[str, Sla | SourceSla] = dict(effective_slas(graph))
    found.update(source_slas(graph))
    return found


@dataclass
class _Judge:
    graph: AssetGraph
    facts: Mapping[str, AssetFacts]
    at: float
    deadlines: dict[tuple[str, str | None], tuple[Deadline, float, float, float]] = field(
        default_factory=dict
    )
    paths: dict[float, dict[str, tuple[float, str | None]]] = field(default_factory=dict)
    costs: dict[tuple[str, float], float] = field(default_factory=dict)

    def result(
        self,
        uid: str,
        kind: str,
        status: Status,
        severity: str,
        observed: Any,
        limit: Any,
        message: str,
        **details: Any,
    ) -> SlaResult:
        return SlaResult(uid, kind, status, severity, observed, limit, message, iso(self.at) or "", details)

    # --- models, seeds, snapshots ---------------------------------------------------

    def judge(self, uid: str, sla: Sla) -> list[SlaResult]:
        facts = self.facts.get(uid)
        severity = sla.severity or "error"
        missed: Status = "breached" if severity == "error" else "warn"
        out = []
        if sla.freshness is not None:
            out.append(self.freshness(uid, facts, sla.freshness, severity, missed))
        if sla.deadline is not None:
            out.append(self.deadline(uid, facts, sla, severity, missed))
        if sla.max_runtime is not None:
            out.append(self.max_runtime(uid, facts, sla.max_runtime, severity, missed))
        if sla.max_failures is not None:
            out.append(self.max_failures(uid, facts, sla.max_failures, severity, missed))
        return out

    def freshness(
        self, uid: str, facts: AssetFacts | None, limit: float, severity: str, missed: Status
    ) -> SlaResult:
        if facts is None or facts.last_success_at is None:
            return self.result(uid, "freshness", "unknown", severity, None, limit, "never succeeded")
        age = self.at - facts.last_success_at
        status: Status = missed if age > limit else "ok"
        text = f"last success {duration_text(age)} ago (limit {duration_text(limit)})"
        return self.result(
            uid,
            "freshness",
            status,
            severity,
            age,
            limit,
            text,
            last_success_at=iso(facts.last_success_at),
            last_success_run_id=facts.last_success_run_id,
        )

    def max_runtime(
        self, uid: str, facts: AssetFacts | None, limit: float, severity: str, missed: Status
    ) -> SlaResult:
        if facts is not None and facts.running_since is not None and self.at - facts.running_since > limit:
            running = self.at - facts.running_since
            text = f"running for {duration_text(running)} (limit {duration_text(limit)})"
            return self.result(uid, "max_runtime", missed, severity, running, limit, text, running=True)
        took: float | None = None if facts is None else facts.last_execution_time
        if facts is not None and took is None and facts.recent:
            took = facts.recent[-1][1]
        if facts is None or took is None:
            return self.result(uid, "max_runtime", "unknown", severity, None, limit, "never ran")
        status: Status = missed if took > limit else "ok"
        text = f"last execution took {duration_text(took)} (limit {duration_text(limit)})"
        return self.result(
            uid, "max_runtime", status, severity, took, limit, text, run_id=facts.last_run_id, running=False
        )

    def max_failures(
        self, uid: str, facts: AssetFacts | None, limit: int, severity: str, missed: Status
    ) -> SlaResult:
        if facts is None or facts.last_status is None:
            return self.result(uid, "max_failures", "unknown", severity, None, limit, "never ran")
        count = facts.consecutive_failures
        status: Status = missed if count > limit else "ok"
        text = f"{count} failed run(s) in a row (tolerated: {limit})"
        return self.result(
            uid,
            "max_failures",
            status,
            severity,
            count,
            limit,
            text,
            last_status=facts.last_status,
            last_run_id=facts.last_run_id,
        )

    # --- deadlines ------------------------------------------------------------------

    def cycle(self, sla: Sla) -> tuple[Deadline, float, float, float]:
        """The deadline, when it last fell due, the time before, and when it falls due next
        (the same for every asset with this deadline)."""
        key = (sla.deadline or "", sla.timezone)
        if key not in self.deadlines:
            schedule = Deadline.parse(key[0], sla.timezone)
            due = schedule.latest(self.at)
            self.deadlines[key] = (schedule, due, schedule.before(due), schedule.next(self.at))
        return self.deadlines[key]

    def deadline(
        self, uid: str, facts: AssetFacts | None, sla: Sla, severity: str, missed: Status
    ) -> SlaResult:
        schedule, due, since, upcoming = self.cycle(sla)
        zone = str(schedule.zone)
        limit = iso(due)
        if facts is None or facts.last_success_at is None:
            return self.result(
                uid, "deadline", "unknown", severity, None, limit, "never succeeded", zone=zone
            )
        recorded_before = facts.first_at is not None and facts.first_at <= due
        if recorded_before and not _succeeded_between(facts, since, due):
            late = next((t for t, _ in facts.recent if t > due), None)
            text = f"missed the deadline {_local(due, schedule)}: " + (
                f"succeeded {duration_text(late - due)} late" if late is not None else "not succeeded since"
            )
            return self.result(
                uid,
                "deadline",
                missed,
                severity,
                iso(late),
                limit,
                text,
                zone=zone,
                last_success_at=iso(facts.last_success_at),
                next_due=iso(upcoming),
            )
        if facts.last_success_at > due:  # done for the next deadline already
            text = f"done for {_local(upcoming, schedule)}"
            text = f"met {_local(due, schedule)}; {text}" if recorded_before else text
            return self.result(
                uid,
                "deadline",
                "ok",
                severity,
                iso(facts.last_success_at),
                limit,
                text,
                zone=zone,
                next_due=iso(upcoming),
            )
        estimate, path = self.critical_path(uid, due)
        finish = self.at + estimate
        status: Status = "at_risk" if finish > upcoming else "ok"
        text = (
            f"not done for {_local(upcoming, schedule)}; the work left needs about {duration_text(estimate)}"
            + (f", finishing {duration_text(finish - upcoming)} late" if status == "at_risk" else "")
        )
        return self.result(
            uid,
            "deadline",
            status,
            severity,
            iso(facts.last_success_at),
            limit,
            text,
            zone=zone,
            next_due=iso(upcoming),
            estimate=estimate,
            estimated_finish=iso(finish),
            critical_path=path,
        )

    def critical_path(self, uid: str, cycle_start: float) -> tuple[float, list[str]]:
        """Seconds the not-yet-done upstream chain of ``uid`` needs (p90 of each asset's recent
        successful execution times; assets done since ``cycle_start`` cost nothing), and the
        longest chain of assets, upstream first."""
        if cycle_start not in self.paths:
            self.paths[cycle_start] = {}
        memo = self.paths[cycle_start]
        stack = [uid]
        while stack:  # longest path by depth-first search, memoized per cycle start
            node = stack[-1]
            if node in memo:
                stack.pop()
                continue
            parents = [p for p in self.graph.records[node].depends_on.nodes if p in self.graph.records]
            waiting = [p for p in parents if p not in memo]
            if waiting:
                stack.extend(waiting)
                continue
            best = max(parents, key=lambda p: memo[p][0], default=None)
            before = memo[best][0] if best is not None else 0.0
            memo[node] = (before + self.cost(node, cycle_start), best)
            stack.pop()
        path = []
        step: str | None = uid
        while step is not None:
            if self.cost(step, cycle_start) > 0 or step == uid:
                path.append(step)
            step = memo[step][1]
        return memo[uid][0], path[::-1]

    def cost(self, uid: str, cycle_start: float) -> float:
        """What running ``uid`` now still takes: nothing when it is done since the cycle
        started (or is not run by dbt: an ephemeral model is compiled into what reads it, even
        where its events carry a time), else the p90 of its recent execution times, less what
        it has run already when it is running."""
        key = (uid, cycle_start)
        if key not in self.costs:
            self.costs[key] = self._cost(uid, cycle_start)
        return self.costs[key]

    def _cost(self, uid: str, cycle_start: float) -> float:
        record = self.graph.records[uid]
        if record.resource_type not in MATERIALIZED_TYPES or record.config.get("materialized") == "ephemeral":
            return 0.0
        facts = self.facts.get(uid)
        if facts is None:
            return 0.0
        if facts.last_success_at is not None and facts.last_success_at > cycle_start:
            return 0.0
        p90 = percentile(t for _, t in facts.recent) or 0.0
        if facts.running_since is not None:
            return max(p90 - (self.at - facts.running_since), 0.0)
        return p90

    # --- sources --------------------------------------------------------------------

    def source(self, uid: str, sla: SourceSla) -> SlaResult:
        facts = self.facts.get(uid)
        severity = "error" if sla.error_after is not None else "warn"
        limit = sla.error_after if sla.error_after is not None else sla.warn_after
        limits = {"warn_after": sla.warn_after, "error_after": sla.error_after}
        if facts is None or facts.max_loaded_at is None:
            text = "no freshness check recorded (dbt-assets sla check --sources runs one)"
            return self.result(uid, "freshness", "unknown", severity, None, limit, text, **limits)
        age = self.at - facts.max_loaded_at
        status: Status = "ok"
        if sla.error_after is not None and age > sla.error_after:
            status = "breached"
        elif sla.warn_after is not None and age > sla.warn_after:
            status, severity = "warn", "warn"
        bound = sla.error_after if status == "breached" or sla.warn_after is None else sla.warn_after
        text = f"newest row loaded {duration_text(age)} ago (limit {duration_text(bound)})"
        return self.result(
            uid,
            "freshness",
            status,
            severity,
            age,
            limit,
            text,
            max_loaded_at=iso(facts.max_loaded_at),
            checked_at=iso(facts.last_at),
            **limits,
        )


def _succeeded_between(facts: AssetFacts, since: float, due: float) -> bool:
    """Whether the asset succeeded in ``(since, due]``. The facts keep the recent successes
    only: when all of them are after ``due`` the asset succeeded many times since, and an
    earlier success is assumed."""
    if any(since < t <= due for t, _ in facts.recent):
        return True
    return len(facts.recent) >= RECENT and facts.recent[0][0] > due


def _local(epoch: float, schedule: Deadline) -> str:
    return datetime.fromtimestamp(epoch, schedule.zone).strftime("%Y-%m-%d %H:%M %Z")


def judge(
    graph: AssetGraph,
    facts: Mapping[str, AssetFacts],
    at: float,
    *,
    slas: Mapping[str, Sla | SourceSla] | None = None,
    unique_ids: Iterable[str] | None = None,
) -> list[SlaResult]:
    """Every SLA of the assets (default: all with an SLA) judged as of ``at`` (epoch seconds),
    by asset then kind."""
    with paused_gc():  # tens of thousands of small results, no cycles among them
        declared = declared_slas(graph) if slas is None else slas
        wanted = (
            sorted(declared) if unique_ids is None else sorted(u for u in set(unique_ids) if u in declared)
        )
        judge_ = _Judge(graph, facts, at)
        results: list[SlaResult] = []
        for uid in wanted:
            sla = declared[uid]
            if isinstance(sla, SourceSla):
                results.append(judge_.source(uid, sla))
            else:
                results.extend(judge_.judge(uid, sla))
    return results


def full_chains(
    graph: AssetGraph, facts: Mapping[str, AssetFacts], unique_ids: Iterable[str]
) -> dict[str, tuple[float, list[str]]]:
    """For each asset: the seconds a run of it and everything upstream of it takes from
    scratch (the p90 of each asset's recent execution times, nothing counted as done), and
    the longest chain, upstream first: what decides a deadline on a day nothing is built yet.
    One walk shared by all of them."""
    judge_ = _Judge(graph, facts, 0.0)
    return {uid: judge_.critical_path(uid, float("inf")) for uid in unique_ids}


def work_left(
    graph: AssetGraph, facts: Mapping[str, AssetFacts], at: float
) -> Callable[[str, float], tuple[float, list[str]]]:
    """What ``sla check`` predicts a deadline with, as of ``at``: for an asset and the start of
    its deadline's cycle, the seconds its not-yet-done upstream chain needs (p90 of each asset's
    recent execution times) and that chain, upstream first. Walks are shared between calls."""
    return _Judge(graph, facts, at).critical_path


def worst_exit_code(results: Iterable[SlaResult]) -> int:
    """1 when an error-severity SLA is breached, else 0."""
    return 1 if any(r.status == "breached" and r.severity == "error" for r in results) else 0
