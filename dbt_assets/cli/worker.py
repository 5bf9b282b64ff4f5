"""``dbt-assets worker``: keep dbt warm for one project on this host, for the other dbt-assets
processes (Airflow's tasks, ``dbt-assets run`` from a shell) to run through."""

from __future__ import annotations

from typing import Any

import click

from dbt_assets.cli.options import DBT_EXECUTABLE, PROFILES_DIR, PROJECT_DIR, TARGET, apply_options


def _project_options(func: Any) -> Any:
    return apply_options(func, [PROJECT_DIR, PROFILES_DIR, TARGET, DBT_EXECUTABLE])


@click.command("worker")
@_project_options
@click.option(
    "--status", "show_status", is_flag=True, help="Say whether a worker serves the project; exit 1 if none."
)
@click.option("--stop", "stop_it", is_flag=True, help="Stop the worker serving the project.")
@click.option(
    "--memory-cap",
    type=click.FloatRange(min=64),
    default=1024,
    show_default=True,
    metavar="MB",
    help="Replace dbt's process when it holds more memory than this after a run.",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Stop after this long without a run (default: never).",
)
def worker_command(show_status: bool, stop_it: bool, **kwargs: Any) -> None:
    """Keep dbt warm for a project: serve its runs from one dbt process kept running.

    \b
    A one-model run through the worker costs a fraction of a second instead of dbt's
    start-up (seconds). While it runs, `dbt-assets run` (build, test, seed, snapshot,
    retry) for the same project and dbt executable, and the Airflow adapter's one task
    per asset, run through it; they start the dbt CLI when no worker serves the project,
    or with --no-warm or DBT_ASSETS_NO_WARM=1. Runs are served one at a time. The worker
    listens on a unix socket only its user may reach ($DBT_ASSETS_WORKER_DIR, default
    <tmp>/dbt-assets-<uid>) and stops on Ctrl-C, SIGTERM or `dbt-assets worker --stop`.

    \b
    Examples:
      dbt-assets worker --project-dir fixtures/dbt_project &
      dbt-assets run -s orders --project-dir fixtures/dbt_project   # through the worker
      dbt-assets worker --status --project-dir fixtures/dbt_project
      dbt-assets worker --stop --project-dir fixtures/dbt_project
    """
    import os
    import signal

    from dbt_assets._core.signals import handle
    from dbt_assets.run.project import Project
    from dbt_assets.run.worker_server import serve
    from dbt_assets.run.worker_socket import connect

    project = Project(
        kwargs["project_dir"] or ".",
        profiles_dir=kwargs["profiles_dir"],
        target=kwargs["target"],
        dbt_executable=kwargs["dbt_executable"],
    )
    if show_status or stop_it:
        running = connect(project)
        if running is None:
            click.echo(f"dbt-assets: no worker serves {project.project_dir}", err=True)
            raise SystemExit(1)
        if stop_it:
            running.stop()
            click.echo(f"dbt-assets: worker {running.info.get('pid')} stopping", err=True)
            return
        info = running.info
        click.echo(
            f"worker {info.get('pid')} serves {info.get('project_dir')} on {running.path}\n"
            f"dbt: {info.get('dbt')} (process {info.get('child')}, "
            f"{'running' if info.get('alive') else 'starting at the next run'})\n"
            f"runs served: {info.get('invocations')}, dbt processes started: {info.get('started')}"
        )
        return

    import logging

    project.profiles_dir  # noqa: B018 (a missing profiles.yml is said before anything starts)
    reason = project.stale_reason()
    if reason is not None:
        logging.getLogger("dbt_assets").warning("dbt-assets: %s; the worker parses the project", reason)

    def ready(path: Any, _worker: Any) -> None:
        click.echo(
            f"dbt-assets: worker {os.getpid()} for {project.project_dir} ready on {path} "
            "(Ctrl-C or `dbt-assets worker --stop` to stop)",
            err=True,
        )

    def stopper(server: Any) -> None:
        def stop(_signum: int, _frame: Any) -> None:
            server.stop()

        handle((signal.SIGINT, signal.SIGTERM), stop)

    serve(
        project,
        memory_cap_mb=kwargs["memory_cap"],
        idle_timeout=kwargs["idle_timeout"],
        ready=ready,
        stopper=stopper,
    )


COMMANDS = [worker_command]
