"""The decoder against dbt's published manifest schemas v10, v11 and v12.

Two checks, both driven by the schema files themselves (tests/schemas/):
- every field the decoder reads accepts every JSON type the schema allows for it, in every kind
  of entry of every section, and has a default wherever the schema does not require it;
- manifests generated from the schemas (required fields present, optional ones absent, null or
  of any allowed type) load, and the graph keeps what they hold.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec.inspect as mi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbt_assets._core.vocab import ASSET_RESOURCE_TYPES
from dbt_assets.manifest.asset import asset_from_record
from dbt_assets.manifest.decode import GroupRecord, NodeRecord, decode_manifest
from dbt_assets.manifest.graph import AssetGraph
from tests.manifest_schema import JSON_TYPES, VERSIONS, EntryKind, entry_kinds, json_types

pytestmark = pytest.mark.unit  # starts no process


_SIMPLE = {
    mi.StrType: {"string"},
    mi.NoneType: {"null"},
    mi.IntType: {"integer"},
    mi.FloatType: {"number", "integer"},
    mi.BoolType: {"boolean"},
    mi.ListType: {"array"},
    mi.DictType: {"object"},
    mi.StructType: {"object"},
}


def accepted(kind: mi.Type) -> frozenset[str]:
    """The JSON types a msgspec field type decodes."""
    if isinstance(kind, mi.AnyType | mi.RawType):
        return JSON_TYPES
    if isinstance(kind, mi.UnionType):
        return frozenset().union(*(accepted(t) for t in kind.types))
    for cls, names in _SIMPLE.items():
        if isinstance(kind, cls):
            return frozenset(names)
    raise TypeError(kind)


# A saved query's tags may be one string in v12: the decoder turns it into a list.
NORMALISED = {("tags", "string")}

CASES = [
    (kind, field)
    for version in VERSIONS
    for kind in entry_kinds(version)
    for field in mi.type_info(GroupRecord if kind.section == "groups" else NodeRecord).fields  # type: ignore[attr-defined]
]


@pytest.mark.parametrize(
    ("kind", "field"),
    CASES,
    ids=lambda x: f"v{x.version}-{x.section}-{x.title}" if isinstance(x, EntryKind) else x.name,
)
def test_decoder_accepts_what_the_schema_allows(kind: EntryKind, field: mi.Field) -> None:
    if field.encode_name not in kind.properties:
        assert not field.required, f"{field.encode_name} is required but {kind.title} may not have it"
        return
    allowed = json_types(kind.version, kind.properties[field.encode_name])
    refused = {t for t in allowed - accepted(field.type) if (field.encode_name, t) not in NORMALISED}
    assert not refused, f"v{kind.version} {kind.title}.{field.encode_name} may be {sorted(refused)}"
    if field.encode_name not in kind.required:
        assert not field.required, f"v{kind.version} {kind.title}.{field.encode_name} may be absent"


def test_every_section_and_version_is_covered() -> None:
    """The schema reader finds the kinds of entry (a reader that finds none checks nothing)."""
    for version in VERSIONS:
        sections = {k.section for k in entry_kinds(version)}
        assert {"nodes", "sources", "exposures", "metrics", "groups", "semantic_models"} <= sections
        assert len([k for k in entry_kinds(version) if k.section == "nodes"]) >= 8
    assert "saved_queries" in {k.section for k in entry_kinds(11)}
    assert "functions" in {k.section for k in entry_kinds(12)}


# ---- manifests generated from the schemas -----------------------------------------------

_READ = {f.encode_name for f in mi.type_info(NodeRecord).fields} | {"owner"}  # type: ignore[attr-defined]
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)


def _value(json_type: str) -> st.SearchStrategy[Any]:
    return {
        "string": _TEXT,
        "integer": st.integers(-5, 5),
        "number": st.floats(allow_nan=False, allow_infinity=False, width=32),
        "boolean": st.booleans(),
        "null": st.none(),
        "array": st.lists(_TEXT, max_size=3),
        "object": st.dictionaries(_TEXT, _TEXT, max_size=2),
    }[json_type]


_STRUCTURAL = {"unique_id", "resource_type", "name", "package_name", "fqn", "depends_on", "config", "tags"}


@st.composite
def entries(draw: st.DrawFn, kind: EntryKind, uid: str, parents: list[str]) -> dict[str, Any]:
    """One entry of ``kind``: the graph's structural fields valid, every other field the
    decoder reads absent (when optional) or of any JSON type the schema allows for it."""
    resource_type = kind.resource_type or kind.section.rstrip("s")
    entry: dict[str, Any] = {
        "unique_id": uid,
        "resource_type": resource_type,
        "name": uid.rsplit(".", 1)[-1],
        "package_name": "pkg",
        "fqn": ["pkg", uid.rsplit(".", 1)[-1]],
    }
    if "depends_on" in kind.properties:
        entry["depends_on"] = {"nodes": parents, "macros": []}
    if "config" in kind.properties:
        entry["config"] = {"enabled": True}
    if "tags" in kind.properties:
        allowed = json_types(kind.version, kind.properties["tags"])
        entry["tags"] = draw(
            st.one_of(st.lists(_TEXT, max_size=3), *([_TEXT] if "string" in allowed else []))
        )
    for name, spec in kind.properties.items():
        if name in _STRUCTURAL or name not in _READ:
            continue
        if name not in kind.required and draw(st.booleans()):
            continue  # absent
        allowed = sorted(json_types(kind.version, spec))
        entry[name] = draw(st.sampled_from(allowed).flatmap(_value))
    return entry


@st.composite
def manifests(draw: st.DrawFn, version: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    kinds = [k for k in entry_kinds(version) if k.section != "groups"]
    kinds = [k for k in kinds if (k.resource_type or k.section.rstrip("s")) in ASSET_RESOURCE_TYPES]
    chosen = draw(st.lists(st.sampled_from(kinds), min_size=1, max_size=12))
    raw: dict[str, Any] = {
        "metadata": {"dbt_schema_version": f"https://schemas.getdbt.com/dbt/manifest/v{version}.json"}
    }
    made: list[dict[str, Any]] = []
    for i, kind in enumerate(chosen):
        uid = f"{kind.resource_type or kind.section.rstrip('s')}.pkg.n{i}"
        parents = draw(st.lists(st.sampled_from([m["unique_id"] for m in made]), unique=True)) if made else []
        entry = draw(entries(kind, uid, parents))
        raw.setdefault(kind.section, {})[uid] = entry
        made.append(entry)
    return raw, made


@pytest.mark.parametrize("version", VERSIONS)
@settings(max_examples=120, deadline=None)
@given(data=st.data())
def test_manifests_generated_from_the_schema_load(version: int, data: st.DataObject) -> None:
    raw, made = data.draw(manifests(version))
    manifest = decode_manifest(json.dumps(raw).encode())
    assert manifest.ignored == [], "every value the schema allows is read as it is"
    assert set(manifest.records) == {m["unique_id"] for m in made}
    graph = AssetGraph.from_manifest(manifest)
    for entry in made:
        record = manifest.records[entry["unique_id"]]
        assert record.resource_type == entry["resource_type"]
        assert record.fqn == entry["fqn"]
        assert record.depends_on.nodes == entry.get("depends_on", {}).get("nodes", [])
        tags = entry.get("tags", [])
        assert record.tags == ([tags] if isinstance(tags, str) else tags)
        assert set(graph.parents(record.unique_id)) == set(record.depends_on.nodes)
        asset = asset_from_record(record, manifest.groups)  # what show/export build
        description = entry.get("description")
        assert asset.description == (description if isinstance(description, str) else "")


@given(
    field=st.sampled_from(sorted(_READ - _STRUCTURAL - {"columns"})),
    value=st.sampled_from(sorted(JSON_TYPES)).flatmap(_value),
)
@settings(max_examples=200, deadline=None)
def test_odd_values_of_fields_the_graph_does_not_need_are_never_fatal(field: str, value: Any) -> None:
    """A value no schema allows, in a field only show/export read, is reset and reported."""
    raw = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
        "nodes": {
            "model.pkg.a": {"unique_id": "model.pkg.a", "resource_type": "model", "name": "a",
                            "package_name": "pkg", "fqn": ["pkg", "a"], field: value},
        },
    }  # fmt: skip
    manifest = decode_manifest(json.dumps(raw).encode())
    record = manifest.records["model.pkg.a"]
    kind = next(f.type for f in mi.type_info(NodeRecord).fields if f.encode_name == field)  # type: ignore[attr-defined]
    if {_json_type(value)} <= accepted(kind):
        assert manifest.ignored == []
    else:
        assert manifest.ignored and manifest.ignored[0].startswith(f"$.nodes['model.pkg.a'].{field}: ")
    asset_from_record(record, manifest.groups)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("unique_id", None),
        ("fqn", "a"),
        ("fqn", [1]),
        ("depends_on", {"nodes": "x"}),
        ("config", []),
        ("name", 3),
    ],
)
def test_malformed_needed_fields_name_their_json_path(field: str, value: Any) -> None:
    from dbt_assets._core.errors import ManifestError

    entry = {
        "unique_id": "model.pkg.a",
        "resource_type": "model",
        "name": "a",
        "package_name": "pkg",
        "fqn": [],
    }
    raw = {
        "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"},
        "nodes": {"model.pkg.a": {**entry, field: value}},
    }
    with pytest.raises(ManifestError) as err:
        decode_manifest(json.dumps(raw).encode(), "m.json")
    assert f"m.json: not a valid dbt manifest: $.nodes['model.pkg.a'].{field}" in err.value.message


def _json_type(value: Any) -> str:
    from tests.manifest_schema import _type_of

    return _type_of(value)
