"""The real dbt, in-process, as the oracle of differential tests.

``dbtRunner`` parses a project once and then answers ``dbt ls`` in tens of milliseconds, so
hundreds of cases fit in CI; ``test_oracle_matches_dbt_cli`` proves it answers like the CLI.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from dbt.cli.main import dbtRunner
from dbt.compilation import Compiler
from dbt_common import behavior_flags
from dbt_common.tests import enable_test_caching

# dbt's own switch for its test suites: the scan of installed modules for dbt plugins (every
# module of this virtualenv, a third of each in-process dbt ls) and Jinja parsing are done
# once per process instead of once per invocation. What dbt selects does not change.
enable_test_caching()


def _graph_once(compile_graph: Any) -> Any:
    """dbt's ``Compiler.compile`` (the node graph dbt links from a manifest, and the summary
    files it writes) once per manifest object: every ``dbt ls`` of one oracle links the same
    unchanged manifest again otherwise. dbt's selection reads the graph and never changes it
    (subsets are copies). ``build``'s test edges are not cached."""
    graphs: dict[int, tuple[Any, Any]] = {}

    def compile_once(self: Any, manifest: Any, write: bool = True, add_test_edges: bool = False) -> Any:
        if add_test_edges:
            return compile_graph(self, manifest, write, add_test_edges)
        known = graphs.get(id(manifest))
        if known is None or known[0] is not manifest:
            known = graphs[id(manifest)] = (manifest, compile_graph(self, manifest, write, add_test_edges))
        return known[1]

    return compile_once


Compiler.compile = _graph_once(Compiler.compile)  # type: ignore[method-assign]


def _calling_module() -> str:
    """dbt_common's ``BehaviorFlagRendered._default_source`` (the module that declared an
    adapter's behaviour flag, named in dbt's messages) by each frame's module name. dbt's own
    walks ``inspect.stack()``, which reads the source lines of every frame: under pytest's deep
    stack that is a tenth of a second per in-process dbt invocation, half of a corpus test."""
    frame = sys._getframe(1)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if name and name != behavior_flags.__name__:
            return str(name)
        frame = frame.f_back  # type: ignore[assignment]
    return "Unknown"


behavior_flags.BehaviorFlagRendered._default_source = staticmethod(_calling_module)  # type: ignore[method-assign]


class DbtLs:
    """``dbt ls`` on one project, its manifest parsed once."""

    def __init__(self, project: Path, manifest: Path | None = None) -> None:
        """Parse ``project``; or, given the ``manifest`` dbt wrote for it, select over that
        manifest without parsing (the project directory then needs only dbt_project.yml, a
        profile, and the files ``path:`` globs)."""
        self.project = project
        self._common = ["--project-dir", str(project), "--profiles-dir", str(project), "--log-level", "none"]
        if manifest is not None:
            self._runner = dbtRunner(manifest=_read_manifest(manifest))
            return
        parsed = dbtRunner().invoke(["parse", *self._common])
        if not parsed.success:
            raise RuntimeError(f"dbt parse failed on {project}: {parsed.exception}")
        self._runner = dbtRunner(manifest=parsed.result)

    def lines(self, *args: str) -> list[str]:
        """What ``dbt ls ARGS`` prints, line by line."""
        result = self._runner.invoke(["ls", *self._common, *args])
        if not result.success:
            raise RuntimeError(f"dbt ls {' '.join(args)} failed: {result.exception}")
        return list(result.result or [])

    def unmatched(self, *args: str) -> list[str]:
        """The criteria dbt warns match no enabled node (its NoNodesForSelectionCriteria events)."""
        found: list[str] = []

        def listen(event: Any) -> None:
            if event.info.name == "NoNodesForSelectionCriteria":
                found.append(event.data.spec_raw)

        runner = dbtRunner(manifest=self._runner.manifest, callbacks=[listen])
        result = runner.invoke(["ls", *self._common, "--log-level", "warn", *args])
        if not result.success:
            raise RuntimeError(f"dbt ls {' '.join(args)} failed: {result.exception}")
        return found

    def json(self, *args: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines("--output", "json", *args)]

    def unique_ids(self, *args: str) -> list[str]:
        return [str(row["unique_id"]) for row in self.json("--output-keys", "unique_id", *args)]


def _read_manifest(path: Path) -> Any:
    """dbt's Manifest from a manifest.json, as dbt reads one for --state, with one repair:
    dbt decodes every data test as the first class of its union that fits, SingularTest, so
    test_type:/test_name: would not know generic tests; those are rebuilt as generic tests."""
    from dbt.artifacts.schemas.manifest import WritableManifest
    from dbt.contracts.graph.manifest import Manifest
    from dbt.contracts.graph.nodes import GenericTestNode

    loaded = Manifest.from_writable_manifest(WritableManifest.read_and_check_versions(str(path)))
    raw = json.loads(path.read_bytes())["nodes"]
    for uid, node in raw.items():
        if node["resource_type"] == "test" and node.get("test_metadata"):
            loaded.nodes[uid] = GenericTestNode.from_dict(node)
    return loaded
