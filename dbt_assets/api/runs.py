"""Runs and their history: opening the history, starting a run, retrying one, what the
history says of each asset, and dbt's source freshness recorded."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dbt_assets._core.vocab import FAILURE_STATUSES, SUCCESS_STATUSES
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import plan
from dbt_assets.run.project import Project
from dbt_assets.selection.request import Selected, Selection

if TYPE_CHECKING:  # pydantic is imported only by the calls that return models
    from dbt_assets.history.schema import AssetStatus
    from dbt_assets.history.store import History
    from dbt_assets.run.invocation import RunOptions, RunResult
    from dbt_assets.run.runner import Run


def open_history(
    project_dir: str | Path = ".", path: str | Path | None = None, *, create: bool = True
) -> History:
    """The run history of a project: ``path``, ``$DBT_ASSETS_HISTORY``, else
    ``<project>/.dbt-assets/history.db`` (created and migrated as needed; runs whose
    dbt-assets process was killed are recovered)."""
    from dbt_assets.history.recovery import open_history as open_store
    from dbt_assets.history.schema import history_path

    return open_store(history_path(Path(project_dir), path), create=create)


def start_run(
    project: Project,
    command: str,
    selection: Selected = (),
    *,
    unique_ids: Iterable[str] | None = None,
    options: RunOptions | None = None,
    history: History | None = None,
) -> Run:
    """A run of ``dbt COMMAND`` for a selection (a :class:`Selection`, or ``--select``
    values) or explicit ``unique_ids``, ready to iterate for its events.

    >>> run = start_run(Project("fixtures/dbt_project"), "run", ["downstream_of:orders"])  # doctest: +SKIP
    >>> for event in run: ...                                                            # doctest: +SKIP
    >>> run.result.exit_code                                                             # doctest: +SKIP
    0
    """
    from dbt_assets.run.runner import Run

    graph = project.graph()
    chosen = Selection.of(selection)
    ids = None if unique_ids is None else list(unique_ids)
    planned = plan(graph, command, chosen, unique_ids=ids, history=history)
    recorded = chosen.record() | ({"select_ids": len(ids)} if ids is not None else {})
    return Run(project, graph, planned, options, history=history, selection=recorded)


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
    manifest are needed, not dbt's ``target/`` of that run. Assets no longer in the project
    are left out, and said so in ``Run.notices``.
    """
    from dbt_assets._core.errors import RunError
    from dbt_assets.run.invocation import RunOptions
    from dbt_assets.run.runner import Run, retry_ids

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
    present = [uid for uid in wanted if uid in graph]
    if not present:
        raise RunError(f"none of the assets to retry from run {record.run_id} exist in the project any more")
    given = options or RunOptions()
    merged = RunOptions(
        extra_args=(*record.flags, *given.dbt_flags()), timeout=given.timeout, cancel_grace=given.cancel_grace
    )
    planned = plan(graph, record.command, unique_ids=present)
    run = Run(project, graph, planned, merged, history=history, selection={"retry_of": record.run_id})
    if gone:
        names = ", ".join(gone[:5]) + (" ..." if len(gone) > 5 else "")
        run.notices.append(f"not retrying {len(gone)} asset(s) no longer in the project: {names}")
    return run


def asset_statuses(
    graph: AssetGraph, history: History, unique_ids: Iterable[str]
) -> list[tuple[str, AssetStatus | None]]:
    """Each asset with what the history says about it (None: never run)."""
    ids = list(unique_ids)
    known = history.asset_statuses(ids)
    return [(uid, known.get(uid)) for uid in ids]


def check_source_freshness(
    project: Project, history: History, select_values: Sequence[str] = ()
) -> int | None:
    """Run ``dbt source freshness`` and record its results (the facts of source SLAs);
    the run id, or None when dbt's invocation was recorded already."""
    from dbt_assets.history.freshness import record_source_freshness

    return record_source_freshness(project, history, select_values)


def not_succeeded_since(history: History, unique_ids: Sequence[str], since: float | None) -> list[str]:
    """The assets without a success since ``since`` (epoch seconds): what a retried task of an
    orchestrator runs again. All of them when every one has succeeded since (the task was
    cleared to run again, not retried) or when ``since`` is None."""
    if since is None:
        return list(unique_ids)
    statuses = history.asset_statuses(unique_ids)
    done = {
        uid
        for uid, status in statuses.items()
        if status.last_success_at is not None
        and status.last_success_at >= since
        and status.last_status in SUCCESS_STATUSES
    }
    left = [uid for uid in unique_ids if uid not in done]
    return left or list(unique_ids)


_EXPLAINED = 20
"""How many failures of a run ``next_steps`` explains (failures downstream of one root share it)."""
_CODE_ERRORS = ("Compilation Error", "Parsing Error", "Parser Error", "Binder Error", "syntax error")
"""Failures a retry repeats: the SQL or the project must change first."""


def next_steps(graph: AssetGraph, history: History, result: RunResult) -> list[str]:
    """What to do after a run that did not succeed, honestly: build what its failures need and
    was never built here, fix an error a retry would repeat, or retry (a failure that may pass
    next time). Empty after a success."""
    from dbt_assets.sla.explain import explain

    failed = [r for r in result.results.values() if r.status in FAILURE_STATUSES]
    if not failed or result.run_id is None:
        return []
    facts = history.facts()
    builds: dict[str, None] = {}
    for finished in failed[:_EXPLAINED]:  # each is a judgement of its upstream: a bounded few
        if finished.unique_id not in graph.records:
            continue
        for cause in explain(graph, facts, None, finished.unique_id).causes:
            if cause.root and cause.fix.startswith("dbt-assets build"):
                builds[cause.fix.split("  (")[0]] = None
    retry = f"dbt-assets retry {result.run_id}"
    if builds:
        return [
            f"upstream assets were never built here; build them first: {command}" for command in builds
        ] + [f"then re-run what did not succeed: {retry}"]
    if all(any(code in (r.message or "") for code in _CODE_ERRORS) for r in failed):
        return [f"a retry would fail the same way: fix the error above, then: {retry}"]
    return [f"re-run what did not succeed with: {retry}"]
