"""Automation's conditions: small pure operands of (asset, world) → a verdict with its reason.

Each condition reads only the tick's :class:`~.snapshot.World` and the asset's
:class:`~.config.Policy`; none reads the history or the clock. They combine as Dagster's do:
``a | b`` fires when either fires (the first that does speaks), ``a & b`` when both do, and
``~a`` when ``a`` does not::

    missing() | code_changed() | new_data(build_after)

A verdict says whether it fires, which condition, a stable ``code`` for the reason (a decision
is recorded again only when it changes), one sentence a person can read, the facts behind it,
and ``evidence_at``: when the data that made it fire appeared (a condition that already led to
a failed attempt with that data does not fire again: retry decides).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dbt_assets._core.durations import duration_text, percentile
from dbt_assets._core.vocab import FAILURE_STATUSES
from dbt_assets.automate.config import DEFAULT_MARGIN, DEFAULT_MAX_FAILURES, BuildAfter, Policy
from dbt_assets.automate.snapshot import Change, World, checksum_of
from dbt_assets.history.facts import AssetFacts
from dbt_assets.sla.schedule import Deadline


@dataclass(frozen=True)
class Verdict:
    fires: bool
    condition: str | None
    code: str
    reason: str
    data: dict[str, Any] = field(default_factory=dict)
    evidence_at: float | None = None
    pull: tuple[str, ...] = ()
    """Upstream assets that must be built with it (keep_slas: what it needs)."""


@dataclass(frozen=True)
class Asset:
    """One asset as conditions see it: its id, policy, facts and the world; plus the assets
    this tick already plans (whose new data its children may count on)."""

    uid: str
    policy: Policy
    world: World
    planned: AbstractSet[str] = frozenset()

    @property
    def facts(self) -> AssetFacts | None:
        return self.world.facts.get(self.uid)

    @property
    def name(self) -> str:
        return self.world.graph.records[self.uid].search_name

    def name_of(self, uid: str) -> str:
        record = self.world.graph.records[uid]
        return f"{record.resource_type} {record.search_name}"


Operand = Callable[[Asset], Verdict]


class Condition:
    """A condition: call it with an :class:`Asset`; combine with ``|``, ``&`` and ``~``."""

    def __init__(self, name: str, operand: Operand) -> None:
        self.name = name
        self.operand = operand

    def __call__(self, asset: Asset) -> Verdict:
        return self.operand(asset)

    def __or__(self, other: Condition) -> Condition:
        def either(asset: Asset) -> Verdict:
            first = self(asset)
            if first.fires:
                return first
            second = other(asset)
            if second.fires or (first.code in _PLAIN and second.code not in _PLAIN):
                return second  # the reason that says more about why it is not due
            return first

        return Condition(f"{self.name} | {other.name}", either)

    def __and__(self, other: Condition) -> Condition:
        def both(asset: Asset) -> Verdict:
            first = self(asset)
            return other(asset) if first.fires else first

        return Condition(f"{self.name} & {other.name}", both)

    def __invert__(self) -> Condition:
        def negated(asset: Asset) -> Verdict:
            verdict = self(asset)
            return Verdict(not verdict.fires, verdict.condition, verdict.code, verdict.reason, verdict.data)

        return Condition(f"~{self.name}", negated)


_PLAIN = frozenset({"built", "code_same", "code_unknown", "built_elsewhere", "not_failed", "no_condition"})
"""Reasons a condition does not fire that say nothing about when the asset will be due."""


def never(reason: str = "no condition declared for it") -> Condition:
    return Condition("never", lambda a: Verdict(False, None, "no_condition", reason))


def iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def ago(asset: Asset, at: float) -> str:
    return duration_text(max(0.0, asset.world.now - at)) + " ago"


# --- built or not -----------------------------------------------------------------------


def missing() -> Condition:
    """Never built here (no success in the history): build it."""

    def operand(asset: Asset) -> Verdict:
        facts = asset.facts
        if facts is not None and facts.last_success_at is not None:
            return Verdict(False, "on_missing", "built", f"built here {ago(asset, facts.last_success_at)}")
        return Verdict(True, "on_missing", "missing", "never built here")

    return Condition("on_missing", operand)


def code_changed() -> Condition:
    """Its code changed since automation last built it (comments and whitespace aside)."""

    def operand(asset: Asset) -> Verdict:
        state = asset.world.state.get(asset.uid)
        code_of = asset.world.code_of
        if state is None or state.built_fingerprint is None or code_of is None:
            return Verdict(False, "code_changed", "code_unknown", "automation has not built it yet")
        facts = asset.facts
        if facts is not None and facts.last_success_run_id not in (None, state.built_run_id):
            last = facts.last_success_run_id or 0
            if state.built_run_id is None or last > state.built_run_id:
                return Verdict(False, "code_changed", "built_elsewhere", "built outside automation since")
        checksum, fingerprint = state.built_fingerprint.partition("|")[::2]
        now_checksum = checksum_of(asset.world.graph, asset.uid)
        if now_checksum == checksum or code_of(asset.uid) == fingerprint:  # the file read only here
            return Verdict(False, "code_changed", "code_same", "its code is as automation last built it")
        data = {"checksum_built": checksum, "checksum": now_checksum}
        return Verdict(
            True, "code_changed", "code_changed", "its code changed since automation built it", data
        )

    return Condition("code_changed", operand)


# --- new upstream data ------------------------------------------------------------------


def _changes(asset: Asset, since: float) -> dict[str, Change]:
    """Each parent's new data after ``since``; a parent planned this tick has new data now."""
    found = {}
    for parent in asset.world.parents(asset.uid):
        if parent in asset.planned:
            found[parent] = Change(True, asset.world.now, asset.world.now, parent)
        else:
            found[parent] = asset.world.change(parent, since)
    return found


