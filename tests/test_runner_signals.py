"""Stopping a run from outside, and what dbt-assets does when the world fails under it: Ctrl-C,
a closed output, a closed terminal (SIGHUP), SIGTERM and SIGHUP during the `dbt parse` before
a run, the history's disk filling up mid-run, and dbt's own parse failing with a traceback.
Real dbt on the DuckDB fixture, signals at moments; split from test_runner_faults.py so that
the suite's workers share the load (each module runs on one). The cancel, hang-up and
full-disk tests share one built project whose models are parsed once (stoppable_project)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.test_runner import CLI, _history, _json_lines
from tests.test_runner_faults import (
    _gone_soon,
    _slow_sql_project,
    _start_cli,
    _wait_for_start,
    signal_dispositions,
)

from .conftest import cli, run_dbt

pytestmark = pytest.mark.slow


# A Python model that waits for a file to exist (in the full-disk test: the disk is full).
GATED_MODEL = """
import os
import time


def model(dbt, session):
    dbt.ref("stg_orders")
    while not os.path.exists({gate!r}):
        time.sleep(0.1)
    return session.sql("select 1 as id")
"""


@pytest.fixture(scope="module")
def stoppable_project(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built fixture with models that run until they are stopped (slow_sql, and gated,
    which waits for the file ``gate`` in the project), parsed once for the module's cancel,
    hang-up and full-disk tests (each its own run in the one history, the newest first)."""
    project = Path(shutil.copytree(built_template, tmp_path_factory.mktemp("stoppable") / "built"))
    _slow_sql_project(project)
    (project / "models" / "gated.py").write_text(GATED_MODEL.format(gate=str(project / "gate")))
    (project / "models" / "after_gated.sql").write_text("select * from {{ ref('gated') }}\n")
    run_dbt(project, "parse")
    return project


@pytest.mark.parametrize("signum", [signal.SIGINT], ids=["ctrl-c"])
def test_cancel_records_the_truth(stoppable_project: Path, signum: signal.Signals) -> None:
    """The asset dbt reports as an error because it was interrupted is cancelled (not a failure,
    not counted by max_failures), the assets never reached are listed as such in the events and
    the history, and dbt's KeyboardInterrupt traceback is shown nowhere."""
    built_project = stoppable_project
    process = _start_cli(built_project, "run", "-s", "slow_sql", "after_slow", "--threads", "1")
    dbt_pid, _ = _wait_for_start(process, "model.shop.slow_sql")
    time.sleep(1.0)  # the query runs
    process.send_signal(signum)
    out, err = process.communicate(timeout=90)
    assert process.returncode == 130, err
    assert "Traceback" not in out + err and "KeyboardInterrupt" not in out + err
    events = _json_lines(out)
    finished = {e["unique_id"]: e for e in events if e["event"] == "asset_finished"}
    assert finished["model.shop.slow_sql"]["status"] == "cancelled"
    assert finished["model.shop.after_slow"]["status"] == "not_reached"
    assert events[-1]["counts"] == {"cancelled": 1, "not_reached": 1}
    assert events[-1]["message"] == f"cancelled ({signum.name})"
    with _history(built_project) as history:
        run = history.runs()[0]
        results = {r.unique_id: r.status for r in history.results(run.run_id)}
        facts = history.facts()
        logs = " ".join(log.message for log in history.logs(run.run_id))
    assert results == {"model.shop.slow_sql": "cancelled", "model.shop.after_slow": "not_reached"}
    assert facts["model.shop.slow_sql"].consecutive_failures == 0
    assert facts["model.shop.slow_sql"].last_status == "cancelled"
    assert "model.shop.after_slow" not in facts, "never run: the run that did not reach it changes nothing"
    assert "Traceback" not in logs and "KeyboardInterrupt" not in logs
    assert _gone_soon(dbt_pid), "a dbt process was left behind"


