"""Shared fixtures: a private copy of the DuckDB shop project, the real dbt, example manifests."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from dbt_assets.cli.main import main, spread_multi_values

if TYPE_CHECKING:
    from tests.dbt_oracle import DbtLs
    from tests.postgres import Server

REPO = Path(__file__).resolve().parent.parent
# dbt-core's functional tests, vendored as the data of test_dbt_core_functional (not run here).
collect_ignore = ["functional"]
FIXTURE_PROJECT = REPO / "fixtures" / "dbt_project"
EXAMPLE_MANIFESTS = sorted((REPO / "tests" / "manifests").glob("manifest_v*.json.gz"))
DBT = str(Path(sys.executable).with_name("dbt"))


def copy_project(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest, ignore=shutil.ignore_patterns("target", "logs", ".dbt-assets"))
    return dest


def run_dbt(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real dbt CLI, run from the project directory like dbt-assets does."""
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    return subprocess.run(
        [DBT, *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )


def dbt_ls(project: Path, *args: str) -> list[dict[str, object]]:
    """``dbt ls --output json`` parsed: what dbt itself lists (the oracle)."""
    done = run_dbt(project, "ls", "--output", "json", "--quiet", *args)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def cli(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run the dbt-assets CLI in-process; stdout and stderr kept apart."""
    return CliRunner().invoke(main, spread_multi_values(list(args)), env=env, catch_exceptions=False)


@pytest.fixture(scope="session")
def generated_10k(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtLs]:
    """The generated 10,000-model project (seed 13) and dbt ls on it, parsed once (the parse
    writes target/manifest.json). Only the ``tenk`` tests use it: parsing takes dbt ~90 s."""
    from tests.dbt_oracle import DbtLs
    from tests.test_differential_ls import _load_generator

    project = tmp_path_factory.mktemp("generated-10k") / "project"
    _load_generator().generate(project, 10_000, seed=13)  # type: ignore[attr-defined]
    started = time.perf_counter()
    oracle = DbtLs(project)
    print(f"10,000 models: dbt parse {time.perf_counter() - started:.1f} s", flush=True)
    return project, oracle


@pytest.fixture(scope="session")
def separate_dbt() -> Path:
    """dbt in a virtualenv of its own, another version than this one's, as an orchestrator
    whose pins conflict with dbt's would reach it (``python3 dev.py setup`` makes it; made
    here, under a lock, when missing)."""
    import fcntl

    from dev import SEPARATE_DBT
    from dev import SEPARATE_DBT_VENV as venv

    dbt = venv / "bin" / "dbt"
    with open(venv.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not dbt.exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", *SEPARATE_DBT], check=True)
    return dbt


def assert_ran_with(project: Path, executable: Path, history: Path | None = None) -> None:
    """The newest run in the project's history was made by the dbt at ``executable`` (its
    version), not by the dbt of this virtualenv."""
    import dbt.version

    from dbt_assets.history.store import History

    version = subprocess.run([str(executable), "--version"], capture_output=True, text=True, check=True)
    expected = version.stdout
    with History.open(history or project / ".dbt-assets" / "history.db", create=False) as store:
        newest = store.run()
    assert newest.dbt_version is not None and newest.dbt_version in expected
    assert newest.dbt_version != dbt.version.__version__, "not the dbt of this virtualenv"


def shared_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """A directory made once per test session whatever the number of xdist workers (under a
    lock, in the temporary folder all workers share): for templates that tests only copy."""
    import fcntl

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # each worker's base is a folder of the session's
    made = root / "shared" / name
    made.parent.mkdir(exist_ok=True)
    with open(made.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (made.parent / f"{name}.done").exists():
            if made.exists():
                shutil.rmtree(made)
            make(made)
            (made.parent / f"{name}.done").touch()
    return made


@pytest.fixture(scope="session")
def parsed_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture parsed once by dbt (target/ kept: manifest and partial parse); only copied."""

    def make(project: Path) -> None:
        copy_project(FIXTURE_PROJECT, project)
        run_dbt(project, "parse")

    return shared_once(tmp_path_factory, "parsed", make)


@pytest.fixture
def parsed_project(parsed_template: Path, tmp_path: Path) -> Path:
    """A private copy of the parsed fixture that a test may change: a change is a partial
    parse for dbt (what a user's second command pays), not a full one."""
    return Path(shutil.copytree(parsed_template, tmp_path / "dbt_project"))


@pytest.fixture(scope="session")
def generated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated 1,000-model project (seed 11) parsed once per session; only copied
    (:func:`generated_project`): a copy re-parses partially, in a third of the time."""
    from tests.test_differential_ls import _load_generator

    def make(project: Path) -> None:
        _load_generator().generate(project, 1000, seed=11)  # type: ignore[attr-defined]
        run_dbt(project, "parse")

    return shared_once(tmp_path_factory, "generated-1000", make)


def generated_project(template: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A private copy of the generated template (``name``: the folder's)."""
    return Path(shutil.copytree(template, tmp_path_factory.mktemp(name) / "project"))


