"""Runs and their history: opening the history, starting a run, retrying one, what the
history says of each asset, and dbt's source freshness recorded."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dbt_assets._core.vocab import FAILURE_STATUSES, SUCCESS_STATUSES
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import plan
from dbt_assets.run.project import Project
from dbt_assets.selection.request import Selected, Selection

if TYPE_CHECKING:  # pydantic is imported only by the calls that return models
    from dbt_assets.history.facts import AssetFacts
    from dbt_assets.history.schema import AssetStatus
    from dbt_assets.history.store import History
    from dbt_assets.run.invocation import RunOptions, RunResult
    from dbt_assets.run.runner import Run
    from dbt_assets.run.warehouse import Preflight
    from dbt_assets.run.worker import DbtWorker, Worker


def open_history(
    project_dir: str | Path = ".",
    path: str | Path | None = None,
    *,
    create: bool = True,
    lock_timeout: float | None = None,
) -> History:
    """The run history of a project: ``path``, ``$DBT_ASSETS_HISTORY``, else
    ``<project>/.dbt-assets/history.db`` (created and migrated as needed; runs whose
    dbt-assets process was killed are recovered). A write waits at most ``lock_timeout``
    seconds for another process that holds the history (default ``$DBT_ASSETS_LOCK_TIMEOUT``,
    else 120), saying after a few seconds what it waits for."""
    from dbt_assets.history.recovery import open_history as open_store
    from dbt_assets.history.schema import history_path

    return open_store(history_path(Path(project_dir), path), create=create, lock_timeout=lock_timeout)


def start_run(
    project: Project,
    command: str,
    selection: Selected = (),
    *,
    unique_ids: Iterable[str] | None = None,
    options: RunOptions | None = None,
    history: History | None = None,
    worker: DbtWorker | None = None,
) -> Run:
    """A run of ``dbt COMMAND`` for a selection (a :class:`Selection`, or ``--select``
    values) or explicit ``unique_ids``, ready to iterate for its events. With ``worker`` (see
    :func:`open_worker`), dbt runs in that warm process instead of a new dbt CLI process.

    >>> run = start_run(Project("fixtures/dbt_project"), "run", ["downstream_of:orders"])  # doctest: +SKIP
    >>> for event in run: ...                                                            # doctest: +SKIP
    >>> run.result.exit_code                                                             # doctest: +SKIP
    0
    """
    from dbt_assets.run.runner import Run

    if worker is not None:
        worker.prepare(project)  # a stale manifest is parsed there, not by a new dbt
    graph = project.graph()
    chosen = Selection.of(selection)
    ids = None if unique_ids is None else list(unique_ids)
    planned = plan(graph, command, chosen, unique_ids=ids, history=history)
    recorded = chosen.record() | ({"select_ids": len(ids)} if ids is not None else {})
    run = Run(project, graph, planned, options, history=history, selection=recorded, worker=worker)
    if command != "test":  # dbt test builds nothing; a missing relation fails its own tests
        run.notices.extend(preflight_notices(project, graph, planned.unique_ids, history))
    return run


def open_worker(project: Project, *, memory_cap_mb: float | None = None) -> Worker:
    """A dbt kept warm for ``project``, started (dbt imported, the project parsed): pass it to
    :func:`start_run` and :func:`retry_run`, and close it (or use it in a ``with`` block). A
    one-model run then costs a fraction of a second instead of dbt's start-up; the runs, their
    events and their history are the same. It is replaced when the project changes, after a
    cancel or a crash, and past ``memory_cap_mb`` (default 1024). ``DBT_ASSETS_NO_WARM=1``
    turns it off: runs then start the dbt CLI.

    >>> with open_worker(Project("fixtures/dbt_project")) as worker:                  # doctest: +SKIP
    ...     start_run(project, "run", ["orders"], worker=worker).run().status
    'success'
    """
    from dbt_assets.run.worker import MEMORY_CAP_MB, Worker

    cap = MEMORY_CAP_MB if memory_cap_mb is None else memory_cap_mb
    return Worker(project, memory_cap_mb=cap).open()


def running_worker(project: Project) -> DbtWorker | None:
    """The ``dbt-assets worker`` serving ``project`` (its dbt executable included) on this
    host, if one is running and warm workers are not turned off; else None (runs then start
    the dbt CLI). What the CLI's run commands and the Airflow adapter use."""
    from dbt_assets.run.worker import warm_disabled
    from dbt_assets.run.worker_socket import connect

    return None if warm_disabled() else connect(project)


