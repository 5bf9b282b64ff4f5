"""Why an asset's SLA is breached or at risk: the upstream assets that failed or are late.

    >>> explain(graph, history.facts(), time.time(), "model.shop.orders").causes[0].reason  # doctest: +SKIP
    'failed'

A cause is an upstream asset (model, seed, snapshot or source) with run history whose last
result failed or was skipped or cancelled, whose own SLA is not met, or, for a deadline,
that has not succeeded since the deadline before. Causes come nearest first; a *root* cause has no other
cause upstream of it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import msgspec

from dbt_assets.history.facts import AssetFacts
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.run.events import CANCELLED, FAILURE_STATUSES
from dbt_assets.sla.config import Sla
from dbt_assets.sla.judge import RUNNABLE, SlaResult, declared_slas, iso, judge
from dbt_assets.sla.schedule import Deadline

_TROUBLE = frozenset({"breached", "warn", "at_risk"})


class LastRun(msgspec.Struct, frozen=True):
    """An asset's last recorded result."""

    status: str | None
    run_id: int | None
    at: str | None
    message: str | None
    last_success_at: str | None


class Cause(msgspec.Struct, frozen=True):
    unique_id: str
    reasons: list[str]
    distance: int
    """Edges between the cause and the explained asset."""
    root: bool
    last_run: LastRun


class Explanation(msgspec.Struct, frozen=True):
    unique_id: str
    results: list[SlaResult]
    last_run: LastRun
    causes: list[Cause]


def last_run(facts: AssetFacts | None) -> LastRun:
    if facts is None:
        return LastRun(None, None, None, None, None)
    return LastRun(
        facts.last_status,
        facts.last_run_id,
        iso(facts.last_at),
        facts.last_message,
        iso(facts.last_success_at),
    )


def _distances(graph: AssetGraph, unique_id: str) -> dict[str, int]:
    """Every upstream asset and how many edges away it is (the shortest way)."""
    found = {unique_id: 0}
    layer = [unique_id]
    while layer:
        following = []
        for uid in layer:
            for parent in graph.records[uid].depends_on.nodes:
                if parent in graph.records and parent not in found:
                    found[parent] = found[uid] + 1
                    following.append(parent)
        layer = following
    return found


def explain(
    graph: AssetGraph,
    facts: Mapping[str, AssetFacts],
    at: float | None,
    unique_id: str,
) -> Explanation:
    """The asset's SLA results as of ``at`` (default now) and, when one is not ok, its causes."""
    when = at if at is not None else time.time()
    slas = declared_slas(graph)
    own = judge(graph, facts, when, slas=slas, unique_ids=[unique_id])
    troubled = [r for r in own if r.status in _TROUBLE]
    if not troubled:
        return Explanation(unique_id, own, last_run(facts.get(unique_id)), [])
    distances = _distances(graph, unique_id)
    upstream = {
        uid: d
        for uid, d in distances.items()
        if d > 0 and graph.records[uid].resource_type in RUNNABLE | {"source"}
    }
    cycle_start = _cycle_start(slas.get(unique_id), troubled, when)
    upstream_results: dict[str, list[SlaResult]] = {}
    for result in judge(graph, facts, when, slas=slas, unique_ids=upstream):
        if result.status in _TROUBLE:
            upstream_results.setdefault(result.unique_id, []).append(result)
    reasons: dict[str, list[str]] = {}
    for uid in upstream:
        found = _reasons(graph, facts.get(uid), uid, cycle_start)
        found += [f"{r.sla} {r.status}: {r.message}" for r in upstream_results.get(uid, [])]
        if found:
            reasons[uid] = found
    causes = [
        Cause(
            uid,
            reasons[uid],
            upstream[uid],
            not (graph.reach_up([uid]) & reasons.keys()),
            last_run(facts.get(uid)),
        )
        for uid in sorted(reasons, key=lambda u: (upstream[u], u))
    ]
    return Explanation(unique_id, own, last_run(facts.get(unique_id)), causes)


def _cycle_start(sla: object, troubled: list[SlaResult], at: float) -> float | None:
    """For a troubled deadline: when the cycle it judges began (the deadline before)."""
    if not isinstance(sla, Sla) or sla.deadline is None or not any(r.sla == "deadline" for r in troubled):
        return None
    schedule = Deadline.parse(sla.deadline, sla.timezone)
    due = schedule.latest(at)
    result = next(r for r in troubled if r.sla == "deadline")
    return schedule.before(due) if result.status != "at_risk" else due


def _reasons(graph: AssetGraph, facts: AssetFacts | None, uid: str, cycle_start: float | None) -> list[str]:
    if facts is None:  # nothing to judge by: an asset never run here (or run by other means)
        return []
    runnable = graph.records[uid].resource_type in RUNNABLE
    found = []
    if facts.last_status in FAILURE_STATUSES | {"skipped", CANCELLED}:
        found.append(f"last run {facts.last_status}")
    if runnable and cycle_start is not None:
        if facts.running_since is not None:
            found.append(f"running since {iso(facts.running_since)}")
        elif facts.last_success_at is None or facts.last_success_at <= cycle_start:
            found.append(f"not succeeded since {iso(cycle_start)}")
    return found
