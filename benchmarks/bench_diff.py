"""Benchmark: ``dbt-assets diff`` on a 10,000-model project with 50 edited models, against
``dbt ls -s state:modified+`` on the same pair of manifests.

    python benchmarks/bench_diff.py [--models 10000] [--edits 50] [--repeat 3] [--dbt-repeat 1]

The pair is bench_state.py's (benchmarks/.work/state_N, made once): ``prod-fresh/``, the project
parsed from scratch (every parse timestamp differs, as in artifacts a CI job wrote), then
``--edits`` model SQL files edited and the project parsed again. ``prod-fresh/`` gets a
``run_results.json`` with a time for every model (so the cost and the deadlines are worked
out, not all unknown). Measured, interleaved in one run: the cold
``dbt-assets diff --state prod-fresh -o json`` (the whole review: changes, downstream by owner,
exposures, SLAs, cost, deadlines), the cold ``dbt-assets ls -s state:modified+`` on the same
pair, ``python -c "import json; json.load(open(M))"`` of the manifest, and ``dbt ls -s
state:modified+``. The review's changed and downstream assets must be what ``dbt ls`` selects.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_load import run_child, run_dbt  # noqa: E402
from bench_state import prepare  # noqa: E402

BIN = Path(sys.executable).parent
STATE = "prod-fresh"


def run_results(work: Path) -> None:
    """A run_results.json beside production's manifest: 1-30 s for every model (seeded)."""
    target = work / STATE / "run_results.json"
    if target.exists():
        return
    nodes = json.loads((work / STATE / "manifest.json").read_text())["nodes"]
    rnd = random.Random(5)
    results = []
    for uid in sorted(nodes):
        if not uid.startswith("model."):
            continue
        took = round(rnd.uniform(1, 30), 2)
        timing = [
            {"name": "execute", "started_at": "2026-01-05T03:00:00Z", "completed_at": "2026-01-05T04:00:00Z"}
        ]
        results.append(
            {"status": "success", "timing": timing, "thread_id": "Thread-1", "execution_time": took,
             "adapter_response": {}, "message": "OK", "failures": None, "unique_id": uid,
             "compiled": True, "compiled_code": "", "relation_name": None, "batch_results": None}
        )  # fmt: skip
    metadata = {
        "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
        "dbt_version": "1.11.0",
        "generated_at": "2026-01-05T04:00:00Z",
        "invocation_id": "bench-diff",
        "invocation_started_at": "2026-01-05T03:00:00Z",
        "env": {},
    }
    target.write_text(
        json.dumps({"metadata": metadata, "results": results, "elapsed_time": 3600.0, "args": {}})
    )


def review(work: Path) -> dict[str, object]:
    argv = [str(BIN / "dbt-assets"), "diff", "--project-dir", str(work), "--state", STATE, "-o", "json"]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


def dbt_modified(work: Path, plus: bool) -> list[str]:
    selector = "state:modified+" if plus else "state:modified"
    args = ("ls", "-s", selector, "--state", STATE, "--output", "json", "--output-keys", "unique_id")
    done = run_dbt(work, *args, "--resource-type", "all", "--indirect-selection", "empty")
    return sorted(json.loads(line)["unique_id"] for line in done.stdout.splitlines() if line.startswith("{"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=10000)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dbt-repeat", type=int, default=1)
    args = parser.parse_args()
    work = prepare(args.models, args.edits)
    run_results(work)
    manifest = work / "target" / "manifest.json"

    found = review(work)
    changed = sorted(c["unique_id"] for c in found["changed"])  # type: ignore[attr-defined]
    downstream = found["downstream"]
    print(f"{args.models:,} models, {args.edits} edited: diff reports {len(changed)} changed, "
          f"{len(downstream)} downstream (tests left out), {found['checks']} tests")  # type: ignore[arg-type]  # fmt: skip
    modified = dbt_modified(work, plus=False)
    plus = dbt_modified(work, plus=True)
    checks = {u for u in plus if u.split(".")[0] in ("test", "unit_test")}
    assert changed == modified, "the changes differ from dbt's state:modified"
    assert sorted(downstream) == sorted(set(plus) - set(modified) - checks), "downstream differs from dbt's"  # type: ignore[arg-type]
    print(f"dbt ls agrees: state:modified {len(modified)}, state:modified+ {len(plus)}")

    ours: list[float] = []
    listing: list[float] = []
    reference: list[float] = []
    cli = str(BIN / "dbt-assets")
    for _ in range(args.repeat):
        reference.append(
            run_child([sys.executable, "-c", f"import json; json.load(open({str(manifest)!r}))"])[0]
        )
        listing.append(
            run_child(
                [
                    cli,
                    "ls",
                    "--project-dir",
                    str(work),
                    "-s",
                    "state:modified+",
                    "--state",
                    STATE,
                    "-o",
                    "json",
                ]
            )[0]
        )
        ours.append(run_child([cli, "diff", "--project-dir", str(work), "--state", STATE, "-o", "json"])[0])
    theirs = []
    for _ in range(args.dbt_repeat):
        started = time.perf_counter()
        dbt_modified(work, plus=True)
        theirs.append(time.perf_counter() - started)
    ref = statistics.median(reference)
    size = manifest.stat().st_size / 1e6
    print(f"json.load of the manifest ({size:.0f} MB): {ref:.2f} s (median of {args.repeat})")
    for label, times in (
        ("dbt-assets diff --state (the whole review)", ours),
        ("dbt-assets ls -s state:modified+", listing),
        ("dbt ls -s state:modified+", theirs),
    ):
        took = statistics.median(times)
        print(f"{label}: {took:.2f} s, {took / ref:.2f}x json.load")
    faster = statistics.median(theirs) / statistics.median(ours)
    print(f"diff against dbt ls -s state:modified+: {faster:.1f}x faster")


if __name__ == "__main__":
    main()