def missing_upstream(
    project: Project,
    unique_ids: Iterable[str],
    history: History | None = None,
    graph: AssetGraph | None = None,
) -> Preflight:
    """Before a run of ``unique_ids``: what it reads that the warehouse does not hold. The
    assets outside it that dbt materializes, that never succeeded in ``history`` and whose
    relation is missing (with the assets of the run that read each), and the sources whose
    relation is missing (with the seed or model of the project that writes it, if any). The
    warehouse is asked only when some asset involved has no recorded success, and only where it
    can be read directly (DuckDB); elsewhere nothing is reported."""
    from dbt_assets.run.warehouse import preflight

    def built(ids: Iterable[str]) -> set[str]:
        if history is None:
            return set()
        return {uid for uid, s in history.asset_statuses(ids).items() if s.last_success_at is not None}

    return preflight(graph if graph is not None else project.graph(), unique_ids, built, project)


def preflight_notices(
    project: Project, graph: AssetGraph, unique_ids: Iterable[str], history: History | None
) -> list[str]:
    """What to say before a run that reads what the warehouse lacks (see
    :func:`missing_upstream`): what is missing, what reads it, and the commands that build it."""
    chosen = set(unique_ids)
    found = missing_upstream(project, chosen, history, graph)
    said: list[str] = []
    commands: list[str] = []
    writers = sorted({w for w in found.unloaded.values() if w is not None and w not in chosen})
    if writers:
        sources = [_name(graph, s) for s, w in found.unloaded.items() if w in writers]
        them = "it" if len(sources) == 1 else "them"
        said.append(
            f"{_names(sources)}: the warehouse has no table for {them} yet, and "
            f"{_names([_name(graph, w) for w in writers])} of this project "
            f"write{'s' if len(writers) == 1 else ''} {them}"
        )
        commands.append(_seed_command(graph, writers))
    racing = sorted({w for w in found.unloaded.values() if w is not None and w in chosen})
    if racing:  # this run writes them, but dbt may test the sources before
        sources = [_name(graph, s) for s, w in found.unloaded.items() if w in racing]
        them = "it" if len(sources) == 1 else "them"
        said.append(
            f"{_names(sources)}: the warehouse has no table for {them} yet; this run's "
            f"{_names([_name(graph, w) for w in racing])} write{'s' if len(racing) == 1 else ''} {them}, "
            "but dbt does not order a source's tests after them: should those fail, "
            f"{_seed_command(graph, racing)} first, then this again"
        )
    unloaded = [_name(graph, s) for s, w in found.unloaded.items() if w is None]
    if unloaded:
        has = "has" if len(unloaded) == 1 else "have"
        said.append(
            f"{_names(unloaded)} {has} no table in the warehouse: load it before running what reads it"
        )
    if found.unbuilt:
        readers = sorted({graph.records[r].search_name for rs in found.unbuilt.values() for r in rs})
        said.append(
            f"{_names([graph.records[u].search_name for u in found.unbuilt])} never succeeded here and "
            f"{'is' if len(found.unbuilt) == 1 else 'are'} not in the warehouse, and this run's "
            f"{_names(readers)} read{'s' if len(readers) == 1 else ''} "
            f"{'it' if len(found.unbuilt) == 1 else 'them'}"
        )
        if rest := set(found.unbuilt) - set(writers):
            commands.append(_plus_command(graph, rest))
    if commands:
        said.append("this run will fail on them; first: " + ", then ".join(commands))
    return said


