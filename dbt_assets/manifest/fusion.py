"""Manifests of dbt v2 ("Fusion"), filled in the way dbt-core fills the same project's manifest.

dbt's new engine writes a manifest in v12's shape, tagged ``manifest/v20.json`` by the builds of
2025 to early 2026 and ``v12`` by later ones, but it leaves out or nulls much of what dbt-core
writes, and selection reads some of it. Unfilled, ``config.materialized:seed`` selects no seed
(Fusion writes no ``materialized`` for seeds, or ``view``), ``path:models/staging`` no test
(early builds point a generic test at ``target/generic_tests/<name>.sql``), ``tag:`` nothing on
a node whose ``tags`` is missing, and ``test_name:unique`` nothing when a build leaves out
``test_metadata``. :func:`fill_fusion` puts back what dbt-core would have written, each rule
the rule dbt-core's parser follows (``tests/test_fusion.py`` checks every one against
dbt-core's own manifests, and selection on a Fusion manifest against dbt-core's manifest of
the same project):

- ``config``: dbt-core's defaults of the resource type's config class where Fusion has no
  value or null (``tags: []``, ``meta: {}``, ``post-hook: []``, ...), ``post_hook``/``+grants``
  spelled as dbt-core spells them; a seed's, test's and snapshot's ``materialized`` is what
  dbt-core gives every one of them (``seed``, ``test``, ``snapshot``); a unit test has none.
- ``tags``, ``meta``, ``group`` and a model's ``access``: from the config where missing, and the
  other way round, as dbt-core keeps both.
- Paths: ``\\`` as ``/`` (a manifest written on Windows); ``patch_path`` as ``package://path``;
  a node's ``path`` relative to its resource folder, as dbt-core's.
- A source's ``fqn`` with its source name, a unit test depending on the model it tests only,
  ``depends_on.nodes`` without repeats, checksum names in lower case (Fusion: ``SHA256``).
- A generic test without ``test_metadata`` (early builds): its test name and namespace from its
  name and the project's ``test_*`` macros, its attached node, and the YAML file it was
  defined in (its node's properties file) as ``original_file_path`` and ``fqn``.

What cannot be known is left as Fusion wrote it: a generic test's ``column_name`` when its
``kwargs`` are missing, unique ids (early builds end a generic test's id without dbt-core's
hash, and name a versioned model's unit test ``name.vN``), and values Fusion writes where dbt-core
writes its default (``quoting``, ``static_analysis``).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

import msgspec

from dbt_assets._core.vocab import RECORD_SECTIONS
from dbt_assets.manifest.fusion_tests import GenericTests, posix_path

FUSION_SCHEMA_TAG = 20
"""The manifest schema number early Fusion builds write; its shape is v12's."""

_DBT_VERSION_MAJOR = re.compile(r"^\s*(\d+)\.")

# dbt-core 1.11's config defaults (``NodeConfig().to_dict()`` and each resource type's class);
# tests/test_fusion.py checks them against dbt's classes.
_NODE: dict[str, Any] = {
    "enabled": True, "alias": None, "schema": None, "database": None, "tags": [], "meta": {},
    "group": None, "static_analysis": None, "materialized": "view", "incremental_strategy": None,
    "batch_size": None, "lookback": 1, "begin": None, "persist_docs": {}, "post-hook": [],
    "pre-hook": [], "quoting": {}, "column_types": {}, "full_refresh": None, "unique_key": None,
    "on_schema_change": "ignore", "on_configuration_change": "apply", "grants": {}, "packages": [],
    "docs": {"show": True, "node_color": None}, "contract": {"enforced": False, "alias_types": True},
    "event_time": None, "concurrent_batches": None,
}  # fmt: skip
CONFIG_DEFAULTS: dict[str, dict[str, Any]] = {
    "model": {**_NODE, "access": "protected", "freshness": None},
    "analysis": _NODE,
    "seed": {**_NODE, "materialized": "seed", "delimiter": ",", "quote_columns": None},
    "snapshot": {
        **_NODE, "materialized": "snapshot", "strategy": None, "target_schema": None,
        "target_database": None, "updated_at": None, "check_cols": None,
        "snapshot_meta_column_names": dict.fromkeys(
            ("dbt_valid_to", "dbt_valid_from", "dbt_scd_id", "dbt_updated_at", "dbt_is_deleted")
        ),
        "dbt_valid_to_current": None,
    },
    "test": {
        "enabled": True, "alias": None, "schema": "dbt_test__audit", "database": None, "tags": [],
        "meta": {}, "group": None, "static_analysis": None, "materialized": "test", "severity": "ERROR",
        "store_failures": None, "store_failures_as": None, "where": None, "limit": None,
        "fail_calc": "count(*)", "warn_if": "!= 0", "error_if": "!= 0",
    },
    "source": {
        "enabled": True, "event_time": None,
        "freshness": {"warn_after": {"count": None, "period": None},
                      "error_after": {"count": None, "period": None}, "filter": None},
        "loaded_at_field": None, "loaded_at_query": None, "meta": {}, "tags": [], "static_analysis": None,
    },
    "function": {
        **_NODE, "materialized": "function", "type": "scalar", "volatility": None, "runtime_version": None,
        "entry_point": None,
    },
    "exposure": {"enabled": True, "tags": [], "meta": {}},
    "metric": {"enabled": True, "group": None, "meta": {}},
    "semantic_model": {"enabled": True, "group": None, "meta": {}},
    "saved_query": {"enabled": True, "group": None, "meta": {}, "export_as": None, "schema": None,
                    "cache": {"enabled": False}},
    "unit_test": {"tags": [], "meta": {}, "enabled": True, "static_analysis": None},
}  # fmt: skip
"""dbt-core's default config of each resource type, as its manifest writes it."""

