"""200 invocations in a row in one warm dbt: its memory stays under its cap (it is never
replaced), every invocation after the first runs on a kept manifest, and no invocation's
--vars or --target reaches the next: after each one the warehouse holds what that invocation
alone asked for, in the database of its own target."""

from __future__ import annotations

from pathlib import Path

import pytest

from dbt_assets.run.project import Project
from dbt_assets.run.worker import Worker

from .test_worker import worker_dir  # noqa: F401 (the fixture)

pytestmark = pytest.mark.slow

INVOCATIONS = 200
MEMORY_CAP_MB = 400
"""A warm dbt of the fixture holds about 200 MB (its first run included)."""
VAR_MODEL = "{{ config(materialized='table') }}\nselect {{ var('multiplier', 1) }} * 10 as m\n"
KINDS = [  # (--target, --vars, the value the run writes): four manifests, all kept
    (None, None, 10),
    (None, "{multiplier: 2}", 20),
    ("ci", None, 10),
    (None, "{multiplier: 3}", 30),
]


def _value(database: Path) -> int:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as db:
        found = db.execute("select m from main.var_model").fetchone()
    assert found is not None
    return int(found[0])


def test_two_hundred_invocations_in_one_warm_dbt(parsed_project: Path) -> None:
    (parsed_project / "models" / "var_model.sql").write_text(VAR_MODEL)
    project = Project(parsed_project)
    databases = {
        None: parsed_project / "target" / "shop.duckdb",
        "ci": parsed_project / "target" / "shop_ci.duckdb",
    }
    written: dict[str | None, int] = {}
    memory: list[int] = []
    with Worker(project, memory_cap_mb=MEMORY_CAP_MB) as worker:
        for number in range(INVOCATIONS):
            target, variables, value = KINDS[number % len(KINDS)]
            args = ["run", "-s", "var_model", "--project-dir", str(parsed_project)]
            args += ["--profiles-dir", str(parsed_project), "--log-format", "json", "--log-level", "debug"]
            args += ["--target", target] if target else []
            args += ["--vars", variables] if variables else []
            args += [] if number % 10 == 0 else ["--no-write-json"]  # artifacts every tenth run
            done = worker.invoke(args)
            assert done.exit_code == 0, "".join(done.lines[-20:])
            written[target] = value
            for which, database in databases.items():  # this run's value, the other's untouched
                if which in written:
                    assert _value(database) == written[which], (number, target, variables)
            # parsed once for each kind (the first one when the worker started), then kept
            assert done.manifest == ("parsed" if number in (1, 2, 3) else "cached"), number
            memory.append(int(worker.last["rss"]))
        assert worker.started == 1 and worker.replaced == [], "never replaced: memory stayed under its cap"
        assert worker.invocations == INVOCATIONS
    assert max(memory) <= MEMORY_CAP_MB * 2**20
    print(
        f"warm dbt resident memory: after run 1 {memory[0] / 2**20:.0f} MB, after run 20 "
        f"{memory[19] / 2**20:.0f} MB, after run {INVOCATIONS} {memory[-1] / 2**20:.0f} MB"
    )
