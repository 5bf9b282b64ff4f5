"""``dbt-assets diff``: what a change does, for review; a thin shell over :mod:`dbt_assets.api`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from dbt_assets._core.serial import to_json
from dbt_assets.cli.common import print_lines
from dbt_assets.cli.options import AT, HISTORY, moment, project_options, selection_from, selection_options

if TYPE_CHECKING:
    from dbt_assets.diff.model import ChangeReview
    from dbt_assets.history.store import History
    from dbt_assets.run.project import Project
    from dbt_assets.run.runner import Run

FAIL_ON = ("breaking", "at_risk", "data_diff")


@click.command("diff")
@click.argument("positional", nargs=-1, metavar="[SELECTION]...")
@project_options
@selection_options
@HISTORY
@AT
@click.option(
    "--build",
    is_flag=True,
    help="Build state:modified+ into the target (a CI target: --target ci) with --defer --state, "
    "then compare each changed model with its production relation.",
)
@click.option("--threads", type=click.IntRange(min=1), help="dbt --threads for --build.")
@click.option(
    "--output",
    "-o",
    default="text",
    show_default=True,
    type=click.Choice(["text", "json", "markdown"]),
    help="text; json: the whole review; markdown: a pull-request comment.",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, writable=True),
    metavar="PATH",
    help="Also write the HTML report of the change there (changed subgraph highlighted).",
)
@click.option("--report-url", metavar="URL", help="Where the report will be read: the markdown points there.")
@click.option(
    "--max-chars",
    type=click.IntRange(min=1000),
    default=60_000,
    show_default=True,
    help="The longest markdown comment (GitHub takes 65,536 characters).",
)
@click.option(
    "--fail-on",
    multiple=True,
    type=click.Choice(FAIL_ON),
    help="Exit 1 when the change has a breaking contract change, puts a deadline at risk, or "
    "(with --build) changes the data. Repeatable.",
)
def diff_command(positional: tuple[str, ...], **kwargs: Any) -> None:
    """What a change does, against production's artifacts (--state DIR, required).

    \b
    Every changed asset with dbt's kinds of change (new, removed, body, configs, relation,
    persisted_descriptions, macros, contract), its column changes and breaking contract
    changes; everything downstream by owner, with the exposures and SLAs it reaches; the
    predicted cost of building state:modified+ (p90 of the history's runtimes, else of
    --state's run_results.json; unknown said) and the deadlines that work puts at risk.
    SELECTION (or --select) narrows the changes reported.

    \b
    Exit codes: 0; 1 a --fail-on condition holds, the --build failed, or a data comparison
    failed; 2 usage error.

    \b
    Examples:
      dbt-assets diff --state prod-artifacts
      dbt-assets diff --state prod-artifacts -o markdown > comment.md
      dbt-assets diff --state prod-artifacts --build --target ci --report diff.html
      dbt-assets diff --state prod-artifacts --fail-on breaking --fail-on at_risk
    """
    from dbt_assets.api import change_review

    selection = selection_from(kwargs, positional)
    if selection.state is None:
        raise click.UsageError(
            "diff compares with production's artifacts: pass --state DIR (or set DBT_STATE)"
        )
    at = moment(kwargs["at"])
    project = _project(kwargs)
    if kwargs["build"] and project is None:
        raise click.UsageError("--build runs dbt on the project; it cannot be used with --manifest")
    graph = _graph(kwargs, project)
    with _history(kwargs, graph) as history:
        review = change_review(graph, selection.state, selection, history=history, at=at)
        if kwargs["build"]:
            assert project is not None
            review = _build(project, review, kwargs["threads"])
        if kwargs["report_path"]:
            from dbt_assets.api import review_report

            review_report(graph, history, review, kwargs["report_path"], at=at)
    _print(review, kwargs)
    sys.exit(_exit_code(review, kwargs["fail_on"]))


def _project(kwargs: dict[str, Any]) -> Project | None:
    if kwargs["manifest"]:
        return None
    from dbt_assets.run.project import Project

    return Project(
        kwargs["project_dir"] or ".",
        profiles_dir=kwargs["profiles_dir"],
        target=kwargs["target"],
        dbt_executable=kwargs["dbt_executable"],
    )


def _graph(kwargs: dict[str, Any], project: Project | None) -> Any:
    from dbt_assets.api import load_graph

    if project is None:
        return load_graph(manifest=kwargs["manifest"])
    return project.graph()


class _history:
    """Production's history: --history when given, else the project's when it has one."""

    def __init__(self, kwargs: dict[str, Any], graph: Any) -> None:
        self.path = kwargs["history_path"]
        self.project_dir = graph.project_dir
        self.history: History | None = None

    def __enter__(self) -> History | None:
        from dbt_assets.api import open_history
        from dbt_assets.history.schema import history_exists, history_path

        if self.path is None and self.project_dir is None:
            return None
        from pathlib import Path

        where = history_path(Path(self.project_dir or "."), self.path)
        if self.path is None and not history_exists(where):
            return None
        self.history = open_history(self.project_dir or ".", self.path, create=False)
        return self.history

    def __exit__(self, *exc: object) -> None:
        if self.history is not None:
            self.history.close()


def _build(project: Project, review: ChangeReview, threads: int | None) -> ChangeReview:
    import signal

    from dbt_assets._core.signals import handle, restore
    from dbt_assets.api import build_change, compare_change
    from dbt_assets.cli.progress import make_display
    from dbt_assets.run.invocation import RunOptions

    run: Run = build_change(project, review, options=RunOptions(threads=threads))
    display = make_display(run.graph, run.plan, "text", stream=sys.stderr)
    previous = handle((signal.SIGINT, signal.SIGTERM), lambda *_: run.cancel("cancelled"))
    try:
        for event in run:
            display.handle(event)
    finally:
        display.close()
        restore(previous)
    assert run.result is not None
    if run.result.exit_code == 2:
        from dbt_assets._core.errors import RunError

        raise RunError(
            f"the CI build could not run: {run.result.message or run.result.status}", run.result.hint or ""
        )
    return compare_change(project, review, run.result)


def _print(review: ChangeReview, kwargs: dict[str, Any]) -> None:
    output = kwargs["output"]
    if output == "json":
        from dbt_assets._core.serial import plain

        payload = plain(review)
        payload["at_risk"] = [d.unique_id for d in review.at_risk]
        payload["breaking"] = [c.unique_id for c in review.breaking]
        click.echo(to_json(payload, indent=2))
        return
    from dbt_assets.api import review_markdown, review_text

    if output == "markdown":
        text = review_markdown(review, max_chars=kwargs["max_chars"], report_url=kwargs["report_url"])
    else:
        text = review_text(review)
    print_lines(text.rstrip("\n").split("\n"))


def _exit_code(review: ChangeReview, fail_on: tuple[str, ...]) -> int:
    reasons = []
    if review.build is not None and review.build.exit_code != 0:
        reasons.append(f"the CI build ended {review.build.status}")
    if review.errors:
        reasons.append("comparisons failed: " + ", ".join(d.name for d in review.errors))
    if "breaking" in fail_on and review.breaking:
        reasons.append("breaking changes: " + ", ".join(c.name for c in review.breaking))
    if "at_risk" in fail_on and review.at_risk:
        reasons.append("deadlines put at risk: " + ", ".join(d.name for d in review.at_risk))
    if "data_diff" in fail_on and review.data_differs:
        reasons.append("data differs from production: " + ", ".join(d.name for d in review.data_differs))
    for reason in reasons:
        click.echo(f"dbt-assets diff: {reason}", err=True)
    return 1 if reasons else 0


COMMANDS = [diff_command]