def _name(graph: AssetGraph, unique_id: str) -> str:
    """``seed raw_orders``, ``source shop.orders``, ``model customer_segments.v2``."""
    record = graph.records[unique_id]
    return f"{record.resource_type} {record.search_name}"


def _names(names: Sequence[str]) -> str:
    """At most a few names, then how many more."""
    shown = ", ".join(names[:_NAMED])
    return shown + (f" and {len(names) - _NAMED} more" if len(names) > _NAMED else "")


_NAMED = 5
"""How many assets a notice names before it says how many more."""


def build_command(graph: AssetGraph, unique_ids: Iterable[str], facts: Mapping[str, AssetFacts]) -> str:
    """The commands that build these assets and everything they need, after the seeds (or
    models) of the project that write the tables of the sources they read, when those never
    succeeded here: dbt does not order a source after the seed that loads it."""
    from dbt_assets.run.warehouse import source_writers

    wanted = set(unique_ids)
    sources = [uid for uid in sorted(graph.reach_up(wanted)) if graph.records[uid].resource_type == "source"]
    writers = sorted(
        {w for w in source_writers(graph, sources).values() if w is not None and not _succeeded(facts.get(w))}
    )
    first = f"{_seed_command(graph, writers)}, then " if writers else ""
    return first + _plus_command(graph, wanted)


def _plus_command(graph: AssetGraph, unique_ids: set[str]) -> str:
    """``build -s +X`` of each asset that is not upstream of another (whose ``+`` builds it)."""
    nearest = sorted(unique_ids - graph.reach_up(unique_ids))
    return "dbt-assets build -s " + " ".join(f"+{graph.records[uid].search_name}" for uid in nearest)


def _seed_command(graph: AssetGraph, writers: Sequence[str]) -> str:
    return "dbt-assets build -s " + " ".join(graph.records[w].search_name for w in writers)


def _succeeded(facts: AssetFacts | None) -> bool:
    return facts is not None and facts.last_success_at is not None


def retry_run(
    project: Project,
    history: History,
    run_id: int | None = None,
    *,
    options: RunOptions | None = None,
    worker: DbtWorker | None = None,
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
    if worker is not None:
        worker.prepare(project)
    graph = project.graph()
    gone = [uid for uid in wanted if uid not in graph]
    present = [uid for uid in wanted if uid in graph]
    if not present:
        raise RunError(f"none of the assets to retry from run {record.run_id} exist in the project any more")
    given = options or RunOptions()
    merged = RunOptions(
        extra_args=(*record.flags, *given.dbt_flags()),
        timeout=given.timeout,
        cancel_grace=given.cancel_grace,
        wait=given.wait,
    )
    planned = plan(graph, record.command, unique_ids=present)
    run = Run(
        project, graph, planned, merged, history=history, selection={"retry_of": record.run_id}, worker=worker
    )
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
    from dbt_assets.sla.judge import declared_slas

    failed = [r for r in result.results.values() if r.status in FAILURE_STATUSES]
    if not failed or result.run_id is None:
        return []
    facts = history.facts()
    slas = declared_slas(graph)  # once: resolving them is the costly part of explaining
    unbuilt: set[str] = set()  # causes outside the run whose fix is to build them
    retried = failed + [r for r in result.results.values() if r.status == "skipped"]  # what retry re-runs
    for finished in retried[:_EXPLAINED]:  # each is a judgement of its upstream: a bounded few
        if finished.unique_id not in graph.records:
            continue
        for cause in explain(graph, facts, None, finished.unique_id, slas=slas).causes:
            if cause.fix.startswith("dbt-assets build") and cause.unique_id not in result.results:
                unbuilt.add(cause.unique_id)
    retry = f"dbt-assets retry {result.run_id}"
    if unbuilt:
        first = build_command(graph, unbuilt, facts)
        return [
            f"upstream assets were never built here; build them first: {first}",
            f"then re-run what did not succeed: {retry}",
        ]
    if all(any(code in (r.message or "") for code in _CODE_ERRORS) for r in failed):
        return [f"a retry would fail the same way: fix the error above, then: {retry}"]
    return [f"re-run what did not succeed with: {retry}"]
