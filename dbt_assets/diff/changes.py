"""Each changed asset with its kinds of change, in dbt's terms, and what exactly changed.

Which assets changed, and how, is selection's state comparison
(:func:`dbt_assets.selection.changes.node_changes`: the same one ``state:modified`` selects
with). This module only looks closer at what that comparison found: the configuration keys
that changed, the relation parts, the declared columns, the lines of code, the macros, the
descriptions dbt persists, and dbt's own words for a breaking contract change.

    >>> [c.kinds for c in asset_changes(graph, comparison, changes)]     # doctest: +SKIP
    [['body'], ['configs'], ['new']]
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

from dbt_assets._core.vocab import ASSET_RESOURCE_TYPE_ORDER
from dbt_assets.diff.model import AssetChange, ColumnChange, ValueChange
from dbt_assets.manifest.asset import owners_of
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.selection.changes import (
    NodeChanges,
    breaking_contract_changes,
    changed_macros,
    entry_values,
)
from dbt_assets.selection.modified import StateComparison

_RELATION_KEYS = ("database", "schema", "alias")
_SOURCE_RELATION_KEYS = ("database", "schema", "identifier")
_TYPE_RANK = {kind: i for i, kind in enumerate(ASSET_RESOURCE_TYPE_ORDER)}


def order_key(resource_type: str, name: str, unique_id: str) -> tuple[int, str, str]:
    """The order every list of a review is in: resource type, then name, then unique_id."""
    return (_TYPE_RANK.get(resource_type, len(_TYPE_RANK)), name, unique_id)


def search_name(entry: Mapping[str, Any]) -> str:
    """The name ``dbt ls -o name`` prints for a manifest entry (``name.v2``, ``src.table``)."""
    name = str(entry.get("name", ""))
    if entry.get("resource_type") == "source":
        return f"{entry.get('source_name')}.{name}"
    if entry.get("resource_type") == "model" and entry.get("version") is not None:
        return f"{name}.v{entry['version']}"
    return name


def asset_changes(
    graph: AssetGraph, comparison: StateComparison, changes: NodeChanges, wanted: Iterable[str] | None = None
) -> list[AssetChange]:
    """Every changed and removed asset (of ``wanted`` only, when given), in the review's order."""
    keep = None if wanted is None else set(wanted)
    found: list[AssetChange] = []
    for uid in sorted(changes.changed):
        if keep is None or uid in keep:
            found.append(_changed(graph, comparison, changes, uid))
    for uid in sorted(changes.removed):
        found.append(_removed(comparison, changes, uid))
    return sorted(found, key=lambda c: order_key(c.resource_type, c.name, c.unique_id))


def _changed(graph: AssetGraph, comparison: StateComparison, changes: NodeChanges, uid: str) -> AssetChange:
    record = graph.records[uid]
    new = entry_values(comparison, uid)
    old = entry_values(comparison, uid, previous=True)
    base: dict[str, Any] = {
        "unique_id": uid,
        "name": record.search_name,
        "resource_type": record.resource_type,
        "package_name": record.package_name,
        "materialized": record.config.get("materialized") if "materialized" in record.config else None,
        "owners": owners_of(record, graph.manifest.groups),
        "version": None if record.version is None else str(record.version),
    }
    if uid in changes.new:
        return AssetChange(**base, kinds=["new"], columns=_columns({}, new.get("columns")))
    kinds = list(changes.modified.get(uid, ())) or ["modified"]
    details: dict[str, Any] = {"columns": _columns(old.get("columns"), new.get("columns"))}
    if "configs" in kinds:
        details["configs"] = _config_changes(old, new)
    if "relation" in kinds:
        keys = _SOURCE_RELATION_KEYS if record.resource_type == "source" else _RELATION_KEYS
        details["relation"] = _relation_changes(old, new, keys)
    if "body" in kinds:
        details["body"] = _body_lines(old, new)
    if "macros" in kinds:
        details["macros"] = changed_macros(comparison, uid)
    if "persisted_descriptions" in kinds:
        details["descriptions"] = _description_changes(old, new)
    if uid in changes.refused:  # dbt's comparison stops at it: its breaking changes, in its words
        details["refused"] = REFUSED
        details["breaking"] = breaking_contract_changes(comparison, uid) or [
            _first_line(changes.refused[uid])
        ]
    elif "contract" in kinds:
        details["breaking"] = breaking_contract_changes(comparison, uid)
    return AssetChange(**base, kinds=kinds, **details)


