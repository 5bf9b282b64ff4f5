"""The same answers through a warm worker as through the dbt CLI: the fixture's commands run on
two copies of it, one with `dbt-assets run ... --no-warm` (a new dbt each time), the other with
`dbt-assets run ...` while a `dbt-assets worker` serves it (the CLI → socket → worker → warm dbt
path), and the outcomes, the run history and the relations in the warehouse are compared.

The steps cover run, build, test, seed and snapshot; an SQL error and what it skips, a failing
test; ephemeral models, a Python model, a snapshot, a unit test; a file changed between two
runs; --vars with another --target, then --defer with --state, neither vars nor target, then a
plan dbt selects in one pass (DBT_ASSETS_ONE_PASS_CRITERIA=0): the vars and the target of a run
must reach neither the runs after it nor another target's warehouse."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dbt_assets.history.store import History

from .conftest import FIXTURE_PROJECT, cli, copy_project
from .test_runner import _break_orders, _fix_orders
from .test_worker import serving, worker_dir  # noqa: F401 (the fixture, used by this module too)

pytestmark = pytest.mark.slow

PYTHON_MODEL = """
def model(dbt, session):
    dbt.config(materialized="table")
    return dbt.ref("orders").filter("amount > 0")
"""
VAR_MODEL = "{{ config(materialized='table') }}\nselect {{ var('multiplier', 1) }} * 10 as m\n"
FAILING_TEST = "select * from {{ ref('orders') }} where amount > 0\n"


@dataclass(frozen=True)
class Step:
    name: str
    args: tuple[str, ...]
    change: Callable[[Path], None] | None = None
    env: dict[str, str] = field(default_factory=dict)
    exit_code: int = 0


def _add(relative: str, text: str) -> Callable[[Path], None]:
    def change(project: Path) -> None:
        (project / relative).write_text(text)

    return change


def _fix_and_add_a_failing_test(project: Path) -> None:
    _fix_orders(project)
    _add("tests/assert_no_paid_orders.sql", FAILING_TEST)(project)


STEPS = [
    Step("build", ("build",)),  # seeds, the snapshot, models (ephemeral, Python), tests, the unit test
    Step("an SQL error", ("run", "-s", "orders+"), _break_orders, exit_code=1),  # and what it skips
    Step("a failing test", ("test", "-s", "orders"), _fix_and_add_a_failing_test, exit_code=1),
    Step("snapshot", ("snapshot",)),
    Step("vars, another target", ("run", "-s", "var_model", "--vars", "{multiplier: 3}", "--target", "ci")),
    Step("defer, no vars", ("run", "-s", "customers", "var_model", "--defer", "--state", "{state}")),
    Step("seed, one pass", ("seed", "--select-ids", "{ids}"), env={"DBT_ASSETS_ONE_PASS_CRITERIA": "0"}),
]


def _prepare(project: Path) -> Path:
    copy_project(FIXTURE_PROJECT, project)
    _add("models/marts/core/paid_orders.py", PYTHON_MODEL)(project)
    _add("models/var_model.sql", VAR_MODEL)(project)
    return project


def _run(project: Path, step: Step, *extra: str) -> Any:
    ids = project.parent / "ids.txt"
    ids.write_text("seed.shop.raw_orders\n")
    state = str(project.parent / f"{project.name}-state")
    args = [a.replace("{state}", state).replace("{ids}", str(ids)) for a in step.args]
    if step.change is not None:
        step.change(project)
    result = cli(*args, "--project-dir", str(project), *extra, env=step.env)
    assert result.exit_code == step.exit_code, f"{step.name}: {result.stdout[-2000:]}{result.stderr}"
    if step.name == "build":  # the production state the defer step defers to
        state = project.parent / f"{project.name}-state"
        state.mkdir()
        shutil.copy(project / "target" / "manifest.json", state / "manifest.json")
    return result


def _history(project: Path) -> list[tuple[Any, ...]]:
    """Every run and its results, without what differs by nature (times, ids, paths)."""
    place = re.compile(re.escape(str(project)) + r"(-state)?|/tmp/dbt-assets-state-\w+")
    recorded = []
    with History.open(project / ".dbt-assets" / "history.db", create=False) as history:
        for run in sorted(history.runs(limit=None), key=lambda r: r.run_id):
            results = {
                r.unique_id: (r.status, r.skipped_because, r.failures, r.rows_affected, _message(r.message))
                for r in history.results(run.run_id)
            }
            argv = [place.sub("<path>", arg) for arg in run.argv]
            recorded.append((run.command, run.status, run.exit_code, run.counts, argv, run.target, results))
    return recorded


def _last_invocation(project: Path) -> str | None:
    with History.open(project / ".dbt-assets" / "history.db", create=False) as history:
        return max(history.runs(limit=None), key=lambda r: r.run_id).invocation_id


def _manifest_written_by(project: Path) -> str:
    return str(json.loads((project / "target" / "manifest.json").read_text())["metadata"]["invocation_id"])


def _message(message: str | None) -> str | None:
    """A failure's message without its numbers of times and rows (dbt's own, in both)."""
    return None if message is None else re.sub(r"\d+(\.\d+)?s\b|\d+ rows?", "<n>", message)


def _relations(database: Path) -> dict[str, Any]:
    """Every relation of a DuckDB file: its kind, its columns and its rows (of a snapshot,
    without the columns dbt fills from the clock)."""
    import duckdb

    found: dict[str, Any] = {}
    with duckdb.connect(str(database), read_only=True) as db:
        tables = db.execute(
            "select table_schema, table_name, table_type from information_schema.tables order by 1, 2"
        ).fetchall()
        for schema, name, kind in tables:
            columns = [
                c
                for (c,) in db.execute(
                    "select column_name from information_schema.columns where table_schema = ? "
                    "and table_name = ? order by ordinal_position",
                    [schema, name],
                ).fetchall()
            ]
            kept = ", ".join(f'"{c}"' for c in columns if not c.startswith("dbt_"))
            rows = db.execute(f'select {kept} from "{schema}"."{name}"').fetchall()
            found[f"{schema}.{name}"] = (kind, columns, sorted(map(repr, rows)))
    return found


def test_a_worker_gives_the_clis_answers(tmp_path: Path) -> None:
    by_cli, warm = _prepare(tmp_path / "cli"), _prepare(tmp_path / "warm")
    with serving(warm) as (_server, worker):
        for number, step in enumerate(STEPS, start=1):
            _run(by_cli, step, "--no-warm")
            through = _run(warm, step)
            assert "dbt runs in the dbt-assets worker" in through.stderr, step.name
            assert worker.invocations == number, f"{step.name} did not run in the worker"
            assert _history(warm)[-1] == _history(by_cli)[-1], step.name
            for project in (by_cli, warm):  # manifest.json is the run's when the command ends
                assert _manifest_written_by(project) == _last_invocation(project), step.name
        # a changed file replaced the warm dbt before the runs that follow it, and only then
        assert worker.replaced == ["the project changed", "the project changed"]
    assert _history(warm) == _history(by_cli)
    for database in ("shop.duckdb", "shop_ci.duckdb"):
        assert _relations(warm / "target" / database) == _relations(by_cli / "target" / database), database
    values = _relations(warm / "target" / "shop.duckdb")
    assert values["main.var_model"][2] == ["(10,)"], "the --vars of the run before did not reach it"
    assert _relations(warm / "target" / "shop_ci.duckdb") == {
        "main.var_model": ("BASE TABLE", ["m"], ["(30,)"])
    }, "the run on ci wrote there, and it alone"
    one_pass = _history(warm)[-1]
    assert "result:success" in one_pass[4], "the last run was a one-pass plan"
    assert one_pass[5] is None and list(one_pass[6]) == ["seed.shop.raw_orders"], "on the default target"
