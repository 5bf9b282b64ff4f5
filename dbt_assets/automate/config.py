"""Where automation's conditions are declared, read once per manifest and checked.

Three places, as data engineers already declare things:

- dbt's own ``freshness: {build_after: {count, period, updates_on}}`` on a model (dbt 1.10+
  parses it into the model's config), with dbt's meaning; a model without it gets dbt's
  defaults (``count: 0``, ``updates_on: any``);
- dbt State's ``state: {lag_tolerance, require_fresh_data_from}`` block (dbt 1.12; in a dbt 1.11
  manifest it arrives as an unknown config key), with ``build_after`` as its fallback, as dbt has;
- ``automate:`` keys on the rules of ``dbt_assets.yml`` (for what a rule selects) and in
  ``config.meta.dbt_assets.automate`` (the asset's own keys win, key by key)::

      slas:
        - select: orders
          deadline: "07:00"
          automate: {keep_slas: true, margin: 15m, retry: {max_failures: 3, pause: 5m}}

Every value is checked once, when the policies are read: an unknown key, a cron that never
fires, ``build_after`` without a count, or a deadline that a cron-only policy can never meet is
one error naming the file, the asset (or rule) and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, StrictBool, StrictInt, ValidationError, field_validator

from dbt_assets._core.durations import duration_text, parse_duration
from dbt_assets._core.errors import AutomationConfigError, ScheduleError
from dbt_assets._core.quoting import cut, quote
from dbt_assets.manifest.decode import NodeRecord
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.sla.config import Sla, effective_slas, read_sla_file
from dbt_assets.sla.schedule import Deadline

PERIODS = {"minute": 60, "hour": 3600, "day": 86400}
DEFAULT_LAG = 45 * 60.0
"""dbt State's default ``lag_tolerance`` when neither it nor ``build_after`` is set."""
DEFAULT_MARGIN = 10 * 60.0
"""How long before a deadline ``keep_slas`` wants the predicted finish, unless ``margin`` says."""
DEFAULT_RETRY_PAUSE = 5 * 60.0
DEFAULT_MAX_FAILURES = 3
KEYS = "cron, timezone, on_missing, eager, keep_slas, margin, retry ({max_failures, pause}), paused"
_LAG = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_LAG_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


