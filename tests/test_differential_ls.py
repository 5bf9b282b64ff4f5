"""dbt-assets ls against dbt ls on the same manifest: the fixture and a generated 1,000-model project.

dbt is the oracle: every case runs both and requires the same output.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.conftest import REPO, cli, dbt_ls, generated_project, run_dbt
from tests.dbt_oracle import DbtLs
from tests.selection_cases import FIXTURE_METHOD_ATOMS, GENERATED_CASES, fixture_cases

pytestmark = pytest.mark.slow

FIXTURE_CASES: list[tuple[str, ...]] = [(), *fixture_cases()]
PATH_ATOMS = [a for a in FIXTURE_METHOD_ATOMS if a.startswith("path:") or "/" in a]


def _ours(manifest: Path, *args: str, output: str = "json", project: Path | None = None) -> list[str]:
    source = ["--project-dir", str(project)] if project else ["--manifest", str(manifest)]
    result = cli("ls", *source, "--output", output, *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


@pytest.fixture(scope="module")
def shop_dbt(shop_project: Path) -> DbtLs:
    return DbtLs(shop_project)


@pytest.mark.parametrize("args", FIXTURE_CASES, ids=lambda a: " ".join(a) or "no-selection")
def test_fixture_json_matches_dbt_ls(
    shop_dbt: DbtLs, shop_project: Path, shop_manifest: Path, args: tuple[str, ...]
) -> None:
    expected = shop_dbt.json(*args)
    ours = [json.loads(line) for line in _ours(shop_manifest, *args, project=shop_project)]
    assert ours == expected


@pytest.mark.parametrize("atom", PATH_ATOMS)
def test_path_emulated_from_manifest_matches_dbt_ls(shop_dbt: DbtLs, shop_manifest: Path, atom: str) -> None:
    """With --manifest alone, path: globs the manifest's own paths; on this project it agrees with dbt."""
    expected = shop_dbt.json("--select", atom)
    assert [json.loads(line) for line in _ours(shop_manifest, "--select", atom)] == expected


@pytest.mark.parametrize("output", ["name", "path", "selector"])
@pytest.mark.parametrize("args", [(), ("--resource-type", "all"), ("--select", "marts")], ids=str)
def test_fixture_other_outputs_match_dbt_ls(
    shop_dbt: DbtLs, shop_manifest: Path, output: str, args: tuple[str, ...]
) -> None:
    assert _ours(shop_manifest, *args, output=output) == shop_dbt.lines("--output", output, *args)


@pytest.mark.parametrize(
    "keys",
    [
        "name config.materialized",
        "unique_id depends_on tags",
        "alias raw_code",
        "config.meta.owner unique_id",
    ],
)
def test_fixture_output_keys_match_dbt_ls(shop_dbt: DbtLs, shop_manifest: Path, keys: str) -> None:
    expected = shop_dbt.json("--output-keys", keys)
    ours = [json.loads(line) for line in _ours(shop_manifest, "--output-keys", keys)]
    assert ours == expected


def test_oracle_matches_dbt_cli(shop_dbt: DbtLs, shop_project: Path) -> None:
    """The in-process oracle answers exactly like the dbt command line."""
    assert dbt_ls(shop_project) == shop_dbt.json()
    assert dbt_ls(shop_project, "--select", "orders") == shop_dbt.json("--select", "orders")


