"""Benchmark: a dbt kept warm (``dbt_assets.run.worker``) against the dbt CLI, in one run.

    python benchmarks/bench_warm.py             # 50 one-model invocations each, and the Airflow DAG
    python benchmarks/bench_warm.py --quick     # 10 each, no DAG; ends with a one-line summary
    python benchmarks/bench_warm.py --dag-only --repeat 5   # the DAG with the worker and its builds

On a built copy of the fixture project:

1. ``dbt run -s orders`` with the arguments a dbt-assets run passes (JSON logs at debug level),
   as a new dbt CLI process each time and through a warm worker (``Worker.invoke``),
   interleaved; the first call of each is left out (the worker's start, the CLI's cold caches);
2. the same run through dbt-assets' front door (``start_run(...).run()``: the manifest read,
   the plan, the pre-flight, dbt's events), with and without a worker;
3. (not with --quick) the Airflow DAG of the fixture with one task per asset, run with
   ``dag.test()`` while a ``dbt-assets worker`` serves the project, each run paired with the
   reference, one ``dbt build`` of the same assets by the dbt CLI (the machine's speed drifts
   from minute to minute); the first DAG after the worker starts, apart; the DAG's task
   callables called in a loop through the worker, without Airflow (what Airflow adds to each
   task); then the DAG without a worker, the dbt CLI in each task.

The goals (issue 29): a one-model invocation through the worker at most 0.5 s and at least 5x
less than the CLI; the per-asset DAG with the worker at most 1.5x one ``dbt build``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DBT = str(Path(sys.executable).with_name("dbt"))
DBT_ASSETS = str(Path(sys.executable).with_name("dbt-assets"))
ENV = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_USE_COLORS": "false"}


def built_project(workdir: Path) -> Path:
    """A copy of the fixture, built once by the dbt CLI (its warehouse and manifest)."""
    project = Path(
        shutil.copytree(
            REPO / "fixtures" / "dbt_project",
            workdir / "project",
            ignore=shutil.ignore_patterns("target", "logs", ".dbt-assets"),
        )
    )
    subprocess.run(
        [DBT, "build", "--project-dir", str(project), "--profiles-dir", str(project), "--quiet"],
        cwd=project, env=ENV, check=True, capture_output=True,
    )  # fmt: skip
    return project


def one_model_args(project: Path) -> list[str]:
    return [
        "run", "-s", "orders", "--project-dir", str(project), "--profiles-dir", str(project),
        "--log-format", "json", "--log-level", "debug",
    ]  # fmt: skip


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def interleaved(calls: dict[str, Callable[[], object]], count: int) -> dict[str, list[float]]:
    """Each call ``count + 1`` times, in turn; the first time of each left out."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(count + 1):
        for name, call in calls.items():
            times[name].append(timed(call))
    return {name: values[1:] for name, values in times.items()}


def describe(times: list[float]) -> str:
    return f"{statistics.median(times):.3f} s ({min(times):.3f} to {max(times):.3f})"


def one_model(project: Path, warm_copy: Path, count: int) -> tuple[dict[str, list[float]], dict[str, float]]:
    """dbt's own invocation: the CLI against the worker (each on its own copy of the project:
    a manifest the CLI writes would replace the worker's process); and the worker's memory."""
    from dbt_assets.run.project import Project
    from dbt_assets.run.worker import Worker

    def cli() -> None:
        argv = [DBT, *one_model_args(project)]
        subprocess.run(argv, cwd=project, env=ENV, check=True, capture_output=True)

    with Worker(Project(warm_copy)) as worker:

        def warm() -> None:
            done = worker.invoke(one_model_args(warm_copy))
            assert done.exit_code == 0 and done.manifest == "cached", done.lines[-5:]

        times = interleaved({"dbt CLI": cli, "worker": warm}, count)
        memory = {"rss_mb": int(worker.last["rss"]) / 2**20, "started": worker.started}
    return times, memory


def front_door(project: Path, warm_copy: Path, count: int) -> dict[str, list[float]]:
    """dbt-assets' whole run (``start_run(...).run()``) with and without a worker."""
    from dbt_assets.api import open_worker, start_run
    from dbt_assets.run.project import Project

    with open_worker(Project(warm_copy)) as worker:

        def run(where: Path, through: object) -> Callable[[], None]:
            def call() -> None:
                result = start_run(Project(where), "run", ["orders"], worker=through).run()  # type: ignore[arg-type]
                assert result.status == "success", result.message

            return call

        calls = {"start_run, dbt CLI": run(project, None), "start_run, worker": run(warm_copy, worker)}
        return interleaved(calls, count)


DAG_FILE = """
import os
from dbt_assets import Project
from dbt_assets.integrations.airflow import dbt_dag

dag = dbt_dag(Project(os.environ["BENCH_WARM_PROJECT"]), dag_id=os.environ["BENCH_WARM_DAG"])
"""


