"""The real dbt, in-process, as the oracle of differential tests.

``dbtRunner`` parses a project once and then answers ``dbt ls`` in tens of milliseconds, so
hundreds of cases fit in CI; ``test_oracle_matches_dbt_cli`` proves it answers like the CLI.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dbt.cli.main import dbtRunner


class DbtLs:
    """``dbt ls`` on one project, its manifest parsed once."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self._common = ["--project-dir", str(project), "--profiles-dir", str(project), "--log-level", "none"]
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
