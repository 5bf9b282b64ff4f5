"""Airflow: a DAG (or a TaskGroup in a DAG of yours) that runs a selection, one task per
asset or one task per group of assets, each task running exactly its assets through the
exact compiler.

    from dbt_assets import Project
    from dbt_assets.integrations.airflow import dbt_dag

    shop = dbt_dag(Project("fixtures/dbt_project"), ["downstream_of:orders"], dag_id="shop")

- ``mode="asset"``: one task per model, seed or snapshot, named after it; under ``build`` it
  also runs the asset's tests (a test of several assets goes with the one downstream of the
  others, else it gets its own task). Ephemeral models are not tasks; dependencies pass
  through them and through anything not selected, as dbt orders them;
- ``mode="group"``: the selection sharded into at most ``groups`` tasks balanced on the run
  history (:func:`dbt_assets.api.shard_selection`), each with exact dbt arguments;
- every task declares an Airflow Asset per materialized dbt asset it builds (outlets,
  ``dbt://<package>/<resource type>/<name>``, the same keys as the Prefect adapter) and the
  assets it reads (inlets), so other DAGs can be scheduled on them;
- SLAs: ``max_runtime`` becomes the task's ``execution_timeout`` (a group's: the sum of its
  assets', when each has one); a deadline becomes a deadline alert of the DAG when its
  schedule is a cron expression that the deadline follows at a fixed distance (the alert
  judges the SLAs from the history and sends them to ``notify_command``/``webhook``);
- one task per asset: a task is a process, which would pay dbt's start-up for one model: while a
  ``dbt-assets worker`` serves the project on the task's host, tasks run through it;
- a task retry runs only what has not succeeded since the DAG run started (so a group's
  retry re-runs its failed assets and those skipped because of them); a task fails when dbt
  fails, naming the failed assets; all runs go to the run history.
"""

from __future__ import annotations

import re
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, Asset, TaskGroup

from dbt_assets import (
    AssetFinished,
    AssetGraph,
    History,
    Project,
    Selection,
    Sla,
    declared_slas,
    deliver,
    is_materialized,
    materialized_parents,
)
from dbt_assets._core.errors import ScheduleError
from dbt_assets._core.vocab import CHECK_TYPES
from dbt_assets.api import (
    check_slas,
    deadline_offsets,
    not_succeeded_since,
    open_history,
    plan_selection,
    running_worker,
    shard_selection,
    start_run,
)

Mode = Literal["asset", "group"]
_TASK_ID = re.compile(r"[^A-Za-z0-9_-]+")


def airflow_asset(graph: AssetGraph, unique_id: str) -> Asset:
    """The Airflow Asset of a dbt asset: named by its unique_id, ``dbt://`` URI."""
    record = graph.records[unique_id]
    name = f"{record.source_name}.{record.name}" if record.resource_type == "source" else record.search_name
    return Asset(name=unique_id, uri=f"dbt://{record.package_name}/{record.resource_type}/{name}")


@dataclass(frozen=True)
class Unit:
    """What one task runs: ``unique_ids`` (for dbt, exactly), after the units ``after``."""

    task_id: str
    unique_ids: tuple[str, ...]
    after: tuple[str, ...]


def asset_units(graph: AssetGraph, planned: Sequence[str]) -> list[Unit]:
    """One unit per materialized asset of a planned selection, with its checks (tests and
    unit tests) and, as ``after``, the nearest units upstream of it."""
    members = set(planned)
    assets = sorted(u for u in members if is_materialized(graph, u))
    among = set(assets)
    names = _task_ids(graph, assets)
    upstream = {uid: _nearest(graph, uid, among) for uid in assets}
    checks: dict[str, list[str]] = {uid: [] for uid in assets}
    loose: list[tuple[str, list[str]]] = []
    for uid in sorted(members):
        if graph.records[uid].resource_type not in CHECK_TYPES:
            continue
        tested = sorted(_nearest(graph, uid, among))
        home = _downstream_of_all(graph, tested)
        if home is not None:
            checks[home].append(uid)
        else:
            loose.append((uid, tested))
    units = [
        Unit(names[uid], (uid, *checks[uid]), tuple(sorted(names[p] for p in upstream[uid])))
        for uid in assets
    ]
    taken = {unit.task_id for unit in units}
    for uid, tested in loose:  # several assets, none downstream of the others; or only sources
        task_id = _unique(_safe("test__" + graph.records[uid].name), taken)
        units.append(Unit(task_id, (uid,), tuple(sorted(names[p] for p in tested))))
    return units


