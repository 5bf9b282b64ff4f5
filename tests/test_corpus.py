"""The differential suite on a corpus of real public dbt projects (tests/corpus/README.md).

Each corpus entry is the manifest dbt itself wrote when it parsed the real project (its
packages installed). The oracle is dbt's own selector over that manifest (``dbt ls`` with the
manifest preloaded); ``path:`` globs a copy of the root project's file tree (every file a
root-project node comes from), which is all of the project that dbt's selection reads. On
each project: the full listing, every method family with the values the project has, graph
operators, set operations, indirect selection, and compiled-plan exactness for random subsets,
with dbt-assets reading the manifest alone and reading the project directory.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from dbt_assets._core.vocab import RECORD_SECTIONS
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import plan
from dbt_assets.selection import resource_types_for
from tests.conftest import REPO, cli
from tests.dbt_oracle import DbtLs
from tests.test_compile import dbt_selects

pytestmark = pytest.mark.slow

CORPUS = REPO / "tests" / "corpus"
MANIFESTS = sorted(CORPUS.glob("*/manifest_dbt*.json.gz"))


@dataclass
class Corpus:
    name: str
    project: Path
    """A copy of the root project's file tree, with target/manifest.json."""
    raw: dict[str, Any]
    oracle: DbtLs
    expected: dict[tuple[str, ...], list[dict[str, Any]]] = field(default_factory=dict)
    """dbt's answers, asked once for both modes."""

    @property
    def manifest(self) -> Path:
        return self.project / "target" / "manifest.json"

    @property
    def written_by_this_dbt(self) -> bool:
        import dbt.version

        return bool(self.raw["metadata"]["dbt_version"] == dbt.version.__version__)

    def dbt_ls(self, *args: str) -> list[dict[str, Any]]:
        if args not in self.expected:
            self.expected[args] = self.oracle.json(*args)
        return self.expected[args]


def rebuild(manifest_gz: Path, dest: Path) -> Path:
    """The root project as far as dbt's selection sees it: dbt_project.yml, a profile, an
    empty file at each path a root-project node comes from, then the manifest (written last,
    so that dbt-assets does not find it stale)."""
    data = gzip.decompress(manifest_gz.read_bytes())
    raw = json.loads(data)
    name = raw["metadata"]["project_name"]
    dest.mkdir(parents=True)
    (dest / "dbt_project.yml").write_text(
        f"name: {name}\nversion: '1.0'\nconfig-version: 2\nprofile: corpus\n"
    )
    (dest / "profiles.yml").write_text(
        "corpus:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: ':memory:'}\n"
    )
    for section in RECORD_SECTIONS:
        for node in (raw.get(section) or {}).values():
            if node.get("package_name") != name:
                continue
            for path in (node.get("original_file_path"), (node.get("patch_path") or "").partition("://")[2]):
                if path:
                    (dest / path).parent.mkdir(parents=True, exist_ok=True)
                    (dest / path).touch()
    (dest / "target").mkdir(exist_ok=True)
    (dest / "target" / "manifest.json").write_bytes(data)
    return dest


@pytest.fixture(
    scope="module", params=MANIFESTS, ids=lambda p: f"{p.parent.name}-{p.name.split('_')[1][:-8]}"
)
def corpus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    source: Path = request.param
    project = rebuild(source, tmp_path_factory.mktemp(source.parent.name) / "project")
    raw = json.loads((project / "target" / "manifest.json").read_bytes())
    return Corpus(source.parent.name, project, raw, DbtLs(project, project / "target" / "manifest.json"))


