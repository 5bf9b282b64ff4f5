"""Before a run: what it reads that the warehouse lacks, asked of a real DuckDB file in-process
(no dbt), on the example manifest (dbt 1.11's, of ``tests/manifests/project``)."""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pytest

from dbt_assets.api.runs import build_command, preflight_notices
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.run.project import Project
from dbt_assets.run.warehouse import existing_relations, preflight, source_writers, target_output

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).parent / "manifests"
ITEMS, STATS, EVENTS = "model.mini.items", "model.mini.item_stats.v2", "model.mini.events"
RAW, SOURCE = "seed.mini.raw_items", "source.mini.app.events"


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> AssetGraph:
    unpacked = tmp_path_factory.mktemp("manifest") / "manifest.json"
    unpacked.write_bytes(gzip.decompress((EXAMPLE / "manifest_v12_dbt1.11.16.json.gz").read_bytes()))
    return AssetGraph(read_manifest(unpacked))


@pytest.fixture
def project(tmp_path: Path) -> Project:
    for name in ("dbt_project.yml", "profiles.yml"):
        shutil.copy(EXAMPLE / "project" / name, tmp_path / name)
    return Project(tmp_path, profiles_dir=tmp_path)


def _warehouse(project: Project, *tables: str) -> None:
    """The target's DuckDB file (``target/mini.duckdb``) holding these main-schema tables."""
    (project.project_dir / "target").mkdir(exist_ok=True)
    with duckdb.connect(str(project.project_dir / "target" / "mini.duckdb")) as connection:
        for table in tables:
            connection.execute(f"create table main.{table} (id integer)")


def _never(_ids: Iterable[str]) -> set[str]:
    return set()


def test_the_relations_of_a_duckdb_target_are_read_from_its_file(project: Project) -> None:
    assert existing_relations(project) == set(), "no file yet: nothing was ever built there"
    _warehouse(project, "items", "raw_items")
    assert existing_relations(project) == {("mini", "main", "items"), ("mini", "main", "raw_items")}


def test_a_target_that_cannot_be_read_directly_is_unknown(project: Project, tmp_path: Path) -> None:
    profiles = tmp_path / "profiles.yml"
    profiles.write_text(profiles.read_text().replace("type: duckdb", "type: postgres"))
    assert existing_relations(project) is None
    profiles.write_text("mini:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: ':memory:'}\n")
    assert existing_relations(project) is None
    profiles.write_text(
        "mini:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: '{{ var(\"x\") }}'}\n"
    )
    assert existing_relations(project) is None
    profiles.write_text("not: [valid")
    assert target_output(project) is None


def test_env_var_in_the_profile_is_filled_in(
    project: Project, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = tmp_path / "profiles.yml"
    profiles.write_text(
        "mini:\n  target: \"{{ env_var('MINI_TARGET', 'dev') }}\"\n  outputs:\n"
        "    dev: {type: duckdb, path: \"{{ env_var('MINI_PATH') }}\"}\n"
    )
    monkeypatch.delenv("MINI_PATH", raising=False)
    assert existing_relations(project) is None, "an unset variable without a default: unknown"
    monkeypatch.setenv("MINI_PATH", "target/mini.duckdb")
    _warehouse(project, "items")
    assert existing_relations(project) == {("mini", "main", "items")}


def test_a_parent_outside_the_run_that_was_never_built_is_found(graph: AssetGraph, project: Project) -> None:
    found = preflight(graph, [STATS], _never, project)
    assert found.unbuilt == {ITEMS: [STATS]}
    _warehouse(project, "items")
    assert not preflight(graph, [STATS], _never, project), "built by other means: it is there"


def test_the_warehouse_is_not_asked_when_everything_involved_succeeded(
    graph: AssetGraph, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[Project] = []

    def existing(asked_of: Project) -> set[tuple[str, str, str]]:
        asked.append(asked_of)
        return set()

    monkeypatch.setattr("dbt_assets.run.warehouse.existing_relations", existing)
    assert not preflight(graph, [STATS], lambda ids: set(ids), project)
    assert asked == []
    assert preflight(graph, [STATS], _never, project).unbuilt == {ITEMS: [STATS]}
    assert asked == [project]


def test_a_missing_source_is_named_with_the_seed_that_writes_its_table(
    graph: AssetGraph, project: Project
) -> None:
    found = preflight(graph, [EVENTS], _never, project)
    assert found.unloaded == {SOURCE: None}, "only the model that reads it writes main.events: no loader"
    assert source_writers(graph, [SOURCE]) == {SOURCE: None}
    _warehouse(project, "events")
    assert not preflight(graph, [EVENTS], _never, project)


def test_notices_name_what_is_missing_and_the_commands_that_build_it(
    graph: AssetGraph, project: Project
) -> None:
    said = preflight_notices(project, graph, [STATS, EVENTS], None)
    assert said[0] == "source app.events has no table in the warehouse: load it before running what reads it"
    assert said[1].startswith(
        "items never succeeded here and is not in the warehouse, and this run's item_stats"
    )
    assert said[2] == "this run will fail on them; first: dbt-assets build -s +items"
    _warehouse(project, "items", "events")
    assert preflight_notices(project, graph, [STATS, EVENTS], None) == []


def test_build_command_builds_only_the_nearest(graph: AssetGraph) -> None:
    assert build_command(graph, [ITEMS, RAW], {}) == "dbt-assets build -s +items", "+items builds raw_items"
    assert build_command(graph, [RAW], {}) == "dbt-assets build -s +raw_items"


def test_a_seed_that_loads_a_source_is_built_first(tmp_path: Path, project: Project) -> None:
    """The source's table is the seed's (a seed loading a source, as in the fixture): the seed is
    named as its loader and built before what reads the source (dbt does not order them)."""
    import json

    raw = json.loads(gzip.decompress((EXAMPLE / "manifest_v12_dbt1.11.16.json.gz").read_bytes()))
    raw["sources"][SOURCE]["identifier"] = "raw_items"
    (tmp_path / "manifest.json").write_text(json.dumps(raw))
    graph = AssetGraph(read_manifest(tmp_path / "manifest.json"))
    assert source_writers(graph, [SOURCE]) == {SOURCE: RAW}
    assert preflight(graph, [EVENTS], _never, project).unloaded == {SOURCE: RAW}
    said = preflight_notices(project, graph, [EVENTS, ITEMS], None)
    assert said[0] == (
        "source app.events: the warehouse has no table for it yet, "
        "and seed raw_items of this project writes it"
    )
    assert said[-1] == "this run will fail on them; first: dbt-assets build -s raw_items", (
        "not +raw_items again"
    )
    assert (
        build_command(graph, [EVENTS], {})
        == "dbt-assets build -s raw_items, then dbt-assets build -s +events"
    )
    racing = preflight_notices(project, graph, [EVENTS, RAW], None)
    assert racing == [
        "source app.events: the warehouse has no table for it yet; this run's seed raw_items writes it, "
        "but dbt does not order a source's tests after them: should those fail, dbt-assets build -s "
        "raw_items first, then this again"
    ], "the seed is in the run: no 'will fail', a hint"
