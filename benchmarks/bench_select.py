"""Benchmark: resolving selections on a 10,000-model graph, and the cold command against dbt ls.

    python benchmarks/bench_select.py [--models 10000] [--repeat 5]

Uses the project bench_load.py generates (benchmarks/.work/). Measures in one run:

1. resolving graph-operator selections on the loaded graph (median of --repeat, after a
   first call that builds the name indexes);
2. the cold ``dbt-assets ls --manifest M -s X --output json`` against
   ``python -c "import json; json.load(open(M))"`` and against ``dbt ls -s X --output json``
   on the same project (partial parsing on, as users run it).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_load import project_manifest, run_child  # noqa: E402

EXPRESSIONS = [
    "stg_sales_0+",
    "+fct_finance_1",
    "2+dim_sales_2+1",
    "@{stg}",
    "downstream_of:{stg}",
    "+{mart}+",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    manifest = project_manifest(args.models)
    project = manifest.parent.parent
    py = sys.executable
    cli = str(Path(py).with_name("dbt-assets"))
    dbt = str(Path(py).with_name("dbt"))
    expr = EXPRESSIONS[0]
    ours, ref, dbt_ls = [], [], []
    for _ in range(args.repeat):
        ref.append(run_child([py, "-c", f"import json; json.load(open({str(manifest)!r}))"])[0])
        ours.append(run_child([cli, "ls", "--manifest", str(manifest), "-s", expr, "--output", "json"])[0])
    for _ in range(max(1, args.repeat // 2)):
        start = time.perf_counter()
        subprocess.run(
            [
                dbt,
                "ls",
                "--project-dir",
                str(project),
                "--profiles-dir",
                str(project),
                "-s",
                expr,
                "--output",
                "json",
                "--quiet",
            ],
            cwd=project,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        dbt_ls.append(time.perf_counter() - start)

    from dbt_assets.manifest.decode import read_manifest
    from dbt_assets.manifest.graph import AssetGraph
    from dbt_assets.selection import select

    graph = AssetGraph(read_manifest(manifest), project)
    print(f"{args.models:,} models, manifest {manifest.stat().st_size / 1e6:.1f} MB")
    print("| selection | resolve (median, after load) | selected |")
    print("|---|---:|---:|")
    select(graph, ["warm_up_indexes"])
    names = sorted(r.name for r in graph.records.values() if r.resource_type == "model")
    stg = next(n for n in names if n.startswith("stg_") and not n.startswith("stg_sales"))
    mart = next(n for n in names if n.startswith("fct_") and not n.startswith("fct_finance"))
    for expression in (e.format(stg=stg, mart=mart) for e in EXPRESSIONS):
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            found = select(graph, [expression])
            times.append(time.perf_counter() - start)
        print(f"| `{expression}` | {statistics.median(times) * 1000:.2f} ms | {len(found)} |")
    o, r, d = statistics.median(ours), statistics.median(ref), statistics.median(dbt_ls)
    print()
    print(
        f"| cold `dbt-assets ls --manifest M -s {expr} -o json` | cold `json.load` | ratio "
        f"| `dbt ls -s {expr} -o json` | dbt ls / dbt-assets |"
    )
    print("|---:|---:|---:|---:|---:|")
    print(f"| {o * 1000:.0f} ms | {r * 1000:.0f} ms | {o / r:.2f} | {d * 1000:.0f} ms | {d / o:.1f}x |")


if __name__ == "__main__":
    main()
