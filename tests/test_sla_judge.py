"""The SLA judge on given facts: each kind, each status, and deadlines across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from msgspec.structs import replace

from dbt_assets.api import load_graph
from dbt_assets.history.facts import AssetFacts
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.sla.config import Sla, SourceSla
from dbt_assets.sla.judge import SlaResult, judge, worst_exit_code

ORDERS = "model.shop.orders"
STG = "model.shop.stg_orders"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
def graph(shop_manifest: Path) -> AssetGraph:
    return load_graph(manifest=shop_manifest)


def berlin(*parts: int) -> float:
    return datetime(*parts, tzinfo=BERLIN).timestamp()  # type: ignore[misc]


def succeeded(uid: str, *finishes: float, took: float = 60.0) -> AssetFacts:
    return AssetFacts(
        uid,
        first_at=finishes[0] - took,
        last_status="success",
        last_run_id=len(finishes),
        last_finished_at=finishes[-1],
        last_execution_time=took,
        last_success_at=finishes[-1],
        recent=[[f, took] for f in finishes],
    )


def judged(
    graph: AssetGraph, sla: Sla | SourceSla, facts: dict[str, AssetFacts], at: float, uid: str = ORDERS
) -> list[SlaResult]:
    return judge(graph, facts, at, slas={uid: sla}, unique_ids=[uid])


def test_deadline_across_the_spring_change(graph: AssetGraph) -> None:
    """05:30 UTC is 06:30 in Berlin on Saturday 28 March 2026 (CET) but 07:30 on Sunday the
    29th (CEST): the same UTC finish meets a 07:00 deadline on one day and misses it the next."""
    sla = Sla(deadline="07:00", timezone="Europe/Berlin")
    saturday = datetime(2026, 3, 28, 5, 30, tzinfo=UTC).timestamp()
    sunday = datetime(2026, 3, 29, 5, 30, tzinfo=UTC).timestamp()
    facts = {ORDERS: succeeded(ORDERS, saturday - 86400, saturday)}
    (result,) = judged(graph, sla, facts, berlin(2026, 3, 28, 12, 0))
    assert result.status == "ok" and result.limit == "2026-03-28T06:00:00+00:00"
    facts = {ORDERS: succeeded(ORDERS, saturday, sunday)}
    (result,) = judged(graph, sla, facts, berlin(2026, 3, 29, 12, 0))
    assert result.status == "breached" and result.limit == "2026-03-29T05:00:00+00:00"
    assert "30m late" in result.message and "CEST" in result.message


def test_deadline_across_the_autumn_change(graph: AssetGraph) -> None:
    """On 25 October 2026 Berlin's 07:00 is 06:00 UTC again: a 05:30 UTC finish meets it."""
    sla = Sla(deadline="07:00", timezone="Europe/Berlin")
    sunday = datetime(2026, 10, 25, 6, 30, tzinfo=UTC).timestamp()  # 07:30 CET: late
    facts = {ORDERS: succeeded(ORDERS, sunday - 2 * 86400, sunday)}
    (result,) = judged(graph, sla, facts, berlin(2026, 10, 25, 12, 0))
    assert result.status == "breached" and result.limit == "2026-10-25T06:00:00+00:00"
    on_time = datetime(2026, 10, 25, 5, 55, tzinfo=UTC).timestamp()
    facts = {ORDERS: succeeded(ORDERS, on_time - 2 * 86400, on_time)}
    assert judged(graph, sla, facts, berlin(2026, 10, 25, 12, 0))[0].status == "ok"


def test_history_that_starts_after_the_deadline_is_judged_by_the_next(graph: AssetGraph) -> None:
    sla = Sla(deadline="07:00")
    first = datetime(2026, 11, 24, 9, 0, tzinfo=UTC).timestamp()
    (result,) = judged(graph, sla, {ORDERS: succeeded(ORDERS, first)}, first + 3600)
    assert result.status == "ok" and result.message.startswith("done for"), "no claim about the 07:00 before"


def test_running_upstream_counts_only_what_is_left(graph: AssetGraph) -> None:
    sla = Sla(deadline="07:00")
    yesterday = datetime(2026, 11, 23, 5, 0, tzinfo=UTC).timestamp()
    at = datetime(2026, 11, 24, 6, 30, tzinfo=UTC).timestamp()
    stg = replace(succeeded(STG, yesterday - 3600, took=1200.0), running_since=at - 900)
    facts = {ORDERS: succeeded(ORDERS, yesterday, took=600.0), STG: stg}
    (result,) = judged(graph, sla, facts, at)
    assert result.details["estimate"] == 300.0 + 600.0  # 5 min left of stg_orders, then orders
    assert result.details["critical_path"] == [STG, ORDERS] and result.status == "ok"


@pytest.mark.parametrize(
    ("sla", "facts_kw", "status", "observed"),
    [
        (Sla(freshness=3600), {}, "unknown", None),
        (Sla(max_runtime=60), {}, "unknown", None),
        (Sla(max_failures=1), {}, "unknown", None),
        (
            Sla(freshness=3600, severity="warn"),
            {"last_success_at": 0.0, "last_status": "success"},
            "warn",
            7200.0,
        ),
        (Sla(max_runtime=60), {"last_status": "error", "last_execution_time": 90.0}, "breached", 90.0),
        (Sla(max_runtime=60), {"last_status": "success", "running_since": 7000.0}, "breached", 200.0),
        (Sla(max_failures=1), {"last_status": "error", "consecutive_failures": 1}, "ok", 1),
        (Sla(max_failures=1), {"last_status": "error", "consecutive_failures": 2}, "breached", 2),
    ],
)
def test_each_kind(
    graph: AssetGraph, sla: Sla, facts_kw: dict[str, object], status: str, observed: object
) -> None:
    facts = {ORDERS: AssetFacts(ORDERS, **facts_kw)} if facts_kw else {}  # type: ignore[arg-type]
    (result,) = judged(graph, sla, facts, 7200.0)
    assert (result.status, result.observed) == (status, observed)
    assert worst_exit_code([result]) == (1 if status == "breached" else 0)


@pytest.mark.parametrize(
    ("sla", "age", "status", "severity"),
    [
        (SourceSla(warn_after=3600, error_after=7200), 1800, "ok", "error"),
        (SourceSla(warn_after=3600, error_after=7200), 5400, "warn", "warn"),
        (SourceSla(warn_after=3600, error_after=7200), 9000, "breached", "error"),
        (SourceSla(warn_after=3600), 9000, "warn", "warn"),
        (SourceSla(error_after=3600), 1800, "ok", "error"),
    ],
)
def test_source_freshness_thresholds(
    graph: AssetGraph, sla: SourceSla, age: float, status: str, severity: str
) -> None:
    uid = "source.shop.shop.orders"
    facts = {
        uid: AssetFacts(uid, last_status="pass", last_finished_at=10_000.0, max_loaded_at=10_000.0 - age)
    }
    (result,) = judged(graph, sla, facts, 10_000.0, uid)
    assert (result.status, result.severity, result.observed) == (status, severity, age)
