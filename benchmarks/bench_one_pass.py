"""Benchmark: dbt's own time to select a compiled plan, explicit tokens against one pass.

    python benchmarks/bench_one_pass.py [--models 10000] [--explicit 1,10,100] [--one-pass 1,100,1000,5000]

On the generated project bench_load.py makes (benchmarks/.work/project_N, parsed), runs the
real ``dbt ls`` (partial parse, as a user's second command) with:

1. the reference: one model by name;
2. explicit plans of random sets of ``--explicit`` models (one criterion per token): what
   dbt pays per criterion;
3. one-pass plans of random sets of ``--one-pass`` models: ``result:success`` over a generated
   state that lists the set.

Each selection is checked to be exactly the planned set. Prints seconds and ratios against
the reference, and dbt's cost per criterion (the slope of the explicit plans).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_load import project_manifest  # noqa: E402

from dbt_assets.api import load_graph  # noqa: E402
from dbt_assets.plan.compile import Plan, plan  # noqa: E402
from dbt_assets.plan.one_pass import generated_state  # noqa: E402

DBT = str(Path(sys.executable).with_name("dbt"))


def dbt_ls(project: Path, argv: tuple[str, ...]) -> tuple[float, list[str]]:
    """Seconds of ``dbt ls`` with a plan's selection arguments, and what it listed."""
    args = [a for a in argv[1:]]
    started = time.perf_counter()
    done = subprocess.run(
        [DBT, "ls", *args, "--resource-type", "model", "--output", "json", "--output-keys", "unique_id",
         "--quiet", "--project-dir", str(project), "--profiles-dir", str(project)],
        capture_output=True, text=True, cwd=project, check=True,
    )  # fmt: skip
    took = time.perf_counter() - started
    return took, sorted(
        json.loads(line)["unique_id"] for line in done.stdout.splitlines() if line.startswith("{")
    )


def timed(project: Path, result: Plan) -> float:
    if result.one_pass:
        with generated_state(result.unique_ids) as state:
            took, listed = dbt_ls(project, result.with_state(state).argv)
    else:
        took, listed = dbt_ls(project, result.argv)
    assert listed == list(result.unique_ids), (
        f"{result.strategy} plan of {len(result.unique_ids)} is not exact"
    )
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--explicit", default="1,10,100")
    parser.add_argument("--one-pass", default="1,100,1000,5000")
    args = parser.parse_args()
    manifest = project_manifest(args.models)
    project = manifest.parent.parent
    graph = load_graph(manifest=manifest)
    models = sorted(u for u, r in graph.records.items() if r.resource_type == "model")
    rng = random.Random(5)
    dbt_ls(project, ("ls", "--select", graph.records[models[0]].name))  # warm: partial parse state
    reference = timed(project, plan(graph, "run", unique_ids=[models[1]], one_pass=10**9))
    print(f"{args.models:,} models; dbt ls of one model (reference): {reference:6.1f} s")
    slope = []
    for n in [int(x) for x in args.explicit.split(",") if x]:
        result = plan(graph, "run", unique_ids=rng.sample(models, n), one_pass=10**9)
        criteria = len(result.argv) - 4  # run --select ... --indirect-selection empty
        took = timed(project, result)
        slope.append((criteria, took))
        print(f"explicit, {n:5,} models, {criteria:5,} criteria: {took:6.1f} s ({took / reference:.2f}x)")
    if len(slope) > 1:
        (c0, t0), (c1, t1) = slope[0], slope[-1]
        print(f"dbt's cost per criterion: {(t1 - t0) / (c1 - c0) * 1000:.0f} ms")
    for n in [int(x) for x in args.one_pass.split(",") if x]:
        result = plan(graph, "run", unique_ids=rng.sample(models, n), one_pass=0)
        took = timed(project, result)
        print(f"one pass, {n:5,} models:                  {took:6.1f} s ({took / reference:.2f}x)")


if __name__ == "__main__":
    main()
