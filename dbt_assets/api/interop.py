"""What other tools read: the export, and OpenLineage events built and sent."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from dbt_assets.api.graphs import chosen_assets
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.selection.request import Selected

if TYPE_CHECKING:  # pydantic is imported only by the calls that return models
    from pathlib import Path

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


def report(
    graph: AssetGraph,
    history: History | None,
    out: str | Path,
    selection: Selected = (),
    *,
    unique_ids: Iterable[str] | None = None,
    run_id: int | None = None,
    at: float | None = None,
) -> Path:
    """Write the HTML report of the selected assets (default: all) to ``out``: one file that
    opens anywhere, with the lineage coloured by last status and SLA state, each asset's
    detail and causes, the critical path of each deadline, and the timeline of run ``run_id``
    (default: the newest); as of ``at`` (default now). ``unique_ids`` names the assets
    instead of ``selection`` (a run's own). Returns the path written.

    >>> report(graph, history, "report.html", ["+orders"])      # doctest: +SKIP
    """
    from dbt_assets.api.automation import automation_outlook
    from dbt_assets.interop.report import report_data
    from dbt_assets.interop.report_page import write_page

    chosen = list(unique_ids) if unique_ids is not None else chosen_assets(graph, selection, history, at)
    outlook = automation_outlook(graph, history, at) if history is not None else {}
    return write_page(
        out, report_data(graph, history, unique_ids=chosen, run_id=run_id, at=at, automation=outlook)
    )
