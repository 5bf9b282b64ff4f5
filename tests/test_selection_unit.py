"""Selection's three stages without dbt, on committed manifests (the example manifests and the
corpus of real projects): parse (text to spec), dbt's methods (each checked against what the
manifest's JSON says, computed here on its own), and evaluate (graph operators, set operations,
indirect selection of tests). The differential suites check the same against dbt itself; these
run in the unit tier and say which stage broke."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import networkx as nx
import pytest

import dbt_assets.api  # noqa: F401 (registers status: and sla:, as every entry point does)
from dbt_assets._core.errors import SelectionError
from dbt_assets._core.vocab import ASSET_RESOURCE_TYPES, RECORD_SECTIONS
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.selection import select
from dbt_assets.selection.parse import parse_cli, parse_term
from dbt_assets.selection.registry import DBT_METHODS, HISTORY_METHODS, METHODS, MethodContext
from dbt_assets.selection.request import Selection
from dbt_assets.selection.spec import Criterion, Group

pytestmark = pytest.mark.unit  # starts no process


REPO = Path(__file__).resolve().parent.parent
MANIFESTS = sorted((REPO / "tests" / "manifests").glob("manifest_v*.json.gz")) + sorted(
    (REPO / "tests" / "corpus").glob("*/manifest_*.json.gz")
)


class Loaded:
    """A committed manifest: our graph, the raw JSON, and its records as the JSON has them."""

    def __init__(self, path: Path, folder: Path) -> None:
        data = gzip.decompress(path.read_bytes())
        unpacked = folder / "manifest.json"
        unpacked.write_bytes(data)
        self.graph = AssetGraph(read_manifest(unpacked))
        self.raw: dict[str, Any] = json.loads(data)
        self.nodes: dict[str, dict[str, Any]] = {
            uid: node
            for section in RECORD_SECTIONS
            for uid, node in (self.raw.get(section) or {}).items()
            if node.get("resource_type") in ASSET_RESOURCE_TYPES
            and (node.get("config") or {}).get("enabled", True) is not False  # dbt leaves those out
        }
        edges = nx.DiGraph()
        edges.add_nodes_from(self.nodes)
        for uid, node in self.nodes.items():
            for parent in (node.get("depends_on") or {}).get("nodes") or []:
                if parent in self.nodes:
                    edges.add_edge(parent, uid)
        self.edges = edges

    def method(self, name: str, value: str, *args: str) -> set[str]:
        return METHODS[name](MethodContext(self.graph), tuple(args), value)

    def where(self, test: Any) -> set[str]:
        return {uid for uid, node in self.nodes.items() if test(node)}

    def models(self) -> list[str]:
        return sorted(u for u, n in self.nodes.items() if n["resource_type"] == "model")


@pytest.fixture(scope="module", params=MANIFESTS, ids=lambda p: f"{p.parent.name}/{p.name.split('.json')[0]}")
def loaded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    yield Loaded(request.param, tmp_path_factory.mktemp("manifest"))


# --- parse ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("orders", {"method": "fqn", "value": "orders"}),
        ("tag:finance", {"method": "tag", "value": "finance"}),
        ("config.materialized:table", {"method": "config", "args": ("materialized",), "value": "table"}),
        ("+orders", {"parents": True, "parents_depth": None}),
        ("2+orders+1", {"parents": True, "parents_depth": 2, "children": True, "children_depth": 1}),
        ("@orders", {"childrens_parents": True, "parents": False, "children": False}),
        ("path:models/staging", {"method": "path", "value": "models/staging"}),
        ("downstream_of:tag:finance", {"method": "downstream_of", "value": "tag:finance"}),
    ],
)
def test_a_term_parses_to_its_criterion(text: str, expected: dict[str, object]) -> None:
    criterion = parse_term(text, METHODS)
    assert isinstance(criterion, Criterion)
    for key, value in expected.items():
        assert getattr(criterion, key) == value, key


def test_spaces_union_commas_intersect_and_exclude_is_a_difference() -> None:
    spec = parse_cli(["a b,tag:x"], ["c"], METHODS, "eager")
    assert isinstance(spec, Group) and spec.kind == "difference"
    selected, excluded = spec.components
    assert isinstance(selected, Group) and selected.kind == "union"
    assert isinstance(excluded, Group | Criterion)
    kinds = [c.kind if isinstance(c, Group) else "criterion" for c in _leaves_or_groups(selected)]
    assert "intersection" in kinds


def _leaves_or_groups(spec: Group) -> Iterator[Criterion | Group]:
    for component in spec.components:
        yield component
        if isinstance(component, Group):
            yield from _leaves_or_groups(component)


@pytest.mark.parametrize("text", ["nosuchmethod:x", "tag:", "+", "1+", "@orders+"])
def test_a_term_dbt_refuses_is_a_selection_error(text: str) -> None:
    with pytest.raises(SelectionError):
        select_spec = parse_term(text, METHODS)
        assert select_spec  # pragma: no cover (the parse raised)


def test_the_registry_knows_dbts_methods_and_ours_apart() -> None:
    assert {"fqn", "tag", "path", "config", "resource_type", "state", "result"} <= DBT_METHODS
    assert {"downstream_of", "upstream_of", "owner", "status", "sla"} <= set(METHODS) - DBT_METHODS
    assert {"status", "sla"} == HISTORY_METHODS


# --- dbt's methods, each against the JSON ---------------------------------------------------


def test_tag_selects_every_record_with_the_tag(loaded: Loaded) -> None:
    tags = {tag for node in loaded.nodes.values() for tag in node.get("tags") or []}
    for tag in sorted(tags):
        assert loaded.method("tag", tag) == loaded.where(lambda n, t=tag: t in (n.get("tags") or [])), tag


def test_resource_type_and_package_select_what_the_records_say(loaded: Loaded) -> None:
    for kind in {n["resource_type"] for n in loaded.nodes.values()}:
        assert loaded.method("resource_type", kind) == loaded.where(lambda n, k=kind: n["resource_type"] == k)
    for package in {n["package_name"] for n in loaded.nodes.values()}:
        assert loaded.method("package", package) == loaded.where(lambda n, p=package: n["package_name"] == p)


def test_config_selects_by_the_configured_value(loaded: Loaded) -> None:
    materializations = {
        n["config"]["materialized"]
        for n in loaded.nodes.values()
        if (n.get("config") or {}).get("materialized")
    }
    assert materializations
    configurable = set(loaded.raw["nodes"]) | set(loaded.raw["sources"])  # dbt's "configurable nodes"
    for value in materializations:
        expected = loaded.where(lambda n, v=value: (n.get("config") or {}).get("materialized") == v)
        assert loaded.method("config", value, "materialized") == expected & configurable, value


def test_source_selects_a_source_and_its_tables(loaded: Loaded) -> None:
    sources = {uid: n for uid, n in loaded.nodes.items() if n["resource_type"] == "source"}
    for name in {n["source_name"] for n in sources.values()}:
        expected = {uid for uid, n in sources.items() if n["source_name"] == name}
        assert loaded.method("source", name) == expected
        for uid in expected:
            table = sources[uid]["name"]
            assert uid in loaded.method("source", f"{name}.{table}")


def test_test_type_splits_the_tests(loaded: Loaded) -> None:
    generic = loaded.where(lambda n: n["resource_type"] == "test" and n.get("test_metadata"))
    singular = loaded.where(lambda n: n["resource_type"] == "test" and not n.get("test_metadata"))
    unit = loaded.where(lambda n: n["resource_type"] == "unit_test")
    assert loaded.method("test_type", "generic") == generic
    assert loaded.method("test_type", "singular") == singular
    assert loaded.method("test_type", "unit") == unit


def test_a_bare_model_name_selects_that_model(loaded: Loaded) -> None:
    for uid in loaded.models():
        node = loaded.nodes[uid]
        if node.get("version") is None:
            assert uid in loaded.method("fqn", node["name"]), uid


# --- evaluate: graph operators, set operations, tests ---------------------------------------


def _chosen(loaded: Loaded, *texts: str, exclude: tuple[str, ...] = (), mode: Any = "empty") -> set[str]:
    return set(
        select(
            loaded.graph, Selection(texts, exclude=exclude, resource_types=["all"], indirect_selection=mode)
        )
    )


def _sample(loaded: Loaded) -> list[tuple[str, str]]:
    """Some models (every twelfth) with a name that selects them alone."""
    models = loaded.models()
    found = []
    for uid in models[:: max(1, len(models) // 12)]:
        name = loaded.nodes[uid]["name"]
        if loaded.nodes[uid].get("version") is None and loaded.method("fqn", name) == {uid}:
            found.append((uid, name))
    return found


def test_graph_operators_follow_depends_on(loaded: Loaded) -> None:
    assert _sample(loaded)
    for uid, term in _sample(loaded):
        up, down = nx.ancestors(loaded.edges, uid), nx.descendants(loaded.edges, uid)
        assert _chosen(loaded, f"+{term}") == up | {uid}
        assert _chosen(loaded, f"{term}+") == down | {uid}
        assert _chosen(loaded, f"1+{term}") == set(loaded.edges.predecessors(uid)) | {uid}
        around = {uid} | down
        assert _chosen(loaded, f"@{term}") == around | {
            a for d in around for a in nx.ancestors(loaded.edges, d)
        }
        assert _chosen(loaded, f"upstream_of:{term}") == _chosen(loaded, f"+{term}")
        assert _chosen(loaded, f"downstream_of:{term}") == _chosen(loaded, f"{term}+")


def test_union_intersection_and_exclude_are_set_operations(loaded: Loaded) -> None:
    kinds = sorted({n["resource_type"] for n in loaded.nodes.values()})
    a, b = f"resource_type:{kinds[0]}", f"resource_type:{kinds[-1]}"
    package = f"package:{loaded.nodes[loaded.models()[0]]['package_name']}"
    assert _chosen(loaded, a, b) == _chosen(loaded, a) | _chosen(loaded, b)
    assert _chosen(loaded, f"{package},{a}") == _chosen(loaded, package) & _chosen(loaded, a)
    assert _chosen(loaded, package, exclude=(a,)) == _chosen(loaded, package) - _chosen(loaded, a)


def test_indirect_selection_adds_the_tests_of_what_was_selected(loaded: Loaded) -> None:
    tests = {uid: n for uid, n in loaded.nodes.items() if n["resource_type"] == "test"}
    parents_of = {
        t: set((n.get("depends_on") or {}).get("nodes") or []) & set(loaded.nodes) for t, n in tests.items()
    }
    for uid, term in _sample(loaded):
        touching = {t for t, parents in parents_of.items() if uid in parents}
        only_on_it = {t for t in touching if parents_of[t] <= {uid}}
        eager = _chosen(loaded, term, mode="eager")
        cautious = _chosen(loaded, term, mode="cautious")
        assert _chosen(loaded, term, mode="empty") == {uid}
        assert eager >= {uid} | touching, "eager: every test that touches the selection"
        assert {t for t in eager - {uid} if t in tests} == touching
        assert {uid} | only_on_it <= cautious <= eager, "cautious: only tests whose parents are all selected"
        assert {t for t in cautious if t in tests} == only_on_it


# --- the Selection value --------------------------------------------------------------------


def test_a_selection_is_dbts_flags_as_one_value() -> None:
    chosen = Selection(
        "orders+", exclude=["stg_*"], resource_types=["model", "seed"], indirect_selection="cautious"
    )
    assert chosen.select == ("orders+",), "one string is one --select value, not its letters"
    assert chosen.flags() == [
        "--select", "orders+", "--exclude", "stg_*", "--resource-type", "model", "seed",
        "--indirect-selection", "cautious",
    ]  # fmt: skip
    assert chosen.record() == {
        "select": ["orders+"],
        "exclude": ["stg_*"],
        "resource_type": ["model", "seed"],
        "indirect_selection": "cautious",
    }
    assert Selection.of(["a", "b"]) == Selection(["a", "b"]) and Selection.of(chosen) is chosen
    assert chosen.replace(exclude=()).exclude == () and chosen.exclude == ("stg_*",)
    assert Selection().empty and not chosen.empty and not Selection(selector="nightly").empty


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"select": [1]}, "select takes strings"),
        ({"indirect_selection": "eagerly"}, "indirect selection mode"),
    ],
)
def test_a_selection_refuses_what_is_not_a_flag(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(SelectionError, match=needle):
        Selection(**kwargs)
