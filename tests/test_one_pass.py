"""The one-pass form of long plans: the threshold, the generated state dbt reads, and its
removal. (Exactness in dbt ls: test_compile.py; a run in one pass: test_long_selection.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_assets._core.errors import SelectionError
from dbt_assets.plan.one_pass import ONE_PASS_ENV, generated_state, one_pass_criteria

pytestmark = pytest.mark.unit


def test_the_threshold_shrinks_as_the_project_grows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ONE_PASS_ENV, raising=False)
    assert one_pass_criteria(10_000) == 10
    assert one_pass_criteria(70) == 1428
    assert one_pass_criteria(10**9) == 1 and one_pass_criteria(0) == 100_000
    monkeypatch.setenv(ONE_PASS_ENV, "0")
    assert one_pass_criteria(10_000) == 0
    monkeypatch.setenv(ONE_PASS_ENV, "many")
    with pytest.raises(SelectionError, match=f"{ONE_PASS_ENV}='many' is not a number"):
        one_pass_criteria(10)


def test_dbt_reads_the_generated_state_as_a_run_of_exactly_the_set() -> None:
    from dbt.artifacts.schemas.run import RunResultsArtifact

    ids = ["model.p.b", "model.p.a", "test.p.t.1", "seed.p.s"]
    with generated_state(ids) as folder:
        read = RunResultsArtifact.read_and_check_versions(str(folder / "run_results.json"))
        assert sorted(r.unique_id for r in read.results) == sorted(ids)
        assert {r.status for r in read.results} == {"success"}
    assert not folder.exists()


def test_the_generated_state_is_removed_when_the_run_fails() -> None:
    kept: list[Path] = []
    with pytest.raises(RuntimeError), generated_state(["model.p.a"]) as folder:
        kept.append(folder)
        raise RuntimeError("dbt crashed")
    assert kept and not kept[0].exists()


def test_plan_says_what_the_generated_state_is_within_100_columns(tmp_path: Path) -> None:
    import gzip

    from dbt_assets.api import load_graph
    from dbt_assets.cli.render import render_plan
    from dbt_assets.plan.compile import plan
    from tests.conftest import REPO

    committed = REPO / "tests" / "corpus" / "jaffle_shop" / "manifest_dbt1.11.16.json.gz"
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(gzip.decompress(committed.read_bytes()))
    graph = load_graph(manifest=manifest)
    models = sorted(u for u in graph.records if u.startswith("model."))
    for planned in (
        plan(graph, "run", unique_ids=models, one_pass=0),
        plan(graph, "run", unique_ids=models, one_pass=len(models), max_argv=0),  # a selector
    ):
        text = render_plan(graph, planned)
        assert max(len(line) for line in text.splitlines()) <= 100, text
    unwritten = plan(graph, "run", unique_ids=models, one_pass=0)
    assert "not runnable as shown" in render_plan(graph, unwritten) and not unwritten.runnable
    written = unwritten.with_state(tmp_path / "state")
    assert written.runnable and written.argv[-2:] == ("--state", str(tmp_path / "state"))
    assert "run_results.json lists these" in " ".join(render_plan(graph, written).split())
