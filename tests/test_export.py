"""`dbt-assets export --format json` on the built fixture, lineage checked against dbt's own
manifest (its parent_map)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import cli, dbt_ls

pytestmark = pytest.mark.slow


def test_export_everything(built_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "assets.json"
    result = cli("export", "--project-dir", str(built_project), "--out", str(out))
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text())
    assert document["project"] == "shop" and document["dbt_version"].startswith("1.")
    assets = {a["asset"]["unique_id"]: a for a in document["assets"]}
    listed = {str(row["unique_id"]) for row in dbt_ls(built_project, "--resource-type", "all")}
    assert listed <= set(assets)
    parent_map = json.loads((built_project / "target" / "manifest.json").read_text())["parent_map"]
    edges = {tuple(edge) for edge in document["lineage"]}
    expected = {(p, uid) for uid in assets for p in parent_map.get(uid, []) if p in assets}
    assert edges == expected and edges
    orders = assets["model.shop.orders"]
    assert orders["sla"] == {
        "deadline": "07:00",
        "timezone": "Europe/Berlin",
        "max_runtime": 300.0,
        "max_failures": 1,
    }
    assert orders["last"]["status"] == "success" and orders["last"]["consecutive_failures"] == 0
    checks = [assets[c]["last"]["status"] for c in orders["checks"] if c.startswith("test.")]
    assert checks and set(checks) == {"pass"}
    assert assets["source.shop.shop.payments"]["sla"] == {"warn_after": 21600.0, "error_after": 43200.0}


def test_export_a_selection_without_history(built_project: Path) -> None:
    (built_project / ".dbt-assets" / "history.db").unlink()
    result = cli("export", "tag:finance", "--project-dir", str(built_project))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    uids = sorted(a["asset"]["unique_id"] for a in document["assets"])
    assert uids == sorted(
        str(row["unique_id"])
        for row in dbt_ls(
            built_project, "-s", "tag:finance", "--resource-type", "all", "--indirect-selection", "empty"
        )
    )
    assert all(a["last"] is None for a in document["assets"])
