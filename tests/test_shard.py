"""Sharding: groups that cover the selection once, never depend on a later group, and whose
compiled arguments select exactly their assets in ``dbt ls``; the predicted makespan."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbt_assets.api import load_graph, shard_selection
from dbt_assets.history.facts import AssetFacts
from dbt_assets.history.store import History
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import Plan, plan
from dbt_assets.plan.shard import ShardedPlan, shard
from tests.conftest import cli, generated_project
from tests.dbt_oracle import DbtLs
from tests.test_compile import dbt_selects

pytestmark = pytest.mark.slow


def check_groups(graph: AssetGraph, sharded: ShardedPlan, planned: list[str]) -> None:
    """Every planned asset in exactly one group; dependencies only on earlier groups, and
    ``after`` naming exactly the groups depended on."""
    index_of: dict[str, int] = {}
    for s in sharded.shards:
        for uid in s.plan.unique_ids:
            assert uid not in index_of, f"{uid} is in two groups"
            index_of[uid] = s.index
    assert sorted(index_of) == planned
    for s in sharded.shards:
        needed = {
            index_of[p]
            for uid in s.plan.unique_ids
            for p in graph.records[uid].depends_on.nodes
            if p in index_of and index_of[p] != s.index
        }
        assert all(i < s.index for i in needed), "a dependency crosses groups backwards"
        assert set(s.after) == needed
    assert 0 < sharded.makespan <= sharded.single_invocation + 1e-9


@pytest.fixture(scope="module")
def built(
    built_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AssetGraph, DbtLs, History]]:
    project = Path(shutil.copytree(built_template, tmp_path_factory.mktemp("shard") / "project"))
    graph = load_graph(project_dir=project)
    with History.open(project / ".dbt-assets" / "history.db", create=False) as history:
        yield graph, DbtLs(project), history


@pytest.mark.parametrize("command", ["run", "build"])
@pytest.mark.parametrize("k", [2, 3, 5])
def test_fixture_groups_are_exact_in_dbt_ls(
    built: tuple[AssetGraph, DbtLs, History], command: str, k: int
) -> None:
    graph, oracle, history = built
    sharded = shard_selection(graph, command, [], k, history=history, threads=1)
    check_groups(graph, sharded, list(plan(graph, command).unique_ids))
    for s in sharded.shards:
        assert dbt_selects(oracle, s.plan) == list(s.plan.unique_ids), s.plan.argv


def test_independent_branches_run_in_parallel(built: tuple[AssetGraph, DbtLs, History]) -> None:
    """Two heavy branches that share only cheap staging: two groups finish sooner than one."""
    graph, oracle, _ = built
    planned = plan(graph, "run", ["+revenue_by_category", "+customer_segments"])
    heavy = {"model.shop.revenue_by_category": 100.0, "model.shop.customer_segments.v1": 100.0}
    facts = {uid: AssetFacts(uid, recent=[[0.0, heavy.get(uid, 1.0)]]) for uid in planned.unique_ids}
    sharded = shard(graph, planned, 2, facts, threads=1)
    assert len(sharded.shards) == 3, "the shared staging and orders first, then two branches"
    assert sharded.shards[1].after == (0,) and sharded.shards[2].after == (0,)
    check_groups(graph, sharded, list(planned.unique_ids))
    assert sharded.makespan == pytest.approx(109.0) and sharded.single_invocation == pytest.approx(209.0)
    for s in sharded.shards:
        assert dbt_selects(oracle, s.plan) == list(s.plan.unique_ids)


def test_shard_command(
    built: tuple[AssetGraph, DbtLs, History], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`shard -o json` with --state-out: each group's printed argv runs as printed (its one-pass
    state in DIR/group-N) and selects exactly the group in dbt ls; without it a one-pass group
    says it is not runnable and what it needs."""
    _, oracle, _ = built
    built_project = oracle.project
    monkeypatch.setenv("DBT_ASSETS_ONE_PASS_CRITERIA", "0")
    common = ("shard", "3", "--project-dir", str(built_project), "--command", "build", "-o", "json")
    result = cli(*common, "--state-out", str(tmp_path / "groups"))
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["makespan"] <= payload["single_invocation"]
    assert all(s["argv"][:2] == ["dbt", "build"] and s["runnable"] for s in payload["shards"])
    for s in payload["shards"]:
        printed = Plan("build", tuple(s["argv"][1:]), tuple(s["unique_ids"]), "explicit")
        assert s["argv"][s["argv"].index("--state") + 1] == str(tmp_path / "groups" / f"group-{s['index']}")
        assert dbt_selects(oracle, printed) == s["unique_ids"]
    unwritten = json.loads(cli(*common).stdout)["shards"]
    assert all(not s["runnable"] and "--state-out" in s["needs"] for s in unwritten)
    monkeypatch.delenv("DBT_ASSETS_ONE_PASS_CRITERIA")
    text = cli("shard", "2", "--project-dir", str(built_project), "--command", "run").stdout
    assert "predicted makespan" in text and "as one dbt invocation" in text


