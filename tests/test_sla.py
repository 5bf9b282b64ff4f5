"""SLAs judged from real runs of the DuckDB fixture: freshness, deadlines (met, missed, at
risk), max_runtime, max_failures, source freshness through `dbt source freshness`, alerts,
the run summary and `why`."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from dbt_assets.history.store import History
from dbt_assets.run.events import AssetFinished

from .conftest import cli

pytestmark = pytest.mark.slow
HOUR = 3600.0
DAY = 86400.0
FINANCE_WARN = 'slas:\n  - select: "tag:finance"\n    freshness: 6h\n    severity: warn\n'


def check(project: Path, *args: str) -> tuple[int, list[dict[str, object]], str]:
    """``dbt-assets sla check -o json``: exit code, one dict per (asset, SLA), stderr."""
    result = cli("sla", "check", "--project-dir", str(project), "-o", "json", *args)
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, rows, result.stderr


def one(rows: list[dict[str, object]], uid: str, kind: str) -> dict[str, object]:
    found = [r for r in rows if r["unique_id"] == uid and r["sla"] == kind]
    assert len(found) == 1, rows
    return found[0]


def facts(project: Path, uid: str) -> dict[str, object]:
    with History.open(project / ".dbt-assets" / "history.db", create=False) as history:
        return json.loads(json.dumps(history.facts()[uid], default=lambda s: s.__dict__))


def last_success(project: Path, uid: str) -> float:
    with History.open(project / ".dbt-assets" / "history.db", create=False) as history:
        value = history.facts()[uid].last_success_at
    assert value is not None
    return value


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def hhmm(epoch: float, zone: str = "UTC") -> str:
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(epoch, ZoneInfo(zone)).strftime("%H:%M")


def write_slas(project: Path, text: str) -> None:
    (project / "dbt_assets.yml").write_text(text)


def test_freshness_ok_then_late(built_project: Path) -> None:
    write_slas(built_project, FINANCE_WARN)
    uid = "model.shop.order_revenue_daily"
    done = last_success(built_project, uid)
    code, rows, _ = check(built_project, "tag:finance", "--at", iso(done + HOUR))
    assert code == 0
    fresh = one(rows, uid, "freshness")
    assert (fresh["status"], fresh["severity"], fresh["limit"]) == ("ok", "warn", 6 * HOUR)
    assert fresh["observed"] == pytest.approx(HOUR, abs=1)
    code, rows, _ = check(built_project, "tag:finance", "--at", iso(done + 7 * HOUR))
    assert code == 0, "a warn-severity SLA never fails the check"
    assert one(rows, uid, "freshness")["status"] == "warn"
    write_slas(built_project, FINANCE_WARN.replace("warn", "error"))
    code, rows, _ = check(built_project, "tag:finance", "--at", iso(done + 7 * HOUR))
    assert code == 1
    assert one(rows, uid, "freshness")["status"] == "breached"
    assert {r["unique_id"] for r in rows} == {uid, "model.shop.revenue_by_category"}


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "America/Los_Angeles"])
def test_deadline_met_then_missed(built_project: Path, zone: str) -> None:
    uid = "model.shop.orders"
    done = last_success(built_project, uid)
    write_slas(
        built_project,
        f'slas:\n  - select: orders\n    deadline: "{hhmm(done + HOUR, zone)}"\n    timezone: {zone}\n',
    )
    code, rows, _ = check(built_project, "orders", "--at", iso(done + 2 * HOUR))
    met = one(rows, uid, "deadline")
    assert code == 0 and met["status"] == "ok"
    assert met["observed"] == iso(done)
    assert abs(datetime.fromisoformat(str(met["limit"])).timestamp() - (done + HOUR)) < 60
    code, rows, _ = check(built_project, "orders", "--at", iso(done + DAY + 2 * HOUR))
    missed = one(rows, uid, "deadline")
    assert code == 1 and missed["status"] == "breached"
    assert "missed the deadline" in str(missed["message"]) and missed["observed"] is None


def _synthetic_history(path: Path, runs: list[tuple[float, list[tuple[str, str, float]]]]) -> None:
    """Runs with known start times and execution times, assets one after another."""
    with History.open(path) as history:
        for start, results in runs:
            run_id = history.start_run(
                command="run", argv=[], unique_ids=[u for u, _, _ in results], started_at=start
            )
            clock = start
            for uid, status, took in results:
                history.record_result(
                    run_id,
                    AssetFinished(
                        unique_id=uid,
                        status=status,
                        started_at=clock,
                        finished_at=clock + took,
                        execution_time=took,
                    ),
                )
                clock += took
            history.finish_run(run_id, status="success", exit_code=0, finished_at=clock)


def test_deadline_at_risk_from_known_execution_times(shop_project: Path, tmp_path: Path) -> None:
    """Yesterday's run (04:00 UTC) met the 07:00 deadline; today nothing has run yet. The
    chain stg_orders (10 min) -> orders (20 min) needs 30 minutes, so from 06:31 on, orders
    is at risk; once the staging models are done today, only 20 minutes are left."""
    project = tmp_path / "project"
    import shutil

    shutil.copytree(shop_project, project)
    write_slas(project, 'slas:\n  - select: orders\n    deadline: "07:00"\n')
    history = tmp_path / "history.db"
    day0 = datetime(2026, 11, 23, tzinfo=UTC).timestamp()
    day1 = day0 + DAY
    chain = [("model.shop.stg_orders", "success", 600.0), ("model.shop.stg_payments", "success", 300.0)]
    _synthetic_history(history, [(day0 + 4 * HOUR, [*chain, ("model.shop.orders", "success", 1200.0)])])
    args = ("orders", "--history", str(history))
    code, rows, _ = check(project, *args, "--at", iso(day1 + 6 * HOUR + 20 * 60))
    calm = one(rows, "model.shop.orders", "deadline")
    assert code == 0 and calm["status"] == "ok"
    assert calm["details"]["estimate"] == 1800.0  # type: ignore[index]
    code, rows, _ = check(project, *args, "--at", iso(day1 + 6 * HOUR + 40 * 60))
    risky = one(rows, "model.shop.orders", "deadline")
    assert code == 0 and risky["status"] == "at_risk"
    assert risky["details"]["critical_path"] == ["model.shop.stg_orders", "model.shop.orders"]  # type: ignore[index]
    assert risky["details"]["estimated_finish"] == iso(day1 + 7 * HOUR + 10 * 60)  # type: ignore[index]
    why = cli(
        "why",
        "orders",
        "--project-dir",
        str(project),
        "--history",
        str(history),
        "--at",
        iso(day1 + 6.7 * HOUR),
    )
    assert "AT RISK" in why.stdout and "model.shop.stg_orders -> model.shop.orders" in why.stdout
    assert "not succeeded since" in why.stdout
    _synthetic_history(history, [(day1 + 6 * HOUR, chain)])  # both staging models done by 06:15
    code, rows, _ = check(project, *args, "--at", iso(day1 + 6 * HOUR + 40 * 60))
    relieved = one(rows, "model.shop.orders", "deadline")
    assert relieved["status"] == "ok" and relieved["details"]["estimate"] == 1200.0  # type: ignore[index]
    code, rows, _ = check(project, *args, "--at", iso(day1 + 7 * HOUR + 60))
    assert one(rows, "model.shop.orders", "deadline")["status"] == "breached"
    _synthetic_history(history, [(day1 + 8 * HOUR, [("model.shop.stg_payments", "error", 5.0)])])
    explained = cli(
        "why",
        "orders",
        "--project-dir",
        str(project),
        "--history",
        str(history),
        "--at",
        iso(day1 + 9 * HOUR),
        "-o",
        "json",
    )
    payload = json.loads(explained.stdout)
    assert [r["status"] for r in payload["results"]] == ["breached"]
    causes = {c["unique_id"]: c for c in payload["causes"]}
    assert causes["model.shop.stg_payments"]["reasons"][0] == "last run error"
    assert causes["model.shop.stg_payments"]["root"] is True
    assert causes["model.shop.stg_payments"]["last_run"]["status"] == "error"


SLOW_MODEL = """
import time


