"""What a change reaches: everything downstream grouped by owner, the exposures reached, the
SLAs of the assets affected, the predicted cost of building ``state:modified+`` and the
deadlines that work would put at risk.

Costs are the p90 of each asset's recent successful execution times (the history's facts, or
production's ``run_results.json``); an asset with no recorded time is *unknown*, listed as such,
never counted as free. Deadlines are judged by ``sla check``'s own judge
(:func:`dbt_assets.sla.judge.judge`) twice: as the history stands, and with every asset of
``state:modified+`` counted as not done (rebuilt from now, at its p90), so the critical path of
each deadline carries the change's work.

    >>> impact = reach(graph, {"model.shop.stg_orders"})                     # doctest: +SKIP
    >>> impact.downstream                                                   # doctest: +SKIP
    ['model.shop.customers', 'model.shop.orders', ...]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import msgspec

from dbt_assets._core.durations import duration_text, percentile
from dbt_assets._core.vocab import CHECK_TYPES
from dbt_assets.diff.changes import order_key
from dbt_assets.diff.model import Cost, DeadlineRisk, ExposureReached, OwnerImpact, SlaAffected
from dbt_assets.history.facts import AssetFacts
from dbt_assets.manifest.asset import owners_of
from dbt_assets.manifest.graph import AssetGraph, is_materialized
from dbt_assets.sla.config import Sla, SourceSla
from dbt_assets.sla.judge import declared_slas, judge

NO_OWNER = "(no owner)"
_RUNS = frozenset({"model", "seed", "snapshot", "test", "unit_test", "function"})
"""What ``dbt build`` executes (ephemeral models excepted): what a build's cost is made of."""


@dataclass(frozen=True)
class Reach:
    """``state:modified+`` of the changed assets, split."""

    changed: list[str]
    downstream: list[str]
    checks: list[str]

    @property
    def impacted(self) -> list[str]:
        return self.changed + self.downstream


def reach(graph: AssetGraph, changed: Iterable[str]) -> Reach:
    """The changed assets (those still in the graph) and everything downstream of them."""
    start = {uid for uid in changed if uid in graph.records}
    below = graph.reach_down(start) - start
    everything = start | below
    checks = sorted(uid for uid in everything if graph.records[uid].resource_type in CHECK_TYPES)
    ordered = _ordered(graph, below - set(checks))
    return Reach(_ordered(graph, start - set(checks)), ordered, checks)


def _ordered(graph: AssetGraph, ids: Iterable[str]) -> list[str]:
    records = graph.records
    return sorted(ids, key=lambda u: order_key(records[u].resource_type, records[u].search_name, u))


def by_owner(graph: AssetGraph, found: Reach) -> list[OwnerImpact]:
    """Each owner (sorted; assets with none last) with the changed and downstream assets it
    owns and the exposures among them."""
    groups = graph.manifest.groups
    table: dict[str, tuple[list[str], list[str], list[str]]] = {}
    for uid in found.impacted:
        record = graph.records[uid]
        for owner in owners_of(record, groups) or [NO_OWNER]:
            changed, downstream, exposures = table.setdefault(owner, ([], [], []))
            (changed if uid in found.changed else downstream).append(uid)
            if record.resource_type == "exposure":
                exposures.append(uid)
    order = sorted(table, key=lambda o: (o == NO_OWNER, o.lower(), o))
    return [OwnerImpact(owner, *table[owner]) for owner in order]


def exposures_reached(graph: AssetGraph, found: Reach) -> list[ExposureReached]:
    changed = set(found.changed)
    reached = []
    for uid in found.impacted:
        record = graph.records[uid]
        if record.resource_type != "exposure":
            continue
        via = _ordered(graph, graph.upstream(uid) & changed)
        reached.append(
            ExposureReached(
                uid,
                record.name,
                record.label,
                record.type,
                owners_of(record, graph.manifest.groups),
                record.url,
                record.maturity,
                via,
            )
        )
    return reached


def slas_affected(graph: AssetGraph, found: Reach) -> list[SlaAffected]:
    declared = declared_slas(graph)
    changed = set(found.changed)
    return [
        SlaAffected(uid, graph.records[uid].search_name, sla_words(declared[uid]), uid in changed)
        for uid in found.impacted
        if uid in declared
    ]


