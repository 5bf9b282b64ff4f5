"""dbt-assets: a dbt project as a graph of data assets.

The public surface; everything else is internal. Names are imported on first use, so that
``import dbt_assets`` (and ``dbt-assets --help``) does not pay for networkx and pydantic.

    >>> import dbt_assets
    >>> graph = dbt_assets.load_graph(project_dir="fixtures/dbt_project")   # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dbt_assets.alerts import AlertError, Delivery, deliver, notify_command, post_webhook
    from dbt_assets.api import (
        asset_sla,
        asset_statuses,
        check_slas,
        check_source_freshness,
        describe_asset,
        emit_openlineage,
        explain_sla,
        export,
        lineage,
        list_assets,
        load_graph,
        open_history,
        openlineage_events,
        plan_selection,
        retry_run,
        run_slas,
        shard_selection,
        start_run,
    )
    from dbt_assets.asset import Asset, AssetDetail, Column, SourceFreshness
    from dbt_assets.compile import Plan
    from dbt_assets.errors import (
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
        SelectionError,
    )
    from dbt_assets.events import (
        AssetFinished,
        AssetStarted,
        DbtLog,
        DbtStarted,
        Event,
        RunFinished,
        RunStarted,
    )
    from dbt_assets.export import Export, ExportedAsset
    from dbt_assets.facts import AssetFacts
    from dbt_assets.graph import AssetGraph
    from dbt_assets.history import AssetResult, AssetStatus, History, RunRecord
    from dbt_assets.manifest import SUPPORTED_SCHEMA_VERSIONS, read_manifest
    from dbt_assets.project import Project
    from dbt_assets.runner import Run, RunOptions, RunResult
    from dbt_assets.schedule import Deadline, ScheduleError
    from dbt_assets.shard import Shard, ShardedPlan
    from dbt_assets.sla import SlaResult, judge
    from dbt_assets.sla_config import Sla, SlaConfigError, SourceSla
    from dbt_assets.sla_explain import Cause, Explanation

_EXPORTS = {
    "alerts": ("AlertError", "Delivery", "deliver", "notify_command", "post_webhook"),
    "api": (
        "asset_sla",
        "asset_statuses",
        "check_slas",
        "check_source_freshness",
        "emit_openlineage",
        "explain_sla",
        "export",
        "openlineage_events",
        "run_slas",
        "shard_selection",
        "describe_asset",
        "lineage",
        "list_assets",
        "load_graph",
        "open_history",
        "plan_selection",
        "retry_run",
        "start_run",
    ),
    "compile": ("Plan",),
    "asset": (
        "Asset",
        "AssetDetail",
        "Column",
        "SourceFreshness",
    ),
    "errors": (
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
        "SelectionError",
    ),
    "events": (
        "AssetFinished",
        "AssetStarted",
        "DbtLog",
        "DbtStarted",
        "Event",
        "RunFinished",
        "RunStarted",
    ),
    "graph": ("AssetGraph",),
    "history": (
        "AssetResult",
        "AssetStatus",
        "History",
        "RunRecord",
    ),
    "manifest": (
        "SUPPORTED_SCHEMA_VERSIONS",
        "read_manifest",
    ),
    "project": ("Project",),
    "runner": (
        "Run",
        "RunOptions",
        "RunResult",
    ),
    "export": ("Export", "ExportedAsset"),
    "facts": ("AssetFacts",),
    "shard": ("Shard", "ShardedPlan"),
    "schedule": ("Deadline", "ScheduleError"),
    "sla": ("SlaResult", "judge"),
    "sla_config": ("Sla", "SlaConfigError", "SourceSla"),
    "sla_explain": ("Cause", "Explanation"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "SUPPORTED_SCHEMA_VERSIONS",
    "AlertError",
    "Asset",
    "AssetDetail",
    "AssetFacts",
    "AssetFinished",
    "AssetGraph",
    "AssetNotFoundError",
    "AssetResult",
    "AssetStarted",
    "AssetStatus",
    "Cause",
    "Column",
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
    "SelectionError",
    "Shard",
    "ShardedPlan",
    "Sla",
    "SlaConfigError",
    "SlaResult",
    "SourceFreshness",
    "SourceSla",
    "asset_sla",
    "asset_statuses",
    "check_slas",
    "check_source_freshness",
    "deliver",
    "describe_asset",
    "emit_openlineage",
    "explain_sla",
    "export",
    "judge",
    "lineage",
    "list_assets",
    "load_graph",
    "notify_command",
    "open_history",
    "openlineage_events",
    "plan_selection",
    "post_webhook",
    "read_manifest",
    "retry_run",
    "run_slas",
    "shard_selection",
    "start_run",
]
assert sorted(__all__) == sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'dbt_assets' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"dbt_assets.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
