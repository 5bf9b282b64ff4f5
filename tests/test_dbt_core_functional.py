"""dbt-core's own functional tests as a second oracle (tests/functional/README.md).

Each vendored test class of dbt-core describes a project through its pytest fixtures (models,
seeds, snapshots, selectors, project config) and asserts on what selections select. Here the
project is written from those fixtures, parsed by dbt, and every selection the class's tests
give dbt (read from their source: ``run_dbt([...])`` calls with literal arguments) is listed
by ``dbt ls`` and by dbt-assets, with the project directory and with the manifest alone.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, cli
from tests.dbt_oracle import DbtLs

pytestmark = pytest.mark.slow

FUNCTIONAL = REPO / "tests" / "functional"
MODULES = sorted(FUNCTIONAL.glob("**/test_*.py"))
# Fixtures that are folders of the project, and the folder each is written to.
FOLDERS = {
    "models": "models",
    "seeds": "seeds",
    "snapshots": "snapshots",
    "tests": "tests",
    "analyses": "analyses",
    "macros": "macros",
}
COMMANDS = {"run", "build", "test", "seed", "snapshot", "ls", "list", "compile"}
SELECTION_FLAGS = {
    "--select",
    "-s",
    "--models",
    "-m",
    "--model",
    "--exclude",
    "--selector",
    "--resource-type",
    "--resource-types",
    "--exclude-resource-type",
    "--exclude-resource-types",
    "--indirect-selection",
}


@dataclass(frozen=True)
class Case:
    suite: str
    cls: str
    command: str
    args: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.suite}::{self.cls}::{self.command} {' '.join(self.args)}"


def _selection(call: ast.Call) -> tuple[str, tuple[str, ...]] | None:
    """(command, selection args) of ``run_dbt([...])`` with literal strings, else None."""
    if not call.args or not isinstance(call.args[0], ast.List):
        return None
    items = call.args[0].elts
    if not all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in items):
        return None
    words = [e.value for e in items]  # type: ignore[attr-defined]
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    command = "ls" if name == "run_dbt_ls" else (words.pop(0) if words else "")
    if command not in COMMANDS or any(w in ("--state", "--defer", "--favor-state") for w in words):
        return None
    kept: list[str] = []
    flag = None
    for word in words:
        if word.startswith("-"):
            flag = word if word in SELECTION_FLAGS else None
            if flag:
                kept.append(word)
        elif flag:
            kept.append(word)
    return ("ls" if command == "list" else command), tuple(kept)


def cases() -> Iterator[Case]:
    for path in MODULES:
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if not isinstance(node, ast.ClassDef) or not node.name.startswith("Test"):
                continue
            seen = set()
            for call in ast.walk(node):
                if (
                    isinstance(call, ast.Call)
                    and (found := _selection(call)) is not None
                    and found not in seen
                ):
                    seen.add(found)
                    yield Case(path.relative_to(FUNCTIONAL).as_posix(), node.name, *found)


CASES = list(cases())


def _fixture(cls: type, module: Any, name: str, data_dir: Path) -> Any:
    """The value of fixture ``name`` for a test class: the class's own (or inherited), else
    the module's; called with the arguments dbt-core's fixtures take here."""
    holder = next((k.__dict__[name] for k in cls.__mro__ if name in k.__dict__), None)
    if holder is None:
        holder = getattr(module, name, None)
    if holder is None or not hasattr(holder, "_get_wrapped_function"):
        return None
    function = holder._get_wrapped_function()
    values = {"self": cls(), "test_data_dir": str(data_dir)}
    wanted = list(inspect.signature(function).parameters)
    if any(p not in values for p in wanted):
        pytest.skip(f"{cls.__name__}.{name} needs fixtures {wanted} this replay does not provide")
    return function(*(values[p] for p in wanted))


def _write(folder: Path, files: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        if isinstance(content, dict):
            _write(folder / name, content)
        else:
            (folder / name).write_text(content)


def build_project(case: Case, dest: Path) -> Path:
    """The project dbt-core's fixtures describe for the case's class (name ``test``, as
    dbt-core's test harness names it), with a DuckDB profile."""
    module = importlib.import_module(f"tests.functional.{case.suite[:-3].replace('/', '.')}")
    cls = getattr(module, case.cls)
    data_dir = (FUNCTIONAL / case.suite).parent / "data"
    config: dict[str, Any] = {"name": "test", "profile": "test", "config-version": 2, "version": "1.0"}
    config.update(_fixture(cls, module, "project_config_update", data_dir) or {})
    dest.mkdir(parents=True)
    (dest / "dbt_project.yml").write_text(yaml.safe_dump(config))
    (dest / "profiles.yml").write_text(
        "test:\n  target: dev\n  outputs:\n    dev: {type: duckdb, path: ':memory:', schema: test}\n"
    )
    for fixture, folder in FOLDERS.items():
        files = _fixture(cls, module, fixture, data_dir)
        if files:
            _write(dest / folder, files)
    selectors = _fixture(cls, module, "selectors", data_dir)
    if selectors:
        (dest / "selectors.yml").write_text(selectors)
    return dest


_PROJECTS: dict[tuple[str, str], tuple[Path, DbtLs]] = {}


@pytest.fixture
def project(case: Case, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtLs]:
    key = (case.suite, case.cls)
    if key not in _PROJECTS:
        root = build_project(case, tmp_path_factory.mktemp(case.cls) / "project")
        _PROJECTS[key] = root, DbtLs(root)
    return _PROJECTS[key]


def test_the_replay_reads_dbt_cores_tests() -> None:
    """The vendored tests give the replay their selections (a reader finding none checks nothing)."""
    assert len(CASES) >= 40
    suites = {c.suite.rsplit("/", 1)[0] for c in CASES}
    assert suites >= {
        "graph_selection",
        "exposures",
        "selected_resources",
        "unit_testing",
    }


@pytest.fixture(params=CASES, ids=str)
def case(request: pytest.FixtureRequest) -> Case:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", ["project", "manifest"])
def test_dbt_core_functional_selections_match_dbt_ls(
    case: Case, project: tuple[Path, DbtLs], mode: str
) -> None:
    from dbt_assets.selection import resource_types_for

    root, oracle = project
    args = list(case.args)
    if case.command != "ls":  # -m is --select outside ls (in ls it means models only)
        args = ["--select" if a in ("-m", "--models", "--model") else a for a in args]
    if case.command not in ("ls", "compile") and not any(a.startswith("--resource-type") for a in args):
        for kind in sorted(resource_types_for(case.command)):  # what the command itself runs
            args += ["--resource-type", kind]
    expected = oracle.json("--output-keys", "unique_id", *args)
    source = (
        ["--project-dir", str(root)]
        if mode == "project"
        else ["--manifest", str(root / "target" / "manifest.json")]
    )
    result = cli("ls", *source, "--output", "json", "--output-keys", "unique_id", *args)
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == expected
