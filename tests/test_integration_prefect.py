"""The Prefect adapter with the real prefect (its test harness: a local server and database):
flows running the fixture on DuckDB, each asset a task run; a failure and a flow retry that
re-runs only what failed; the automation flow building what a dry-run tick finds due, then
nothing, saying why."""

from __future__ import annotations

import importlib.util

import pytest

if importlib.util.find_spec("prefect") is None:  # not imported here: prefect may read its settings once
    pytest.skip(
        "the prefect extra is not installed (pip install dbt-assets[prefect])", allow_module_level=True
    )

from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.states import State
from prefect.testing.utilities import prefect_test_harness

from dbt_assets.api import automation_tick, load_graph, open_history, tick_options
from dbt_assets.history.store import History
from dbt_assets.integrations.prefect import automation_flow, dbt_flow, prefect_asset
from dbt_assets.run.project import Project
from tests.conftest import FLAKY, assert_ran_with
from tests.postgres import Server

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def prefect_server() -> Iterator[None]:
    with prefect_test_harness(server_startup_timeout=120):
        yield


def task_runs(state: State) -> dict[str, list[str]]:
    """Task run names and their final state names, for the flow run of ``state``."""
    flow_run_id: UUID | None = state.state_details.flow_run_id
    assert flow_run_id is not None
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
    found: dict[str, list[str]] = {}
    for run in runs:
        found.setdefault(run.name.rsplit("-", 1)[0], []).append(run.state.name if run.state else "?")
    return found


def test_each_asset_is_a_task_run(prefect_server: None, built_project: Path, tmp_path: Path) -> None:
    history = tmp_path / "history.db"
    shop = dbt_flow(Project(built_project), ["downstream_of:orders"], command="run", history_path=history)
    state = shop(return_state=True)
    assert state.is_completed()
    statuses = state.result()
    assert set(statuses.values()) == {"success"} and len(statuses) == 8
    runs = task_runs(state)
    assert runs["orders"] == ["Completed"] and runs["customer_segments.v2"] == ["Completed"]
    assert len(runs) == 8


def test_lineage_of_an_asset(built_project: Path) -> None:
    from dbt_assets.integrations.prefect import _upstream

    graph = load_graph(project_dir=built_project)
    assert prefect_asset(graph, "model.shop.orders").key == "dbt://shop/model/orders"
    upstream = {a.key for a in _upstream(graph, "model.shop.orders") if not isinstance(a, str)}
    # int_order_payments is ephemeral: its parent stg_payments instead
    assert upstream == {
        "dbt://shop/model/stg_orders",
        "dbt://shop/model/int_order_items",
        "dbt://shop/model/stg_payments",
    }
    assert prefect_asset(graph, "source.shop.shop.orders").key == "dbt://shop/source/shop.orders"


@pytest.mark.postgres
def test_a_failure_then_a_retry_of_only_what_failed(
    prefect_server: None, built_project: Path, tmp_path: Path, postgres: Server
) -> None:
    """On a history that every worker shares (PostgreSQL): the flow's tasks and its retry
    write to and read from the URL they were given."""
    core = built_project / "models" / "marts" / "core"
    (core / "flaky.py").write_text(FLAKY.format(marker=str(tmp_path / "flaky-has-failed")))
    (core / "flaky_child.sql").write_text("select id from {{ ref('flaky') }}\n")
    history = postgres.url()
    shop = dbt_flow(Project(built_project), ["orders+"], command="run", retries=1, history_path=history)
    state = shop(return_state=True)
    assert state.is_completed(), "the retry succeeded"
    runs = task_runs(state)
    assert runs["flaky"] == ["Failed", "Completed"] or runs["flaky"] == ["Completed", "Failed"]
    assert runs["flaky_child"] == ["Completed"], "skipped the first time: no task run then"
    assert runs["orders"] == ["Completed"], "succeeded the first time: not run again"
    with History.open(history, create=False) as opened:
        first, retry = sorted(opened.runs(), key=lambda r: r.run_id)
    assert first.status == "failed" and "model.shop.flaky" in first.unique_ids
    assert retry.selection == {"retry_of": first.run_id}
    assert set(retry.unique_ids) == {"model.shop.flaky", "model.shop.flaky_child"}


def test_dbt_from_its_own_virtualenv(prefect_server: None, built_project: Path, separate_dbt: Path) -> None:
    """Prefect's environment and dbt's apart: the flow reaches dbt (another version, another
    virtualenv) through ``dbt_executable``."""
    shop = dbt_flow(Project(built_project, dbt_executable=str(separate_dbt)), ["stg_orders"], command="run")
    state = shop(return_state=True)
    assert state.is_completed() and state.result() == {"model.shop.stg_orders": "success"}
    assert task_runs(state) == {"stg_orders": ["Completed"]}
    assert_ran_with(built_project, separate_dbt)


def drop_table(project: Path, table: str) -> None:
    """A failure without a code change (no parse): the table a model reads is gone."""
    import duckdb

    with duckdb.connect(str(project / "target" / "shop.duckdb")) as db:
        db.execute(f"drop table main.{table}")


def test_the_automation_flow_builds_what_is_due_then_says_why_nothing_is(
    prefect_server: None, built_project: Path, tmp_path: Path
) -> None:
    """A history that has never seen two staging models built, and the table one of them reads
    dropped: a dry-run tick finds both due; the flow builds exactly its plan (each model a
    task run), records the decisions with its run and fails naming the failed model. The next
    flow run finds nothing due (a failed model waits for new data, new code or a retry
    condition) and says why as its state's message."""
    drop_table(built_project, "raw_orders")
    history = tmp_path / "history.db"
    project = Project(built_project)
    select = ["stg_customers", "stg_orders"]
    options = tick_options(select, check_sources=False)
    with open_history(built_project, history) as opened:
        dry = automation_tick(project, opened, options=options, dry_run=True)
    assert set(dry.decisions.due) == {"model.shop.stg_customers", "model.shop.stg_orders"}
    assert dry.plan is not None

    shop = automation_flow(project, select, history_path=history, check_sources=False)
    state = shop(return_state=True)
    assert state.is_failed() and "model.shop.stg_orders" in str(state.message)
    assert task_runs(state) == {"stg_customers": ["Completed"], "stg_orders": ["Failed"]}
    with History.open(history, create=False) as opened:
        (run,) = opened.runs()
        assert set(run.unique_ids) == set(dry.plan.unique_ids) and run.status == "failed"
        decided = [opened.decisions(uid, limit=1)[0] for uid in dry.decisions.due]
    assert {(d.decision, d.condition, d.run_id) for d in decided} == {("run", "on_missing", run.run_id)}

    idle = shop(return_state=True)
    assert idle.is_completed() and idle.result() == {} and task_runs(idle) == {}
    message = str(idle.message)
    assert message.startswith("nothing due at ") and "1 failed before (stg_orders: " in message
