"""What a run reports its progress to: the recorder protocol the runner writes through.

The run history (:class:`dbt_assets.history.store.History`) is the recorder dbt-assets uses;
the runner knows only this protocol, so a run can be recorded anywhere (or nowhere).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from dbt_assets.run.events import AssetFinished, DbtLog


class Recorder(Protocol):
    """Where a run's progress goes, the moment it happens."""

    path: Path | str
    """Where it is kept: a file (the runner saves dbt's results beside it when it vanishes),
    or the URL of a database server."""

    def start_run(
        self,
        *,
        command: str,
        argv: list[str],
        unique_ids: Iterable[str],
        selection: dict[str, Any] | None = None,
        flags: list[str] | None = None,
        project_dir: str | None = None,
        target: str | None = None,
        started_at: float | None = None,
        claim: bool = False,
        on_start: Callable[[int], object] | None = None,
    ) -> int:
        """A run is starting: its id. With ``claim`` its assets are claimed for it (one run per
        asset at a time: :class:`~dbt_assets._core.errors.AssetsBusyError` when another run
        holds one); ``on_start(run_id)`` is recorded with the start, in one transaction."""

    def set_invocation(self, run_id: int, dbt_version: str, invocation_id: str) -> bool:
        """dbt said which invocation this is: False when another run already has that id."""

    def record_start(self, run_id: int, unique_id: str, at: float) -> None: ...

    def record_result(self, run_id: int, result: AssetFinished) -> None: ...

    def record_log(self, run_id: int, log: DbtLog) -> None: ...

    def record_not_reached(self, run_id: int, unique_ids: Sequence[str], at: float, message: str) -> None:
        """Planned assets the run stopped before dbt started them."""

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        exit_code: int,
        message: str | None = None,
        unfinished_status: str = ...,
        finished_at: float | None = None,
    ) -> None: ...

    def still_there(self) -> bool:
        """Whether what is written still lands where it will be read (a history file deleted or
        replaced during the run does not)."""
