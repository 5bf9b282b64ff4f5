"""One run per asset at a time (issue 32, defect 3): claims in the history, on both backends,
taken over when their run is dead, and two real dbt-assets commands on the same assets."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dbt_assets._core.errors import AssetsBusyError
from dbt_assets.history.store import History
from tests.conftest import cli

A, B, C = "model.p.a", "model.p.b", "model.p.c"


def _start(history: History, *ids: str) -> int:
    return history.start_run(command="build", argv=["build"], unique_ids=ids, claim=True)


def test_a_second_run_of_an_asset_is_refused_until_the_first_ends(history_location: Path | str) -> None:
    with History.open(history_location) as history:
        first = _start(history, A, B)
        with pytest.raises(AssetsBusyError) as refused:
            _start(history, B, C)
        assert f"{B} held by run {first}" in refused.value.message and A not in refused.value.message
        assert [h.unique_ids for h in refused.value.holders] == [(B,)]  # type: ignore[attr-defined]
        assert [r.run_id for r in history.runs()] == [first], "a refused run leaves no row"
        assert _start(history, C) != first  # other assets are free
        assert set(history.claims()) == {A, B, C}
        history.finish_run(first, status="success", exit_code=0)
        assert set(history.claims()) == {C}
        second = _start(history, A, B)
        assert {h.run_id for h in history.holders([A, B])} == {second}


def test_another_target_builds_other_relations_and_does_not_wait(history_location: Path | str) -> None:
    with History.open(history_location) as history:
        dev = _start(history, A)
        ci = history.start_run(command="build", argv=[], unique_ids=[A], target="ci", claim=True)
        assert history.claims(target="ci")[A].run_id == ci and history.claims()[A].run_id == dev
        with pytest.raises(AssetsBusyError):
            history.start_run(command="build", argv=[], unique_ids=[A], target="ci", claim=True)


def _claim_and_die(location: Path | str, ids: list[str], done: multiprocessing.synchronize.Event) -> None:
    history = History.open(location)
    _start(history, *ids)
    done.set()
    time.sleep(60)  # killed here


def test_claims_of_a_killed_run_are_taken_over(history_location: Path | str) -> None:
    """A run whose dbt-assets process died (SIGKILL: no release) holds nothing: the next run
    takes its assets over. On PostgreSQL its session's lock is gone with it; on SQLite its pid."""
    History.open(history_location).close()  # migrated before the child writes
    context = multiprocessing.get_context("spawn")
    done = context.Event()
    child = context.Process(target=_claim_and_die, args=(history_location, [A, B], done))
    child.start()
    assert done.wait(60)
    with History.open(history_location) as history:
        with pytest.raises(AssetsBusyError):
            _start(history, A)  # alive: refused
        os.kill(child.pid or 0, signal.SIGKILL)
        child.join(30)
        deadline = time.monotonic() + 30
        while True:  # the server notices the closed connection a moment later
            try:
                taken = _start(history, A)
                break
            except AssetsBusyError:
                assert time.monotonic() < deadline, "the claim of a dead run was never taken over"
                time.sleep(0.2)
        assert history.claims()[A].run_id == taken and B not in history.claims()


@pytest.mark.postgres
def test_a_run_of_another_machine_is_alive_while_its_session_holds_its_lock(postgres: object) -> None:
    """Another host's run cannot be looked up by pid: on PostgreSQL it is alive while its
    session holds the run's advisory lock, and dead once that session is gone."""
    import psycopg

    url = postgres.url()  # type: ignore[attr-defined]
    with History.open(url) as history:
        run_id = _start(history, A)
        with psycopg.connect(url, autocommit=True) as other:
            other.execute("UPDATE runs SET host = 'elsewhere', pid = 1 WHERE run_id = %s", (run_id,))
        with History.open(url) as second, pytest.raises(AssetsBusyError, match="pid 1 on elsewhere"):
            _start(second, A)
    # the first history is closed without finishing its run: its session (and lock) are gone
    with History.open(url) as history:
        assert _start(history, A) != run_id


