"""Reading dbt's JSON log lines into events (the real dbt's lines are covered end to end in
test_runner; these pin the edge cases)."""

from __future__ import annotations

import json

import pytest

from dbt_assets.run.events import (
    AssetFinished,
    AssetStarted,
    DbtLog,
    DbtStarted,
    LogReader,
    event_json,
    timestamp,
)

pytestmark = pytest.mark.unit  # starts no process


def _line(name: str, data: dict[str, object], level: str = "debug", msg: str = "") -> str:
    info = {
        "name": name,
        "level": level,
        "msg": msg,
        "ts": "2026-11-23T07:00:00.5Z",
        "invocation_id": "i-1",
        "pid": 42,
    }
    return json.dumps({"data": data, "info": info})


NODE = {
    "unique_id": "test.shop.not_null_orders_id.1",
    "resource_type": "test",
    "node_started_at": "2026-11-23T07:00:00",
}


def test_version_start_and_finish() -> None:
    reader = LogReader({"test.shop.not_null_orders_id.1": ["model.shop.orders"]})
    (started,) = reader.read(_line("MainReportVersion", {"version": "=1.11.16"}, "info"))
    assert started == DbtStarted("1.11.16", "i-1", 42)
    (start,) = reader.read(_line("NodeStart", {"node_info": NODE}))
    assert isinstance(start, AssetStarted) and start.check_of == ["model.shop.orders"]
    assert start.at == timestamp("2026-11-23T07:00:00Z")
    result = {
        "status": "fail",
        "execution_time": 0.25,
        "message": "Got 3 results, configured to fail if != 0",
        "num_failures": 3,
        "adapter_response": {"rows_affected": 3.0, "_message": "OK"},
        "timing_info": [
            {"name": "execute", "started_at": "2026-11-23T07:00:00Z", "completed_at": "2026-11-23T07:00:01Z"}
        ],
        "thread": "Thread-1",
    }
    finished_node = {**NODE, "node_finished_at": "2026-11-23T07:00:01"}
    (finished,) = reader.read(_line("NodeFinished", {"node_info": finished_node, "run_result": result}))
    assert isinstance(finished, AssetFinished)
    assert (finished.status, finished.failures, finished.rows_affected) == ("fail", 3, 3)
    assert finished.finished_at is not None and finished.started_at is not None
    assert finished.finished_at - finished.started_at == 1.0
    assert finished.timing[0].name == "execute"
    assert json.loads(event_json(finished))["event"] == "asset_finished"


def test_garbled_and_unknown_lines_become_logs() -> None:
    reader = LogReader()
    assert reader.read("Traceback (most recent call last):") == [
        DbtLog(level="output", message="Traceback (most recent call last):")
    ]
    assert reader.read("") == [] and reader.read("   \n") == []
    (unknown,) = reader.read(_line("BrandNewEvent", {"x": 1}, "warn", "\x1b[33mheads up\x1b[0m"))
    assert unknown == DbtLog(
        level="warn", message="heads up", name="BrandNewEvent", at=timestamp("2026-11-23T07:00:00.5Z")
    )
    bad_shape = _line("NodeFinished", {"node_info": "not a dict"})
    (kept,) = reader.read(bad_shape)
    assert isinstance(kept, DbtLog) and kept.message == bad_shape
    assert reader.read('{"info": 3}')[0] == DbtLog(level="output", message='{"info": 3}')


def test_debug_noise_and_known_info_lines_are_dropped() -> None:
    reader = LogReader()
    assert reader.read(_line("SQLQuery", {"sql": "select 1"})) == []
    assert reader.read(_line("LogModelResult", {"node_info": NODE}, "info")) == []
    (info,) = reader.read(
        _line("UnableToPartialParse", {"reason": "x"}, "info", "Unable to do partial parsing")
    )
    assert isinstance(info, DbtLog) and info.name == "UnableToPartialParse"


def test_hooks_are_not_assets() -> None:
    reader = LogReader()
    hook = {"unique_id": "operation.shop.shop-on-run-start-0", "resource_type": "operation"}
    assert reader.read(_line("NodeStart", {"node_info": hook})) == []
    failed = {"status": "error", "message": "boom"}
    (log,) = reader.read(_line("NodeFinished", {"node_info": hook, "run_result": failed}))
    assert isinstance(log, DbtLog) and log.level == "error" and "boom" in log.message


def test_skipped_has_no_execution_time() -> None:
    node = {**NODE, "node_status": "skipped"}
    (skipped,) = LogReader().read(
        _line("NodeFinished", {"node_info": node, "run_result": {"status": "skipped", "execution_time": 0}})
    )
    assert (
        isinstance(skipped, AssetFinished) and skipped.status == "skipped" and skipped.execution_time is None
    )


def test_timestamps() -> None:
    assert (
        timestamp("2026-11-23T07:00:00Z")
        == timestamp("2026-11-23T07:00:00")
        == timestamp("2026-11-23T08:00:00+01:00")
    )
    assert timestamp("") is None and timestamp("None") is None and timestamp("yesterday") is None