def _records(raw: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for section in RECORD_SECTIONS:
        for node in (raw.get(section) or {}).values():
            if node.get("config", {}).get("enabled", True) and node["resource_type"] != "operation":
                yield node


def cases(raw: dict[str, Any]) -> list[tuple[str, ...]]:
    """Selections built from what the project has: every method family with a few of its
    values, graph operators and set operations on sampled names, indirect selection modes
    (fewer values on a large project, where each dbt ls costs dbt seconds)."""
    rng = random.Random(7)
    nodes = list(_records(raw))
    limit = 6 if len(nodes) < 1000 else 3
    root = raw["metadata"]["project_name"]

    def some(values: set[str]) -> list[str]:
        ordered = sorted(v for v in values if v and " " not in v)
        return rng.sample(ordered, min(limit, len(ordered)))

    models = [n for n in nodes if n["resource_type"] == "model"]
    names = some({n["name"] for n in models})
    tags = some({t for n in nodes for t in n.get("tags") or []})
    folders = some(
        {str(PurePosixPath(n["original_file_path"]).parent) for n in nodes if n["package_name"] == root}
        - {"."}
    )
    atoms = [f"tag:{t}" for t in tags] + ["tag:*"]
    atoms += [
        f"config.materialized:{m}" for m in some({str(n["config"].get("materialized")) for n in models})
    ]
    atoms += [f"package:{p}" for p in some({n["package_name"] for n in nodes})] + ["package:this"]
    atoms += [f"path:{f}" for f in folders] + [f"{f}" for f in folders[:2] if "/" in f]
    atoms += ["path:models/*", "path:models/**/*.yml", "path:seeds", "path:snapshots", "path:tests"]
    atoms += [
        f"file:{PurePosixPath(n['original_file_path']).name}" for n in rng.sample(models, min(3, len(models)))
    ]
    atoms += [f"resource_type:{t}" for t in sorted({n["resource_type"] for n in nodes})]
    atoms += [
        f"source:{s}" for s in some({n["source_name"] for n in nodes if n["resource_type"] == "source"})
    ]
    atoms += ["source:*", "exposure:*", "metric:*", "semantic_model:*", "saved_query:*", "unit_test:*"]
    tests = {(n.get("test_metadata") or {}).get("name", "") for n in nodes if n["resource_type"] == "test"}
    atoms += [f"test_name:{t}" for t in some(tests)]
    atoms += ["test_type:generic", "test_type:singular", "test_type:unit", "group:*", "access:public"]
    atoms += ["access:protected", "version:latest", "version:none", "config.enabled:true"]
    selections: list[tuple[str, ...]] = [(), ("--resource-type", "all")]
    selections += [("--select", atom) for atom in atoms]
    for name in names:
        selections += [("--select", f"+{name}"), ("--select", f"{name}+"), ("--select", f"@{name}")]
        selections += [("--select", f"1+{name}+1")]
    if len(names) >= 2:
        a, b = names[:2]
        selections += [
            ("--select", f"{a}+ {b}+"),
            ("--select", f"+{a},+{b}"),
            ("--select", f"+{a}", "--exclude", f"{b}+"),
            ("--select", f"{a}+", "--resource-type", "model"),
        ]
        if tags:
            selections.append(("--select", f"+{a},tag:{tags[0]}"))
    for mode in ("eager", "cautious", "buildable", "empty"):
        selections += [("--select", f"{name}+", "--indirect-selection", mode) for name in names[:2]]
    return selections


def test_corpus_has_the_variety_it_claims() -> None:
    """At least six projects; packages, a semantic layer, snapshots, unit tests, versions,
    groups, exposures and a project of 500+ models among them (a corpus that silently lost
    an entry would test less)."""
    projects = {p.parent.name for p in MANIFESTS}
    assert len(projects) >= 6
    seen: set[str] = set()
    for path in MANIFESTS:
        raw = json.loads(gzip.decompress(path.read_bytes()))
        nodes = list(_records(raw))
        root = raw["metadata"]["project_name"]
        kinds = {n["resource_type"] for n in nodes}
        seen |= kinds
        if any(n["package_name"] != root for n in nodes):
            seen.add("package nodes")
        if sum(n["resource_type"] == "model" for n in nodes) >= 500:
            seen.add("500+ models")
        if any(n.get("version") is not None for n in nodes):
            seen.add("versions")
        if raw.get("groups"):
            seen.add("groups")
    wanted = {"package nodes", "500+ models", "versions", "groups", "semantic_model", "saved_query"}
    wanted |= {"metric", "snapshot", "unit_test", "exposure", "seed", "source"}
    assert wanted <= seen, wanted - seen


def test_every_corpus_manifest_loads(corpus: Corpus) -> None:
    manifest = read_manifest(corpus.manifest)
    assert manifest.ignored == []
    assert set(manifest.records) == {n["unique_id"] for n in _records(corpus.raw)}


@pytest.mark.parametrize("mode", ["manifest", "project"])
def test_corpus_selections_match_dbt_ls(corpus: Corpus, mode: str) -> None:
    """Every generated selection, in one test per project and mode (a project has ~90): the
    whole listing compared as dbt prints it, the other selections by unique_id (dbt's JSON
    of a large selection costs it seconds). A manifest an older dbt wrote is compared by
    unique_id only: this dbt would print its own config defaults into that older listing."""
    source = (
        ["--manifest", str(corpus.manifest)] if mode == "manifest" else ["--project-dir", str(corpus.project)]
    )
    mismatches = []
    selections = cases(corpus.raw)
    for i, args in enumerate(selections):
        whole = i < 2 and corpus.written_by_this_dbt
        keys = () if whole else ("--output-keys", "unique_id")
        expected = corpus.dbt_ls(*keys, *args)
        result = cli("ls", *source, "--output", "json", *keys, *args)
        assert result.exit_code == 0, (args, result.stderr)
        ours = [json.loads(line) for line in result.stdout.splitlines()]
        if ours != expected:
            mismatches.append((args, _first_difference(ours, expected)))
    assert not mismatches, f"{len(mismatches)} of {len(selections)} differ from dbt ls: {mismatches[:5]}"


def _first_difference(ours: list[dict[str, Any]], expected: list[dict[str, Any]]) -> str:
    if len(ours) != len(expected):
        missing = {e["unique_id"] for e in expected} ^ {o["unique_id"] for o in ours}
        return f"{len(ours)} listed, dbt {len(expected)}: {sorted(missing)[:3]}"
    for a, b in zip(ours, expected, strict=True):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return f"{b.get('unique_id')}.{key}: {a.get(key)!r:.80} != dbt {b.get(key)!r:.80}"
    return "?"


@pytest.mark.parametrize("command", ["run", "build", "test"])
@pytest.mark.parametrize("seed", range(3))
def test_corpus_random_subsets_compile_exactly(corpus: Corpus, command: str, seed: int) -> None:
    graph = AssetGraph(read_manifest(corpus.manifest), corpus.project if seed % 2 else None)
    types = resource_types_for(command)
    pool = sorted(u for u, r in graph.records.items() if r.resource_type in types)
    if not pool:
        pytest.skip(f"{corpus.name} has nothing `dbt {command}` runs")
    rng = random.Random(seed * 101 + len(command))
    chosen = sorted(rng.sample(pool, min(len(pool), [1, 7, max(1, len(pool) // 3)][seed])))
    # the explicit tokens (real projects' names and folders), whatever their number: the
    # one-pass form is proven on its own (test_compile.py)
    result = plan(graph, command, unique_ids=chosen, one_pass=len(chosen))
    assert result.strategy == "explicit" and dbt_selects(corpus.oracle, result) == chosen, result.argv[:12]


def test_corpus_subsets_in_one_pass_are_exact(corpus: Corpus) -> None:
    """The one-pass form on real projects (unit tests, semantic models, saved queries, packages
    among their nodes): a third of what `dbt build` runs, as dbt's result: method reads it."""
    graph = AssetGraph(read_manifest(corpus.manifest), corpus.project)
    pool = sorted(u for u, r in graph.records.items() if r.resource_type in resource_types_for("build"))
    chosen = sorted(random.Random(len(pool)).sample(pool, max(1, len(pool) // 3)))
    result = plan(graph, "build", unique_ids=chosen, one_pass=0)
    assert result.strategy == "one pass" and dbt_selects(corpus.oracle, result) == chosen
