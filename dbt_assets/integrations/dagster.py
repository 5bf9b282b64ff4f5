"""Dagster: the models, seeds and snapshots of a selection as Dagster assets, run by one
multi-asset that builds exactly the subset Dagster asks for.

    import dagster as dg
    from dbt_assets import Project
    from dbt_assets.integrations.dagster import dbt_assets_definition

    shop = dbt_assets_definition(Project("fixtures/dbt_project"), select=["downstream_of:orders"])
    defs = dg.Definitions(assets=[shop])

- keys: ``[name]`` (``[name, "v2"]`` for a version), sources ``[source_name, table]``;
  ephemeral models are not assets (their dependencies pass through them);
- deps, group (the dbt group, else the first folder), owners (e-mail addresses), dbt tags,
  description, ``kinds={"dbt"}``;
- tests attached to one asset become its asset checks (a failing test fails the check, a
  ``warn`` passes it with severity WARN);
- SLAs: a deadline becomes a cron freshness policy, else a freshness SLA of severity error a
  time-window freshness policy; all of the effective SLA is in the asset's metadata;
- materializing runs ``dbt build`` once for the selected assets and checks, through the
  exact compiler, recorded in the run history; a failure fails the Dagster run after every
  asset that did succeed was reported materialized.

Automation: :func:`automation_sensor` requests, on each evaluation, the assets that a
dbt-assets automation tick finds due (``automation_tick(..., dry_run=True)``), as a run of
the multi-asset above; with nothing due it skips and says why.
"""

import json
import re
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import dagster as dg

from dbt_assets import (
    AssetFinished,
    AssetGraph,
    Deadline,
    Project,
    RunOptions,
    Selection,
    Sla,
    declared_slas,
    group_of,
    is_materialized,
    materialized_parents,
    owners_of,
)
from dbt_assets._core.vocab import SUCCESS_STATUSES
from dbt_assets.api import automation_tick, list_assets, open_history, start_run, tick_options
from dbt_assets.integrations._ticks import due_lines, nothing_due, when

_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_TAG = re.compile(r"^[A-Za-z0-9_.-]{1,63}$")


def asset_key(graph: AssetGraph, unique_id: str) -> dg.AssetKey:
    """The Dagster key of a dbt asset."""
    record = graph.records[unique_id]
    if record.resource_type == "source":
        return dg.AssetKey([record.source_name or "source", record.name])
    if record.version is not None:
        return dg.AssetKey([record.name, f"v{record.version}"])
    return dg.AssetKey([record.name])


def _deps(graph: AssetGraph, unique_id: str) -> list[dg.AssetKey]:
    return [asset_key(graph, parent) for parent in materialized_parents(graph, unique_id)]


def freshness_policy(sla: Sla) -> dg.FreshnessPolicy | None:
    """A deadline as a cron policy (the data of each cycle, due at the deadline), else an
    error-severity freshness as a time-window policy."""
    if sla.deadline is not None:
        schedule = Deadline.parse(sla.deadline, sla.timezone)
        minutes, hours = sorted(schedule.minutes), sorted(schedule.hours)
        cron = sla.deadline if ":" not in sla.deadline else f"{minutes[0]} {hours[0]} * * *"
        due = schedule.latest(time.time())
        return dg.FreshnessPolicy.cron(
            deadline_cron=cron,
            lower_bound_delta=timedelta(seconds=due - schedule.before(due)),
            timezone=sla.timezone or "UTC",
        )
    if sla.freshness is not None and (sla.severity or "error") == "error":
        return dg.FreshnessPolicy.time_window(fail_window=timedelta(seconds=sla.freshness))
    return None


