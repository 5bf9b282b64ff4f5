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
    from dbt_assets.api import describe_asset, lineage, list_assets, load_graph, plan_selection
    from dbt_assets.asset import Asset, AssetDetail, Column, SourceFreshness
    from dbt_assets.compile import Plan
    from dbt_assets.errors import (
        AssetNotFoundError,
        DbtAssetsError,
        DbtCommandError,
        DbtNotFoundError,
        ManifestError,
        ManifestVersionError,
        ProfilesNotFoundError,
        ProjectNotFoundError,
        SelectionError,
    )
    from dbt_assets.graph import AssetGraph
    from dbt_assets.manifest import SUPPORTED_SCHEMA_VERSIONS, read_manifest
    from dbt_assets.project import Project

_EXPORTS = {
    "api": ("describe_asset", "lineage", "list_assets", "load_graph", "plan_selection"),
    "compile": ("Plan",),
    "asset": ("Asset", "AssetDetail", "Column", "SourceFreshness"),
    "errors": (
        "AssetNotFoundError",
        "DbtAssetsError",
        "DbtCommandError",
        "DbtNotFoundError",
        "ManifestError",
        "ManifestVersionError",
        "ProfilesNotFoundError",
        "ProjectNotFoundError",
        "SelectionError",
    ),
    "graph": ("AssetGraph",),
    "manifest": ("SUPPORTED_SCHEMA_VERSIONS", "read_manifest"),
    "project": ("Project",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "SUPPORTED_SCHEMA_VERSIONS",
    "Asset",
    "AssetDetail",
    "AssetGraph",
    "AssetNotFoundError",
    "Column",
    "DbtAssetsError",
    "DbtCommandError",
    "DbtNotFoundError",
    "ManifestError",
    "ManifestVersionError",
    "Plan",
    "ProfilesNotFoundError",
    "Project",
    "ProjectNotFoundError",
    "SelectionError",
    "SourceFreshness",
    "describe_asset",
    "lineage",
    "list_assets",
    "load_graph",
    "plan_selection",
    "read_manifest",
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
