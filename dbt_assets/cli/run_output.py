"""What a run's command does around dbt: the outputs it was asked for (the report, OpenLineage
events, the SLAs met or missed), checked before dbt starts and written after, and the terminal
and stdout it prints to (a closed pipe or terminal stops the run, and is never written again)."""

from __future__ import annotations

import io
import os
import select
import sys
import threading
from typing import TYPE_CHECKING

import click

from dbt_assets._core.errors import DbtAssetsError
from dbt_assets._core.serial import plain, to_json
from dbt_assets._core.vocab import FAILURE_STATUSES
from dbt_assets.cli.common import echo_error, print_lines

if TYPE_CHECKING:
    from dbt_assets.history.store import History
    from dbt_assets.run.runner import Run


def write_report(run: Run, history: History | None, path: str) -> bool:
    """The HTML report of the run's assets, with its timeline; whether it was written (a
    failure is the error line on stderr, the run being recorded)."""
    from dbt_assets.api import report

    assert run.result is not None
    try:
        written = report(run.graph, history, path, unique_ids=run.plan.unique_ids, run_id=run.result.run_id)
    except DbtAssetsError as exc:
        echo_error(exc.message, exc.hint)
        return False
    click.echo(f"dbt-assets: report written to {written}", err=True)
    return True


def isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def leave_closed_terminals(terminals: set[int]) -> None:
    """Of ``terminals`` (stdout, stderr), those that stopped being one (closed: the kernel
    hangs them up before it sends SIGHUP) now go nowhere: writing to them would fail, and
    the run must still end, be recorded and exit. A terminal still open keeps its output."""
    for fd in terminals:
        if not isatty(fd):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)


def check_outputs(report_path: str | None, lineage_target: str | None) -> None:
    """Refuse, before the run, an output that may not be written there (the project's files,
    the history, a directory): bad input, exit 2, nothing run."""
    from dbt_assets._core.outputs import output_target
    from dbt_assets.interop.openlineage import lineage_file

    if report_path:
        output_target(report_path, "--report")
    if lineage_target:
        lineage_file(lineage_target, "--openlineage")


def watch_output(run: Run) -> tuple[threading.Event, threading.Event]:
    """Cancel ``run`` as soon as whoever reads stdout is gone (`| head` exited): a write
    would only notice at the next event, and dbt may print nothing for minutes. Returns
    (set to stop watching, set when the reader was found gone)."""
    done, gone = threading.Event(), threading.Event()
    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, 0)  # only POLLERR/POLLHUP, reported always
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return done, gone  # not a real file (embedded, tests) or no poll(): the write tells

    def watch() -> None:
        while not done.wait(0.2):
            if any(events & (select.POLLERR | select.POLLHUP) for _fd, events in poller.poll(0)):
                gone.set()
                run.cancel("cancelled: the output was closed")
                return

    threading.Thread(target=watch, name="output-watch", daemon=True).start()
    return done, gone


def detach_stdout() -> None:
    """After a broken pipe: later writes (and Python's flush at exit) go nowhere."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def send_lineage(run: Run, target: str, namespace: str) -> bool:
    """The run's OpenLineage events to ``target``; whether they were delivered (a failure is
    reported on stderr, with how to send them again)."""
    from dbt_assets.api import emit_openlineage
    from dbt_assets.interop.openlineage import run_events

    result = run.result
    assert result is not None
    events = run_events(run.graph, result, result.results.values(), namespace=namespace)
    for delivery in emit_openlineage(events, target):
        if not delivery.ok:
            again = f"dbt-assets openlineage {result.run_id} --to {target}" if result.run_id else ""
            echo_error(
                f"OpenLineage events not delivered to {delivery.target} after "
                f"{delivery.attempts} attempt(s): {delivery.error}",
                f"send them again with: {again}" if again else None,
            )
            return False
    return True


def report_slas(run: Run, history: History, output: str) -> None:
    """After a run: which SLAs of its assets it met or missed (text), or one
    ``sla_result`` JSON line each (json)."""
    from dbt_assets.api import run_slas

    if run.result is None or run.result.run_id is None:
        return
    try:
        results = run_slas(run.graph, history, run.result)
    except DbtAssetsError as exc:  # a broken SLA declaration must not hide the run's outcome
        click.echo(f"dbt-assets: SLAs not judged: {exc.message}", err=True)
        return
    if output == "json":
        print_lines(to_json({"event": "sla_result", **plain(r)}) for r in results)
    else:
        from dbt_assets.cli.render import render_run_slas

        assert run.result is not None
        troubled = [
            r.unique_id for r in run.result.results.values() if r.status in FAILURE_STATUSES | {"skipped"}
        ]
        click.echo(render_run_slas(results, troubled), nl=False)
