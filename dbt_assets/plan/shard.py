"""Sharding: one large selection split over K workers: at most K groups run at once, each
its own exact dbt invocation.

    >>> sharded = shard(graph, plan(graph, "build", ["tag:finance+"]), 3, facts)   # doctest: +SKIP
    >>> [s.plan.argv for s in sharded.shards]                                      # doctest: +SKIP

Groups respect dependencies: an asset never depends on an asset of a later group, so group i
can start once the earlier groups it depends on (``Shard.after``) are done. Each asset costs
the p90 of its recent execution times from the run history (the median of the known costs
when it has none, 1 s when nothing is known). Sinks (assets nothing in the selection depends
on) go, heaviest upstream first, to the cluster where they add the least work (what they
need that the cluster does not have yet), so sinks that share upstream work stay together.
An asset only one cluster needs joins that cluster; what several clusters need forms the
*trunk*, the first group, which runs once before the clusters run side by side (so at most K
groups run at once). Splits into 1 to K clusters are compared and the fastest predicted one
is kept, so a selection that does not parallelize stays one invocation.

The predicted makespan runs the groups as a DAG, each taking the longer of its own critical
path and its total work spread over dbt's threads, plus what every dbt invocation spends
outside its assets (``overhead``: starting, parsing, selecting; from the history's recent
runs, :func:`dbt_assets.history.reads.HistoryReads.invocation_overheads`); the same estimate
for the whole selection as one dbt invocation is the reference. The overhead is why more
groups are not always faster: a trunk and a cluster pay it twice on their path.
"""

from __future__ import annotations

import graphlib
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from dbt_assets._core.durations import percentile
from dbt_assets._core.errors import ManifestError
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import Plan, plan


class Timed(Protocol):
    """What sharding reads of an asset's history (:class:`dbt_assets.history.facts.AssetFacts`
    has it): its recent successes as (finished at, execution time) pairs."""

    @property
    def recent(self) -> Sequence[Sequence[float]]: ...


# Fitted to the median overheads of real runs of generated projects (benchmarks/bench_shard.py):
# 13.0 s with 2,690 nodes, 79.1 s with 26,912 (dbt-postgres, 2 cores).
OVERHEAD_BASE = 5.5
OVERHEAD_PER_NODE = 0.0028


@dataclass(frozen=True)
class Shard:
    index: int
    plan: Plan
    """The exact dbt arguments of this group (``plan.argv``) and its assets."""
    after: tuple[int, ...]
    """The groups this one depends on (all earlier)."""
    work: float
    """Seconds of execution in this group, summed."""
    duration: float
    """Predicted seconds: the longer of its critical path and ``work / threads``."""
    finish: float
    """Predicted seconds from the start until this group is done."""


@dataclass(frozen=True)
class ShardedPlan:
    command: str
    shards: tuple[Shard, ...]
    makespan: float
    """Predicted seconds until every group is done, groups running as a DAG."""
    single_invocation: float
    """Predicted seconds of the same selection as one dbt invocation."""
    threads: int
    overhead: float = 0.0
    """Predicted seconds each dbt invocation spends outside its assets."""

    def with_state(self, folder: str | Path) -> ShardedPlan:
        """Every group runnable as printed: each one-pass group's state written to
        ``folder/group-<index>`` (:meth:`Plan.with_state`)."""
        shards = tuple(
            replace(s, plan=s.plan.with_state(Path(folder) / f"group-{s.index}")) if s.plan.one_pass else s
            for s in self.shards
        )
        return replace(self, shards=shards)


def default_overhead(graph: AssetGraph) -> float:
    """What a dbt invocation spends outside its assets when the history has no run to tell:
    start-up, a partial parse, selecting, writing the artifacts, growing with the project
    (measured: benchmarks/README.md, "Sharding")."""
    return OVERHEAD_BASE + OVERHEAD_PER_NODE * len(graph.records)


def costs(unique_ids: list[str], facts: Mapping[str, Timed]) -> dict[str, float]:
    """Each asset's p90 execution time; the median of the known ones for the others."""
    known = {}
    for uid in unique_ids:
        found = facts.get(uid)
        p90 = percentile(t for _, t in found.recent) if found is not None else None
        if p90 is not None:
            known[uid] = p90
    default = statistics.median(known.values()) if known else 1.0
    return {uid: known.get(uid, default) for uid in unique_ids}


def _topological(graph: AssetGraph, members: set[str]) -> list[str]:
    """The members, each after every member it depends on (in the same order every time)."""
    needs = {uid: sorted(set(graph.records[uid].depends_on.nodes) & members) for uid in sorted(members)}
    try:
        return list(graphlib.TopologicalSorter(needs).static_order())
    except graphlib.CycleError as exc:  # dbt refuses cycles when it parses; a manifest may not
        stuck = sorted(set(exc.args[1]))
        raise ManifestError(
            f"{graph.manifest.path}: dependency cycle among {', '.join(stuck[:5])}"
            + (f" and {len(stuck) - 5} more" if len(stuck) > 5 else ""),
            "the manifest is inconsistent; re-create it with `dbt parse`",
        ) from None


def _critical_path(
    graph: AssetGraph, members: set[str], cost: Mapping[str, float], order: list[str]
) -> float:
    longest: dict[str, float] = {}
    for uid in order:
        if uid in members:
            before = [longest[p] for p in graph.records[uid].depends_on.nodes if p in members]
            longest[uid] = cost[uid] + max(before, default=0.0)
    return max(longest.values(), default=0.0)


