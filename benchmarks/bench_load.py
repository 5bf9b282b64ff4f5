"""Benchmark: loading a manifest into the asset graph, against json.loads of the same bytes.

    python benchmarks/bench_load.py [--models 1000 10000] [--repeat 5]

For each N it generates a synthetic project (benchmarks/generate_project.py, cached under
benchmarks/.work/), runs `dbt parse`, then measures in one run:

1. in-process load: ``AssetGraph(decode_manifest(data))`` vs ``json.loads(data)``, same bytes,
   same process, median of --repeat runs;
2. peak memory: a fresh process doing only our load vs one doing ``json.load(open(M))``,
   each process's own peak RSS (os.wait4), measured before this process loads anything;
3. the whole cold command ``dbt-assets ls --manifest M --output json`` vs
   ``python -c "import json; json.load(open(M))"``, median wall time of --repeat runs each.

Ratios below 1.0 mean dbt-assets is faster / smaller than the json reference.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
sys.path.insert(0, str(HERE))

from generate_project import generate  # noqa: E402


def project_manifest(models: int) -> Path:
    """A parsed synthetic project of ``models`` models (generated and parsed once, then cached)."""
    project = WORK / f"project_{models}"
    manifest = project / "target" / "manifest.json"
    if not manifest.exists():
        generate(project, models)
        run_dbt(project, "parse")
    return manifest


def run_dbt(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``dbt ARGS --quiet`` on a generated project (its profiles.yml inside), output kept."""
    dbt = str(Path(sys.executable).with_name("dbt"))
    return subprocess.run(
        [dbt, *args, "--project-dir", str(project), "--profiles-dir", str(project), "--quiet"],
        cwd=project, check=True, capture_output=True, text=True,
    )  # fmt: skip


def time_in_process(data: bytes, repeat: int) -> tuple[float, float]:
    from dbt_assets.manifest.decode import decode_manifest
    from dbt_assets.manifest.graph import AssetGraph

    ours, reference = [], []
    for _ in range(repeat):
        gc.collect()
        start = time.perf_counter()
        json.loads(data)
        reference.append(time.perf_counter() - start)
        gc.collect()
        start = time.perf_counter()
        AssetGraph(decode_manifest(data))
        ours.append(time.perf_counter() - start)
    return statistics.median(ours), statistics.median(reference)


def run_child(argv: list[str]) -> tuple[float, int]:
    """Wall time (s) and peak RSS (KiB) of one fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed with exit {proc.returncode}")
    return elapsed, usage.ru_maxrss


def measure(models: int, repeat: int) -> dict[str, float]:
    manifest = project_manifest(models)
    py = sys.executable
    reference_argv = [py, "-c", f"import json; json.load(open({str(manifest)!r}))"]
    load_argv = [
        py,
        "-c",
        "from dbt_assets.manifest.graph import AssetGraph; from dbt_assets.manifest.decode import "
        f"read_manifest; AssetGraph(read_manifest({str(manifest)!r}))",
    ]
    cli_argv = [str(Path(py).with_name("dbt-assets")), "ls", "--manifest", str(manifest), "--output", "json"]
    # Fresh processes first: a forked child's peak RSS starts at its parent's, so the parent
    # must not hold a decoded manifest yet.
    cold_ours, cold_ref, rss_ours, rss_ref = [], [], [], []
    for _ in range(repeat):  # interleaved, so machine noise hits both alike
        t, rss = run_child(reference_argv)
        cold_ref.append(t)
        rss_ref.append(rss)
        cold_ours.append(run_child(cli_argv)[0])
        rss_ours.append(run_child(load_argv)[1])
    data = manifest.read_bytes()
    load, loads = time_in_process(data, repeat)
    return {
        "models": models,
        "manifest_mb": len(data) / 1e6,
        "load_s": load,
        "json_loads_s": loads,
        "load_ratio": load / loads,
        "load_peak_rss_mb": min(rss_ours) / 1024,
        "json_load_peak_rss_mb": min(rss_ref) / 1024,
        "rss_ratio": min(rss_ours) / min(rss_ref),
        "cold_ls_s": statistics.median(cold_ours),
        "cold_json_load_s": statistics.median(cold_ref),
        "cold_ratio": statistics.median(cold_ours) / statistics.median(cold_ref),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rows = [measure(n, args.repeat) for n in args.models]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    print(
        "| models | manifest | load | json.loads | ratio | peak RSS load | peak RSS json.load | ratio "
        "| cold `ls -o json` | cold json.load | ratio |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['models']:,} | {r['manifest_mb']:.1f} MB | {r['load_s'] * 1000:.0f} ms "
            f"| {r['json_loads_s'] * 1000:.0f} ms | {r['load_ratio']:.2f} | {r['load_peak_rss_mb']:.0f} MB "
            f"| {r['json_load_peak_rss_mb']:.0f} MB | {r['rss_ratio']:.2f} | {r['cold_ls_s'] * 1000:.0f} ms "
            f"| {r['cold_json_load_s'] * 1000:.0f} ms | {r['cold_ratio']:.2f} |"
        )
    (WORK / "bench_load.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
