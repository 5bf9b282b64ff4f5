"""The project's YAML selectors (``selectors.yml``), where dbt itself reads them.

dbt reads ``selectors.yml`` from the project on every invocation; the copy in the manifest
can be stale (partial parsing does not refresh it when only selectors.yml changed). So the
project's file wins when the project directory is known, and the manifest's copy is used
with ``--manifest`` alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dbt_assets._core.errors import SelectionError
from dbt_assets._core.settled import read_yaml
from dbt_assets.manifest.graph import AssetGraph


def project_selectors(graph: AssetGraph) -> dict[str, dict[str, Any]]:
    """``{name: {"definition": ..., "default": bool, ...}}`` for the graph's project."""
    if graph.project_dir is not None:
        return selectors_file(Path(graph.project_dir))
    return {  # dbt wrote them; an entry of another shape is not a selector (ignored)
        str(name): body for name, body in graph.manifest.selectors.items() if isinstance(body, dict)
    }


def selectors_file(project_dir: Path | None) -> dict[str, dict[str, Any]]:
    """The selectors of the project's ``selectors.yml`` by name (none without one): the one
    reader of that file, for selecting and for writing a generated selector beside them."""
    if project_dir is None or not (project_dir / "selectors.yml").is_file():
        return {}
    return _read_file(project_dir / "selectors.yml")


def _read_file(path: Path) -> dict[str, dict[str, Any]]:
    data = read_yaml(path, SelectionError) or {}
    entries = data.get("selectors") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise SelectionError(f"{path}: expected a top-level 'selectors:' list")
    found: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or "name" not in entry or "definition" not in entry:
            raise SelectionError(f"{path}: every selector needs a 'name' and a 'definition', got {entry!r}")
        found[str(entry["name"])] = entry
    return found


def default_selector(selectors: dict[str, dict[str, Any]]) -> str | None:
    """The selector marked ``default: true``, if any (dbt allows one)."""
    defaults = [name for name, body in selectors.items() if body.get("default") in (True, "true", "True")]
    if len(defaults) > 1:
        raise SelectionError(f"several selectors are marked default: {', '.join(defaults)}", "keep one")
    return defaults[0] if defaults else None
