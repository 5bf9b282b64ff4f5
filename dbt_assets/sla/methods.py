"""The selection methods that read the run history, registered into the selection table from
here (selection itself knows nothing of histories):

- ``status:<last status>``: assets whose last recorded result has this status;
- ``sla:breached|warn|at_risk|unknown``: assets with an SLA in that status, ``sla:ok``: assets
  whose every SLA is ok, ``sla:any``: assets with an SLA.

Importing this module registers them (:mod:`dbt_assets.api` does). It stays light: the history
and the judge are imported when a selection first uses one of them.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from dbt_assets._core.errors import SelectionError
from dbt_assets._core.vocab import RUN_STATUSES, SLA_STATUSES
from dbt_assets.selection.registry import MethodContext, register

if TYPE_CHECKING:
    from dbt_assets.history.facts import AssetFacts

_SLA_CHOICES = SLA_STATUSES | {"any"}


def run_facts(ctx: MethodContext, method: str) -> Mapping[str, AssetFacts]:
    """What the run history says about each asset (read once per selection): ``ctx.history``,
    else the project's."""
    if "facts" not in ctx.cache:
        from dbt_assets.history.recovery import open_history
        from dbt_assets.history.schema import history_exists, history_path

        history = ctx.history
        if history is not None:
            ctx.cache["facts"] = history.facts(ctx.at)
            return ctx.cache["facts"]  # type: ignore[no-any-return]
        if ctx.project_dir is None:
            raise SelectionError(
                f"the '{method}:' method reads the run history, and a manifest alone has none",
                "pass --project-dir, or --history with the history database",
            )
        path = history_path(ctx.project_dir)
        if not history_exists(path):
            raise SelectionError(
                f"the '{method}:' method reads the run history, and there is none at {path}",
                "run `dbt-assets run` (or `dbt-assets history import`) first, or pass --history",
            )
        with open_history(path, create=False) as opened:
            ctx.cache["facts"] = opened.facts(ctx.at)
    return ctx.cache["facts"]  # type: ignore[no-any-return]


def _sla_statuses(ctx: MethodContext) -> dict[str, set[str]]:
    """The assets with an SLA in each SLA status (an asset is in every status one of its SLAs
    has), plus ``any``."""
    if "sla_statuses" not in ctx.cache:
        from dbt_assets.sla.judge import judge

        at = ctx.at if ctx.at is not None else time.time()
        results = judge(ctx.graph, run_facts(ctx, "sla"), at)
        statuses: dict[str, set[str]] = {"any": {r.unique_id for r in results}}
        for result in results:
            statuses.setdefault(result.status, set()).add(result.unique_id)
        ctx.cache["sla_statuses"] = statuses
    return ctx.cache["sla_statuses"]  # type: ignore[no-any-return]


def method_status(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    """``status:<last status>``: assets whose last recorded result has this status
    (success, error, fail, warn, pass, skipped, cancelled, no-op, runtime_error)."""
    if value not in RUN_STATUSES:
        raise SelectionError(
            f"invalid status selector '{value}'", f"use one of {', '.join(sorted(RUN_STATUSES))}"
        )
    wanted = value.replace("_", " ")
    records = ctx.graph.records
    return {
        uid
        for uid, facts in run_facts(ctx, "status").items()
        if facts.last_status == wanted and uid in records
    }


def method_sla(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    """``sla:breached|warn|at_risk|unknown``: assets with an SLA in that status; ``sla:ok``:
    assets whose every SLA is ok; ``sla:any``: assets with an SLA."""
    if value not in _SLA_CHOICES:
        raise SelectionError(
            f"invalid sla selector '{value}'", f"use one of {', '.join(sorted(_SLA_CHOICES))}"
        )
    statuses = _sla_statuses(ctx)
    if value == "ok":
        troubled = set().union(*(statuses.get(s, set()) for s in SLA_STATUSES - {"ok"}))
        return statuses.get("ok", set()) - troubled
    return set(statuses.get(value, set()))


register("status", method_status, reads_history=True)
register("sla", method_sla, reads_history=True)
