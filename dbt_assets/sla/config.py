"""SLA declarations: what each asset promises, from its own YAML and from ``dbt_assets.yml``.

An asset declares its SLA under ``config.meta.dbt_assets.sla`` (or ``meta.dbt_assets.sla``, as
older projects write meta); ``dbt_assets.yml`` at the project root declares SLAs for many
assets at once through selections. The asset's own keys win over the file's, key by key; among
the file's entries, later ones win.

    slas:
      - select: "tag:finance"
        freshness: 6h
        severity: warn
      - select: orders
        deadline: "07:00"
        timezone: Europe/Berlin

A source's SLA is dbt's own ``freshness`` (``warn_after``/``error_after``): :func:`source_slas`.
:mod:`dbt_assets.sla.judge` judges all of them against the run history.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from dbt_assets._core.durations import parse_duration
from dbt_assets._core.errors import ScheduleError, SlaConfigError
from dbt_assets._core.quoting import cut, quote
from dbt_assets._core.settled import read_yaml
from dbt_assets._core.vocab import MATERIALIZED_TYPES
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.sla.schedule import Deadline

if TYPE_CHECKING:
    from dbt_assets.selection.request import Selection


class Sla(BaseModel):
    """The SLA of one asset; every key optional (an empty SLA promises nothing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    freshness: float | None = Field(None, description="Last success at most this many seconds old.")
    deadline: str | None = Field(None, description="HH:MM (or a cron expression) to have succeeded by.")
    timezone: str | None = Field(None, description="IANA time zone of the deadline (default UTC).")
    max_runtime: float | None = Field(None, description="One execution at most this many seconds.")
    max_failures: StrictInt | None = Field(None, ge=0, description="Consecutive failed runs tolerated.")
    severity: Literal["warn", "error"] | None = None

    @field_validator("freshness", "max_runtime", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float | None:
        return None if value is None else parse_duration(value)

    @field_validator("deadline")
    @classmethod
    def _deadline(cls, value: str | None) -> str | None:
        if value is not None:
            Deadline.parse(value)  # ScheduleError is a ValueError: pydantic reports it
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a name too long for a file
            zone = quote(value)
            raise ValueError(f"unknown time zone {zone}; use an IANA name such as Europe/Berlin") from exc
        return value


class SlaRule(Sla):
    """One entry of ``dbt_assets.yml``: a selection, the SLA of what it selects, and how
    automation keeps it (``automate:``, read and checked by :mod:`dbt_assets.automate.config`)."""

    select: str
    automate: dict[str, Any] | None = None


class SlaFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slas: list[SlaRule] = []


def _problem(where: str, exc: ValidationError) -> SlaConfigError:
    first = exc.errors(include_url=False)[0]
    key = cut(".".join(str(p) for p in first["loc"]), 80) or "(top level)"
    cause = (first.get("ctx") or {}).get("error")  # a deadline's ScheduleError has its own hint
    said = cause.message if isinstance(cause, ScheduleError) else first["msg"]
    return SlaConfigError(
        f"{where}: invalid SLA: {key}: {cut(said)} (got {quote(first.get('input'))})",
        cause.hint
        if isinstance(cause, ScheduleError) and cause.hint
        else "SLA keys: freshness, deadline, timezone, max_runtime, max_failures, severity (warn|error)",
    )


def read_sla_file(project_dir: Path | None) -> list[SlaRule]:
    """The rules of ``<project>/dbt_assets.yml`` (none when there is no such file)."""
    if project_dir is None:
        return []
    path = project_dir / "dbt_assets.yml"
    if not path.is_file():
        return []
    data = read_yaml(path, SlaConfigError) or {}
    try:
        return SlaFile.model_validate(data).slas
    except ValidationError as exc:
        raise _problem(str(path), exc) from exc


def _refuse_history_methods(graph: AssetGraph, number: int, expression: str) -> None:
    """A rule decides which assets have an SLA, before any history is read: ``sla:`` (which
    judges SLAs) and ``status:`` cannot decide it."""
    from dbt_assets.selection import methods_used, selection_spec
    from dbt_assets.selection.registry import HISTORY_METHODS

    bad = sorted(methods_used(selection_spec(graph, [expression])) & HISTORY_METHODS)
    if bad:
        where = graph.project_dir / "dbt_assets.yml" if graph.project_dir else "dbt_assets.yml"
        used = ", ".join(f"{b}:" for b in bad)
        raise SlaConfigError(
            f"{where}: invalid SLA: slas.{number}.select: {quote(expression)} uses {used}, "
            "which read the run history",
            "select assets by what they are (names, tags, paths, owners), not by how they ran",
        )


def _selected(graph: AssetGraph, number: int, expression: str, chosen: Selection) -> list[str]:
    """What rule ``number`` of dbt_assets.yml selects; a selection that cannot be read is an
    error naming the file and the rule, as any other bad value of the file."""
    from dbt_assets._core.errors import SelectionError
    from dbt_assets.selection import select

    try:
        _refuse_history_methods(graph, number, expression)
        return list(select(graph, chosen))
    except SelectionError as exc:
        where = graph.project_dir / "dbt_assets.yml" if graph.project_dir else "dbt_assets.yml"
        raise SlaConfigError(f"{where}: invalid SLA: slas.{number}.select: {exc.message}", exc.hint) from exc


def own_sla(graph: AssetGraph, unique_id: str) -> Sla | None:
    """The SLA an asset declares in its own YAML (config.meta wins over meta, key by key)."""
    record = graph.records[unique_id]
    if record.resource_type not in MATERIALIZED_TYPES:
        return None
    merged: dict[str, Any] = {}
    for meta in (record.meta, record.config.get("meta") or {}):
        declared = (meta.get("dbt_assets") or {}) if isinstance(meta, Mapping) else {}
        sla = declared.get("sla") if isinstance(declared, Mapping) else None
        if sla is None:
            continue
        if not isinstance(sla, Mapping):
            raise SlaConfigError(
                f"{record.original_file_path}: {unique_id}: dbt_assets.sla must be a mapping, "
                f"got {quote(sla)}"
            )
        merged.update(sla)
    if not merged:
        return None
    try:
        return Sla.model_validate(merged)
    except ValidationError as exc:
        where = f"{record.patch_path or record.original_file_path}: {unique_id}"
        raise _problem(where, exc) from exc


def effective_slas(graph: AssetGraph, rules: list[SlaRule] | None = None) -> dict[str, Sla]:
    """Every asset with an SLA, and that SLA: the file's rules in order, then the asset's own keys."""
    from dbt_assets.selection.request import Selection

    if rules is None:
        rules = read_sla_file(graph.project_dir)
    keys: dict[str, dict[str, Any]] = {}
    for number, rule in enumerate(rules):
        values = rule.model_dump(exclude={"select", "automate"}, exclude_none=True)
        chosen = Selection(rule.select, indirect_selection="empty", resource_types=sorted(MATERIALIZED_TYPES))
        for uid in _selected(graph, number, rule.select, chosen):
            keys.setdefault(uid, {}).update(values)
    for uid in graph.records:
        own = own_sla(graph, uid)
        if own is not None:
            keys.setdefault(uid, {}).update(own.model_dump(exclude_none=True))
    # many assets share one combination of keys: one (frozen) Sla each, built from valid values
    shared: dict[frozenset[tuple[str, Any]], Sla] = {}
    found = {}
    for uid, values in keys.items():
        if values:
            combination = frozenset(values.items())
            if combination not in shared:
                shared[combination] = Sla.model_construct(**values)
            found[uid] = shared[combination]
    return found


class SourceSla(BaseModel):
    """A source's SLA: dbt's ``freshness`` of it, in seconds (``warn_after``/``error_after``)."""

    model_config = ConfigDict(frozen=True)

    warn_after: float | None = None
    error_after: float | None = None


_PERIODS = {"minute": 60, "hour": 3600, "day": 86400}


def _after(value: Any) -> float | None:
    """Seconds of dbt's ``{count, period}`` (None when unset; dbt refuses anything else at
    parse time, so a manifest holding another value is read as unset, not a crash)."""
    if not isinstance(value, Mapping) or value.get("period") not in _PERIODS:
        return None
    count = value.get("count")
    if isinstance(count, bool) or not isinstance(count, int | float) or not 0 < count < 1e9:
        return None
    return float(count) * _PERIODS[value["period"]]


def source_slas(graph: AssetGraph) -> dict[str, SourceSla]:
    """Every source with a freshness SLA (dbt's ``freshness:`` with warn_after or error_after)."""
    found = {}
    for uid, record in graph.records.items():
        if record.resource_type != "source" or not record.freshness:
            continue
        sla = SourceSla(
            warn_after=_after(record.freshness.get("warn_after")),
            error_after=_after(record.freshness.get("error_after")),
        )
        if sla.warn_after is not None or sla.error_after is not None:
            found[uid] = sla
    return found
