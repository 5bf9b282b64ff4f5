"""Facts per asset: folded as results arrive, equal to a replay of every result, as of any time."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from dbt_assets._core.durations import percentile
from dbt_assets.history.facts import RECENT, AssetFacts, ResultRow, facts_from_rows, fold
from dbt_assets.history.store import History
from dbt_assets.run.events import AssetFinished
from tests.postgres import older_history

pytestmark = pytest.mark.unit  # starts no process (on SQLite; history_location's PostgreSQL is not unit)

DAY = 86400.0


def finished(uid: str, status: str, start: float, took: float) -> AssetFinished:
    return AssetFinished(
        unique_id=uid, status=status, started_at=start, finished_at=start + took, execution_time=took
    )


def record(history: History, start: float, results: list[tuple[str, str, float]]) -> int:
    """One run starting at ``start`` whose assets run one after the other."""
    run_id = history.start_run(
        command="build", argv=[], unique_ids=[u for u, _, _ in results], started_at=start
    )
    clock = start
    for uid, status, took in results:
        history.record_start(run_id, uid, clock)
        history.record_result(run_id, finished(uid, status, clock, took))
        clock += took
    history.finish_run(run_id, status="success", exit_code=0, finished_at=clock)
    return run_id


def replay(history: History) -> dict[str, AssetFacts]:
    rows = history._read(
        "SELECT unique_id, run_id, status, started_at, finished_at, execution_time, max_loaded_at, message "
        "FROM asset_results ORDER BY unique_id, coalesce(finished_at, started_at), run_id"
    )
    return facts_from_rows(ResultRow(*row) for row in rows)


def test_fold_counts_failures_in_a_row_and_keeps_recent_successes() -> None:
    facts = None
    for i, status in enumerate(["success", "error", "skipped", "fail", "success", "error"]):
        facts = fold(facts, ResultRow("m", i, status, i * 10.0, i * 10.0 + 2, 2.0, None))
    assert facts is not None
    assert facts.last_status == "error" and facts.consecutive_failures == 1
    assert facts.last_success_at == 42.0 and facts.recent == [[2.0, 2.0], [42.0, 2.0]]
    assert facts.first_at == 0.0
    for i in range(RECENT + 5):
        facts = fold(facts, ResultRow("m", 100 + i, "success", 1000.0 + i, 1000.0 + i, float(i), None))
    assert len(facts.recent) == RECENT and facts.recent[-1] == [1000.0 + RECENT + 4, RECENT + 4]


def test_percentile_is_nearest_rank() -> None:
    assert percentile([5.0]) == 5.0
    assert percentile(range(1, 11)) == 9
    assert percentile([3.0, 1.0, 2.0]) == 3.0
    assert percentile([]) is None


def test_kept_facts_equal_a_replay_of_every_result(history_location: Path | str) -> None:
    rng = random.Random(7)
    uids = [f"model.p.m{i}" for i in range(6)]
    with History.open(history_location) as history:
        for day in range(30):
            picked = [
                (u, rng.choice(["success", "success", "error", "skipped"]), rng.uniform(1, 50)) for u in uids
            ]
            record(history, day * DAY, picked)
        kept = history.facts()
        assert kept == replay(history)
        assert {f.consecutive_failures for f in kept.values()} != {0}, "some assets end failing"


def test_facts_as_of_a_past_moment(history_location: Path | str) -> None:
    with History.open(history_location) as history:
        record(history, 0.0, [("model.p.a", "success", 10.0), ("model.p.b", "success", 20.0)])
        record(history, DAY, [("model.p.a", "error", 10.0), ("model.p.b", "success", 20.0)])
        now = history.facts()
        assert now["model.p.a"].last_status == "error" and now["model.p.a"].consecutive_failures == 1
        before = history.facts(at=DAY - 1)
        assert before["model.p.a"].last_status == "success" and before["model.p.a"].consecutive_failures == 0
        assert before["model.p.b"].last_success_at == 30.0
        during = history.facts(at=DAY + 15)  # b started at DAY + 10 and runs 20 s
        assert during["model.p.b"].running_since == DAY + 10
        assert during["model.p.b"].last_success_at == 30.0
        assert history.facts(at=5.0).keys() == {"model.p.a"}
        assert history.facts(at=10 * DAY) == now  # after everything recorded: the kept facts


def test_an_older_result_arriving_late_rebuilds_the_facts(history_location: Path | str) -> None:
    with History.open(history_location) as history:
        record(history, DAY, [("model.p.a", "error", 10.0)])
        record(history, 0.0, [("model.p.a", "success", 10.0)])  # recorded later, happened earlier
        facts = history.facts()["model.p.a"]
        assert facts.last_status == "error" and facts.consecutive_failures == 1
        assert facts.last_success_at == 10.0
        assert history.facts() == replay(history)


def test_a_run_closed_with_assets_running_marks_them_cancelled(history_location: Path | str) -> None:
    with History.open(history_location) as history:
        run_id = history.start_run(command="run", argv=[], unique_ids=["model.p.a"], started_at=0.0)
        history.record_start(run_id, "model.p.a", 1.0)
        assert history.facts()["model.p.a"].running_since == 1.0
        history.finish_run(run_id, status="cancelled", exit_code=130, finished_at=5.0)
        facts = history.facts()["model.p.a"]
        assert facts.running_since is None and facts.last_status == "cancelled"


def test_imported_source_freshness_keeps_the_newest_load_time(
    tmp_path: Path, history_location: Path | str
) -> None:
    sources = {
        "metadata": {"invocation_id": "abc", "generated_at": "2026-01-02T00:00:00Z"},
        "elapsed_time": 1.0,
        "results": [
            {
                "unique_id": "source.p.s.t",
                "status": "warn",
                "max_loaded_at": "2026-01-01T10:00:00+00:00",
                "snapshotted_at": "2026-01-02T00:00:00+00:00",
                "execution_time": 0.1,
                "timing": [],
            },
            {"unique_id": "source.p.s.u", "status": "runtime error", "error": "no such table"},
        ],
    }
    path = tmp_path / "sources.json"
    path.write_text(json.dumps(sources))
    with History.open(history_location) as history:
        assert history.import_source_freshness(path) is not None
        assert history.import_source_freshness(path) is None  # same invocation: once
        facts = history.facts()
        assert facts["source.p.s.t"].max_loaded_at == 1767261600.0
        assert facts["source.p.s.t"].last_status == "warn"
        assert facts["source.p.s.u"].last_status == "runtime error"
        assert facts["source.p.s.u"].last_message == "no such table"
        assert history.runs()[0].command == "source freshness"


def test_a_version_2_history_gets_its_facts_when_migrated(history_location: Path | str) -> None:
    with older_history(history_location, 2) as db:
        db.execute("INSERT INTO runs (command, started_at, status) VALUES ('run', 0, 'success')")
        db.executemany(
            "INSERT INTO asset_results (run_id, unique_id, status, started_at, finished_at, execution_time) "
            "VALUES (1, ?, ?, 0, ?, ?)",
            [("model.p.a", "success", 3.0, 3.0), ("model.p.b", "error", 4.0, 4.0)],
        )
    with History.open(history_location) as history:
        facts = history.facts()
    assert facts["model.p.a"].last_success_at == 3.0
    assert facts["model.p.b"].consecutive_failures == 1


@pytest.mark.parametrize("status", ["pass", "warn", "no-op"])
def test_every_success_status_resets_failures(status: str) -> None:
    facts = fold(None, ResultRow("m", 1, "error", 0.0, 1.0, 1.0, None))
    assert fold(facts, ResultRow("m", 2, status, 2.0, 3.0, 1.0, None)).consecutive_failures == 0
