"""The automation loop with real processes: a scheduler killed with SIGKILL at seeded moments
of its run (nothing built twice, nothing lost, the next one goes on), and two schedulers on one
PostgreSQL history (one leader at a time, a take-over within two intervals)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dbt_assets.history.store import History
from tests.conftest import FIXTURE_PROJECT, copy_project, run_dbt
from tests.test_runner_faults import signal_dispositions

CLI = str(Path(sys.executable).with_name("dbt-assets"))
SCOPE = ("-s", "+customers", "--no-tests", "--no-source-check")
"""A small part of the fixture (seeds, views, customers and what it reads): a run of seconds."""


def _scheduler(project: Path, *args: str, ignoring: tuple[int, ...] = ()) -> subprocess.Popen[str]:
    """A scheduler in a session of its own; ``ignoring``: signals it starts with ignored."""
    return subprocess.Popen(
        [CLI, "automate", "--project-dir", str(project), "--interval", "1s", *SCOPE, *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal_dispositions(ignoring),
    )


def _wait(until: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not until():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def parsed_fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture parsed, never built: automation builds it all (on_missing)."""
    project = copy_project(FIXTURE_PROJECT, tmp_path_factory.mktemp("fresh") / "project")
    run_dbt(project, "parse")
    return project


@pytest.mark.parametrize("seed", [1, 2])
def test_a_scheduler_killed_mid_run_loses_nothing_and_the_next_goes_on(
    parsed_fresh: Path, tmp_path: Path, seed: int
) -> None:
    project = Path(shutil.copytree(parsed_fresh, tmp_path / "project"))
    history_path = project / ".dbt-assets" / "history.db"
    first = _scheduler(project)
    done = random.Random(seed).randint(1, 6)  # a seeded moment: after this many results
    _wait(lambda: history_path.exists() and _running(history_path, done), 120, "the first run's results")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(30)
    with History.open(history_path) as history:  # what the killed scheduler's run recorded
        reported = {
            r.unique_id: r.status for run in history.runs(limit=None) for r in history.results(run.run_id)
        }
    # the next one starts with SIGTERM ignored, as a Dagster process leaves it to what it
    # starts: SIGTERM stops it all the same (below), as it stops any scheduler
    second = _scheduler(project, ignoring=(signal.SIGTERM,))
    try:
        _wait(lambda: _leads(history_path, second.pid), 120, "the next scheduler to lead")
        _wait(lambda: _all_built(history_path), 240, "the next scheduler to build the rest")
    finally:
        os.killpg(second.pid, signal.SIGTERM)
        assert second.wait(60) in (0, 130), second.stderr.read() if second.stderr else ""
    with History.open(history_path) as history:
        runs = history.runs(limit=None)
        assert runs[-1].status == "interrupted"  # the killed scheduler's run, recovered
        successes: dict[str, int] = {}
        for run in runs:
            for r in history.results(run.run_id):
                if r.status == "success":
                    successes[r.unique_id] = successes.get(r.unique_id, 0) + 1
        facts = history.facts()
        assert history.claims() == {}
    assert all(n == 1 for n in successes.values()), f"built twice: {successes}"
    for uid, status in reported.items():  # nothing the first run reported was lost
        if status == "success":
            assert facts[uid].last_success_at is not None


def _running(path: Path, results: int) -> bool:
    with History.open(path) as history:
        return any(
            r.status == "running" and r.counts.get("success", 0) >= results for r in history.runs(limit=3)
        )


def _leads(path: Path, pid: int) -> bool:
    with History.open(path) as history:
        return any(t.owner.endswith(f":{pid}") for t in history.ticks(20))


def _all_built(path: Path) -> bool:
    with History.open(path) as history:
        state = history.automation_state()
        facts = history.facts()
    return bool(state) and all(u in facts and facts[u].last_success_at is not None for u in state)


@pytest.mark.postgres
def test_two_schedulers_one_leader_and_a_take_over_within_two_intervals(
    built_project: Path, postgres: object
) -> None:
    url = postgres.url()  # type: ignore[attr-defined]
    schedulers = [_scheduler(built_project, "--history", url, "--interval", "2s") for _ in range(2)]
    try:
        with History.open(url) as history:
            _wait(lambda: history.ticks(5), 120, "a leader's first tick")
            time.sleep(5)  # both tick: only the leader records
            owners = {t.owner for t in history.ticks(50)}
            assert len(owners) == 1, owners
            leader = next(s for s in schedulers if str(s.pid) in next(iter(owners)))
            killed_at = time.time()
            os.killpg(leader.pid, signal.SIGKILL)
            _wait(lambda: len({t.owner for t in history.ticks(50)}) == 2, 60, "the other scheduler to lead")
            # the new leader's first tick started (``at``; ``decided_at`` is when it was written,
            # after its decisions and, when it starts a run, after that run's start)
            taken = min(t.at for t in history.ticks(50) if t.owner not in owners)
            assert taken - killed_at <= 2 * 2, taken - killed_at  # within two intervals
    finally:
        for s in schedulers:
            if s.poll() is None:
                os.killpg(s.pid, signal.SIGTERM)
                s.wait(60)