def sla_words(sla: Sla | SourceSla) -> list[str]:
    """An SLA in words: ``deadline 07:00 (Europe/Berlin)``, ``freshness 1d``, ..."""
    if isinstance(sla, SourceSla):
        return [
            f"freshness {name} {duration_text(value)}"
            for name, value in (("warn_after", sla.warn_after), ("error_after", sla.error_after))
            if value is not None
        ]
    words = []
    if sla.deadline is not None:
        words.append(f"deadline {sla.deadline} ({sla.timezone or 'UTC'})")
    if sla.freshness is not None:
        words.append(f"freshness {duration_text(sla.freshness)}")
    if sla.max_runtime is not None:
        words.append(f"max_runtime {duration_text(sla.max_runtime)}")
    if sla.max_failures is not None:
        words.append(f"max_failures {sla.max_failures}")
    if sla.severity == "warn" and words:
        words[-1] += " (warn)"
    return words


def runtime(facts: AssetFacts | None) -> float | None:
    """The p90 of an asset's recent successful execution times; None when none is recorded."""
    if facts is None:
        return None
    return percentile(t for _, t in facts.recent)


def build_cost(graph: AssetGraph, found: Reach, facts: Mapping[str, AssetFacts], basis: str) -> Cost:
    """The predicted cost of building ``state:modified+`` (see the module docstring)."""
    runs = [u for u in found.impacted + found.checks if _executes(graph, u)]
    times = {uid: runtime(facts.get(uid)) for uid in runs}
    known = {uid: t for uid, t in times.items() if t is not None}
    unknown = _ordered(graph, (uid for uid, t in times.items() if t is None))
    finish: dict[str, tuple[float, str | None]] = {}
    members = set(runs)
    for uid in _topological(graph, members):
        parents = [p for p in graph.records[uid].depends_on.nodes if p in finish]
        best = max(parents, key=lambda p: finish[p][0], default=None)
        before = finish[best][0] if best is not None else 0.0
        finish[uid] = (before + known.get(uid, 0.0), best)
    end = max(finish, key=lambda u: (finish[u][0], u), default=None)
    path: list[str] = []
    step = end
    while step is not None:
        path.append(step)
        step = finish[step][1]
    return Cost(
        assets=len(runs),
        known=len(known),
        work=sum(known.values()),
        critical_path=finish[end][0] if end is not None else 0.0,
        path=path[::-1],
        unknown=unknown,
        basis=basis,
    )


def _executes(graph: AssetGraph, uid: str) -> bool:
    record = graph.records[uid]
    if record.resource_type == "model":
        return is_materialized(graph, uid)
    return record.resource_type in _RUNS


def _topological(graph: AssetGraph, members: set[str]) -> list[str]:
    """``members`` parents first (the graph has no cycles: the manifest is checked for them)."""
    order: list[str] = []
    done: set[str] = set()
    for start in sorted(members):
        stack = [(start, False)]
        while stack:
            uid, expanded = stack.pop()
            if uid in done:
                continue
            if expanded:
                done.add(uid)
                order.append(uid)
                continue
            stack.append((uid, True))
            for parent in graph.records[uid].depends_on.nodes:
                if parent in members and parent not in done:
                    stack.append((parent, False))
    return order


def deadlines_at_risk(
    graph: AssetGraph, found: Reach, facts: Mapping[str, AssetFacts], at: float
) -> list[DeadlineRisk]:
    """Every deadline among ``state:modified+``, judged as ``sla check`` judges it, without and
    with the change's work (each asset of ``state:modified+`` rebuilt from now)."""
    declared = declared_slas(graph)
    wanted = [
        u for u in found.impacted if (s := declared.get(u)) is not None and isinstance(s, Sla) and s.deadline
    ]
    if not wanted:
        return []
    rebuilt = {u for u in found.impacted + found.checks if _executes(graph, u)}
    with_change = {
        uid: (msgspec.structs.replace(f, last_success_at=0.0) if uid in rebuilt and f.last_success_at else f)
        for uid, f in facts.items()
    }
    before = {r.unique_id: r for r in judge(graph, facts, at, unique_ids=wanted) if r.sla == "deadline"}
    after = {r.unique_id: r for r in judge(graph, with_change, at, unique_ids=wanted) if r.sla == "deadline"}
    risks = []
    for uid in wanted:
        sla, result = declared[uid], after[uid]
        assert isinstance(sla, Sla) and sla.deadline is not None
        details = result.details
        on_chain = (graph.upstream(uid) | {uid}) & rebuilt
        estimate = details.get("estimate")
        risks.append(
            DeadlineRisk(
                unique_id=uid,
                name=graph.records[uid].search_name,
                deadline=sla.deadline,
                timezone=sla.timezone or "UTC",
                status=result.status,
                without_change=before[uid].status,
                next_due=details.get("next_due"),
                estimate=float(estimate) if isinstance(estimate, int | float) else None,
                estimated_finish=details.get("estimated_finish"),
                critical_path=list(details.get("critical_path") or []),
                unknown=_ordered(graph, (u for u in on_chain if runtime(facts.get(u)) is None)),
                message=result.message,
            )
        )
    return risks