def group_units(
    graph: AssetGraph,
    planned_command: str,
    select: Sequence[str],
    exclude: Sequence[str],
    groups: int,
    history: History | None,
) -> list[Unit]:
    """At most ``groups`` units from the sharded selection, in dependency order."""
    sharded = shard_selection(
        graph, planned_command, Selection(select, exclude=exclude), groups, history=history
    )
    return [
        Unit(f"group_{s.index}", s.plan.unique_ids, tuple(f"group_{i}" for i in s.after))
        for s in sharded.shards
    ]


def _nearest(graph: AssetGraph, unique_id: str, among: set[str]) -> set[str]:
    """The members of ``among`` upstream of an asset with no other member between them."""
    found: set[str] = set()
    todo = list(graph.records[unique_id].depends_on.nodes)
    seen: set[str] = set()
    while todo:
        parent = todo.pop()
        if parent in seen or parent not in graph.records:
            continue
        seen.add(parent)
        if parent in among:
            found.add(parent)
        else:
            todo.extend(graph.records[parent].depends_on.nodes)
    return found


def _downstream_of_all(graph: AssetGraph, assets: list[str]) -> str | None:
    """The one of ``assets`` that every other one is upstream of, if any."""
    for candidate in assets:
        above = graph.upstream(candidate)
        if all(other == candidate or other in above for other in assets):
            return candidate
    return None


def _safe(text: str) -> str:
    return _TASK_ID.sub("_", text).strip("_")[:200] or "asset"


def _task_ids(graph: AssetGraph, unique_ids: Sequence[str]) -> dict[str, str]:
    """Task ids from asset names (``orders``, ``orders_v2``), the package in front when two
    packages share a name."""
    base = {uid: _safe(graph.records[uid].search_name) for uid in unique_ids}
    count: dict[str, int] = {}
    for name in base.values():
        count[name] = count.get(name, 0) + 1
    taken: set[str] = set()
    return {
        uid: _unique(name if count[name] == 1 else _safe(f"{graph.records[uid].package_name}__{name}"), taken)
        for uid, name in base.items()
    }


def _unique(task_id: str, taken: set[str]) -> str:
    """``task_id``, or with a number after it when it is taken (``a_v1`` and ``a.v1``)."""
    chosen, number = task_id, 1
    while chosen in taken:
        number += 1
        chosen = f"{task_id}_{number}"
    taken.add(chosen)
    return chosen


def _timeout(slas: Mapping[str, object], assets: Sequence[str]) -> timedelta | None:
    """The task's execution timeout: the sum of its assets' max_runtime, if each has one."""
    limits = [sla.max_runtime if isinstance(sla := slas.get(uid), Sla) else None for uid in assets]
    if not limits or any(limit is None for limit in limits):
        return None
    return timedelta(seconds=sum(limit for limit in limits if limit is not None))


def run_assets(
    *,
    project_dir: str,
    command: str,
    unique_ids: list[str],
    profiles_dir: str | None = None,
    target: str | None = None,
    dbt_executable: str | None = None,
    vars: str | None = None,
    history_path: str | None = None,
    warm: bool = False,
    **context: Any,
) -> dict[str, str]:
    """The callable of every task: ``dbt COMMAND`` for exactly ``unique_ids`` (on a retry,
    only those not succeeded since the DAG run started); each asset's dbt status. ``warm``:
    through the ``dbt-assets worker`` serving the project, if one runs (module docstring)."""
    project = Project(
        project_dir, profiles_dir=profiles_dir, target=target, dbt_executable=dbt_executable, vars=vars
    )
    with open_history(project.project_dir, history_path) as history:
        wanted = list(unique_ids)
        ti, dag_run = context.get("ti"), context.get("dag_run")
        if ti is not None and dag_run is not None and (ti.try_number or 1) > 1:
            since = dag_run.start_date.timestamp() if dag_run.start_date is not None else None
            wanted = not_succeeded_since(history, wanted, since)
            print(
                f"dbt-assets: try {ti.try_number}, running what has not succeeded yet: {len(wanted)} node(s)"
            )
        worker = running_worker(project) if warm else None
        run = start_run(project, command, unique_ids=wanted, history=history, worker=worker)
        run.wait_for_manifest = False  # the next task's run through the worker waits for it
        through = " (in the dbt-assets worker)" if worker is not None else ""
        print(f"dbt-assets: dbt {' '.join(run.plan.argv)}{through}")
        statuses: dict[str, str] = {}
        for event in run:
            if isinstance(event, AssetFinished):
                statuses[event.unique_id] = event.status
                print(
                    f"dbt-assets: {event.unique_id} {event.status}"
                    + (f": {event.message}" if event.message else "")
                )
        result = run.result
    assert result is not None
    if result.exit_code != 0:
        failed = ", ".join(r.unique_id for r in result.failures) or result.message or result.status
        raise RuntimeError(f"dbt {command} failed (dbt-assets run {result.run_id}): {failed}")
    return statuses


