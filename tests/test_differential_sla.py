"""``status:`` and ``sla:`` selections from a real run history, compiled for dbt and checked
against ``dbt ls``; the sets themselves against the history read independently."""

from __future__ import annotations

import shutil
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbt_assets.api import check_slas, load_graph
from dbt_assets.history.store import History
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import plan
from dbt_assets.selection import select
from dbt_assets.selection.request import Selection
from tests.conftest import cli
from tests.dbt_oracle import DbtLs
from tests.test_compile import dbt_selects

pytestmark = pytest.mark.slow

RULES = """
slas:
  - select: "tag:finance"
    freshness: 1s
  - select: orders
    max_failures: 0
  - select: "tag:staging"
    freshness: 6h
    severity: warn
  - select: weekly_revenue
    max_runtime: 1m
  - select: stg_customers
    freshness: 1s
    severity: warn
"""
SELECTIONS = [
    ["status:error"],
    ["status:skipped"],
    ["status:success"],
    ["status:pass"],
    ["status:no-op"],
    ["status:error+"],
    ["+status:skipped"],
    ["status:success,tag:finance"],
    ["status:skipped", "status:error"],
    ["downstream_of:status:error"],
    ["sla:breached"],
    ["sla:breached+"],
    ["sla:any"],
    ["sla:ok"],
    ["sla:warn"],
    ["sla:unknown"],
    ["sla:any,resource_type:model"],
    ["@sla:warn"],
]


@pytest.fixture(scope="module")
def failed_run(
    built_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[AssetGraph, DbtLs, History]]:
    """The built fixture after `dbt-assets run -s orders+` with orders broken: orders error,
    everything downstream skipped, the rest as the build left it."""
    project = Path(shutil.copytree(built_template, tmp_path_factory.mktemp("sla-diff") / "project"))
    (project / "dbt_assets.yml").write_text(RULES)
    orders = project / "models/marts/core/orders.sql"
    orders.write_text(orders.read_text().replace("select", "select no_such_column,", 1))
    assert cli("run", "--project-dir", str(project), "-s", "orders+").exit_code == 1
    time.sleep(1.1)  # let the 1s freshness SLAs lapse
    graph = load_graph(project_dir=project)
    with History.open(project / ".dbt-assets" / "history.db", create=False) as history:
        yield graph, DbtLs(project), history


def last_statuses(path: Path) -> dict[str, str]:
    """Each asset's last status, straight from the results table (not through the facts)."""
    db = sqlite3.connect(path)
    rows = db.execute(
        "SELECT unique_id, status FROM asset_results ORDER BY coalesce(finished_at, started_at), run_id"
    ).fetchall()
    db.close()
    return dict(rows)


@pytest.mark.parametrize("command", ["run", "build"])
@pytest.mark.parametrize("selection", SELECTIONS, ids=" ".join)
def test_history_selections_compile_exactly(
    failed_run: tuple[AssetGraph, DbtLs, History], command: str, selection: list[str]
) -> None:
    graph, oracle, history = failed_run
    result = plan(graph, command, selection, history=history)
    if not result.unique_ids:
        assert result.argv == ()
        return
    assert dbt_selects(oracle, result) == list(result.unique_ids), result.argv


def test_status_sets_match_the_recorded_results(failed_run: tuple[AssetGraph, DbtLs, History]) -> None:
    graph, _, history = failed_run
    recorded = last_statuses(history.path)
    for status in ("error", "skipped", "success", "pass", "no-op"):
        expected = sorted(u for u, s in recorded.items() if s == status and u in graph.records)
        exactly = Selection(f"status:{status}", indirect_selection="empty", resource_types=["all"])
        chosen = select(graph, exactly, history=history)
        assert chosen == expected, status
        assert chosen, f"the run history has some {status} results"
    assert recorded["model.shop.orders"] == "error"


def test_sla_sets_match_the_check(failed_run: tuple[AssetGraph, DbtLs, History]) -> None:
    graph, _, history = failed_run
    now = time.time()
    results = check_slas(graph, history, at=now)
    by_status: dict[str, set[str]] = {}
    for r in results:
        by_status.setdefault(r.status, set()).add(r.unique_id)
    for status in ("breached", "warn", "unknown"):
        exactly = Selection(f"sla:{status}", indirect_selection="empty", resource_types=["all"])
        chosen = select(graph, exactly, history=history, at=now)
        assert set(chosen) == by_status[status], status
    assert "model.shop.orders" in by_status["breached"]  # max_failures 0 after one failure
    assert "model.shop.stg_customers" in by_status["warn"]
    assert all(u.startswith("source.") for u in by_status["unknown"])  # no freshness check ran
    ok = select(
        graph,
        Selection("sla:ok", indirect_selection="empty", resource_types=["all"]),
        history=history,
        at=now,
    )
    # skipped in the last run, so max_runtime is judged from the last execution (the build)
    assert "model.shop.weekly_revenue" in ok
    assert set(ok) == {
        u for u in by_status["ok"] if all(r.status == "ok" for r in results if r.unique_id == u)
    }


def test_history_methods_without_a_history_say_so(shop_manifest: Path) -> None:
    graph = load_graph(manifest=shop_manifest)
    with pytest.raises(Exception, match="reads the run history"):
        select(graph, ["status:error"])
    result = cli("ls", "--manifest", str(shop_manifest), "-s", "sla:breached")
    assert result.exit_code == 2 and "--history" in result.stderr
    assert cli("ls", "--manifest", str(shop_manifest), "-s", "status:broken").exit_code == 2
