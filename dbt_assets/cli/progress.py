"""What the user sees while a run goes: a live display on a terminal, plain lines otherwise,
JSON lines for programs, and the summary at the end.

    >>> display = make_display(graph, plan, output="text", stream=sys.stderr)  # doctest: +SKIP
    >>> for event in run:
    ...     display.handle(event)
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from dbt_assets.cli.render import asset_label
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import Plan
from dbt_assets.run.events import (
    FAILURE_STATUSES,
    NOT_REACHED,
    AssetFinished,
    AssetStarted,
    DbtLog,
    Event,
    RunStarted,
    event_json,
    meaningful_lines,
)
from dbt_assets.run.invocation import RunResult

SLOWEST = 5
NOT_REACHED_SHOWN = 5
_LABELS = {
    "success": "OK",
    "pass": "PASS",
    "warn": "WARN",
    "error": "ERROR",
    "fail": "FAIL",
    "skipped": "SKIP",
    "no-op": "NO-OP",
    "cancelled": "CANCELLED",
}


def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}s"


def _first_line(message: str | None) -> str:
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if len(lines) > 1 and lines[0].startswith(
        ("Runtime Error in", "Database Error in", "Compilation Error in")
    ):
        return lines[1]
    return lines[0] if lines else ""


class Display:
    """Plain lines, one per finished asset, failures with their message (not a terminal)."""

    def __init__(self, graph: AssetGraph, plan: Plan, stream: TextIO) -> None:
        self.graph = graph
        self.total = len(plan.unique_ids)
        self.stream = stream
        self.done = 0
        self.failed = 0
        self.running: dict[str, float] = {}
        self.started = time.monotonic()

    def handle(self, event: Event) -> None:
        if isinstance(event, AssetStarted):
            self.running[event.unique_id] = time.monotonic()
        elif isinstance(event, AssetFinished) and event.status == NOT_REACHED:
            pass  # listed once, in the summary
        elif isinstance(event, AssetFinished):
            self.running.pop(event.unique_id, None)
            self.done += 1
            self.failed += event.status in FAILURE_STATUSES
            self.line(self.finished_line(event))
        elif isinstance(event, DbtLog) and event.name == "MainStackTrace":
            crash = " ".join(meaningful_lines(event.message))
            self.line(f"dbt: crashed: {crash} (its traceback is kept with the run: dbt-assets history show)")
        elif isinstance(event, DbtLog) and event.level != "debug":
            self.line(f"dbt: {event.message}" if event.name else f"dbt said: {event.message}")
        elif isinstance(event, RunStarted):
            assets = "asset" if self.total == 1 else "assets"
            self.line(
                f"dbt-assets: {' '.join(event.argv[:2])} for {self.total} {assets} (run {event.run_id})"
            )
        self.refresh()

    def finished_line(self, event: AssetFinished) -> str:
        label = _LABELS.get(event.status, event.status.upper())
        count = f"{self.done:>{len(str(self.total))}}/{self.total}"  # columns stay put at [10/12]
        head = f"[{count}] {label:<6} {asset_label(self.graph, event.unique_id)}"
        if event.status == "skipped":
            causes = ", ".join(asset_label(self.graph, c) for c in event.skipped_because[:3])
            return head + (f" (upstream failed: {causes})" if causes else "")
        detail = _seconds(event.execution_time)
        if event.rows_affected is not None:
            detail += f", {event.rows_affected} rows"
        if event.failures:
            detail += f", {event.failures} failing rows"
        head += f" ({detail})" if detail else ""
        if event.status in FAILURE_STATUSES or event.status == "warn":
            head += f"\n    {_first_line(event.message)}"
        return head

    def line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def refresh(self) -> None:
        """Plain output has no status line."""

    def close(self) -> None:
        """Nothing to clear in plain output."""


class LiveDisplay(Display):
    """On a terminal: the same lines, under a status line redrawn in place
    (done/total, running assets, elapsed, failures)."""

    def line(self, text: str) -> None:
        self.stream.write("\r\x1b[2K" + text + "\n")
        self.stream.flush()

    def refresh(self) -> None:
        elapsed = time.monotonic() - self.started
        running = sorted(self.running, key=self.running.__getitem__)
        names = ", ".join(self._name(uid) for uid in running[:3])
        more = f" +{len(running) - 3}" if len(running) > 3 else ""
        status = f"{self.done}/{self.total} done · {int(elapsed // 60):02d}:{int(elapsed % 60):02d}"
        status += f" · {self.failed} failed" if self.failed else ""
        status += f" · running {names}{more}" if running else ""
        self.stream.write("\r\x1b[2K" + status[: self._columns() - 1])  # a wrapped line is not redrawn
        self.stream.flush()

    def _columns(self) -> int:
        try:
            return os.get_terminal_size(self.stream.fileno()).columns or 100
        except (OSError, ValueError, AttributeError):  # not a terminal after all, or closed
            return 100

    def _name(self, unique_id: str) -> str:
        record = self.graph.records.get(unique_id)
        return asset_label(self.graph, unique_id).partition(" ")[2] if record else unique_id

    def close(self) -> None:
        self.stream.write("\r\x1b[2K")
        self.stream.flush()


class JsonDisplay(Display):
    """Every event as one JSON line (for programs)."""

    def handle(self, event: Event) -> None:
        self.line(event_json(event))


def make_display(graph: AssetGraph, plan: Plan, output: str, stream: TextIO | None = None) -> Display:
    """JSON lines for ``output == "json"``, else live on a terminal, plain lines otherwise."""
    if output == "json":
        return JsonDisplay(graph, plan, stream or sys.stdout)
    out = stream or sys.stdout
    return LiveDisplay(graph, plan, out) if out.isatty() else Display(graph, plan, out)


def render_summary(graph: AssetGraph, result: RunResult, history_hint: str | None = None) -> str:
    """Counts per status, the slowest assets, and each failure with its message and file."""
    elapsed = result.finished_at - result.started_at
    lines = [f"Finished `dbt {result.command}` in {elapsed:.1f}s: {result.status} (exit {result.exit_code})"]
    if result.message and result.status != "failed":
        lines.append(f"  {result.message}")
    counts = result.counts
    if counts:
        lines.append("  " + " · ".join(f"{status} {counts[status]}" for status in sorted(counts)))
    timed = [r for r in result.results.values() if r.execution_time]
    if timed:
        lines.append("Slowest:")
        for r in sorted(timed, key=lambda r: -(r.execution_time or 0))[:SLOWEST]:
            lines.append(f"  {_seconds(r.execution_time):>8}  {asset_label(graph, r.unique_id)}")
    if result.failures:
        lines.append("Failures:")
        for r in result.failures:
            record = graph.records.get(r.unique_id)
            where = f" ({record.original_file_path})" if record is not None else ""
            lines.append(f"  {_LABELS.get(r.status, r.status)} {asset_label(graph, r.unique_id)}{where}")
            lines += [f"    {text}" for text in meaningful_lines(r.message)[:12]]  # dbt's words, whole
        skipped = [r for r in result.results.values() if r.status == "skipped"]
        if skipped:
            lines.append(f"  {len(skipped)} skipped because of them")
    missed = [r.unique_id for r in result.results.values() if r.status == NOT_REACHED]
    if missed:
        shown = ", ".join(asset_label(graph, uid) for uid in missed[:NOT_REACHED_SHOWN])
        more = f" and {len(missed) - NOT_REACHED_SHOWN} more" if len(missed) > NOT_REACHED_SHOWN else ""
        lines.append(f"Not reached (the run stopped before dbt started them): {shown}{more}")
    if history_hint:
        lines.append(history_hint)
    return "\n".join(lines) + "\n"
