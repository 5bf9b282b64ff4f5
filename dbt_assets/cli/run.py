"""The running commands (``run``, ``build``, ``test``, ``seed``, ``snapshot``, ``retry``) : a thin shell over
:mod:`dbt_assets.api`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dbt_assets._core.errors import one_line
from dbt_assets.cli.common import echo_error, print_plan
from dbt_assets.cli.options import (
    DBT_EXECUTABLE,
    HISTORY,
    LOCK_TIMEOUT,
    PROFILES_DIR,
    PROJECT_DIR,
    TARGET,
    F,
    apply_options,
    select_ids_option,
    selection_from,
    selection_options,
)
from dbt_assets.cli.run_output import (
    check_outputs,
    detach_stdout,
    isatty,
    leave_closed_terminals,
    report_slas,
    send_lineage,
    watch_output,
    write_report,
)

if TYPE_CHECKING:
    from dbt_assets.history.store import History
    from dbt_assets.run.invocation import RunOptions
    from dbt_assets.run.project import Project
    from dbt_assets.run.runner import Run


# --- running ------------------------------------------------------------------------------


def run_options(func: F) -> F:
    """dbt's run flags passed through, and how dbt-assets runs and reports."""
    options = [
        PROJECT_DIR,
        PROFILES_DIR,
        TARGET,
        DBT_EXECUTABLE,
        click.option("--vars", help="dbt --vars (YAML); also used to parse the project."),
        click.option("--threads", type=click.IntRange(min=1), help="dbt --threads."),
        click.option("--full-refresh", is_flag=True, help="dbt --full-refresh."),
        click.option("--fail-fast", "-x", is_flag=True, help="dbt --fail-fast."),
        click.option("--defer", is_flag=True, help="dbt --defer (with --state)."),
        click.option("--favor-state", is_flag=True, help="dbt --favor-state."),
        HISTORY,
        LOCK_TIMEOUT,
        click.option("--no-history", is_flag=True, help="Do not record this run."),
        click.option(
            "--no-warm",
            is_flag=True,
            help="Start the dbt CLI even when a `dbt-assets worker` serves the project "
            "(DBT_ASSETS_NO_WARM=1 does it everywhere).",
        ),
        click.option(
            "--output",
            "-o",
            default="text",
            show_default=True,
            type=click.Choice(["text", "json"]),
            help="text: progress and a summary; json: every event as a JSON line on stdout.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            metavar="SECONDS",
            help="Stop dbt (like Ctrl-C) when the run takes longer.",
        ),
        click.option(
            "--wait",
            type=click.FloatRange(min=0),
            is_flag=False,
            flag_value=float("inf"),
            default=None,
            metavar="[SECONDS]",
            help="When another run is running some of these assets (one run per asset at a time): "
            "wait for it to end (at most SECONDS) instead of stopping with exit code 2.",
        ),
        click.option(
            "--cancel-grace",
            type=click.FloatRange(min=0),
            default=10.0,
            show_default=True,
            metavar="SECONDS",
            help="After Ctrl-C, SIGTERM or --timeout: how long dbt may take to stop before it is killed.",
        ),
        click.option(
            "--openlineage",
            "openlineage_target",
            envvar="DBT_ASSETS_OPENLINEAGE",
            metavar="URL|FILE",
            help="Send the run's OpenLineage events there when it ends: POST each to an http(s) "
            "URL (e.g. Marquez's /api/v1/lineage) or append them to a file as JSON lines "
            "[env DBT_ASSETS_OPENLINEAGE].",
        ),
        click.option(
            "--openlineage-namespace",
            envvar="DBT_ASSETS_OPENLINEAGE_NAMESPACE",
            default="dbt-assets",
            show_default=True,
            help="The OpenLineage namespace of the jobs [env DBT_ASSETS_OPENLINEAGE_NAMESPACE].",
        ),
        click.option(
            "--report",
            "report_path",
            type=click.Path(dir_okay=False, writable=True),
            metavar="PATH",
            help="When the run ends, write the HTML report of its assets there (see `dbt-assets report`).",
        ),
        click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED),
    ]
    return apply_options(func, options)


def _project(kwargs: dict[str, Any]) -> Project:
    from dbt_assets.run.project import Project

    return Project(
        kwargs.pop("project_dir") or ".",
        profiles_dir=kwargs.pop("profiles_dir"),
        target=kwargs.pop("target"),
        dbt_executable=kwargs.pop("dbt_executable"),
        vars=kwargs.pop("vars"),
    )


