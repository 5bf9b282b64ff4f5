"""SLA declarations on a real parse of the fixture project: model YAML, dbt_assets.yml, merging, errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from dbt_assets._core.durations import parse_duration
from dbt_assets._core.errors import SlaConfigError
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.run.project import Project
from dbt_assets.sla.config import Sla, effective_slas
from tests.conftest import run_dbt

ORDERS_META = "    config:\n      meta:\n        owner: analytics@shop.example\n"


def _project(root: Path, config_sla: str | None, meta_sla: str | None, project_file: str | None) -> Project:
    """The fixture with SLAs on orders: under config.meta and under meta (dbt YAML), and a file."""
    core = root / "models" / "marts" / "core" / "_core.yml"
    text = core.read_text()
    assert ORDERS_META in text
    extra = ORDERS_META
    if config_sla is not None:
        extra += f"        dbt_assets:\n          sla: {config_sla}\n"
    if meta_sla is not None:
        extra = f"    meta:\n      dbt_assets:\n        sla: {meta_sla}\n" + extra
    core.write_text(text.replace(ORDERS_META, extra, 1))
    if project_file is not None:
        (root / "dbt_assets.yml").write_text(project_file)
    else:
        (root / "dbt_assets.yml").unlink()
    run_dbt(root, "parse")
    return Project(root)


def _rules_only(manifest: Path, folder: Path, rules: str) -> AssetGraph:
    """The parsed fixture's graph with ``folder`` as its project: only dbt_assets.yml there
    (no dbt parse needed: dbt does not read that file)."""
    (folder / "dbt_assets.yml").write_text(rules)
    return AssetGraph(read_manifest(manifest), folder)


RULES = """
slas:
  - select: "tag:finance"
    freshness: 6h
    severity: warn
  - select: orders
    freshness: 1d
    deadline: "06:00"
"""


def test_model_yaml_wins_over_the_file_key_by_key(parsed_project: Path) -> None:
    graph = _project(
        parsed_project,
        '{deadline: "07:00", timezone: Europe/Berlin, max_runtime: 10m, max_failures: 2}',
        None,
        RULES,
    ).graph()
    slas = effective_slas(graph)
    orders = slas["model.shop.orders"]
    assert orders == Sla(
        freshness=86400, deadline="07:00", timezone="Europe/Berlin", max_runtime=600, max_failures=2
    )
    finance = [uid for uid in slas if uid.startswith("model.") and "revenue" in uid]
    assert finance and all(slas[u] == Sla(freshness=21600, severity="warn") for u in finance)
    assert "model.shop.stg_orders" not in slas


@pytest.fixture(scope="module")
def invalid_sla_manifest(parsed_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture parsed by dbt with an invalid SLA on orders (``freshness: soon``) in
    ``_core.yml``: the other invalid values are put in its manifest in its place, the way dbt
    puts them (dbt does not read them, so a parse each would only repeat dbt's work)."""
    root = Path(shutil.copytree(parsed_template, tmp_path_factory.mktemp("invalid-sla") / "project"))
    _project(root, "{freshness: soon}", None, None)
    return root / "target" / "manifest.json"


