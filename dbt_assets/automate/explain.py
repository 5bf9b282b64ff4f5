"""``automate --explain ASSET``: an asset's recorded decisions, its conditions in words, what a
tick decides for it now, and when it is next expected to be due.

The next due time is the earliest moment a condition says it will fire on what is known now:
the end of a ``build_after`` window or a ``lag_tolerance`` over data already new, a cron's
next tick, the start a deadline needs (``keep_slas``), a retry's pause. New data that has not
arrived yet cannot be foreseen: an asset waiting for it has no next due time, and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dbt_assets.automate.config import describe
from dbt_assets.history.automation import Decided, DecisionRecord
from dbt_assets.history.store import History
from dbt_assets.run.project import Project

_FUTURE_KEYS = ("due_at", "start_by", "next")


@dataclass(frozen=True)
class AutomationExplanation:
    unique_id: str
    conditions: list[str]
    """How it is decided, in words."""
    now: Decided
    """What a tick decides for it as of ``at``."""
    at: float
    next_due: float | None
    """When it is next expected to be due (None: on new data only, or never)."""
    recent: list[DecisionRecord]
    """Its recorded decisions, newest first."""


def next_due(decided: Decided, at: float) -> float | None:
    """The earliest future moment a decision's facts say it fires (see the module docstring)."""
    if decided.decision == "run":
        return at
    return _earliest(decided.data, at)


def _earliest(data: Mapping[str, Any], at: float) -> float | None:
    found = []
    for key in _FUTURE_KEYS:
        value = data.get(key)
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value).timestamp()
            except ValueError:
                continue
            found.append(max(moment, at))
    return min(found, default=None)


def next_due_times(decisions: list[Decided], at: float) -> dict[str, float]:
    """Each asset's next due time, where one is known."""
    found = {}
    for decided in decisions:
        when = next_due(decided, at)
        if when is not None:
            found[decided.unique_id] = when
    return found


def explain(
    project: Project, history: History, unique_id: str, *, at: float | None = None, limit: int = 10
) -> AutomationExplanation:
    from dbt_assets._core.errors import AssetNotFoundError
    from dbt_assets.automate.tick import Automation, TickOptions

    automation = Automation(project, history, TickOptions(check_sources=False))
    graph, policies, _ = automation.graph()
    uid = unique_id if unique_id in graph.records else graph.find(unique_id)
    if uid not in policies:
        kind = graph.records[uid].resource_type
        raise AssetNotFoundError(
            f"{uid} is not decided by automation (a {kind}; automation builds models, seeds and snapshots)",
            "explain a model, seed or snapshot of the selection",
        )
    tick = automation.tick(at, dry_run=True)
    decided = tick.decisions.of(uid)
    assert decided is not None
    return AutomationExplanation(
        unique_id=uid,
        conditions=describe(policies[uid]),
        now=decided,
        at=tick.at,
        next_due=next_due(decided, tick.at),
        recent=history.decisions(uid, limit),
    )