def asset_specs(
    graph: AssetGraph, unique_ids: Sequence[str]
) -> tuple[list[dg.AssetSpec], list[dg.AssetCheckSpec]]:
    """The Dagster specs of the materialized assets among ``unique_ids`` and the checks of
    their tests (tests among ``unique_ids`` attached to one of them)."""
    slas = declared_slas(graph)
    specs = []
    chosen = {u for u in unique_ids if is_materialized(graph, u)}
    for uid in sorted(chosen):
        record = graph.records[uid]
        group = group_of(record) or (record.fqn[1] if len(record.fqn) > 2 else None)
        sla = slas.get(uid)
        metadata: dict[str, object] = {"dbt_unique_id": uid, "dbt_resource_type": record.resource_type}
        if sla is not None:
            metadata["dbt_assets_sla"] = sla.model_dump(exclude_none=True)
        specs.append(
            dg.AssetSpec(
                asset_key(graph, uid),
                deps=_deps(graph, uid),
                description=record.description or None,
                metadata=metadata,
                skippable=True,
                group_name=group if group and _NAME.match(group) else None,
                owners=[o for o in owners_of(record, graph.manifest.groups) if "@" in o],
                tags={tag: "" for tag in record.tags if _TAG.match(tag)},
                kinds={"dbt"},
                freshness_policy=freshness_policy(sla) if isinstance(sla, Sla) else None,
            )
        )
    checks = []
    for uid in sorted(unique_ids):
        target = _checked(graph, uid)
        if target is not None and target in chosen:
            checks.append(
                dg.AssetCheckSpec(
                    _check_name(graph, uid),
                    asset=asset_key(graph, target),
                    description=graph.records[uid].description or None,
                )
            )
    return specs, checks


def _checked(graph: AssetGraph, unique_id: str) -> str | None:
    """The asset a test checks, when it checks exactly one."""
    record = graph.records[unique_id]
    if record.resource_type != "test":
        return None
    if record.attached_node:
        return record.attached_node
    parents = [p for p in record.depends_on.nodes if is_materialized(graph, p)]
    return parents[0] if len(parents) == 1 else None


def _check_name(graph: AssetGraph, unique_id: str) -> str:
    name = graph.records[unique_id].name
    return name if _NAME.match(name) else re.sub(r"[^A-Za-z0-9_]", "_", name)


def dbt_assets_definition(
    project: Project,
    select: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    name: str = "dbt_assets",
    history_path: str | Path | None = None,
    options: RunOptions | None = None,
) -> dg.AssetsDefinition:
    """One Dagster multi-asset for the selection (default: the whole project), running
    ``dbt build`` for whatever subset of its assets and checks Dagster selects."""
    graph = project.graph()
    chosen = list_assets(graph, Selection(select, exclude=exclude), command="build")
    specs, check_specs = asset_specs(graph, chosen)
    by_key = {asset_key(graph, u): u for u in chosen if is_materialized(graph, u)}
    assets = set(by_key.values())
    by_check = {
        dg.AssetCheckKey(asset_key(graph, target), _check_name(graph, u)): u
        for u in chosen
        if (target := _checked(graph, u)) is not None and target in assets
    }

    @dg.multi_asset(name=name, specs=specs, check_specs=check_specs, can_subset=True)
    def _build(
        context: dg.AssetExecutionContext,
    ) -> Iterator[dg.MaterializeResult[None] | dg.AssetCheckResult]:
        wanted = [by_key[k] for k in context.selected_asset_keys if k in by_key]
        wanted += [by_check[k] for k in context.selected_asset_check_keys if k in by_check]
        yield from _run(project, graph, wanted, by_key, by_check, history_path, options, context)

    return _build


def _run(
    project: Project,
    graph: AssetGraph,
    wanted: list[str],
    by_key: dict[dg.AssetKey, str],
    by_check: dict[dg.AssetCheckKey, str],
    history_path: str | Path | None,
    options: RunOptions | None,
    context: dg.AssetExecutionContext,
) -> Iterator[dg.MaterializeResult[None] | dg.AssetCheckResult]:
    keys = {uid: key for key, uid in by_key.items()}
    checks = {uid: key for key, uid in by_check.items()}
    with open_history(project.project_dir, history_path) as history:
        run = start_run(project, "build", unique_ids=wanted, history=history, options=options)
        context.log.info(f"dbt-assets run: dbt {' '.join(run.plan.argv)}")
        for event in run:
            if not isinstance(event, AssetFinished):
                continue
            metadata = _metadata(event)
            if event.unique_id in keys and event.status in SUCCESS_STATUSES:
                yield dg.MaterializeResult(asset_key=keys[event.unique_id], metadata=metadata)
            elif event.unique_id in checks and event.status in ("pass", "warn", "fail", "error"):
                check = checks[event.unique_id]
                yield dg.AssetCheckResult(
                    passed=event.status in ("pass", "warn"),
                    asset_key=check.asset_key,
                    check_name=check.name,
                    metadata=metadata,
                    severity=dg.AssetCheckSeverity.WARN
                    if event.status == "warn"
                    else dg.AssetCheckSeverity.ERROR,
                )
        result = run.result
    assert result is not None
    if result.exit_code != 0:
        failed = [r.unique_id for r in result.failures]
        raise dg.Failure(
            description=f"dbt build failed: {', '.join(failed) or result.message or result.status}",
            metadata={"dbt_assets_run_id": result.run_id, "failed": failed, "exit_code": result.exit_code},
        )