def _run_options(kwargs: dict[str, Any], state: str | None = None) -> RunOptions:
    from dbt_assets.run.invocation import RunOptions

    return RunOptions(
        threads=kwargs.pop("threads"),
        full_refresh=kwargs.pop("full_refresh"),
        fail_fast=kwargs.pop("fail_fast"),
        defer=kwargs.pop("defer"),
        state=state,
        favor_state=kwargs.pop("favor_state"),
        extra_args=tuple(kwargs.pop("dbt_args")),
        timeout=kwargs.pop("timeout"),
        cancel_grace=kwargs.pop("cancel_grace"),
        wait=kwargs.pop("wait"),
    )


def execute_run(
    run: Run,
    history: History | None,
    output: str,
    lineage: tuple[str | None, str] = (None, "dbt-assets"),
    report_path: str | None = None,
) -> None:
    """Run with a display; Ctrl-C, SIGTERM and SIGHUP cancel the run (twice: kill dbt at once).
    ``lineage``: where to send the run's OpenLineage events (if anywhere), and their namespace;
    ``report_path``: where to write the HTML report when it ends (either failing: exit 2)."""
    import signal

    from dbt_assets._core.signals import handle, restore
    from dbt_assets.api import next_steps
    from dbt_assets.cli.progress import make_display, render_summary

    for notice in run.notices:
        click.echo(f"dbt-assets: {notice}", err=True)
    run.on_wait = lambda said: click.echo(f"dbt-assets: {one_line(said)}", err=True)
    display = make_display(run.graph, run.plan, output)

    terminals = {fd for fd in (1, 2) if isatty(fd)}

    def cancel(signum: int, _frame: Any) -> None:
        again = run.cancelling
        name = signal.Signals(signum).name
        if signum == signal.SIGHUP:  # the terminal may be gone: the run must end all the same
            leave_closed_terminals(terminals)
        run.cancel(f"cancelled ({name})")
        what = "killing dbt" if again else "stopping dbt (again to kill it now)"
        click.echo(f"\ndbt-assets: {name}: {what}", err=True)

    previous = handle((signal.SIGINT, signal.SIGTERM, signal.SIGHUP), cancel)  # nohup: SIGHUP stays ignored
    closed = False  # stdout closed under us (`dbt-assets run | head`)
    watching, gone = watch_output(run)
    try:
        for event in run:
            if closed:
                continue
            try:
                display.handle(event)
            except BrokenPipeError:
                closed = True
                detach_stdout()
                run.cancel("cancelled: the output was closed")
    finally:
        watching.set()
        try:
            display.close()
        except BrokenPipeError:
            closed = True
            detach_stdout()
        restore(previous)
    result = run.result
    assert result is not None  # the iteration ran to its end
    if gone.is_set() and not closed:
        closed = True
        detach_stdout()
    if closed:
        where = f"; run {result.run_id} recorded as {result.status}" if result.run_id is not None else ""
        click.echo(f"dbt-assets: the output was closed, so the run was stopped{where}", err=True)
        sys.exit(result.exit_code)
    if result.unrecorded_because is not None and run.history is not None:
        saved = result.unrecorded  # None: not even that could be written (a full disk)
        importable = saved is not None and "run_results" in Path(saved).name
        todo = f"dbt-assets history import {saved}" if importable else "they are JSON, as dbt-assets saw them"
        if result.unrecorded_because.startswith("failed"):  # the run is there, open
            todo = (
                f"once the history is back (or its disk has space), `dbt-assets history recover` "
                f"completes run {result.run_id} "
                + ("from that file" if importable else "with what it recorded")
                + " (any command that opens the history does it too)"
            )
        elif saved is None:
            todo = "the results shown are all that is left of the run"
        echo_error(
            f"the run history {run.history.path} {result.unrecorded_because}, so run "
            f"{result.run_id} is not in it; "
            + (
                f"its results are saved in {saved}"
                if saved and Path(saved).name.startswith("unrecorded-")
                else f"its results are in dbt's {saved} (until dbt runs again)"
                if saved
                else "its results could not be saved"
            ),
            todo,
        )
        sys.exit(2)
    if result.status == "error":  # dbt could not run: the error contract's one line
        echo_error(result.message or "dbt could not run", result.hint)
    if output == "text":
        hint = None
        if result.run_id is not None and history is not None:
            hint = f"Run {result.run_id} recorded in {history.path}"
            steps = next_steps(run.graph, history, result) if result.exit_code != 0 else []
            hint += "".join(f"\nNext: {step}" for step in steps)
        click.echo(render_summary(run.graph, result, hint), nl=False)
    if history is not None:
        report_slas(run, history, output)
    delivered = send_lineage(run, lineage[0], lineage[1]) if lineage[0] else True
    if report_path:
        delivered = write_report(run, history, report_path) and delivered
    # a requested output not written: exit 2, as an undelivered alert (a cancel stays 130)
    sys.exit(result.exit_code if delivered or result.exit_code == 130 else 2)


