"""Why an asset's SLA is breached or at risk, or its last run did not succeed: the upstream
assets behind it, each with the command that fixes it.

    >>> explain(graph, history.facts(), time.time(), "model.shop.orders").causes[0].reasons  # doctest: +SKIP
    ['never succeeded here', 'its relation stg_orders is missing from the warehouse (dbt said so)']

A cause is an upstream asset (model, seed, snapshot or source) whose last result failed or
was skipped or cancelled, that dbt materializes but that has never succeeded here, whose
relation dbt's error names as missing, whose own SLA is not met, or, for a deadline, that has
not succeeded since the deadline before. Causes come nearest first; a *root* cause has no
other cause upstream of it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

import msgspec

from dbt_assets._core.vocab import MATERIALIZED_TYPES
from dbt_assets.history.facts import AssetFacts
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.run.events import CANCELLED, FAILURE_STATUSES, SUCCESS_STATUSES
from dbt_assets.sla.config import Sla, SourceSla
from dbt_assets.sla.judge import SlaResult, declared_slas, iso, judge
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
    fix: str = ""
    """The command that deals with it (build what was never built, run what failed once fixed)."""


class Explanation(msgspec.Struct, frozen=True):
    unique_id: str
    results: list[SlaResult]
    last_run: LastRun
    causes: list[Cause]
    fix: str = ""
    """When nothing upstream is the cause but the asset itself is not well: what to run."""


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
    *,
    slas: Mapping[str, Sla | SourceSla] | None = None,
) -> Explanation:
    """The asset's SLA results as of ``at`` (default now) and, when one is not ok, its causes.
    ``slas``: the project's declared SLAs when the caller has them already (explaining many
    assets: resolving them is the costly part on a large project)."""
    when = at if at is not None else time.time()
    slas = declared_slas(graph) if slas is None else slas
    own = judge(graph, facts, when, slas=slas, unique_ids=[unique_id])
    troubled = [r for r in own if r.status in _TROUBLE]
    mine = facts.get(unique_id)
    unwell = mine is None or mine.last_status not in SUCCESS_STATUSES
    if not troubled and not unwell:
        return Explanation(unique_id, own, last_run(mine), [])
    distances = _distances(graph, unique_id)
    upstream = {
        uid: d
        for uid, d in distances.items()
        if d > 0 and graph.records[uid].resource_type in MATERIALIZED_TYPES | {"source"}
    }
    cycle_start = _cycle_start(slas.get(unique_id), troubled, when)
    upstream_results: dict[str, list[SlaResult]] = {}
    for result in judge(graph, facts, when, slas=slas, unique_ids=upstream):
        if result.status in _TROUBLE:
            upstream_results.setdefault(result.unique_id, []).append(result)
    missing = _missing_relations(graph, upstream, mine.last_message if mine is not None else None)
    reasons: dict[str, list[str]] = {}
    for uid in upstream:
        found = _reasons(graph, facts.get(uid), uid, cycle_start, suspect_unbuilt=unwell)
        found += (
            [f"its relation {missing[uid]} is missing from the warehouse (dbt said so)"]
            if uid in missing
            else []
        )
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
            _fix(graph, uid, facts.get(uid), uid in missing),
        )
        for uid in sorted(reasons, key=lambda u: (upstream[u], u))
    ]
    itself = "" if causes else _fix(graph, unique_id, mine, missing=False)
    return Explanation(unique_id, own, last_run(mine), causes, itself)


def _fix(graph: AssetGraph, uid: str, facts: AssetFacts | None, missing: bool) -> str:
    """The command for one cause."""
    record = graph.records[uid]
    name = record.name if record.resource_type != "source" else f"source:{record.source_name}.{record.name}"
    if record.resource_type == "source":
        return "dbt-assets sla check --sources  (is the source loaded? dbt source freshness checks it)"
    if missing or facts is None or facts.last_success_at is None:
        return f"dbt-assets build -s +{name}  (build it and what it needs)"
    if facts.last_status in FAILURE_STATUSES:
        return f"dbt-assets run -s {name}  (after fixing its error: dbt-assets why {name})"
    return f"dbt-assets why {name}"


_MISSING = (  # what adapters say of a relation that does not exist, the name in group 1
    re.compile(r"Table with name ([\w.\"]+) does not exist", re.IGNORECASE),  # DuckDB
    re.compile(r"relation \"?([\w.\"]+?)\"? does not exist", re.IGNORECASE),  # PostgreSQL, Redshift
    re.compile(r"Object '([\w.\"]+)' does not exist", re.IGNORECASE),  # Snowflake
    re.compile(r"Not found: Table ([\w.:\-]+)", re.IGNORECASE),  # BigQuery
)


def _missing_relations(graph: AssetGraph, upstream: Mapping[str, int], message: str | None) -> dict[str, str]:
    """The upstream assets whose relation dbt's error says does not exist, with the name it used."""
    found: dict[str, str] = {}
    for pattern in _MISSING:
        for named in pattern.findall(message or ""):
            last = named.replace('"', "").replace(":", ".").split(".")[-1].lower()
            for uid in upstream:
                record = graph.records[uid]
                if last in {(record.alias or "").lower(), record.name.lower()}:
                    found.setdefault(uid, named.replace('"', ""))
    return found


def _cycle_start(sla: object, troubled: list[SlaResult], at: float) -> float | None:
    """For a troubled deadline: when the cycle it judges began (the deadline before)."""
    if not isinstance(sla, Sla) or sla.deadline is None or not any(r.sla == "deadline" for r in troubled):
        return None
    schedule = Deadline.parse(sla.deadline, sla.timezone)
    due = schedule.latest(at)
    result = next(r for r in troubled if r.sla == "deadline")
    return schedule.before(due) if result.status != "at_risk" else due


def _reasons(
    graph: AssetGraph, facts: AssetFacts | None, uid: str, cycle_start: float | None, *, suspect_unbuilt: bool
) -> list[str]:
    """Why one upstream asset is a cause. One that never succeeded here is suspected only when
    the explained asset's own run did not succeed: built by other means, it may well exist."""
    record = graph.records[uid]
    runnable = record.resource_type in MATERIALIZED_TYPES and record.config.get("materialized") != "ephemeral"
    if facts is None or facts.last_success_at is None:  # dbt builds it, and never did here
        ran = "" if facts is None else f" (last run {facts.last_status})"
        return [f"never succeeded here{ran}"] if runnable and suspect_unbuilt else []
    found = []
    if facts.last_status in FAILURE_STATUSES | {"skipped", CANCELLED}:
        found.append(f"last run {facts.last_status}")
    if runnable and cycle_start is not None:
        if facts.running_since is not None:
            found.append(f"running since {iso(facts.running_since)}")
        elif facts.last_success_at is None or facts.last_success_at <= cycle_start:
            found.append(f"not succeeded since {iso(cycle_start)}")
    return found
