"""The Airflow adapter with the real Airflow: DAGs run with ``dag.test()`` against the fixture
on DuckDB (one task per asset, one per group), a failure, a task retry that re-runs only what
failed, dbt from a virtualenv of its own, Assets, timeouts and deadline alerts; the automation
DAG building what a dry-run tick finds due, failing on a failed asset, skipping when nothing is."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("airflow") is None:  # not imported here: airflow may read its settings once
    pytest.skip(
        "the airflow extra is not installed (pip install dbt-assets[airflow])", allow_module_level=True
    )

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

# Airflow reads its configuration when it is first imported: a home of this test process.
_HOME = Path(tempfile.mkdtemp(prefix="dbt-assets-airflow-"))
os.environ.update(
    {
        "AIRFLOW_HOME": str(_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(_HOME / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
    }
)

from airflow.models.asset import AssetEvent
from airflow.sdk import DAG
from airflow.serialization.serialized_objects import DagSerialization
from airflow.settings import Session

from dbt_assets.api import automation_tick, load_graph, open_history, plan_selection, tick_options
from dbt_assets.history.store import History
from dbt_assets.integrations.airflow import (
    asset_units,
    dbt_dag,
    deadline_alerts,
    plan_units,
)
from dbt_assets.integrations.airflow_automation import automation_dag
from dbt_assets.run.project import Project
from tests.airflow_dag_spec import dag_kwargs
from tests.conftest import FLAKY, assert_ran_with, dbt_ls

pytestmark = pytest.mark.slow


DAG_FILE = """
import json, os
from dbt_assets import Project
from dbt_assets.integrations.airflow import dbt_dag
from dbt_assets.integrations.airflow_automation import automation_dag
from tests.airflow_dag_spec import dag_kwargs

spec = json.loads(os.environ["DBT_ASSETS_TEST_DAG"])
project = Project(spec.pop("project"), dbt_executable=spec.pop("dbt_executable", None))
if spec.pop("automation", False):
    dag = automation_dag(project, **spec)
else:
    dag = dbt_dag(project, **dag_kwargs(spec))
"""


@pytest.fixture(scope="module")
def airflow_db() -> Iterator[None]:
    """Airflow's metadata database (SQLite in the test home) and a DAG folder whose one file
    builds the DAG a test describes in ``$DBT_ASSETS_TEST_DAG`` (``dag.test()`` finds DAGs there)."""
    (_HOME / "dags").mkdir(exist_ok=True)
    (_HOME / "dags" / "dbt_assets_test_dag.py").write_text(DAG_FILE)
    airflow = Path(sys.executable).parent / "airflow"
    done = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    yield


def run_dag(project: Path, **spec: Any) -> tuple[DAG, dict[str, str]]:
    """Build the DAG ``spec`` describes, as the DAG file does, run it with ``dag.test()``; the
    DAG and each task's final state."""
    os.environ["DBT_ASSETS_TEST_DAG"] = json.dumps({"project": str(project), **spec})
    kwargs = dag_kwargs(spec)
    dag = dbt_dag(Project(project, dbt_executable=kwargs.pop("dbt_executable", None)), **kwargs)
    run = dag.test()
    states = {ti.task_id.removeprefix("dbt."): str(ti.state) for ti in run.get_task_instances()}
    return dag, states


def history_runs(project: Path) -> list[tuple[str, set[str]]]:
    """Each recorded run's status and the assets dbt reported, oldest first."""
    with History.open(project / ".dbt-assets" / "history.db", create=False) as history:
        runs = sorted(history.runs(limit=None), key=lambda r: r.run_id)
        return [(r.status, {x.unique_id for x in history.results(r.run_id)}) for r in runs]


# orders (through the ephemeral int_order_payments), customers reading it, executive_summary
# reading customers and others outside the selection: three tasks, each a dbt invocation.
PER_ASSET = ["orders", "customers", "executive_summary"]


def test_one_task_per_asset_each_running_exactly_its_assets(airflow_db: None, built_project: Path) -> None:
    before = len(history_runs(built_project))
    dag, states = run_dag(built_project, select=PER_ASSET, dag_id="per_asset")
    graph = load_graph(project_dir=built_project)
    units = asset_units(graph, plan_selection(graph, "build", PER_ASSET).unique_ids)
    assert set(states) == {u.task_id for u in units} and len(states) == 3
    assert set(states.values()) == {"success"}
    # together the tasks are what dbt selects for the selection (dbt ls is the oracle) ...
    kinds = [
        a for kind in ("model", "seed", "snapshot", "test", "unit_test") for a in ("--resource-type", kind)
    ]
    listed = {str(n["unique_id"]) for n in dbt_ls(built_project, "--select", *PER_ASSET, *kinds)}
    assert {uid for u in units for uid in u.unique_ids} == listed
    # ... and each task's dbt invocation ran exactly its own assets and tests
    ran = history_runs(built_project)[before:]
    assert sorted(sorted(ids) for _, ids in ran) == sorted(sorted(u.unique_ids) for u in units)
    # the dependencies are dbt's, through the ephemeral model and across tests
    by_id = {t.task_id.removeprefix("dbt."): t for t in dag.tasks}
    assert {t.removeprefix("dbt.") for t in by_id["customers"].upstream_task_ids} == {"orders"}
    assert {t.removeprefix("dbt.") for t in by_id["executive_summary"].upstream_task_ids} >= {"customers"}
    # Airflow recorded an asset event for every materialized asset
    with Session() as session:
        uris = {e.asset.uri for e in session.query(AssetEvent).all() if e.asset is not None}
    assert {
        "dbt://shop/model/orders",
        "dbt://shop/model/customers",
        "dbt://shop/model/executive_summary",
    } <= uris