def model(dbt, session):
    dbt.ref("stg_orders")
    time.sleep(2.5)
    return session.sql("select 1 as id")
"""


def test_max_runtime_breached_and_the_run_summary_says_so(built_project: Path) -> None:
    (built_project / "models" / "marts" / "core" / "slow_orders.py").write_text(SLOW_MODEL)
    write_slas(
        built_project,
        "slas:\n  - select: slow_orders\n    max_runtime: 2s\n  - select: orders\n    max_runtime: 1m\n",
    )
    run = cli("run", "--project-dir", str(built_project), "-s", "slow_orders", "orders")
    assert run.exit_code == 0, run.output
    assert "SLAs: 1 met, 1 missed or at risk, 0 unknown" in run.stdout
    assert "BREACHED model.shop.slow_orders max_runtime" in run.stdout
    code, rows, _ = check(built_project, "slow_orders", "orders")
    slow = one(rows, "model.shop.slow_orders", "max_runtime")
    assert code == 1 and slow["status"] == "breached" and float(slow["observed"]) > 2.0  # type: ignore[arg-type]
    assert one(rows, "model.shop.orders", "max_runtime")["status"] == "ok"
    as_json = cli("run", "--project-dir", str(built_project), "-s", "orders", "-o", "json")
    events = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [e["sla"] for e in events if e["event"] == "sla_result"] == ["max_runtime"]


def _break_orders(project: Path) -> None:
    path = project / "models/marts/core/orders.sql"
    path.write_text(path.read_text().replace("select", "select no_such_column,", 1))


def test_max_failures_after_repeated_failures_with_alerts(built_project: Path, tmp_path: Path) -> None:
    write_slas(built_project, "slas:\n  - select: orders\n    max_failures: 1\n")
    _break_orders(built_project)
    run = ["run", "--project-dir", str(built_project), "-s", "orders"]
    assert cli(*run).exit_code == 1
    code, rows, _ = check(built_project, "orders")
    assert code == 0 and one(rows, "model.shop.orders", "max_failures")["observed"] == 1, "one is tolerated"
    assert cli(*run).exit_code == 1
    inbox = tmp_path / "inbox.jsonl"
    notify = (
        f"{sys.executable} -c \"import sys; open({str(inbox)!r}, 'a').write(sys.stdin.read() + chr(10))\""
    )
    code, rows, _ = check(built_project, "orders", "--notify-command", notify)
    breach = one(rows, "model.shop.orders", "max_failures")
    assert code == 1 and breach["status"] == "breached" and breach["observed"] == 2 and breach["limit"] == 1
    delivered = [json.loads(line) for line in inbox.read_text().splitlines()]
    assert delivered == [breach]
    code, _, stderr = check(
        built_project, "orders", "--notify-command", f"{sys.executable} -c 'raise SystemExit(3)'"
    )
    assert code == 2 and "alert not delivered" in stderr and "exit 3" in stderr
    code, _, stderr = check(built_project, "orders", "--notify-command", "no-such-notifier-command")
    assert code == 2 and "command not found" in stderr
    selected = cli(
        "ls",
        "--project-dir",
        str(built_project),
        "-s",
        "status:error",
        "--resource-type",
        "model",
        "-o",
        "name",
    )
    assert selected.stdout.split() == ["orders"]
    path = built_project / "models/marts/core/orders.sql"
    path.write_text(path.read_text().replace("select no_such_column,", "select", 1))
    assert cli(*run).exit_code == 0
    code, rows, _ = check(built_project, "orders")
    assert code == 0 and one(rows, "model.shop.orders", "max_failures")["observed"] == 0


def test_source_freshness_through_dbt(built_project: Path) -> None:
    """`--sources` runs the real `dbt source freshness`; the newest load time it records is
    the one DuckDB holds, and dbt's warn_after/error_after judge it from then on."""
    import time

    loaded = float(int(time.time()) - 1800)
    naive = datetime.fromtimestamp(loaded, UTC).replace(tzinfo=None)
    with duckdb.connect(str(built_project / "target" / "shop.duckdb")) as db:
        db.execute("insert into main.raw_orders values (999, 1, 10, ?, 'placed')", [naive])
    code, rows, stderr = check(built_project, "source:shop", "--sources")
    assert "recorded `dbt source freshness`" in stderr
    orders = one(rows, "source.shop.shop.orders", "freshness")
    assert orders["details"]["max_loaded_at"] == iso(loaded)  # type: ignore[index]
    assert (orders["details"]["warn_after"], orders["details"]["error_after"]) == (12 * HOUR, DAY)  # type: ignore[index]
    assert orders["status"] == "ok" and orders["observed"] == pytest.approx(1800, abs=120)
    payments = one(rows, "source.shop.shop.payments", "freshness")
    assert code == 1 and payments["status"] == "breached", "raw_payments still holds 2024 data"
    steps = [(11 * HOUR, "ok", 0), (13 * HOUR, "warn", 0), (2 * DAY, "breached", 1)]
    for after, status, exit_code in steps:
        code, rows, _ = check(built_project, "source:shop.orders", "--at", iso(loaded + after))
        judged = one(rows, "source.shop.shop.orders", "freshness")
        assert (judged["status"], code) == (status, exit_code)
        assert judged["observed"] == pytest.approx(after, abs=1)
    with History.open(built_project / ".dbt-assets" / "history.db", create=False) as history:
        assert history.runs(limit=1)[0].command == "source freshness"


