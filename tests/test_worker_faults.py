"""A warm dbt under faults: a cancel stops dbt as on the CLI path (SIGINT, then the grace
period, then SIGKILL; a second cancel kills at once) and the warm process is replaced, as after
a crash or a timeout; a run waiting for a busy worker can be cancelled; dbt-assets killed takes
its warm dbt with it (whichever thread opened the worker); through `dbt-assets worker`, a
client's Ctrl-C cancels its run and a client killed kills its dbt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dbt_assets.api import open_history, open_worker, start_run
from dbt_assets.run.events import AssetStarted
from dbt_assets.run.invocation import RunOptions
from dbt_assets.run.project import Project

from .conftest import REPO
from .test_runner import SLOW_MODEL, _history
from .test_runner_faults import _gone_soon, _slow_sql_project, _start_cli, _wait_for_start
from .test_worker import serving, worker_dir  # noqa: F401 (the fixture)

pytestmark = pytest.mark.slow


def _run_until_started(run: object, uid: str, then: object) -> None:
    """Iterate ``run``; once ``uid`` started, call ``then()`` (from another thread)."""
    for event in run:  # type: ignore[attr-defined]
        if isinstance(event, AssetStarted) and event.unique_id == uid:
            threading.Timer(1.0, then).start()  # type: ignore[arg-type]


def test_a_cancel_stops_the_warm_dbt_and_a_run_cancelled_while_it_waits_never_starts(
    built_project: Path,
) -> None:
    """A cancel is the CLI's (SIGINT, within the grace period here: DuckDB stops its query),
    the truth is recorded, and the warm dbt is replaced. Meanwhile a second run waited for the
    worker (dbt is not safe for two invocations in one process): cancelled while it waited, it
    ends cancelled without reaching dbt, and the first run goes on."""
    _slow_sql_project(built_project)
    project = Project(built_project)
    with open_worker(project) as worker:
        options = RunOptions(threads=1, cancel_grace=60)
        first = start_run(project, "run", ["slow_sql", "after_slow"], options=options, worker=worker)
        child = worker.pid
        assert child is not None
        started = threading.Event()

        def go() -> None:
            for event in first:
                if isinstance(event, AssetStarted) and event.unique_id == "model.shop.slow_sql":
                    started.set()

        running = threading.Thread(target=go)
        running.start()
        assert started.wait(120), "the first run never started its model"
        second = start_run(project, "run", ["stg_orders"], worker=worker)
        threading.Timer(1.0, second.cancel).start()
        waited = second.run()
        assert waited.status == "cancelled" and worker.invocations == 0, "it never reached dbt"
        assert {uid: r.status for uid, r in waited.results.items()} == {
            "model.shop.stg_orders": "not_reached"
        }
        assert first.result is None, "the first run goes on"

        first.cancel()
        running.join(120)
        result = first.result
        assert result is not None and result.status == "cancelled" and result.exit_code == 130
        assert {uid: r.status for uid, r in result.results.items()} == {
            "model.shop.slow_sql": "cancelled",
            "model.shop.after_slow": "not_reached",
        }
        logs = " ".join(log.message for log in result.logs)
        assert "Traceback" not in logs and "KeyboardInterrupt" not in logs
        assert not first._process.killed, "SIGINT stopped it, within the grace period"  # type: ignore[union-attr]
        assert _gone_soon(child), "the cancelled warm dbt was left behind"
        assert worker.replaced == ["a run was cancelled"]
        after = start_run(project, "run", ["stg_orders"], worker=worker).run()
        assert after.status == "success" and worker.started == 2 and worker.pid != child


KILLED = """
import sys, threading
from dbt_assets.api import open_worker, start_run
from dbt_assets.run.events import AssetStarted
from dbt_assets.run.project import Project

project = Project(sys.argv[1])
opened = []
if sys.argv[2] == "main":
    opened.append(open_worker(project))
else:  # a thread that ends before the run: the warm dbt must outlive it, not the process
    thread = threading.Thread(target=lambda: opened.append(open_worker(project)))
    thread.start()
    thread.join()
for event in start_run(project, "run", ["slow_model"], worker=opened[0]):
    if isinstance(event, AssetStarted):
        print(opened[0].pid, flush=True)
