"""What other tools read: the export, and OpenLineage events built and sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dbt_assets.api.graphs import chosen_assets
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.selection.request import Selected

if TYPE_CHECKING:  # pydantic is imported only by the calls that return models
    from dbt_assets.history.store import History
    from dbt_assets.interop.export import Export
    from dbt_assets.sla.alerts import Delivery


def export(
    graph: AssetGraph,
    history: History | None = None,
    selection: Selected = (),
) -> Export:
    """Every selected asset (default: all) with its lineage, effective SLA and, from the run
    history, its last result: ``dbt-assets export --format json``.

    >>> export(graph, history).model_dump_json()      # doctest: +SKIP
    """
    from dbt_assets.interop.export import export_assets

    return export_assets(graph, history, chosen_assets(graph, selection, history))


def openlineage_events(
    graph: AssetGraph, history: History, run_id: int | None = None, *, namespace: str = "dbt-assets"
) -> list[dict[str, Any]]:
    """The OpenLineage run events (spec 2-0-2) of a recorded run (default: the newest): a
    parent run for the dbt invocation, a START and an end event per asset (see
    :mod:`dbt_assets.interop.openlineage`).

    >>> emit_openlineage(openlineage_events(graph, history), "lineage.jsonl")   # doctest: +SKIP
    """
    from dbt_assets.interop.openlineage import run_events

    record = history.run(run_id)
    return run_events(
        graph, record, history.results(record.run_id), namespace=namespace, project_dir=record.project_dir
    )


def emit_openlineage(events: Sequence[dict[str, Any]], target: str) -> list[Delivery]:
    """Send OpenLineage events to an http(s) URL (one POST each, retried like a webhook) or
    append them to a file as JSON lines; how each delivery went."""
    from dbt_assets.interop.openlineage import emit

    return emit(events, target)