@pytest.mark.parametrize(
    ("sla", "needle"),
    [
        ("{freshness: soon}", "freshness"),
        ("{deadline: '25:00'}", "deadline"),
        ("{timezone: Mars/Olympus}", "unknown time zone"),
        ("{max_failures: -1}", "max_failures"),
        ("{severity: fatal}", "severity"),
        ("{freshnes: 1h}", "freshnes"),
    ],
)
def test_invalid_model_sla_names_file_asset_and_value(
    invalid_sla_manifest: Path, tmp_path: Path, sla: str, needle: str
) -> None:
    data = json.loads(invalid_sla_manifest.read_text())
    node = data["nodes"]["model.shop.orders"]
    placed = [meta for meta in (node["config"]["meta"], node["meta"]) if "dbt_assets" in meta]
    assert placed, "dbt put the SLA in the manifest"
    for meta in placed:
        meta["dbt_assets"]["sla"] = yaml.safe_load(sla)
    (tmp_path / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(SlaConfigError) as info:
        effective_slas(AssetGraph(read_manifest(tmp_path / "manifest.json"), tmp_path))
    message = str(info.value)
    assert "model.shop.orders" in message and needle in message and "_core.yml" in message


def test_invalid_project_file_is_named(shop_manifest: Path, tmp_path: Path) -> None:
    graph = _rules_only(shop_manifest, tmp_path, "slas:\n  - select: orders\n    max_runtime: -5\n")
    with pytest.raises(SlaConfigError, match=r"dbt_assets.yml: invalid SLA: slas.0.max_runtime"):
        effective_slas(graph)


def test_older_top_level_meta_is_read(parsed_project: Path) -> None:
    """dbt refuses meta both at the top level and under config, so each is tested alone."""
    core = parsed_project / "models" / "marts" / "core" / "_core.yml"
    core.write_text(
        core.read_text().replace(ORDERS_META, "    config:\n      meta:\n        tier: gold\n", 1)
    )
    text = core.read_text().replace("        tier: gold\n        tier: gold\n", "        tier: gold\n", 1)
    core.write_text(
        text.replace(
            "    config:\n      meta:\n        tier: gold\n      tags: [sla]\n",
            "    meta:\n      dbt_assets:\n        sla: {max_failures: 3}\n    config:\n      tags: [sla]\n",
            1,
        )
    )
    (parsed_project / "dbt_assets.yml").unlink()
    run_dbt(parsed_project, "parse")
    graph = Project(parsed_project).graph()
    assert effective_slas(graph) == {"model.shop.orders": Sla(max_failures=3)}


@pytest.mark.unit
def test_durations() -> None:
    assert [parse_duration(v) for v in ("90s", "10m", "6h", "1.5d", 30)] == [90, 600, 21600, 129600, 30]
    for bad in ("", "6 hours", "0m", -1, True):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_the_fixture_declares_slas(shop_project: Path) -> None:
    slas = effective_slas(Project(shop_project).graph())
    assert slas["model.shop.orders"] == Sla(
        deadline="07:00", timezone="Europe/Berlin", max_runtime=300, max_failures=1
    )


@pytest.mark.parametrize(
    ("rule", "needle"),
    [
        ("  - select: orders\n    deadline: '0 7 * * funday'\n", "slas.0.deadline"),
        ("  - select: orders\n    deadline: '07:00'\n    timezone: Europe/Nowhere\n", "unknown time zone"),
        ("  - select: orders\n    freshness: true\n", "slas.0.freshness"),
        ("  - select: orders\n    max_failures: two\n", "slas.0.max_failures"),
        ("  - freshness: 1h\n", "slas.0.select"),
        ("  - select: sla:breached\n    freshness: 1h\n", "uses sla:, which read the run history"),
        ("  - select: status:error+\n    freshness: 1h\n", "uses status:"),
        ("  - select: downstream_of:status:error\n    freshness: 1h\n", "uses status:"),
    ],
)
def test_every_invalid_rule_is_named(shop_manifest: Path, tmp_path: Path, rule: str, needle: str) -> None:
    graph = _rules_only(shop_manifest, tmp_path, "slas:\n" + rule)
    with pytest.raises(SlaConfigError, match=r"dbt_assets\.yml: invalid SLA") as info:
        effective_slas(graph)
    assert needle in str(info.value)


def test_a_file_that_is_not_yaml_or_not_a_mapping(shop_manifest: Path, tmp_path: Path) -> None:
    graph = _rules_only(shop_manifest, tmp_path, "slas: [oops\n")
    with pytest.raises(SlaConfigError, match="not valid YAML"):
        effective_slas(graph)
    (tmp_path / "dbt_assets.yml").write_text("slas:\n  - 7\n")
    with pytest.raises(SlaConfigError, match=r"slas\.0"):
        effective_slas(graph)
