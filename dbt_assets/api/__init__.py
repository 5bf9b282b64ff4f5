"""The front door: everything the CLI and the orchestrator adapters do is one of these calls
first.

>>> from dbt_assets import load_graph, list_assets, describe_asset
>>> graph = load_graph(project_dir="fixtures/dbt_project")          # doctest: +SKIP
>>> list_assets(graph, ["orders"], resource_types=["model"])        # doctest: +SKIP
['model.shop.orders']
>>> describe_asset(graph, "orders").children                        # doctest: +SKIP
['model.shop.customers', ...]

Importing it registers the selection methods that read the run history (``status:``,
``sla:``, from :mod:`dbt_assets.sla.methods`).
"""

from __future__ import annotations

from dbt_assets.api.automation import (
    automate_once,
    automation_tick,
    explain_automation,
    run_automation,
    simulate_automation,
    tick_options,
)
from dbt_assets.api.diff import (
    build_change,
    change_review,
    compare_change,
    review_markdown,
    review_report,
    review_text,
)
from dbt_assets.api.graphs import (
    asset_sla,
    describe_asset,
    lineage,
    list_assets,
    load_graph,
    plan_selection,
    shard_selection,
)
from dbt_assets.api.interop import emit_openlineage, export, openlineage_events, report
from dbt_assets.api.runs import (
    asset_statuses,
    check_source_freshness,
    missing_upstream,
    next_steps,
    not_succeeded_since,
    open_history,
    open_worker,
    retry_run,
    running_worker,
    start_run,
)
from dbt_assets.api.slas import check_slas, deadline_offsets, explain_sla, run_slas
from dbt_assets.sla import methods as _history_methods  # registers status: and sla:

__all__ = [
    "asset_sla",
    "asset_statuses",
    "automate_once",
    "automation_tick",
    "build_change",
    "change_review",
    "check_slas",
    "check_source_freshness",
    "compare_change",
    "deadline_offsets",
    "describe_asset",
    "emit_openlineage",
    "explain_automation",
    "explain_sla",
    "export",
    "lineage",
    "list_assets",
    "load_graph",
    "missing_upstream",
    "next_steps",
    "not_succeeded_since",
    "open_history",
    "open_worker",
    "openlineage_events",
    "plan_selection",
    "report",
    "retry_run",
    "review_markdown",
    "review_report",
    "review_text",
    "run_automation",
    "run_slas",
    "running_worker",
    "shard_selection",
    "simulate_automation",
    "start_run",
    "tick_options",
]
del _history_methods
