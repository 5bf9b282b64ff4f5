"""Benchmark: the run history on PostgreSQL against the SQLite file, on a real server.

    python benchmarks/bench_history.py [--results 10000] [--repeat 5] [--before DIR] [--writes-only]

Starts a throw-away PostgreSQL server (tests/postgres.py: initdb on a free port; fsync off,
as a test server; a production server with fsync on pays its disk's flush per commit) and
measures in one run:

1. writing ``--results`` results the way a run does (``record_start`` then ``record_result``,
   the asset's facts folded, a result acknowledged once committed), into SQLite and into
   PostgreSQL, against the least PostgreSQL can do for the same results: plain psycopg, one
   autocommitted ``INSERT`` per result (no facts, no lock). Each writer runs in a process of
   its own, ``--repeat`` rounds interleaved, each PostgreSQL writer right after its SQLite
   reference and before the plain inserts; times are medians, a ratio is the median of the
   rounds' ratios (a load that comes and goes weighs on both of its sides alike). ``--before
   DIR``: also the SQLite and PostgreSQL histories of the dbt-assets in
   ``DIR`` (an older tree: ``git archive <commit> dbt_assets | tar -x -C DIR``), on the same
   server in the same rounds;
2. judging every SLA of bench_sla.py's 10,000-model project (22,000 SLAs) with its year of
   daily history (3.65 million results, copied into PostgreSQL from bench_sla.py's SQLite
   file), as of now and before the deadline (predicted), on each backend (not with
   ``--writes-only``).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
if os.environ.get("BENCH_HISTORY_CODE"):  # a writer of --before: that tree's dbt_assets
    sys.path.insert(0, os.environ["BENCH_HISTORY_CODE"])

from bench_load import WORK  # noqa: E402
from bench_sla import DAY, median_time, sla_graph  # noqa: E402

from dbt_assets.api import check_slas  # noqa: E402
from dbt_assets.history.store import History  # noqa: E402
from dbt_assets.run.events import AssetFinished  # noqa: E402
from dbt_assets.sla.schedule import Deadline  # noqa: E402
from tests.postgres import Server, postgres_server  # noqa: E402

TABLES = ("runs", "asset_results", "asset_facts")


def write_results(location: Path | str, count: int) -> float:
    """Seconds to record one run of ``count`` results, as the runner records them."""
    with History.open(location) as history:
        uids = [f"model.p.m{i}" for i in range(count)]
        started = time.perf_counter()
        run_id = history.start_run(command="run", argv=["run"], unique_ids=uids)
        for i, uid in enumerate(uids):
            history.record_start(run_id, uid, float(i))
            history.record_result(run_id, AssetFinished(uid, "success", float(i), i + 1.0, 1.0))
        history.finish_run(run_id, status="success", exit_code=0)
        return time.perf_counter() - started


def plain_inserts(url: str, count: int) -> float:
    """Seconds for one autocommitted psycopg INSERT per result into a bare table."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "CREATE TABLE plain (run_id BIGINT, unique_id TEXT, status TEXT, started_at DOUBLE PRECISION, "
            "finished_at DOUBLE PRECISION, execution_time DOUBLE PRECISION, PRIMARY KEY (run_id, unique_id))"
        )
        started = time.perf_counter()
        for i in range(count):
            connection.execute(
                "INSERT INTO plain VALUES (1, %s, 'success', %s, %s, 1.0)",
                (f"model.p.m{i}", float(i), i + 1.0),
            )
        return time.perf_counter() - started


def copy_history(source: Path, url: str) -> None:
    """bench_sla.py's SQLite history into PostgreSQL's tables (COPY), as a migration left them."""
    import psycopg

    History.open(url).close()  # the schema
    lite = sqlite3.connect(source)
    with psycopg.connect(url) as connection:
        for table in TABLES:
            columns = [row[1] for row in lite.execute(f"PRAGMA table_info({table})")]
            with connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in lite.execute(f"SELECT {', '.join(columns)} FROM {table}"):
                    copy.write_row(row)
        connection.execute("SELECT setval(pg_get_serial_sequence('runs', 'run_id'), max(run_id)) FROM runs")
        connection.execute("ANALYZE")
    lite.close()


def judge(location: Path | str, repeat: int, before_deadline: float) -> tuple[float, float]:
    graph = sla_graph(10_000)
    with History.open(location, create=False) as history:
        check_slas(graph, history)  # warm: the rules resolved once, as in bench_sla.py
        now = median_time(lambda: check_slas(graph, history), repeat)
        early = median_time(lambda: check_slas(graph, history, at=before_deadline), repeat)
    return now, early


