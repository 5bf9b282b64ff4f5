"""Selections too long for a command line: the generated YAML selector and the shadow project.

dbt is the oracle: dbt ls, run on the shadow project with the generated selector, must select
exactly the planned set; and the user's project must be byte for byte what it was.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import Plan, plan
from dbt_assets.plan.long_selection import (
    SELECTOR_NAME,
    argv_size,
    selector_definition,
    selector_name,
    shadow_project,
    split_argv,
)
from dbt_assets.run.project import Project
from dbt_assets.run.runner import Run
from dbt_assets.selection import resource_types_for
from dbt_assets.selection.request import Selection
from tests.conftest import FIXTURE_PROJECT, copy_project
from tests.dbt_oracle import DbtLs
from tests.test_compile import dbt_selects


@pytest.mark.unit
def test_definition_is_the_cli_selection() -> None:
    select, exclude, other = split_argv(
        [
            "--select",
            "a+",
            "b,tag:x",
            "--exclude",
            "c",
            "--indirect-selection",
            "empty",
            "--resource-type",
            "model",
        ]
    )
    assert (select, exclude) == (["a+", "b,tag:x"], ["c"])
    assert other == ["--indirect-selection", "empty", "--resource-type", "model"]
    assert selector_definition(select, exclude) == {
        "union": ["a+", {"intersection": ["b", "tag:x"]}, {"exclude": [{"union": ["c"]}]}]
    }


@pytest.mark.unit
def test_generated_name_avoids_the_projects_names() -> None:
    assert selector_name([{"name": "finance"}]) == SELECTOR_NAME
    assert selector_name([{"name": SELECTOR_NAME}, {"name": f"{SELECTOR_NAME}_2"}]) == f"{SELECTOR_NAME}_3"


def test_short_plans_keep_their_command_line(shop_project: Path) -> None:
    graph = Project(shop_project).graph()
    result = plan(graph, "run", ["downstream_of:orders"])
    assert result.selector is None and result.argv == ("run", "--select", "orders+")
    assert argv_size(result.argv) == len("run--selectorders+") + 3


def _tree(project: Path) -> dict[str, str]:
    """Every file of the project outside target/ and logs/, with its hash."""
    found = {}
    for root, dirs, files in os.walk(project):
        dirs[:] = [d for d in dirs if d not in ("target", "logs")]
        for name in files:
            path = Path(root) / name
            found[str(path.relative_to(project))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.fixture(scope="module")
def project(parsed_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, AssetGraph]:
    project = Path(shutil.copytree(parsed_template, tmp_path_factory.mktemp("long") / "dbt_project"))
    return project, Project(project).graph()


def _plans(graph: AssetGraph) -> list[Plan]:
    pool = sorted(u for u, r in graph.records.items() if r.resource_type in resource_types_for("build"))
    rnd = random.Random(11)
    subsets = [rnd.sample(pool, k) for k in (1, 7, len(pool) // 2, len(pool))]
    plans = [plan(graph, "build", unique_ids=s, max_argv=0) for s in subsets]
    plans += [
        plan(graph, "build", Selection(["marts", "stg_orders+"], exclude=["tag:finance"]), max_argv=0),
        plan(graph, "build", Selection("path:models/marts", indirect_selection="cautious"), max_argv=0),
        plan(graph, "test", ["downstream_of:stg_orders", "owner:crm@*"], max_argv=0),
        plan(
            graph,
            "build",
            Selection("tag:core,config.materialized:table", resource_types=["model", "test"]),
            max_argv=0,
        ),
    ]
    return plans


@pytest.mark.slow
def test_dbt_selects_the_generated_selector_exactly(project: tuple[Path, AssetGraph]) -> None:
    root, graph = project
    before = _tree(root)
    for result in _plans(graph):
        assert result.selector is not None and result.argv[1:3] == ("--selector", result.selector["name"])
        with shadow_project(root, result.selector) as shadow:
            assert dbt_selects(DbtLs(shadow), result) == list(result.unique_ids), result.selector
        assert not shadow.exists()
    assert _tree(root) == before


@pytest.mark.slow
def test_a_run_through_the_shadow_project(
    project: tuple[Path, AssetGraph], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dbt runs on the shadow; its results land in the real project; the shadow goes away."""
    root, graph = project
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    before = _tree(root)
    wanted = ["seed.shop.raw_orders", "seed.shop.raw_customers", "seed.shop.raw_products"]
    result = plan(graph, "seed", unique_ids=wanted, max_argv=0)
    assert result.selector is not None
    outcome = Run(Project(root), graph, result).run()
    assert outcome.exit_code == 0, outcome.message
    assert sorted(outcome.results) == sorted(wanted)
    assert all(r.status == "success" for r in outcome.results.values())
    assert (root / "target" / "run_results.json").is_file()
    assert list(tmp_path.iterdir()) == []  # the shadow is gone
    assert _tree(root) == before