def _new_data(asset: Asset, require: str) -> tuple[bool, dict[str, Change], str]:
    """Whether the parents have new data since its last build (``any`` or ``all`` of those that
    can tell), each parent's change, and what is missing in words."""
    since = asset.world.last_build_start(asset.uid)
    changes = _changes(asset, since if since is not None else float("-inf"))
    known = {p: c for p, c in changes.items() if c.new is not None and not _static(asset, p, c)}
    new = [p for p, c in known.items() if c.new]
    if require == "all":
        ok = bool(known) and len(new) == len(known)
        lacking = [asset.name_of(p) for p in known if p not in new]
        said = (
            f"no new data yet from {', '.join(lacking)}"
            if lacking
            else "no parent whose new data can be seen"
        )
    else:
        ok = bool(new)
        unseen = [asset.name_of(p) for p, c in changes.items() if c.new is None]
        said = "no new upstream data since its last build"
        if unseen:
            said += (
                f" ({', '.join(unseen[:3])}: new data cannot be seen, no loaded_at_field or freshness check)"
            )
    return ok, {p: changes[p] for p in new}, said


def _static(asset: Asset, parent: str, change: Change) -> bool:
    """A seed whose data never changed: left out of ``all`` (a static seed would block forever)."""
    return asset.world.graph.records[parent].resource_type == "seed" and not change.new


def _evidence(new: dict[str, Change]) -> tuple[float | None, dict[str, Any]]:
    last = max((c.last_at for c in new.values() if c.last_at is not None), default=None)
    data = {"new_data": {p: iso(c.last_at) for p, c in sorted(new.items())}}
    return last, data


def new_data(rule: BuildAfter, name: str = "build_after") -> Condition:
    """dbt's ``build_after``: upstream has new data (any/all parents) and ``count * period``
    has passed since the last successful build."""

    def operand(asset: Asset) -> Verdict:
        ok, new, lacking = _new_data(asset, rule.updates_on)
        if not ok:
            return Verdict(False, name, "no_new_data", lacking)
        evidence, data = _evidence(new)
        facts = asset.facts
        window = f"{duration_text(rule.seconds)}" if rule.seconds else ""
        if facts is not None and facts.last_success_at is not None and rule.seconds:
            due = facts.last_success_at + rule.seconds
            if asset.world.now < due:
                data["due_at"] = iso(due)
                return Verdict(
                    False,
                    name,
                    "inside_window",
                    f"new data from {_names(asset, new)}, but built {ago(asset, facts.last_success_at)}, "
                    f"inside its build_after of {window}: due at {iso(due)}",
                    data,
                    evidence,
                )
        said = f"new data from {_names(asset, new)}" + (
            f" and more than {window} since its last build" if window else ""
        )
        return Verdict(True, name, "new_data", said, data, evidence)

    return Condition(name, operand)


def lag_tolerance(seconds: float, require: str) -> Condition:
    """dbt State: the upstream data has been new for at least ``lag_tolerance`` (measured from
    the first change after the last build, so that frequent loads never starve it)."""

    def operand(asset: Asset) -> Verdict:
        ok, new, lacking = _new_data(asset, require)
        if not ok:
            return Verdict(False, "lag_tolerance", "no_new_data", lacking)
        evidence, data = _evidence(new)
        firsts = [c.first_at for c in new.values() if c.first_at is not None]
        changed = (max(firsts) if require == "all" else min(firsts)) if firsts else asset.world.now
        if asset.world.now - changed < seconds:
            due = changed + seconds
            data["due_at"] = iso(due)
            return Verdict(
                False,
                "lag_tolerance",
                "within_lag",
                f"new data from {_names(asset, new)} {ago(asset, changed)}: within its lag_tolerance of "
                f"{duration_text(seconds)}, due at {iso(due)}",
                data,
                evidence,
            )
        said = f"new data from {_names(asset, new)} since {ago(asset, changed)}, past its lag_tolerance"
        return Verdict(True, "lag_tolerance", "new_data", said, data, evidence)

    return Condition("lag_tolerance", operand)


def eager() -> Condition:
    """Dagster's ``eager()``: any parent has new data since the last build."""
    return new_data(BuildAfter(0.0, "any", declared=True), "eager")