class RetrySpec(BaseModel):
    """``retry: {max_failures: 3, pause: 5m}``: a failed asset again after ``pause``, doubled
    after each further failure, until ``max_failures`` failures in a row."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_failures: StrictInt | None = None
    pause: float = DEFAULT_RETRY_PAUSE

    @field_validator("pause", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("max_failures")
    @classmethod
    def _positive(cls, value: int | None) -> int | None:
        if value is not None and value < 1:
            raise ValueError(
                "max_failures must be 1 or more (the failures in a row after which retries stop)"
            )
        return value


class AutomateSpec(BaseModel):
    """The ``automate:`` keys of one asset (merged from the file's rules and its own meta)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cron: str | None = None
    timezone: str | None = None
    on_missing: StrictBool | None = None
    eager: StrictBool | None = None
    keep_slas: StrictBool | None = None
    margin: float | None = None
    retry: StrictBool | RetrySpec | None = None
    paused: StrictBool | None = None

    @field_validator("margin", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @property
    def triggers(self) -> bool:
        """Whether it declares a condition that starts builds (not only retry or paused)."""
        return bool(self.cron or self.on_missing or self.eager or self.keep_slas)

    def schedule(self) -> Deadline | None:
        return None if not self.cron else Deadline.parse(self.cron, self.timezone)

    def retry_spec(self) -> RetrySpec | None:
        if self.retry is None or self.retry is False:
            return None
        return RetrySpec() if self.retry is True else self.retry


@dataclass(frozen=True)
class BuildAfter:
    """dbt's ``freshness.build_after``: due when its upstream has new data and ``seconds`` have
    passed since its last successful build. ``declared`` is False for dbt's defaults (count 0,
    updates_on any), which a model without any configuration gets."""

    seconds: float
    updates_on: Literal["any", "all"]
    declared: bool


@dataclass(frozen=True)
class LagTolerance:
    """dbt State's ``state:`` block: due once the upstream data has been new for ``seconds``."""

    seconds: float
    require: Literal["any", "all"]


@dataclass(frozen=True)
class Policy:
    """How one asset is automated: what dbt's configs and ``automate:`` say about it."""

    unique_id: str
    resource_type: str
    materialized: str
    build_after: BuildAfter | None
    """None when ``automate:`` conditions replace dbt's rule (its defaults otherwise)."""
    lag: LagTolerance | None
    automate: AutomateSpec
    sla: Sla | None
    where: str
    """The file that declares the asset, for messages."""

    @property
    def view(self) -> bool:
        return self.materialized in ("view", "materialized_view") and self.resource_type == "model"

    @property
    def data_rule(self) -> str | None:
        """Which of dbt's rules decides on new data: ``state``, ``build_after``, or None."""
        if self.lag is not None:
            return "lag_tolerance"
        if self.build_after is not None:
            return "build_after"
        return None


AUTOMATED_TYPES = frozenset({"model", "seed", "snapshot"})


def automated(graph: AssetGraph, unique_ids: Iterable[str]) -> list[str]:
    """What automation decides for: models (not ephemeral), seeds and snapshots."""
    records = graph.records
    return sorted(
        uid
        for uid in unique_ids
        if uid in records
        and records[uid].resource_type in AUTOMATED_TYPES
        and records[uid].config.get("materialized") != "ephemeral"
        and records[uid].enabled
    )


def read_policies(graph: AssetGraph, unique_ids: Iterable[str]) -> dict[str, Policy]:
    """The policy of each asset automation decides for among ``unique_ids``, checked."""
    rules = read_sla_file(graph.project_dir)
    slas = effective_slas(graph, rules)
    from_rules = _rule_keys(graph, rules)
    found = {}
    for uid in automated(graph, unique_ids):
        record = graph.records[uid]
        where = record.patch_path or record.original_file_path or "the manifest"
        where = where.split("://", 1)[-1]
        keys: dict[str, Any] = {}
        sources: list[str] = []
        for rule_where, values in from_rules.get(uid, []):
            keys.update(values)
            sources.append(rule_where)
        own = _own_keys(record)
        if own:
            keys.update(own)
            sources.append(f"{where}: {uid}: config.meta.dbt_assets.automate")
        label = " and ".join(sources) or f"{where}: {uid}"
        spec = _spec(keys, label)
        build_after, lag = _dbt_rules(record, where)
        if spec.triggers and (build_after is None or not build_after.declared) and lag is None:
            build_after = None  # automate: conditions replace dbt's default rule
        policy = Policy(
            uid,
            record.resource_type,
            str(record.config.get("materialized") or record.resource_type),
            build_after,
            lag,
            spec,
            slas.get(uid),
            where,
        )
        _check_deadline(policy, label)
        found[uid] = policy
    return found


def _rule_keys(graph: AssetGraph, rules: list[Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    from dbt_assets.selection import select
    from dbt_assets.selection.request import Selection

    path = graph.project_dir / "dbt_assets.yml" if graph.project_dir else "dbt_assets.yml"
    keyed: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for number, rule in enumerate(rules):
        if rule.automate is None:
            continue
        label = f"{path}: slas.{number} ({rule.select})"
        if not isinstance(rule.automate, Mapping):
            raise _error(label, f"automate must be a mapping of keys, got {quote(rule.automate)}")
        _spec(dict(rule.automate), label)  # each rule checked as written, before merging
        chosen = Selection(rule.select, indirect_selection="empty", resource_types=sorted(AUTOMATED_TYPES))
        for uid in select(graph, chosen):
            keyed.setdefault(uid, []).append((label, dict(rule.automate)))
    return keyed


def _own_keys(record: NodeRecord) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for meta in (record.meta, record.config.get("meta") or {}):
        declared = (meta.get("dbt_assets") or {}) if isinstance(meta, Mapping) else {}
        keys = declared.get("automate") if isinstance(declared, Mapping) else None
        if keys is None:
            continue
        if not isinstance(keys, Mapping):
            raise _error(
                f"{record.patch_path or record.original_file_path}: {record.unique_id}",
                f"dbt_assets.automate must be a mapping of keys, got {quote(keys)}",
            )
        merged.update(keys)
    return merged


def _spec(keys: dict[str, Any], label: str) -> AutomateSpec:
    try:
        spec = AutomateSpec.model_validate(keys)
        spec.schedule()  # a cron that never fires, an unknown zone
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        key = cut(".".join(str(p) for p in first["loc"]), 80) or "automate"
        cause = (first.get("ctx") or {}).get("error")
        said = cause.message if isinstance(cause, ScheduleError) else first["msg"]
        if first["type"] == "extra_forbidden":
            said = "unknown condition"
        raise _error(label, f"automate.{key}: {cut(said)} (got {quote(first.get('input'))})") from exc
    except ScheduleError as exc:
        raise _error(label, f"automate.cron: {exc.message}", exc.hint) from exc
    return spec


def _dbt_rules(record: NodeRecord, where: str) -> tuple[BuildAfter | None, LagTolerance | None]:
    """dbt's ``freshness.build_after`` and dbt State's ``state:`` of a model, as dbt reads them."""
    label = f"{where}: {record.unique_id}"
    config = record.config
    # dbt writes freshness: null for every model without one, so the manifest cannot tell an
    # explicit null from none: both get dbt's defaults (automate: {paused: true} leaves one alone)
    build_after = BuildAfter(0.0, "any", declared=False)
    if isinstance(config.get("freshness"), Mapping) and config["freshness"].get("build_after") is not None:
        build_after = _build_after(config["freshness"]["build_after"], label)
    lag = None
    state = config.get("state")
    if state is not None:
        if not isinstance(state, Mapping) or set(state) - {"lag_tolerance", "require_fresh_data_from"}:
            raise _error(
                label,
                f"state: {quote(state)} is not dbt State's block",
                "state takes lag_tolerance (like 45m) and require_fresh_data_from (any|all)",
            )
        require = state.get("require_fresh_data_from") or (build_after.updates_on if build_after else "any")
        if require not in ("any", "all"):
            raise _error(label, f"state.require_fresh_data_from: {quote(require)}", "use any or all")
        if state.get("lag_tolerance") is not None:
            seconds = _lag(state["lag_tolerance"], label)
        elif build_after is not None and build_after.declared:
            seconds = build_after.seconds
        else:
            seconds = DEFAULT_LAG
        if str(config.get("materialized")) in ("view", "materialized_view"):
            seconds = 0.0  # dbt State: views get a tolerance of 0
        lag = LagTolerance(seconds, require)
    return build_after, lag


def _build_after(value: Any, label: str) -> BuildAfter:
    if not isinstance(value, Mapping):
        raise _error(label, f"freshness.build_after: {quote(value)} is not a mapping", _BUILD_AFTER_HINT)
    count, period = value.get("count"), value.get("period")
    if count is None or period is None:
        missing = "count" if count is None else "period"
        raise _error(label, f"freshness.build_after has no {missing}", _BUILD_AFTER_HINT)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _error(
            label, f"freshness.build_after.count: {quote(count)} is not a whole number", _BUILD_AFTER_HINT
        )
    if period not in PERIODS:
        raise _error(label, f"freshness.build_after.period: {quote(period)}", "use minute, hour or day")
    updates_on = value.get("updates_on") or "any"
    if updates_on not in ("any", "all"):
        raise _error(label, f"freshness.build_after.updates_on: {quote(updates_on)}", "use any or all")
    return BuildAfter(float(count) * PERIODS[period], "all" if updates_on == "all" else "any", declared=True)


_BUILD_AFTER_HINT = (
    "write build_after: {count: 4, period: hour} (count and period come together, as dbt requires)"
)


def _lag(value: Any, label: str) -> float:
    match = _LAG.match(str(value)) if isinstance(value, str | int | float) else None
    if match is None or isinstance(value, bool):
        raise _error(
            label, f"state.lag_tolerance: {quote(value)}", "write a number and a unit: 30s, 45m, 2h, 1d, 1w"
        )
    return float(match.group(1)) * _LAG_UNITS[match.group(2)]


def _check_deadline(policy: Policy, label: str) -> None:
    """A deadline that the asset's only conditions can never meet: a cron-only policy whose
    ticks never fall between two deadlines."""
    spec, sla = policy.automate, policy.sla
    if sla is None or sla.deadline is None or spec.paused or spec.keep_slas or spec.eager or spec.on_missing:
        return
    if policy.build_after is not None or policy.lag is not None or not spec.cron:
        return
    cron = spec.schedule()
    deadline = Deadline.parse(sla.deadline, sla.timezone)
    assert cron is not None
    start = 1_767_225_600.0  # 2026-01-01: a fortnight shows any weekly pattern
    due = deadline.next(start)
    unmet = []
    for _ in range(14):
        if cron.next(deadline.before(due)) > due:
            unmet.append(due)
        due = deadline.next(due)
    if not unmet:
        return
    raise _error(
        label,
        f"{policy.unique_id}: its only condition, the cron {quote(spec.cron)}, does not run between "
        f"every two deadlines {quote(sla.deadline)} ({len(unmet)} of 14 in a fortnight could never be met)",
        "add keep_slas: true (starts it in time for each deadline), or a cron that runs before each one",
    )


def _error(label: str, message: str, hint: str = "") -> AutomationConfigError:
    return AutomationConfigError(
        f"{label}: invalid automation: {message}", hint or f"automate keys: {KEYS}; see README, Automation"
    )


def describe(policy: Policy) -> list[str]:
    """The policy's conditions in words (for ``--explain``)."""
    said = []
    spec = policy.automate
    if spec.paused:
        said.append("paused: automation leaves it alone")
    if policy.lag is not None:
        said.append(
            f"dbt State: when {policy.lag.require} upstream data has been new for "
            f"{duration_text(policy.lag.seconds) or '0s'} (lag_tolerance), or its code changed"
        )
    elif policy.build_after is not None:
        window = duration_text(policy.build_after.seconds)
        origin = "freshness.build_after" if policy.build_after.declared else "dbt's default build_after"
        when = f"when {policy.build_after.updates_on} parent has new data"
        said.append(f"{origin}: {when}" + (f", at most every {window}" if window else ""))
    if spec.cron:
        said.append(f"cron {spec.cron} ({spec.timezone or 'UTC'})")
    if spec.eager:
        said.append("eager: whenever a parent has new data")
    if spec.on_missing or (policy.build_after is not None or policy.lag is not None):
        said.append("on_missing: when it was never built here")
    if spec.keep_slas:
        said.append(
            f"keep_slas: started in time for its SLAs ({duration_text(spec.margin or DEFAULT_MARGIN)} margin)"
        )
    retry = spec.retry_spec()
    if retry is not None:
        said.append(
            f"retry: after {duration_text(retry.pause)}, doubling, until "
            f"{retry.max_failures or DEFAULT_MAX_FAILURES} failures in a row"
        )
    return said
