"""Manifests and results of dbt v2 ("Fusion"), read as dbt-core's (tests/manifests/fusion/README.md).

The oracle is dbt-core's manifest of the same project: selection on the Fusion manifest must
equal selection on dbt-core's (dbt-assets on both, in the unit tier; ``dbt ls`` on dbt-core's in
the slow one), ``state:`` across the two engines of an unchanged project must select what
dbt-core's comparison of its own manifests selects, and each fill must be the rule dbt-core
follows (filling a dbt-core manifest changes nothing; a dbt-core manifest damaged the way
Fusion writes is filled back to itself).
"""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbt_assets._core.errors import ManifestVersionError, SelectionError
from dbt_assets._core.vocab import RECORD_SECTIONS
from dbt_assets.api import list_assets
from dbt_assets.manifest.crossing import comparable
from dbt_assets.manifest.decode import decode_manifest, read_manifest
from dbt_assets.manifest.fusion import CONFIG_DEFAULTS, CONSTRAINT_DEFAULTS, fill_fusion, is_fusion
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.run.artifacts import read_run_results, read_source_freshness
from dbt_assets.selection import PreviousState, select
from dbt_assets.selection.modified import STATE_SELECTORS, StateComparison, decode_compared
from dbt_assets.selection.request import Selection
from tests.conftest import REPO
from tests.test_corpus import cases, rebuild
from tests.test_manifest import expected_assets

FUSION = REPO / "tests" / "manifests" / "fusion"
FUSION_MANIFESTS = sorted(FUSION.glob("*/manifest_fusion_*.json.gz"))
PAIRS = {  # project: (dbt-core's manifest, Fusion's), of the same checkout
    "bouncer": ("manifest_core_1.12.2", "manifest_fusion_2.0.0-beta.2"),
    "olist": ("manifest_core_1.11.16", "manifest_fusion_2.0.0-beta.32"),
    "jaffle_shop": ("manifest_core_1.11.16", "manifest_fusion_2.0.0-beta.12"),
    "windows": ("manifest_core_1.11.16", "manifest_fusion_2.0.0-preview.89"),
}
CORE_MANIFESTS = [
    *sorted(REPO.glob("tests/corpus/*/manifest_dbt1.11*.json.gz")),
    REPO / "tests" / "manifests" / "manifest_v12_dbt1.11.16.json.gz",
    *(FUSION / project / f"{core}.json.gz" for project, (core, _) in PAIRS.items()),
]


@cache
def unpacked(path: Path) -> bytes:
    return gzip.decompress(path.read_bytes())


def document(path: Path) -> dict[str, Any]:
    """A fresh copy of a committed artifact's JSON."""
    value: dict[str, Any] = json.loads(unpacked(path))
    return value


