"""Benchmark: judging every SLA of a 10,000-model project with a year of daily history.

    python benchmarks/bench_sla.py [--models 10000] [--days 365] [--repeat 5]

Uses the project bench_load.py generates (benchmarks/.work/), with SLAs on every model from a
``dbt_assets.yml`` (max_failures on all, freshness on staging, a 07:00 Europe/Berlin deadline
and max_runtime on marts). The history holds one run a day for ``--days`` days, each with a
result for every model (mostly success, some errors and skips, random execution times):
3.65 million results for 10,000 models and a year. It is written once with bulk inserts and
its facts built the way a migration builds them (cached under benchmarks/.work/).

Measures in one run, median of ``--repeat``:

1. ``check_slas(graph, history)`` as of now: read the kept facts, resolve the SLA rules,
   judge every SLA;
2. the same as of 10 minutes before the deadline the day after the last run, when every mart
   is not done yet and its deadline is predicted along its critical path;
3. the reference: one plain SQL aggregate over the results (each model's last success,
   ``max(finished_at) ... GROUP BY unique_id``), the least a judge reading the raw results
   would pay for freshness alone;
4. for orientation, a judgement as of a moment inside the history (replays every result).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_load import WORK, project_manifest  # noqa: E402

from dbt_assets.api import check_slas, load_graph  # noqa: E402
from dbt_assets.history.store import History  # noqa: E402
from dbt_assets.manifest.graph import AssetGraph  # noqa: E402
from dbt_assets.sla.schedule import Deadline  # noqa: E402

RULES = """slas:
  - select: "*"
    max_failures: 2
  - select: "tag:staging"
    freshness: 1d
    severity: warn
  - select: "tag:marts"
    deadline: "07:00"
    timezone: Europe/Berlin
    max_runtime: 10m
"""
DAY = 86400.0


def build_history(path: Path, models: list[str], days: int, first_day: float) -> None:
    """One run a day at 04:00 UTC, a result per model; facts built as a migration does."""
    rng = random.Random(11)
    with History.open(path) as history:
        db = history._db
        db.execute("BEGIN")
        for day in range(days):
            start = first_day + day * DAY + 4 * 3600
            cursor = db.execute(
                "INSERT INTO runs (command, started_at, finished_at, status, exit_code) "
                "VALUES ('build', ?, ?, 'success', 0)",
                (start, start + 3600),
            )
            run_id = cursor.lastrowid
            rows = []
            for i, uid in enumerate(models):
                roll = rng.random()
                status = "error" if roll < 0.01 else "skipped" if roll < 0.02 else "success"
                took = None if status == "skipped" else rng.uniform(0.5, 120.0)
                at = start + (i % 3600)
                rows.append((run_id, uid, status, at, at + (took or 0.0), took))
            db.executemany(
                "INSERT INTO asset_results (run_id, unique_id, status, started_at, finished_at, "
                "execution_time) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
        history._rebuild_facts(None)
        db.execute("COMMIT")


def median_time(action: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def sla_graph(models: int) -> AssetGraph:
    """The generated project of ``models`` models with :data:`RULES` as its dbt_assets.yml."""
    manifest = project_manifest(models)
    project = manifest.parent.parent
    (project / "dbt_assets.yml").write_text(RULES)
    graph = load_graph(manifest=manifest)
    graph.project_dir = project  # read dbt_assets.yml from the project
    return graph


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=10000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    graph = sla_graph(args.models)
    models = sorted(u for u, r in graph.records.items() if r.resource_type == "model")
    today = float(int(time.time() // DAY) * DAY)
    first_day = today - (args.days + 1) * DAY
    path = WORK / f"history_{args.models}_{args.days}.db"
    if not path.exists():
        started = time.perf_counter()
        build_history(path, models, args.days, first_day)
        took = time.perf_counter() - started
        print(f"wrote {path.name}: {len(models) * args.days:,} results in {took:.0f}s")
    with History.open(path, create=False) as history:
        results = check_slas(graph, history)
        last_run_day = first_day + (args.days - 1) * DAY
        before_deadline = Deadline.parse("07:00", "Europe/Berlin").next(last_run_day + DAY) - 600
        early = check_slas(graph, history, at=before_deadline)
        now = median_time(lambda: check_slas(graph, history), args.repeat)
        predicted = median_time(lambda: check_slas(graph, history, at=before_deadline), args.repeat)
        raw = sqlite3.connect(path)
        aggregate = (
            "SELECT unique_id, max(finished_at) FROM asset_results WHERE status = 'success' "
            "GROUP BY unique_id"
        )
        reference = median_time(lambda: raw.execute(aggregate).fetchall(), args.repeat)
        raw.close()
        inside = median_time(lambda: check_slas(graph, history, at=first_day + args.days / 2 * DAY), 1)
    count = raw_count(path)
    kinds = sorted({r.sla for r in results})
    at_risk = sum(r.status == "at_risk" for r in early)
    print(f"{len(models):,} models, {count:,} results, {len(results):,} SLAs ({', '.join(kinds)})")
    print(f"check_slas now:               {now * 1000:7.0f} ms  ({now / reference:.2f}x the SQL aggregate)")
    print(
        f"check_slas before deadline:   {predicted * 1000:7.0f} ms  ({predicted / reference:.2f}x; "
        f"{sum(r.sla == 'deadline' for r in early):,} deadlines predicted, {at_risk:,} at risk)"
    )
    print(f"SQL aggregate (reference):    {reference * 1000:7.0f} ms")
    print(f"as of a moment in the history: {inside:6.1f} s (replays every result)")


def raw_count(path: Path) -> int:
    db = sqlite3.connect(path)
    (count,) = db.execute("SELECT count(*) FROM asset_results").fetchone()
    db.close()
    return int(count)


if __name__ == "__main__":
    main()
