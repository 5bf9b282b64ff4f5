"""A change review as text for a terminal and as markdown for a pull-request comment.

Both read the same :class:`~dbt_assets.diff.model.ChangeReview` in its stable order, so the same
artifacts give the same bytes. The markdown has the numbers, the columns and the breaking
class in tables, and stays under ``max_chars`` (GitHub takes 65,536 characters a comment): past
it, each table is cut at a row with the count left out and a pointer to the full report.

    >>> print(review_markdown(review, report_url="https://ci.example/report.html"))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterable

from dbt_assets._core.durations import duration_text
from dbt_assets.diff.model import AssetChange, ChangeReview, DataDiff, DeadlineRisk

LISTED = 20
"""How many names a list shows before it says how many more (``-o json`` has them all)."""
MAX_MARKDOWN = 60_000
"""The default cap of the markdown (GitHub's limit for a comment is 65,536 characters)."""


def kind_words(change: AssetChange) -> list[str]:
    """Each kind of change with what exactly changed: ``body (+1 -1 lines)``, ``configs
    (materialized: view → table)``, ``macros (cents_to_dollars)``."""
    details = {
        "body": f"+{change.body.get('added', 0)} -{change.body.get('removed', 0)} lines"
        if change.body
        else "",
        "configs": ", ".join(_value_change(c.key, c.before, c.after) for c in change.configs),
        "relation": ", ".join(_value_change(c.key, c.before, c.after) for c in change.relation),
        "macros": ", ".join(m.rsplit(".", 1)[-1] for m in change.macros),
        "persisted_descriptions": ", ".join(change.descriptions),
    }
    return [f"{kind} ({details[kind]})" if details.get(kind) else kind for kind in change.kinds]


def column_words(change: AssetChange) -> str:
    """Declared columns added, removed or retyped: ``+payment_count -email ~id (int → text)``
    (left out for a new or removed asset, whose every column is new or gone)."""
    if "new" in change.kinds or "removed" in change.kinds:
        return ""
    return " ".join(_column(c.name, c.change, c.before, c.after) for c in change.columns)


def change_words(change: AssetChange) -> list[str]:
    """What changed, in short phrases: the kinds with their details, then the columns."""
    columns = column_words(change)
    return kind_words(change) + ([f"columns {columns}"] if columns else [])


def _value_change(key: str, before: object, after: object) -> str:
    return f"{key}: {_value(before)} → {_value(after)}"


def _column(name: str, change: str, before: str | None, after: str | None) -> str:
    if change == "added":
        return f"+{name}"
    if change == "removed":
        return f"-{name}"
    return f"~{name} ({before or '?'} → {after or '?'})"


def _value(value: object) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, sort_keys=True)


def cost_words(review: ChangeReview) -> str:
    cost = review.cost
    if not cost.assets:
        return "nothing to build"
    basis = "no recorded runs" if cost.basis == "none" else f"p90 from {cost.basis}"
    text = f"{duration_text(cost.work) or '0s'} of work for {cost.known} of {cost.assets} runs ({basis})"
    if cost.path:
        text += f"; longest chain {duration_text(cost.critical_path) or '0s'}"
    if cost.unknown:
        text += f"; unknown for {len(cost.unknown)} (never run): " + _names(review, cost.unknown, 8)
    return text


def _names(review: ChangeReview, ids: Iterable[str], limit: int | None = None) -> str:
    names = [review.names.get(uid, uid) for uid in ids]
    if limit is not None and len(names) > limit:
        return ", ".join(names[:limit]) + f" and {len(names) - limit} more"
    return ", ".join(names)


def deadline_words(review: ChangeReview, risk: DeadlineRisk) -> str:
    text = f"{risk.name}: deadline {risk.deadline} ({risk.timezone})"
    if risk.next_due:
        text += f", next due {risk.next_due}"
    if risk.estimate is not None:
        text += f"; with the change about {duration_text(risk.estimate) or '0s'} of work left"
    if risk.estimated_finish:
        text += f", done {risk.estimated_finish}"
    text += f" (without the change: {risk.without_change})"
    if risk.unknown:
        text += f"; unknown cost: {_names(review, risk.unknown, 5)}"
    return text


def data_words(diff: DataDiff) -> str:
    """One comparison in a line."""
    if diff.status == "error":
        return f"ERROR: {diff.reason}"
    if diff.status == "not_compared":
        rows = f" (CI rows {diff.rows_ci})" if diff.rows_ci is not None else ""
        return f"not compared: {diff.reason}{rows}"
    parts = [f"rows {diff.rows_prod} → {diff.rows_ci}"]
    if diff.schema:
        parts.append("schema " + " ".join(_column(c.name, c.change, c.before, c.after) for c in diff.schema))
    if diff.changed is not None:
        changed = ", ".join(f"{name} {n}" for name, n in diff.changed_by_column.items() if n)
        parts.append(
            f"by {', '.join(diff.key)}: {diff.added} added, {diff.removed} removed, {diff.changed} changed"
            + (f" ({changed})" if changed else "")
        )
    if diff.reason:
        parts.append(diff.reason)
    if diff.duplicate_keys:
        parts.append("duplicated keys " + ", ".join(f"{k} {v}" for k, v in diff.duplicate_keys.items()))
    parts += [f"{name} {what}" for name, what in diff.not_compared_columns.items()]
    return "; ".join(parts)