def write_in_process(kind: str, location: str, count: int, code: Path | None = None) -> float:
    """Seconds one writer (``kind``: history or plain) takes, in a process of its own."""
    env = {**os.environ, "BENCH_HISTORY_CODE": str(code) if code else ""}
    done = subprocess.run(
        [sys.executable, __file__, "--write", kind, location, str(count)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return float(done.stdout.strip())


def fresh_file(name: str) -> Path:
    path = WORK / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def writing(server: Server, args: argparse.Namespace) -> None:
    n, before = args.results, args.before
    code = {"": None, " (before)": before} if before else {"": None}
    times: dict[str, list[float]] = {}
    for round_ in range(args.repeat):  # each PostgreSQL writer next to its references
        steps = [("SQLite", ""), ("PostgreSQL", ""), ("plain", "")]
        steps += [("PostgreSQL", " (before)"), ("SQLite", " (before)")] if before else []
        for kind, tag in steps:
            tree = code.get(tag) if tag else None
            if kind == "SQLite":
                took = write_in_process("history", str(fresh_file("bench_history_write.db")), n, tree)
            elif kind == "PostgreSQL":
                took = write_in_process(
                    "history", server.url(f"bench_write_{round_}{'_b' if tree else ''}"), n, tree
                )
            else:
                took = write_in_process("plain", server.url(f"bench_plain_{round_}"), n)
            times.setdefault(f"{kind}{tag}", []).append(took)
    median = {kind: statistics.median(found) for kind, found in times.items()}
    plain = median["plain"]

    def ratio(kind: str, reference: str) -> float:
        """The median of the rounds' ratios: each round's writers ran one after the other, so
        the machine's load weighs on both sides of a ratio alike."""
        return statistics.median(a / b for a, b in zip(times[kind], times[reference], strict=True))

    print(
        f"writing {n:,} results as a run does (start + result, facts folded, each result committed "
        f"when acknowledged), {args.repeat} interleaved rounds (medians; ratios: median of the rounds'):"
    )
    for tag in code:
        lite, pg = median[f"SQLite{tag}"], median[f"PostgreSQL{tag}"]
        if tree := code[tag]:
            print(f"  the code before, from {tree}:")
        print(f"  {'SQLite file' + tag + ':':30} {lite * 1000:8.0f} ms  ({lite / n * 1e6:5.0f} us/result)")
        print(
            f"  {'PostgreSQL' + tag + ':':30} {pg * 1000:8.0f} ms  ({pg / n * 1e6:5.0f} us/result; "
            f"{ratio(f'PostgreSQL{tag}', f'SQLite{tag}'):.2f}x SQLite, "
            f"{ratio(f'PostgreSQL{tag}', 'plain'):.2f}x plain inserts)"
        )
    print(f"  {'plain psycopg INSERTs:':30} {plain * 1000:8.0f} ms  ({plain / n * 1e6:5.0f} us/result)")
    print("  rounds (ms): " + "; ".join(f"{k} {[round(t * 1000) for t in v]}" for k, v in times.items()))


def main() -> None:
    if sys.argv[1:2] == ["--write"]:  # one writer, in a process of its own
        kind, location, count = sys.argv[2], sys.argv[3], int(sys.argv[4])
        took = write_results(location, count) if kind == "history" else plain_inserts(location, count)
        print(took)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--results", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a tree of an older dbt-assets, to compare writing with")
    parser.add_argument("--writes-only", action="store_true", help="not the SLA judging")
    args = parser.parse_args()
    year = WORK / "history_10000_365.db"
    if not args.writes_only and not year.exists():
        sys.exit("run benchmarks/bench_sla.py first: it writes the year of history this copies")
    WORK.mkdir(exist_ok=True)
    with postgres_server() as server:
        writing(server, args)
        if not args.writes_only:
            report(server, year, args)


def report(server: Server, year: Path, args: argparse.Namespace) -> None:
    url = server.url("bench_year")
    started = time.perf_counter()
    copy_history(year, url)
    print(f"copied a year of history into PostgreSQL in {time.perf_counter() - started:.0f} s")
    with sqlite3.connect(year) as db:
        (last_start,) = db.execute("SELECT max(started_at) FROM runs").fetchone()
    last_run_day = float(int(last_start // DAY) * DAY)
    before = Deadline.parse("07:00", "Europe/Berlin").next(last_run_day + DAY) - 600
    lite_now, lite_early = judge(year, args.repeat, before)
    pg_now, pg_early = judge(url, args.repeat, before)
    print("judging 22,000 SLAs on 10,000 models with a year of daily history:")
    print(
        f"  now:              SQLite {lite_now * 1000:5.0f} ms, PostgreSQL {pg_now * 1000:5.0f} ms "
        f"({pg_now / lite_now:.2f}x)"
    )
    print(
        f"  before deadline:  SQLite {lite_early * 1000:5.0f} ms, PostgreSQL {pg_early * 1000:5.0f} ms "
        f"({pg_early / lite_early:.2f}x)"
    )


if __name__ == "__main__":
    main()