CONSTRAINT_DEFAULTS: dict[str, Any] = {
    "name": None, "expression": None, "warn_unenforced": True, "warn_unsupported": True, "to": None,
    "to_columns": [],
}  # fmt: skip
"""dbt's defaults of a column's or model's constraint (``ColumnLevelConstraint``); a model's
has ``columns: []`` too."""

# What dbt-core gives every node of the type: dbt runs each with the materialization of that
# name (early Fusion builds write a model's default, "view", or the folder's, "table").
_FIXED_MATERIALIZED = {"seed": "seed", "test": "test", "snapshot": "snapshot"}
# dbt-core writes their `path` relative to their resource folder (an analysis's: to the project)
_RESOURCE_FOLDER_TYPES = frozenset(
    {"model", "seed", "snapshot", "test", "unit_test", "exposure", "metric", "semantic_model"}
    | {"saved_query", "function"}
)
_PATHS = ("original_file_path", "path", "patch_path")
_BOTH = "tags, meta, group and a model's access both on the entry and in its config"
# The keys dbt-core writes both at the top of an entry and in its config, by resource type.
_NODE_TOP = ("tags", "meta", "group")
_TOP_LEVEL: dict[str, tuple[str, ...]] = {
    "model": (*_NODE_TOP, "access"), "seed": _NODE_TOP, "snapshot": _NODE_TOP, "test": _NODE_TOP,
    "analysis": _NODE_TOP, "function": _NODE_TOP, "source": ("tags", "meta"),
    "exposure": ("tags", "meta"), "metric": _NODE_TOP, "semantic_model": ("group",),
    "saved_query": ("tags", "group"),
}  # fmt: skip


def is_fusion(metadata: Any) -> bool:
    """Whether a manifest's ``metadata`` says dbt v2 (Fusion) wrote it: ``dbt_version`` 2 or
    later, or the schema tag v20 that only Fusion writes."""
    if not isinstance(metadata, dict):
        return False
    url = metadata.get("dbt_schema_version")
    if isinstance(url, str) and url.endswith(f"/manifest/v{FUSION_SCHEMA_TAG}.json"):
        return True
    match = _DBT_VERSION_MAJOR.match(str(metadata.get("dbt_version") or ""))
    return match is not None and int(match.group(1)) >= 2


_Sections = msgspec.defstruct(
    "FusionSections",
    [
        ("metadata", Any, None),
        *((section, dict[str, Any] | None, None) for section in RECORD_SECTIONS),
        ("macros", dict[str, msgspec.Raw] | None, None),
    ],
)


def filled_json(data: bytes, keep: tuple[str, ...] = ()) -> tuple[bytes, list[str]]:
    """A Fusion manifest's JSON filled by :func:`fill_fusion`, and its notes: the metadata, the
    entries and the top-level fields ``keep`` names (as they were), nothing else. Only the
    entries are decoded: macros, the bulk of a manifest, are passed through as they are."""
    sections = msgspec.json.decode(data, type=_Sections)
    manifest = {f: getattr(sections, f) for f in sections.__struct_fields__}
    notes = fill_fusion(manifest)
    kept = msgspec.json.decode(data, type=_kept(keep)) if keep else None
    manifest.update({k: getattr(kept, k) for k in keep if bytes(getattr(kept, k)) != b"null"})
    if "macros" not in keep:
        del manifest["macros"]
    return msgspec.json.encode({k: v for k, v in manifest.items() if v is not None}), notes