# --- text -------------------------------------------------------------------------------------


def review_text(review: ChangeReview) -> str:
    """The review for a terminal."""
    lines = [_headline(review), ""]
    if not review.changed:
        lines.append("No change: state:modified selects nothing.")
        return "\n".join(lines) + "\n"
    lines.append("Changed (dbt's state:modified kinds)")
    width = min(40, max(len(f"{c.resource_type} {c.name}") for c in review.changed))
    for change in review.changed:
        label = f"{change.resource_type} {change.name}".ljust(width)
        lines.append(f"  {label}  {'; '.join(change_words(change))}")
        lines += [f"  {'':{width}}  BREAKING: {b}" for b in change.breaking]
    lines += ["", f"Downstream by owner ({len(review.downstream)} downstream, {review.checks} tests)"]
    for owner in review.owners:
        parts = []
        if owner.changed:
            parts.append("changed " + _names(review, owner.changed, LISTED))
        if owner.downstream:
            parts.append("downstream " + _names(review, owner.downstream, LISTED))
        lines.append(f"  {owner.owner}: {'; '.join(parts)}")
    if review.exposures:
        lines += ["", "Exposures reached"]
        for exposure in review.exposures:
            about = ", ".join(
                x for x in (exposure.type, exposure.maturity and f"maturity {exposure.maturity}") if x
            )
            owners = ", ".join(exposure.owners)
            lines.append(
                f"  {exposure.label or exposure.name} ({about}; {owners or 'no owner'})"
                f"{' ' + exposure.url if exposure.url else ''} via {_names(review, exposure.via, LISTED)}"
            )
    if review.slas:
        lines += ["", "SLAs of the assets affected"]
        lines += [f"  {s.name}{' (changed)' if s.changed else ''}: {', '.join(s.sla)}" for s in review.slas]
    lines += ["", f"Predicted cost of state:modified+: {cost_words(review)}"]
    if review.deadlines:
        lines += ["", f"Deadlines (as of {review.at})"]
        lines += [f"  {d.status:<9} {deadline_words(review, d)}" for d in review.deadlines]
    if review.build is not None:
        build = review.build
        counts = ", ".join(f"{k} {v}" for k, v in sorted(build.counts.items()))
        lines += ["", f"CI build: {build.status} (exit {build.exit_code}; {counts})"]
        lines += [f"  failed: {_names(review, build.failed, LISTED)}"] if build.failed else []
    if review.data is not None:
        lines += ["", "Data: the CI build against production"]
        lines += [f"  {d.name}: {data_words(d)}" for d in review.data]
        if not review.data:
            lines.append("  no changed model, seed or snapshot to compare")
    return "\n".join(lines) + "\n"


def _headline(review: ChangeReview) -> str:
    removed = sum(1 for c in review.changed if "removed" in c.kinds)
    changed = len(review.changed) - removed
    against = ", ".join(
        x
        for x in (review.state_dbt_version and f"dbt {review.state_dbt_version}", review.state_generated_at)
        if x
    )
    text = f"dbt-assets diff against {review.state}" + (f" ({against})" if against else "")
    text += f": {changed} changed, {removed} removed, {len(review.breaking)} breaking"
    text += f", {len(review.downstream)} downstream"
    if review.at_risk:
        text += f", {len(review.at_risk)} deadline(s) put at risk"
    return text


# --- markdown --------------------------------------------------------------------------------


def md(text: object) -> str:
    """Text safe in a markdown table cell: no pipe, no HTML, on one line."""
    value = str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;")
    return " ".join(value.replace("`", "'").split())


def _code(text: str) -> str:
    return f"`{md(text)}`"