def _load_generator() -> object:
    spec = importlib.util.spec_from_file_location(
        "generate_project", REPO / "benchmarks" / "generate_project.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generated(generated_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[DbtLs, Path]:
    project = generated_project(generated_template, tmp_path_factory, "generated")
    return DbtLs(project), project / "target" / "manifest.json"


@pytest.mark.parametrize("args", GENERATED_CASES, ids=lambda a: " ".join(a) or "no-selection")
def test_generated_project_matches_dbt_ls(generated: tuple[DbtLs, Path], args: tuple[str, ...]) -> None:
    oracle, manifest = generated
    expected = oracle.json(*args)
    assert [json.loads(line) for line in _ours(manifest, *args, project=manifest.parent.parent)] == expected


def test_default_selector_applies_without_selection(parsed_project: Path) -> None:
    """A selector marked default: true replaces "everything" when nothing is selected, as in dbt."""
    path = parsed_project / "selectors.yml"
    path.write_text(
        path.read_text().replace(
            "  - name: finance_tables\n", "  - name: finance_tables\n    default: true\n"
        )
    )
    oracle = DbtLs(parsed_project)
    expected = oracle.json()
    assert {row["unique_id"] for row in expected} >= {"model.shop.revenue_by_category"}
    assert len(expected) < 10
    assert [json.loads(line) for line in _ours(Path(), project=parsed_project)] == expected
    with_select = oracle.json("--select", "orders")
    assert [
        json.loads(line) for line in _ours(Path(), "--select", "orders", project=parsed_project)
    ] == with_select


def test_selectors_are_read_from_the_project_not_the_stale_manifest(parsed_project: Path) -> None:
    """dbt's partial parse keeps the old selectors in the manifest; dbt itself reads selectors.yml."""
    run_dbt(parsed_project, "parse")
    path = parsed_project / "selectors.yml"
    path.write_text(path.read_text() + "  - name: added_later\n    definition: 'tag:finance+'\n")
    run_dbt(parsed_project, "parse")
    manifest = json.loads((parsed_project / "target" / "manifest.json").read_bytes())
    assert "added_later" not in manifest["selectors"], "dbt's partial parse left the manifest stale"
    expected = DbtLs(parsed_project).json("--selector", "added_later")
    assert expected
    ours = _ours(Path(), "--selector", "added_later", project=parsed_project)
    assert [json.loads(line) for line in ours] == expected


@pytest.mark.parametrize(
    ("variable", "value", "args"),
    [
        ("DBT_EXCLUDE_RESOURCE_TYPES", "unit_test", ()),
        ("DBT_EXCLUDE_RESOURCE_TYPES", "test unit_test", ("--select", "+customers")),
        ("DBT_RESOURCE_TYPES", "model", ("--select", "orders+")),
        ("DBT_RESOURCE_TYPES", "source exposure", ()),
        ("DBT_INDIRECT_SELECTION", "cautious", ("--select", "customers")),
    ],
)
def test_environment_variables_match_dbt_ls(
    shop_dbt: DbtLs,
    shop_manifest: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    args: tuple[str, ...],
) -> None:
    """dbt reads these options from the environment too; so does dbt-assets."""
    monkeypatch.setenv(variable, value)
    expected = shop_dbt.json(*args)
    assert [json.loads(line) for line in _ours(shop_manifest, *args)] == expected
    monkeypatch.delenv(variable)
    assert [json.loads(line) for line in _ours(shop_manifest, *args)] != expected, "the variable matters"


def test_ls_models_is_exclusive_like_dbt(shop_manifest: Path) -> None:
    for extra in (("--select", "orders"), ("--resource-type", "model")):
        result = cli("ls", "--manifest", str(shop_manifest), "-m", "orders", *extra)
        assert result.exit_code == 2
        assert "mutually exclusive" in result.stderr


UNMATCHED_CASES = [
    ("--select", "ordrs"),
    ("--select", "tag:fnance orders"),
    ("--select", "orders,tag:nope"),
    ("--select", "orders", "--exclude", "nope stg_orders"),
    ("--select", "@nothing"),
    ("--select", "orders", "--resource-type", "seed"),
    ("--select", "source:shop.nope", "source:shop.orders"),
    ("--select", "path:models/nowhere", "config.materialized:nothing"),
    ("-m", "raw_orders"),
    ("--selector", "finance_tables"),
]


@pytest.mark.parametrize("args", UNMATCHED_CASES, ids=" ".join)
def test_unmatched_criteria_warned_like_dbt(
    shop_dbt: DbtLs, shop_manifest: Path, args: tuple[str, ...]
) -> None:
    """dbt warns of each criterion that matches no enabled node; dbt-assets warns of the same
    ones, in the same order, on stderr, and still exits 0."""
    expected = shop_dbt.unmatched(*args)
    result = cli("ls", "--manifest", str(shop_manifest), *args)
    assert result.exit_code == 0
    warned = [line.split("'")[1] for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert warned == expected


def test_unmatched_criterion_suggests_the_closest_name(shop_manifest: Path) -> None:
    result = cli("ls", "--manifest", str(shop_manifest), "-s", "ordrs", "tag:fnance")
    assert "'ordrs' does not match any enabled nodes (did you mean 'orders'?)" in result.stderr
    assert "(did you mean 'tag:finance'?)" in result.stderr
    assert result.stdout == ""


def test_plan_of_an_empty_selection_keeps_the_command(shop_manifest: Path) -> None:
    result = cli("plan", "--manifest", str(shop_manifest), "--command", "run", "-s", "ordrs", "-o", "json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["argv"] == ["dbt", "run"] and payload["empty"] is True
    assert payload["unmatched"] == ["ordrs"] and "'ordrs' matches no enabled node" in payload["message"]


PACKAGE_PATH_ATOMS = [
    "path:models/staging",
    "path:models/only_pkg",
    "path:models/only_pkg/_p.yml",
    "path:models/marts",
    "path:models/marts/core/pkg_core.sql",
    "path:models/*",
    "path:models",
    "path:models/**/p.sql",
    "path:models/**/*.sql",
    "models/staging",
    "path:macros",
    "package:helper",
]


@pytest.fixture(scope="module")
def with_package(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtLs]:
    """The fixture with an installed package (dbt_packages/helper) whose folders partly share
    the root project's names: dbt globs path: under the root project and compares each
    node's own path, so a package node is selected only where the root project has its path."""
    from tests.conftest import FIXTURE_PROJECT, copy_project

    project = copy_project(FIXTURE_PROJECT, tmp_path_factory.mktemp("pkg") / "dbt_project")
    package = project / "dbt_packages" / "helper"
    for path in ("models/staging/helper_stg.sql", "models/only_pkg/p.sql", "models/marts/core/pkg_core.sql"):
        (package / path).parent.mkdir(parents=True, exist_ok=True)
        (package / path).write_text("select 1 as id\n")
    (package / "models/only_pkg/_p.yml").write_text("version: 2\nmodels:\n  - name: p\n    description: x\n")
    (package / "dbt_project.yml").write_text("name: helper\nversion: '1.0.0'\nconfig-version: 2\n")
    return project, DbtLs(project)


@pytest.mark.parametrize("mode", ["project", "manifest"])
@pytest.mark.parametrize("atom", PACKAGE_PATH_ATOMS)
def test_path_with_a_package_matches_dbt_ls(with_package: tuple[Path, DbtLs], mode: str, atom: str) -> None:
    project, oracle = with_package
    manifest = project / "target" / "manifest.json"
    expected = oracle.json("--select", atom)
    ours = _ours(manifest, "--select", atom, project=project if mode == "project" else None)
    assert [json.loads(line) for line in ours] == expected