def entries(raw: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for section in RECORD_SECTIONS:
        yield from ((uid, entry) for uid, entry in (raw.get(section) or {}).items())


def node_key(entry: dict[str, Any]) -> tuple[str, ...]:
    """One node of a project whichever engine wrote it: early Fusion builds end a generic test's
    unique_id without dbt-core's hash, and its name without the final ``_`` of a ``ref(...)``."""
    name = entry["name"].rstrip("_") if entry["resource_type"] == "test" else entry["name"]
    return (entry["resource_type"], entry["package_name"], name, str(entry.get("version")))


def enabled_keys(raw: dict[str, Any]) -> set[tuple[str, ...]]:
    return {
        node_key(e)
        for _, e in entries(raw)
        if (e.get("config") or {}).get("enabled", True) is not False and e["resource_type"] != "operation"
    }


@dataclass
class Pair:
    """A project's two manifests, the root project's file tree and the node each id means."""

    name: str
    core_raw: dict[str, Any]
    fusion_raw: dict[str, Any]
    tree: Path
    core: Path
    fusion: Path

    def keys(self, raw: dict[str, Any]) -> dict[str, tuple[str, ...]]:
        return {uid: node_key(e) for uid, e in entries(raw)}

    @property
    def common(self) -> set[tuple[str, ...]]:
        """Nodes both engines enable (Fusion disables a Python model and its tests: it runs none)."""
        return enabled_keys(self.core_raw) & enabled_keys(self.fusion_raw)


def make_pair(name: str, root: Path) -> Pair:
    core_name, fusion_name = PAIRS[name]
    tree = rebuild(FUSION / name / f"{core_name}.json.gz", root / "tree")
    fusion = root / "fusion" / "manifest.json"
    fusion.parent.mkdir(parents=True)
    fusion.write_bytes(unpacked(FUSION / name / f"{fusion_name}.json.gz"))
    raw = document(FUSION / name / f"{fusion_name}.json.gz")
    core_raw = document(FUSION / name / f"{core_name}.json.gz")
    return Pair(name, core_raw, raw, tree, tree / "target" / "manifest.json", fusion)


@pytest.fixture(scope="module", params=sorted(PAIRS))
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Pair:
    return make_pair(request.param, tmp_path_factory.mktemp(f"fusion-{request.param}"))


def as_selection(args: tuple[str, ...]) -> Selection:
    """A generated case (dbt ls's flags) as a Selection."""
    flags: dict[str, list[str]] = {}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        flags.setdefault(flag, []).append(value)
    return Selection(
        flags.get("--select", []),
        exclude=flags.get("--exclude", []),
        resource_types=flags.get("--resource-type", []),
        indirect_selection=flags.get("--indirect-selection", ["eager"])[0],  # type: ignore[arg-type]
    )


def ours(graph: AssetGraph, args: tuple[str, ...], keys: dict[str, tuple[str, ...]]) -> set[tuple[str, ...]]:
    return {keys[uid] for uid in list_assets(graph, as_selection(args))}


# --- reading -------------------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("path", FUSION_MANIFESTS, ids=lambda p: f"{p.parent.name}-{p.name[16:-8]}")
def test_every_fusion_manifest_loads(path: Path) -> None:
    raw = json.loads(unpacked(path))
    manifest = decode_manifest(unpacked(path), path)
    tag = raw["metadata"]["dbt_schema_version"].rsplit("/", 1)[1]
    assert manifest.engine == "dbt-fusion" and manifest.schema_version == 12
    assert manifest.ignored == []
    assert manifest.notes[0].startswith(f"written by dbt Fusion {raw['metadata']['dbt_version']}")
    assert ("tagged v20, read as v12" in manifest.notes[0]) == (tag == "v20.json")
    assert set(manifest.records) == expected_assets(raw)
    assert len(manifest.groups) == len(raw.get("groups") or {})
    assert manifest.selectors.keys() == (raw.get("selectors") or {}).keys()


@pytest.mark.unit
def test_a_default_selector_fusion_does_not_mark_is_noted() -> None:
    path = FUSION / "bouncer" / "manifest_fusion_2.0.0-beta.2.json.gz"
    notes = decode_manifest(unpacked(path), path).notes
    assert any(n.startswith("selectors: the manifest does not say which one is the default") for n in notes)
    core = FUSION / "bouncer" / "manifest_core_1.12.2.json.gz"
    assert decode_manifest(unpacked(core), core).notes == []


@pytest.mark.unit
def test_v20_is_read_as_v12_and_other_versions_are_refused_with_the_right_hint(tmp_path: Path) -> None:
    raw = document(REPO / "tests" / "manifests" / "manifest_v12_dbt1.11.16.json.gz")
    url = "https://schemas.getdbt.com/dbt/manifest/v{}.json"
    raw["metadata"]["dbt_schema_version"] = url.format(20)
    manifest = decode_manifest(json.dumps(raw).encode(), "m.json")
    assert manifest.engine == "dbt-fusion" and manifest.schema_version == 12
    assert set(manifest.records) == expected_assets(raw)
    for version, dbt_version, hint in (
        (21, "2.1.0", "upgrade dbt-assets"),
        (13, "1.12.0", "upgrade dbt-assets"),
        (9, "1.5.4", "re-create the manifest with a supported dbt version"),
    ):
        raw["metadata"].update(dbt_schema_version=url.format(version), dbt_version=dbt_version)
        with pytest.raises(ManifestVersionError) as err:
            decode_manifest(json.dumps(raw).encode(), "m.json")
        assert f"m.json: manifest schema v{version} is not supported" in err.value.message
        assert "v12 and v20 (dbt Fusion 2.0)" in err.value.message and hint in str(err.value.hint)
    assert not is_fusion({"dbt_version": "1.11.2"}) and is_fusion({"dbt_version": "2.0.0-beta.2"})


@pytest.mark.unit
def test_dbt_cores_defaults_are_dbt_cores() -> None:
    """The defaults Fusion's gaps are filled with are dbt-core's config classes' own."""
    from dbt.artifacts import resources
    from dbt.artifacts.resources.v1.components import NodeConfig
    from dbt_common.contracts.constraints import ColumnLevelConstraint, ConstraintType

    classes = {
        "model": resources.ModelConfig, "analysis": NodeConfig, "seed": resources.SeedConfig,
        "snapshot": resources.SnapshotConfig, "test": resources.TestConfig, "source": resources.SourceConfig,
        "exposure": resources.ExposureConfig, "metric": resources.MetricConfig,
        "semantic_model": resources.SemanticModelConfig, "saved_query": resources.SavedQueryConfig,
        "unit_test": resources.UnitTestConfig, "function": resources.FunctionConfig,
    }  # fmt: skip
    assert set(classes) == set(CONFIG_DEFAULTS)
    for kind, cls in classes.items():
        assert CONFIG_DEFAULTS[kind] == cls().to_dict(), kind
    constraint = ColumnLevelConstraint(type=ConstraintType.check).to_dict()
    assert {k: v for k, v in constraint.items() if k != "type"} == CONSTRAINT_DEFAULTS


@pytest.mark.unit
@pytest.mark.parametrize("path", CORE_MANIFESTS, ids=lambda p: f"{p.parent.name}-{p.name[:-8]}")
def test_filling_changes_nothing_dbt_core_wrote(path: Path) -> None:
    """Every fill is dbt-core's own rule: on what dbt-core 1.11+ wrote, it finds nothing to do."""
    raw = document(path)
    assert fill_fusion(raw) == []
    assert raw == json.loads(unpacked(path))


# --- filling: Fusion's manifest against dbt-core's --------------------------------------------

# Fields selection reads. Left as Fusion wrote them, and not read by any selection method:
# a generic test's column_name (early builds write no kwargs) and its SQL's path, config values
# Fusion writes where dbt-core writes a default (quoting, static_analysis, a test's full_refresh).
_COMPARED = ("fqn", "tags", "original_file_path", "package_name", "access", "group", "version")
_COMPARED += ("latest_version", "source_name", "resource_type", "attached_node")
_CONFIG = ("materialized", "enabled", "tags", "meta", "group", "access", "severity", "contract", "docs")
_CONFIG += ("persist_docs", "post-hook", "pre-hook", "grants", "packages", "on_configuration_change")
# Where the two engines disagree on the project itself (tests/manifests/fusion/README.md).
_KNOWN = {
    ("windows", "snapshot.jaffle_shop.orders_snapshot", "original_file_path"),  # Fusion: .sql
    ("bouncer", "test.dbt_bouncer_test_project.not_null_py_order_stats_order_id", "depends_on"),
}


@pytest.mark.unit
@pytest.mark.parametrize("name", sorted(PAIRS))
def test_filled_fields_equal_dbt_cores(name: str) -> None:
    core_raw, raw = (document(FUSION / name / f"{f}.json.gz") for f in PAIRS[name])
    fill_fusion(raw)
    core = {node_key(e): e for _, e in entries(core_raw)}
    ids = {uid: node_key(e) for uid, e in [*entries(core_raw), *entries(raw)]}
    differences = []
    for uid, entry in entries(raw):
        theirs = core.get(node_key(entry))
        if theirs is None or node_key(entry) not in enabled_keys(core_raw) & enabled_keys(raw):
            continue
        for field in _COMPARED:
            if field not in theirs and not entry.get(field):
                continue  # an empty field dbt-core does not write (a unit test's tags)
            mine, dbt = entry.get(field), theirs.get(field)
            if field == "fqn" and entry["resource_type"] == "test":  # the name, see node_key
                mine, dbt = [*mine[:-1], mine[-1].rstrip("_")], [*dbt[:-1], dbt[-1].rstrip("_")]
            if mine != dbt and (name, theirs["unique_id"], field) not in _KNOWN:
                differences.append((uid, field, entry.get(field), theirs.get(field)))
        for key in _CONFIG:
            mine, dbt = entry["config"].get(key, "-"), theirs["config"].get(key, "-")
            if mine != dbt and not (key == "meta" and entry["resource_type"] == "source"):
                differences.append((uid, f"config.{key}", mine, dbt))
        if entry.get("patch_path") != theirs.get("patch_path") and entry["resource_type"] != "snapshot":
            differences.append((uid, "patch_path", entry.get("patch_path"), theirs.get("patch_path")))
        mine_parents = sorted(ids.get(p, p) for p in entry.get("depends_on", {}).get("nodes", []))
        dbt_parents = sorted(ids.get(p, p) for p in theirs.get("depends_on", {}).get("nodes", []))
        if mine_parents != dbt_parents and (name, theirs["unique_id"], "depends_on") not in _KNOWN:
            differences.append((uid, "depends_on", mine_parents, dbt_parents))
        if entry["resource_type"] == "test":
            mine_test = (entry.get("test_metadata") or {}).get("name")
            if mine_test != (theirs.get("test_metadata") or {}).get("name"):
                differences.append((uid, "test_metadata.name", mine_test, theirs.get("test_metadata")))
        if isinstance(entry.get("checksum"), dict) and theirs["checksum"]["name"] == "sha256":
            assert entry["checksum"]["name"] == "sha256", uid  # Fusion: SHA256
    assert not differences, differences[:5]


# --- the class: a dbt-core manifest written the way Fusion writes ----------------------------


@cache
def core_manifest(index: int) -> tuple[dict[str, Any], dict[str, dict[str, Any]], list[str]]:
    """A dbt-core manifest (each of tests/corpus and tests/manifests), its entries by id, and
    the enabled ones whose parents are enabled (those selection sees)."""
    raw = document(CORE_MANIFESTS[index])
    by_id = dict(entries(raw))
    usable = [
        uid
        for uid in by_id
        if by_id[uid]["resource_type"] != "operation"
        and _enabled(by_id, uid)
        and all(_enabled(by_id, p) for p in _parents(by_id, uid))
    ]
    return raw, by_id, usable


def _enabled(by_id: dict[str, dict[str, Any]], uid: str) -> bool:
    entry = by_id.get(uid)
    return entry is not None and (entry.get("config") or {}).get("enabled", True) is not False


def _parents(by_id: dict[str, dict[str, Any]], uid: str) -> list[str]:
    return list((by_id[uid].get("depends_on") or {}).get("nodes") or [])


def _generated_name(entry: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> bool:
    """Whether dbt-core named the generic test itself (no ``name:`` in its YAML)."""
    metadata = entry["test_metadata"]
    namespace = f"{metadata['namespace']}_" if metadata.get("namespace") else ""
    targets = [
        f"source_{namespace}{metadata['name']}_{p['source_name']}_{p['name']}"
        if p["resource_type"] == "source"
        else f"{namespace}{metadata['name']}_{p['name']}"
        for p in (by_id[uid] for uid in _parents(by_id, entry["unique_id"]))
    ]
    return any(entry["name"] == t or entry["name"].startswith(f"{t}_") for t in targets)


def damage(entry: dict[str, Any], rng: random.Random, models: list[str]) -> None:
    """``entry`` written the way some Fusion build writes it (each change drawn or not)."""
    kind, config = entry["resource_type"], entry["config"]
    defaults = CONFIG_DEFAULTS.get(kind, {})
    for key, value in list(config.items()):
        if key == "freshness":  # `freshness: null` is a source's own setting: kept as written
            continue
        if key in defaults and value == defaults[key] and value is not None and rng.random() < 0.5:
            if rng.random() < 0.5:
                del config[key]
            else:
                config[key] = None
    for key in ("post-hook", "pre-hook"):
        if config.get(key) == [] and rng.random() < 0.5:
            config[key.replace("-", "_")] = config.pop(key) if rng.random() < 0.5 else None
    for key in ("tags", "meta", "group", "access"):
        if key in entry and entry[key] == config.get(key) and rng.random() < 0.5:
            del entry[key]
    if kind in ("seed", "test", "snapshot") and rng.random() < 0.5:
        config["materialized"] = rng.choice([None, "view", "table"])
    if isinstance(entry.get("checksum"), dict) and rng.random() < 0.5:
        entry["checksum"]["name"] = entry["checksum"]["name"].upper()
    for key in ("original_file_path", "path", "patch_path"):
        if isinstance(entry.get(key), str) and rng.random() < 0.5:
            entry[key] = entry[key].replace("/", "\\")
    own = f"{entry['package_name']}://"  # (a node patched from another package's YAML: not known)
    if str(entry.get("patch_path")).startswith(own) and rng.random() < 0.5:
        entry["patch_path"] = entry["patch_path"].split("://", 1)[1]
    if kind == "source" and rng.random() < 0.5:
        entry["fqn"] = [*entry["fqn"][:-2], entry["fqn"][-1]]
    if (entry.get("depends_on") or {}).get("nodes") and rng.random() < 0.5:
        entry["depends_on"]["nodes"] = entry["depends_on"]["nodes"] * 2
    if kind == "unit_test" and models and rng.random() < 0.5:
        entry["depends_on"]["nodes"] = [*entry["depends_on"]["nodes"], rng.choice(models)]
    if kind == "test" and entry.get("test_metadata") and rng.random() < 0.5:
        # an early build's generic test: no test_metadata, SQL under target/generic_tests/
        for key in ("test_metadata", "attached_node", "column_name"):
            entry.pop(key, None)
        entry["path"] = f"generic_tests/{entry['name']}.sql"
        entry["original_file_path"] = f"target/{entry['path']}"
        entry["fqn"] = [entry["package_name"], entry["name"]]
    elif kind in ("model", "seed") and "/" in entry["original_file_path"] and rng.random() < 0.5:
        entry["path"] = entry["original_file_path"]


@pytest.mark.unit
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(range(len(CORE_MANIFESTS))), st.integers(0, 2**32))
def test_a_dbt_core_manifest_written_as_fusion_writes_is_filled_back(index: int, seed: int) -> None:
    """The class of Fusion's gaps, on entries of every dbt-core manifest committed here: each
    fill gives back what dbt-core wrote (a generic test's place only when dbt-core named it:
    a test named by hand does not say which parent it is defined on)."""
    rng = random.Random(seed)  # which entries, and which of Fusion's ways each is written in
    raw, by_id, usable = core_manifest(index)
    chosen = set(rng.sample(usable, min(12, len(usable))))
    needed = chosen | {p for uid in chosen for p in _parents(by_id, uid)}
    models = sorted(u for u in needed if by_id[u]["resource_type"] == "model")
    small: dict[str, Any] = {"metadata": {**raw["metadata"], "dbt_version": "2.0.0-beta.1"}}
    small["macros"] = {uid: {} for uid in raw.get("macros") or {} if ".test_" in uid}
    for section in RECORD_SECTIONS:
        for uid, entry in (raw.get(section) or {}).items():
            if uid in needed:
                small.setdefault(section, {})[uid] = copy.deepcopy(entry)
                if uid in chosen:
                    damage(small[section][uid], rng, models)
    fill_fusion(small)
    filled_by_id = dict(entries(small))
    for uid in chosen:
        original, filled = by_id[uid], filled_by_id[uid]
        inferred = original["resource_type"] == "test" and "test_metadata" in original
        inferred = inferred and filled.get("test_metadata") != original["test_metadata"]
        if inferred:
            assert filled["test_metadata"]["name"] == original["test_metadata"]["name"], uid
            if not _generated_name(original, by_id):
                continue
            fields = ["original_file_path", "fqn", "attached_node"]
        else:
            fields = ["config", "original_file_path", "path", "patch_path", "fqn", "checksum", "depends_on"]
            fields += [k for k in ("tags", "meta", "group", "access") if k in original]
        for field in fields:
            assert filled.get(field) == original.get(field), (uid, field, filled.get(field))


# --- selection: Fusion's manifest selects what dbt-core's does -------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("mode", ["manifest", "project"])
def test_selection_on_fusion_equals_selection_on_dbt_core(pair: Pair, mode: str) -> None:
    """Every generated selection (tests/test_corpus.py's: the whole listing, each method family
    with the project's values, path: on every folder, graph operators, set operations, indirect
    selection), by dbt-assets on both manifests; test_selection_equals_dbt_ls proves the
    dbt-core side equal to dbt ls."""
    project = pair.tree if mode == "project" else None
    fusion = AssetGraph(read_manifest(pair.fusion), project)
    core = AssetGraph(read_manifest(pair.core), project)
    fusion_keys, core_keys = pair.keys(pair.fusion_raw), pair.keys(pair.core_raw)
    differ = []
    selections = [args for args in cases(pair.core_raw) if mode == "project" or _names_nodes(pair, args)]
    for args in selections:
        mine = ours(fusion, args, fusion_keys) & pair.common
        expected = ours(core, args, core_keys) & pair.common
        if mine != expected:
            differ.append((args, sorted(mine ^ expected)[:3]))
    assert len(selections) > 70 and not differ, differ[:5]


def _names_nodes(pair: Pair, args: tuple[str, ...]) -> bool:
    """Whether a selection says what to select. Fusion writes a project's YAML selectors
    without ``default:``: with a manifest alone, nothing says which selects everything else
    (the project's selectors.yml does; a note of the manifest says so)."""
    default = any(s.get("default") for s in (pair.core_raw.get("selectors") or {}).values())
    return not default or "--select" in args or "--exclude" in args


@pytest.mark.slow
def test_selection_on_fusion_equals_dbt_ls_on_dbt_core(pair: Pair) -> None:
    from tests.dbt_oracle import DbtLs

    oracle = DbtLs(pair.tree, pair.core)
    fusion = AssetGraph(read_manifest(pair.fusion))
    fusion_keys, core_keys = pair.keys(pair.fusion_raw), pair.keys(pair.core_raw)
    differ = []
    for args in filter(lambda args: _names_nodes(pair, args), cases(pair.core_raw)):
        expected = {core_keys[uid] for uid in oracle.unique_ids(*args)} & pair.common
        mine = ours(fusion, args, fusion_keys) & pair.common
        if mine != expected:
            differ.append((args, sorted(mine ^ expected)[:3]))
    assert not differ, differ[:5]


@pytest.mark.unit
def test_path_selects_with_either_separator(tmp_path: Path) -> None:
    """A manifest written on Windows (Fusion's, and dbt-core's made so), and ``path:`` written
    with ``\\``: every folder and file of the project selects the same set."""
    windows = make_pair("windows", tmp_path)
    core_raw = copy.deepcopy(windows.core_raw)
    for _, entry in entries(core_raw):
        for key in ("original_file_path", "path", "patch_path"):
            if isinstance(entry.get(key), str):
                entry[key] = entry[key].replace("/", "\\")
    core_on_windows = AssetGraph(decode_manifest(json.dumps(core_raw).encode(), "m.json"))
    graphs = {
        "core": AssetGraph(read_manifest(windows.core)),
        "core on windows": core_on_windows,
        "fusion on windows": AssetGraph(read_manifest(windows.fusion)),
    }
    keys = {**windows.keys(windows.core_raw), **windows.keys(windows.fusion_raw)}
    paths = {
        str(p)
        for _, e in entries(windows.core_raw)
        for p in [PurePosixPath(e["original_file_path"]), *PurePosixPath(e["original_file_path"]).parents]
        if str(p) != "."
    }
    assert len(paths) > 10
    for path in sorted(paths):
        results = [
            {keys[u] for u in select(graph, Selection([f"path:{value}"], resource_types=["all"]))}
            & windows.common
            for graph in graphs.values()
            for value in (path, path.replace("/", "\\"))
        ]
        assert results[0] and all(r == results[0] for r in results), path
        name = Selection([f"file:{PurePosixPath(path).name}"], resource_types=["all"])
        # (Fusion's YAML-defined snapshot comes from a .sql file that is not there: _KNOWN)
        compared = windows.common - {("snapshot", "jaffle_shop", "orders_snapshot", "None")}
        names = [{keys[u] for u in select(g, name)} & compared for g in graphs.values()]
        assert all(n == names[0] for n in names), path


# --- state: across the two engines -----------------------------------------------------------

# dbt-core 1.12 writes a semantic model in the semantic layer's new form (measures in the model's
# metrics), Fusion in the old one: the one node the two engines write differently in substance.
_BOUNCER_DIFFERENT = {"semantic_model.dbt_bouncer_test_project.orders"}


@pytest.mark.unit
@pytest.mark.parametrize("direction", ["fusion after core", "core after fusion"])
def test_state_modified_across_engines_of_an_unchanged_project(direction: str) -> None:
    core, fusion = (FUSION / "bouncer" / f"{f}.json.gz" for f in PAIRS["bouncer"])
    current, previous = (fusion, core) if direction == "fusion after core" else (core, fusion)
    comparison = StateComparison(decode_compared(unpacked(current)), decode_compared(unpacked(previous)))
    both = set(comparison.current_entries) & set(comparison.previous_entries)
    assert len(both) > 120
    for selector in STATE_SELECTORS:
        if selector in ("new", "old", "unmodified"):
            continue
        assert comparison.check(selector, both) <= _BOUNCER_DIFFERENT, selector
    # dbt-core's own comparison of its manifest with itself selects nothing either
    itself = StateComparison(decode_compared(unpacked(core)), decode_compared(unpacked(core)))
    assert itself.check("modified", set(itself.current_entries)) == set()


@pytest.mark.unit
def test_checksum_names_compare_without_case(tmp_path: Path) -> None:
    """The same manifest, once with Fusion's checksum names (``SHA256``): nothing modified."""
    raw = document(REPO / "tests" / "manifests" / "manifest_v12_dbt1.11.16.json.gz")
    fusion = copy.deepcopy(raw)
    fusion["metadata"]["dbt_version"] = "2.0.0-beta.2"
    upper = 0
    for _, entry in entries(fusion):
        if isinstance(entry.get("checksum"), dict) and entry["checksum"]["name"] != "none":
            entry["checksum"]["name"] = entry["checksum"]["name"].upper()
            upper += 1
    assert upper > 5
    for current, previous in ((fusion, raw), (raw, fusion)):
        comparison = StateComparison.of(current, previous)
        assert comparison.check("modified", [u for u, _ in entries(raw)]) == set()


@pytest.mark.unit
def test_an_early_builds_file_digest_is_compared_with_dbt_cores_text() -> None:
    text = "select 1 as id\nfrom {{ ref('x') }}"
    core = {
        "raw_code": text,
        "checksum": {"name": "sha256", "checksum": hashlib.sha256(text.encode()).hexdigest()},
    }
    for ending, same in (("\n", True), ("\r\n", True), ("", True), (" -- changed\n", False)):
        digest = hashlib.sha256((text + ending).encode()).hexdigest()
        fusion = {"raw_code": "--placeholder--", "checksum": {"name": "sha256", "checksum": digest}}
        comparable(fusion, copy.deepcopy(core))
        assert (fusion["raw_code"] == text) == same, ending


@pytest.mark.unit
def test_a_changed_contract_is_judged_without_a_registered_adapter(monkeypatch: pytest.MonkeyPatch) -> None:
    """dbt asks the project's registered adapter which constraints it enforces; with none
    registered (a plain dbt-assets process) the adapter's plugin answers, as dbt ls would."""
    from dbt.adapters import factory

    monkeypatch.setattr(factory.FACTORY, "adapters", {})
    previous = document(FUSION / "bouncer" / "manifest_core_1.12.2.json.gz")
    current = copy.deepcopy(previous)
    model = current["nodes"]["model.dbt_bouncer_test_project.customers.v3"]
    column = next(iter(model["columns"].values()))
    column["data_type"] = "varchar"  # bigint -> varchar: a breaking change
    model["contract"]["checksum"] = "changed"
    comparison = StateComparison.of(current, previous)
    with pytest.raises(SelectionError, match="Breaking change to contract"):
        comparison.check("modified", ["model.dbt_bouncer_test_project.customers.v3"])


# --- results of dbt v2 ---------------------------------------------------------------------


@pytest.mark.unit
@pytest.mark.parametrize(
    "path", sorted(FUSION.glob("*/run_results_fusion_*.json.gz")), ids=lambda p: p.parent.name
)
def test_fusion_run_results_are_read(path: Path, tmp_path: Path) -> None:
    raw = json.loads(unpacked(path))
    file = tmp_path / "run_results.json"
    file.write_bytes(json.dumps(raw).encode())
    imported = read_run_results(file)
    statuses = sorted({row[1] for row in imported.rows})
    assert imported.dbt_version == raw["metadata"]["dbt_version"] and statuses
    assert statuses == sorted({r["status"].lower() for r in raw["results"]})
    # capitalised, as some Fusion builds write them: read the same, and result: selects the same
    for result in raw["results"]:
        result["status"] = result["status"].capitalize()
    file.write_bytes(json.dumps(raw).encode())
    assert sorted({row[1] for row in read_run_results(file).rows}) == statuses
    state = PreviousState(tmp_path)
    from dbt_assets.selection.state import result_nodes

    for status in statuses:
        assert result_nodes(state, status) == {
            r["unique_id"] for r in raw["results"] if r["status"].lower() == status
        }


@pytest.mark.unit
def test_fusion_sources_json_is_read(tmp_path: Path) -> None:
    path = FUSION / "fundamentals" / "sources_fusion_2.0.0-preview.92.json.gz"
    raw = json.loads(unpacked(path))
    assert {r["status"] for r in raw["results"]} == {"Pass", "Warn"}
    (tmp_path / "sources.json").write_bytes(unpacked(path))
    imported = read_source_freshness(tmp_path / "sources.json")
    assert sorted(row[1] for row in imported.rows) == ["pass", "warn"]
    assert all(row[10] is not None for row in imported.rows)  # max_loaded_at
    # source_status:fresher against the same check an hour earlier: every source is fresher
    previous, current = tmp_path / "previous", tmp_path / "current"
    previous.mkdir(), current.mkdir()
    (current / "sources.json").write_bytes(unpacked(path))
    for result in raw["results"]:
        loaded = dt.datetime.fromisoformat(result["max_loaded_at"].replace("Z", "+00:00"))
        result["max_loaded_at"] = (loaded - dt.timedelta(hours=1)).isoformat()
    (previous / "sources.json").write_bytes(json.dumps(raw).encode())
    from dbt_assets.selection.state import source_status_nodes

    fresher = source_status_nodes(PreviousState(previous, target_dir=current), "fresher")
    assert fresher == {r["unique_id"] for r in raw["results"]}
