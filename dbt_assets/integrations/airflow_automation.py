"""Airflow: a DAG that ticks dbt-assets automation on a schedule and runs the due plan.

    from dbt_assets import Project
    from dbt_assets.integrations.airflow_automation import automation_dag

    shop = automation_dag(Project("fixtures/dbt_project"), dag_id="shop_automation", schedule="*/5 * * * *")

- one task, ``tick``: what is due is decided when the task runs, not when Airflow parses the
  DAG file (parsing reads no manifest), so the DAG has no task per asset; the due assets run
  as one dbt invocation (the tick's plan), exactly as ``dbt-assets automate --once`` runs them;
- the decisions are recorded in the run history with the run's start, in one transaction
  (``dbt-assets automate --explain ASSET`` lists them);
- nothing due: the task is skipped, its message saying why;
- an asset failed: the task fails, naming it; its ``retry`` condition (``automate:``) tries it
  again at a later tick, so the task has no Airflow retries;
- each model, seed and snapshot built is an Airflow asset event (the task's outlet is the
  asset alias ``dbt-assets:<dag_id>``, resolved to the assets of the per-asset DAG,
  ``dbt://<package>/<resource type>/<name>``), when the task succeeds;
- ``max_active_runs=1`` and no catch-up: a tick is about now, one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, AssetAlias

try:
    from airflow.sdk.exceptions import AirflowSkipException
except ImportError:  # Airflow 3.1: not in the Task SDK yet
    from airflow.exceptions import AirflowSkipException  # type: ignore[no-redef]

from dbt_assets import AssetFinished, Project, Selection, is_materialized
from dbt_assets._core.vocab import SUCCESS_STATUSES
from dbt_assets.api import automation_tick, open_history, tick_options
from dbt_assets.integrations._ticks import due_lines, nothing_due
from dbt_assets.integrations.airflow import airflow_asset


def tick_and_run(
    *,
    project_dir: str,
    select: list[str],
    exclude: list[str],
    alias: str,
    profiles_dir: str | None = None,
    target: str | None = None,
    dbt_executable: str | None = None,
    vars: str | None = None,
    history_path: str | None = None,
    source_check_interval: float | None = None,
    check_sources: bool = True,
    tests: bool = True,
    **context: Any,
) -> dict[str, str]:
    """The DAG's task: one automation tick and the run of what is due; each asset's dbt
    status. Skipped (with the reason) when nothing is due; fails when an asset failed."""
    project = Project(
        project_dir, profiles_dir=profiles_dir, target=target, dbt_executable=dbt_executable, vars=vars
    )
    options = tick_options(
        Selection(select, exclude=exclude),
        source_check_interval=source_check_interval,
        check_sources=check_sources,
        tests=tests,
    )
    with open_history(project.project_dir, history_path) as history:
        tick = automation_tick(project, history, options=options)
        for line in due_lines(tick):
            print(f"dbt-assets: {line}")
        if tick.run is None:
            raise AirflowSkipException(nothing_due(tick))
        graph = tick.world.graph
        print(f"dbt-assets: dbt {' '.join(tick.run.plan.argv)}")
        statuses: dict[str, str] = {}
        for event in tick.run:
            if isinstance(event, AssetFinished):
                statuses[event.unique_id] = event.status
                print(
                    f"dbt-assets: {event.unique_id} {event.status}"
                    + (f": {event.message}" if event.message else "")
                )
        result = tick.run.result
    assert result is not None
    if result.exit_code != 0:
        failed = ", ".join(r.unique_id for r in result.failures) or result.message or result.status
        raise RuntimeError(f"dbt build failed (dbt-assets run {result.run_id}): {failed}")
    events = context.get("outlet_events")
    if events is not None:
        for uid, status in statuses.items():
            if status in SUCCESS_STATUSES and uid in graph.records and is_materialized(graph, uid):
                events[AssetAlias(alias)].add(airflow_asset(graph, uid), extra={"dbt_status": status})
    return statuses


def automation_dag(
    project: Project,
    select: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    dag_id: str = "dbt_assets_automation",
    schedule: str | timedelta = timedelta(minutes=5),
    history_path: str | Path | None = None,
    source_check_interval: float | None = None,
    check_sources: bool = True,
    tests: bool = True,
    execution_timeout: timedelta | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """A DAG whose one task does a dbt-assets automation tick over the selection (default: the
    whole project) on ``schedule`` and runs what is due. Other keyword arguments go to ``DAG``
    (``catchup`` and ``max_active_runs`` default to False and 1). See the module docstring."""
    alias = f"dbt-assets:{dag_id}"
    dag_kwargs.setdefault("catchup", False)
    dag_kwargs.setdefault("max_active_runs", 1)
    with DAG(dag_id, schedule=schedule, **dag_kwargs) as dag:
        PythonOperator(
            task_id="tick",
            python_callable=tick_and_run,
            op_kwargs={
                "project_dir": str(project.project_dir),
                "select": list(select),
                "exclude": list(exclude),
                "alias": alias,
                "profiles_dir": str(project.profiles_dir),
                "target": project.target,
                "dbt_executable": project.dbt_executable,
                "vars": project.vars,
                "history_path": None if history_path is None else str(history_path),
                "source_check_interval": source_check_interval,
                "check_sources": check_sources,
                "tests": tests,
            },
            outlets=[AssetAlias(alias)],
            execution_timeout=execution_timeout,
            retries=0,
            doc_md="dbt-assets automation: one tick, then `dbt build` of what is due",
        )
    return dag
