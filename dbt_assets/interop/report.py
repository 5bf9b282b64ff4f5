"""What the HTML report shows, as plain data: the selected assets with their lineage, last
status, SLAs and causes (tests folded into the assets they check), each deadline's critical
path, and one run's timeline. :mod:`dbt_assets.interop.report_page` turns it into the page.

    >>> data = report_data(graph, history, unique_ids=list_assets(graph, ["+orders"]))  # doctest: +SKIP
    >>> data["summary"]["sla"]                                                           # doctest: +SKIP
    {'ok': 3, 'breached': 1}
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from dbt_assets._core.durations import duration_text, percentile
from dbt_assets._core.serial import plain
from dbt_assets._core.vocab import FAILURE_STATUSES, SUCCESS_STATUSES
from dbt_assets.manifest.asset import group_of, owners_of
from dbt_assets.manifest.graph import AssetGraph, is_materialized
from dbt_assets.sla.explain import explain
from dbt_assets.sla.judge import SlaResult, declared_slas, full_chains, iso, judge

if TYPE_CHECKING:
    from dbt_assets.history.facts import AssetFacts
    from dbt_assets.history.store import History

FOLDED = frozenset({"test", "unit_test"})
"""Checks: shown folded into the assets they check, not as nodes."""
SLA_ORDER = ("breached", "at_risk", "warn", "unknown", "ok")
"""SLA states, worst first: an asset shows its worst."""
EXPLAINED = 200
"""How many troubled assets get their causes worked out (each is a walk upstream)."""
SLOWEST = 10


def report_data(
    graph: AssetGraph,
    history: History | None,
    *,
    unique_ids: Iterable[str] | None = None,
    run_id: int | None = None,
    at: float | None = None,
    title: str | None = None,
    automation: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The report of ``unique_ids`` (default: every asset) as of ``at`` (default now), with the
    timeline of run ``run_id`` (default: the newest run; none without a history) and, for the
    assets automation decides, what it decides now and when each is next due (``automation``:
    ``{unique_id: {"decision", "reason", "next_due"}}``)."""
    when = time.time() if at is None else at
    wanted = set(graph.records if unique_ids is None else unique_ids) & graph.records.keys()
    facts: Mapping[str, AssetFacts] = history.facts() if history is not None else {}
    shown = sorted(uid for uid in wanted if graph.records[uid].resource_type not in FOLDED)
    checks = _checks_by_asset(graph, set(shown))
    slas = declared_slas(graph)
    results = judge(graph, facts, when, slas=slas, unique_ids=shown)
    by_asset: dict[str, list[SlaResult]] = {}
    for result in results:
        by_asset.setdefault(result.unique_id, []).append(result)
    index = {uid: i for i, uid in enumerate(shown)}
    assets = [
        _asset(graph, uid, index, facts.get(uid), by_asset.get(uid, []), checks.get(uid, []), facts)
        for uid in shown
    ]
    for asset in assets:
        asset["automation"] = dict((automation or {}).get(asset["id"]) or {})
    troubled = [a for a in assets if a["sla"] in ("breached", "at_risk", "warn") or a["status"] in _BAD]
    for asset in troubled[:EXPLAINED]:
        explanation = explain(graph, facts, when, asset["id"], slas=slas)
        asset["causes"] = [
            {"id": c.unique_id, "reasons": c.reasons, "root": c.root, "fix": c.fix}
            for c in explanation.causes
        ]
        asset["fix"] = explanation.fix
    return {
        "title": title or _project_name(graph),
        "at": iso(when),
        "generated_at": iso(time.time()),
        "total": sum(1 for r in graph.records.values() if r.resource_type not in FOLDED),
        "assets": [_compact(a) for a in assets],
        "summary": _summary(assets, results),
        "critical": _critical_paths(graph, facts, results, index),
        "run": _run(graph, history, run_id, index) if history is not None else None,
    }


_BAD = FAILURE_STATUSES | {"skipped", "cancelled"}


def _compact(entry: dict[str, Any]) -> dict[str, Any]:
    """Without empty values (the page fills in the defaults): a tenth of the size at 10,000
    assets is empty lists and nulls."""
    return {k: v for k, v in entry.items() if v not in (None, "", [], {})}


def _project_name(graph: AssetGraph) -> str:
    name = graph.manifest.project_name
    return f"{name}: dbt-assets report" if name else "dbt-assets report"


def _checks_by_asset(graph: AssetGraph, shown: set[str]) -> dict[str, list[str]]:
    """The tests and unit tests of each shown asset (whether selected or not: they are folded
    into it)."""
    found: dict[str, list[str]] = {}
    for uid, record in graph.records.items():
        if record.resource_type in FOLDED:
            for parent in record.depends_on.nodes:
                if parent in shown:
                    found.setdefault(parent, []).append(uid)
    return found


def _asset(
    graph: AssetGraph,
    uid: str,
    index: Mapping[str, int],
    mine: AssetFacts | None,
    slas: list[SlaResult],
    checks: list[str],
    facts: Mapping[str, AssetFacts],
) -> dict[str, Any]:
    record = graph.records[uid]
    worst = min((SLA_ORDER.index(r.status) for r in slas if r.status in SLA_ORDER), default=None)
    check_states: dict[str, int] = {}
    for check in checks:
        status = facts[check].last_status if check in facts else None
        key = "never run" if status is None else status
        check_states[key] = check_states.get(key, 0) + 1
    return {
        "id": uid,
        "name": record.search_name,
        "type": record.resource_type,
        "parents": sorted({index[p] for p in record.depends_on.nodes if p in index}),
        "status": (mine.last_status if mine is not None else None) or "never run",
        "sla": SLA_ORDER[worst] if worst is not None else "none",
        "materialized": record.config.get("materialized") if is_materialized(graph, uid) else None,
        "description": record.description or "",
        "owners": owners_of(record, graph.manifest.groups),
        "group": group_of(record),
        "tags": list(record.tags),
        "path": record.original_file_path,
        "relation": record.relation_name,
        "slas": [
            {
                "sla": r.sla,
                "status": r.status,
                "observed": _readable(r.sla, r.observed),
                "limit": _readable(r.sla, r.limit),
                "message": r.message,
            }
            for r in slas
        ],
        "last": _last(mine),
        "checks": check_states,
        "failing_checks": [
            graph.records[c].name for c in checks if c in facts and facts[c].last_status in FAILURE_STATUSES
        ],
        "command": _command(graph, uid),
        "causes": [],
        "fix": "",
    }


