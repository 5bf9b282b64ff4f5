"""A change review from two manifests: the project as it is now against production's
artifacts (``--state DIR``), with production's run history for costs and deadlines.

    >>> review = review_change(graph, previous_state(graph, "prod-artifacts"), facts=history.facts())
    ...                                                                     # doctest: +SKIP
    >>> [c.name for c in review.changed], review.cost.work                  # doctest: +SKIP
    (['stg_orders', 'customers'], 12.4)
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec

from dbt_assets.diff.changes import asset_changes, order_key
from dbt_assets.diff.impact import (
    build_cost,
    by_owner,
    deadlines_at_risk,
    exposures_reached,
    reach,
    slas_affected,
)
from dbt_assets.diff.model import AssetChange, ChangeReview
from dbt_assets.history.facts import AssetFacts, ResultRow, facts_from_rows
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.selection import select
from dbt_assets.selection.changes import node_changes
from dbt_assets.selection.request import Selection
from dbt_assets.selection.state import PreviousState
from dbt_assets.sla.judge import iso


def review_change(
    graph: AssetGraph,
    state: PreviousState,
    *,
    selection: Selection | None = None,
    facts: Mapping[str, AssetFacts] | None = None,
    at: float,
) -> ChangeReview:
    """What changed between ``state``'s manifest and the graph's, what it reaches, what building
    it costs and which deadlines it puts at risk, as of ``at``. ``selection`` narrows the changed
    assets to those it selects (default: every change). ``facts`` is production's run history;
    assets it has no time for take their time from ``state``'s ``run_results.json``."""
    comparison = state.compare(Path(graph.manifest.path))
    changes = node_changes(comparison, graph.records)
    wanted = None
    if selection is not None and not selection.empty:
        wanted = set(select(graph, _exactly(selection.replace(state=str(state.path))), history=None))
    changed = asset_changes(graph, comparison, changes, wanted)
    found = reach(graph, [c.unique_id for c in changed if "removed" not in c.kinds])
    merged, basis = production_facts(facts or {}, state)
    metadata = comparison.previous.metadata or {}
    names = {uid: graph.records[uid].search_name for uid in found.impacted + found.checks}
    names |= {c.unique_id: c.name for c in changed}
    cost = build_cost(graph, found, merged, basis)
    deadlines = deadlines_at_risk(graph, found, merged, at)
    for uid in [*cost.path, *cost.unknown, *(u for d in deadlines for u in d.critical_path + d.unknown)]:
        if uid in graph.records:
            names.setdefault(uid, graph.records[uid].search_name)
    return ChangeReview(
        state=str(state.path),
        state_dbt_version=_text(metadata.get("dbt_version")),
        state_generated_at=_text(metadata.get("generated_at")),
        at=iso(at) or "",
        changed=changed,
        downstream=found.downstream,
        checks=len(found.checks),
        names=dict(sorted(names.items())),
        owners=by_owner(graph, found),
        exposures=exposures_reached(graph, found),
        slas=slas_affected(graph, found),
        cost=cost,
        deadlines=deadlines,
        selection=list(selection.replace(state=None).flags())
        if selection is not None and not selection.empty
        else [],
    )


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _exactly(selection: Selection) -> Selection:
    """Every resource type, no tests added indirectly, unless the selection says otherwise."""
    mode = selection.indirect_selection
    return selection.replace(
        resource_types=selection.resource_types or ("all",),
        indirect_selection="empty" if mode == "eager" else mode,
    )


def production_facts(
    facts: Mapping[str, AssetFacts], state: PreviousState
) -> tuple[dict[str, AssetFacts], str]:
    """Production's facts: the history's, and for an asset with no recorded success there,
    the result in ``state``'s ``run_results.json`` (when the file is there); and which of the
    two they came from (``history``, ``run_results.json``, both, or ``none``)."""
    merged = dict(facts)
    used_history = any(f.recent for f in facts.values())
    artifact = state.path / "run_results.json"
    used_results = False
    if artifact.is_file():
        from dbt_assets.run.artifacts import read_run_results

        imported = read_run_results(artifact)
        rows = sorted(
            (
                ResultRow(r[0], 0, r[1], r[2], r[3], r[4], None, r[7])
                for r in imported.rows
                if r[0] not in merged or not merged[r[0]].recent
            ),
            key=lambda row: (row.unique_id, row.at or 0.0),
        )
        for uid, found in facts_from_rows(rows).items():
            if found.recent:
                merged[uid] = found
                used_results = True
    basis = {
        (True, True): "history and run_results.json",
        (True, False): "history",
        (False, True): "run_results.json",
        (False, False): "none",
    }[(used_history, used_results)]
    return merged, basis


def with_data(review: ChangeReview, **changes: object) -> ChangeReview:
    """The review with the results of ``--build`` added (``build=``, ``data=``)."""
    return msgspec.structs.replace(review, **changes)


def changed_models(review: ChangeReview) -> list[AssetChange]:
    """The changed assets a data comparison looks at: models, seeds and snapshots still in
    the project, in the review's order."""
    wanted = [c for c in review.changed if c.resource_type in ("model", "seed", "snapshot")]
    return sorted(
        (c for c in wanted if "removed" not in c.kinds),
        key=lambda c: order_key(c.resource_type, c.name, c.unique_id),
    )
