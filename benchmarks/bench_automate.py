"""Benchmark: one automation tick on the generated 10,000-model project with a year of daily
history and 3,000 deadlines, against ``check_slas`` on the same graph, history and moment.

    python benchmarks/bench_automate.py [--models 10000] [--days 365] [--repeat 5] [--profile]
    python benchmarks/bench_automate.py --quick     # 2,000 models, 90 days

The project (``benchmarks/.work/automate_N``) is bench_load.py's generated project (copied from
its cache when there, else generated with the same seed) with automation declared in every place
it can be, and parsed once by dbt:

- ``dbt_assets.yml``: :data:`bench_sla.RULES` (max_failures on all, a 1-day freshness SLA on
  staging, a 07:00 Europe/Berlin deadline on every mart: 3,000 deadlines at 10,000 models) and
  ``automate:`` keys per domain of marts: ``keep_slas`` with ``retry``; a ``cron`` with
  ``keep_slas``; ``eager`` with ``keep_slas``; a ``cron`` with ``on_missing`` and ``retry``;
  ``paused``; and on staging ``keep_slas`` (a freshness SLA) and ``eager``;
- ``dbt_project.yml``: dbt's ``+freshness: {build_after: ...}`` and an ``automate:`` key in
  ``+meta`` (``config.meta.dbt_assets.automate``) on the hr marts, dbt State's ``+state:``
  block on the growth marts; the other staging views keep dbt's default rule.

The history is bench_sla.py's (one build a day for ``--days`` days, a result per model, built by
its ``build_history``, shared through its cache) copied and given what automation reads besides:
a week of daily ``dbt source freshness`` checks and one 20 minutes before the measured moment
that saw new rows in a third of the sources; a recorded tick that built every asset with the
code it has now, but for every tenth asset (its code changed since); and a live run of another
host holding 30 staging models. The moment: 10 minutes before the deadline the day after the
last run, when the day's work is not done (as bench_sla.py's "before deadline").

Measures in one run, median of ``--repeat``, each as a ratio to (a):

a. ``check_slas(graph, history, at=T)`` (the reference: reads the kept facts, judges every SLA,
   predicts each deadline along its critical path);
b. a cold dry-run tick: a new ``Automation`` and ``Project`` each time, so reading and decoding
   the manifest, selecting and reading the policies are included;
c. a warm dry-run tick: one ``Automation`` reused, its graph and policies cached (a loop's tick):
   the manifest's freshness check, the history reads, deciding, the plan of what is due;
d. ``decide()`` alone on a World built from facts already read;

then each step of the warm tick alone (tick.py's ``_tick``: the manifest's freshness check, the
sources a condition reads, the three history reads, decide() with the time spent in reading code
and in keep_slas' estimate, the tests to build, the plan), the time the cyclic garbage collector
takes during one warm tick, and what only the cold tick does (reading the manifest, the
policies). Wall and CPU time both: the CPU time of this process is the figure to compare when
other work shares the machine. A cold tick, a warm one and decide() must decide the same.

The process's wall clock is stopped at T for the measurements (``time.time`` returns T), as if
they ran then: the other host's run is still going at T, and the history holds nothing after T,
so ``check_slas`` reads the kept facts as it does when asked about now (asked about a moment in
the past while a run is going, it replays every result: 35 s here).

``--profile`` adds one decide()'s CPU by condition kind and cProfile's view of one warm tick.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import os
import pstats
import shutil
import sqlite3
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_load import WORK, run_dbt  # noqa: E402
from bench_sla import DAY, RULES, build_history  # noqa: E402
from generate_project import generate  # noqa: E402

import dbt_assets.automate.decide as decide_module  # noqa: E402
from dbt_assets.api import check_slas  # noqa: E402
from dbt_assets.automate.conditions import Condition  # noqa: E402
from dbt_assets.automate.config import automated, read_policies  # noqa: E402
from dbt_assets.automate.decide import Decisions, checks_to_run, decide  # noqa: E402
from dbt_assets.automate.snapshot import World, code_fingerprints  # noqa: E402
from dbt_assets.automate.tick import Automation, Tick, TickOptions, _fed_all  # noqa: E402
from dbt_assets.history.automation import Decided  # noqa: E402
from dbt_assets.history.store import History  # noqa: E402
from dbt_assets.manifest.graph import AssetGraph  # noqa: E402
from dbt_assets.plan.compile import plan  # noqa: E402
from dbt_assets.run.project import Project  # noqa: E402
from dbt_assets.selection import select  # noqa: E402
from dbt_assets.sla.judge import work_left  # noqa: E402
from dbt_assets.sla.schedule import Deadline  # noqa: E402

AUTOMATE_RULES = (
    RULES
    + """  - select: "path:models/marts/sales path:models/marts/finance"
    automate: {keep_slas: true, margin: 15m, retry: {max_failures: 3, pause: 5m}}
  - select: "path:models/marts/marketing"
    automate: {cron: "30 5 * * *", timezone: Europe/Berlin, keep_slas: true}
  - select: "path:models/marts/product"
    automate: {eager: true, keep_slas: true}
  - select: "path:models/marts/support"
    automate: {cron: "0 */6 * * *", on_missing: true, retry: true}
  - select: "path:models/marts/ops"
    automate: {paused: true}
  - select: "path:models/staging/sales"
    automate: {keep_slas: true}
  - select: "path:models/staging/finance"
    automate: {eager: true}
