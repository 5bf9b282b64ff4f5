"""A day of automation on the fixture, on a clock the test controls, with real dbt builds on
DuckDB while the test loads new rows into the sources at set times (issue 28, "Done when").

The day is played once (a module fixture): 24 hourly ticks, each first as a dry run, then for
real; the tests then read what happened from the history. Conditions of the day:

- ``orders`` must succeed by 07:00 Berlin and has dbt's ``build_after`` of 2 hours;
- ``customers`` has a ``build_after`` of 5 hours;
- ``revenue_by_category`` must succeed by 10:00 UTC and declares ``keep_slas`` with a 1 h margin
  (its only condition: it is built for its deadline, not on new data);
- ``weekly_revenue`` is on a cron at 12:00;
- every other model, seed and snapshot has dbt's defaults (new upstream data, count 0);
- new orders land at 02:30 and 13:30, new payments at 05:30; sources are checked every 3 h.
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from dbt_assets.automate.simulate import Simulation, simulate
from dbt_assets.automate.tick import Automation, Tick, TickOptions
from dbt_assets.history.store import History
from dbt_assets.run.invocation import RunResult
from dbt_assets.run.project import Project
from dbt_assets.run.worker import Worker
from dbt_assets.sla.schedule import Deadline

H = 3600.0
ORDERS, PAYMENTS = "source.shop.shop.orders", "source.shop.shop.payments"
LOADS = ((2.5, ORDERS), (5.5, PAYMENTS), (13.5, ORDERS))
RULES = """
slas:
  - select: "tag:finance"
    freshness: 1d
    severity: warn
  - select: orders
    deadline: "07:00"
    timezone: Europe/Berlin
    max_runtime: 5m
  - select: revenue_by_category
    deadline: "10:00"
    automate: {keep_slas: true, margin: 1h}
  - select: weekly_revenue
    automate: {cron: "0 12 * * *"}
