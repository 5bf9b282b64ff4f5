"""Benchmark: the shard plan's predicted makespan against a measured one, on real dbt runs.

    python benchmarks/bench_shard.py [--models 10000] [--marts 60] [--groups 2] [--threads 4]

Needs dbt-postgres (``pip install dbt-postgres``): shards run side by side, and DuckDB lets one
process at a time write its file, so the generated project runs on a throw-away PostgreSQL
server here (tests/postgres.py starts it). Its source tables are created first; its
intermediate models are views (ephemeral models do not run). What runs is the upstream of
``--marts`` marts picked at random (seeded): running all 10,000 models on this 2-core machine
takes over an hour, while each dbt invocation still parses and selects over all of them. Then,
in one run:

1. ``dbt run`` of that selection as one invocation through dbt-assets, timed; this also fills
   the run history with each model's time and the invocation's overhead;
2. ``shard_selection`` (what ``dbt-assets shard K --command run`` prints) on that history:
   the groups, the predicted makespan and the predicted single invocation;
3. the groups run as the plan says: each as its own dbt-assets process (a worker), started
   once the groups it depends on are done, at most K at a time; timed from the first start to
   the last end;
4. the split the same model chooses when it does not count the overhead (as it did before),
   run the same way: what counting the overhead decided against.

Prints predicted against measured for each, each group's predicted and measured span, and
every recorded run's time outside its assets.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bench_load import WORK, run_dbt  # noqa: E402
from generate_project import generate  # noqa: E402

from dbt_assets.api import open_history, shard_selection, start_run  # noqa: E402
from dbt_assets.plan.compile import plan  # noqa: E402
from dbt_assets.plan.shard import ShardedPlan, shard  # noqa: E402
from dbt_assets.run.invocation import RunOptions  # noqa: E402
from dbt_assets.run.project import Project  # noqa: E402
from tests.postgres import Server, postgres_server  # noqa: E402

GROUP_RUNNER = """
import json, sys
from dbt_assets.api import open_history, start_run
from dbt_assets.run.invocation import RunOptions
from dbt_assets.run.project import Project
project_dir, history_path, ids_path, threads = sys.argv[1:]
with open_history(project_dir, history_path) as history:
    run = start_run(Project(project_dir), "run", unique_ids=json.load(open(ids_path)),
                    options=RunOptions(threads=int(threads)), history=history)
    for _ in run:
        pass
sys.exit(run.result.exit_code)
"""


def make_project(server: Server, models: int) -> Path:
    work = WORK / f"shard_{models}"
    shutil.rmtree(work, ignore_errors=True)
    generate(work, models)
    project_yml = work / "dbt_project.yml"
    project_yml.write_text(project_yml.read_text().replace("+materialized: ephemeral", "+materialized: view"))
    (work / "profiles.yml").write_text(
        "synthetic:\n  target: dev\n  outputs:\n    dev:\n      type: postgres\n"
        f"      host: 127.0.0.1\n      port: {server.port}\n      user: postgres\n      password: ''\n"
        "      dbname: postgres\n      schema: analytics\n      threads: 4\n"
    )
    import psycopg

    tables = re.findall(r"- name: (\w+_table_\d+)", (work / "models" / "sources.yml").read_text())
    with psycopg.connect(server.base, autocommit=True) as connection:
        connection.execute("DROP SCHEMA IF EXISTS main CASCADE; DROP SCHEMA IF EXISTS analytics CASCADE")
        connection.execute("CREATE SCHEMA main")
        for table in tables:
            connection.execute(f"CREATE TABLE main.{table} AS SELECT 1 AS id, now()::timestamp AS _loaded_at")
    run_dbt(work, "parse")
    return work


def chosen_marts(work: Path, count: int) -> list[str]:
    """``+name`` of ``count`` marts picked at random (seeded)."""
    from dbt_assets.api import load_graph

    graph = load_graph(project_dir=work)
    marts = sorted(r.name for r in graph.records.values() if r.name.startswith(("fct_", "dim_")))
    return [f"+{name}" for name in random.Random(7).sample(marts, count)]


def run_groups(
    work: Path, history: Path, sharded: ShardedPlan, threads: int, k: int
) -> tuple[float, dict[int, tuple[float, float]]]:
    """Each group as its own process once its groups are done; (makespan, {group: (start, end)})."""
    shards = {s.index: s for s in sharded.shards}
    spans: dict[int, tuple[float, float]] = {}
    started = time.perf_counter()

    def one(index: int) -> int:
        ids = work / f"group_{index}.json"
        ids.write_text(json.dumps(list(shards[index].plan.unique_ids)))
        begin = time.perf_counter() - started
        done = subprocess.run(
            [sys.executable, "-c", GROUP_RUNNER, str(work), str(history), str(ids), str(threads)],
            capture_output=True, text=True,
        )  # fmt: skip
        spans[index] = (begin, time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"group {index} failed ({done.returncode}): {done.stderr[-2000:]}")
        return index

    finished: set[int] = set()
    running: dict[Future[int], int] = {}
    with ThreadPoolExecutor(max_workers=k) as pool:
        while len(finished) < len(shards):
            for index, s in shards.items():
                if index not in finished and index not in running.values() and set(s.after) <= finished:
                    running[pool.submit(one, index)] = index
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                finished.add(future.result())
                del running[future]
    return time.perf_counter() - started, spans


def with_overhead(sharded: ShardedPlan, overhead: float) -> float:
    """The plan's makespan once each group also pays ``overhead``."""
    finish: dict[int, float] = {}
    for s in sharded.shards:
        finish[s.index] = max((finish[a] for a in s.after), default=0.0) + s.duration + overhead
    return max(finish.values(), default=0.0)


