"""What the orchestrator adapters say about an automation tick: the due assets with the
condition that fired and its reason, and, when nothing is due, why (the Dagster sensor's skip
reason, the Airflow task's skip message, the Prefect flow run's message).

    >>> tick = automation_tick(project, history, dry_run=True)  # doctest: +SKIP
    >>> due_lines(tick)  # doctest: +SKIP
    ['due: order_count (on_missing): never built here']
    >>> nothing_due(tick)  # doctest: +SKIP
    'nothing due at 2026-05-04T09:00Z: 19 assets decided: 10 no new data (customers: no new ...'
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dbt_assets import Tick


def when(epoch: float) -> str:
    """A moment as the CLI writes it: ``2026-05-04T09:00Z``."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="minutes").replace("+00:00", "Z")


def _name(tick: Tick, unique_id: str) -> str:
    record = tick.world.graph.records.get(unique_id)
    return record.search_name if record is not None else unique_id


def _line(text: str) -> str:
    return " ".join(text.split())


def due_lines(tick: Tick) -> list[str]:
    """One line per due asset: its name, the condition that fired and the reason."""
    said = tick.sources.said()
    lines = [f"dbt-assets: {said}"] if said else []
    for d in tick.decisions.decided:
        if d.decision == "run":
            lines.append(f"due: {_name(tick, d.unique_id)} ({d.condition}): {_line(d.reason)}")
    return lines


def nothing_due(tick: Tick) -> str:
    """Why a tick found nothing due: the assets decided counted by reason, one example each."""
    decided = [d for d in tick.decisions.decided if d.decision == "skip"]
    head = f"nothing due at {when(tick.at)}"
    if not tick.decisions.decided:
        return f"{head}: no model, seed or snapshot in the selection"
    counts = Counter(d.code for d in decided)
    example = {d.code: d for d in reversed(decided)}
    parts = []
    for code, n in counts.most_common():
        one = example[code]
        parts.append(f"{n} {code.replace('_', ' ')} ({_name(tick, one.unique_id)}: {_line(one.reason)})")
    said = tick.sources.said()
    return (
        f"{head}: {len(decided)} asset(s) decided: {'; '.join(parts)}"
        + (f"; {said}" if said else "")
        + " (`dbt-assets automate --explain ASSET` says when one is next due)"
    )