REFUSED = (
    "dbt refuses this comparison (`dbt ls -s state:modified` stops): a breaking change to a versioned model"
)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _removed(comparison: StateComparison, changes: NodeChanges, uid: str) -> AssetChange:
    old = entry_values(comparison, uid, previous=True)
    config = old.get("config") or {}
    version = old.get("version")
    refused = changes.refused.get(uid)
    return AssetChange(
        unique_id=uid,
        name=search_name(old),
        resource_type=changes.removed[uid],
        package_name=str(old.get("package_name", "")),
        kinds=["removed"],
        materialized=config.get("materialized") if isinstance(config, dict) else None,
        version=None if version is None else str(version),
        columns=_columns(old.get("columns"), {}),
        breaking=[refused] if refused else _removed_contract(old),
        refused=refused,
    )


def _removed_contract(old: Mapping[str, Any]) -> list[str]:
    """dbt's words for a deleted or disabled unversioned model with an enforced contract (dbt
    warns of it; for a versioned one it refuses the comparison, kept in ``refused``)."""
    if old.get("resource_type") != "model" or not (old.get("contract") or {}).get("enforced"):
        return []
    return [f"Contracted model '{old.get('unique_id')}' was deleted or renamed."]


def _columns(old: Any, new: Any) -> list[ColumnChange]:
    """Declared columns added, removed or given another data type."""
    before = old if isinstance(old, dict) else {}
    after = new if isinstance(new, dict) else {}
    found: list[ColumnChange] = []
    for name in sorted(set(before) | set(after)):
        was, now = _data_type(before.get(name)), _data_type(after.get(name))
        if name not in before:
            found.append(ColumnChange(name, "added", None, now))
        elif name not in after:
            found.append(ColumnChange(name, "removed", was, None))
        elif was != now:
            found.append(ColumnChange(name, "type_changed", was, now))
    return found


def _data_type(column: Any) -> str | None:
    value = column.get("data_type") if isinstance(column, dict) else None
    return None if value is None else str(value)


def _config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ValueChange]:
    """The keys whose configured value differs: dbt compares the configuration as written
    (``unrendered_config``); where that shows no difference, the rendered ``config``."""
    for field in ("unrendered_config", "config"):
        found = _differing(old.get(field), new.get(field))
        if found:
            return found
    return []


def _relation_changes(
    old: Mapping[str, Any], new: Mapping[str, Any], keys: tuple[str, ...]
) -> list[ValueChange]:
    found = _differing(old.get("unrendered_config"), new.get("unrendered_config"), keys)
    if not found:  # a source compares its rendered database, schema and identifier
        found = _differing(old, new, keys)
    return found


def _differing(old: Any, new: Any, keys: Iterable[str] | None = None) -> list[ValueChange]:
    before = old if isinstance(old, dict) else {}
    after = new if isinstance(new, dict) else {}
    names = sorted(set(before) | set(after)) if keys is None else list(keys)
    return [ValueChange(k, before.get(k), after.get(k)) for k in names if before.get(k) != after.get(k)]


def _body_lines(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, int]:
    """Lines added and removed in the code (for a seed: its file changed, no line count)."""
    before, after = old.get("raw_code"), new.get("raw_code")
    if not isinstance(before, str) or not isinstance(after, str):
        return {}
    added = removed = 0
    for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0):
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return {"added": added, "removed": removed}


def _description_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    found = ["description"] if old.get("description") != new.get("description") else []
    before, after = old.get("columns") or {}, new.get("columns") or {}
    for name in sorted(set(before) | set(after)):
        was, now = (before.get(name) or {}).get("description"), (after.get(name) or {}).get("description")
        if was != now:
            found.append(f"column {name}")
    return found
