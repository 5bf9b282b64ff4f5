"""Sharding exactness on a generated 10,000-model project, against dbt ls (too slow for the
test suite: run by hand, figures in benchmarks/README.md).

    python benchmarks/check_shard_10k.py [--models 10000] [--k 4] [--command run]

Generates the project (benchmarks/generate_project.py), parses it with dbt, gives every
model a random execution time (seeded), shards the whole selection into at most K groups,
and checks that (1) every asset is in exactly one group and no dependency crosses groups
backwards (tests/test_shard.check_groups) and (2) each group's compiled dbt arguments make
``dbt ls`` select exactly that group. Prints the timings and the predicted makespans.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dbt_assets.compile import plan  # noqa: E402
from dbt_assets.facts import AssetFacts  # noqa: E402
from dbt_assets.graph import AssetGraph  # noqa: E402
from dbt_assets.manifest import read_manifest  # noqa: E402
from dbt_assets.shard import shard  # noqa: E402
from tests.conftest import run_dbt  # noqa: E402
from tests.dbt_oracle import DbtLs  # noqa: E402
from tests.test_compile import dbt_selects  # noqa: E402
from tests.test_differential_ls import _load_generator  # noqa: E402
from tests.test_shard import check_groups  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", type=int, default=10_000)
    parser.add_argument("--k", type=int, default=4)
    parser.add_argument("--command", default="run", choices=["run", "build"])
    args = parser.parse_args()
    project = Path(tempfile.mkdtemp(prefix="shard-10k-")) / "project"
    _load_generator().generate(project, args.models, seed=13)  # type: ignore[attr-defined]
    started = time.perf_counter()
    run_dbt(project, "parse")
    print(f"dbt parse: {time.perf_counter() - started:.1f} s", flush=True)
    graph = AssetGraph(read_manifest(project / "target" / "manifest.json"), project)
    planned = plan(graph, args.command)
    rng = random.Random(5)
    facts = {uid: AssetFacts(uid, recent=[[0.0, rng.uniform(1, 120)]]) for uid in planned.unique_ids}
    started = time.perf_counter()
    sharded = shard(graph, planned, args.k, facts, threads=4)
    print(
        f"shard: {len(planned.unique_ids)} nodes -> {len(sharded.shards)} groups in "
        f"{time.perf_counter() - started:.1f} s; makespan {sharded.makespan:.0f} s vs one invocation "
        f"{sharded.single_invocation:.0f} s ({sharded.makespan / sharded.single_invocation:.2f}x)",
        flush=True,
    )
    check_groups(graph, sharded, list(planned.unique_ids))
    print("groups: every node in one group, no dependency backwards", flush=True)
    started = time.perf_counter()
    oracle = DbtLs(project)
    print(f"dbt ls oracle ready: {time.perf_counter() - started:.1f} s", flush=True)
    for s in sharded.shards:
        started = time.perf_counter()
        selected = dbt_selects(oracle, s.plan)
        same = selected == list(s.plan.unique_ids)
        print(
            f"group {s.index}: {len(s.plan.unique_ids)} nodes, {len(s.plan.argv)} args, dbt ls "
            f"{'selects exactly them' if same else 'DIFFERS'} ({time.perf_counter() - started:.1f} s)",
            flush=True,
        )
        if not same:
            sys.exit(1)


if __name__ == "__main__":
    main()
