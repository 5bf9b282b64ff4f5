"""Benchmark: what reading dbt's output and recording results costs a run.

    python benchmarks/bench_events.py [--nodes 10000]

Measures in one run, on real dbt output:

1. the real ``dbt --log-format json --log-level debug build`` of the fixture project is captured
   (every line dbt prints for its 46 nodes), then repeated until it stands for ``--nodes`` node
   results, the debug output of a 10,000-node run;
2. dbt-assets' :class:`LogReader` over all those lines against ``json.loads`` of every line
   (the least any reader of dbt's JSON log must pay);
3. writing one asset result per node to the run history (one transaction each, as a run
   does) against plain ``sqlite3`` inserting the same rows the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dbt_assets.history.store import History
from dbt_assets.run.events import AssetFinished, LogReader

REPO = Path(__file__).resolve().parent.parent
DBT = str(Path(sys.executable).with_name("dbt"))


def capture_dbt_output(workdir: Path) -> list[str]:
    project = Path(
        shutil.copytree(
            REPO / "fixtures/dbt_project",
            workdir / "project",
            ignore=shutil.ignore_patterns("target", "logs", ".dbt-assets"),
        )
    )
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    argv = [
        DBT,
        "--log-format",
        "json",
        "--log-level",
        "debug",
        "build",
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(project),
    ]
    done = subprocess.run(argv, cwd=project, capture_output=True, text=True, env=env, check=True)
    return done.stdout.splitlines(keepends=True)


def best(runs: int, action) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nodes", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        lines = capture_dbt_output(workdir)
        nodes_per_capture = sum('"name": "NodeFinished"' in line for line in lines)
        copies = max(1, args.nodes // nodes_per_capture)
        stream = lines * copies
        size = sum(len(line) for line in stream)
        print(
            f"dbt output: {len(stream):,} lines, {size / 1e6:.0f} MB, "
            f"{nodes_per_capture * copies:,} node results"
        )

        def read_all() -> None:
            reader = LogReader()
            for line in stream:
                reader.read(line)

        def loads_all() -> None:
            for line in stream:
                json.loads(line)

        ours = best(args.repeat, read_all)
        reference = best(args.repeat, loads_all)
        print(
            f"LogReader: {ours * 1000:.0f} ms   json.loads per line: {reference * 1000:.0f} ms   "
            f"ratio {ours / reference:.2f}x"
        )

        results = [
            AssetFinished(f"model.p.m{i}", "success", 1.0, 2.0, 1.0, message="OK", rows_affected=1)
            for i in range(args.nodes)
        ]
        history = History.open(workdir / "history.db")
        run_id = history.start_run(command="build", argv=[], unique_ids=[])
        started = time.perf_counter()
        for result in results:
            history.record_result(run_id, result)
        ours_write = time.perf_counter() - started
        history.close()

        plain = sqlite3.connect(workdir / "plain.db", isolation_level=None)
        plain.execute("PRAGMA journal_mode=WAL")
        plain.execute("PRAGMA synchronous=NORMAL")
        plain.execute(
            "CREATE TABLE r (run_id, unique_id, status, started_at, finished_at, execution_time, "
            "rows_affected, failures, message, adapter_response, thread, skipped_because, "
            "PRIMARY KEY (run_id, unique_id))"
        )
        started = time.perf_counter()
        for r in results:
            plain.execute("BEGIN IMMEDIATE")
            plain.execute(
                "INSERT OR REPLACE INTO r VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    1,
                    r.unique_id,
                    r.status,
                    r.started_at,
                    r.finished_at,
                    r.execution_time,
                    r.rows_affected,
                    r.failures,
                    r.message,
                    None,
                    None,
                    None,
                ),
            )
            plain.execute("COMMIT")
        reference_write = time.perf_counter() - started
        print(
            f"history writes ({args.nodes:,} results, one transaction each): {ours_write * 1000:.0f} ms   "
            f"plain sqlite3: {reference_write * 1000:.0f} ms   ratio {ours_write / reference_write:.2f}x"
        )


if __name__ == "__main__":
    main()
