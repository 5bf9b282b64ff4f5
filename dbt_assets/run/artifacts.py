"""dbt's own result artifacts read into the run history's rows: ``run_results.json`` (any dbt
command) and ``sources.json`` (``dbt source freshness``), for runs dbt-assets did not start.

    >>> imported = read_run_results("target/run_results.json")          # doctest: +SKIP
    >>> imported.command, len(imported.rows)                             # doctest: +SKIP
    ('build', 57)

Pure: reading never touches the history; :meth:`History.import_run_results` records it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from dbt_assets._core.errors import HistoryError
from dbt_assets._core.settled import read_settled
from dbt_assets.run.events import HOOK_PREFIX, timestamp


@dataclass(frozen=True)
class ImportedRun:
    """One dbt invocation from its artifact: the run's fields and one row per result, in the
    column order of the history's ``asset_results`` (without ``run_id``)."""

    command: str
    selection: dict[str, Any]
    target: str | None
    dbt_version: str | None
    invocation_id: str | None
    started_at: float
    finished_at: float
    rows: list[tuple[Any, ...]]


def read_run_results(path: str | Path) -> ImportedRun:
    """A run from dbt's ``run_results.json`` (hooks left out, as in dbt-assets' own runs)."""
    path, data = _read_artifact(path, "run_results.json")
    args = data.args or _Args()
    selection = {k: getattr(args, k) for k in ("select", "exclude", "selector") if getattr(args, k)}
    return _imported(
        path,
        data,
        command=args.which or "unknown",
        selection=selection,
        target=args.target,
        rows=[_result_row(r) for r in data.results if not r.unique_id.startswith(HOOK_PREFIX)],
    )


def read_source_freshness(path: str | Path) -> ImportedRun:
    """A ``dbt source freshness`` check from its ``sources.json``: each source's status and
    the load time of its newest row."""
    path, data = _read_artifact(path, "sources.json")
    return _imported(
        path,
        data,
        command="source freshness",
        selection={},
        target=None,
        rows=[_freshness_row(r) for r in data.results],
    )


def _imported(
    path: Path,
    data: _Artifact,
    *,
    command: str,
    selection: dict[str, Any],
    target: str | None,
    rows: list[tuple[Any, ...]],
) -> ImportedRun:
    metadata = data.metadata
    elapsed = data.elapsed_time if data.elapsed_time is not None and math.isfinite(data.elapsed_time) else 0.0
    finished = timestamp(metadata.generated_at) or path.stat().st_mtime
    started = timestamp(metadata.invocation_started_at) or finished - elapsed
    return ImportedRun(
        command=command,
        selection=selection,
        target=target,
        dbt_version=metadata.dbt_version,
        invocation_id=metadata.invocation_id,
        started_at=started,
        finished_at=finished,
        rows=rows,
    )


class _Timing(msgspec.Struct):
    name: str = ""
    started_at: str | None = None
    completed_at: str | None = None


class _Result(msgspec.Struct):
    """The fields of one result that the history keeps (run_results.json and sources.json)."""

    unique_id: str
    status: str
    execution_time: float | None = None
    message: str | None = None
    error: str | None = None
    failures: int | None = None
    adapter_response: dict[str, Any] = {}
    thread_id: str | None = None
    timing: list[_Timing] = []
    snapshotted_at: str | None = None
    max_loaded_at: str | None = None


class _Metadata(msgspec.Struct):
    invocation_id: str
    dbt_version: str | None = None
    generated_at: str | None = None
    invocation_started_at: str | None = None


class _Args(msgspec.Struct):
    which: str | None = None
    target: str | None = None
    select: Any = None
    exclude: Any = None
    selector: Any = None


class _Artifact(msgspec.Struct):
    metadata: _Metadata
    results: list[_Result]
    elapsed_time: float | None = None
    args: _Args | None = None


_DECODER = msgspec.json.Decoder(_Artifact)


def _decode(data: bytes) -> _Artifact | Exception:
    """The artifact, or why its JSON is not one: a complete document of the wrong shape is
    returned, not raised, so that only a syntax error (a file still being written) is waited
    out."""
    try:
        return _DECODER.decode(data)
    except msgspec.ValidationError as exc:
        return exc


def _read_artifact(path: str | Path, name: str) -> tuple[Path, _Artifact]:
    """A dbt artifact such as run_results.json, its fields checked: what the history keys on
    must be what dbt writes, or the import would record untruths."""
    path = Path(path)
    data: _Artifact | Exception
    try:
        data = read_settled(path, _decode)  # dbt may be writing it right now
    except FileNotFoundError as exc:
        raise HistoryError(f"{path} not found", f"dbt writes it to target/{name}") from exc
    except OSError as exc:
        raise HistoryError(f"{path} cannot be read ({exc})") from exc
    except ValueError as exc:
        data = exc
    if isinstance(data, Exception):
        raise HistoryError(
            f"{path} is not a dbt {name} ({data})", f"import the {name} that dbt wrote, unchanged"
        )
    if not data.metadata.invocation_id:
        raise HistoryError(
            f"{path} is not a dbt {name}: metadata.invocation_id is empty",
            "dbt writes an invocation id into every artifact; import the file dbt wrote",
        )
    for i, result in enumerate(data.results):
        if result.unique_id.count(".") < 2:
            raise HistoryError(
                f"{path} is not a dbt {name}: results[{i}] has unique_id {result.unique_id!r}",
                "each result needs a unique_id such as model.shop.orders",
            )
    return path, data


def _timings(result: _Result) -> tuple[float | None, float | None]:
    timing = {t.name: t for t in result.timing}
    first = timing.get("compile") or timing.get("execute")
    last = timing.get("execute") or timing.get("compile")
    return (
        timestamp(first.started_at) if first else None,
        timestamp(last.completed_at) if last else None,
    )


def _seconds(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def _adapter(result: _Result) -> str | None:
    return json.dumps(result.adapter_response) if result.adapter_response else None


def _freshness_row(result: _Result) -> tuple[Any, ...]:
    started, finished = _timings(result)
    snapshotted = timestamp(result.snapshotted_at)
    return (
        result.unique_id,
        result.status.lower(),
        started or snapshotted,
        finished or snapshotted,
        _seconds(result.execution_time),
        None,
        None,
        result.error or result.message,
        _adapter(result),
        result.thread_id,
        timestamp(result.max_loaded_at),
    )


def _result_row(result: _Result) -> tuple[Any, ...]:
    started, finished = _timings(result)
    rows = result.adapter_response.get("rows_affected")
    return (
        result.unique_id,
        result.status.lower(),
        started,
        finished,
        _seconds(result.execution_time),
        int(rows) if isinstance(rows, int) and not isinstance(rows, bool) else None,
        result.failures,
        result.message,
        _adapter(result),
        result.thread_id,
        None,
    )
