"""The HTML report of a change: the report's page (lineage, SLAs, critical paths, the last run)
of the changed assets, their direct parents and everything downstream, with the changed
subgraph highlighted and a "changes" panel per asset (``data.changes``, read by the page's
script; every text in it reaches the page through ``textContent`` only, as the rest does).

    >>> data = review_page_data(graph, history, review)           # doctest: +SKIP
    >>> data["changes"]["assets"]["3"]["kinds"]                    # doctest: +SKIP
    ['body']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dbt_assets._core.durations import duration_text
from dbt_assets._core.serial import plain
from dbt_assets.diff.model import ChangeReview
from dbt_assets.diff.render import change_words, cost_words, data_words, deadline_words
from dbt_assets.interop.report import report_data
from dbt_assets.manifest.graph import AssetGraph

if TYPE_CHECKING:
    from dbt_assets.history.store import History


def shown_assets(graph: AssetGraph, review: ChangeReview) -> list[str]:
    """What the page draws: the changed assets, their direct parents, everything downstream,
    and the tests of all of them (folded into the assets they check)."""
    changed = [c.unique_id for c in review.changed if c.unique_id in graph.records]
    chosen = set(changed) | set(review.downstream)
    chosen |= {p for uid in changed for p in graph.parents(uid) if p in graph.records}
    chosen |= {check for uid in list(chosen) for check in graph.checks(uid)}
    return sorted(chosen)


def review_page_data(
    graph: AssetGraph, history: History | None, review: ChangeReview, *, at: float | None = None
) -> dict[str, Any]:
    """The report's data (:func:`dbt_assets.interop.report.report_data`) with the change added."""
    name = graph.manifest.project_name
    title = f"{name}: dbt-assets diff" if name else "dbt-assets diff"
    data = report_data(graph, history, unique_ids=shown_assets(graph, review), at=at, title=title)
    index = {asset["id"]: i for i, asset in enumerate(data["assets"])}
    data_by_id = {d.unique_id: d for d in review.data or []}
    risks = {d.unique_id: d for d in review.deadlines}
    changed: dict[str, Any] = {}
    removed: list[dict[str, Any]] = []
    for change in review.changed:
        entry: dict[str, Any] = {
            "id": change.unique_id,
            "name": change.name,
            "type": change.resource_type,
            "kinds": change.kinds,
            "details": change_words(change),
            "columns": [plain(c) for c in change.columns],
            "breaking": change.breaking,
        }
        diff = data_by_id.get(change.unique_id)
        if diff is not None:
            entry["data"] = {"status": diff.status, "summary": data_words(diff)}
        if change.unique_id in index:
            changed[str(index[change.unique_id])] = entry
        else:
            removed.append(entry)
    downstream = {}
    for uid in review.downstream:
        if uid in index:
            risk = risks.get(uid)
            downstream[str(index[uid])] = (
                {"deadline": f"{risk.status}: {deadline_words(review, risk)}"} if risk else {}
            )
    for uid, risk in risks.items():
        if str(index.get(uid)) in changed:
            changed[str(index[uid])]["deadline"] = f"{risk.status}: {deadline_words(review, risk)}"
    data["changes"] = {
        "state": review.state,
        "headline": _headline(review),
        "cost": cost_words(review),
        "assets": changed,
        "downstream": downstream,
        "removed": removed,
        "owners": [{"owner": o.owner, "assets": len(o.changed) + len(o.downstream)} for o in review.owners],
    }
    return data


def _headline(review: ChangeReview) -> str:
    removed = sum(1 for c in review.changed if "removed" in c.kinds)
    words = [
        f"{len(review.changed) - removed} changed",
        f"{removed} removed",
        f"{len(review.breaking)} breaking",
        f"{len(review.downstream)} downstream",
        f"{len(review.at_risk)} deadline(s) put at risk",
    ]
    if review.cost.assets:
        words.append(f"{duration_text(review.cost.work) or '0s'} of predicted work")
    return " · ".join(words)
