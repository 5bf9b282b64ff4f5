"""Running under faults and signals: cancelling (SIGTERM, another thread), dbt-assets killed
at random points, a history removed mid-run, concurrent runs, and a fake dbt for what a real
one will not do on demand (crash, garbage, hang, silence); Ctrl-C, a closed output or
terminal, signals during the parse and a full disk are in test_runner_signals.py. Split from
test_runner.py so that the suite's workers share the load (each module runs on one)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from dbt_assets.api import open_history, start_run
from dbt_assets.history.store import History
from dbt_assets.run.dbt_cli import WATCHDOG_ENV
from dbt_assets.run.events import AssetStarted, DbtLog, DbtStarted, RunFinished
from dbt_assets.run.invocation import RunOptions
from dbt_assets.run.project import Project
from tests.test_runner import CLI, SLOW_MODEL, _history, _json_lines

from .conftest import REPO, cli

pytestmark = pytest.mark.slow


def _start_cli(project: Path, *args: str, ignoring: tuple[int, ...] = ()) -> subprocess.Popen[str]:
    """The CLI with the signals a terminal sends at their default (whatever the suite was
    started under: `nohup` ignores SIGHUP), but those of ``ignoring``, ignored as `nohup` does."""
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.Popen(
        [CLI, *args, "--project-dir", str(project), "--output", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        preexec_fn=lambda: signal_dispositions(ignoring),
    )  # fmt: skip


def signal_dispositions(ignoring: tuple[int, ...] = ()) -> None:
    """In a child before it starts: SIGHUP, SIGINT and SIGTERM at their default, but ``ignoring``."""
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN if sig in ignoring else signal.SIG_DFL)


def _wait_for_start(process: subprocess.Popen[str], uid: str) -> tuple[int, list[dict[str, object]]]:
    """Read events until ``uid`` started; the dbt pid from dbt_started."""
    assert process.stdout is not None
    events: list[dict[str, object]] = []
    dbt_pid = None
    for line in process.stdout:
        event = json.loads(line)
        events.append(event)
        if event["event"] == "dbt_started":
            dbt_pid = int(event["pid"])  # type: ignore[call-overload]
        if event["event"] == "asset_started" and event["unique_id"] == uid:
            assert dbt_pid is not None
            return dbt_pid, events
    raise AssertionError(f"{uid} never started: {events}")


def _gone_soon(pid: int, within: float = 5.0) -> bool:
    """Whether dbt's process group is gone, or goes within ``within`` seconds."""
    deadline = time.monotonic() + within
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _gone(pid)


def _gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)  # dbt runs in its own process group: nothing of it may be left
    except ProcessLookupError:
        return True
    return False


