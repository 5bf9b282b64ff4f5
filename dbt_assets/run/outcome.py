"""What a run works out beside its dbt: which failures skipped an asset, which assets a test
checks, and, when the history failed during the run, the file its results are saved to."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from pathlib import Path

import msgspec

from dbt_assets._core.outputs import write_atomic
from dbt_assets._core.vocab import CHECK_TYPES
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.run.invocation import RunResult
from dbt_assets.run.project import Project


def skip_causes(
    graph: AssetGraph, uid: str, failed: set[str], memo: dict[str, frozenset[str]]
) -> frozenset[str]:
    """The failed assets (or failed tests of them) upstream of ``uid`` in a run, the nearest on
    each path (``memo`` keeps what was worked out for the run)."""
    records = graph.records
    stack = [uid]
    while stack:
        node = stack[-1]
        if node in memo:
            stack.pop()
            continue
        parents = records[node].depends_on.nodes if node in records else []
        pending = [p for p in parents if p not in memo and p not in failed and p in records]
        if pending:
            stack.extend(pending)
            continue
        causes: set[str] = set()
        for parent in parents:
            if parent in failed:
                causes.add(parent)
            elif parent in memo:
                causes |= memo[parent]
            causes |= {c for c in graph.checks(parent) if c in failed and c != node}
        memo[node] = frozenset(causes)
        stack.pop()
    return memo[uid]


def checks_of(graph: AssetGraph, unique_ids: Iterable[str]) -> dict[str, list[str]]:
    """For each test and unit test among ``unique_ids``: the assets it checks."""
    checks: dict[str, list[str]] = {}
    for uid in unique_ids:
        record = graph.records.get(uid)
        if record is None or record.resource_type not in CHECK_TYPES:
            continue
        if record.attached_node:
            checks[uid] = [record.attached_node]
        else:
            checks[uid] = [
                p
                for p in record.depends_on.nodes
                if p in graph.records and graph.records[p].resource_type not in CHECK_TYPES
            ]
    return checks


def save_unrecorded(
    result: RunResult, run_id: int, project: Project, history: Path | str, *, failed: bool
) -> tuple[Path | None, str | None]:
    """A run's results kept for recovery, and why it is unrecorded (said again when saving
    failed too): dbt's run_results.json of this invocation (and beside it the run as dbt-assets
    saw it: how it ended, dbt's exit status), or the results as dbt-assets saw them, each written
    whole or not at all (a temporary file, renamed). For a history that ``failed`` during the
    run, in the project's .dbt-assets (where ``history recover`` reads it), else beside where
    the history file was (its folder made again if need be); the other folder when that one
    cannot be written. When neither can (a full disk), dbt's own run_results.json if it is this
    invocation's (recovery reads it too), else None."""
    own = project.project_dir / ".dbt-assets"
    beside = history.parent if isinstance(history, Path) else own
    folders = [own, beside] if failed else [beside, own]
    dbt_results = project.target_path / "run_results.json"
    try:
        data = dbt_results.read_bytes()
        written = msgspec.json.decode(data)
        same = written.get("metadata", {}).get("invocation_id") == result.invocation_id
    except (OSError, msgspec.DecodeError, AttributeError):
        same = False
    ended = f"unrecorded-run-{run_id}-{int(result.finished_at)}.json"
    if same and result.invocation_id:
        name = f"unrecorded-run_results-{result.invocation_id}.json"
    else:
        name = ended
        data = msgspec.json.encode(result)
    failure = ""
    for folder in dict.fromkeys(folders):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_atomic(folder / name, data)
            if name != ended:
                with contextlib.suppress(OSError):  # how the run ended, which dbt's file does not say
                    write_atomic(folder / ended, msgspec.json.encode(result))
            return folder / name, result.unrecorded_because
        except OSError as exc:
            failure = f"{exc.strerror or exc}: {folder / name}"
    because = result.unrecorded_because or "failed"
    saved = dbt_results if same and result.invocation_id else None
    return saved, f"{because}; saving its results failed too ({failure})"
