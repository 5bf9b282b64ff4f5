"""Human-readable text for the CLI (JSON output comes straight from the pydantic models)."""

from __future__ import annotations

import shlex
import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING

from dbt_assets._core.durations import duration_text
from dbt_assets._core.vocab import FAILURE_STATUSES
from dbt_assets.run.events import meaningful_lines

if TYPE_CHECKING:
    from dbt_assets.history.schema import AssetResult, AssetStatus, RunRecord
    from dbt_assets.manifest.asset import AssetDetail
    from dbt_assets.manifest.graph import AssetGraph
    from dbt_assets.plan.compile import Plan
    from dbt_assets.run.events import DbtLog
    from dbt_assets.sla.explain import Explanation, LastRun
    from dbt_assets.sla.judge import SlaResult

_DURATIONS = frozenset({"freshness", "max_runtime", "warn_after", "error_after"})


def render_detail(detail: AssetDetail) -> str:
    """``dbt-assets show`` as text: the asset's fields, then its neighbours."""
    a = detail.asset
    kind = a.resource_type + (f", {a.materialized}" if a.materialized else "")
    rows: list[tuple[str, str]] = [
        ("name", a.search_name),
        ("package", a.package_name),
        ("file", a.original_file_path),
        ("fqn", ".".join(a.fqn)),
        ("relation", a.relation_name or ""),
        ("owners", ", ".join(a.owners)),
        ("group", a.group or ""),
        ("access", a.access or ""),
        ("version", a.version + (" (latest)" if a.version == a.latest_version else "") if a.version else ""),
        ("tags", ", ".join(a.tags)),
        ("checksum", a.checksum or ""),
        ("description", a.description),
    ]
    if a.freshness is not None:
        fresh = a.freshness
        rows.append(("loaded_at", fresh.loaded_at_field or ""))
        rows.append(("warn_after", _period(fresh.warn_after)))
        rows.append(("error_after", _period(fresh.error_after)))
    lines = [f"{a.unique_id}  ({kind})"]
    lines += [f"  {key + ':':<13}{value}" for key, value in rows if value]
    if a.meta:
        lines.append("  meta:")
        lines += [f"    {key}: {value}" for key, value in a.meta.items()]
    if detail.sla:
        lines.append("  sla:")
        for key, value in detail.sla.items():
            shown = duration_text(value) if key in _DURATIONS and isinstance(value, int | float) else value
            lines.append(f"    {key}: {shown}")
    if a.columns:
        lines.append("  columns:")
        for col in a.columns.values():
            extra = f" ({col.data_type})" if col.data_type else ""
            lines.append(f"    {col.name}{extra}" + (f": {col.description}" if col.description else ""))
    for title, uids in (
        ("parents", detail.parents),
        ("children", detail.children),
        ("checks", detail.checks),
    ):
        lines.append(f"  {title} ({len(uids)}):")
        lines += [f"    {uid}" for uid in uids]
    return "\n".join(lines) + "\n"


def _period(value: dict[str, object] | None) -> str:
    if not value or value.get("count") is None:
        return ""
    return f"{value['count']} {value['period']}"


def render_plan(graph: AssetGraph, plan: Plan) -> str:
    """``dbt-assets plan`` as text: the assets per resource type, then the dbt command line."""
    if not plan.unique_ids:
        return f"nothing to {plan.command}: the selection is empty\n"
    by_type: dict[str, list[str]] = {}
    for uid in plan.unique_ids:
        by_type.setdefault(graph.records[uid].resource_type, []).append(graph.records[uid].search_name)
    counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_type.items()))
    lines = [f"dbt {plan.command} would run {len(plan.unique_ids)} assets ({counts}):"]
    for kind, names in sorted(by_type.items()):
        lines += textwrap.wrap(
            f"{kind}: {', '.join(names)}",
            WIDTH,
            initial_indent="  ",
            subsequent_indent="    ",
            break_on_hyphens=False,
        )
    lines.append(f"arguments ({plan.strategy}):")
    lines.append("  dbt " + " ".join(shlex.quote(a) for a in plan.argv))
    if plan.selector is not None:
        definition = plan.selector["definition"]
        lines += _wrapped(
            f"(too long for one command line: {plan.selector['name']} is a generated YAML selector "
            f"of {len(definition['union'])} criteria; dbt-assets runs dbt on a shadow copy of the "
            "project whose selectors.yml has it, never changing yours)"
        )
    if plan.one_pass and plan.state_dir is not None:
        lines += _wrapped(
            f"(too many criteria for dbt to check one by one: --state is {plan.state_dir}, whose "
            f"run_results.json lists these {len(plan.unique_ids)} assets; keep it for the run, and "
            "defer with --defer --defer-state DIR, not --state)"
        )
    elif plan.one_pass:
        lines += _wrapped(
            f"(too many criteria for dbt to check one by one: not runnable as shown, dbt needs --state "
            f"DIR whose run_results.json lists these {len(plan.unique_ids)} assets; "
            "`dbt-assets plan ... --state-out DIR` writes it and adds it here, `dbt-assets run` "
            "writes a temporary one itself)"
        )
    return "\n".join(lines) + "\n"


