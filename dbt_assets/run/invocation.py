"""One dbt invocation as values: the options a run passes to dbt, its full command line, and
how it ended (:class:`RunResult`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import msgspec

from dbt_assets._core.vocab import FAILURE_STATUSES
from dbt_assets.plan.compile import Plan
from dbt_assets.run.events import AssetFinished, DbtLog
from dbt_assets.run.project import Project


@dataclass(frozen=True)
class RunOptions:
    """dbt's run flags dbt-assets passes through, and how the run is supervised."""

    threads: int | None = None
    full_refresh: bool = False
    fail_fast: bool = False
    defer: bool = False
    state: str | None = None
    favor_state: bool = False
    extra_args: tuple[str, ...] = ()
    """Handed to dbt unchanged, last (what follows ``--`` on the command line)."""
    timeout: float | None = None
    """Stop the run (as if cancelled) after this many seconds."""
    cancel_grace: float = 10.0
    """After asking dbt to stop, how long to wait before killing it."""
    wait: float | None = None
    """When another run holds some of this run's assets: how many seconds to wait for it
    (``inf``: until it ends); None: refuse at once."""

    def dbt_flags(self, *, state: bool = True) -> list[str]:
        """The flags as dbt arguments (``--threads 4 --full-refresh ...``); without
        ``--state`` when ``state`` is false (a plan that compares with state carries it)."""
        flags: list[str] = []
        if self.threads is not None:
            flags += ["--threads", str(self.threads)]
        flags += ["--full-refresh"] if self.full_refresh else []
        flags += ["--fail-fast"] if self.fail_fast else []
        flags += ["--defer"] if self.defer else []
        flags += ["--state", self.state] if self.state and state else []
        flags += ["--favor-state"] if self.favor_state else []
        return flags + list(self.extra_args)


class RunResult(msgspec.Struct):
    """How a run ended, with every asset's last event."""

    run_id: int | None
    command: str
    argv: list[str]
    status: str
    exit_code: int
    started_at: float
    finished_at: float
    results: dict[str, AssetFinished]
    logs: list[DbtLog]
    message: str | None = None
    dbt_version: str | None = None
    invocation_id: str | None = None
    unrecorded: str | None = None
    """When the history was removed or replaced, or failed, during the run: the file its
    results were saved to instead (dbt's run_results.json, for ``dbt-assets history import``)."""
    unrecorded_because: str | None = None
    """What happened to the history then (``was removed or replaced during the run``)."""
    hint: str | None = None
    """When dbt could not run (``error``): what to check."""

    @property
    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for result in self.results.values():
            counts[result.status] = counts.get(result.status, 0) + 1
        return counts

    @property
    def failures(self) -> list[AssetFinished]:
        return [r for r in self.results.values() if r.status in FAILURE_STATUSES]


def dbt_argv(
    project: Project,
    plan: Plan,
    options: RunOptions,
    executable: str,
    project_dir: Path | None = None,
    state_dir: Path | None = None,
) -> list[str]:
    """The full dbt command line of a run: the plan's argv, the project (or the shadow
    project of a generated selector), the flags, and JSON logs at debug level on stdout (for
    the per-node start and finish events). A one-pass plan's ``--state`` is its written state
    (:meth:`Plan.with_state`) or ``state_dir`` (made for the run; left out when there is none
    yet, as for a dry run); the user's own ``--state`` then goes to dbt as ``--defer-state``."""
    if options.state is not None:  # relative to the project, as dbt has it; also from a shadow
        options = replace(options, state=str(project.project_dir / options.state))
    argv = list(plan.argv)
    flags = options.dbt_flags(state=not plan.one_pass and "--state" not in plan.argv)
    if plan.one_pass:
        argv += ["--state", str(state_dir)] if plan.state_dir is None and state_dir is not None else []
        flags += ["--defer-state", options.state] if options.state else []
    return [
        executable,
        *argv,
        "--project-dir",
        str(project_dir or project.project_dir),
        "--profiles-dir",
        str(project.profiles_dir),
        *project.dbt_options(),
        "--log-format",
        "json",
        "--log-level",
        "debug",
        *flags,
    ]
