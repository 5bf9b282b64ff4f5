"""A run whose history failed during it is completed from the file its dbt-assets saved, as it
ended (issue 32, defect 7: it was closed as interrupted, exit 130, whatever dbt did). The
run with the real dbt and a PostgreSQL server dropped mid-run is in test_history_postgres.py;
here every way a run ends, cut anywhere, on both backends."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbt_assets.history.facts import ResultRow, facts_from_rows
from dbt_assets.history.recovery import open_history
from dbt_assets.history.schema import RESULT_ORDER, RESULT_ROWS, process_alive
from dbt_assets.history.store import History
from dbt_assets.run.events import AssetFinished
from dbt_assets.run.invocation import RunResult
from tests.postgres import raw_history

pytestmark = pytest.mark.unit  # starts no process (on SQLite; history_location's PostgreSQL is not unit)

UIDS = ["model.p.a", "model.p.b", "model.p.c", "test.p.t", "model.p.d"]
ENDINGS = {  # how a run ended: each asset's status, the run's status, dbt's exit status
    "success": (["success", "success", "success", "pass", "success"], "success", 0),
    "failed": (["success", "error", "skipped", "fail", "success"], "failed", 1),
    "cancelled": (["success", "success", "cancelled", "not_reached", "not_reached"], "cancelled", 130),
}


def _no_such_pid() -> int:
    pid = 4_194_303
    while process_alive(pid):
        pid -= 1
    return pid


def _results(ending: str, start: float) -> dict[str, AssetFinished]:
    statuses = ENDINGS[ending][0]
    found = {}
    for i, (uid, status) in enumerate(zip(UIDS, statuses, strict=True)):
        if status == "not_reached":
            found[uid] = AssetFinished(
                uid, status, finished_at=start + 50, message="not reached: the run stopped"
            )
        else:
            took = None if status == "skipped" else 1.0 + i
            began = None if took is None else start + 10 * i
            finished = None if took is None or began is None else began + took
            found[uid] = AssetFinished(
                uid, status, began, finished, took, skipped_because=["model.p.b"] * (status == "skipped")
            )
    return found


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ending=st.sampled_from(sorted(ENDINGS)), cut=st.integers(0, len(UIDS)), earlier=st.booleans())
def test_a_run_whose_history_failed_is_completed_as_it_ended(
    ending: str,
    cut: int,
    earlier: bool,
    history_location: Path | str,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The history took the first ``cut`` results (the one after them started, maybe) before
    it failed; the saved run holds them all: recovery records the rest and the run's status
    and exit code, and keeps every asset's facts equal to a replay."""
    project = tmp_path_factory.mktemp("project")
    start = 1_000.0
    with History.open(history_location) as history:
        if earlier:  # facts from before: the run's results fold onto them
            done = history.start_run(command="build", argv=[], unique_ids=UIDS, started_at=0.0)
            for uid in UIDS:
                history.record_result(done, AssetFinished(uid, "error", 1.0, 2.0, 1.0))
            history.finish_run(done, status="failed", exit_code=1, finished_at=3.0)
        run_id = history.start_run(
            command="build", argv=["build"], unique_ids=UIDS, project_dir=str(project), started_at=start
        )
        results = _results(ending, start)
        taken = [r for r in results.values() if r.status != "not_reached"][:cut]
        for result in taken:
            if result.started_at is not None:
                history.record_start(run_id, result.unique_id, result.started_at)
            history.record_result(run_id, result)
        following = [r for r in results.values() if r not in taken and r.started_at is not None]
        if following:
            history.record_start(run_id, following[0].unique_id, following[0].started_at or start)
    status, exit_code = ENDINGS[ending][1:]
    saved = RunResult(run_id, "build", ["dbt", "build"], status, exit_code, start, start + 60, results, [])
    folder = project / ".dbt-assets"
    folder.mkdir()
    (folder / f"unrecorded-run-{run_id}-{int(start + 60)}.json").write_bytes(msgspec.json.encode(saved))
    other = msgspec.structs.replace(
        saved, started_at=start - 1, status="success", exit_code=0
    )  # not this run
    (folder / f"unrecorded-run-{run_id}-{int(start)}.json").write_bytes(msgspec.json.encode(other))
    (folder / f"unrecorded-run-{run_id}-{int(start + 1)}.json").write_bytes(b'{"run_id": ')  # not whole
    with raw_history(history_location) as raw:
        raw.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (_no_such_pid(), run_id))
    with open_history(history_location) as history:
        assert history.recovered == [run_id]
        run = history.run(run_id)
        assert (run.status, run.exit_code, run.finished_at) == (status, exit_code, start + 60)
        assert run.message is not None and "completed from unrecorded-run-" in run.message
        recorded = {r.unique_id: (r.status, r.started_at, r.finished_at) for r in history.results(run_id)}
        assert recorded == {uid: (r.status, r.started_at, r.finished_at) for uid, r in results.items()}
        skipped = [r for r in history.results(run_id) if r.status == "skipped"]
        assert all(r.skipped_because == ["model.p.b"] for r in skipped)
        rows = history._read(f"{RESULT_ROWS} {RESULT_ORDER}")
        assert history.facts() == facts_from_rows(ResultRow(*row) for row in rows)
    with open_history(history_location) as history:
        assert history.recovered == []


def test_a_killed_run_without_a_saved_file_is_still_interrupted(
    history_location: Path | str, tmp_path: Path
) -> None:
    with History.open(history_location) as history:
        run_id = history.start_run(
            command="run", argv=[], unique_ids=["model.p.a"], project_dir=str(tmp_path)
        )
        history.record_start(run_id, "model.p.a", 1.0)
    with raw_history(history_location) as raw:
        raw.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (_no_such_pid(), run_id))
    with open_history(history_location) as history:
        run = history.run(run_id)
        assert (run.status, run.exit_code) == ("interrupted", 130)
        assert [r.status for r in history.results(run_id)] == ["cancelled"]