def _wrapped(text: str) -> list[str]:
    """A note under the arguments, indented and cut to the 100-column width."""
    return textwrap.wrap(text, WIDTH, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False)


def _when(epoch: float | None) -> str:
    """A UTC time as ``2026-11-23 07:00:05Z`` (empty when unknown)."""
    if epoch is None:
        return ""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


WIDTH = 100
"""The terminal width text tables fit by default (``-o wide``: no limit)."""


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]], flex: int | None = None) -> str:
    """Columns padded to their widest cell; with ``flex``, that column is cut (``…``) so that
    the table fits in :data:`WIDTH` columns."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    if flex is not None and sum(widths) + 2 * (len(widths) - 1) > WIDTH:
        room = max(len(header[flex]), WIDTH - (sum(widths) - widths[flex]) - 2 * (len(widths) - 1))
        rows = [(*r[:flex], _fit(r[flex], room), *r[flex + 1 :]) for r in rows]
        widths[flex] = max(len(str(r[flex])) for r in [header, *rows])
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [header, *rows]
    ]
    return "\n".join(lines) + "\n"


def short_id(unique_id: str) -> str:
    """A unique_id as ``model orders`` without a manifest: the type, then the name without the
    package (and without a test's hash)."""
    kind, _, rest = unique_id.partition(".")
    name = rest.partition(".")[2] or rest
    if kind in ("test", "unit_test") and "." in name:
        head, _, tail = name.rpartition(".")
        name = head if len(tail) == 10 and tail.isalnum() else name
    return f"{kind} {name}"


def _counts(counts: dict[str, int]) -> str:
    return " ".join(f"{status}={counts[status]}" for status in sorted(counts))


def render_runs(runs: Sequence[RunRecord]) -> str:
    """``dbt-assets history``: one line per run, newest first."""
    if not runs:
        return "no runs recorded\n"
    rows = [
        (
            str(r.run_id),
            _when(r.started_at),
            duration_text(r.finished_at - r.started_at) if r.finished_at else "",
            r.command,
            r.status,
            _counts(r.counts),
            _selection_text(r),
        )
        for r in runs
    ]
    return _table(("RUN", "STARTED", "TOOK", "COMMAND", "STATUS", "ASSETS", "SELECTION"), rows, flex=6)


def _selection_text(run: RunRecord) -> str:
    if run.origin == "import":
        return "(imported from dbt) " + " ".join(_option_text(k, v) for k, v in run.selection.items())
    parts = []
    for key, value in run.selection.items():
        if key == "retry_of":
            parts.append(f"retry of run {value}")
        elif key == "select_ids":
            parts.append(f"--select-ids ({value} ids)")
        else:
            parts.append(_option_text(key, value))
    return " ".join(parts)


def _option_text(key: str, value: object) -> str:
    return f"--{key.replace('_', '-')} {' '.join(map(str, value)) if isinstance(value, list) else value}"


def render_run(
    run: RunRecord, results: Sequence[AssetResult], logs: Sequence[DbtLog], *, wide: bool = False
) -> str:
    """``dbt-assets history show``: the run, then each asset's result (fitting :data:`WIDTH`
    columns unless ``wide``: then full unique_ids and messages)."""
    lines = [
        f"run {run.run_id}: dbt {run.command}, {run.status}"
        + (f" (exit {run.exit_code})" if run.exit_code is not None else ""),
        f"  started   {_when(run.started_at)}",
        f"  finished  {_when(run.finished_at)}",
        f"  argv      {shlex.join(['dbt', *run.argv]) if run.argv else '(imported from dbt)'}",
        f"  selection {_selection_text(run) or '(everything)'}",
        f"  dbt       {run.dbt_version or ''}  invocation {run.invocation_id or ''}",
    ]
    lines += [f"  target    {run.target}"] if run.target else []
    lines += [f"  message   {run.message}"] if run.message else []
    text = "\n".join(lines) + "\n\n"
    rows = [
        (
            r.unique_id if wide else _fit(short_id(r.unique_id), _NAME_WIDTH),
            r.status,
            duration_text(r.execution_time),
            "" if r.rows_affected is None else str(r.rows_affected),
            " ".join(meaningful_lines(r.message))
            if r.message
            else ", ".join(uid if wide else short_id(uid) for uid in r.skipped_because[:2]),
        )
        for r in results
    ]
    header = ("ASSET", "STATUS", "TIME", "ROWS", "MESSAGE")
    text += (_table(header, rows, flex=None if wide else 4)) if rows else "no asset results\n"
    failed = [r for r in results if r.message and r.status in FAILURE_STATUSES]
    if failed:
        text += "\nerrors (dbt's words):\n"
        text += "".join(
            f"  {r.unique_id}:\n" + "".join(f"{line}\n" for line in _error(r.message, "    ")) for r in failed
        )
    shown = [log for log in logs if log.level in ("warn", "error", "output")]
    if shown:
        text += "\ndbt output kept with the run:\n" + "".join(
            f"  [{log.level}] {log.message}\n" for log in shown
        )
    return text


def asset_label(graph: AssetGraph, unique_id: str) -> str:
    """``model orders``, ``model customer_segments.v2``, ``test unique_orders_order_id``."""
    record = graph.records.get(unique_id)
    return unique_id if record is None else f"{record.resource_type} {record.search_name}"


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, the cut shown (``…``)."""
    return text if len(text) <= width else text[: width - 1] + "…"


_NAME_WIDTH = 48
"""How much of an asset's name a table shows before it cuts (``-o wide``: all of it)."""


def render_status(
    graph: AssetGraph, rows: Sequence[tuple[str, AssetStatus | None]], now: float, *, wide: bool = False
) -> str:
    """``dbt-assets status``: per asset (``model orders``; ``-o json`` and ``-o wide`` have the
    unique_ids), its last status, how long ago it last ran and last succeeded. ``wide``: the
    times themselves too, and no cut to :data:`WIDTH` columns."""
    table = []
    for uid, status in rows:
        name = uid if wide else asset_label(graph, uid)  # a test's unique_id is ~90 characters
        if status is None:
            table.append((name, "never run", "", "", "") + (("", "") if wide else ()))
            continue
        ran, success = status.last_at, status.last_success_at
        cells = (
            name,
            status.last_status or "",
            _ago(now, ran),
            _ago(now, success) if success is not None else "never",
            duration_text(status.last_execution_time),
        )
        table.append(cells + ((_when(ran), _when(success)) if wide else ()))
    header = ("ASSET", "LAST STATUS", "LAST RUN", "LAST SUCCESS", "EXEC TIME")
    if wide:
        return _table((*header, "LAST RUN AT", "LAST SUCCESS AT"), table)
    return _table(header, table, flex=0)


def _ago(now: float, epoch: float | None) -> str:
    """How long ago: ``42s ago``, ``3m07s ago``, ``1d ago``."""
    if epoch is None:
        return ""
    seconds = max(0.0, now - epoch)
    return f"{int(seconds)}s ago" if seconds < 60 else f"{duration_text(seconds)} ago"


# --- SLAs -------------------------------------------------------------------------------

_MARKS = {"ok": "ok", "warn": "WARN", "breached": "BREACHED", "at_risk": "AT RISK", "unknown": "unknown"}


def _sla_line(result: SlaResult) -> str:
    return f"  {_MARKS.get(result.status, result.status):<9} {result.sla:<13} {result.message}"


def render_sla_results(graph: AssetGraph, results: Sequence[SlaResult], at: str) -> str:
    """``dbt-assets sla check`` as text: each asset, its SLAs, then the counts."""
    lines = [f"SLAs as of {at}:"]
    current = None
    for result in results:
        if result.unique_id != current:
            current = result.unique_id
            lines.append(result.unique_id)
        lines.append(_sla_line(result))
        path = result.details.get("critical_path")
        if result.status == "at_risk" and path:
            lines.append(f"            critical path: {' -> '.join(path)}")
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    if not results:
        lines.append("  no SLAs declared for the selection (dbt_assets.yml, config.meta.dbt_assets.sla)")
    else:
        lines.append(" · ".join(f"{status} {counts[status]}" for status in sorted(counts)))
    return "\n".join(lines) + "\n"


def _last_run_text(run: LastRun) -> str:
    if run.status is None:
        return "no run recorded"
    text = f"last run {run.run_id}: {run.status} at {run.at}"
    text += f"; last success {run.last_success_at}" if run.last_success_at else "; never succeeded"
    return text


def _error(message: str | None, indent: str) -> list[str]:
    """dbt's error as it said it (its meaningful lines, not only the first), indented."""
    return [f"{indent}{line}" for line in meaningful_lines(message)[:12]]


def render_explanation(explanation: Explanation) -> str:
    """``dbt-assets why`` as text."""
    lines = [f"{explanation.unique_id}: {_last_run_text(explanation.last_run)}"]
    if explanation.last_run.status not in (None, "success"):
        lines += _error(explanation.last_run.message, "  ")
    if not explanation.results:
        lines.append("  no SLA declared")
    lines += [_sla_line(r) for r in explanation.results]
    for result in explanation.results:
        path = result.details.get("critical_path")
        if result.status == "at_risk" and path:
            estimate = duration_text(result.details.get("estimate"))
            lines.append(f"  critical path ({estimate}): {' -> '.join(path)}")
    troubled = any(r.status in ("breached", "warn", "at_risk") for r in explanation.results)
    if explanation.causes:
        lines.append("Upstream causes (nearest first; * = root cause):")
        for cause in explanation.causes:
            mark = "*" if cause.root else " "
            lines.append(f" {mark} {cause.unique_id} ({cause.distance} up): {'; '.join(cause.reasons)}")
            lines.append(f"      {_last_run_text(cause.last_run)}")
            if cause.last_run.status not in (None, "success", "pass"):
                lines += _error(cause.last_run.message, "      ")
            lines += [f"      fix: {cause.fix}"] if cause.fix else []
    elif explanation.last_run.status is None:
        lines.append(f"It has never run here, and nothing upstream is the cause. Fix: {explanation.fix}")
    elif explanation.last_run.status not in ("success", "pass", "no-op"):
        lines.append(
            f"No upstream asset failed or is missing: its own run did (above). Fix: {explanation.fix}"
        )
    elif troubled:
        lines.append("No upstream asset failed or is late: the asset itself is the cause.")
    return "\n".join(lines) + "\n"


def render_run_slas(results: Sequence[SlaResult], troubled: Sequence[str] = ()) -> str:
    """The SLA part of a run's summary: which SLAs the run's assets met or missed, and, after a
    failure, what it did to them (``troubled``: the assets that failed or were skipped)."""
    missed = [r for r in results if r.status in ("breached", "warn", "at_risk")]
    if not results and not troubled:
        return ""
    met = sum(1 for r in results if r.status == "ok")
    lines = [f"SLAs: {met} met, {len(missed)} missed or at risk, {len(results) - met - len(missed)} unknown"]
    for result in missed:
        lines.append(f"  {_MARKS[result.status]} {result.unique_id} {result.sla}: {result.message}")
    if troubled and not {r.unique_id for r in missed} & set(troubled):
        with_sla = {r.unique_id for r in results} & set(troubled)
        assets = "asset" if len(troubled) == 1 else "assets"
        have = "has SLAs" if len(with_sla) == 1 else "have SLAs"
        lines.append(
            f"  this run's {len(troubled)} failed or skipped {assets}: "
            + (
                f"{len(with_sla)} {have}, none breached by this failure yet"
                if with_sla
                else "none declares an SLA, so no SLA reports the failure"
            )
        )
    return "\n".join(lines) + "\n"
