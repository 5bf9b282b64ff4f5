"""dbt's published manifest JSON schemas (v10, v11, v12, vendored under tests/schemas/), read
as the oracle of what a manifest may hold: which JSON types each field of each kind of entry
allows, which fields are required, and a generator of entries from those facts.

The schemas are dbt-core's own (Apache-2.0, see tests/schemas/README.md).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMAS = Path(__file__).resolve().parent / "schemas"
VERSIONS = (10, 11, 12)
JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "null", "array", "object"})
# The manifest's sections whose entries become graph records, and the groups.
SECTIONS = (
    "nodes",
    "sources",
    "exposures",
    "metrics",
    "semantic_models",
    "saved_queries",
    "unit_tests",
    "functions",
    "groups",
)


@functools.cache
def schema(version: int) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"manifest_v{version}.json").read_text())
    return loaded


def resolve(version: int, node: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` (v10/v11 use ``#/definitions/X``; v12 inlines or uses ``#/$defs/X``)."""
    while "$ref" in node:
        path = node["$ref"].lstrip("#/").split("/")
        target: Any = schema(version)
        for part in path:
            target = target[part]
        node = target
    return node


def alternatives(version: int, node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The plain schemas a value may match (``anyOf``/``oneOf`` flattened, refs followed)."""
    node = resolve(version, node)
    branches = node.get("anyOf") or node.get("oneOf")
    if branches:
        for branch in branches:
            yield from alternatives(version, branch)
    else:
        yield node


def json_types(version: int, node: dict[str, Any]) -> frozenset[str]:
    """The JSON types a value of this schema may have (all of them when it does not say)."""
    found: set[str] = set()
    for alt in alternatives(version, node):
        if "const" in alt:
            found.add(_type_of(alt["const"]))
        elif "enum" in alt:
            found.update(_type_of(v) for v in alt["enum"])
        elif "type" in alt:
            kinds = alt["type"] if isinstance(alt["type"], list) else [alt["type"]]
            found.update(kinds)
            if "number" in kinds:
                found.add("integer")
        elif "properties" in alt:
            found.add("object")
        else:
            return JSON_TYPES
    return frozenset(found)


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


@dataclass(frozen=True)
class EntryKind:
    """One kind of entry a section may hold (e.g. ``nodes`` → Seed), in one schema version."""

    version: int
    section: str
    title: str
    properties: dict[str, Any]
    required: frozenset[str]

    @property
    def resource_type(self) -> str | None:
        spec = self.properties.get("resource_type", {})
        values = [a.get("const") for a in alternatives(self.version, spec)] + spec.get("enum", [])
        for alt in alternatives(self.version, spec):
            values.extend(alt.get("enum", []))
        consts = [v for v in values if isinstance(v, str)]
        return consts[0] if len(consts) == 1 else None


def entry_kinds(version: int) -> list[EntryKind]:
    """Every kind of entry of every section of the schema."""
    kinds = []
    top = resolve(version, schema(version))["properties"]
    for section in SECTIONS:
        if section not in top:
            continue
        entries = [a for a in alternatives(version, top[section]) if a.get("type") == "object"]
        for entry in entries:
            for alt in alternatives(version, entry.get("additionalProperties", {})):
                if "properties" in alt:
                    kinds.append(
                        EntryKind(
                            version=version,
                            section=section,
                            title=alt.get("title", "?"),
                            properties=alt["properties"],
                            required=frozenset(alt.get("required", [])),
                        )
                    )
    return kinds