def review_markdown(
    review: ChangeReview, *, max_chars: int = MAX_MARKDOWN, report_url: str | None = None
) -> str:
    """The review as a pull-request comment (see the module docstring)."""
    blocks: list[tuple[str, list[str], list[str], str]] = []  # heading, table head, rows, what a row is

    def table(heading: str, head: list[str], rows: list[list[str]], what: str) -> None:
        if rows:
            header = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            blocks.append((heading, header, ["| " + " | ".join(r) + " |" for r in rows], what))

    table(
        "### Changed assets",
        ["asset", "type", "change (dbt's state:modified kinds)", "breaking", "columns"],
        [
            [
                _code(c.name),
                c.resource_type,
                md(", ".join(kind_words(c))),
                f"**yes**: {md('; '.join(c.breaking))}" if c.breaking else "no",
                md(column_words(c)) or "-",
            ]
            for c in review.changed
        ],
        "changed assets",
    )
    table(
        "### Downstream by owner",
        ["owner", "changed", "downstream", "exposures"],
        [
            [
                md(o.owner),
                md(_names(review, o.changed, LISTED)),
                md(_names(review, o.downstream, LISTED)),
                md(_names(review, o.exposures, LISTED)),
            ]
            for o in review.owners
        ],
        "owners",
    )
    table(
        "### Exposures reached",
        ["exposure", "type", "owners", "via"],
        [
            [
                _code(e.label or e.name),
                md(e.type or ""),
                md(", ".join(e.owners)),
                md(_names(review, e.via, LISTED)),
            ]
            for e in review.exposures
        ],
        "exposures",
    )
    table(
        "### SLAs of the assets affected",
        ["asset", "changed", "SLA"],
        [[_code(s.name), "yes" if s.changed else "no", md(", ".join(s.sla))] for s in review.slas],
        "SLAs",
    )
    table(
        "### Deadlines",
        [
            "asset",
            "deadline",
            "next due",
            "with the change",
            "without",
            "work left",
            "predicted done",
            "unknown cost",
        ],
        [
            [
                _code(d.name),
                md(f"{d.deadline} ({d.timezone})"),
                md(d.next_due or "-"),
                f"**{d.status}**" if d in review.at_risk else d.status,
                d.without_change,
                duration_text(d.estimate) or "-",
                md(d.estimated_finish or "-"),
                md(_names(review, d.unknown, LISTED)) or "-",
            ]
            for d in review.deadlines
        ],
        "deadlines",
    )
    if review.data is not None:
        table(
            "### Data: CI build against production",
            ["model", "status", "rows prod → CI", "schema", "key", "added", "removed", "changed", "notes"],
            [_data_row(d) for d in review.data],
            "comparisons",
        )
    head = _markdown_head(review)
    tail = [f"Full report: {report_url}"] if report_url else []
    return _fit(head, blocks, tail, max_chars, report_url)


def _data_row(diff: DataDiff) -> list[str]:
    schema = " ".join(_column(c.name, c.change, c.before, c.after) for c in diff.schema)
    rows = (
        f"{diff.rows_prod} → {diff.rows_ci}"
        if diff.rows_prod is not None
        else (f"- → {diff.rows_ci}" if diff.rows_ci is not None else "-")
    )
    notes = [diff.reason or ""] if diff.reason else []
    notes += [f"{name}: {what}" for name, what in diff.not_compared_columns.items()]
    notes += [f"changed {name}: {n}" for name, n in diff.changed_by_column.items() if n]
    return [
        _code(diff.name),
        "**error**" if diff.status == "error" else diff.status.replace("_", " "),
        rows,
        md(schema) or "-",
        md(", ".join(diff.key)) or "-",
        count(diff.added),
        count(diff.removed),
        count(diff.changed),
        md("; ".join(notes)) or "-",
    ]


def count(value: int | None) -> str:
    return "-" if value is None else str(value)


def _markdown_head(review: ChangeReview) -> list[str]:
    removed = sum(1 for c in review.changed if "removed" in c.kinds)
    facts = [
        f"**{len(review.changed) - removed}** changed",
        f"**{removed}** removed",
        f"**{len(review.breaking)}** breaking",
        f"**{len(review.downstream)}** downstream",
        f"**{review.checks}** tests",
        f"**{len(review.exposures)}** exposures",
        f"**{len(review.at_risk)}** deadlines put at risk",
    ]
    lines = ["## dbt-assets diff", "", " · ".join(facts), ""]
    if not review.changed:
        lines += ["No change: `state:modified` selects nothing.", ""]
    lines += [f"Predicted cost of `state:modified+`: {md(cost_words(review))}", ""]
    if review.build is not None:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(review.build.counts.items()))
        lines += [f"CI build: **{review.build.status}** ({md(counts)})", ""]
    if review.errors:
        lines += [
            f"**{len(review.errors)} comparison(s) failed**: " + md(", ".join(d.name for d in review.errors)),
            "",
        ]
    return lines


def _fit(
    head: list[str],
    blocks: list[tuple[str, list[str], list[str], str]],
    tail: list[str],
    max_chars: int,
    report_url: str | None,
) -> str:
    full = head + [line for h, t, rows, _ in blocks for line in (h, "", *t, *rows, "")] + tail
    text = "\n".join(full).rstrip("\n") + "\n"
    if len(text) <= max_chars:
        return text
    pointer = (
        f"The full review is in the report: {report_url}"
        if report_url
        else "The full review: `dbt-assets diff -o json`"
    )
    budget = max_chars - len(pointer) - 200 * (len(blocks) + 1)
    out = list(head)
    used = sum(len(line) + 1 for line in out)
    cut = False
    for heading, table_head, rows, what in blocks:
        if cut or used + len(heading) + sum(len(x) + 1 for x in table_head) > budget:
            out += [heading, "", f"{len(rows)} {what} left out.", ""]
            cut = True
            continue
        out += [heading, "", *table_head]
        used += len(heading) + sum(len(x) + 1 for x in table_head) + 2
        for i, row in enumerate(rows):
            if used + len(row) + 1 > budget:
                out.append("")
                out.append(f"… and {len(rows) - i} more {what}.")
                cut = True
                break
            out.append(row)
            used += len(row) + 1
        out.append("")
    out.append(pointer)
    return "\n".join(out).rstrip("\n")[:max_chars].rstrip("\n") + "\n"
