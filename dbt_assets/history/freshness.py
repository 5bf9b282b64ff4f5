"""``dbt source freshness``, run and recorded: the facts a source's freshness SLA is judged by.

>>> record_source_freshness(Project("fixtures/dbt_project"), history)   # doctest: +SKIP
7
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from dbt_assets._core.errors import DbtCommandError
from dbt_assets.history.store import History
from dbt_assets.run.dbt_cli import dbt_error_summary, find_dbt, supervised_run
from dbt_assets.run.project import Project
from dbt_assets.run.worker import Worker, warm_disabled
from dbt_assets.selection.generate import union_words
from dbt_assets.selection.parse import parse_union
from dbt_assets.selection.registry import DBT_METHODS


def record_source_freshness(
    project: Project,
    history: History,
    select_values: Sequence[str] = (),
    *,
    timeout: float | None = None,
    time_offset: float = 0.0,
    worker: Worker | None = None,
) -> int | None:
    """Run ``dbt source freshness`` (for the sources ``select_values`` name, default all) and
    record each source's result and newest load time; returns the run id in the history.
    With ``worker``, dbt runs in that warm process (a loop's), not as a new dbt CLI.

    dbt exits 1 when a source is past its ``error_after``: that is a result, recorded like
    any other. Only a dbt that writes no results is an error.
    """
    with tempfile.TemporaryDirectory(prefix="dbt-assets-freshness-") as folder:
        output = Path(folder) / "sources.json"
        argv = [
            find_dbt(project.dbt_executable),
            "source",
            "freshness",
            "--project-dir",
            str(project.project_dir),
            "--profiles-dir",
            str(project.profiles_dir),
            *project.dbt_options(),
            "--output",
            str(output),
        ]
        words = union_words(parse_union(select_values, DBT_METHODS)) or []  # never one of dbt's options
        argv += ["--select", *words] if words else []
        if worker is not None and not warm_disabled():
            invoked = worker.invoke(argv[1:], timeout=timeout)
            code, said = invoked.exit_code, "".join(invoked.lines)
        else:
            try:
                done = supervised_run(argv, cwd=project.project_dir, timeout=timeout)  # dies with us
            except subprocess.TimeoutExpired as exc:
                raise DbtCommandError(f"`dbt source freshness` did not finish within {timeout:.0f}s") from exc
            code, said = done.returncode, done.stdout + "\n" + done.stderr
        if not output.is_file():
            raise DbtCommandError(
                f"`dbt source freshness` failed (exit {code}): {dbt_error_summary(said)}",
                f"run `{' '.join(argv)}` in {project.project_dir} to see dbt's full output",
            )
        project.stamp_manifest()
        return history.import_source_freshness(output, time_offset)