def airflow_dag(project: Path, home: Path, repeat: int, cli: bool = True) -> dict[str, list[float]]:
    """The fixture's one-task-per-asset DAG (dag.test()) while a ``dbt-assets worker`` serves
    the project, each run paired with the reference, one ``dbt build`` (on a copy of the
    project: a manifest the CLI writes into the served one would replace the worker's dbt),
    so that both are timed in the same minute of a machine whose speed drifts; the first DAG
    after the worker starts (Airflow's first ``dag.test()`` in this process too) apart; the
    DAG's task callables in a loop; then (``cli``) the DAG without a worker."""
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "BENCH_WARM_PROJECT": str(project),
        }
    )
    (home / "dags").mkdir(parents=True)
    (home / "dags" / "bench_warm_dag.py").write_text(DAG_FILE)
    airflow = str(Path(sys.executable).with_name("airflow"))
    subprocess.run([airflow, "db", "migrate"], env={**os.environ}, check=True, capture_output=True)
    build_copy = Path(shutil.copytree(project, project.parent / "project-build"))

    from dbt_assets import Project
    from dbt_assets.integrations.airflow import dbt_dag, plan_units, run_assets

    def run_dag(dag_id: str) -> Callable[[], None]:
        def call() -> None:
            os.environ["BENCH_WARM_DAG"] = dag_id
            dag = dbt_dag(Project(project), dag_id=dag_id)
            states = {str(ti.state) for ti in dag.test().get_task_instances()}
            assert states == {"success"}, states

        return call

    def build() -> None:
        argv = [DBT, "build", "--project-dir", str(build_copy), "--profiles-dir", str(build_copy)]
        subprocess.run(argv, cwd=build_copy, env=ENV, check=True, capture_output=True)

    def callables() -> None:  # the same tasks' work in a loop, without Airflow
        for unit in units:
            statuses = run_assets(
                project_dir=str(project), command="build", unique_ids=list(unit.unique_ids), warm=True
            )
            assert set(statuses.values()) <= {"success", "pass"}, statuses

    units = plan_units(Project(project))
    times: dict[str, list[float]] = {
        "one dbt build": [],
        "per-asset DAG, worker": [],
        "first DAG, worker": [],
        "its tasks' callables, worker": [],
        "per-asset DAG, dbt CLI": [],
    }
    server = subprocess.Popen(
        [DBT_ASSETS, "worker", "--project-dir", str(project)],
        env={**os.environ}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert server.stderr is not None
    ready = server.stderr.readline()
    assert "ready on" in ready, ready + server.stderr.read()
    try:
        times["first DAG, worker"].append(timed(run_dag("warm_first")))
        for number in range(repeat):
            times["one dbt build"].append(timed(build))
            times["per-asset DAG, worker"].append(timed(run_dag(f"warm_{number}")))
            times["its tasks' callables, worker"].append(timed(callables))
    finally:
        server.terminate()
        server.wait(timeout=60)
    for number in range(repeat if cli else 0):
        times["per-asset DAG, dbt CLI"].append(timed(run_dag(f"cli_{number}")))
    pairs = zip(times["per-asset DAG, worker"], times["one dbt build"], strict=True)
    ratios = ", ".join(f"{dag / build:.2f}x" for dag, build in pairs)
    print(f"the DAG has {len(units)} tasks; with the worker against the build, pair by pair: {ratios}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="10 invocations each, no Airflow DAG")
    parser.add_argument("--invocations", type=int, default=None, help="one-model invocations of each (50)")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the DAG and of the build (1)")
    only = "only the DAG with the worker, its builds and its callables"
    parser.add_argument("--dag-only", action="store_true", help=only)
    options = parser.parse_args()
    count = options.invocations or (10 if options.quick else 50)
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as folder:
        workdir = Path(folder)
        os.environ["DBT_ASSETS_WORKER_DIR"] = str(workdir / "sockets")
        project = built_project(workdir)
        if options.dag_only:
            report_dag(airflow_dag(project, workdir / "airflow", options.repeat, cli=False))
            return
        warm_copy = Path(shutil.copytree(project, workdir / "project-warm"))
        times, memory = one_model(project, warm_copy, count)
        print(f"one-model invocation (`dbt run -s orders`), {count} each, interleaved:")
        for name, values in times.items():
            print(f"  {name:<28} {describe(values)}")
        print(
            f"  worker memory after them: {memory['rss_mb']:.0f} MB, processes started: {memory['started']}"
        )
        door = front_door(project, warm_copy, max(5, count // 5))
        print(f"the same through start_run(...).run(), {max(5, count // 5)} each:")
        for name, values in door.items():
            print(f"  {name:<28} {describe(values)}")
        if not options.quick:
            report_dag(airflow_dag(project, workdir / "airflow", options.repeat))
        cli, warm = statistics.median(times["dbt CLI"]), statistics.median(times["worker"])
        summary = {"worker_s": round(warm, 3), "cli_s": round(cli, 3), "ratio": round(cli / warm, 1)}
        said = f"median of {count} ({json.dumps(summary)})"
        print(f"one-model invocation: worker {warm:.3f} s, CLI {cli:.3f} s, {said}")


def report_dag(dag: dict[str, list[float]]) -> None:
    reference = statistics.median(dag["one dbt build"])
    print("the fixture's Airflow DAG, one task per asset (dag.test()):")
    for name, values in dag.items():
        if values:
            print(f"  {name:<28} {describe(values)}  {statistics.median(values) / reference:.2f}x")


if __name__ == "__main__":
    main()