def test_closed_output_stops_the_run_and_records_it(stoppable_project: Path) -> None:
    """`dbt-assets run ... | head -2`: dbt is stopped, the run recorded, one line on stderr."""
    built_project = stoppable_project
    process = _start_cli(built_project, "run", "-s", "slow_sql", "after_slow", "--threads", "1")
    dbt_pid, _ = _wait_for_start(process, "model.shop.slow_sql")
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # the reader is gone; the next event written breaks the pipe
    err = process.stderr.read()
    process.wait(timeout=90)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("dbt-assets: the output was closed"), err
    assert "Traceback" not in err and "Exception ignored" not in err
    assert _gone_soon(dbt_pid), "a dbt process was left behind"
    with _history(built_project) as history:
        run = history.runs()[0]
        results = {r.unique_id: r.status for r in history.results(run.run_id)}
    assert run.status == "cancelled" and run.message == "cancelled: the output was closed"
    assert results == {"model.shop.slow_sql": "cancelled", "model.shop.after_slow": "not_reached"}


# --- issue 32: every dbt child (the parse included) dies with dbt-assets; a full disk; dbt's errors


# A model dbt never finishes parsing: its Jinja loops 10^10 times when dbt renders it.
ENDLESS_PARSE = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\nselect 1\n"


def _children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``, with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == pid:
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
    return found


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting for its parent does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["sigterm", "sighup"])
def test_a_signal_during_the_parse_ends_the_parse(parsed_project: Path, signum: signal.Signals) -> None:
    """SIGTERM or SIGHUP while the `dbt parse` before a run is going: the parse dies with
    dbt-assets (it ran on, alone, before), which says it stopped and exits 130 with nothing
    run or recorded."""
    (parsed_project / "models" / "endless_parse.sql").write_text(ENDLESS_PARSE)
    process = _start_cli(parsed_project, "run", "-s", "endless_parse")
    deadline = time.monotonic() + 60
    parse = None
    while parse is None and time.monotonic() < deadline and process.poll() is None:
        parse = next((pid for pid, argv in _children(process.pid).items() if " parse " in argv), None)
        time.sleep(0.05)
    assert parse is not None, "dbt parse never started"
    try:
        time.sleep(1.0)  # dbt is in its parse
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
        deadline = time.monotonic() + 5
        while _alive(parse) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(parse), "the dbt parse outlived dbt-assets"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(parse, signal.SIGKILL)  # never leave it spinning, even when the test fails
    assert process.returncode == 130, err
    assert "Traceback" not in err and not out.strip()
    if (parsed_project / ".dbt-assets" / "history.db").exists():
        with _history(parsed_project) as history:
            assert history.runs() == [], "nothing ran"


def test_a_closed_terminal_cancels_the_run(stoppable_project: Path) -> None:
    """The terminal closes under a run (SIGHUP: a window closed, an ssh connection dropped):
    a cancel like Ctrl-C, not a kill. dbt is told to stop, the run is recorded as cancelled
    with the asset that was running cancelled and the one never reached not_reached, no dbt
    is left, and dbt-assets exits 130 though it can no longer write to its terminal."""
    import fcntl
    import termios

    built_project = stoppable_project
    leader, follower = os.openpty()

    def controlling_terminal() -> None:  # in the child, after setsid(): the pty is its terminal
        signal_dispositions()  # a hang-up as a terminal sends it, even to a suite run under nohup
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    process = subprocess.Popen(
        [CLI, "run", "--project-dir", str(built_project), "-s", "slow_sql", "after_slow", "--threads", "1",
         "--output", "json", "--cancel-grace", "3"],
        stdin=follower, stdout=follower, stderr=follower, env=env,
        start_new_session=True, preexec_fn=controlling_terminal,
    )  # fmt: skip
    os.close(follower)
    shown = b""
    while b'"asset_started","unique_id":"model.shop.slow_sql"' not in shown:
        chunk = os.read(leader, 65536)
        assert chunk, shown.decode(errors="replace")
        shown += chunk
    started = next(
        json.loads(line) for line in shown.splitlines() if line.startswith(b'{"event":"dbt_started"')
    )
    time.sleep(1.0)  # the query runs
    os.close(leader)  # the terminal is gone: the kernel hangs up the session, SIGHUP
    assert process.wait(timeout=90) == 130
    dbt_pid = int(started["pid"])
    assert _gone_soon(dbt_pid), "a dbt process was left behind"
    with _history(built_project) as history:
        run = history.runs()[0]
        results = {r.unique_id: r.status for r in history.results(run.run_id)}
    assert run.status == "cancelled" and run.exit_code == 130
    assert results == {"model.shop.slow_sql": "cancelled", "model.shop.after_slow": "not_reached"}