def _make_run_command(command: str, summary: str) -> click.Command:
    help_text = f"""{summary}

    \b
    Selects exactly like `dbt-assets plan --command {command}` (dbt's syntax plus
    downstream_of:, upstream_of:, owner:), runs dbt once with the exact arguments, shows
    progress and a summary, and records every asset result in the run history.
    Anything after -- goes to dbt unchanged.

    \b
    Exit codes: 0 success, 1 an asset failed, 2 usage error or dbt could not run
    (or crashed, or hit --timeout), 130 cancelled (Ctrl-C, SIGTERM).

    \b
    Examples:
      dbt-assets {command} --select downstream_of:orders
      dbt-assets {command} -s tag:finance --exclude stg_* --threads 8 --target prod
      dbt-assets {command} -s orders+ --dry-run --output json
      dbt-assets {command} -s owner:finance@* --output json > events.jsonl
      dbt-assets {command} -s orders -- --empty
    """

    @click.command(command, help=help_text)
    @run_options
    @selection_options
    @select_ids_option("Run exactly these unique_ids, one per line ('-' reads stdin), instead of --select.")
    @click.option("--dry-run", is_flag=True, help="Print the plan (assets and exact dbt argv); run nothing.")
    def run_command(**kwargs: Any) -> None:
        from dbt_assets.api import open_history, running_worker, start_run

        selection = selection_from(kwargs)
        unique_ids = kwargs.pop("unique_ids")
        output = kwargs.pop("output")
        history_path, no_history, dry_run = (
            kwargs.pop("history_path"),
            kwargs.pop("no_history"),
            kwargs.pop("dry_run"),
        )
        lineage = (kwargs.pop("openlineage_target"), kwargs.pop("openlineage_namespace"))
        report_path = kwargs.pop("report_path")
        check_outputs(report_path, lineage[0])
        project = _project(kwargs)
        options = _run_options(kwargs, selection.state)
        lock_timeout = kwargs.pop("lock_timeout")
        history = (
            None
            if no_history or dry_run
            else open_history(project.project_dir, history_path, lock_timeout=lock_timeout)
        )
        worker = None if kwargs.pop("no_warm") or dry_run else running_worker(project)
        run = start_run(
            project, command, selection, unique_ids=unique_ids, options=options, history=history,
            worker=worker,
        )  # fmt: skip
        _say_warm(run, worker)
        if dry_run:
            print_plan(run.graph, run.plan, output, run.argv)
            return
        execute_run(run, history, output, lineage, report_path)

    return run_command


RUN_COMMANDS = [
    _make_run_command(_command, _summary)
    for _command, _summary in (
        ("run", "Run models with dbt (dbt run), with live per-asset progress and history."),
        ("build", "Build with dbt (dbt build: seeds, models, snapshots and their tests)."),
        ("test", "Test with dbt (dbt test): each test reported as a check of its asset."),
        ("seed", "Load seeds with dbt (dbt seed)."),
        ("snapshot", "Take snapshots with dbt (dbt snapshot)."),
    )
]


@click.command("retry")
@click.argument("run_id", type=int, required=False)
@run_options
def retry_command(run_id: int | None, **kwargs: Any) -> None:
    """Re-run what did not succeed in a run (default: the newest).

    \b
    The failed assets, those skipped because of them, and any the run never reached
    (cancelled), through the exact compiler, with the run's dbt flags again. Needs only
    the run history and the project, not dbt's target/ of that run.

    \b
    Examples:
      dbt-assets retry              # the newest run
      dbt-assets retry 12 --threads 1
    """
    from dbt_assets.api import open_history, retry_run, running_worker

    output = kwargs.pop("output")
    history_path = kwargs.pop("history_path")
    lineage = (kwargs.pop("openlineage_target"), kwargs.pop("openlineage_namespace"))
    report_path = kwargs.pop("report_path")
    check_outputs(report_path, lineage[0])
    if kwargs.pop("no_history"):
        raise click.UsageError("retry reads the run history; --no-history does not apply")
    project = _project(kwargs)
    options = _run_options(kwargs)
    history = open_history(
        project.project_dir, history_path, create=False, lock_timeout=kwargs.pop("lock_timeout")
    )
    worker = None if kwargs.pop("no_warm") else running_worker(project)
    run = retry_run(project, history, run_id, options=options, worker=worker)
    _say_warm(run, worker)
    execute_run(run, history, output, lineage, report_path)


def _say_warm(run: Run, worker: object) -> None:
    """Tell the user a run goes through a running ``dbt-assets worker`` (and how not to)."""
    if worker is not None:
        pid = getattr(worker, "info", {}).get("pid")
        run.notices.append(f"dbt runs in the dbt-assets worker {pid} (--no-warm: start dbt instead)")


# --- history -------------------------------------------------------------------------------

COMMANDS = [*RUN_COMMANDS, retry_command]