def test_generated_project_groups_are_exact(
    generated_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    project = generated_project(generated_template, tmp_path_factory, "shard-generated")
    check_shards_in_dbt_ls(project, DbtLs(project))  # DbtLs parses, writing target/manifest.json


@pytest.mark.tenk
def test_generated_10000_model_project_groups_are_exact(generated_10k: tuple[Path, DbtLs]) -> None:
    """At 10,000 models dbt's parse alone takes a minute and a half, so this runs in CI after
    the suite (``python3 dev.py test-10k``); the groups' plans are one pass there (in explicit
    form dbt took a quarter of an hour to evaluate their thousands of criteria)."""
    check_shards_in_dbt_ls(*generated_10k)


def check_shards_in_dbt_ls(project: Path, oracle: DbtLs) -> None:
    """A whole generated project's ``dbt run`` over 4 workers: the groups' structure, and each
    group's compiled arguments against ``dbt ls`` itself; prints the figures
    benchmarks/README.md quotes."""
    graph = AssetGraph(read_manifest(project / "target" / "manifest.json"), project)
    planned = plan(graph, "run")
    rng = random.Random(5)
    facts = {uid: AssetFacts(uid, recent=[[0.0, rng.uniform(1, 120)]]) for uid in planned.unique_ids}
    started = time.perf_counter()
    sharded = shard(graph, planned, 4, facts, threads=4)
    _report(
        f"shard: {len(planned.unique_ids)} nodes -> {len(sharded.shards)} groups in "
        f"{time.perf_counter() - started:.1f} s; predicted makespan {sharded.makespan:.0f} s vs "
        f"{sharded.single_invocation:.0f} s as one invocation "
        f"({sharded.makespan / sharded.single_invocation:.2f}x)"
    )
    check_groups(graph, sharded, list(planned.unique_ids))
    assert len(sharded.shards) > 1
    for s in sharded.shards:
        started = time.perf_counter()
        assert dbt_selects(oracle, s.plan) == list(s.plan.unique_ids), s.index
        _report(
            f"group {s.index}: {len(s.plan.unique_ids)} nodes, {len(s.plan.argv)} args, exactly "
            f"them in dbt ls ({time.perf_counter() - started:.1f} s)"
        )


def _report(line: str) -> None:
    """A figure for the terminal (shown with ``pytest -s``)."""
    print(line, flush=True)


REPO = Path(__file__).resolve().parent.parent


@pytest.mark.unit
def test_more_workers_than_sinks_is_the_same_split_at_once(tmp_path: Path) -> None:
    """`shard 100000` (found by the fuzz test: it looped once per worker asked for, a minute
    for `shard 2626` on nine assets) gives the split of as many workers as there are sinks."""
    committed = REPO / "tests" / "corpus" / "jaffle_shop" / "manifest_dbt1.11.16.json.gz"
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(gzip.decompress(committed.read_bytes()))
    graph = load_graph(manifest=manifest)
    planned = plan(graph, "build")
    sinks = [
        u for u in planned.unique_ids if not any(c in planned.unique_ids for c in graph.direct_children(u))
    ]
    many = shard(graph, planned, 100_000, {}, threads=1)
    enough = shard(graph, planned, len(sinks), {}, threads=1)
    assert [s.plan.unique_ids for s in many.shards] == [s.plan.unique_ids for s in enough.shards]


@pytest.mark.unit
def test_dbts_overhead_per_invocation_decides_the_number_of_groups(tmp_path: Path) -> None:
    """Each group pays dbt's start-up, parse and selection: with none, branches run apart;
    when that costs more than the branches save, the selection stays one invocation."""
    committed = REPO / "tests" / "corpus" / "jaffle_shop" / "manifest_dbt1.11.16.json.gz"
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(gzip.decompress(committed.read_bytes()))
    graph = load_graph(manifest=manifest)
    planned = plan(graph, "build")
    facts = {uid: AssetFacts(uid, recent=[[0.0, 10.0]]) for uid in planned.unique_ids}
    free = shard(graph, planned, 3, facts, threads=1)
    assert len(free.shards) > 1 and free.makespan < free.single_invocation
    saved = free.single_invocation - free.makespan
    costly = shard(graph, planned, 3, facts, threads=1, overhead=saved + 1)
    assert len(costly.shards) == 1 and costly.overhead == saved + 1
    assert costly.makespan == pytest.approx(costly.single_invocation)
    assert costly.single_invocation == pytest.approx(free.single_invocation + saved + 1)
    cheap = shard(graph, planned, 3, facts, threads=1, overhead=1.0)
    path = max(len(s.after) for s in cheap.shards) + 1  # invocations one after the other
    assert cheap.makespan <= free.makespan + path * 1.0 + 1e-9