def test_a_hang_up_under_nohup_leaves_the_run_going(stoppable_project: Path) -> None:
    """`nohup dbt-assets run ...`: SIGHUP was ignored when dbt-assets started, so the hang-up
    of the terminal it was started from leaves the run going to its end (it cancelled the run
    before); SIGINT and SIGTERM still cancel it (the tests above)."""
    gate = stoppable_project / "gate"
    gate.unlink(missing_ok=True)
    try:
        process = _start_cli(stoppable_project, "run", "-s", "gated", ignoring=(signal.SIGHUP,))
        _wait_for_start(process, "model.shop.gated")
        process.send_signal(signal.SIGHUP)
        time.sleep(1.0)  # a cancel would have told dbt to stop by now
        assert process.poll() is None, "a hang-up stopped a run started under nohup"
        gate.touch()
        out, err = process.communicate(timeout=120)
    finally:
        gate.unlink(missing_ok=True)
    assert process.returncode == 0, err
    assert _json_lines(out)[-1]["counts"] == {"success": 1}


def test_a_full_disk_mid_run(stoppable_project: Path) -> None:
    """The history's disk fills up during a real run (a 2 MB tmpfs holding .dbt-assets, as
    root): one line naming the history, where the results are and the command that
    completes the run; exit 2; no partial file presented as whole; and once there is space
    `history recover` completes the run with every result dbt reported."""
    built_project = stoppable_project
    state = built_project / ".dbt-assets"
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(state)], capture_output=True, text=True
    )
    if mounted.returncode != 0:  # test_outputs.py injects ENOSPC at os.write where this cannot run
        pytest.skip(f"cannot mount a small filesystem here (needs root): {mounted.stderr.strip()}")
    gate = built_project / "gate"
    try:
        process = _start_cli(built_project, "run", "-s", "stg_orders", "gated", "after_gated")
        _wait_for_start(process, "model.shop.gated")
        filler = os.open(state / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(filler, b"\0" * 65536):
                pass
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(filler)
        gate.touch()
        _, err = process.communicate(timeout=120)
        assert process.returncode == 2, err
        lines = [line for line in err.splitlines() if line.strip() and not line.startswith("dbt-assets: ")]
        assert len(lines) == 1 and lines[0].startswith("Error: ") and "Traceback" not in err, err
        assert str(state / "history.db") in lines[0] and "disk is full" in lines[0]
        assert "dbt-assets history recover" in lines[0] and "run_results" in lines[0]
        for left in state.iterdir():  # nothing half written is left to be taken for whole
            assert not left.name.endswith(".partial"), left
            if left.name.startswith("unrecorded-"):
                json.loads(left.read_bytes())
        (state / "filler").unlink()  # space is back
        recovered = cli("history", "--project-dir", str(built_project), "recover")
        assert recovered.exit_code == 0, recovered.output
        with _history(built_project) as history:
            run = history.runs()[0]
            results = {r.unique_id: r.status for r in history.results(run.run_id)}
        assert run.status != "running"
        assert results == dict.fromkeys(
            ["model.shop.stg_orders", "model.shop.gated", "model.shop.after_gated"], "success"
        )
    finally:
        subprocess.run(["umount", "-l", str(state)], check=False)
        gate.unlink(missing_ok=True)


def test_a_failed_parse_is_dbts_message_alone(parsed_project: Path) -> None:
    """The `dbt parse` dbt-assets starts fails with a Python traceback in dbt's output
    (freshness.build_after with a period and no count): one line with dbt's message alone
    and, as the hint, the command that shows dbt's full output (which has the traceback)."""
    schema = parsed_project / "models" / "intermediate" / "_intermediate.yml"
    schema.write_text(
        schema.read_text().replace(
            "      materialized: view\n",
            "      materialized: view\n      freshness:\n        build_after:\n          period: hour\n",
            1,
        )
    )
    done = subprocess.run(
        [CLI, "ls", "--project-dir", str(parsed_project)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, done.stderr
    message, _, hint = errors[0].partition(" (hint: ")
    assert message.endswith("`freshness.build_after` must have a value for `count` if a `period` is provided")
    assert "Traceback" not in done.stderr and 'File "' not in done.stderr
    command = hint.removeprefix("run `").split("` in ")[0]
    assert command.split()[1:4] == ["parse", "--project-dir", str(parsed_project)]