SLOW = """
import os
import time


def model(dbt, session):
    marker = {marker!r}
    deadline = time.time() + 90
    while os.path.exists(marker) and time.time() < deadline:
        time.sleep(0.1)
    return session.sql("select 1 as id")
"""


def _history_has_running(project: Path) -> int | None:
    path = project / ".dbt-assets" / "history.db"
    if not path.exists():
        return None
    with History.open(path, create=False) as history:
        running = [r for r in history.runs(limit=5) if r.status == "running"]
        if running and history.claims():
            return running[0].run_id
    return None


def test_two_commands_on_one_asset_never_run_it_at_once(built_project: Path) -> None:
    """Real dbt: while `dbt-assets run -s slow` runs, `run -s slow+` and `retry` stop with exit
    code 2 naming the run that holds it; `run --wait` waits for it, says so once, and runs after
    it ended."""
    marker = built_project / "hold"
    marker.touch()
    (built_project / "models" / "slow.py").write_text(SLOW.format(marker=str(marker)))
    command = [str(Path(sys.executable).with_name("dbt-assets")), "run", "-s", "slow", "--project-dir"]
    first = subprocess.Popen([*command, str(built_project)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while (run_id := _history_has_running(built_project)) is None:
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.2)
        for args in (("run", "-s", "slow+"), ("retry",)):
            refused = cli(*args, "--project-dir", str(built_project))
            assert refused.exit_code == 2, refused.output
            line = refused.stderr.strip()
            assert "\n" not in line and f"model.shop.slow held by run {run_id}" in line and "--wait" in line
        waiting = subprocess.Popen(
            [*command, str(built_project), "--wait", "120"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.5)
        assert waiting.poll() is None
        marker.unlink()  # the first run ends
        assert first.wait(120) == 0
        err = waiting.communicate(timeout=120)[1]
        assert waiting.returncode == 0, err
        said = f"waiting: another run is running these assets: model.shop.slow held by run {run_id}"
        assert err.count(said) == 1, err
    finally:
        marker.unlink(missing_ok=True)
        first.kill()
    with History.open(built_project / ".dbt-assets" / "history.db", create=False) as history:
        runs = [r for r in history.runs(limit=10) if "model.shop.slow" in r.unique_ids]
        assert [r.status for r in runs] == ["success", "success"]
        later, earlier = runs
        assert earlier.finished_at is not None and later.started_at >= earlier.finished_at
        assert history.claims() == {}


def test_a_write_waits_for_the_history_says_why_and_gives_up_at_the_lock_timeout(
    history_location: Path | str, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process holds the write lock: a write says after a few seconds what it waits
    for (who holds it, where the database can tell) and fails at --lock-timeout, one line."""
    from dbt_assets._core.errors import HistoryError
    from dbt_assets.history.database import SAY_AFTER
    from dbt_assets.run.events import DbtLog

    History.open(history_location).close()
    if isinstance(history_location, Path):
        import sqlite3

        holder: Any = sqlite3.connect(history_location, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        who = "another process"
    else:
        import psycopg

        from dbt_assets.history.postgres import WRITE_LOCK

        holder = psycopg.connect(history_location)
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))  # held until rollback
        who = "server session"
    try:
        with History.open(history_location, timeout=SAY_AFTER + 1.5) as history:
            run_id = None
            with pytest.raises(HistoryError) as stopped:
                run_id = history.start_run(command="build", argv=[], unique_ids=[A])
                history.record_log(run_id, DbtLog("info", "x"))
    finally:
        holder.rollback() if hasattr(holder, "rollback") else holder.close()
        holder.close()
    assert f"stayed locked by {who}" in stopped.value.message and "--lock-timeout" in stopped.value.hint
    said = [r.getMessage() for r in caplog.records if "waiting for the write lock" in r.getMessage()]
    assert len(said) == 1 and who in said[0], said
    with History.open(history_location) as history:  # free again: nothing half-written
        assert history.runs() == [] or all(r.status for r in history.runs())
