"""Reviewing a change: what a branch changes against production's artifacts, what it reaches,
what building it costs, which deadlines it puts at risk, and (after a CI build) what its data
looks like against production.

    >>> review = change_review(graph, "prod-artifacts", history=history)      # doctest: +SKIP
    >>> print(review_markdown(review))                                         # doctest: +SKIP
    >>> run = build_change(project, review)                                     # doctest: +SKIP
    >>> for event in run: ...                                                   # doctest: +SKIP
    >>> review = compare_change(project, review, run.result)                    # doctest: +SKIP
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from dbt_assets._core.errors import RunError
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.run.project import Project
from dbt_assets.selection import previous_state
from dbt_assets.selection.request import Selected, Selection

if TYPE_CHECKING:
    from dbt_assets.diff.model import ChangeReview
    from dbt_assets.history.store import History
    from dbt_assets.run.invocation import RunOptions, RunResult
    from dbt_assets.run.runner import Run


def change_review(
    graph: AssetGraph,
    state: str | Path,
    selection: Selected = (),
    *,
    history: History | None = None,
    at: float | None = None,
) -> ChangeReview:
    """The project as the graph has it against production's artifacts in ``state`` (a
    directory with its ``manifest.json``; relative to the graph's project, as dbt's
    ``--state``): every changed asset with dbt's kinds of change, column changes and breaking
    contract changes; everything downstream by owner, the exposures reached and the SLAs
    affected; the predicted cost of ``state:modified+`` and the deadlines it puts at risk,
    judged as of ``at`` (default now) from ``history`` (production's run history; assets it
    has no time for use ``state``'s ``run_results.json``). A ``selection`` narrows the changes
    reported to those it selects.

    >>> [(c.name, c.kinds) for c in change_review(graph, "prod").changed]   # doctest: +SKIP
    [('stg_orders', ['body'])]
    """
    from dbt_assets.diff.review import review_change

    found = previous_state(graph, str(state))
    assert found is not None
    chosen = Selection.of(selection)
    return review_change(
        graph,
        found,
        selection=chosen,
        facts=history.facts(at) if history is not None else None,
        at=time.time() if at is None else at,
    )


def build_change(project: Project, review: ChangeReview, *, options: RunOptions | None = None) -> Run:
    """The CI build of ``state:modified+`` (of the review's changes), deferring to production
    for everything else (``dbt build --defer --state``), ready to iterate for its events. The
    project's target must not write the relations production reads (a CI target: another
    database or schema); the run is not recorded in any history.

    >>> run = build_change(Project(".", target="ci"), review)      # doctest: +SKIP
    """
    from dataclasses import replace

    from dbt_assets.run.invocation import RunOptions
    from dbt_assets.run.runner import Run

    graph = project.graph()
    _refuse_production_target(graph, review)
    chosen = options or RunOptions()
    chosen = replace(chosen, defer=True, state=review.state)
    impacted = [c.unique_id for c in review.changed if c.unique_id in graph.records] + review.downstream
    if not impacted:
        raise RunError(
            "nothing changed: state:modified selects nothing to build", "there is nothing to review"
        )
    from dbt_assets.plan.compile import plan
    from dbt_assets.selection.dbt_classes import quiet_dbt

    with quiet_dbt():  # dbt's own warnings of breaking changes: the review reports them
        if review.selection:
            planned = plan(graph, "build", unique_ids=_with_checks(graph, impacted))
        else:
            planned = plan(graph, "build", Selection(["state:modified+"], state=review.state))
    return Run(project, graph, planned, chosen, history=None, selection={"select": ["state:modified+"]})


def _with_checks(graph: AssetGraph, ids: list[str]) -> list[str]:
    return sorted(set(ids) | {check for uid in ids for check in graph.checks(uid)})


def _refuse_production_target(graph: AssetGraph, review: ChangeReview) -> None:
    """A build whose target writes the very relations production's manifest names would
    overwrite production: refused before dbt starts."""
    from dbt_assets.selection.changes import entry_values

    found = previous_state(graph, review.state)
    assert found is not None
    comparison = found.compare(Path(graph.manifest.path))
    for change in review.changed:
        if change.unique_id not in graph.records or "new" in change.kinds:
            continue
        record = graph.records[change.unique_id]
        ours = record.relation_name
        theirs = entry_values(comparison, change.unique_id, previous=True).get("relation_name")
        if ours and ours == theirs and record.config.get("materialized") != "ephemeral":
            raise RunError(
                f"the target writes production's relation {ours} ({change.name}): a CI build would"
                " overwrite it",
                "build into a CI target (another database or schema): pass --target with one from"
                " profiles.yml",
            )


def compare_change(project: Project, review: ChangeReview, result: RunResult | None = None) -> ChangeReview:
    """The review with each changed model, seed and snapshot compared with its production
    relation: schema, row counts, and a value diff by primary key (DuckDB read directly; any
    other adapter through queries dbt runs). ``result`` is the CI build's (from
    :func:`build_change`): what it did not build is not compared, and says so.

    >>> compare_change(project, review, run.result).data[0].changed   # doctest: +SKIP
    57
    """
    from dbt_assets.diff.data import compare_data
    from dbt_assets.diff.model import BuildOutcome
    from dbt_assets.diff.review import with_data
    from dbt_assets.diff.warehouse import warehouse_reader

    graph = project.graph()
    found = previous_state(graph, review.state)
    assert found is not None
    comparison = found.compare(Path(graph.manifest.path))
    reader = warehouse_reader(project)
    built = None if result is None else {uid: r.status for uid, r in result.results.items()}
    try:
        data = compare_data(graph, comparison, review, reader, built)
    finally:
        reader.close()
    build = None
    if result is not None:
        build = BuildOutcome(
            argv=list(result.argv),
            status=result.status,
            exit_code=result.exit_code,
            counts=dict(sorted(result.counts.items())),
            failed=sorted(r.unique_id for r in result.failures),
            target=project.target,
        )
    return with_data(review, data=data, build=build)


def review_text(review: ChangeReview) -> str:
    """The review as ``dbt-assets diff`` prints it on a terminal."""
    from dbt_assets.diff.render import review_text as text

    return text(review)


def review_markdown(review: ChangeReview, *, max_chars: int = 60_000, report_url: str | None = None) -> str:
    """The review as a pull-request comment: tables in a stable order, under ``max_chars``
    (cut with a pointer to ``report_url`` past it)."""
    from dbt_assets.diff.render import review_markdown as markdown

    return markdown(review, max_chars=max_chars, report_url=report_url)


def review_report(
    graph: AssetGraph,
    history: History | None,
    review: ChangeReview,
    out: str | Path,
    *,
    at: float | None = None,
) -> Path:
    """Write the HTML report of the change to ``out``: the changed assets, their parents and
    everything downstream, the changed subgraph highlighted, a "changes" panel per asset."""
    from dbt_assets.diff.page import review_page_data
    from dbt_assets.interop.report_page import write_page

    return write_page(out, review_page_data(graph, history, review, at=at))
