"""dbt-assets: a dbt project as a graph of data assets.

The public surface; everything else is internal. Names are imported on first use, so that
``import dbt_assets`` (and ``dbt-assets --help``) does not pay for networkx and pydantic.
No name here is also a submodule's (``dbt_assets.export`` is always the function).

    >>> import dbt_assets
    >>> graph = dbt_assets.load_graph(project_dir="fixtures/dbt_project")   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbt_assets._core.errors import (
        AlertError,
        AssetNotFoundError,
        DbtAssetsError,
        DbtCommandError,
        DbtNotFoundError,
        HistoryError,
        ManifestError,
        ManifestVersionError,
        ProfilesNotFoundError,
        ProjectNotFoundError,
        RunError,
        ScheduleError,
        SelectionError,
        SlaConfigError,
    )
    from dbt_assets.api import (
        asset_sla,
        asset_statuses,
        automate_once,
        automation_tick,
        build_change,
        change_review,
        check_slas,
        check_source_freshness,
        compare_change,
        deadline_offsets,
        describe_asset,
        emit_openlineage,
        explain_automation,
        explain_sla,
        export,
        lineage,
        list_assets,
        load_graph,
        missing_upstream,
        next_steps,
        not_succeeded_since,
        open_history,
        open_worker,
        openlineage_events,
        plan_selection,
        report,
        retry_run,
        review_markdown,
        review_report,
        review_text,
        run_automation,
        run_slas,
        running_worker,
        shard_selection,
        simulate_automation,
        start_run,
        tick_options,
    )
    from dbt_assets.automate.loop import LoopOptions
    from dbt_assets.automate.tick import Tick, TickOptions
    from dbt_assets.diff.model import AssetChange, ChangeReview, DataDiff
    from dbt_assets.history.facts import AssetFacts
    from dbt_assets.history.schema import AssetResult, AssetStatus, RunRecord
    from dbt_assets.history.store import History
    from dbt_assets.interop.export import Export, ExportedAsset
    from dbt_assets.manifest.asset import Asset, AssetDetail, Column, SourceFreshness, group_of, owners_of
    from dbt_assets.manifest.decode import SUPPORTED_SCHEMA_VERSIONS, read_manifest
    from dbt_assets.manifest.graph import AssetGraph, is_materialized, materialized_parents
    from dbt_assets.plan.compile import Plan
    from dbt_assets.plan.shard import Shard, ShardedPlan
    from dbt_assets.run.events import (
        AssetFinished,
        AssetStarted,
        DbtLog,
        DbtStarted,
        Event,
        RunFinished,
        RunStarted,
    )
    from dbt_assets.run.invocation import RunOptions, RunResult
    from dbt_assets.run.project import Project
    from dbt_assets.run.runner import Run
    from dbt_assets.run.worker import Worker
    from dbt_assets.selection.request import Selection
    from dbt_assets.sla.alerts import Delivery, deliver, notify_command, post_webhook
    from dbt_assets.sla.config import Sla, SourceSla
    from dbt_assets.sla.explain import Cause, Explanation
    from dbt_assets.sla.judge import SlaResult, declared_slas, judge
    from dbt_assets.sla.schedule import Deadline

_EXPORTS = {
    "dbt_assets.api": (
        "asset_sla",
        "asset_statuses",
        "automate_once",
        "automation_tick",
        "explain_automation",
        "run_automation",
        "simulate_automation",
        "tick_options",
        "build_change",
        "change_review",
        "check_slas",
        "check_source_freshness",
        "compare_change",
        "deadline_offsets",
        "describe_asset",
        "emit_openlineage",
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
        "run_slas",
        "running_worker",
        "shard_selection",
        "start_run",
    ),
    "dbt_assets.diff.model": ("AssetChange", "ChangeReview", "DataDiff"),
    "dbt_assets._core.errors": (
        "AlertError",
        "AssetNotFoundError",
        "DbtAssetsError",
        "DbtCommandError",
        "DbtNotFoundError",
        "HistoryError",
        "ManifestError",
        "ManifestVersionError",
        "ProfilesNotFoundError",
        "ProjectNotFoundError",
        "RunError",
        "ScheduleError",
        "SelectionError",
        "SlaConfigError",
    ),
    "dbt_assets.manifest.decode": (
        "SUPPORTED_SCHEMA_VERSIONS",
        "read_manifest",
    ),
    "dbt_assets.manifest.graph": (
        "AssetGraph",
        "is_materialized",
        "materialized_parents",
    ),
    "dbt_assets.manifest.asset": (
        "Asset",
        "AssetDetail",
        "Column",
        "SourceFreshness",
        "group_of",
        "owners_of",
    ),
    "dbt_assets.plan.compile": ("Plan",),
    "dbt_assets.selection.request": ("Selection",),
    "dbt_assets.plan.shard": (
        "Shard",
        "ShardedPlan",
    ),
    "dbt_assets.run.project": ("Project",),
    "dbt_assets.run.events": (
        "AssetFinished",
        "AssetStarted",
        "DbtLog",
        "DbtStarted",
        "Event",
        "RunFinished",
        "RunStarted",
    ),
    "dbt_assets.run.runner": ("Run",),
    "dbt_assets.run.worker": ("Worker",),
    "dbt_assets.run.invocation": (
        "RunOptions",
        "RunResult",
    ),
    "dbt_assets.automate.loop": ("LoopOptions",),
    "dbt_assets.automate.tick": ("Tick", "TickOptions"),
    "dbt_assets.history.facts": ("AssetFacts",),
    "dbt_assets.history.schema": (
        "AssetResult",
        "AssetStatus",
        "RunRecord",
    ),
    "dbt_assets.history.store": ("History",),
    "dbt_assets.sla.alerts": (
        "Delivery",
        "deliver",
        "notify_command",
        "post_webhook",
    ),
    "dbt_assets.sla.config": (
        "Sla",
        "SourceSla",
    ),
    "dbt_assets.sla.explain": (
        "Cause",
        "Explanation",
    ),
    "dbt_assets.sla.judge": (
        "SlaResult",
        "declared_slas",
        "judge",
    ),
    "dbt_assets.sla.schedule": ("Deadline",),
    "dbt_assets.interop.export": (
        "Export",
        "ExportedAsset",
    ),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "SUPPORTED_SCHEMA_VERSIONS",
    "AlertError",
    "Asset",
    "AssetChange",
    "AssetDetail",
    "AssetFacts",
    "AssetFinished",
    "AssetGraph",
    "AssetNotFoundError",
    "AssetResult",
    "AssetStarted",
    "AssetStatus",
    "Cause",
    "ChangeReview",
    "Column",
    "DataDiff",
    "DbtAssetsError",
    "DbtCommandError",
    "DbtLog",
    "DbtNotFoundError",
    "DbtStarted",
    "Deadline",
    "Delivery",
    "Event",
    "Explanation",
    "Export",
    "ExportedAsset",
    "History",
    "HistoryError",
    "LoopOptions",
    "ManifestError",
    "ManifestVersionError",
    "Plan",
    "ProfilesNotFoundError",
    "Project",
    "ProjectNotFoundError",
    "Run",
    "RunError",
    "RunFinished",
    "RunOptions",
    "RunRecord",
    "RunResult",
    "RunStarted",
    "ScheduleError",
    "Selection",
    "SelectionError",
    "Shard",
    "ShardedPlan",
    "Sla",
    "SlaConfigError",
    "SlaResult",
    "SourceFreshness",
    "SourceSla",
    "Tick",
    "TickOptions",
    "Worker",
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
    "declared_slas",
    "deliver",
    "describe_asset",
    "emit_openlineage",
    "explain_automation",
    "explain_sla",
    "export",
    "group_of",
    "is_materialized",
    "judge",
    "lineage",
    "list_assets",
    "load_graph",
    "materialized_parents",
    "missing_upstream",
    "next_steps",
    "not_succeeded_since",
    "notify_command",
    "open_history",
    "open_worker",
    "openlineage_events",
    "owners_of",
    "plan_selection",
    "post_webhook",
    "read_manifest",
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


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'dbt_assets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