@functools.cache
def _kept(keep: tuple[str, ...]) -> Any:
    return msgspec.defstruct("Kept", [(k, msgspec.Raw, msgspec.Raw(b"null")) for k in keep])


def fill_fusion(manifest: dict[str, Any]) -> list[str]:
    """Fill a Fusion manifest (decoded JSON, changed in place) as dbt-core would have written
    it; return one line per kind of fill made, with counts, for the user to see.

        >>> notes = fill_fusion(json.loads(Path("target/manifest.json").read_bytes()))  # doctest: +SKIP
    """
    counts: dict[str, int] = {}
    entries = {uid: entry for _, uid, entry in _entries(manifest)}
    tests = GenericTests(manifest, entries)
    for section, _uid, entry in _entries(manifest):
        for what in _fill_entry(section, entry, entries, tests):
            counts[what] = counts.get(what, 0) + 1
    return [
        f"as dbt-core writes it: {what} ({n} entr{'y' if n == 1 else 'ies'})"
        for what, n in sorted(counts.items())
    ]


def _entries(manifest: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for section in RECORD_SECTIONS:
        value = manifest.get(section)
        if isinstance(value, dict):
            for uid, entry in value.items():
                if isinstance(entry, dict):
                    yield section, uid, entry


def _fill_entry(
    section: str, entry: dict[str, Any], entries: dict[str, dict[str, Any]], tests: GenericTests
) -> Iterator[str]:
    kind = entry.get("resource_type")
    for key in _PATHS:
        value = entry.get(key)
        if isinstance(value, str) and "\\" in value:
            entry[key] = posix_path(value)
            yield "paths with '\\' written with '/'"
    yield from _fill_checksum(kind, entry)
    yield from _fill_paths(kind, entry)
    depends_on = entry.get("depends_on")
    nodes = depends_on.get("nodes") if isinstance(depends_on, dict) else None
    if isinstance(depends_on, dict) and isinstance(nodes, list) and len(set(nodes)) < len(nodes):
        depends_on["nodes"] = list(dict.fromkeys(nodes))
        yield "repeated depends_on.nodes removed"
    yield from _fill_constraints(entry)
    yield from _fill_contract(entry)
    if kind == "source":
        yield from _fill_source(entry)
    elif kind == "analysis":
        yield from _fill_analysis(entry)
    elif kind == "unit_test":
        yield from _fill_unit_test(entry, entries)
    elif kind == "test":
        yield from tests.fill(entry)
    if isinstance(kind, str) and kind in CONFIG_DEFAULTS:
        yield from _fill_config(kind, entry)


def _fill_checksum(kind: Any, entry: dict[str, Any]) -> Iterator[str]:
    checksum = entry.get("checksum")
    if not isinstance(checksum, dict):
        return
    name = checksum.get("name")
    if kind == "unit_test":  # dbt-core's is a str: a digest of the test's data, made by dbt's code
        entry["checksum"] = None
        yield "unit test checksum left for dbt-core to compute"
    elif isinstance(name, str) and name != name.lower():
        checksum["name"] = name.lower()
        yield "checksum names in lower case"


def _fill_contract(entry: dict[str, Any]) -> Iterator[str]:
    contract, config = entry.get("contract"), entry.get("config")
    if not isinstance(contract, dict) or None not in (contract.get("enforced"), contract.get("alias_types")):
        return
    configured = config.get("contract") if isinstance(config, dict) else None
    if contract.get("enforced") is None:
        contract["enforced"] = isinstance(configured, dict) and configured.get("enforced") is True
    if contract.get("alias_types") is None:
        contract["alias_types"] = True
    yield "contract defaults of dbt-core where null"


def _fill_paths(kind: Any, entry: dict[str, Any]) -> Iterator[str]:
    patch = entry.get("patch_path")
    if isinstance(patch, str) and patch and "://" not in patch:
        if kind == "source" and patch == entry.get("original_file_path"):
            entry["patch_path"] = None  # dbt-core sets a source's only from `overrides:`
        else:
            entry["patch_path"] = f"{entry.get('package_name')}://{patch}"
        yield "patch_path as package://path"
    path, original = entry.get("path"), entry.get("original_file_path")
    if kind in _RESOURCE_FOLDER_TYPES and isinstance(path, str) and path == original and "/" in path:
        entry["path"] = path.split("/", 1)[1]  # dbt-core: relative to the resource's folder
        yield "path relative to the resource folder"


def _fill_config(kind: str, entry: dict[str, Any]) -> Iterator[str]:
    config = entry.get("config")
    if not isinstance(config, dict):
        config = entry["config"] = {}
    for spelled, key in (("post_hook", "post-hook"), ("pre_hook", "pre-hook")):
        if spelled in config:
            value = config.pop(spelled)
            if config.get(key) is None:
                config[key] = value
    for key in [k for k in config if k.startswith("+")]:
        value = config.pop(key)
        if config.get(key[1:]) is None:
            config[key[1:]] = value
    defaults = CONFIG_DEFAULTS[kind]
    for key in ("tags", "meta", "access") if kind != "unit_test" else ():
        if key in defaults and config.get(key) is None and entry.get(key) is not None:
            config[key] = copy.deepcopy(entry[key])
            yield _BOTH
    filled = False
    for key, default in defaults.items():
        if key not in config or (config[key] is None and default is not None and key != "freshness"):
            config[key] = copy.deepcopy(default)  # a source's `freshness: null` is the user's
            filled = True
    if filled:
        yield "config defaults of dbt-core where missing or null"
    fixed = _FIXED_MATERIALIZED.get(kind)
    if fixed is not None and config.get("materialized") != fixed:
        config["materialized"] = fixed
        yield f"config.materialized '{fixed}' of every {kind}"
    if kind == "unit_test" and "materialized" in config:
        del config["materialized"]
        yield "no config.materialized on unit tests"
    for key in _TOP_LEVEL.get(kind, ()):
        if entry.get(key) is None and config.get(key) is not None:
            entry[key] = copy.deepcopy(config[key])
            yield _BOTH


def _fill_constraints(entry: dict[str, Any]) -> Iterator[str]:
    """dbt's defaults in a model's and its columns' constraints where Fusion writes null (they
    make the contract's checksum and its breaking-change check)."""
    columns = entry.get("columns")
    lists = [entry.get("constraints")]
    lists += (
        [c.get("constraints") for c in columns.values() if isinstance(c, dict)]
        if isinstance(columns, dict)
        else []
    )
    filled = False
    for index, constraints in enumerate(lists):
        for constraint in constraints if isinstance(constraints, list) else ():
            if not isinstance(constraint, dict):
                continue
            defaults = CONSTRAINT_DEFAULTS if index else {**CONSTRAINT_DEFAULTS, "columns": []}
            for key, default in defaults.items():
                if constraint.get(key) is None and (key not in constraint or default is not None):
                    constraint[key] = copy.deepcopy(default)
                    filled = True
    if filled:
        yield "constraint defaults of dbt where missing or null"


def _fill_source(entry: dict[str, Any]) -> Iterator[str]:
    fqn, source, name = entry.get("fqn"), entry.get("source_name"), entry.get("name")
    original = entry.get("original_file_path")
    if not (isinstance(fqn, list) and isinstance(source, str) and isinstance(original, str)):
        return
    folders = list(PurePosixPath(original).parent.parts[1:])
    if fqn == [entry.get("package_name"), *folders, name]:  # early builds leave out the source
        entry["fqn"] = [*fqn[:-1], source, name]
        yield "source fqn with its source name"


def _fill_analysis(entry: dict[str, Any]) -> Iterator[str]:
    """dbt-core's analysis: ``path`` and ``fqn`` from the project's root, its folder included."""
    fqn, original, name = entry.get("fqn"), entry.get("original_file_path"), entry.get("name")
    if not (isinstance(fqn, list) and isinstance(original, str)):
        return
    folders = list(PurePosixPath(original).parent.parts)
    if folders and fqn == [entry.get("package_name"), name]:
        entry["fqn"] = [fqn[0], *folders, name]
        yield "analysis fqn with its folders"
    if entry.get("path") != original:
        entry["path"] = original
        yield "analysis path from the project's root"


def _fill_unit_test(entry: dict[str, Any], entries: dict[str, dict[str, Any]]) -> Iterator[str]:
    """dbt-core's unit test depends on the model it tests, not on its inputs."""
    depends_on = entry.get("depends_on")
    nodes = depends_on.get("nodes") if isinstance(depends_on, dict) else None
    if not isinstance(nodes, list) or len(nodes) <= 1:
        return
    tested = entry.get("tested_node_unique_id")
    if not isinstance(tested, str) or tested not in entries:
        tested = _model_named(entry, entries) or nodes[0]
    if isinstance(depends_on, dict) and nodes != [tested]:
        depends_on["nodes"] = [tested]
        yield "unit test depending on its model only"


def _model_named(entry: dict[str, Any], entries: dict[str, dict[str, Any]]) -> str | None:
    model, version = entry.get("model"), entry.get("version")
    for uid in (entry.get("depends_on") or {}).get("nodes") or []:
        node = entries.get(uid) or {}
        same_version = version is None or str(node.get("version")) == str(version)
        if node.get("resource_type") == "model" and node.get("name") == model and same_version:
            return str(uid)
    return None