def _names(asset: Asset, new: dict[str, Change]) -> str:
    names = [
        asset.name_of(p)
        if c.via is None or c.via == p
        else f"{asset.name_of(c.via)} (through {asset.name_of(p)})"
        for p, c in sorted(new.items())
    ]
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


# --- time -------------------------------------------------------------------------------


def on_cron(schedule: Deadline) -> Condition:
    """Each tick of a cron: due when no attempt started since the latest tick (a missed tick
    is caught up once)."""

    def operand(asset: Asset) -> Verdict:
        now = asset.world.now
        tick = schedule.latest(now)
        facts = asset.facts
        attempted = None if facts is None else (facts.last_started_at or facts.last_at)
        data = {"tick": iso(tick), "next": iso(schedule.next(now))}
        if attempted is not None and attempted >= tick:
            return Verdict(False, "cron", "cron_done", f"ran since the cron's tick at {iso(tick)}", data)
        return Verdict(True, "cron", "cron", f"the cron {schedule.text} ticked at {iso(tick)}", data, tick)

    return Condition("cron", operand)


def retry(max_failures: int | None, pause: float) -> Condition:
    """A failed asset again after ``pause``, doubled after each further failure, until
    ``max_failures`` failures in a row."""
    limit = max_failures or DEFAULT_MAX_FAILURES

    def operand(asset: Asset) -> Verdict:
        facts = asset.facts
        if facts is None or facts.last_status not in FAILURE_STATUSES:
            return Verdict(False, "retry", "not_failed", "its last run did not fail")
        failures = facts.consecutive_failures
        data: dict[str, Any] = {"failures": failures, "max_failures": limit, "run_id": facts.last_run_id}
        if failures >= limit:
            return Verdict(
                False,
                "retry",
                "retry_exhausted",
                f"failed {failures} times in a row: retries stop at {limit}",
                data,
            )
        wait = pause * 2 ** (failures - 1)
        ended = facts.last_at or asset.world.now
        if asset.world.now < ended + wait:
            data["due_at"] = iso(ended + wait)
            return Verdict(
                False,
                "retry",
                "retry_pause",
                f"failed in run {facts.last_run_id}: retried at {iso(ended + wait)}",
                data,
            )
        return Verdict(
            True, "retry", "retry", f"failed in run {facts.last_run_id} ({failures} in a row): retrying", data
        )

    return Condition("retry", operand)


# --- keeping SLAs ------------------------------------------------------------------------


def keep_slas(margin: float | None) -> Condition:
    """Start early enough that the predicted finish (p90 runtimes along the critical path, as
    ``sla check`` predicts: the world's ``estimate(uid, cycle_start)``) lands ``margin`` before each
    deadline, and rebuild before a freshness SLA expires."""
    gap = DEFAULT_MARGIN if margin is None else margin

    def operand(asset: Asset) -> Verdict:
        sla = asset.policy.sla
        now = asset.world.now
        facts = asset.facts
        success = facts.last_success_at if facts is not None else None
        if sla is not None and sla.deadline is not None:
            schedule = Deadline.parse(sla.deadline, sla.timezone)
            before, due = schedule.latest(now), schedule.next(now)
            if success is None or success <= before:
                estimate = asset.world.estimate
                took, path = estimate(asset.uid, before) if estimate is not None else (0.0, [asset.uid])
                start = due - gap - took
                data = {"deadline": iso(due), "estimate": took, "start_by": iso(start), "critical_path": path}
                if now >= start:
                    reason = (
                        f"the deadline {iso(due)} needs about {duration_text(took) or '0s'} of work "
                        f"(+{duration_text(gap)} margin): started at {iso(now)}"
                    )
                    pull = tuple(p for p in path if p != asset.uid)
                    return Verdict(True, "keep_slas", "deadline", reason, data, None, pull)
                said = f"for the deadline {iso(due)}: starts at {iso(start)}"
                said += f" (about {duration_text(took) or '0s'} of work)"
                return Verdict(False, "keep_slas", "deadline_ahead", said, data)
        if sla is not None and sla.freshness is not None and facts is not None and success is not None:
            took = percentile(t for _, t in facts.recent) or 0.0
            start = success + sla.freshness - gap - took
            data = {"stale_at": iso(success + sla.freshness), "start_by": iso(start)}
            if now >= start:
                return Verdict(
                    True,
                    "keep_slas",
                    "freshness",
                    f"its freshness SLA expires at {iso(success + sla.freshness)}",
                    data,
                )
            return Verdict(False, "keep_slas", "fresh", f"fresh until {iso(success + sla.freshness)}", data)
        return Verdict(
            False, "keep_slas", "no_sla_due", "done for its next deadline" if sla else "no SLA to keep"
        )

    return Condition("keep_slas", operand)


def first(conditions: Iterable[Condition], otherwise: Condition | None = None) -> Condition:
    """Any of ``conditions`` (the first that fires speaks)."""
    chosen = list(conditions)
    if not chosen:
        return otherwise or never()
    combined = chosen[0]
    for condition in chosen[1:]:
        combined = combined | condition
    return combined
