"""Benchmark: ``state:modified+`` on a 10,000-model project, against a ``json.load`` of its manifest.

    python benchmarks/bench_state.py [--models 10000] [--repeat 5] [--edits 50] [--dbt]

On a copy of the generated project bench_load.py makes (benchmarks/.work/state_N), made once:

1. ``prod-same/``: the parsed manifest as it was (a later partial parse keeps the parse
   timestamps of unchanged nodes, as on a developer's machine);
2. ``prod-fresh/``: the same project parsed again from scratch (every parse timestamp differs,
   as for artifacts a CI job wrote);
3. then ``--edits`` model SQL files are edited and the project is parsed again (partial parse).

Measures, interleaved in one run, the cold ``dbt-assets ls -s state:modified+ --state DIR -o
json`` against both states and ``python -c "import json; json.load(open(M))"`` of the current
manifest. Both states must select the same nodes; ``--dbt`` also checks that set against
``dbt ls`` (about a minute per state).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_load import WORK, project_manifest, run_child, run_dbt  # noqa: E402

BIN = Path(sys.executable).parent
STATES = ("prod-same", "prod-fresh")


def prepare(models: int, edits: int) -> Path:
    """The edited project with its two earlier states (made once, then reused)."""
    base = project_manifest(models).parent.parent
    work = WORK / f"state_{models}"
    if (work / "prod-fresh" / "manifest.json").exists():
        return work
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base, work, ignore=shutil.ignore_patterns("logs", "graph.gpickle", ".dbt-assets"))
    (work / "prod-same").mkdir()
    shutil.copy(work / "target" / "manifest.json", work / "prod-same" / "manifest.json")
    run_dbt(work, "parse", "--no-partial-parse", "--target-path", "prod-fresh-target")
    (work / "prod-fresh").mkdir()
    shutil.move(work / "prod-fresh-target" / "manifest.json", work / "prod-fresh" / "manifest.json")
    shutil.rmtree(work / "prod-fresh-target")
    sql = sorted((work / "models").rglob("*.sql"))
    for path in sql[:: max(1, len(sql) // edits)][:edits]:
        path.write_text(path.read_text() + "\n-- edited\n")
    run_dbt(work, "parse")
    return work


def ours(work: Path, state: str) -> list[str]:
    argv = ["ls", "--project-dir", str(work), "-s", "state:modified+", "--state", state, "-o", "json"]
    done = subprocess.run([str(BIN / "dbt-assets"), *argv], capture_output=True, text=True, check=True)
    return sorted(json.loads(line)["unique_id"] for line in done.stdout.splitlines())


def theirs(work: Path, state: str) -> list[str]:
    args = ("ls", "-s", "state:modified+", "--state", state, "--output", "json", "--output-keys", "unique_id")
    done = run_dbt(work, *args)
    return sorted(json.loads(line)["unique_id"] for line in done.stdout.splitlines() if line.startswith("{"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--dbt", action="store_true", help="check the selection against dbt ls too")
    args = parser.parse_args()
    work = prepare(args.models, args.edits)
    manifest = work / "target" / "manifest.json"
    selected = {state: ours(work, state) for state in STATES}
    assert selected["prod-same"] == selected["prod-fresh"], "the two states select differently"
    print(
        f"{args.models:,} models, {args.edits} edited: state:modified+ selects {len(selected['prod-same'])}"
    )
    if args.dbt:
        for state in STATES:
            started = time.perf_counter()
            listed = theirs(work, state)
            took = time.perf_counter() - started
            verdict = "same as dbt-assets" if listed == selected[state] else "DIFFERENT from dbt-assets"
            print(f"dbt ls --state {state}: {len(listed)} nodes in {took:.1f} s, {verdict}")

    reference: list[float] = []
    timings: dict[str, list[float]] = {state: [] for state in STATES}
    cli = str(BIN / "dbt-assets")
    for _ in range(args.repeat):
        reference.append(
            run_child([sys.executable, "-c", f"import json; json.load(open({str(manifest)!r}))"])[0]
        )
        for state in STATES:
            argv = [
                cli,
                "ls",
                "--project-dir",
                str(work),
                "-s",
                "state:modified+",
                "--state",
                state,
                "-o",
                "json",
            ]
            timings[state].append(run_child(argv)[0])
    ref = statistics.median(reference)
    print(
        f"json.load of the manifest ({manifest.stat().st_size / 1e6:.0f} MB): {ref * 1000:,.0f} ms (median)"
    )
    for state in STATES:
        took = statistics.median(timings[state])
        print(
            f"cold ls -s state:modified+ --state {state}: {took * 1000:,.0f} ms, {took / ref:.2f}x json.load"
        )


if __name__ == "__main__":
    main()
