"""200 invocations in a row in one warm dbt: its memory stays under its cap (it is never
replaced) and does not grow with the invocations, every invocation after the first of its kind
runs on a kept manifest, and no invocation's --vars or --target reaches the next: after each
one the warehouses hold exactly what the invocations so far asked for: the relation named by
that invocation's vars (a name dbt sets while parsing), in the database of its target, with the
value of its vars (set while running), and nothing else changed.

A project of one model rather than the fixture: the soak is about what the worker keeps from
one invocation to the next, and each of the fixture's runs costs dbt 2.5 times more (its
on-run-start hook, its schemas); the fixture's runs through a worker are compared with the CLI
in test_worker_differential.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_assets.run.project import Project
from dbt_assets.run.worker import Worker

from .test_worker import worker_dir  # noqa: F401 (the fixture)

pytestmark = pytest.mark.slow

INVOCATIONS = 200
MEMORY_CAP_MB = 400
GROWTH_MB = 40
"""Resident memory the last 180 invocations may add (a manifest kept per invocation would add
far more: this project's is about 1 MB in memory)."""
PROJECT = {
    "dbt_project.yml": 'name: soak\nversion: "1.0.0"\nconfig-version: 2\nprofile: soak\n',
    "profiles.yml": (
        "soak:\n  target: dev\n  outputs:\n"
        "    dev: {type: duckdb, path: target/soak.duckdb, threads: 1}\n"
        "    ci: {type: duckdb, path: target/soak_ci.duckdb, threads: 1}\n"
    ),
    # the relation's name comes from a var at parse time, its value at run time
    "models/var_model.sql": (
        "{{ config(materialized='table', alias='m_' ~ var('multiplier', 1)) }}\n"
        "select {{ var('multiplier', 1) }} * 10 as m"
    ),
}
KINDS = [  # (--target, --vars, the relation the run writes, its value): four manifests, all kept
    (None, None, "m_1", 10),
    (None, "{multiplier: 2}", "m_2", 20),
    ("ci", None, "m_1", 10),
    (None, "{multiplier: 3}", "m_3", 30),
]


def _relations(database: Path) -> dict[str, int]:
    """Every relation of a database, with its value."""
    import duckdb

    if not database.exists():
        return {}
    with duckdb.connect(str(database), read_only=True) as db:
        names = [n for (n,) in db.execute("select table_name from information_schema.tables").fetchall()]
        return {name: int(db.execute(f'select m from main."{name}"').fetchone()[0]) for name in names}


def test_two_hundred_invocations_in_one_warm_dbt(tmp_path: Path) -> None:
    for name, text in PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    databases = {None: tmp_path / "target" / "soak.duckdb", "ci": tmp_path / "target" / "soak_ci.duckdb"}
    expected: dict[str | None, dict[str, int]] = {None: {}, "ci": {}}
    memory: list[int] = []
    with Worker(Project(tmp_path), memory_cap_mb=MEMORY_CAP_MB) as worker:
        for number in range(INVOCATIONS):
            target, variables, relation, value = KINDS[number % len(KINDS)]
            args = ["run", "--project-dir", str(tmp_path), "--profiles-dir", str(tmp_path)]
            args += ["--log-format", "json", "--log-level", "debug"]
            args += ["--target", target] if target else []
            args += ["--vars", variables] if variables else []
            args += [] if number % 10 == 0 else ["--no-write-json"]  # artifacts every tenth run
            done = worker.invoke(args)
            assert done.exit_code == 0, "".join(done.lines[-20:])
            expected[target][relation] = value
            for which, database in databases.items():  # what each run wrote, and nothing else
                assert _relations(database) == expected[which], (number, target, variables)
            # parsed once for each kind (the first one when the worker started), then kept
            assert done.manifest == ("parsed" if number in (1, 2, 3) else "cached"), number
            memory.append(int(worker.last["rss"]))
        assert worker.started == 1 and worker.replaced == [], "never replaced: memory stayed under its cap"
        assert worker.invocations == INVOCATIONS
    assert max(memory) <= MEMORY_CAP_MB * 2**20
    assert memory[-1] - memory[19] <= GROWTH_MB * 2**20, [m // 2**20 for m in memory[19::20]]
    print(
        f"warm dbt resident memory: after run 1 {memory[0] / 2**20:.0f} MB, after run 20 "
        f"{memory[19] / 2**20:.0f} MB, after run {INVOCATIONS} {memory[-1] / 2**20:.0f} MB"
    )