"""


@pytest.mark.parametrize("opener", ["main", "other"], ids=["main-thread", "other-thread"])
def test_dbt_assets_killed_takes_its_warm_dbt_with_it(built_project: Path, opener: str) -> None:
    (built_project / "models" / "slow_model.py").write_text(SLOW_MODEL)
    script = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(built_project), opener],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert script.stdout is not None
    line = script.stdout.readline()
    assert line.strip().isdigit(), script.stderr.read() if script.stderr else ""
    child = int(line)
    os.kill(script.pid, signal.SIGKILL)
    script.wait()
    assert _gone_soon(child), "the warm dbt outlived dbt-assets"


def test_a_crash_a_timeout_or_a_kill_replaces_the_warm_dbt(built_project: Path) -> None:
    (built_project / "models" / "slow_model.py").write_text(SLOW_MODEL)
    _slow_sql_project(built_project)
    project = Project(built_project)
    with open_history(built_project) as history, open_worker(project) as worker:
        run = start_run(project, "run", ["slow_model"], history=history, worker=worker)
        child = worker.pid
        assert child is not None
        _run_until_started(run, "model.shop.slow_model", lambda: os.killpg(child, signal.SIGKILL))
        assert run.result is not None and run.result.status == "error"
        assert (run.result.message or "").startswith(f"dbt exited with code {-signal.SIGKILL}")
        assert run.result.results["model.shop.slow_model"].status == "error"
        assert worker.replaced == [f"its process exited (code {-signal.SIGKILL})"]

        timed = start_run(
            project, "run", ["slow_sql"], options=RunOptions(timeout=2), history=history, worker=worker
        ).run()
        assert timed.status == "timeout"
        assert timed.results["model.shop.slow_sql"].status in ("cancelled", "not_reached")
        assert worker.replaced[1:] == ["a run was cancelled"]
        assert [r.status for r in history.runs()][:2] == ["timeout", "error"]

        # a second cancel kills at once, whatever the grace period
        killed = start_run(
            project, "run", ["stg_orders", "slow_model"], options=RunOptions(cancel_grace=600), worker=worker
        )
        children: list[int | None] = []

        def twice() -> None:  # the cancelled one replaced, a new dbt process runs this one
            children.append(worker.pid)
            killed.cancel()
            killed.cancel()

        _run_until_started(killed, "model.shop.slow_model", twice)
        child = children[0]
        assert child is not None
        assert killed.result is not None and killed.result.status == "cancelled"
        assert killed._process.killed  # type: ignore[union-attr]
        assert killed.result.results["model.shop.slow_model"].status == "cancelled"
        assert killed.result.results["model.shop.stg_orders"].status == "success"
        assert _gone_soon(child) and worker.replaced[2:] == ["a run was cancelled"]
        assert start_run(project, "run", ["stg_orders"], worker=worker).run().status == "success"
        assert worker.started == 4


def test_a_client_of_the_worker_stops_or_dies_and_so_does_its_dbt(built_project: Path) -> None:
    _slow_sql_project(built_project)
    with serving(built_project) as (_server, worker):
        client = _start_cli(built_project, "run", "-s", "slow_sql", "--cancel-grace", "30")
        dbt_pid, _ = _wait_for_start(client, "model.shop.slow_sql")
        assert dbt_pid == worker.pid, "dbt ran in the worker"
        time.sleep(1.0)
        client.send_signal(signal.SIGTERM)  # as Ctrl-C: stop, record, exit 130
        _out, err = client.communicate(timeout=120)
        assert client.returncode == 130, err
        with _history(built_project) as history:
            run = history.runs()[0]
            results = {r.unique_id: r.status for r in history.results(run.run_id)}
        assert run.status == "cancelled" and results == {"model.shop.slow_sql": "cancelled"}
        assert _gone_soon(dbt_pid) and worker.replaced == ["a run was cancelled"]
        for _ in range(1200):  # the replaced dbt is started again at once, off the next run's time
            if worker.alive:
                break
            time.sleep(0.1)
        assert worker.alive and worker.pid != dbt_pid and worker.started == 2

        client = _start_cli(built_project, "run", "-s", "slow_sql")
        dbt_pid, _ = _wait_for_start(client, "model.shop.slow_sql")
        client.kill()  # dbt-assets gone: its dbt goes too, in the worker
        client.wait()
        assert _gone_soon(dbt_pid, within=30), "the dbt of a killed client was left running"
        for _ in range(300):
            if len(worker.replaced) == 2:
                break
            time.sleep(0.1)
        assert worker.replaced == ["a run was cancelled", "a run was cancelled"]
