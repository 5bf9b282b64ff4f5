#!/usr/bin/env python3
"""Set up and run dbt-assets from a fresh clone with nothing but Python and the package registry.

    python3 dev.py demo     # virtualenv + install, then dbt-assets run --select downstream_of:orders
    python3 dev.py test     # virtualenv + install, lint, type-check, layers, the whole test suite
    python3 dev.py test --fast  # the unit tier only (tests that start no process; < 1 min)
    python3 dev.py test-10k # the 10,000-model tests, too long for the suite (~20 min; CI runs them after it)

The virtualenv is ./.venv (override with DBT_ASSETS_VENV); installation is skipped while
pyproject.toml is unchanged. Anything after the command goes to pytest (``dev.py test -k ls``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("DBT_ASSETS_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
FIXTURE = ROOT / "fixtures" / "dbt_project"
# A dbt of another version in a virtualenv of its own: the adapter tests reach it through
# dbt_executable, as an orchestrator whose pins conflict with dbt's would.
SEPARATE_DBT_VENV = ROOT / ".venv-dbt"
SEPARATE_DBT = ("dbt-core~=1.10.0", "dbt-duckdb~=1.10.0")


def sh(*argv: str | Path, cwd: Path = ROOT, ok: tuple[int, ...] = (0,)) -> None:
    print("+", " ".join(str(a) for a in argv), flush=True)
    done = subprocess.run([str(a) for a in argv], cwd=cwd, check=False)
    if done.returncode not in ok:
        sys.exit(done.returncode)


def setup() -> None:
    """Create the virtualenv and install the package with its dev extra, the DuckDB adapter
    (the fixture's warehouse) and the orchestrator extras the tests exercise (once per
    pyproject), and the separate dbt virtualenv."""
    if not (BIN / "python").exists():
        print(f"+ python3 -m venv {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    stamp = VENV / ".dbt-assets-installed"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text() != digest:
        sh(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
        extras = "dev,duckdb,postgres,dagster,prefect,airflow"
        sh(BIN / "python", "-m", "pip", "install", "--quiet", "-e", f".[{extras}]")
        stamp.write_text(digest)
    separate = SEPARATE_DBT_VENV / ("Scripts" if os.name == "nt" else "bin")
    if not (separate / "dbt").exists():
        print(f"+ python3 -m venv {SEPARATE_DBT_VENV}", flush=True)
        venv.create(SEPARATE_DBT_VENV, with_pip=True)
        sh(separate / "python", "-m", "pip", "install", "--quiet", *SEPARATE_DBT)


DEBIAN_PACKAGES = {
    "tmux": "tmux",
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
    "initdb": "postgresql",
}
"""Programs the tests drive, and the Debian package of each: tmux for the terminal session
test, Chromium and its WebDriver for the HTML report's browser tests, PostgreSQL's server for
the history on PostgreSQL (tests/postgres.py starts one; Debian keeps it off PATH)."""


def system_packages() -> None:
    """Install the Debian packages of the programs the tests need when one is missing (as root,
    with apt-get); elsewhere say which (the browser and terminal tests then skip, the
    PostgreSQL ones fail and say what to install)."""
    import glob
    import shutil

    def found(program: str) -> bool:
        return shutil.which(program) is not None or bool(glob.glob(f"/usr/lib/postgresql/*/bin/{program}"))

    missing = sorted({package for program, package in DEBIAN_PACKAGES.items() if not found(program)})
    if not missing:
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        sh("apt-get", "update", "-qq", ok=(0, 100))
        sh("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing)
    else:
        print(
            f"dev.py: {', '.join(missing)} missing (not root or no apt-get): tests that need it skip or fail"
        )


def demo() -> None:
    """The main job on the fixture project: build what orders needs, then
    ``dbt-assets run --select downstream_of:orders`` on DuckDB, then the history it recorded
    and the fixture's SLAs judged from it (exit 1 there means an SLA is breached: shown, not
    a failure of the demo)."""
    cli = BIN / "dbt-assets"
    project = ("--project-dir", FIXTURE)
    sh(cli, "build", *project, "--exclude", "downstream_of:orders")
    sh(cli, "run", *project, "--select", "downstream_of:orders")
    sh(cli, "status", *project, "--select", "downstream_of:orders", "--resource-type", "model")
    sh(cli, "history", *project, "--limit", "5")
    sh(cli, "sla", "check", *project, ok=(0, 1))


def test(pytest_args: list[str]) -> None:
    """Lint, type-check, check the layers contract (lint-imports: imports only downward, no
    cycle) and run every test, the slow differential ones included; with ``--fast``, the unit
    tier alone (no process started)."""
    if "--fast" in pytest_args:
        rest = [a for a in pytest_args if a != "--fast"]
        # only the modules that hold unit tests: importing the others (Airflow, Dagster,
        # Prefect, dbt) would take a third of the minute
        tests = ROOT / "tests"
        modules = sorted(str(p) for p in tests.glob("test_*.py") if "pytest.mark.unit" in p.read_text())
        unit = "unit and not postgres"  # a unit module's tests on PostgreSQL start its server
        sh(BIN / "python", "-m", "pytest", "-m", unit, "-p", "no:xdist", "-q", *rest, *modules)
        return
    sh(BIN / "ruff", "check", ".")
    sh(BIN / "ruff", "format", "--check", ".")
    sh(BIN / "lint-imports")
    system_packages()
    # mypy (a minute of one core with a cold cache, as in CI) runs beside pytest, whose workers
    # leave the cores idle a tenth of the time (waiting on the processes they start); its
    # output comes after pytest's, and either failing fails the command
    with tempfile.TemporaryFile() as typecheck_output:
        print(f"+ {BIN / 'mypy'} (beside pytest)", flush=True)
        typecheck = subprocess.Popen(
            [str(BIN / "mypy")], cwd=ROOT, stdout=typecheck_output, stderr=subprocess.STDOUT
        )
        try:
            tests = _pytest(pytest_args)
        except BaseException:  # interrupted: do not wait a minute for the type check
            typecheck.kill()
            raise
        finally:
            typecheck.wait()
        typecheck_output.seek(0)
        print(f"+ {BIN / 'mypy'}:", typecheck_output.read().decode().strip(), flush=True)
    if typecheck.returncode or tests:
        sys.exit(typecheck.returncode or tests)


def _pytest(pytest_args: list[str]) -> int:
    """Every test; pytest's exit code."""
    # one worker per core; each test module runs on one worker, so its module-scoped projects
    # are made once (loadgroup would be finer, but pytest-xdist 3.8 cannot group under pytest 9)
    # in the order tests/conftest.py gives (the slowest modules first, so that no worker is
    # left running one alone at the end)
    argv = [BIN / "python", "-m", "pytest", "-n", "auto", "--dist", "loadfile", "--no-loadscope-reorder"]
    print("+", " ".join(str(a) for a in [*argv, *pytest_args]), flush=True)
    return subprocess.run([str(a) for a in [*argv, *pytest_args]], cwd=ROOT, check=False).returncode


def test_10k() -> None:
    """The tests marked ``tenk`` on one generated 10,000-model project: every shard group's
    arguments checked with dbt ls itself (one-pass plans) and the half-of-a-build selector;
    dbt's parse of that project alone is too long for the suite."""
    sh(BIN / "python", "-m", "pytest", "-m", "tenk", "-p", "no:xdist", "-s", "-v")


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command not in ("demo", "test", "test-10k", "setup"):
        sys.exit(__doc__)
    setup()
    if command == "demo":
        demo()
    elif command == "test":
        test(sys.argv[2:])
    elif command == "test-10k":
        test_10k()


if __name__ == "__main__":
    main()