def _metadata(event: AssetFinished) -> dict[str, str | float | int]:
    found: dict[str, str | float | int] = {"dbt_status": event.status}
    if event.execution_time is not None:
        found["execution_time"] = event.execution_time
    if event.rows_affected is not None:
        found["rows_affected"] = event.rows_affected
    if event.failures is not None:
        found["failures"] = event.failures
    if event.message:
        found["message"] = event.message
    return found


AUTOMATION_TAG = "dbt_assets/automation"
"""The tag on every run the sensor requests (its value: the sensor's name)."""
_IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def automation_sensor(
    project: Project,
    assets: dg.AssetsDefinition,
    select: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    name: str = "dbt_assets_automation",
    minimum_interval_seconds: int = 60,
    history_path: str | Path | None = None,
    source_check_interval: float | None = None,
    check_sources: bool = True,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor that, on each evaluation, decides the selection's assets with a dbt-assets
    automation tick (a dry run: nothing recorded but a ``dbt source freshness`` check, at most
    every ``source_check_interval``) and requests a run of ``assets`` (the multi-asset of
    :func:`dbt_assets_definition`, built with the same selection) for the due assets and the
    checks the tick plans with them. Nothing due: it skips, saying why. While a run it
    requested is still queued or running, it waits for it (one automation run at a time).

    The decisions are Dagster's: the sensor's tick log, cursor and run tags say what was due
    and why; the dbt-assets history records the run (the multi-asset runs it), not the
    decisions (``automate --explain`` does not list them), so ``code_changed`` (which rebuilds
    what automation built when its code changed) never fires under the sensor."""
    options = tick_options(
        Selection(select, exclude=exclude),
        source_check_interval=source_check_interval,
        check_sources=check_sources,
    )
    keys = {str(spec.metadata["dbt_unique_id"]): spec.key for spec in assets.specs}
    check_keys = set(assets.check_keys)

    @dg.sensor(
        name=name,
        target=assets,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description="Requests the dbt assets a dbt-assets automation tick finds due "
        "(dbt's build_after, new source data, automate: keys, SLA deadlines); "
        "skips, saying why, when nothing is due.",
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        waiting = _requested_in_flight(context, name)
        if waiting:
            return dg.SensorResult(skip_reason=f"waiting for run {waiting}, requested earlier, to end")
        with open_history(project.project_dir, history_path) as history:
            tick = automation_tick(project, history, options=options, dry_run=True)
        due = sorted(tick.decisions.due)
        outside = [uid for uid in due if uid not in keys]
        summary = {"at": when(tick.at), "due": len(due), "outside_assets": outside[:20]}
        cursor = json.dumps(summary, separators=(",", ":"))
        for line in due_lines(tick):
            context.log.info(line)
        if outside:
            context.log.warning(
                f"due but not assets of {assets.node_def.name} (build it with the sensor's selection): "
                + ", ".join(outside[:20])
            )
        wanted = [keys[uid] for uid in due if uid in keys]
        if not wanted:
            why = nothing_due(tick) if not due else "nothing due among the assets: " + ", ".join(outside[:20])
            return dg.SensorResult(skip_reason=why, cursor=cursor)
        graph = tick.world.graph
        planned = tick.plan.unique_ids if tick.plan is not None else ()
        checks = [
            dg.AssetCheckKey(keys[target], _check_name(graph, uid))
            for uid in planned
            if (target := _checked(graph, uid)) in keys
        ]
        request = dg.RunRequest(
            asset_selection=wanted,
            asset_check_keys=[c for c in checks if c in check_keys],
            tags={AUTOMATION_TAG: name, f"{AUTOMATION_TAG}_at": when(tick.at)},
        )
        return dg.SensorResult(run_requests=[request], cursor=cursor)

    return _sensor


def _requested_in_flight(context: dg.SensorEvaluationContext, name: str) -> str | None:
    """A run this sensor requested that is queued or running, if any."""
    try:
        instance = context.instance
    except dg.DagsterInvariantViolationError:  # a context built in a test without an instance
        return None
    runs = instance.get_runs(filters=dg.RunsFilter(tags={AUTOMATION_TAG: name}, statuses=_IN_FLIGHT), limit=1)
    return runs[0].run_id if runs else None