# One handler serves SIGINT, SIGTERM and SIGHUP (cli/run.py): each cancel test sends one of
# them (test_runner_signals.py: SIGINT, and SIGHUP by closing a terminal), and test_terminal.py
# presses Ctrl-C in a real terminal (the tty's SIGINT to the process group).
@pytest.mark.parametrize("signum", [signal.SIGTERM], ids=["sigterm"])
def test_cancel_mid_run(built_project: Path, signum: signal.Signals) -> None:
    (built_project / "models/slow_model.py").write_text(SLOW_MODEL)
    process = _start_cli(built_project, "run", "-s", "stg_orders", "slow_model", "--cancel-grace", "3")
    dbt_pid, _ = _wait_for_start(process, "model.shop.slow_model")
    time.sleep(0.5)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    deadline = time.monotonic() + 5
    while not _gone(dbt_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _gone(dbt_pid), "a dbt process was left behind"
    last = json.loads(out.splitlines()[-1])
    assert last["event"] == "run_finished" and last["status"] == "cancelled"
    with _history(built_project) as history:
        run = history.runs()[0]
        assert run.status == "cancelled" and run.exit_code == 130
        results = {r.unique_id: r.status for r in history.results(run.run_id)}
    assert results["model.shop.slow_model"] == "cancelled"
    assert results["model.shop.stg_orders"] == "success"  # finished before the cancel: kept
    assert "running" not in results.values()


# A SQL model that runs for minutes unless interrupted (DuckDB answers dbt's cancel with an
# "Interrupted" error, which dbt reports as the model's error), and one that reads it.
SLOW_SQL = "{{ config(materialized='table') }}\nselect sum(hash(a)) as n from range(300000000000) t(a)\n"
AFTER_SLOW = "select * from {{ ref('slow_sql') }}\n"


def _slow_sql_project(project: Path) -> None:
    (project / "models/slow_sql.sql").write_text(SLOW_SQL)
    (project / "models/after_slow.sql").write_text(AFTER_SLOW)


@pytest.mark.parametrize(
    ("profile", "said"),
    [
        ("shop:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n      path: [1, 2\n",
         "while trying to read your profiles.yml"),
        ("shop:\n  target: dev\n  outputs:\n    dev:\n      type: nosuchadapter\n",
         "Could not find adapter type nosuchadapter"),
        ("shop: 3\n", "argument of type 'int' is not iterable"),
    ],
    ids=["yaml", "adapter", "shape"],
)  # fmt: skip
def test_a_bad_profile_is_one_line_with_dbts_own_words(parsed_project: Path, profile: str, said: str) -> None:
    """dbt refuses the profile: exit 2, stderr one line with dbt's message (not its first
    line "Encountered an error:", not "Traceback"), the run recorded as error with every
    planned asset not reached."""
    (parsed_project / "profiles.yml").write_text(profile)
    done = subprocess.run(
        [CLI, "run", "-s", "stg_orders", "--project-dir", str(parsed_project)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: dbt exited with code 2: "), done.stderr
    assert said in lines[0] and "Traceback" not in lines[0] and "(hint: " in lines[0]
    assert "Traceback" not in done.stdout
    with _history(parsed_project) as history:
        run = history.runs()[0]
        results = {r.unique_id: r.status for r in history.results(run.run_id)}
    assert run.status == "error" and said in (run.message or "")
    assert results == {"model.shop.stg_orders": "not_reached"}


def test_two_concurrent_runs_on_one_history(parsed_template: Path, tmp_path: Path) -> None:
    history = tmp_path / "shared-history.db"
    # parsed copies, so the two runs overlap in dbt's work, not in dbt parse
    projects = [Path(shutil.copytree(parsed_template, tmp_path / f"p{i}")) for i in range(2)]
    # one run per asset and target: the second builds the same assets for its own target, its
    # project parsed for that target first (so that the two overlap in dbt's work, not a parse)
    targets: list[tuple[str, ...]] = [(), ("--target", "ci")]
    Project(projects[1], target="ci").parse()
    processes = [
        _start_cli(p, "build", "--history", str(history), *t) for p, t in zip(projects, targets, strict=True)
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in outputs]
    with History.open(history, create=False) as store:
        runs = store.runs()
        assert len(runs) == 2 and {r.status for r in runs} == {"success"}
        for run, (out, _) in zip(sorted(runs, key=lambda r: r.project_dir or ""), outputs, strict=False):
            finished = [e for e in _json_lines(out) if e["event"] == "asset_finished"]
            assert len(finished) > 40
            assert sum(run.counts.values()) == len(finished)
        # they really overlapped
        first, second = sorted(runs, key=lambda r: r.started_at)
        assert second.started_at < (first.finished_at or 0)


# --- fault injection with a fake dbt -------------------------------------------------------


@pytest.fixture
def fake_dbt(tmp_path: Path) -> Path:
    script = tmp_path / "fake-dbt"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{REPO / "tests" / "fake_dbt.py"}" "$@"\n')
    script.chmod(0o755)
    return script


def _fake_run(
    project: Path, fake: Path, mode: str, *args: str, exit_code: int = 0
) -> tuple[int, list[dict[str, object]], str]:
    env = {**os.environ, "FAKE_DBT_MODE": mode, "FAKE_DBT_EXIT": str(exit_code)}
    done = subprocess.run(
        [CLI, "run", "--project-dir", str(project), "--dbt-executable", str(fake), "-o", "json", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    return done.returncode, _json_lines(done.stdout), done.stderr


def test_fake_dbt_crash_mid_stream(parsed_project: Path, fake_dbt: Path) -> None:
    code, events, _ = _fake_run(parsed_project, fake_dbt, "crash", "-s", "stg_orders+1")
    assert code == 2
    last = events[-1]
    assert last["status"] == "error" and "exited with code 3" in str(last["message"])
    logs = [e for e in events if e["event"] == "dbt_log"]
    assert any("adapter exploded" in str(e["message"]) for e in logs)  # kept and shown
    with _history(parsed_project) as history:
        run = history.runs()[0]
        results = {r.unique_id: r.status for r in history.results(run.run_id)}
        assert any("Traceback" in log.message for log in history.logs(run.run_id))
    assert run.status == "error" and run.exit_code == 2
    reported = {"model.shop.stg_orders": "success", "model.shop.orders": "error"}
    planned = set(events[0]["unique_ids"])  # type: ignore[call-overload]
    assert planned > set(reported), "the plan has more than dbt reached before it crashed"
    assert results == {**dict.fromkeys(planned, "not_reached"), **reported}


def test_fake_dbt_garbage_lines_do_not_stop_the_run(parsed_project: Path, fake_dbt: Path) -> None:
    code, events, _ = _fake_run(parsed_project, fake_dbt, "garbage", "-s", "stg_orders")
    assert code == 0
    logs = [str(e["message"]) for e in events if e["event"] == "dbt_log"]
    assert "this is not json" in logs
    assert any("half" in m for m in logs) and any("a new kind of event" in m for m in logs)
    assert any("node_info" in m for m in logs)  # JSON of dbt's shape with a bad payload: kept
    finished = [e for e in events if e["event"] == "asset_finished"]
    assert [(e["unique_id"], e["status"]) for e in finished] == [("model.shop.stg_orders", "success")]
    assert events[-1]["status"] == "success"
    assert (parsed_project / ".dbt-assets/history.db").is_file()


def test_no_history_records_nothing(parsed_project: Path, fake_dbt: Path) -> None:
    code, events, _ = _fake_run(parsed_project, fake_dbt, "garbage", "-s", "stg_orders", "--no-history")
    assert code == 0 and events[0]["run_id"] is None
    assert not (parsed_project / ".dbt-assets").exists()


def test_fake_dbt_hang_is_bounded_by_the_timeout(parsed_project: Path, fake_dbt: Path) -> None:
    started = time.monotonic()
    code, events, _ = _fake_run(
        parsed_project, fake_dbt, "hang", "-s", "stg_orders", "--timeout", "2", "--cancel-grace", "1"
    )
    assert time.monotonic() - started < 30
    assert code == 2
    assert events[-1]["status"] == "timeout" and "did not finish within 2s" in str(events[-1]["message"])
    with _history(parsed_project) as history:
        run = history.runs()[0]
        assert run.status == "timeout"
        assert {r.unique_id: r.status for r in history.results(run.run_id)} == {
            "model.shop.stg_orders": "cancelled"
        }


@pytest.mark.parametrize(
    ("exit_code", "message"), [(0, "without reporting any result"), (1, "without any output")]
)
def test_fake_dbt_exits_without_output(
    parsed_project: Path, fake_dbt: Path, exit_code: int, message: str
) -> None:
    code, events, _ = _fake_run(parsed_project, fake_dbt, "silent", "-s", "stg_orders", exit_code=exit_code)
    assert code == 2
    assert events[-1]["status"] == "error" and message in str(events[-1]["message"])


def test_missing_dbt_and_bad_target_are_startup_errors(parsed_project: Path) -> None:
    missing = cli("run", "--project-dir", str(parsed_project), "--dbt-executable", "/nonexistent/dbt")
    assert missing.exit_code == 2 and "dbt executable '/nonexistent/dbt' not found" in missing.stderr
    bad = cli("run", "--project-dir", str(parsed_project), "--target", "nope")
    assert bad.exit_code == 2
    assert "nope" in bad.stderr and "hint:" in bad.stderr


def test_empty_selection_runs_nothing(parsed_project: Path) -> None:
    result = cli("run", "--project-dir", str(parsed_project), "-s", "tag:no_such_tag")
    assert (
        result.exit_code == 2
        and "the selection is empty: 'tag:no_such_tag' matches no enabled node" in result.stderr
    )


def test_generator_closed_early_kills_dbt(
    parsed_project: Path, fake_dbt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DBT_MODE", "hang")
    project = Project(parsed_project, dbt_executable=str(fake_dbt))
    with open_history(parsed_project) as history:
        run = start_run(project, "run", ["stg_orders"], history=history, options=RunOptions(cancel_grace=1))
        events = iter(run)
        dbt_pid = next(e.pid for e in events if isinstance(e, DbtStarted))
        assert any(isinstance(e, AssetStarted) for e in events)
        events.close()  # type: ignore[attr-defined]
        assert dbt_pid and _gone(dbt_pid)
        assert history.runs()[0].status == "cancelled"


def test_the_live_result_and_the_history_agree_on_times(
    parsed_project: Path, fake_dbt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run's end and the end of what it never finished are one instant, live and recorded:
    OpenLineage events sent live and rebuilt from the history must be the same (CI found them
    a millisecond apart when the history took its own clock reading)."""
    monkeypatch.setenv("FAKE_DBT_MODE", "crash")
    project = Project(parsed_project, dbt_executable=str(fake_dbt))
    with open_history(parsed_project) as history:
        run = start_run(project, "run", ["stg_orders+1"], history=history)
        list(run)
        assert run.result is not None and run.result.run_id is not None
        recorded = history.runs()[0]
        stored = {r.unique_id: r for r in history.results(run.result.run_id)}
    assert recorded.finished_at == run.result.finished_at
    live = run.result.results
    assert {uid: r.status for uid, r in live.items()} == {uid: r.status for uid, r in stored.items()}
    assert {uid: r.finished_at for uid, r in live.items()} == {
        uid: r.finished_at for uid, r in stored.items()
    }


def test_cancel_from_another_thread(
    parsed_project: Path, fake_dbt: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_DBT_MODE", "hang")
    project = Project(parsed_project, dbt_executable=str(fake_dbt))
    run = start_run(project, "run", ["stg_orders"], options=RunOptions(cancel_grace=1))
    timer = threading.Timer(1.0, run.cancel)
    timer.start()
    events = list(run)
    assert isinstance(events[-1], RunFinished) and events[-1].status == "cancelled"
    assert run.result is not None and run.result.results["model.shop.stg_orders"].status == "cancelled"
    assert not any(isinstance(e, DbtLog) and e.level == "error" for e in events)


def test_killed_dbt_assets_keeps_what_finished(built_project: Path) -> None:
    (built_project / "models/slow_model.py").write_text(SLOW_MODEL)
    process = _start_cli(built_project, "run", "-s", "stg_orders", "slow_model", "--threads", "1")
    assert process.stdout is not None
    dbt_pid = None
    for line in process.stdout:
        event = json.loads(line)
        dbt_pid = event["pid"] if event["event"] == "dbt_started" else dbt_pid
        if event["event"] == "asset_finished" and event["unique_id"] == "model.shop.stg_orders":
            break
    for line in process.stdout:
        if json.loads(line)["event"] == "asset_started":  # slow_model is running now
            break
    process.kill()  # no chance to clean up
    process.wait()
    assert isinstance(dbt_pid, int)
    _assert_dbt_dies(dbt_pid)
    with _history(built_project) as history:  # opening it recovers the killed run
        assert history.recovered == [history.runs()[0].run_id]
        run = history.runs()[0]
        results = {r.unique_id: r.status for r in history.results(run.run_id)}
    assert run.status == "interrupted" and run.finished_at is not None and run.exit_code == 130
    assert results["model.shop.stg_orders"] == "success"
    assert results["model.shop.slow_model"] == "cancelled", "it was running when dbt was stopped"
    with _history(built_project) as history:
        assert history.recovered == [], "recovered once"


def _assert_dbt_dies(dbt_pid: int) -> None:
    """dbt (and its whole process group) is gone soon after dbt-assets was killed."""
    deadline = time.monotonic() + 15
    while not _gone(dbt_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if not _gone(dbt_pid):
        os.killpg(dbt_pid, signal.SIGKILL)  # never leave it behind, even when the test fails
        raise AssertionError("dbt outlived the dbt-assets that started it")


@pytest.mark.parametrize(
    ("seed", "watchdog"), [(0, False), (1, False), (2, False), (3, True)], ids=["0", "1", "2", "3-watchdog"]
)
def test_killed_at_a_random_point_leaves_no_dbt_and_loses_nothing(
    built_project: Path, seed: int, watchdog: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL at a random moment of a real run (fixed seeds): no dbt survives, and every
    result dbt reported before the kill is in the history once the run is recovered. With
    ``watchdog``: by the watchdog process used where Linux's parent-death signal is not."""
    import random

    if watchdog:
        monkeypatch.setenv(WATCHDOG_ENV, "1")
    (built_project / "models/slow_model.py").write_text(SLOW_MODEL)
    process = _start_cli(built_project, "build", "-s", "+stg_orders", "slow_model", "--threads", "2")
    assert process.stdout is not None
    delay = random.Random(seed).uniform(0.5, 6.0)
    started = time.monotonic()
    seen: dict[str, str] = {}
    dbt_pid = None
    for line in process.stdout:
        event = json.loads(line)
        if event["event"] == "dbt_started":
            dbt_pid = int(event["pid"])
        if event["event"] == "asset_finished":
            seen[str(event["unique_id"])] = str(event["status"])
        if dbt_pid is not None and time.monotonic() - started > delay:
            break
    process.kill()
    process.wait()
    assert dbt_pid is not None
    _assert_dbt_dies(dbt_pid)
    with _history(built_project) as history:
        run = history.runs()[0]
        results = {r.unique_id: r.status for r in history.results(run.run_id)}
    assert run.status == "interrupted"
    assert "running" not in results.values()
    for uid, status in seen.items():
        assert results.get(uid) == status, uid


def test_a_history_removed_during_the_run_is_not_lost(built_project: Path) -> None:
    """Deleting the history while a run goes on: the run does not claim to be recorded; its
    results are saved beside where the history was, in a file history import takes."""
    (built_project / "models/slow_model.py").write_text(SLOW_MODEL.replace("120", "3"))
    process = _start_cli(built_project, "run", "-s", "stg_orders", "slow_model", "--threads", "1")
    _wait_for_start(process, "model.shop.slow_model")
    db = built_project / ".dbt-assets" / "history.db"
    db.unlink()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2, err
    assert "was removed or replaced during the run" in err and "Traceback" not in err
    saved = next((built_project / ".dbt-assets").glob("unrecorded-run_results-*.json"))
    assert f"dbt-assets history import {saved}" in err
    imported = cli("history", "--project-dir", str(built_project), "import", str(saved))
    assert imported.exit_code == 0, imported.output
    with _history(built_project) as history:
        results = {r.unique_id: r.status for r in history.results(history.runs()[0].run_id)}
    assert results == {"model.shop.stg_orders": "success", "model.shop.slow_model": "success"}
