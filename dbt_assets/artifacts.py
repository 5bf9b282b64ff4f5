"""dbt's own result artifacts read into the run history's rows: ``run_results.json`` (any dbt
command) and ``sources.json`` (``dbt source freshness``), for runs dbt-assets did not start.

    >>> imported = read_run_results("target/run_results.json")          # doctest: +SKIP
    >>> imported.command, len(imported.rows)                             # doctest: +SKIP
    ('build', 57)

Pure: reading never touches the history; :meth:`History.import_run_results` records it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dbt_assets.errors import HistoryError
from dbt_assets.events import HOOK_PREFIX, timestamp
from dbt_assets.settled import read_settled


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
    path, metadata, results, data = _read_artifact(path, "run_results.json")
    args = data.get("args") or {}
    return _imported(
        path,
        metadata,
        float(data.get("elapsed_time") or 0),
        command=str(args.get("which") or "unknown"),
        selection={k: args[k] for k in ("select", "exclude", "selector") if args.get(k)},
        target=args.get("target"),
        rows=[_result_row(r) for r in results if not str(r.get("unique_id", "")).startswith(HOOK_PREFIX)],
    )


def read_source_freshness(path: str | Path) -> ImportedRun:
    """A ``dbt source freshness`` check from its ``sources.json``: each source's status and
    the load time of its newest row."""
    path, metadata, results, data = _read_artifact(path, "sources.json")
    return _imported(
        path,
        metadata,
        float(data.get("elapsed_time") or 0),
        command="source freshness",
        selection={},
        target=None,
        rows=[_freshness_row(r) for r in results if r.get("unique_id")],
    )


def _imported(
    path: Path,
    metadata: dict[str, Any],
    elapsed: float,
    *,
    command: str,
    selection: dict[str, Any],
    target: str | None,
    rows: list[tuple[Any, ...]],
) -> ImportedRun:
    finished = timestamp(metadata.get("generated_at")) or path.stat().st_mtime
    started = timestamp(metadata.get("invocation_started_at")) or finished - elapsed
    return ImportedRun(
        command=command,
        selection=selection,
        target=target,
        dbt_version=metadata.get("dbt_version"),
        invocation_id=metadata.get("invocation_id"),
        started_at=started,
        finished_at=finished,
        rows=rows,
    )


def _read_artifact(path: str | Path, name: str) -> tuple[Path, dict[str, Any], list[Any], dict[str, Any]]:
    """(path, metadata, results, whole document) of a dbt artifact such as run_results.json."""
    path = Path(path)
    try:
        data = read_settled(path, json.loads)  # dbt may be writing it right now
        metadata = data["metadata"]
        results = list(data["results"])
    except FileNotFoundError as exc:
        raise HistoryError(f"{path} not found", f"dbt writes it to target/{name}") from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HistoryError(f"{path} is not a dbt {name} ({exc})") from exc
    # What the history keys on must be what dbt writes, or the import would record untruths.
    invocation = metadata.get("invocation_id") if isinstance(metadata, dict) else None
    if not isinstance(invocation, str) or not invocation:
        raise HistoryError(
            f"{path} is not a dbt {name}: metadata.invocation_id is {invocation!r}",
            "dbt writes an invocation id into every artifact; import the file dbt wrote",
        )
    for i, result in enumerate(results):
        uid = result.get("unique_id") if isinstance(result, dict) else None
        status = result.get("status") if isinstance(result, dict) else None
        if not isinstance(uid, str) or uid.count(".") < 2 or not isinstance(status, str):
            raise HistoryError(
                f"{path} is not a dbt {name}: results[{i}] has unique_id {uid!r} and status {status!r}",
                "each result needs a unique_id such as model.shop.orders and a status",
            )
    return path, metadata, results, data


def _timings(result: dict[str, Any]) -> tuple[float | None, float | None]:
    timing = {t.get("name"): t for t in result.get("timing") or ()}
    started = timestamp((timing.get("compile") or timing.get("execute") or {}).get("started_at"))
    finished = timestamp((timing.get("execute") or timing.get("compile") or {}).get("completed_at"))
    return started, finished


def _freshness_row(result: dict[str, Any]) -> tuple[Any, ...]:
    started, finished = _timings(result)
    snapshotted = timestamp(result.get("snapshotted_at"))
    adapter = result.get("adapter_response") or {}
    return (
        result["unique_id"],
        str(result.get("status")).lower(),
        started or snapshotted,
        finished or snapshotted,
        result.get("execution_time"),
        None,
        None,
        result.get("error") or result.get("message"),
        json.dumps(adapter) if adapter else None,
        result.get("thread_id"),
        timestamp(result.get("max_loaded_at")),
    )


def _result_row(result: dict[str, Any]) -> tuple[Any, ...]:
    started, finished = _timings(result)
    adapter = result.get("adapter_response") or {}
    rows = adapter.get("rows_affected")
    return (
        result["unique_id"],
        str(result.get("status")).lower(),
        started,
        finished,
        result.get("execution_time"),
        int(rows) if isinstance(rows, (int, float)) else None,
        result.get("failures"),
        result.get("message"),
        json.dumps(adapter) if adapter else None,
        result.get("thread_id"),
        None,
    )