def measure(work: Path, history: Path, sharded: ShardedPlan, args: argparse.Namespace, what: str) -> None:
    makespan, spans = run_groups(work, history, sharded, args.threads, args.groups)
    groups = len(sharded.shards)
    print(f"{what}, {groups} group(s): predicted {sharded.makespan:.1f} s, measured {makespan:.1f} s")
    for s in sharded.shards:
        begin, end = spans[s.index]
        print(
            f"  group {s.index}: {len(s.plan.unique_ids):,} models after {list(s.after)}:"
            f" predicted {s.finish - s.duration:.1f}-{s.finish:.1f} s, measured {begin:.1f}-{end:.1f} s"
        )


def breakdown(history: Path) -> None:
    """Each recorded run: its time outside the assets (before the first, after the last), the
    assets' wall time, and their summed execution time."""
    import sqlite3

    with sqlite3.connect(history) as db:
        for run_id, start, end in db.execute(
            "SELECT run_id, started_at, finished_at FROM runs ORDER BY run_id"
        ):
            count, work, first, last = db.execute(
                "SELECT count(*), sum(execution_time), min(started_at), max(finished_at)"
                " FROM asset_results WHERE run_id = ?",
                (run_id,),
            ).fetchone()
            print(
                f"  run {run_id}: {count:,} models, {end - start:.1f} s:"
                f" {first - start:.1f} s before the first, {last - first:.1f} s of assets"
                f" ({work:.1f} s of execution), {end - last:.1f} s after"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=10000)
    parser.add_argument("--marts", type=int, default=60)
    parser.add_argument("--groups", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    try:
        import dbt.adapters.postgres  # noqa: F401
    except ImportError:
        raise SystemExit("bench_shard.py needs dbt-postgres: pip install 'dbt-postgres>=1.8,<1.12'") from None
    with postgres_server() as server:
        work = make_project(server, args.models)
        history = work / "history.db"
        project = Project(work)
        selection = chosen_marts(work, args.marts)
        started = time.perf_counter()
        with open_history(work, history) as store:
            options = RunOptions(threads=args.threads)
            run = start_run(project, "run", selection, options=options, history=store)
            for _ in run:
                pass
        single = time.perf_counter() - started
        if run.result.exit_code != 0:
            raise SystemExit(f"the single run failed: exit {run.result.exit_code}")
        with open_history(work, history) as store:
            sharded = shard_selection(
                project.graph(), "run", selection, args.groups, history=store, threads=args.threads
            )
        print(
            f"{args.models:,} generated models; the upstream of {args.marts} marts:"
            f" {len(run.result.results):,} models run, dbt threads {args.threads}"
        )
        print(f"each invocation's overhead (history median): {sharded.overhead:.1f} s")
        print(f"one invocation: predicted {sharded.single_invocation:.1f} s, measured {single:.1f} s")
        measure(work, history, sharded, args, "the chosen split")
        with open_history(work, history) as store:
            graph = project.graph()
            planned = plan(graph, "run", selection, history=store)
            facts = store.facts()
        blind = shard(graph, planned, args.groups, facts, threads=args.threads, overhead=0.0)
        print(
            f"not counting the overhead, the model chooses {len(blind.shards)} group(s), predicted"
            f" {blind.makespan:.1f} s (then {with_overhead(blind, sharded.overhead):.1f} s with it)"
        )
        if len(blind.shards) > 1:
            measure(work, history, blind, args, "the split chosen without the overhead")
        print("the history's runs:")
        breakdown(history)


if __name__ == "__main__":
    main()
