"""SLAs judged from the history: checking a selection, explaining one asset, and what a run
did to the SLAs of what it touched."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from dbt_assets.api.graphs import chosen_assets
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.selection.request import Selected

if TYPE_CHECKING:  # pydantic is imported only by the calls that return models
    from dbt_assets.history.store import History
    from dbt_assets.run.invocation import RunResult
    from dbt_assets.sla.explain import Explanation
    from dbt_assets.sla.judge import SlaResult


def check_slas(
    graph: AssetGraph,
    history: History,
    selection: Selected = (),
    *,
    unique_ids: Iterable[str] | None = None,
    at: float | None = None,
) -> list[SlaResult]:
    """Every SLA of the selected assets (default: every asset with an SLA) judged from the
    run history as of ``at`` (epoch seconds, default now), by asset then SLA kind.
    ``unique_ids`` names the assets exactly instead of a selection.

    >>> results = check_slas(graph, history, ["tag:finance"])          # doctest: +SKIP
    >>> [(r.unique_id, r.sla, r.status) for r in results]             # doctest: +SKIP
    [('model.shop.order_revenue_daily', 'freshness', 'ok'), ...]
    """
    import time

    from dbt_assets.sla.judge import judge

    ids = list(unique_ids) if unique_ids is not None else chosen_assets(graph, selection, history, at)
    when = at if at is not None else time.time()
    return judge(graph, history.facts(at), when, unique_ids=ids)


def explain_sla(graph: AssetGraph, history: History, name: str, *, at: float | None = None) -> Explanation:
    """Why an asset's SLA is breached or at risk: its SLA results, its last run, and the
    upstream assets that failed or are late (nearest first, root causes marked)."""
    from dbt_assets.sla.explain import explain

    return explain(graph, history.facts(at), at, graph.find(name))


def run_slas(graph: AssetGraph, history: History, result: RunResult) -> list[SlaResult]:
    """The SLAs of the assets a run touched, judged right after it: which it met or missed."""
    from dbt_assets.sla.judge import judge

    return judge(graph, history.facts(), result.finished_at, unique_ids=result.results)


def deadline_offsets(
    graph: AssetGraph,
    unique_ids: Iterable[str],
    schedule: str,
    *,
    timezone: str = "UTC",
    ticks: int = 28,
    now: float | None = None,
) -> tuple[dict[float, list[str]], list[str]]:
    """For a job on a cron ``schedule`` (or ``@daily``, ...) in ``timezone``: the SLA deadlines
    of ``unique_ids`` grouped by how many seconds after each scheduled run they fall due, and
    a message for each deadline that is not a fixed distance after the schedule (checked over
    its next ``ticks`` runs after ``now``), which an orchestrator cannot express that way.
    A schedule that cannot be read is a ScheduleError."""
    import time

    from dbt_assets.sla.config import Sla
    from dbt_assets.sla.judge import declared_slas
    from dbt_assets.sla.schedule import Deadline

    runs = Deadline.parse(schedule, timezone)
    tick = time.time() if now is None else now
    starts = []
    for _ in range(ticks):
        tick = runs.next(tick)
        starts.append(tick)
    offsets: dict[float, list[str]] = {}
    irregular: list[str] = []
    slas = declared_slas(graph)
    for uid in unique_ids:
        sla = slas.get(uid)
        if not isinstance(sla, Sla) or sla.deadline is None:
            continue
        due = Deadline.parse(sla.deadline, sla.timezone)
        distances = {round(due.next(start - 1e-3) - start) for start in starts}
        if len(distances) == 1:
            offsets.setdefault(float(distances.pop()), []).append(uid)
        else:
            irregular.append(
                f"{uid}: its deadline {sla.deadline!r} ({sla.timezone or 'UTC'}) is not a fixed time after "
                f"the schedule {schedule!r} ({timezone})"
            )
    return offsets, irregular
