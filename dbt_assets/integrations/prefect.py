"""Prefect: a flow that runs a selection as one dbt invocation and reports every asset as its
own task run, a Prefect asset materialization with its upstream assets as lineage.

    from dbt_assets import Project
    from dbt_assets.integrations.prefect import dbt_flow

    shop = dbt_flow(Project("fixtures/dbt_project"), ["downstream_of:orders"], retries=2)
    shop()

- asset keys: ``dbt://<package>/<resource type>/<name>`` (sources ``.../source/<source>.<table>``);
- each finished model, seed or snapshot becomes a task run named after it: Completed when
  dbt succeeded, Failed (with dbt's message) when it failed; skipped or cancelled assets
  have none (Prefect has no state that says "not run because of another");
- the flow fails when dbt does; a flow retry re-runs only what did not succeed in the
  attempt before (failed assets and those skipped because of them, through the exact
  compiler, from the run history), not the whole selection.

Automation: :func:`automation_flow` is a flow that does one dbt-assets automation tick and
runs what is due, to deploy on an interval::

    automation_flow(Project("fixtures/dbt_project")).serve(name="shop", interval=300, global_limit=1)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prefect import Flow, State, flow, get_run_logger
from prefect.assets import Asset, AssetProperties, materialize
from prefect.runtime import flow_run
from prefect.states import Completed

from dbt_assets import (
    AssetFinished,
    AssetGraph,
    Project,
    Run,
    RunOptions,
    Selection,
    is_materialized,
    materialized_parents,
    owners_of,
)
from dbt_assets._core.vocab import FAILURE_STATUSES, SUCCESS_STATUSES
from dbt_assets.api import automation_tick, open_history, retry_run, start_run, tick_options
from dbt_assets.integrations._ticks import due_lines, nothing_due


def prefect_asset(graph: AssetGraph, unique_id: str) -> Asset:
    """The Prefect asset of a dbt asset."""
    record = graph.records[unique_id]
    name = f"{record.source_name}.{record.name}" if record.resource_type == "source" else record.search_name
    owners = [o for o in owners_of(record, graph.manifest.groups) if "@" in o]
    return Asset(
        key=f"dbt://{record.package_name}/{record.resource_type}/{name}",
        properties=AssetProperties(name=name, description=record.description or None, owners=owners or None),
    )


def _upstream(graph: AssetGraph, unique_id: str) -> list[Asset | str]:
    """The Prefect assets an asset reads, through ephemeral models."""
    return [prefect_asset(graph, parent) for parent in materialized_parents(graph, unique_id)]


def _report(graph: AssetGraph, event: AssetFinished) -> None:
    """One task run for one asset's result: a materialization of its Prefect asset."""

    @materialize(
        prefect_asset(graph, event.unique_id),
        by="dbt",
        asset_deps=_upstream(graph, event.unique_id),
        name=graph.records[event.unique_id].search_name,
    )
    def dbt_asset(status: str, message: str | None, seconds: float | None) -> dict[str, Any]:
        if status not in SUCCESS_STATUSES:
            raise RuntimeError(f"dbt {status}: {message or 'no message'}")
        return {"status": status, "execution_time": seconds}

    dbt_asset(event.status, event.message, event.execution_time, return_state=True)


def dbt_flow(
    project: Project,
    select: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    command: str = "build",
    name: str = "dbt-assets",
    retries: int = 0,
    retry_delay_seconds: float = 0,
    history_path: str | Path | None = None,
    options: RunOptions | None = None,
) -> Flow[[], dict[str, str]]:
    """A Prefect flow running ``dbt COMMAND`` for the selection once; it returns each asset's
    dbt status and fails when dbt failed. See the module docstring."""
    graph = project.graph()
    attempts: dict[str, int] = {}  # flow run id -> the dbt-assets run of its last attempt

    @flow(name=name, retries=retries, retry_delay_seconds=retry_delay_seconds)
    def run_dbt_assets() -> dict[str, str]:
        this_run = str(flow_run.id)
        with open_history(project.project_dir, history_path) as history:
            run: Run
            if this_run in attempts:  # a retry: only what did not succeed last time
                run = retry_run(project, history, attempts[this_run], options=options)
                for notice in run.notices:
                    get_run_logger().warning("dbt-assets: %s", notice)
            else:
                run = start_run(
                    project, command, Selection(select, exclude=exclude), history=history, options=options
                )
            statuses = _run_reported(graph, run)
            result = run.result
        assert result is not None
        if result.run_id is not None:
            attempts[this_run] = result.run_id
        if result.exit_code != 0:
            failed = ", ".join(r.unique_id for r in result.failures) or result.message or result.status
            raise RuntimeError(f"dbt {command} failed (dbt-assets run {result.run_id}): {failed}")
        return statuses

    return run_dbt_assets


def _run_reported(graph: AssetGraph, run: Run) -> dict[str, str]:
    """Run ``run`` to its end, each finished model, seed or snapshot reported as a task run;
    each asset's dbt status."""
    statuses: dict[str, str] = {}
    for event in run:
        if isinstance(event, AssetFinished) and graph.records.get(event.unique_id) is not None:
            statuses[event.unique_id] = event.status
            reported = event.status in SUCCESS_STATUSES | FAILURE_STATUSES
            if reported and is_materialized(graph, event.unique_id):
                _report(graph, event)
    return statuses


def automation_flow(
    project: Project,
    select: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    name: str = "dbt-assets-automation",
    history_path: str | Path | None = None,
    source_check_interval: float | None = None,
    check_sources: bool = True,
    tests: bool = True,
    options: RunOptions | None = None,
) -> Flow[[], dict[str, str] | State[dict[str, str]]]:
    """A flow that does one dbt-assets automation tick over the selection (default: the whole
    project) and runs what is due as one dbt invocation, the tick's decisions recorded in the
    run history with the run's start; each built asset reported as :func:`dbt_flow` reports
    them. It returns each due asset's dbt status and fails when an asset failed; with nothing
    due it completes with the reason as its state's message. Serve or deploy it on an interval,
    one flow run at a time (``serve(..., global_limit=1)``, a deployment concurrency limit of
    1: a second tick while a run goes on leaves that run's assets alone but would start the
    others beside it). A failed asset is tried again by its ``retry`` condition at a later
    tick, not by a flow retry."""
    tick_opts = tick_options(
        Selection(select, exclude=exclude),
        source_check_interval=source_check_interval,
        check_sources=check_sources,
        tests=tests,
        run_options=options,
    )

    @flow(name=name)
    def automation_tick_flow() -> dict[str, str] | State[dict[str, str]]:
        logger = get_run_logger()
        with open_history(project.project_dir, history_path) as history:
            tick = automation_tick(project, history, options=tick_opts)
            for line in due_lines(tick):
                logger.info("dbt-assets: %s", line)
            if tick.run is None:
                why = nothing_due(tick)
                logger.info("dbt-assets: %s", why)
                return Completed(message=why, data={})
            logger.info("dbt-assets run: dbt %s", " ".join(tick.run.plan.argv))
            statuses = _run_reported(tick.world.graph, tick.run)
            result = tick.run.result
        assert result is not None
        if result.exit_code != 0:
            failed = ", ".join(r.unique_id for r in result.failures) or result.message or result.status
            raise RuntimeError(f"dbt build failed (dbt-assets run {result.run_id}): {failed}")
        return statuses

    return automation_tick_flow