def test_show_lists_the_effective_sla(built_project: Path) -> None:
    write_slas(built_project, 'slas:\n  - select: orders\n    freshness: 1d\n    deadline: "06:00"\n')
    shown = cli("show", "orders", "--project-dir", str(built_project), "-o", "json")
    assert json.loads(shown.stdout)["sla"] == {"freshness": 86400.0, "deadline": "06:00"}
    text = cli("show", "orders", "--project-dir", str(built_project)).stdout
    assert "  sla:\n    freshness: 1d\n    deadline: 06:00\n" in text
    source = cli("show", "shop.payments", "--project-dir", str(built_project), "-o", "json")
    assert json.loads(source.stdout)["sla"] == {"warn_after": 6 * HOUR, "error_after": 12 * HOUR}
    assert (
        json.loads(cli("show", "customers", "--project-dir", str(built_project), "-o", "json").stdout)["sla"]
        is None
    )


def test_junit_output(built_project: Path) -> None:
    from xml.etree import ElementTree as ET

    write_slas(built_project, FINANCE_WARN + "  - select: orders\n    freshness: 1s\n")
    result = cli(
        "sla",
        "check",
        "--project-dir",
        str(built_project),
        "-o",
        "junit",
        "tag:finance",
        "orders",
        "--at",
        "+7h",
    )
    assert result.exit_code == 1
    suite = ET.fromstring(result.stdout.split("?>", 1)[1])
    assert suite.get("tests") == "3" and suite.get("failures") == "3"
    cases = {(c.get("classname"), c.get("name")): c for c in suite.iter("testcase")}
    assert cases[("model.shop.orders", "freshness")].find("failure").get("type") == "breached"  # type: ignore[union-attr]
    revenue = cases[("model.shop.revenue_by_category", "freshness")]
    assert revenue.find("failure").get("type") == "warn"  # type: ignore[union-attr]


def test_bad_sla_declarations_fail_the_check_with_the_file_named(built_project: Path) -> None:
    write_slas(built_project, 'slas:\n  - select: orders\n    deadline: "0 7 * * funday"\n')
    result = cli("sla", "check", "--project-dir", str(built_project))
    assert result.exit_code == 2
    assert "dbt_assets.yml: invalid SLA: slas.0.deadline" in result.stderr and "day of week" in result.stderr
    assert cli("sla", "check", "--project-dir", str(built_project), "--at", "soonish").exit_code == 2