def _duration(
    graph: AssetGraph, members: set[str], cost: Mapping[str, float], order: list[str], threads: int
) -> float:
    work = sum(cost[u] for u in members)
    return max(_critical_path(graph, members, cost, order), work / threads)


def shard(
    graph: AssetGraph,
    planned: Plan,
    k: int,
    facts: Mapping[str, Timed],
    *,
    threads: int = 4,
    overhead: float = 0.0,
) -> ShardedPlan:
    """Split what ``planned`` runs over ``k`` workers (see the module docstring): a trunk and
    up to ``k`` clusters, of the splits into 1 to ``k`` clusters the one with the shortest
    predicted makespan, each dbt invocation costing ``overhead`` seconds beside its assets."""
    if k < 1:
        raise ValueError("k must be at least 1")
    members = set(planned.unique_ids)
    cost = costs(sorted(members), facts)
    order = _topological(graph, members)
    needs: dict[str, frozenset[str]] = {}  # an asset and everything it needs in the selection
    for uid in order:
        mine = {uid}
        for parent in graph.records[uid].depends_on.nodes:
            if parent in members:
                mine |= needs[parent]
        needs[uid] = frozenset(mine)
    # Each sink joins one cluster, so clusters beyond the number of sinks stay empty: a
    # larger k gives the same split (and must not cost a loop per worker asked for).
    sinks = sum(1 for u in order if not any(c in members for c in graph.direct_children(u)))
    best: tuple[float, list[set[str]]] | None = None
    for clusters in range(1, min(k, max(sinks, 1)) + 1):
        split = _split(graph, members, order, needs, cost, clusters)
        timeline = _timeline(graph, split, members, order, cost, threads, overhead)
        makespan = max(finish for _, _, finish in timeline)
        if best is None or makespan < best[0] - 1e-9:
            best = (makespan, split)
    assert best is not None
    return _schedule(graph, planned.command, best[1], members, order, cost, threads, overhead)


def _split(
    graph: AssetGraph,
    members: set[str],
    order: list[str],
    needs: Mapping[str, frozenset[str]],
    cost: Mapping[str, float],
    clusters: int,
) -> list[set[str]]:
    """Sinks (heaviest upstream first) into ``clusters`` clusters, each to the one where it
    adds the least work; what only one cluster needs joins it, what several need forms the
    trunk, the first group. Empty groups are dropped."""
    sinks = [u for u in order if not any(c in members for c in graph.direct_children(u))]
    upstream = {u: sum(cost[n] for n in needs[u]) for u in sinks}
    covered: list[set[str]] = [set() for _ in range(clusters)]
    load = [0.0] * clusters
    cluster_of: dict[str, int] = {}
    for uid in sorted(sinks, key=lambda u: (-upstream[u], u)):
        added = [sum(cost[n] for n in needs[uid] - covered[c]) for c in range(clusters)]
        target = min(range(clusters), key=lambda c: (load[c] + added[c], c))
        cluster_of[uid] = target
        load[target] += added[target]
        covered[target] |= needs[uid]
    needed_by: dict[str, set[int]] = {}
    for uid in reversed(order):  # dependents first
        if uid in cluster_of:
            needed_by[uid] = {cluster_of[uid]}
        else:
            needed_by[uid] = set().union(*(needed_by[c] for c in graph.direct_children(uid) if c in members))
    trunk = {uid for uid, users in needed_by.items() if len(users) > 1}
    split = [trunk] + [{u for u, users in needed_by.items() if users == {c}} for c in range(clusters)]
    return [chosen for chosen in split if chosen]


def _timeline(
    graph: AssetGraph,
    split: list[set[str]],
    members: set[str],
    order: list[str],
    cost: Mapping[str, float],
    threads: int,
    overhead: float,
) -> list[tuple[tuple[int, ...], float, float]]:
    """For each group: the groups it waits for, its predicted duration and finish, the
    groups running as a DAG."""
    index_of = {uid: index for index, chosen in enumerate(split) for uid in chosen}
    timeline: list[tuple[tuple[int, ...], float, float]] = []
    for index, chosen in enumerate(split):
        after = sorted(
            {
                index_of[p]
                for uid in chosen
                for p in graph.records[uid].depends_on.nodes
                if p in members and index_of[p] != index
            }
        )
        duration = overhead + _duration(graph, chosen, cost, order, threads)
        start = max((timeline[a][2] for a in after), default=0.0)
        timeline.append((tuple(after), duration, start + duration))
    return timeline


def _schedule(
    graph: AssetGraph,
    command: str,
    split: list[set[str]],
    members: set[str],
    order: list[str],
    cost: Mapping[str, float],
    threads: int,
    overhead: float,
) -> ShardedPlan:
    """The groups compiled for dbt, with their timeline."""
    timeline = _timeline(graph, split, members, order, cost, threads, overhead)
    shards = tuple(
        Shard(
            index,
            plan(graph, command, unique_ids=sorted(chosen)),
            after,
            sum(cost[u] for u in chosen),
            duration,
            finish,
        )
        for index, (chosen, (after, duration, finish)) in enumerate(zip(split, timeline, strict=True))
    )
    return ShardedPlan(
        command=command,
        shards=shards,
        makespan=max((s.finish for s in shards), default=0.0),
        single_invocation=overhead + _duration(graph, members, cost, order, threads),
        threads=threads,
        overhead=overhead,
    )