def plan_units(
    project: Project,
    select: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    command: str = "build",
    mode: Mode = "asset",
    groups: int = 4,
    history_path: str | Path | None = None,
) -> list[Unit]:
    """The tasks a selection becomes: one per asset (:func:`asset_units`) or at most
    ``groups`` balanced groups (:func:`group_units`)."""
    return _plan_units(project, project.graph(), select, exclude, command, mode, groups, history_path)


def _plan_units(
    project: Project,
    graph: AssetGraph,
    select: Sequence[str],
    exclude: Sequence[str],
    command: str,
    mode: Mode,
    groups: int,
    history_path: str | Path | None,
) -> list[Unit]:
    if mode not in ("asset", "group"):
        raise ValueError(f"mode must be 'asset' or 'group', not {mode!r}")
    if mode == "asset":
        return asset_units(
            graph, plan_selection(graph, command, Selection(select, exclude=exclude)).unique_ids
        )
    with open_history(project.project_dir, history_path) as history:
        return group_units(graph, command, select, exclude, groups, history)


def dbt_task_group(
    project: Project,
    select: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    command: str = "build",
    mode: Mode = "asset",
    groups: int = 4,
    group_id: str = "dbt",
    history_path: str | Path | None = None,
    retries: int = 0,
    retry_delay: timedelta = timedelta(seconds=0),
) -> TaskGroup:
    """A TaskGroup running ``dbt COMMAND`` for the selection; call it inside ``with DAG(...)``.
    See the module docstring."""
    graph = project.graph()
    units = _plan_units(project, graph, select, exclude, command, mode, groups, history_path)
    warm = mode == "asset"  # a task per asset would pay dbt's start-up per asset
    return _task_group(project, graph, units, command, group_id, history_path, retries, retry_delay, warm)


def _task_group(
    project: Project,
    graph: AssetGraph,
    units: Sequence[Unit],
    command: str,
    group_id: str,
    history_path: str | Path | None,
    retries: int,
    retry_delay: timedelta,
    warm: bool = False,
) -> TaskGroup:
    slas = declared_slas(graph)
    common: dict[str, Any] = {
        "project_dir": str(project.project_dir),
        "command": command,
        "profiles_dir": str(project.profiles_dir),
        "target": project.target,
        "dbt_executable": project.dbt_executable,
        "vars": project.vars,
        "history_path": None if history_path is None else str(history_path),
        "warm": warm,
    }
    with TaskGroup(group_id=group_id) as group:
        tasks: dict[str, PythonOperator] = {}
        for unit in units:
            built = [u for u in unit.unique_ids if is_materialized(graph, u)]
            read = sorted({p for u in built for p in materialized_parents(graph, u)} - set(built))
            tasks[unit.task_id] = PythonOperator(
                task_id=unit.task_id,
                python_callable=run_assets,
                op_kwargs={**common, "unique_ids": list(unit.unique_ids)},
                outlets=[airflow_asset(graph, u) for u in built],
                inlets=[airflow_asset(graph, u) for u in read],
                execution_timeout=_timeout(slas, built),
                retries=retries,
                retry_delay=retry_delay,
                doc_md=f"dbt {command}: "
                + ", ".join(unit.unique_ids[:50])
                + (f" and {len(unit.unique_ids) - 50} more" if len(unit.unique_ids) > 50 else ""),
            )
        for unit in units:
            for before in unit.after:
                tasks[before] >> tasks[unit.task_id]
    return group


