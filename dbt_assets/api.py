"""The front door: everything the CLI does is one of these calls first.

>>> from dbt_assets import load_graph, list_assets, describe_asset
>>> graph = load_graph(project_dir="fixtures/dbt_project")          # doctest: +SKIP
>>> list_assets(graph, ["orders"], resource_types=["model"])        # doctest: +SKIP
['model.shop.orders']
>>> describe_asset(graph, "orders").children                        # doctest: +SKIP
['model.shop.customers', ...]
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbt_assets.compile import Plan, plan
from dbt_assets.errors import SelectionError
from dbt_assets.graph import CHECK_RESOURCE_TYPES, AssetGraph
from dbt_assets.lineage import render_lineage
from dbt_assets.manifest import read_manifest
from dbt_assets.project import Project
from dbt_assets.selection import select
from dbt_assets.selection.spec import IndirectSelection

if TYPE_CHECKING:  # pydantic is imported only by the calls that return models
    from dbt_assets.alerts import Delivery
    from dbt_assets.asset import AssetDetail
    from dbt_assets.export import Export
    from dbt_assets.history import AssetStatus, History
    from dbt_assets.runner import Run, RunOptions, RunResult
    from dbt_assets.shard import ShardedPlan
    from dbt_assets.sla import SlaResult
    from dbt_assets.sla_config import Sla, SourceSla
    from dbt_assets.sla_explain import Explanation


def load_graph(
    *,
    project_dir: str | Path | None = None,
    manifest: str | Path | None = None,
    profiles_dir: str | Path | None = None,
    target: str | None = None,
    dbt_executable: str | None = None,
) -> AssetGraph:
    """The asset graph of a manifest file, or of a project (re-parsing a stale manifest).

    With ``manifest`` no project is needed; otherwise ``project_dir`` (default ``.``).
    """
    if manifest is not None:
        return AssetGraph(read_manifest(manifest))
    project = Project(
        project_dir or ".", profiles_dir=profiles_dir, target=target, dbt_executable=dbt_executable
    )
    return project.graph()


def list_assets(
    graph: AssetGraph,
    select_values: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    selector: str | None = None,
    resource_types: Collection[str] = (),
    exclude_resource_types: Collection[str] = (),
    indirect_selection: IndirectSelection = "eager",
    command: str = "ls",
    state: str | Path | None = None,
    history: History | None = None,
    models: Sequence[str] = (),
    unmatched: list[str] | None = None,
) -> list[str]:
    """Sorted unique_ids that ``dbt ls`` (or ``command``) would select with the same options.

    ``state`` is dbt's ``--state DIR`` (for ``state:``, ``result:``, ``source_status:``);
    ``history`` the run history ``status:`` and ``sla:`` read (default: the project's).
    ``models`` is ``dbt ls --models``: a selection among models only. The criteria that
    matched no node (dbt warns of each) are added to ``unmatched`` when it is given.

    >>> list_assets(graph, ["downstream_of:orders"], resource_types=["model"])   # doctest: +SKIP
    """
    if models:
        if select_values:
            raise SelectionError(
                '"models" and "select" are mutually exclusive arguments', "use --select alone"
            )
        if resource_types:
            raise SelectionError(
                '"models" and "resource_type" are mutually exclusive arguments',
                "use --select with --resource-type instead of --models",
            )
        # dbt ls --models lists models whatever --exclude-resource-type says
        select_values, resource_types, exclude_resource_types = models, ("model",), ()
    return select(
        graph,
        select_values,
        exclude=exclude,
        selector=selector,
        resource_types=resource_types,
        exclude_resource_types=exclude_resource_types,
        indirect_selection=indirect_selection,
        command=command,
        state=state,
        history=history,
        unmatched=unmatched,
    )


def describe_asset(graph: AssetGraph, name: str) -> AssetDetail:
    """Everything known about one asset (by name, ``name.vN``, ``source.table`` or unique_id)."""
    from dbt_assets.asset import AssetDetail

    uid = graph.find(name)
    sla = asset_sla(graph, uid)
    return AssetDetail(
        asset=graph.asset(uid),
        parents=graph.parents(uid),
        children=graph.children(uid),
        checks=graph.checks(uid),
        sla=None if sla is None else sla.model_dump(exclude_none=True),
    )


def lineage(
    graph: AssetGraph,
    select_values: Sequence[str] = (),
    *,
    fmt: str = "mermaid",
    include_checks: bool = False,
    expand: bool = True,
) -> str:
    """The lineage of a selection as Mermaid, dot or JSON.

    With no selection: every asset. With one: the selected assets and, when ``expand``,
    everything upstream and downstream of them. Tests are left out unless ``include_checks``.
    """
    if select_values:
        chosen = set(select(graph, select_values, indirect_selection="empty", resource_types=["all"]))
        if expand:
            for uid in list(chosen):
                chosen |= graph.upstream(uid) | graph.downstream(uid)
    else:
        chosen = set(graph.records)
    if include_checks:
        chosen |= {check for uid in list(chosen) for check in graph.checks(uid)}
    else:
        chosen = {u for u in chosen if graph.records[u].resource_type not in CHECK_RESOURCE_TYPES}
    return render_lineage(graph, chosen, fmt)


def plan_selection(
    graph: AssetGraph,
    command: str,
    select_values: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    selector: str | None = None,
    resource_types: Collection[str] = (),
    exclude_resource_types: Collection[str] = (),
    indirect_selection: IndirectSelection = "eager",
    unique_ids: Iterable[str] | None = None,
    state: str | Path | None = None,
    history: History | None = None,
) -> Plan:
    """What ``dbt COMMAND`` would run for a selection (or explicit unique_ids), and the exact
    dbt argv that selects it.

    >>> plan_selection(graph, "run", ["downstream_of:orders"]).argv      # doctest: +SKIP
    ('run', '--select', 'orders+')
    """
    return plan(
        graph,
        command,
        select_values,
        exclude=exclude,
        selector=selector,
        resource_types=resource_types,
        exclude_resource_types=exclude_resource_types,
        indirect_selection=indirect_selection,
        unique_ids=unique_ids,
        state=state,
        history=history,
    )


def open_history(
    project_dir: str | Path = ".", path: str | Path | None = None, *, create: bool = True
) -> History:
    """The run history of a project: ``path``, ``$DBT_ASSETS_HISTORY``, else
    ``<project>/.dbt-assets/history.db`` (created and migrated as needed)."""
    from dbt_assets.history import History, history_path

    return History.open(history_path(Path(project_dir), path), create=create)


def start_run(
    project: Project,
    command: str,
    select_values: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    selector: str | None = None,
    resource_types: Collection[str] = (),
    exclude_resource_types: Collection[str] = (),
    indirect_selection: IndirectSelection = "eager",
    unique_ids: Iterable[str] | None = None,
    options: RunOptions | None = None,
    history: History | None = None,
    state: str | Path | None = None,
) -> Run:
    """A run of ``dbt COMMAND`` for a selection, ready to iterate for its events.

    >>> run = start_run(Project("fixtures/dbt_project"), "run", ["downstream_of:orders"])  # doctest: +SKIP
    >>> for event in run: ...                                                            # doctest: +SKIP
    >>> run.result.exit_code                                                             # doctest: +SKIP
    0
    """
    from dbt_assets.runner import Run

    graph = project.graph()
    ids = None if unique_ids is None else list(unique_ids)
    planned = plan(
        graph,
        command,
        select_values,
        exclude=exclude,
        selector=selector,
        resource_types=resource_types,
        exclude_resource_types=exclude_resource_types,
        indirect_selection=indirect_selection,
        unique_ids=ids,
        state=state,
        history=history,
    )
    selection: dict[str, object] = {
        key: list(value)
        for key, value in (
            ("select", select_values),
            ("exclude", exclude),
            ("resource_type", sorted(resource_types)),
            ("exclude_resource_type", sorted(exclude_resource_types)),
        )
        if value
    }
    selection.update({"selector": selector} if selector else {})
    selection.update({"indirect_selection": indirect_selection} if indirect_selection != "eager" else {})
    selection.update({"select_ids": len(ids)} if ids is not None else {})
    selection.update({"state": str(state)} if state is not None else {})
    return Run(project, graph, planned, options, history=history, selection=selection)


def retry_run(
    project: Project,
    history: History,
    run_id: int | None = None,
    *,
    options: RunOptions | None = None,
) -> Run:
    """A run that re-runs what did not succeed in run ``run_id`` (default: the newest run):
    its failed assets, those skipped because of them, and any it never reached. The
    original dbt flags are used again (``options`` adds to them); only the history and a
    manifest are needed, not dbt's ``target/`` of that run.
    """
    from dbt_assets.errors import RunError
    from dbt_assets.runner import Run, RunOptions, retry_ids

    record = history.run(run_id)
    results = {r.unique_id: r.status for r in history.results(record.run_id)}
    wanted = retry_ids(record.unique_ids or sorted(results), results)
    if not wanted:
        raise RunError(
            f"run {record.run_id} ({record.command}) has nothing to retry: every asset succeeded",
            "`dbt-assets history show RUN_ID` shows a run's assets",
        )
    graph = project.graph()
    gone = [uid for uid in wanted if uid not in graph]
    if gone:
        names = ", ".join(gone[:5]) + (" ..." if len(gone) > 5 else "")
        print(
            f"dbt-assets: not retrying {len(gone)} asset(s) no longer in the project: {names}",
            file=sys.stderr,
        )
    present = [uid for uid in wanted if uid in graph]
    if not present:
        raise RunError(f"none of the assets to retry from run {record.run_id} exist in the project any more")
    given = options or RunOptions()
    merged = RunOptions(
        extra_args=(*record.flags, *given.dbt_flags()), timeout=given.timeout, cancel_grace=given.cancel_grace
    )
    planned = plan(graph, record.command, unique_ids=present)
    return Run(project, graph, planned, merged, history=history, selection={"retry_of": record.run_id})


def asset_statuses(
    graph: AssetGraph, history: History, unique_ids: Iterable[str]
) -> list[tuple[str, AssetStatus | None]]:
    """Each asset with what the history says about it (None: never run)."""
    ids = list(unique_ids)
    known = history.asset_statuses(ids)
    return [(uid, known.get(uid)) for uid in ids]


# --- SLAs ---------------------------------------------------------------------------------


def _chosen(
    graph: AssetGraph,
    select_values: Sequence[str],
    exclude: Sequence[str],
    history: History | None,
    at: float | None = None,
) -> list[str] | None:
    """The assets a selection names exactly (every resource type, no tests added), or None
    for "all" when nothing is selected or excluded."""
    if not select_values and not exclude:
        return None
    return select(
        graph,
        select_values,
        exclude=exclude,
        resource_types=["all"],
        indirect_selection="empty",
        history=history,
        at=at,
    )


def asset_sla(graph: AssetGraph, name: str) -> Sla | SourceSla | None:
    """The effective SLA of one asset: its own YAML over ``dbt_assets.yml``, key by key
    (durations in seconds); for a source, dbt's freshness. None when it has none."""
    from dbt_assets.sla import declared_slas

    return declared_slas(graph).get(graph.find(name))


def check_slas(
    graph: AssetGraph,
    history: History,
    select_values: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
    at: float | None = None,
) -> list[SlaResult]:
    """Every SLA of the selected assets (default: every asset with an SLA) judged from the
    run history as of ``at`` (epoch seconds, default now), by asset then SLA kind.

    >>> results = check_slas(graph, history, ["tag:finance"])          # doctest: +SKIP
    >>> [(r.unique_id, r.sla, r.status) for r in results]             # doctest: +SKIP
    [('model.shop.order_revenue_daily', 'freshness', 'ok'), ...]
    """
    import time

    from dbt_assets.sla import judge

    ids = _chosen(graph, select_values, exclude, history, at)
    when = at if at is not None else time.time()
    return judge(graph, history.facts(at), when, unique_ids=ids)


def explain_sla(graph: AssetGraph, history: History, name: str, *, at: float | None = None) -> Explanation:
    """Why an asset's SLA is breached or at risk: its SLA results, its last run, and the
    upstream assets that failed or are late (nearest first, root causes marked)."""
    from dbt_assets.sla_explain import explain

    return explain(graph, history.facts(at), at, graph.find(name))


def run_slas(graph: AssetGraph, history: History, result: RunResult) -> list[SlaResult]:
    """The SLAs of the assets a run touched, judged right after it: which it met or missed."""
    from dbt_assets.sla import judge

    return judge(graph, history.facts(), result.finished_at, unique_ids=result.results)


def check_source_freshness(
    project: Project, history: History, select_values: Sequence[str] = ()
) -> int | None:
    """Run ``dbt source freshness`` and record its results (the facts of source SLAs);
    the run id, or None when dbt's invocation was recorded already."""
    from dbt_assets.source_freshness import record_source_freshness

    return record_source_freshness(project, history, select_values)


def export(
    graph: AssetGraph,
    history: History | None = None,
    select_values: Sequence[str] = (),
    *,
    exclude: Sequence[str] = (),
) -> Export:
    """Every selected asset (default: all) with its lineage, effective SLA and, from the run
    history, its last result: ``dbt-assets export --format json``.

    >>> export(graph, history).model_dump_json()      # doctest: +SKIP
    """
    from dbt_assets.export import export_assets

    return export_assets(graph, history, _chosen(graph, select_values, exclude, history))


def shard_selection(
    graph: AssetGraph,
    command: str,
    select_values: Sequence[str] = (),
    k: int = 2,
    *,
    exclude: Sequence[str] = (),
    selector: str | None = None,
    resource_types: Collection[str] = (),
    exclude_resource_types: Collection[str] = (),
    indirect_selection: IndirectSelection = "eager",
    state: str | Path | None = None,
    history: History | None = None,
    threads: int = 4,
) -> ShardedPlan:
    """What ``dbt COMMAND`` would run for a selection, split into at most ``k`` groups that
    respect dependencies and balance the history's execution times, each with exact dbt
    arguments, and the predicted makespan against one invocation.

    >>> [s.plan.argv for s in shard_selection(graph, "build", ["tag:finance+"], 3).shards]  # doctest: +SKIP
    """
    from dbt_assets.shard import shard

    planned = plan(
        graph,
        command,
        select_values,
        exclude=exclude,
        selector=selector,
        resource_types=resource_types,
        exclude_resource_types=exclude_resource_types,
        indirect_selection=indirect_selection,
        state=state,
        history=history,
    )
    return shard(graph, planned, k, history.facts() if history is not None else {}, threads=threads)


def openlineage_events(
    graph: AssetGraph, history: History, run_id: int | None = None, *, namespace: str = "dbt-assets"
) -> list[dict[str, Any]]:
    """The OpenLineage run events (spec 2-0-2) of a recorded run (default: the newest): a
    parent run for the dbt invocation, a START and an end event per asset (see
    :mod:`dbt_assets.openlineage`).

    >>> emit_openlineage(openlineage_events(graph, history), "lineage.jsonl")   # doctest: +SKIP
    """
    from dbt_assets.openlineage import run_events

    record = history.run(run_id)
    return run_events(
        graph, record, history.results(record.run_id), namespace=namespace, project_dir=record.project_dir
    )


def emit_openlineage(events: Sequence[dict[str, Any]], target: str) -> list[Delivery]:
    """Send OpenLineage events to an http(s) URL (one POST each, retried like a webhook) or
    append them to a file as JSON lines; how each delivery went."""
    from dbt_assets.openlineage import emit

    return emit(events, target)
