"""The output shapes of ``dbt ls``: name, path, selector and json (with ``--output-keys``)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from dbt_assets._core.settled import read_settled
from dbt_assets._core.vocab import RECORD_SECTIONS
from dbt_assets.manifest.decode import NodeRecord
from dbt_assets.manifest.graph import AssetGraph

OUTPUT_FORMATS = ("selector", "name", "path", "json")
_COMMON_KEYS = ("name", "resource_type", "package_name", "original_file_path", "unique_id")
# The keys `dbt ls --output json` prints for each resource type, in dbt's order.
_TYPE_KEYS: dict[str, tuple[str, ...]] = {
    "source": ("source_name", "tags", "config"),
    "exposure": ("tags", "config", "depends_on"),
    "metric": ("tags", "config", "depends_on"),
    "saved_query": ("config", "depends_on", "tags"),
    "semantic_model": ("depends_on", "config"),
    "unit_test": ("depends_on", "config"),
}
_NODE_KEYS = ("alias", "config", "tags", "depends_on")
_RECORD_KEYS = frozenset(_COMMON_KEYS + _NODE_KEYS + ("source_name",))
_PACKAGED_SELECTOR_TYPES = {
    "exposure": "exposure",
    "metric": "metric",
    "saved_query": "saved_query",
    "semantic_model": "semantic_model",
}


def selector_of(record: NodeRecord) -> str:
    """The selector ``dbt ls --output selector`` prints for one asset."""
    kind = record.resource_type
    if kind == "source":
        return f"source:{record.package_name}.{record.source_name}.{record.name}"
    if kind in _PACKAGED_SELECTOR_TYPES:
        return f"{_PACKAGED_SELECTOR_TYPES[kind]}:{record.package_name}.{record.name}"
    if kind == "unit_test":
        versioned = record.name if record.version is None else f"{record.name}_v{record.version}"
        return f"unit_test:{record.package_name}.{versioned}"
    return ".".join(record.fqn)


def _record_value(record: NodeRecord, key: str) -> Any:
    if key == "depends_on":
        if record.resource_type == "seed":  # dbt's seeds depend on macros only
            return {"macros": record.depends_on.macros}
        return {"macros": record.depends_on.macros, "nodes": record.depends_on.nodes}
    return getattr(record, key)


def _default_json(record: NodeRecord) -> dict[str, Any]:
    keys = _TYPE_KEYS.get(record.resource_type, _NODE_KEYS)
    out = {key: getattr(record, key) for key in _COMMON_KEYS}
    for key in keys:
        if key == "alias" and record.alias is None and record.resource_type == "function":
            continue
        out[key] = _record_value(record, key)
    return out


def _full_nodes(manifest_path: str) -> dict[str, dict[str, Any]]:
    """Every manifest entry as dbt wrote it; only read for ``--output-keys`` we do not decode."""
    data = read_settled(Path(manifest_path), json.loads)
    nodes: dict[str, dict[str, Any]] = {}
    for section in RECORD_SECTIONS:
        nodes.update(data.get(section) or {})
    return nodes


def _nested(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


class _KeyedJson:
    """dbt's ``--output-keys``: plain keys present in the node, dotted keys when not null.

    Keys we decode come from the records; any other key (``raw_code``, ``columns``, ...)
    reads the whole manifest once, on first need.
    """

    def __init__(self, graph: AssetGraph, keys: Sequence[str]) -> None:
        self.graph = graph
        self.keys = keys
        self._full: dict[str, dict[str, Any]] | None = None

    def __call__(self, record: NodeRecord) -> dict[str, Any]:
        default = _default_json(record)
        out: dict[str, Any] = {}
        for key in self.keys:
            top = key.split(".", 1)[0]
            if top in _RECORD_KEYS and top in default:
                present, value = True, _nested(default, key)
            else:
                if self._full is None:
                    self._full = _full_nodes(self.graph.manifest.path)
                source = self._full.get(record.unique_id, {})
                present, value = top in source, _nested(source, key)
            if "." in key:
                if value is not None:
                    out[key] = value
            elif present:
                out[key] = value
        return out


def format_listing(
    graph: AssetGraph,
    unique_ids: Sequence[str],
    output: str = "selector",
    output_keys: Sequence[str] = (),
) -> Iterator[str]:
    """Lines of ``dbt ls --output OUTPUT`` for ``unique_ids`` (already sorted)."""
    records = graph.records
    if output == "name":
        for uid in unique_ids:
            yield records[uid].search_name
    elif output == "path":
        for uid in unique_ids:
            yield records[uid].original_file_path
    elif output == "selector":
        for uid in unique_ids:
            yield selector_of(records[uid])
    elif output == "json":
        encode = msgspec.json.Encoder().encode
        keys = [k for key in output_keys for k in key.split()]
        shape = _KeyedJson(graph, keys) if keys else _default_json
        for uid in unique_ids:
            yield encode(shape(records[uid])).decode()
    else:
        raise ValueError(f"unknown output format {output!r}; use one of {OUTPUT_FORMATS}")
