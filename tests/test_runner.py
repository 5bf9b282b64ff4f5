"""Running: the real dbt on the DuckDB fixture (events, history, summary, failures, retry,
cancel, concurrency), plus a fake dbt for the faults a real one will not produce on demand."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dbt_assets.api import open_history, start_run
from dbt_assets.history.store import History
from dbt_assets.run.events import AssetFinished, AssetStarted, DbtStarted, RunFinished, RunStarted
from dbt_assets.run.project import Project

from .conftest import DBT, cli, dbt_ls

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).with_name("dbt-assets"))
DOWNSTREAM_OF_ORDERS_MODELS = {
    "model.shop.orders",
    "model.shop.customers",
    "model.shop.order_revenue_daily",
    "model.shop.revenue_by_category",
    "model.shop.weekly_revenue",
    "model.shop.customer_segments.v1",
    "model.shop.customer_segments.v2",
    "model.shop.executive_summary",
}
SLOW_MODEL = """
import time


def model(dbt, session):
    dbt.ref("stg_orders")  # runs after stg_orders
    time.sleep(120)
    return session.sql("select 1 as id")
"""


def _json_lines(text: str, *, slas: bool = False) -> list[dict[str, object]]:
    """The JSON lines of a run's output: its events, without the ``sla_result`` lines that
    follow ``run_finished`` (with ``slas``: every line)."""
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    return lines if slas else [e for e in lines if e.get("event") != "sla_result"]


def _history(project: Path) -> History:
    return open_history(path=project / ".dbt-assets" / "history.db", create=False)


def _break_orders(project: Path) -> None:
    path = project / "models/marts/core/orders.sql"
    path.write_text(path.read_text().replace("select", "select no_such_column,", 1))


def _fix_orders(project: Path) -> None:
    path = project / "models/marts/core/orders.sql"
    path.write_text(path.read_text().replace("select no_such_column,", "select", 1))


def test_build_everything(parsed_project: Path) -> None:
    result = cli("build", "--project-dir", str(parsed_project), "--output", "json")
    assert result.exit_code == 0, result.stderr
    everything = [e["event"] for e in _json_lines(result.stdout, slas=True)]
    after = everything[everything.index("run_finished") + 1 :]
    assert after and set(after) == {"sla_result"}, "then the run's SLAs (fixtures/dbt_project/dbt_assets.yml)"
    events = _json_lines(result.stdout)
    kinds = [e["event"] for e in events]
    assert kinds[0] == "run_started" and kinds[-1] == "run_finished"
    planned = set(events[0]["unique_ids"])  # type: ignore[arg-type]
    expected = {str(n["unique_id"]) for n in dbt_ls(parsed_project, "--resource-type", "all")}
    finished = {str(e["unique_id"]): e for e in events if e["event"] == "asset_finished"}
    # every node dbt build ran is reported (the on-run-start hook is not an asset)
    assert planned == set(finished)
    assert planned <= expected
    assert {e["status"] for e in finished.values()} <= {"success", "pass", "no-op"}
    test = finished["test.shop.unique_orders_order_id.fed79b3a6e"]
    assert test["check_of"] == ["model.shop.orders"] and test["failures"] == 0
    seed = finished["seed.shop.raw_orders"]
    assert seed["rows_affected"] == 10 and seed["adapter_response"]["rows_affected"] == 10  # type: ignore[index]
    assert events[-1]["status"] == "success" and events[-1]["exit_code"] == 0

    with _history(parsed_project) as history:
        (run,) = history.runs()
        assert run.status == "success" and run.exit_code == 0 and run.command == "build"
        assert run.invocation_id and run.dbt_version and run.argv[0] == "build"
        assert sum(run.counts.values()) == len(finished)
        stored = {r.unique_id: r.status for r in history.results(run.run_id)}
        assert stored == {uid: e["status"] for uid, e in finished.items()}
    # dbt's own artifacts stay where dbt puts them
    run_results = json.loads((parsed_project / "target/run_results.json").read_text())
    assert run_results["metadata"]["invocation_id"] == run.invocation_id


def test_run_downstream_of_orders_text_summary(built_project: Path) -> None:
    result = cli("run", "--project-dir", str(built_project), "--select", "downstream_of:orders")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "dbt run for 8 assets" in out
    assert "[8/8]" in out and "OK     model orders" in out
    assert "Finished `dbt run`" in out and "success 8" in out and "Slowest:" in out
    with _history(built_project) as history:
        run = history.runs()[0]
        assert run.selection == {"select": ["downstream_of:orders"]}
        assert set(run.unique_ids) == DOWNSTREAM_OF_ORDERS_MODELS
        assert run.argv[:3] == ["run", "--select", "orders+"]
        assert {r.unique_id for r in history.results(run.run_id)} == DOWNSTREAM_OF_ORDERS_MODELS
        # partial parsing kept working: dbt did not have to re-parse from scratch
        assert not [log for log in history.logs(run.run_id) if log.name == "UnableToPartialParse"]


def test_api_run_yields_typed_events(built_project: Path) -> None:
    project = Project(built_project)
    with open_history(built_project) as history:
        run = start_run(project, "seed", ["raw_orders"], history=history)
        events = list(run)
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    assert any(isinstance(e, DbtStarted) for e in events)
    started = [e for e in events if isinstance(e, AssetStarted)]
    finished = [e for e in events if isinstance(e, AssetFinished)]
    assert [e.unique_id for e in started] == [e.unique_id for e in finished] == ["seed.shop.raw_orders"]
    assert finished[0].status == "success" and finished[0].rows_affected == 10
    assert finished[0].started_at and finished[0].finished_at and finished[0].execution_time
    assert run.result is not None and run.result.exit_code == 0 and run.result.status == "success"
    assert run.result.invocation_id == next(e for e in events if isinstance(e, DbtStarted)).invocation_id


def test_sql_error_skips_downstream_then_retry_after_fix(built_project: Path) -> None:
    _break_orders(built_project)
    result = cli("run", "--project-dir", str(built_project), "-s", "downstream_of:orders")
    assert result.exit_code == 1
    assert "ERROR  model orders" in result.stdout
    assert "no_such_column" in result.stdout  # the failure's message, in the progress and the summary
    assert "SKIP   model customers (upstream failed: model orders)" in result.stdout
    assert "Failures:" in result.stdout and "models/marts/core/orders.sql" in result.stdout
    with _history(built_project) as history:
        failed_run = history.runs()[0]
        assert failed_run.status == "failed" and failed_run.exit_code == 1
        results = {r.unique_id: r for r in history.results(failed_run.run_id)}
    assert results["model.shop.orders"].status == "error"
    assert "no_such_column" in (results["model.shop.orders"].message or "")
    skipped = DOWNSTREAM_OF_ORDERS_MODELS - {"model.shop.orders"}
    assert {uid for uid, r in results.items() if r.status == "skipped"} == skipped
    assert all(results[uid].skipped_because == ["model.shop.orders"] for uid in skipped)

    _fix_orders(built_project)
    for path in (built_project / "target").iterdir():  # dbt's artifacts, not the DuckDB file
        if path.name != "shop.duckdb":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    result = cli("retry", "--project-dir", str(built_project), "--output", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    events = _json_lines(result.stdout)
    assert set(events[0]["unique_ids"]) == DOWNSTREAM_OF_ORDERS_MODELS  # type: ignore[arg-type]
    finished = {e["unique_id"]: e["status"] for e in events if e["event"] == "asset_finished"}
    assert finished == dict.fromkeys(DOWNSTREAM_OF_ORDERS_MODELS, "success")
    with _history(built_project) as history:
        retry = history.runs()[0]
        assert retry.selection == {"retry_of": failed_run.run_id} and retry.status == "success"
    # nothing left to retry
    again = cli("retry", "--project-dir", str(built_project))
    assert again.exit_code == 2 and "nothing to retry" in again.stderr


def test_failing_test_under_build(built_project: Path) -> None:
    (built_project / "tests/assert_no_orders.sql").write_text("select * from {{ ref('orders') }}\n")
    result = cli("build", "--project-dir", str(built_project), "-s", "orders+", "-o", "json")
    assert result.exit_code == 1
    events = _json_lines(result.stdout)
    finished = {e["unique_id"]: e for e in events if e["event"] == "asset_finished"}
    failing = finished["test.shop.assert_no_orders"]
    assert failing["status"] == "fail" and failing["failures"] == 10
    assert failing["check_of"] == ["model.shop.orders"]
    assert finished["model.shop.orders"]["status"] == "success"
    customers = finished["model.shop.customers"]
    assert customers["status"] == "skipped"
    assert customers["skipped_because"] == ["test.shop.assert_no_orders"]
    assert events[-1]["status"] == "failed"
    with _history(built_project) as history:
        run = history.runs()[0]
        assert run.counts["fail"] == 1 and run.counts["skipped"] == sum(
            1 for e in finished.values() if e["status"] == "skipped"
        )


def test_dry_run_runs_nothing(built_project: Path) -> None:
    result = cli(
        "run", "--project-dir", str(built_project), "-s", "downstream_of:orders", "--dry-run", "-o", "json"
    )
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert payload["argv"] == ["dbt", "run", "--select", "orders+"]
    assert payload["command_line"][:4] == ["dbt", "run", "--select", "orders+"]
    assert set(payload["unique_ids"]) == DOWNSTREAM_OF_ORDERS_MODELS
    with _history(built_project) as history:
        assert len(history.runs()) == 1  # only the build of the fixture


def test_flags_and_args_after_double_dash_reach_dbt(built_project: Path) -> None:
    result = cli(
        "run", "--project-dir", str(built_project), "-s", "stg_orders", "--threads", "1",
        "--full-refresh", "--vars", "{unused: 1}", "--output", "json", "--", "--empty",
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout
    argv = list(_json_lines(result.stdout)[0]["argv"])  # type: ignore[call-overload]
    assert argv[argv.index("--threads") + 1] == "1" and argv[argv.index("--vars") + 1] == "{unused: 1}"
    assert "--full-refresh" in argv and argv[-1] == "--empty"
    run_results = json.loads((built_project / "target/run_results.json").read_text())
    assert run_results["args"]["empty"] is True and run_results["args"]["threads"] == 1
    assert run_results["args"]["full_refresh"] is True
    # --vars also went to `dbt parse`, so dbt could keep its partial parse
    with _history(built_project) as history:
        run_id = history.runs()[0].run_id
        assert not [log for log in history.logs(run_id) if log.name == "UnableToPartialParse"]
    # vars dbt-assets does not know about (after --) make dbt re-parse: the check above can fail
    other = cli("run", "--project-dir", str(built_project), "-s", "stg_orders", "--", "--vars", "{other: 2}")
    assert other.exit_code == 0
    assert "dbt: Unable to do partial parsing because config vars" in other.stdout


def test_history_import_of_plain_dbt_runs(built_project: Path) -> None:
    subprocess.run(
        [DBT, "seed", "--project-dir", str(built_project), "--profiles-dir", str(built_project)],
        cwd=built_project, check=True, capture_output=True,
    )  # fmt: skip
    run_results = built_project / "target/run_results.json"
    first = cli("history", "--project-dir", str(built_project), "import", str(run_results))
    assert first.exit_code == 0 and "recorded as run" in first.stdout
    second = cli("history", "--project-dir", str(built_project), "import", str(run_results))
    assert second.exit_code == 0 and "already recorded" in second.stdout
    with _history(built_project) as history:
        runs = history.runs()
        imported = [r for r in runs if r.origin == "import"]
        assert len(imported) == 1 and imported[0].command == "seed" and imported[0].status == "success"
        seeds = {f"seed.shop.raw_{name}" for name in ("customers", "orders", "payments", "products")}
        assert {r.unique_id for r in history.results(imported[0].run_id)} == seeds
    listing = cli("history", "--project-dir", str(built_project), "--output", "json")
    rows = _json_lines(listing.stdout)
    assert [r["run_id"] for r in rows] == sorted((r["run_id"] for r in rows), reverse=True)
    assert rows[0]["origin"] == "import" and rows[0]["counts"] == {"success": 4}


def test_status_and_history_show(built_project: Path) -> None:
    result = cli(
        "status",
        "--project-dir",
        str(built_project),
        "-s",
        "orders",
        "--resource-type",
        "model",
        "-o",
        "json",
    )
    assert result.exit_code == 0, result.stderr
    (row,) = _json_lines(result.stdout)
    assert row["unique_id"] == "model.shop.orders" and row["last_status"] == "success"
    assert row["last_success_at"] == row["last_at"] and 0 <= row["age"] < 3600  # type: ignore[operator]
    assert row["last_execution_time"] > 0  # type: ignore[operator]
    text = cli("status", "--project-dir", str(built_project), "-s", "orders+")  # tests included
    assert "model orders " in text.stdout and "LAST SUCCESS" in text.stdout
    assert max(len(line) for line in text.stdout.splitlines()) <= 100, (
        "names (cut), not 90-character unique_ids"
    )
    wide = cli("status", "--project-dir", str(built_project), "-s", "orders+", "-o", "wide")
    assert "test.shop.accepted_values_orders_status__placed__shipped__completed__returned." in wide.stdout
    shown = cli("history", "--project-dir", str(built_project), "show", "1")
    assert shown.exit_code == 0 and "run 1: dbt build, success" in shown.stdout
    assert "seed raw_orders " in shown.stdout
    assert max(len(line) for line in shown.stdout.splitlines() if not line.startswith("  argv")) <= 100
    assert (
        "seed.shop.raw_orders "
        in cli("history", "--project-dir", str(built_project), "show", "1", "-o", "wide").stdout
    )
    missing = cli("history", "--project-dir", str(built_project), "show", "99")
    assert missing.exit_code == 2 and "no run 99" in missing.stderr
