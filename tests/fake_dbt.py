"""A fake dbt for fault injection only: it prints dbt-shaped JSON log lines, then misbehaves
as ``FAKE_DBT_MODE`` says. Every behaviour a real dbt has is tested with the real dbt.

Modes: ``crash`` (one asset finishes, the next starts, then exit 3), ``garbage`` (valid events
mixed with non-JSON and unknown JSON lines, exit 0), ``hang`` (starts an asset, then sleeps),
``silent`` (exit with ``FAKE_DBT_EXIT``, default 0, printing nothing).
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime

INVOCATION = "00000000-0000-4000-8000-000000000000"


def emit(name: str, data: dict[str, object], level: str = "info") -> None:
    now = datetime.now(UTC)
    info = {
        "name": name,
        "level": level,
        "msg": name,
        "ts": now.isoformat().replace("+00:00", "Z"),
        "invocation_id": INVOCATION,
        "pid": os.getpid(),
    }
    print(json.dumps({"data": data, "info": info}), flush=True)


def node(uid: str, status: str) -> dict[str, object]:
    stamp = datetime.now(UTC).replace(tzinfo=None).isoformat()
    return {
        "unique_id": uid,
        "resource_type": uid.split(".")[0],
        "node_status": status,
        "node_started_at": stamp,
        "node_finished_at": stamp if status != "started" else "",
    }


def started(uid: str) -> None:
    emit("NodeStart", {"node_info": node(uid, "started")}, "debug")


def finished(uid: str, status: str = "success") -> None:
    result = {
        "status": status,
        "execution_time": 0.5,
        "message": "OK",
        "adapter_response": {"rows_affected": 3},
        "timing_info": [],
    }
    emit("NodeFinished", {"node_info": node(uid, status), "run_result": result}, "debug")


def main() -> None:
    mode = os.environ.get("FAKE_DBT_MODE", "silent")
    if mode == "silent":
        sys.exit(int(os.environ.get("FAKE_DBT_EXIT", "0")))
    emit("MainReportVersion", {"version": "=1.11.16", "log_version": 3})
    first, second = "model.shop.stg_orders", "model.shop.orders"
    if mode == "crash":
        started(first)
        finished(first)
        started(second)
        print("Traceback (most recent call last):\n  RuntimeError: adapter exploded", flush=True)
        sys.exit(3)
    if mode == "garbage":
        print("this is not json", flush=True)
        started(first)
        print('{"half": "a json line', flush=True)
        print('{"info": {"name": "SomethingNew", "level": "warn", "msg": "a new kind of event"}}', flush=True)
        print('{"info": {"name": "NodeFinished", "level": "debug"}, "data": {"node_info": 3}}', flush=True)
        print("\x00\x01 binary junk \xff", flush=True)
        finished(first)
        sys.exit(0)
    if mode == "hang":
        started(first)
        time.sleep(3600)
    sys.exit(f"unknown FAKE_DBT_MODE {mode}")


if __name__ == "__main__":
    main()
