"""What the run history says about each asset, folded into one small record per asset.

SLAs are judged from a handful of facts per asset (its last result, its last success, how
many runs in a row failed, its recent execution times), not from every result ever recorded.
The history keeps these facts up to date as results arrive (:func:`fold`, one result at a
time), so judging 10,000 assets with a year of daily runs reads 10,000 small rows instead
of 3.65 million results. For a moment in the past the same :func:`fold` replays the results
recorded up to then (:func:`facts_from_rows`), so both ways give the same facts by construction.

    >>> facts = fold(None, ResultRow("model.p.a", 1, "success", 0.0, 10.0, 10.0, None))
    >>> facts.last_success_at, facts.consecutive_failures, facts.recent
    (10.0, 0, [[10.0, 10.0]])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import msgspec

from dbt_assets.run.events import FAILURE_STATUSES, NOT_REACHED, SUCCESS_STATUSES

RECENT = 20
"""How many recent successes (finish time, execution time) each asset keeps."""
RUNNING = "running"


class AssetFacts(msgspec.Struct, frozen=True):
    """One asset's history in brief, as of some moment."""

    unique_id: str
    first_at: float | None = None
    """When its first recorded result started (or finished)."""
    last_status: str | None = None
    last_run_id: int | None = None
    last_started_at: float | None = None
    last_finished_at: float | None = None
    last_execution_time: float | None = None
    last_message: str | None = None
    last_success_at: float | None = None
    last_success_run_id: int | None = None
    consecutive_failures: int = 0
    """Failed results (error, fail, runtime error) since the last success."""
    recent: list[list[float]] = []
    """The last :data:`RECENT` successes as ``[finished_at, execution_time]``, oldest first."""
    running_since: float | None = None
    """When the asset started running, while it runs."""
    max_loaded_at: float | None = None
    """For a source: its newest row's load time at the last freshness check."""
    loads: list[list[float]] = []
    """For a source: the last :data:`RECENT` changes of its newest row's load time, each
    ``[checked_at, max_loaded_at]`` from the freshness check that first saw it: when new data
    was seen (on dbt-assets' clock) and what it was (on the warehouse's). The first check
    sets the baseline: it is not a change."""

    @property
    def last_at(self) -> float | None:
        return self.last_finished_at if self.last_finished_at is not None else self.last_started_at


class ResultRow(NamedTuple):
    """One recorded asset result, as :func:`fold` reads it."""

    unique_id: str
    run_id: int
    status: str
    started_at: float | None
    finished_at: float | None
    execution_time: float | None
    max_loaded_at: float | None
    message: str | None = None

    @property
    def at(self) -> float | None:
        return self.finished_at if self.finished_at is not None else self.started_at


def fold(facts: AssetFacts | None, row: ResultRow) -> AssetFacts:
    """The facts after one more result (results must come in the order they finished)."""
    if row.status == NOT_REACHED:  # the run stopped before it: nothing happened to the asset
        return facts if facts is not None else AssetFacts(row.unique_id)
    if facts is None:
        facts = AssetFacts(row.unique_id, first_at=row.started_at if row.started_at is not None else row.at)
    current = facts
    if row.status == RUNNING:
        return msgspec.structs.replace(current, running_since=row.started_at)
    changes: dict[str, object] = {
        "last_status": row.status,
        "last_run_id": row.run_id,
        "last_started_at": row.started_at,
        "last_finished_at": row.finished_at,
        "last_execution_time": row.execution_time,
        "last_message": row.message,
        "running_since": None,
    }
    if row.status in SUCCESS_STATUSES:
        done = row.at if row.at is not None else 0.0
        changes["last_success_at"] = done
        changes["last_success_run_id"] = row.run_id
        changes["consecutive_failures"] = 0
        changes["recent"] = [*current.recent, [done, row.execution_time or 0.0]][-RECENT:]
    elif row.status in FAILURE_STATUSES:
        changes["consecutive_failures"] = current.consecutive_failures + 1
    if row.max_loaded_at is not None:
        changes["max_loaded_at"] = row.max_loaded_at
        if current.max_loaded_at is not None and row.max_loaded_at != current.max_loaded_at:
            seen = row.at if row.at is not None else row.max_loaded_at
            changes["loads"] = [*current.loads, [seen, row.max_loaded_at]][-RECENT:]
    return msgspec.structs.replace(current, **changes)


def as_of(row: ResultRow, at: float) -> ResultRow | None:
    """A result as it stood at ``at``: None when it had not started, running when it had
    not finished yet."""
    start = row.started_at if row.started_at is not None else row.finished_at
    if start is None or start > at:
        return None
    if row.finished_at is not None and row.finished_at > at:
        return row._replace(status=RUNNING, finished_at=None)
    return row


def facts_from_rows(rows: Iterable[ResultRow], at: float | None = None) -> dict[str, AssetFacts]:
    """Fold results (ordered by asset, then finish time) into facts, as of ``at`` if given."""
    found: dict[str, AssetFacts] = {}
    for row in rows:
        if row.status == NOT_REACHED:
            continue
        if at is not None:
            seen = as_of(row, at)
            if seen is None:
                continue
            row = seen
        found[row.unique_id] = fold(found.get(row.unique_id), row)
    return found


ENCODER = msgspec.json.Encoder()
DECODER = msgspec.json.Decoder(AssetFacts)
LIST_DECODER = msgspec.json.Decoder(list[AssetFacts])