def _readable(sla: str, value: float | int | str | None) -> float | int | str | None:
    """Seconds as ``1d``, ``5m``, ``0.09s`` for the SLAs that measure time."""
    if sla in ("freshness", "max_runtime") and isinstance(value, (int, float)):
        return duration_text(value)
    return value


def _last(mine: AssetFacts | None) -> dict[str, Any] | None:
    if mine is None:
        return None
    times = [t for _, t in mine.recent]
    return {
        "status": mine.last_status,
        "run_id": mine.last_run_id,
        "at": iso(mine.last_at),
        "took": duration_text(mine.last_execution_time),
        "message": mine.last_message,
        "last_success_at": iso(mine.last_success_at),
        "successes": len(times),
        "p90": duration_text(percentile(times)) if times else "",
        "failures_in_a_row": mine.consecutive_failures,
    }


_COMMANDS = {"model": "run", "seed": "seed", "snapshot": "snapshot"}


def _command(graph: AssetGraph, uid: str) -> str:
    """The dbt-assets command that rebuilds the asset (its checks too, for ``build``)."""
    record = graph.records[uid]
    if record.resource_type == "source":
        return f"dbt-assets sla check --sources -s source:{record.search_name}"
    command = _COMMANDS.get(record.resource_type, "build")
    return f"dbt-assets {command} -s {record.search_name}"


def _summary(assets: list[dict[str, Any]], results: list[SlaResult]) -> dict[str, Any]:
    sla: dict[str, int] = {}
    for result in results:
        sla[result.status] = sla.get(result.status, 0) + 1
    status: dict[str, int] = {}
    for asset in assets:
        status[asset["status"]] = status.get(asset["status"], 0) + 1
    order = {"breached": 0, "at_risk": 1, "warn": 2}
    attention = sorted(
        (i for i, a in enumerate(assets) if a["sla"] in order),
        key=lambda i: (order[assets[i]["sla"]], assets[i]["name"]),
    )
    failed = [i for i, a in enumerate(assets) if a["status"] in FAILURE_STATUSES]
    return {"sla": sla, "status": status, "attention": attention, "failed": failed}


def _critical_paths(
    graph: AssetGraph, facts: Mapping[str, AssetFacts], results: list[SlaResult], index: Mapping[str, int]
) -> list[dict[str, Any]]:
    """Per deadline: the upstream chain that decides it. While it is not met yet, the judge's
    own (the work left, run now); once met or missed, a run from scratch, so the chain that
    decides the next one shows all the same."""
    deadlines = [r for r in results if r.sla == "deadline"]
    scratch = full_chains(graph, facts, [r.unique_id for r in deadlines if "critical_path" not in r.details])
    found = []
    for result in deadlines:
        details = result.details
        if "critical_path" in details:
            estimate, path, basis = float(details["estimate"]), list(details["critical_path"]), "work left"
            finish = details.get("estimated_finish")
        else:
            (estimate, path), basis, finish = scratch[result.unique_id], "a run from scratch", None
        found.append(
            {
                "asset": index[result.unique_id],
                "status": result.status,
                "due": details.get("next_due"),
                "estimate": duration_text(estimate) or "0s",
                "finish": finish,
                "basis": basis,
                "path": [index[uid] for uid in path if uid in index],
                "message": result.message,
            }
        )
    return found


def _run(
    graph: AssetGraph, history: History, run_id: int | None, index: Mapping[str, int]
) -> dict[str, Any] | None:
    """One run's timeline: a bar per asset by dbt's thread (skips and never-started assets
    listed, with no bar), and the slowest assets."""
    from dbt_assets._core.errors import HistoryError

    try:
        record = history.run(run_id)
    except HistoryError:
        return None
    results = history.results(record.run_id)
    bars: list[dict[str, Any]] = []
    marks: list[dict[str, Any]] = []
    for r in results:
        node = index.get(r.unique_id)
        known = graph.records.get(r.unique_id) if node is None else None  # a node's name is its asset's
        entry = _compact(
            {
                "id": r.unique_id if node is None else None,
                "name": known.search_name if known is not None else None,
                "type": known.resource_type if known is not None else None,
                "node": node,
                "status": r.status,
                "thread": r.thread,
                "message": r.message,
            }
        )
        if r.started_at is not None and r.finished_at is not None and r.status != "skipped":
            bars.append(
                entry | {"start": r.started_at, "end": r.finished_at, "took": r.finished_at - r.started_at}
            )
        else:
            marks.append(entry)
    slowest = sorted(range(len(bars)), key=lambda i: -float(bars[i]["took"]))[:SLOWEST]
    return {
        "run": {k: v for k, v in plain(record).items() if k != "unique_ids"}  # the bars say which
        | {"started": iso(record.started_at), "finished": iso(record.finished_at)},
        "bars": bars,
        "marks": marks,
        "slowest": [{"bar": i, "took": duration_text(bars[i]["took"])} for i in slowest],
        "ok": sum(1 for r in results if r.status in SUCCESS_STATUSES),
    }