def test_a_failure_fails_its_task_and_stops_what_is_downstream(airflow_db: None, built_project: Path) -> None:
    broken = built_project / "models" / "marts" / "finance" / "order_revenue_daily.sql"
    broken.write_text("select * from {{ ref('orders') }} where no_such_column = 1\n")
    selection = ["order_revenue_daily+", "customers"]
    _, states = run_dag(built_project, select=selection, command="run", dag_id="failing")
    graph = load_graph(project_dir=built_project)
    downstream = [u for u in graph.downstream("model.shop.order_revenue_daily") if u.startswith("model.")]
    below = {graph.records[u].search_name.replace(".", "_") for u in downstream}
    assert states["order_revenue_daily"] == "failed"
    assert below and all(states[name] == "upstream_failed" for name in below)
    others = set(states) - below - {"order_revenue_daily"}
    assert others and all(states[name] == "success" for name in others)
    failed = [ids for status, ids in history_runs(built_project) if status == "failed"]
    assert failed == [{"model.shop.order_revenue_daily"}], "one task failed, running only its model"


def test_a_group_retry_runs_only_what_failed(airflow_db: None, built_project: Path, tmp_path: Path) -> None:
    core = built_project / "models" / "marts" / "core"
    (core / "flaky.py").write_text(FLAKY.format(marker=str(tmp_path / "flaky-has-failed")))
    (core / "flaky_child.sql").write_text("select id from {{ ref('flaky') }}\n")
    before = len(history_runs(built_project))
    _, states = run_dag(
        built_project, select=["orders+"], command="run", mode="group", groups=1, retries=1, dag_id="groups"
    )
    assert states == {"group_0": "success"}
    (first_status, first), (second_status, second) = history_runs(built_project)[before:]
    assert first_status == "failed" and "model.shop.flaky" in first and "model.shop.orders" in first
    assert second_status == "success"
    assert second == {"model.shop.flaky", "model.shop.flaky_child"}, (
        "the retry ran only what had not succeeded"
    )


def test_units_cover_a_whole_build(shop_project: Path) -> None:
    """Every node ``dbt build`` would run is in exactly one task: source tests and tests of
    several assets included."""
    graph = load_graph(project_dir=shop_project)
    units = asset_units(graph, plan_selection(graph, "build").unique_ids)
    ids = [uid for u in units for uid in u.unique_ids]
    kinds = [
        a for kind in ("model", "seed", "snapshot", "test", "unit_test") for a in ("--resource-type", kind)
    ]
    listed = dbt_ls(shop_project, *kinds)
    ephemeral = [n for n in listed if n.get("config", {}).get("materialized") == "ephemeral"]  # type: ignore[attr-defined]
    assert ephemeral, "dbt lists the ephemeral model; it runs inside its children, not as a task"
    assert sorted(ids) == sorted({str(n["unique_id"]) for n in listed if n not in ephemeral})
    task_ids = [u.task_id for u in units]
    assert len(set(task_ids)) == len(task_ids)
    assert all(before in task_ids for u in units for before in u.after)
    on_sources = [  # tests of sources only: no asset to go with, a task of their own
        u
        for u in units
        if all(
            graph.records[x].resource_type == "test"
            and all(p.startswith("source.") for p in graph.records[x].depends_on.nodes)
            for x in u.unique_ids
        )
    ]
    assert on_sources and all(u.task_id.startswith("test__source_") and u.after == () for u in on_sources)


def test_groups_follow_the_shards(built_project: Path) -> None:
    project = Project(built_project)
    units = plan_units(project, ["orders+"], command="build", mode="group", groups=3)
    graph = project.graph()
    members = [set(u.unique_ids) for u in units]
    assert set().union(*members) == set(plan_selection(graph, "build", ["orders+"]).unique_ids)
    assert sum(len(m) for m in members) == len(set().union(*members)), "each asset in one group"
    position = {u.task_id: i for i, u in enumerate(units)}
    assert all(position[before] < position[u.task_id] for u in units for before in u.after)