def deadline_alerts(
    graph: AssetGraph,
    unique_ids: Sequence[str],
    schedule: str,
    *,
    timezone: str = "UTC",
    callback_kwargs: Mapping[str, Any] | None = None,
    ticks: int = 28,
    now: float | None = None,
) -> list[Any]:
    """Airflow deadline alerts for the SLA deadlines of ``unique_ids`` under a DAG with a cron
    ``schedule``: one per distinct distance from a scheduled run to the deadline, due that
    long after the run's logical date. A deadline that does not follow the schedule at a
    fixed distance (checked over the next ``ticks`` runs after ``now``) is left out with a
    warning."""
    from airflow.sdk.definitions.callback import SyncCallback
    from airflow.sdk.definitions.deadline import DeadlineAlert, DeadlineReference

    try:
        offsets, irregular = deadline_offsets(
            graph, unique_ids, schedule, timezone=timezone, ticks=ticks, now=now
        )
    except ScheduleError as exc:
        raise ValueError(f"schedule {schedule!r}: {exc}") from exc
    for message in irregular:
        warnings.warn(f"{message}; no Airflow deadline alert for it", stacklevel=2)
    by_interval = {timedelta(seconds=seconds): ids for seconds, ids in offsets.items()}
    return [
        DeadlineAlert(
            reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
            interval=interval,
            callback=SyncCallback(deadline_missed, kwargs={**(callback_kwargs or {}), "unique_ids": ids}),
            name=f"dbt-assets deadline {interval}",
        )
        for interval, ids in sorted(by_interval.items())
    ]


def deadline_missed(
    *,
    project_dir: str,
    unique_ids: list[str],
    history_path: str | None = None,
    notify_command: str | None = None,
    webhook: str | None = None,
    context: Any = None,
) -> list[dict[str, Any]]:
    """What a deadline alert calls: the SLAs of ``unique_ids`` judged now from the run history;
    those breached or at risk go to ``notify_command`` and ``webhook`` as ``dbt-assets sla
    check`` sends them. Returns every result as a dict; raises when a delivery failed."""
    import msgspec

    project = Project(project_dir)
    graph = project.graph()
    now = time.time()
    with open_history(project.project_dir, history_path) as history:
        results = check_slas(graph, history, unique_ids=unique_ids, at=now)
    for result in results:
        if result.status != "ok":
            print(f"dbt-assets SLA {result.status}: {result.unique_id} {result.sla}: {result.message}")
    deliveries = deliver(
        results, at=now, alert_on=("breached", "at_risk"), command=notify_command, webhook=webhook
    )
    failed = [d for d in deliveries if not d.ok]
    if failed:
        raise RuntimeError("; ".join(f"alert not delivered to {d.target}: {d.error}" for d in failed))
    return [msgspec.to_builtins(r) for r in results]


def dbt_dag(
    project: Project,
    select: Sequence[str] = (),
    *,
    dag_id: str = "dbt_assets",
    exclude: Sequence[str] = (),
    command: str = "build",
    mode: Mode = "asset",
    groups: int = 4,
    schedule: str | None = None,
    history_path: str | Path | None = None,
    retries: int = 0,
    retry_delay: timedelta = timedelta(seconds=0),
    notify_command: str | None = None,
    webhook: str | None = None,
    **dag_kwargs: Any,
) -> DAG:
    """A DAG with the selection's tasks (:func:`dbt_task_group`) and, when ``schedule`` is a
    cron expression, deadline alerts for its SLA deadlines (:func:`deadline_alerts`). Other
    keyword arguments go to ``DAG``. The manifest is read once per DAG parse."""
    graph = project.graph()
    units = _plan_units(project, graph, select, exclude, command, mode, groups, history_path)
    with DAG(dag_id, schedule=schedule, **dag_kwargs) as dag:
        warm = mode == "asset"
        _task_group(project, graph, units, command, "dbt", history_path, retries, retry_delay, warm)
    if isinstance(schedule, str) and "deadline" not in dag_kwargs:
        alerts = deadline_alerts(
            graph,
            [uid for unit in units for uid in unit.unique_ids],
            schedule,
            timezone=getattr(dag.timezone, "name", "UTC"),
            callback_kwargs={
                "project_dir": str(project.project_dir),
                "history_path": None if history_path is None else str(history_path),
                "notify_command": notify_command,
                "webhook": webhook,
            },
        )
        dag.deadline = alerts or None
    return dag
