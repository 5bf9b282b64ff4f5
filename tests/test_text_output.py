"""Snapshots of the CLI's text output at a fixed clock, on the example manifest and a history
written in-process: a change of wording, alignment or width shows up as a diff here.

The snapshots are ``tests/snapshots/*.txt``. After a deliberate change, re-write them with
``UPDATE_SNAPSHOTS=1 pytest tests/test_text_output.py`` and read the diff before committing.
Every text snapshot fits the 100-column terminal; the ``-o wide`` ones are exempt."""

from __future__ import annotations

import gzip
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbt_assets.cli.progress import Display, render_summary
from dbt_assets.cli.render import (
    WIDTH,
    render_explanation,
    render_plan,
    render_run,
    render_runs,
    render_status,
)
from dbt_assets.history.store import History
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import plan
from dbt_assets.run.events import AssetFinished, AssetStarted, DbtLog, RunStarted
from dbt_assets.run.invocation import RunResult
from dbt_assets.sla.explain import explain

pytestmark = pytest.mark.unit

SNAPSHOTS = Path(__file__).parent / "snapshots"
EXAMPLE = Path(__file__).parent / "manifests" / "manifest_v12_dbt1.11.16.json.gz"
T0 = 1_764_489_600.0  # 2025-11-30 08:00:00Z
NOW = T0 + 26 * 3600 + 125  # a day, two hours and two minutes later
ITEMS, RAW, STATS = "model.mini.items", "seed.mini.raw_items", "model.mini.item_stats.v2"
UNIQUE = "test.mini.unique_items_id.3a5b1c8e2f"
ERROR = (
    "Runtime Error in model items (models/items.sql)\n"
    "  Catalog Error: Table with name raw_items does not exist!\n"
    '  Did you mean "pg_catalog.pg_am"?\n'
    '  LINE 3: select * from "mini"."main"."raw_items"\n'
    "                        ^"
)


def _matches(name: str, text: str, *, wide: bool = False) -> None:
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.is_file(), f"no snapshot {path}: run with UPDATE_SNAPSHOTS=1 to write it"
    assert text == path.read_text(), f"{name} differs from {path} (UPDATE_SNAPSHOTS=1 to accept a change)"
    if not wide:
        too_wide = [line for line in text.splitlines() if len(line) > WIDTH and not line.startswith("  argv")]
        assert not too_wide, f"wider than {WIDTH} columns: {too_wide}"


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> AssetGraph:
    unpacked = tmp_path_factory.mktemp("manifest") / "manifest.json"
    unpacked.write_bytes(gzip.decompress(EXAMPLE.read_bytes()))
    return AssetGraph(read_manifest(unpacked))


def _unique_test(graph: AssetGraph) -> str:
    return next(uid for uid in graph.records if uid.startswith("test.mini.unique_items_id"))


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, graph: AssetGraph) -> Iterator[History]:
    """Run 1 (T0): the seed fails to be read by items, which fails; what follows is skipped.
    Run 2 (T0 + 1h): everything succeeds but the v2 stats model, never reached."""
    unique = _unique_test(graph)
    with History.open(tmp_path_factory.mktemp("history") / "history.db") as store:
        first = store.start_run(
            command="build",
            argv=["build", "--select", "+item_stats"],
            unique_ids=[RAW, ITEMS, unique, STATS],
            selection={"select": ["+item_stats"]},
            started_at=T0,
        )
        store.set_invocation(first, "1.11.16", "0b5a4c1e-5f0e-4c57-a3c5-7e0b9d1e2f3a")
        store.record_result(first, AssetFinished(RAW, "success", T0 + 1, T0 + 1.42, 0.42, rows_affected=3))
        store.record_result(first, AssetFinished(ITEMS, "error", T0 + 2, T0 + 2.2, 0.2, message=ERROR))
        for uid in (unique, STATS):
            store.record_result(first, AssetFinished(uid, "skipped", T0 + 3, T0 + 3, skipped_because=[ITEMS]))
        store.finish_run(first, status="failed", exit_code=1, message="1 failed", finished_at=T0 + 4)
        second = store.start_run(
            command="run", argv=["run", "--select", "items+"], unique_ids=[ITEMS, STATS], started_at=T0 + 3600
        )
        store.record_result(second, AssetFinished(ITEMS, "success", T0 + 3601, T0 + 3603.5, 2.5))
        store.record_not_reached(second, [STATS], T0 + 3700, "the run was cancelled")
        store.finish_run(second, status="cancelled", exit_code=130, finished_at=T0 + 3700)
        yield store


def test_status(graph: AssetGraph, history: History) -> None:
    ids = sorted(graph.records)
    rows = [(uid, history.asset_statuses(ids).get(uid)) for uid in ids]
    _matches("status", render_status(graph, rows, NOW))
    _matches("status_wide", render_status(graph, rows, NOW, wide=True), wide=True)


def test_history_list_and_show(history: History) -> None:
    _matches("history_list", render_runs(history.runs()))
    _matches("history_show", render_run(history.run(1), history.results(1), history.logs(1)))
    _matches("history_show_wide", render_run(history.run(1), history.results(1), [], wide=True), wide=True)


def test_plan(graph: AssetGraph) -> None:
    _matches("plan", render_plan(graph, plan(graph, "build", ["+item_stats", "events"])))


def test_why(graph: AssetGraph, history: History) -> None:
    """As of run 1's end: items failed on its missing seed table."""
    facts = history.facts(at=T0 + 10)
    _matches("why_items", render_explanation(explain(graph, facts, T0 + 10, ITEMS)))
    _matches("why_stats", render_explanation(explain(graph, facts, T0 + 10, STATS)))


def test_progress_and_summary(graph: AssetGraph) -> None:
    """Every asset of the example (eleven): the count reaches two digits, its columns stay put."""
    chosen = plan(graph, "build", [])
    out = io.StringIO()
    display = Display(graph, chosen, out)
    display.handle(RunStarted(7, "build", ["dbt", "build"], list(chosen.unique_ids), T0))
    display.handle(DbtLog("warn", "Warning: a deprecated config", "DeprecatedModel", T0))
    results = {}
    for i, uid in enumerate(chosen.unique_ids):
        display.handle(AssetStarted(uid, T0 + i))
        status = "error" if uid == ITEMS else "skipped" if uid == STATS else "success"
        finished = AssetFinished(
            uid,
            status,
            T0 + i,
            T0 + i + 0.25 * (i + 1),
            0.25 * (i + 1) if status != "skipped" else None,
            message=ERROR if status == "error" else None,
            skipped_because=[ITEMS] if status == "skipped" else [],
        )
        display.handle(finished)
        results[uid] = finished
    result = RunResult(7, "build", [], "failed", 1, T0, T0 + 12.5, results, [], message="1 failed")
    _matches("progress", out.getvalue())
    _matches("summary", render_summary(graph, result, "Run 7 recorded in .dbt-assets/history.db"))