@pytest.mark.slow
def test_a_run_in_one_pass(
    project: tuple[Path, AssetGraph], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan past the criteria threshold runs with its generated state: dbt runs exactly the
    planned assets, and the state goes away."""
    root, graph = project
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("DBT_ASSETS_ONE_PASS_CRITERIA", "0")
    before = _tree(root)
    wanted = ["seed.shop.raw_orders", "seed.shop.raw_customers", "seed.shop.raw_products"]
    result = plan(graph, "seed", unique_ids=wanted)
    assert result.strategy == "one pass"
    outcome = Run(Project(root), graph, result).run()
    assert outcome.exit_code == 0, outcome.message
    assert sorted(outcome.results) == sorted(wanted)
    assert outcome.argv[outcome.argv.index("--select") + 1] == "result:success"
    assert list(tmp_path.iterdir()) == []  # the generated state is gone
    assert _tree(root) == before


@pytest.mark.unit
def test_shadow_keeps_the_projects_own_selectors(tmp_path: Path) -> None:
    root = copy_project(FIXTURE_PROJECT, tmp_path / "dbt_project")
    own = (root / "selectors.yml").read_text()
    generated = {"name": SELECTOR_NAME, "definition": {"union": ["orders"]}}
    with shadow_project(root, generated) as shadow:
        import yaml

        names = [s["name"] for s in yaml.safe_load((shadow / "selectors.yml").read_text())["selectors"]]
        assert names[-1] == SELECTOR_NAME and "finance_tables" in names
        assert (shadow / "models").resolve() == (root / "models").resolve()
        assert (shadow / "target").is_symlink()
    assert (root / "selectors.yml").read_text() == own
    assert (root / "models").is_dir()


@pytest.mark.tenk
def test_half_of_a_10000_model_build_fits_a_command_line(generated_10k: tuple[Path, DbtLs]) -> None:
    """A random half of everything `dbt build` runs on a 10,000-model project (about 12,000
    assets, most of them tests with long names) never makes an argv over 128 KB: past 100 KB it
    becomes a generated selector, which selects exactly the half (checked with the evaluator
    the differential suites prove equal to dbt; dbt itself checks the same construction above).
    With the 10,000-model tests (``python3 dev.py test-10k``), which parse that project once."""
    from dbt_assets.manifest.decode import read_manifest
    from dbt_assets.selection import METHODS, resolve
    from dbt_assets.selection.parse import parse_definition

    root, _ = generated_10k
    graph = AssetGraph(read_manifest(root / "target" / "manifest.json"), root)
    pool = sorted(u for u, r in graph.records.items() if r.resource_type in resource_types_for("build"))
    chosen = random.Random(3).sample(pool, len(pool) // 2)
    assert plan(graph, "build", unique_ids=chosen).strategy == "one pass"  # the default, for dbt's sake
    result = plan(graph, "build", unique_ids=chosen, one_pass=len(chosen))  # the explicit form
    assert argv_size(result.argv) < 128 * 1024
    assert result.selector is not None, "half of a 10,000-model build is over 100 KB of tokens"
    spec = parse_definition(result.selector["definition"], METHODS, "empty", {})
    assert resolve(graph, spec, resource_types_for("build")) == sorted(chosen)
    models = [u for u in pool if u.startswith("model.")]
    half_models = random.Random(4).sample(models, len(models) // 2)
    run_plan = plan(graph, "run", unique_ids=half_models, one_pass=len(half_models))
    assert run_plan.selector is None and argv_size(run_plan.argv) < 100 * 1024
