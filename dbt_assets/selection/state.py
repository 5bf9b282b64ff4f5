"""Selection against an earlier invocation's artifacts (dbt's ``--state DIR``).

``state:`` compares the manifest with ``DIR/manifest.json`` (:mod:`.modified` does the
comparing), ``result:`` reads ``DIR/run_results.json`` and ``source_status:`` compares
``DIR/sources.json`` with the ``sources.json`` beside the current manifest, as dbt's methods of
the same names do.

    >>> select(graph, ["state:modified+"], state="prod-artifacts")     # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from dbt_assets._core.errors import SelectionError
from dbt_assets._core.settled import read_settled, read_yaml
from dbt_assets.selection.modified import STATE_SELECTORS, StateComparison, decode_compared

__all__ = [
    "STATE_METHODS",
    "STATE_SELECTORS",
    "PreviousState",
    "StateComparison",
    "result_nodes",
    "source_status_nodes",
]

STATE_METHODS = frozenset({"state", "result", "source_status"})
"""The methods that read ``--state``."""


@dataclass
class PreviousState:
    """The artifacts of an earlier invocation: a directory holding some of ``manifest.json``,
    ``run_results.json`` and ``sources.json``.

    ``target_dir`` is where the current ``sources.json`` lives (beside the current manifest).
    """

    path: Path
    target_dir: Path | None = None
    project_dir: Path | None = None
    _files: dict[str, Any] = field(default_factory=dict, repr=False)
    _comparisons: dict[str, StateComparison] = field(default_factory=dict, repr=False)

    @classmethod
    def locate(cls, state: str | Path, project_dir: Path | None, target_dir: Path | None) -> PreviousState:
        """dbt's rule: a relative ``--state`` is relative to the project directory. Like dbt,
        a missing directory is an error only for a method that reads it."""
        path = Path(state).expanduser()
        if not path.is_absolute() and project_dir is not None:
            path = project_dir / path
        return cls(path.resolve(), target_dir, project_dir)

    def _read(
        self, path: Path, what: str, needed_by: str, decode: Callable[[bytes], Any] = msgspec.json.decode
    ) -> Any:
        key = str(path)
        if key not in self._files:
            try:
                self._files[key] = read_settled(path, decode, errors=(msgspec.DecodeError,))
            except FileNotFoundError as exc:
                if not path.parent.is_dir():
                    raise SelectionError(
                        f"--state: no such directory: {path.parent}",
                        "point --state at the target/ directory of the run to compare with"
                        " (a relative --state is relative to the project directory, as in dbt)",
                    ) from exc
                raise SelectionError(
                    f"'{needed_by}' needs {what}, and there is none at {path}",
                    f"copy {path.name} of the run to compare with into {path.parent}",
                ) from exc
            except (OSError, msgspec.DecodeError) as exc:
                raise SelectionError(f"cannot read {path}: {exc}") from exc
            except RecursionError as exc:  # msgspec stops at the interpreter's recursion limit
                raise SelectionError(
                    f"cannot read {path}: its JSON is nested too deeply",
                    "point --state at the artifacts dbt wrote",
                ) from exc
        return self._files[key]

    def manifest(self) -> Any:
        """The state's manifest, as a comparison reads it (:func:`.modified.decode_compared`)."""
        return self._read(self.path / "manifest.json", "a manifest", "state:", decode_compared)

    def compare(self, current_manifest: Path) -> StateComparison:
        """The comparison of the manifest at ``current_manifest`` with this state's."""
        key = str(current_manifest)
        if key not in self._comparisons:
            try:
                current = read_settled(current_manifest, decode_compared, errors=(msgspec.DecodeError,))
            except (OSError, msgspec.DecodeError) as exc:
                raise SelectionError(f"cannot re-read {current_manifest} to compare it: {exc}") from exc
            except RecursionError as exc:
                raise SelectionError(
                    f"cannot read {current_manifest}: its JSON is nested too deeply",
                    "re-create it with `dbt parse`",
                ) from exc
            self._comparisons[key] = StateComparison(
                current, self.manifest(), _project_flags(self.project_dir)
            )
        return self._comparisons[key]

    def run_results(self) -> list[dict[str, Any]]:
        data = self._read(self.path / "run_results.json", "run results", "result:")
        return list(data.get("results") or [])

    def freshness(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(previous, current) results of ``dbt source freshness``."""
        previous = self._read(self.path / "sources.json", "source freshness results", "source_status:")
        if self.target_dir is None:
            raise SelectionError("'source_status:' needs the project's target/sources.json")
        current = self._read(
            self.target_dir / "sources.json", "current source freshness results", "source_status:"
        )
        return list(previous.get("results") or []), list(current.get("results") or [])


def _project_flags(project_dir: Path | None) -> dict[str, Any]:
    """The behaviour flags of the project's dbt_project.yml (none known without a project)."""
    if project_dir is None:
        return {}
    try:
        data = read_yaml(project_dir / "dbt_project.yml", SelectionError)
    except (OSError, SelectionError):
        return {}
    flags = data.get("flags") if isinstance(data, dict) else None
    return flags if isinstance(flags, dict) else {}


# --- result: and source_status: --------------------------------------------------------


def result_nodes(state: PreviousState, status: str) -> set[str]:
    """``result:<status>``: nodes whose result in the previous run had that status (dbt v2
    writes some statuses capitalised, ``Success``; dbt-core's are lower case)."""
    return {
        str(r.get("unique_id"))
        for r in state.run_results()
        if isinstance(r.get("status"), str) and r["status"].lower() == status
    }


def source_status_nodes(state: PreviousState, selector: str) -> set[str]:
    """``source_status:fresher``: sources loaded more recently now than in the previous
    freshness check (or not checked then); any other value selects nothing, as in dbt."""
    previous, current = state.freshness()
    if selector != "fresher":
        return set()
    now = {r["unique_id"]: _loaded_at(r) for r in current if "max_loaded_at" in r}
    before = {r["unique_id"]: _loaded_at(r) for r in previous if "max_loaded_at" in r}
    # dbt takes the failed checks from the current results for both sides.
    failed = {r.get("unique_id") for r in current if "max_loaded_at" not in r}
    return {uid for uid, at in now.items() if (uid not in before or at > before[uid]) and uid not in failed}


def _loaded_at(result: dict[str, Any]) -> dt.datetime:
    value = result["max_loaded_at"]
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise SelectionError(
            f"sources.json: bad max_loaded_at {value!r} for {result.get('unique_id')}"
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