@pytest.fixture(scope="session")
def shop_project(parsed_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A parsed private copy of fixtures/dbt_project (read-only for tests): the parsed
    template copied, its manifest dbt's (a parse of its own cost each worker 13 s)."""
    return Path(shutil.copytree(parsed_template, tmp_path_factory.mktemp("shop") / "dbt_project"))


@pytest.fixture
def scratch_project(tmp_path: Path) -> Path:
    """A private copy of the fixture project that a test may change (not parsed yet)."""
    return copy_project(FIXTURE_PROJECT, tmp_path / "dbt_project")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """A real PostgreSQL server of this test process (tests/postgres.py)."""
    from tests.postgres import postgres_server

    with postgres_server() as server:
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def history_location(request: pytest.FixtureRequest, tmp_path: Path) -> Path | str:
    """Where a test's history lives, once on each backend: an SQLite file, then a fresh schema
    on the PostgreSQL server (``postgresql://...?options=-csearch_path%3D...``)."""
    if request.param == "sqlite":
        return tmp_path / "history.db"
    server: Server = request.getfixturevalue("postgres")
    return server.url()


@pytest.fixture(scope="session")
def shop_manifest(shop_project: Path) -> Path:
    return shop_project / "target" / "manifest.json"


@pytest.fixture(params=EXAMPLE_MANIFESTS, ids=lambda p: p.name.split(".json")[0])
def example_manifest(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """Each committed example manifest (dbt 1.6 to 1.11), unpacked."""
    path = tmp_path / "manifest.json"
    path.write_bytes(gzip.decompress(request.param.read_bytes()))
    yield path


@pytest.fixture(scope="session")
def built_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture built once with ``dbt-assets build`` (DuckDB file and history included);
    only copied (:func:`built_project`)."""

    def make(project: Path) -> None:
        copy_project(FIXTURE_PROJECT, project)
        result = cli("build", "--project-dir", str(project))
        assert result.exit_code == 0, result.output

    return shared_once(tmp_path_factory, "built", make)


@pytest.fixture
def built_project(built_template: Path, tmp_path: Path) -> Path:
    """A private copy of the built fixture that a test may run and change."""
    return Path(shutil.copytree(built_template, tmp_path / "built"))


# A Python model that fails the first time it runs (the marker file says it did), for retries.
FLAKY = """
import os


def model(dbt, session):
    dbt.ref("orders")
    marker = {marker!r}
    if not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError("flaky: fails the first time")
    return session.sql("select 1 as id")
"""


# --- the unit tier: `python3 dev.py test --fast` runs the tests marked unit, which start no
# process (no dbt, no dbt-assets subprocess): a unit test that tries is an error, so the mark
# cannot drift.


def _no_process(*args: object, **kwargs: object) -> None:
    raise AssertionError("a test marked unit started a process (drop the unit mark, or use no process)")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # a unit module's tests on PostgreSQL (history_location) start its server: not unit
    if item.get_closest_marker("unit") is not None and item.get_closest_marker("postgres") is None:
        patch = pytest.MonkeyPatch()
        patch.setattr(subprocess.Popen, "__init__", _no_process)
        patch.setattr(os, "fork", _no_process)
        patch.setattr(os, "posix_spawn", _no_process)
        item.stash[_PATCH] = patch


@pytest.hookimpl(tryfirst=True)  # before fixtures are torn down: a session's server stops after any test
def pytest_runtest_teardown(item: pytest.Item) -> None:
    patch = item.stash.get(_PATCH, None)
    if patch is not None:
        patch.undo()


_PATCH = pytest.StashKey[pytest.MonkeyPatch]()


# The modules that take longest, longest first (measured with --durations on 2 cores). The
# suite runs with --dist loadfile --no-loadscope-reorder: each module goes whole to one worker,
# in this order, then the rest in file order. xdist's own order (most tests first) put the
# few-but-slow modules last, where one worker ran them alone at the end. A module missing here
# only runs later: the order changes the suite's time, never its outcome.
SLOWEST_MODULES = (
    "test_runner_faults",
    "test_runner_signals",
    "test_corpus",
    "test_worker_differential",
    "test_integration_airflow",
    "test_runner",
    "test_worker_soak",
    "test_differential_state",
    "test_sla",
    "test_worker_faults",
    "test_differential_ls",
    "test_integration_dagster",
    "test_integration_prefect",
    "test_project",
    "test_worker",
    "test_diff",
    "test_report",
    "test_cli",
    "test_differential_sla",
    "test_fuzz_errors",
    "test_terminal",
    "test_first_hour",
    "test_openlineage",
    "test_selection_property",
    "test_diff_corpus",
    "test_compile",
    "test_readme",
    "test_history",
    "test_shard",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOWEST_MODULES)}
    order = {id(item): i for i, item in enumerate(items)}
    items.sort(key=lambda item: (rank.get(item.path.stem, len(rank)), order[id(item)]))
