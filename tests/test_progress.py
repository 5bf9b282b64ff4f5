"""The terminal display and the summary, fed with events shaped as a run yields them."""

from __future__ import annotations

import io
from pathlib import Path

from dbt_assets.api import load_graph
from dbt_assets.cli.progress import Display, JsonDisplay, LiveDisplay, make_display, render_summary
from dbt_assets.plan.compile import Plan
from dbt_assets.run.events import AssetFinished, AssetStarted, DbtLog
from dbt_assets.run.invocation import RunResult

ORDERS, CUSTOMERS, TEST = (
    "model.shop.orders",
    "model.shop.customers",
    "test.shop.unique_orders_order_id.fed79b3a6e",
)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _events() -> list[object]:
    return [
        AssetStarted(ORDERS, 1.0, "model"),
        AssetStarted(CUSTOMERS, 1.0, "model"),
        AssetFinished(
            ORDERS,
            "error",
            1.0,
            2.0,
            1.0,
            message="Runtime Error in model orders (x.sql)\n  Binder Error: no_col",
        ),
        AssetFinished(CUSTOMERS, "skipped", skipped_because=[ORDERS]),
        DbtLog("warn", "careful", "SomeWarning"),
    ]


def test_live_display_on_a_terminal(shop_manifest: Path) -> None:
    graph = load_graph(manifest=shop_manifest)
    plan = Plan("build", ("build",), (ORDERS, CUSTOMERS, TEST), "as written")
    terminal = _Terminal()
    display = make_display(graph, plan, "text", terminal)
    assert isinstance(display, LiveDisplay)
    display.handle(_events()[0])  # type: ignore[arg-type]
    display.handle(_events()[1])  # type: ignore[arg-type]
    assert "0/3 done" in terminal.getvalue() and "running orders, customers" in terminal.getvalue()
    for event in _events()[2:]:
        display.handle(event)  # type: ignore[arg-type]
    out = terminal.getvalue()
    assert "[1/3] ERROR  model orders (1.00s)\n    Binder Error: no_col" in out
    assert "[2/3] SKIP   model customers (upstream failed: model orders)" in out
    assert "dbt: careful" in out
    assert out.rstrip().endswith("2/3 done · 00:00 · 1 failed")
    assert "\r\x1b[2K" in out


def test_plain_and_json_displays(shop_manifest: Path) -> None:
    graph = load_graph(manifest=shop_manifest)
    plan = Plan("build", ("build",), (ORDERS, CUSTOMERS), "as written")
    plain = io.StringIO()
    display = make_display(graph, plan, "text", plain)
    assert type(display) is Display
    for event in _events():
        display.handle(event)  # type: ignore[arg-type]
    assert "\x1b" not in plain.getvalue() and plain.getvalue().count("\n") == 4
    lines = io.StringIO()
    json_display = make_display(graph, plan, "json", lines)
    assert isinstance(json_display, JsonDisplay)
    for event in _events():
        json_display.handle(event)  # type: ignore[arg-type]
    assert [line.split(",")[0] for line in lines.getvalue().splitlines()][:3] == [
        '{"event":"asset_started"', '{"event":"asset_started"', '{"event":"asset_finished"',
    ]  # fmt: skip


def test_summary(shop_manifest: Path) -> None:
    graph = load_graph(manifest=shop_manifest)
    results = {e.unique_id: e for e in _events() if isinstance(e, AssetFinished)}
    results[TEST] = AssetFinished(TEST, "pass", 1.0, 1.5, 0.5)
    result = RunResult(None, "build", ["dbt", "build"], "failed", 1, 0.0, 12.0, results, [], "1 failed")
    text = render_summary(graph, result, "Run 3 recorded")
    assert text.splitlines()[0] == "Finished `dbt build` in 12.0s: failed (exit 1)"
    assert "  error 1 · pass 1 · skipped 1" in text
    assert "Slowest:\n     1.00s  model orders\n     0.50s  test unique_orders_order_id" in text
    assert "Failures:\n  ERROR model orders (models/marts/core/orders.sql)\n    Binder Error: no_col" in text
    assert "1 skipped because of them" in text and text.endswith("Run 3 recorded\n")


def test_progress_columns_stay_put_past_nine(shop_manifest: Path) -> None:
    """``[ 9/12]`` then ``[10/12]``: the status column does not move when the count grows a digit."""
    graph = load_graph(manifest=shop_manifest)
    models = sorted(u for u in graph.records if u.startswith("model."))[:12]
    plan = Plan("run", ("run",), tuple(models), "as written")
    out = io.StringIO()
    display = make_display(graph, plan, "text", out)
    for uid in models:
        display.handle(AssetFinished(uid, "success", execution_time=1.0))
    lines = out.getvalue().splitlines()
    assert lines[8].startswith("[ 9/12] ") and lines[9].startswith("[10/12] ")
    assert len({line.index(" OK") for line in lines}) == 1, lines