"""


@dataclass
class Step:
    at: float
    dry: Tick
    real: Tick
    result: RunResult | None


@dataclass
class Day:
    project: Path
    history: History
    start: float
    steps: list[Step]
    simulation: Simulation


def _load(project: Path, source: str, at: float, n: int) -> None:
    import duckdb

    stamp = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S")
    with duckdb.connect(str(project / "target" / "shop.duckdb")) as db:
        if source == ORDERS:
            db.execute(f"insert into main.raw_orders values ({900 + n}, 1, 10, '{stamp}', 'placed')")
        else:
            db.execute(f"insert into main.raw_payments values ({9000 + n}, 100, 'paypal', 500, '{stamp}')")


@pytest.fixture(scope="module")
def day(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Day]:
    project = Path(shutil.copytree(built_template, tmp_path_factory.mktemp("day") / "project"))
    (project / "dbt_assets.yml").write_text(RULES)
    core = project / "models" / "marts" / "core" / "_core.yml"
    spec = yaml.safe_load(core.read_text())
    windows = {"orders": 2, "customers": 5}
    for model in spec["models"]:
        if model["name"] in windows:
            model["config"]["freshness"] = {
                "build_after": {"count": windows[model["name"]], "period": "hour"}
            }
    core.write_text(yaml.safe_dump(spec, sort_keys=False))
    # the day after tomorrow, 00:00 UTC: the template was built before the deadline before it
    start = (int(time.time() // 86400) + 2) * 86400.0
    history = History.open(project / ".dbt-assets" / "history.db")
    options = TickOptions(source_check_interval=3 * H)
    worker = Worker(Project(project)).open()  # the day's runs go through one warm dbt, as a loop's do
    automation = Automation(Project(project), history, options, worker=worker)
    automation.graph()  # the changed YAML is parsed before the day starts
    loads = {ORDERS: [start + h * H for h, s in LOADS if s == ORDERS], PAYMENTS: [start + 5.5 * H]}
    predicted = simulate(
        Project(project), history, days=23 / 24, start=start, loads=loads, options=options, step=H
    )
    steps = []
    loaded = 0
    for hour in range(24):
        now = start + hour * H
        while loaded < len(LOADS) and start + LOADS[loaded][0] * H <= now:
            _load(project, LOADS[loaded][1], start + LOADS[loaded][0] * H, loaded)
            loaded += 1
        dry = automation.tick(now, dry_run=True)
        real = automation.tick(now)
        result = real.run.run() if real.run is not None else None
        steps.append(Step(now, dry, real, result))
    yield Day(project, history, start, steps, predicted)
    history.close()
    worker.close()


def _when(day: Day, uid: str) -> list[float]:
    """The hours of the day at which a tick built ``uid``."""
    return [(s.at - day.start) / H for s in day.steps if uid in (s.real.decisions.due or ())]


def test_every_run_succeeded_and_the_expected_assets_were_built_when_due(day: Day) -> None:
    assert all(s.result is None or s.result.status == "success" for s in day.steps), [
        (s.at, s.result.message) for s in day.steps if s.result is not None and s.result.status != "success"
    ]
    assert _when(day, "model.shop.weekly_revenue") == [0.0, 12.0]  # the missed tick, then its cron
    assert _when(day, "model.shop.orders") == [3.0, 6.0, 15.0]  # loads seen at the 3-hourly checks
    assert _when(day, "model.shop.customers") == [3.0, 9.0, 15.0]  # new data at 6, inside 5 h: at 9
    assert _when(day, "model.shop.revenue_by_category") == [9.0]  # keep_slas: 10:00 - 1 h - its work
    assert _when(day, "model.shop.stg_orders") == []  # a view: its data is live


def test_every_deadline_declared_is_met(day: Day) -> None:
    for text, zone, name in (("07:00", "Europe/Berlin", "orders"), ("10:00", None, "revenue_by_category")):
        _met(day, Deadline.parse(text, zone), f"model.shop.{name}")


def _met(day: Day, deadline: Deadline, uid: str) -> None:
    due = deadline.next(day.start)
    with History.open(day.history.path) as history:
        successes = [
            r.finished_at
            for run in history.runs(limit=None)
            for r in history.results(run.run_id)
            if r.unique_id == uid and r.status == "success" and r.finished_at is not None
        ]
    assert any(deadline.before(due) < t <= due for t in successes), (due, successes)


def test_no_two_runs_of_one_asset_overlap(day: Day) -> None:
    with History.open(day.history.path) as history:
        spans: dict[str, list[tuple[float, float]]] = {}
        for run in history.runs(limit=None):
            for r in history.results(run.run_id):
                if r.started_at is not None and r.finished_at is not None:
                    spans.setdefault(r.unique_id, []).append((r.started_at, r.finished_at))
    for uid, found in spans.items():
        found.sort()
        for (_, end), (begin, _) in itertools.pairwise(found):
            assert begin >= end, f"{uid} ran twice at once"


def test_nothing_is_built_again_without_new_upstream_data(day: Day) -> None:
    """Every build a data rule started names the parents with new data, each changed after the
    asset's previous build began; customers is never rebuilt inside its 6 h window."""
    for step in day.steps:
        for decided in step.real.decisions.decided:
            if decided.decision != "run" or decided.condition not in ("build_after", "lag_tolerance"):
                continue
            facts_before = step.real.world.facts.get(decided.unique_id)
            began = step.real.world.last_build_start(decided.unique_id)
            assert decided.data["new_data"], decided
            for parent, when in decided.data["new_data"].items():
                changed = datetime.fromisoformat(when).timestamp()  # to the second
                assert began is None or changed > began - 1, (decided, parent)
            assert facts_before is None or facts_before.last_success_at is not None
    for name, window in (("orders", 2), ("customers", 5)):
        hours = _when(day, f"model.shop.{name}")
        assert all(b - a >= window for a, b in itertools.pairwise(hours)), (name, hours)


def test_every_decision_is_explained_in_the_history(day: Day) -> None:
    with History.open(day.history.path) as history:
        automated = [r for r in history.runs(limit=None) if "automate" in r.selection]
        assert len(automated) == sum(s.result is not None for s in day.steps)
        for run in automated:
            built = {u for u in run.unique_ids if u.split(".")[0] in ("model", "seed", "snapshot")}
            for uid in built:
                recorded = [d for d in history.decisions(uid, 50) if d.run_id == run.run_id]
                assert len(recorded) == 1 and recorded[0].decision == "run" and recorded[0].reason, uid
        state = history.automation_state()
    assert set(state) == set(day.steps[-1].real.policies), "every asset has its latest decision"
    assert all(s.reason for s in state.values())


def test_a_dry_run_decides_what_the_real_tick_then_did(day: Day) -> None:
    for step in day.steps:
        seen = [(d.unique_id, d.decision, d.condition, d.code) for d in step.dry.decisions.decided]
        done = [(d.unique_id, d.decision, d.condition, d.code) for d in step.real.decisions.decided]
        assert seen == done, step.at
        assert step.dry.decisions.due == step.real.decisions.due


def test_the_simulation_predicted_the_same_runs(day: Day) -> None:
    real = [(s.at, s.real.decisions.due) for s in day.steps if s.real.decisions.due]
    predicted = [(r.start, tuple(sorted(r.unique_ids))) for r in day.simulation.automation.runs]
    assert predicted == real
    assert day.simulation.automation.missed == 0