def test_dbt_from_its_own_virtualenv(airflow_db: None, built_project: Path, separate_dbt: Path) -> None:
    """The orchestrator's environment and dbt's apart: dbt-assets reaches dbt through
    ``dbt_executable`` (a dbt of another version, in another virtualenv)."""
    _, states = run_dag(
        built_project,
        select=["stg_orders"],
        command="run",
        dag_id="own_venv",
        dbt_executable=str(separate_dbt),
    )
    assert states == {"stg_orders": "success"}
    assert_ran_with(built_project, separate_dbt)


def test_a_dag_reads_the_manifest_once(built_project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Airflow parses DAG files again and again: building one loads the graph once, deadline
    alerts included."""
    loads = []
    graph = Project.graph
    monkeypatch.setattr(Project, "graph", lambda self: loads.append(1) or graph(self))
    dag = dbt_dag(Project(built_project), ["orders+"], dag_id="one_load", schedule="0 3 * * *")
    assert len(dag.tasks) > 1 and dag.deadline
    assert len(loads) == 1


def test_max_runtime_is_the_task_timeout(built_project: Path) -> None:
    dag = dbt_dag(Project(built_project), ["orders+"], dag_id="timeouts")
    by_id = {t.task_id.removeprefix("dbt."): t for t in dag.tasks}
    assert by_id["orders"].execution_timeout == timedelta(minutes=5)  # dbt_assets.yml
    assert by_id["customers"].execution_timeout is None
    group = dbt_dag(Project(built_project), ["orders"], dag_id="timeouts2", mode="group", groups=1)
    assert group.tasks[0].execution_timeout == timedelta(minutes=5)


def test_deadlines_become_deadline_alerts(built_project: Path) -> None:
    graph = load_graph(project_dir=built_project)
    winter = datetime(2026, 11, 25, tzinfo=UTC).timestamp()
    # orders is due 07:00 Europe/Berlin: 1 h after a 05:00 UTC run in winter
    (alert,) = deadline_alerts(graph, ["model.shop.orders"], "0 5 * * *", now=winter)
    assert alert.interval == timedelta(hours=1)
    assert alert.callback.kwargs["unique_ids"] == ["model.shop.orders"]
    assert alert.callback.path == "dbt_assets.integrations.airflow.deadline_missed"
    # in Berlin time it is 2 h after a 05:00 run, summer and winter alike
    (alert,) = deadline_alerts(graph, ["model.shop.orders"], "@daily", timezone="Europe/Berlin", now=winter)
    assert alert.interval == timedelta(hours=7)
    # across a DST change the distance from a UTC schedule moves: no alert, a warning
    spring = datetime(2027, 3, 20, tzinfo=UTC).timestamp()
    with pytest.warns(UserWarning, match="model.shop.orders: its deadline '07:00'"):
        assert deadline_alerts(graph, ["model.shop.orders"], "0 5 * * *", now=spring) == []
    # a scheduled DAG carries them, and they survive Airflow's serialization
    dag = dbt_dag(Project(built_project), ["orders"], dag_id="deadlines", schedule="0 3 * * *")
    serialized = DagSerialization.to_dict(dag)
    assert "deadline" in json.dumps(serialized)
    assert len(dag.deadline or []) == 1


def test_a_dag_run_carries_its_deadline_and_airflow_runs_the_callback_when_missed(
    airflow_db: None, built_project: Path, tmp_path: Path
) -> None:
    """The deadline alert in a real DAG run: Airflow creates the run's Deadline (logical date
    + the distance to orders' 07:00 Berlin deadline); marked missed, Airflow's own callback
    runner calls ``deadline_missed``, which judges and notifies. (The run fails on purpose:
    Airflow 3.3.2's ``dag.test()`` crashes when a run with deadlines succeeds,
    apache/airflow#73428.)"""
    from airflow.models.deadline import Deadline as AirflowDeadline
    from airflow.sdk.execution_time.callback_supervisor import execute_callback

    from dbt_assets.api import open_history, start_run

    broken = built_project / "models" / "marts" / "core" / "orders.sql"
    broken.write_text("select no_such_column from {{ ref('stg_orders') }}\n")
    with open_history(built_project) as history:  # one failure before: the DAG run's is the second
        for _ in start_run(Project(built_project), "run", ["orders"], history=history):
            pass
    got = tmp_path / "alerts.jsonl"
    notify = f"{sys.executable} -c \"import sys; open({str(got)!r}, 'a').write(sys.stdin.read() + chr(10))\""
    # 03:00 Berlin time: orders' deadline (07:00 Berlin) is 4 h after every run, any season
    spec = {"select": ["orders"], "command": "run", "dag_id": "deadline_run", "schedule": "0 3 * * *"}
    spec |= {"timezone": "Europe/Berlin", "notify_command": notify}
    # dag.test() runs the DAG its DAG file builds, from the same description
    os.environ["DBT_ASSETS_TEST_DAG"] = json.dumps({"project": str(built_project), **spec})
    dag = dbt_dag(Project(built_project), **dag_kwargs(spec))
    logical = datetime(2026, 11, 24, 2, tzinfo=UTC)  # 03:00 in Berlin
    run = dag.test(logical_date=logical)
    assert str(run.state) == "failed"
    with Session() as session:
        (deadline,) = session.query(AirflowDeadline).filter(AirflowDeadline.dagrun_id == run.id).all()
        assert deadline.deadline_time == logical + timedelta(hours=4)
        deadline.handle_miss(session)  # what the scheduler does once deadline_time has passed
        session.flush()
        data = dict(deadline.callback.data)
        session.rollback()
    assert data["path"] == "dbt_assets.integrations.airflow.deadline_missed"
    assert data["kwargs"]["unique_ids"] == ["model.shop.orders"] and "context" in data["kwargs"]
    ok, error = execute_callback(data["path"], data["kwargs"], "", None, structlog.get_logger("test"))
    assert ok, error
    sent = [json.loads(line) for line in got.read_text().splitlines()]
    assert ("model.shop.orders", "max_failures", "breached") in {
        (s["unique_id"], s["sla"], s["status"]) for s in sent
    }
    assert all(s["status"] in ("breached", "at_risk") for s in sent), "only what needs attention"


def run_automation(project: Path, **spec: Any) -> str:
    """Run the automation DAG ``spec`` describes with ``dag.test()``: its one task's state."""
    os.environ["DBT_ASSETS_TEST_DAG"] = json.dumps({"project": str(project), "automation": True, **spec})
    run = automation_dag(Project(project), **spec).test()
    (ti,) = run.get_task_instances()
    return str(ti.state)


def test_the_automation_dag_runs_what_is_due_fails_on_a_failure_and_skips_saying_why(
    airflow_db: None, built_project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """On a history that has never seen the staging models built: the one task builds exactly
    the plan of what a dry-run tick finds due (the decisions recorded with the run, an asset
    event for the model); with the table stg_orders reads dropped, the task fails naming it;
    then nothing is due (a failed model waits for new data, new code or a retry condition):
    the task is skipped, saying why."""
    history = tmp_path / "history.db"
    spec: dict[str, Any] = {"dag_id": "automation", "check_sources": False, "history_path": str(history)}

    def dry_plan(select: str) -> tuple[set[str], set[str]]:
        with open_history(built_project, history) as opened:
            options = tick_options([select], check_sources=False)
            tick = automation_tick(Project(built_project), opened, options=options, dry_run=True)
        return set(tick.decisions.due), set(tick.plan.unique_ids if tick.plan is not None else ())

    def runs() -> list[tuple[int, str, set[str]]]:
        with History.open(history, create=False) as opened:
            found = sorted(opened.runs(limit=None), key=lambda r: r.run_id)
            return [(r.run_id, r.status, {x.unique_id for x in opened.results(r.run_id)}) for r in found]

    due, planned = dry_plan("stg_customers")
    assert due == {"model.shop.stg_customers"} and len(planned) > 1, "the model and its tests"
    assert run_automation(built_project, select=["stg_customers"], **spec) == "success"
    ((run_id, status, ran),) = runs()
    assert status == "success" and ran == planned
    with History.open(history, create=False) as opened:
        (decided,) = opened.decisions("model.shop.stg_customers", limit=1)
    assert (decided.decision, decided.condition, decided.run_id) == ("run", "on_missing", run_id)
    with Session() as session:
        events = session.query(AssetEvent).filter(AssetEvent.source_dag_id == "automation").all()
        assert {e.asset.uri for e in events if e.asset is not None} == {"dbt://shop/model/stg_customers"}

    import duckdb

    with duckdb.connect(str(built_project / "target" / "shop.duckdb")) as db:
        db.execute("drop table main.raw_orders")  # a failure without a code change (no parse)
    due, planned = dry_plan("stg_orders")
    assert due == {"model.shop.stg_orders"}
    capsys.readouterr()
    assert run_automation(built_project, select=["stg_orders"], **spec) == "failed"
    ((run_id, status, ran),) = runs()[1:]
    assert status == "failed" and "model.shop.stg_orders" in ran and ran <= planned
    assert f"dbt build failed (dbt-assets run {run_id}): model.shop.stg_orders" in capsys.readouterr().out

    assert dry_plan("stg_orders") == (set(), set())
    assert run_automation(built_project, select=["stg_orders"], **spec) == "skipped"
    said = capsys.readouterr().out
    assert "nothing due at " in said and "1 failed before (stg_orders: " in said
    assert len(runs()) == 2