"""
)
DBT_CONFIGS = """      +tags: [marts]
      hr:
        +freshness: {build_after: {count: 4, period: hour}}
        +meta: {dbt_assets: {automate: {retry: {max_failures: 2, pause: 10m}}}}
      growth:
        +state: {lag_tolerance: 2h, require_fresh_data_from: all}
"""
OTHER_HOST = "bench-automate-other-host"


def automate_project(models: int) -> Path:
    """The generated project of ``models`` models with automation declared, parsed once."""
    project = WORK / f"automate_{models}"
    if (project / "target" / "manifest.json").exists():
        return project
    shutil.rmtree(project, ignore_errors=True)
    cached = WORK / f"project_{models}"
    if (cached / "target" / "manifest.json").exists():
        shutil.copytree(cached, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_assets.yml"))
    else:
        generate(project, models)  # bench_load's project: the same seed
    settings = project / "dbt_project.yml"
    settings.write_text(settings.read_text().replace("      +tags: [marts]\n", DBT_CONFIGS))
    (project / "dbt_assets.yml").write_text(AUTOMATE_RULES)
    started = time.perf_counter()
    run_dbt(project, "parse")
    print(f"parsed {project.name} in {time.perf_counter() - started:.0f}s")
    return project


def automate_history(graph: AssetGraph, days: int) -> tuple[Path, float]:
    """bench_sla's history of this project (built once, shared with bench_sla.py), copied and
    given what automation reads; the moment to measure at."""
    models = sorted(u for u, r in graph.records.items() if r.resource_type == "model")
    base = WORK / f"history_{len(models)}_{days}.db"
    if not base.exists():
        started = time.perf_counter()
        first_day = float(int(time.time() // DAY) * DAY) - (days + 1) * DAY
        build_history(base, models, days, first_day)
        took = time.perf_counter() - started
        print(f"wrote {base.name}: {len(models) * days:,} results in {took:.0f}s")
    path = WORK / f"automate_history_{len(models)}_{days}.db"
    raw = sqlite3.connect(base)
    (last_start,) = raw.execute("SELECT max(started_at) FROM runs WHERE command = 'build'").fetchone()
    raw.close()
    last_day = float(int(last_start // DAY) * DAY)
    at = Deadline.parse("07:00", "Europe/Berlin").next(last_day + DAY) - 600
    if not path.exists():
        started = time.perf_counter()
        shutil.copyfile(base, WORK / "automate_history.tmp")
        add_automation(WORK / "automate_history.tmp", graph, last_day, at)
        os.replace(WORK / "automate_history.tmp", path)
        print(f"wrote {path.name} in {time.perf_counter() - started:.0f}s")
    return path, at


def add_automation(path: Path, graph: AssetGraph, last_day: float, at: float) -> None:
    """Source freshness checks, automation's record of what it built, a live run elsewhere."""
    sources = sorted(u for u, r in graph.records.items() if r.resource_type == "source")
    assets = automated(graph, graph.records)
    with History.open(path, create=False) as history:
        db = history._db
        (last_run,) = db.execute("SELECT max(run_id) FROM runs WHERE command = 'build'").fetchone()
        db.execute("BEGIN")
        daily = [last_day - d * DAY for d in range(6, -1, -1)]  # checked 03:30, rows of 03:00
        for checked in [day + 3.5 * 3600 for day in daily] + [at - 1200]:
            run_id = db.execute(
                "INSERT INTO runs (command, started_at, finished_at, status, exit_code) "
                "VALUES ('source freshness', ?, ?, 'success', 0)",
                (checked, checked + 30),
            ).lastrowid
            rows = []
            for i, uid in enumerate(sources):
                loaded = checked - 1800  # the check before the moment: new rows in a third of them
                if checked == at - 1200 and i % 3:
                    loaded = last_day + 3 * 3600
                rows.append((run_id, uid, "pass", checked, checked + 1, 1.0, loaded))
            db.executemany(
                "INSERT INTO asset_results (run_id, unique_id, status, started_at, finished_at, "
                "execution_time, max_loaded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )
        history._rebuild_facts(sources)
        code = code_fingerprints(graph)
        decided = []
        for i, uid in enumerate(assets):
            checksum, fingerprint = code(uid)
            built = f"{checksum}|{fingerprint}" if i % 10 else "before|before"
            decided.append(Decided(uid, "run", "on_missing", "never built", "missing", fingerprint=built))
        when = last_day + 3.9 * 3600
        history._write_tick(when, when, "bench", decided, {"due": len(decided)}, {}, last_run)
        held = [u for u in assets if graph.records[u].resource_type == "model" and "stg_" in u][::100][:30]
        run_id = db.execute(
            "INSERT INTO runs (command, started_at, status, host, pid) VALUES ('build', ?, 'running', ?, 1)",
            (at - 300, OTHER_HOST),
        ).lastrowid
        db.executemany(
            "INSERT INTO asset_claims (unique_id, target, run_id, claimed_at) VALUES (?, '', ?, ?)",
            [(u, run_id, at - 300) for u in held],
        )
        db.execute("COMMIT")


def world_of(automation: Automation, at: float) -> World:
    """The World a tick builds (tick.py), from the history as it is now."""
    graph, policies, fed = automation.graph()
    history = automation.history
    return World(
        graph=graph,
        now=at,
        facts=history.facts(),
        claims=history.claims(target=automation.project.target),
        state=history.automation_state(),
        max_runs=automation.options.max_runs,
        unobserved=frozenset(s for s in _fed_all(graph, policies.values()) if s not in fed),
        code_of=code_fingerprints(graph),
        estimate=work_left(graph, history.facts(), at),
    )


@contextlib.contextmanager
def clock_at(at: float) -> Iterator[None]:
    """``time.time()`` says ``at`` (module docstring); durations use perf_counter."""
    real = time.time
    time.time = lambda: at
    try:
        yield
    finally:
        time.time = real


def measure(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``repeat`` calls (the CPU time of this process: the
    figure to compare when other work shares the machine)."""
    walls, cpus = [], []
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        action()
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    return statistics.median(walls), statistics.median(cpus)


class Timed:
    """A function that adds up the wall and CPU time spent in it, and its calls."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.function, self.wall, self.cpu, self.calls = function, 0.0, 0.0, 0

    def __call__(self, *args: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return self.function(*args)
        finally:
            self.cpu += time.process_time() - cpu
            self.wall += time.perf_counter() - wall
            self.calls += 1


def outcome(decisions: Decisions) -> list[tuple[str, str, str | None, str]]:
    """What a tick decided, without its sentences (a holder's "started Ns ago" moves)."""
    return [(d.unique_id, d.decision, d.condition, d.code) for d in decisions.decided]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=10000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2,000 models, 90 days, 3 repeats")
    parser.add_argument(
        "--profile", action="store_true", help="one warm tick: CPU by condition, and cProfile (CPU time)"
    )
    args = parser.parse_args()
    if args.quick:
        args.models, args.days, args.repeat = 2000, 90, 3
    project = Project(automate_project(args.models))
    history_path, at = automate_history(project.graph(), args.days)
    with History.open(history_path, create=False) as history, clock_at(at):
        automation = Automation(project, history, TickOptions(check_sources=False))
        graph, _, _ = automation.graph()  # one graph in the process, as in a loop's
        results = check_slas(graph, history, at=at)
        sla_counts = (len(results), sum(r.sla == "deadline" for r in results))
        at_risk = sum(r.status == "at_risk" for r in results)
        del results
        tick = automation.tick(at, dry_run=True)
        rows = measure_all(automation, graph, tick, at, args.repeat)
        profile = None
        if args.profile:
            by_condition = conditions_cpu(automation, at)
            profile = cProfile.Profile(time.process_time)
            profile.runcall(automation.tick, at, dry_run=True)
    report(args, graph, (*sla_counts, at_risk), tick, at, rows)
    if profile is not None:
        print("\nCPU of one decide() by condition, GC off (inclusive; gates, building conditions):")
        for name, (cpu, calls) in sorted(by_condition.items(), key=lambda kv: -kv[1][0]):
            print(f"  {name:20s} {cpu * 1e3:6.0f} ms  {calls:6,} calls")
        for order in ("cumulative", "tottime"):
            print(f"\ncProfile (CPU time) of one warm tick, by {order}:")
            pstats.Stats(profile).sort_stats(order).print_stats(40)


def measure_all(
    automation: Automation, graph: AssetGraph, tick: Tick, at: float, repeat: int
) -> list[tuple[str, tuple[float, float]]]:
    """(a)-(d) of the module docstring, then the parts of the warm tick and of the cold one."""
    history, project = automation.history, automation.project
    rows = [("a. check_slas (reference)", measure(lambda: check_slas(graph, history, at=at), repeat))]

    def cold() -> Tick:
        return Automation(Project(project.project_dir), history, automation.options).tick(at, dry_run=True)

    def warm() -> Tick:
        return automation.tick(at, dry_run=True)

    rows += [
        ("b. cold dry-run tick (manifest read)", measure(cold, repeat)),
        ("c. warm dry-run tick (policies cached)", measure(warm, repeat)),
    ]
    _, policies, _ = automation.graph()
    world = world_of(automation, at)

    def decide_only(code_of: Any = world.code_of, estimate: Any = None) -> Decisions:
        fresh = World(**{k: getattr(world, k) for k in World.__dataclass_fields__ if k[0] != "_"})
        fresh.code_of = code_of  # a fresh World: its per-tick caches start empty
        fresh.estimate = estimate or work_left(graph, world.facts, at)
        return decide(fresh, policies)

    rows.append(("d. decide() alone", measure(decide_only, repeat)))
    code_of = Timed(code_fingerprints(graph))
    estimate = Timed(work_left(graph, world.facts, at))
    decide_only(code_of, estimate)
    due = set(tick.decisions.due)
    checks = checks_to_run(tick.world, due)
    parts: list[tuple[str, Callable[[], object]]] = [
        ("manifest freshness check (ensure_manifest)", project.ensure_manifest),
        ("sources fed by a condition (_fed_all)", lambda: _fed_all(graph, policies.values())),
        (f"history: facts() of {len(world.facts):,} assets", history.facts),
        (f"history: automation_state() of {len(world.state):,}", history.automation_state),
        ("history: claims()", lambda: history.claims(target=project.target)),
        ("decide()", decide_only),
        (f"checks_to_run ({len(checks):,} tests)", lambda: checks_to_run(tick.world, due)),
        (
            f"plan of the {len(due):,} due and their tests",
            lambda: plan(graph, "build", unique_ids=sorted(due | set(checks))),
        ),
    ]
    rows.append(("c. parts, each alone:", (0.0, 0.0)))
    for name, action in parts:
        rows.append(("   " + name, measure(action, repeat)))
        if name == "decide()":
            rows.append((f"     in it: code_of, {code_of.calls:,} calls", (code_of.wall, code_of.cpu)))
            rows.append(
                (f"     in it: keep_slas' estimate, {estimate.calls:,} calls", (estimate.wall, estimate.cpu))
            )
    rows.append(("   cyclic GC during one warm tick", gc_time(warm)))
    rows.append(("b. the cold tick's own parts, each alone:", (0.0, 0.0)))
    scope = select(graph, automation.options.selection, command="build")
    rows.append(
        ("   read the manifest (Project.graph())", measure(Project(project.project_dir).graph, repeat))
    )
    rows.append(("   read_policies()", measure(lambda: read_policies(graph, scope), repeat)))
    same = [outcome(decide_only()), outcome(tick.decisions), outcome(cold().decisions)]
    assert same[0] == same[1] == same[2], "the cold tick, the warm tick and decide() disagree"
    return rows


def gc_time(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds the cyclic garbage collector took during one call."""
    spent = [0.0, 0.0]
    started = [0.0, 0.0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [time.perf_counter(), time.process_time()]
        else:
            spent[0] += time.perf_counter() - started[0]
            spent[1] += time.process_time() - started[1]

    gc.callbacks.append(callback)
    try:
        action()
    finally:
        gc.callbacks.remove(callback)
    return spent[0], spent[1]


def conditions_cpu(automation: Automation, at: float) -> dict[str, tuple[float, int]]:
    """CPU seconds and calls of each condition kind (and of the gates) in one decide(), the
    cyclic GC off: the condition factories decide.py calls are wrapped, then put back."""
    spent: dict[str, list[float]] = {}

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any) -> Any:
            started = time.process_time()
            try:
                return function(*args)
            finally:
                entry = spent.setdefault(name, [0.0, 0])
                entry[0] += time.process_time() - started
                entry[1] += 1

        return call

    def factory(name: str, make: Callable[..., Condition]) -> Callable[..., Condition]:
        def made(*args: Any) -> Condition:
            condition = make(*args)
            condition.operand = timed(name, condition.operand)
            return condition

        return made

    kinds = ("missing", "code_changed", "new_data", "lag_tolerance", "on_cron", "eager", "keep_slas", "retry")
    helpers = ("condition_of", "_gated", "_needed", "_decided")
    saved = {name: getattr(decide_module, name) for name in kinds + helpers}
    try:
        for name in kinds:
            setattr(decide_module, name, factory(name, saved[name]))
        for name in helpers:
            setattr(decide_module, name, timed(name, saved[name]))
        _, policies, _ = automation.graph()
        world = world_of(automation, at)
        gc.disable()  # a collection would land in whichever condition runs then
        started = time.process_time()
        decide_module.decide(world, policies)
        total = time.process_time() - started
    finally:
        gc.enable()
        for name, value in saved.items():
            setattr(decide_module, name, value)
    return {"decide() in all": (total, 1), **{k: (v[0], int(v[1])) for k, v in spent.items()}}


def report(
    args: argparse.Namespace,
    graph: AssetGraph,
    slas: tuple[int, int, int],
    tick: Tick,
    at: float,
    rows: list[tuple[str, tuple[float, float]]],
) -> None:
    decisions, planned = tick.decisions, tick.plan
    kinds = Counter(graph.records[d.unique_id].resource_type for d in decisions.decided)
    count, deadlines, at_risk = slas
    fired = Counter(d.condition for d in decisions.decided if d.decision == "run")
    codes = Counter(d.code for d in decisions.decided)
    models = sum(r.resource_type == "model" for r in graph.records.values())
    moment = time.strftime("%Y-%m-%d %H:%M", time.gmtime(at))
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; the moment: {moment} UTC")
    print(
        f"{models:,} models, {args.days} days of history, {count:,} SLAs of which "
        f"{deadlines:,} deadlines ({at_risk:,} at risk)"
    )
    print(
        f"decided {len(decisions.decided):,} assets ({', '.join(f'{n:,} {k}s' for k, n in kinds.items())}); "
        f"due {len(decisions.due):,}; plan {len(planned.unique_ids) if planned else 0:,} nodes "
        f"({planned.strategy if planned else 'none'})"
    )
    print("fired: " + ", ".join(f"{c} {n:,}" for c, n in fired.most_common()))
    print("codes: " + ", ".join(f"{c} {n:,}" for c, n in codes.most_common()))
    wall_ref, cpu_ref = rows[0][1]
    print(f"{'':50s} {'wall':>8s} {'ratio':>6s} {'CPU':>8s} {'ratio':>6s}")
    for name, (wall, cpu) in rows:
        if name.endswith(":"):
            print(name)
            continue
        print(
            f"{name:50s} {wall * 1e3:5.0f} ms {wall / wall_ref:6.2f} {cpu * 1e3:5.0f} ms {cpu / cpu_ref:6.2f}"
        )


if __name__ == "__main__":
    main()
