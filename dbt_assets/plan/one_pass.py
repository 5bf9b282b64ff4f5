"""Long explicit plans as one criterion that dbt evaluates in one pass over its nodes.

dbt evaluates each criterion of ``--select`` against every node, so a plan of many explicit
tokens costs dbt (criteria times nodes) before it runs anything: 2,318 criteria took it 376 s to
select on a 10,000-model project. Past :func:`one_pass_criteria` criteria a plan says instead

    build --select result:success --indirect-selection empty --state <generated directory>

where the generated directory holds a ``run_results.json`` that lists exactly the planned
nodes, each with the status ``success``. dbt's ``result:`` method reads it once and keeps the
nodes it lists: one pass, whatever the number of nodes. A run makes the directory for its dbt
invocation (:func:`generated_state`) and removes it after; a caller that runs the plan itself
(a scheduler, CI, another orchestrator) has it written to a folder it names and keeps
(:func:`write_state`, ``plan --state-out DIR``). The project's files are never touched. A
user's own ``--state`` (for ``--defer``) goes to dbt as ``--defer-state``, which dbt reads for
deferral exactly as it would have read ``--state``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from dbt_assets._core.errors import SelectionError

ONE_PASS_WORK = 100_000
"""How many (criterion, node) evaluations dbt may spend on an explicit plan before the plan
becomes one pass: dbt takes about 28 us for each (279 ms a criterion on a 10,000-model
project, benchmarks/README.md "Plans that dbt selects in one pass"), so an explicit plan
costs it at most about 3 s more than one criterion; on 10,000 nodes that is 10 criteria, on
the 70 of the fixture 1,428."""
ONE_PASS_ENV = "DBT_ASSETS_ONE_PASS_CRITERIA"


def one_pass_criteria(nodes: int) -> int:
    """Above how many criteria a plan over a project of ``nodes`` nodes is one pass
    (:data:`ONE_PASS_WORK` spread over the nodes), or the number
    ``$DBT_ASSETS_ONE_PASS_CRITERIA`` gives (0: always one pass)."""
    raw = os.environ.get(ONE_PASS_ENV, "").strip()
    if not raw:
        return max(1, ONE_PASS_WORK // max(nodes, 1))
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise SelectionError(
            f"{ONE_PASS_ENV}={raw!r} is not a number of criteria",
            "set it to a whole number (0: always one pass), or unset it for dbt-assets' own choice",
        )
    return value


ONE_PASS_STATUS = "success"
ONE_PASS_SELECT = f"result:{ONE_PASS_STATUS}"
GENERATED_BY = "dbt-assets: a one-pass selection, not a run"

_SCHEMA = "https://schemas.getdbt.com/dbt/run-results/v6.json"


def run_results(unique_ids: Iterable[str]) -> dict[str, object]:
    """A ``run_results.json`` that dbt reads as one invocation in which exactly these nodes
    had the status :data:`ONE_PASS_STATUS`."""
    result = {
        "status": ONE_PASS_STATUS,
        "timing": [],
        "thread_id": "dbt-assets",
        "execution_time": 0.0,
        "adapter_response": {},
        "message": None,
        "failures": None,
        "compiled": None,
        "compiled_code": None,
        "relation_name": None,
    }
    return {
        "metadata": {
            "dbt_schema_version": _SCHEMA,
            "dbt_version": "1.8.0",
            "generated_at": "2000-01-01T00:00:00Z",
            "invocation_id": str(uuid.uuid4()),
            "env": {},
        },
        "results": [{**result, "unique_id": uid} for uid in sorted(unique_ids)],
        "elapsed_time": 0.0,
        "args": {"generated_by": GENERATED_BY},
    }


def write_state(unique_ids: Iterable[str], folder: str | Path) -> Path:
    """Write the state of a one-pass selection of ``unique_ids`` into ``folder`` (made if
    missing) for a caller to keep and give dbt as ``--state``; the folder as an absolute path.

    The folder must be new, empty, or hold only a state written here before (which is
    replaced): it is never dbt's own ``target/`` or an earlier run's artifacts, whose
    ``run_results.json`` a generated one would destroy."""
    where = Path(folder).absolute()
    try:
        where.mkdir(parents=True, exist_ok=True)
        present = sorted(p.name for p in where.iterdir())
    except OSError as exc:
        raise SelectionError(
            f"cannot use {where} for the state of a one-pass selection: {exc.strerror or exc}",
            "give --state-out a new folder you can write",
        ) from exc
    if present and (present != ["run_results.json"] or not _generated_here(where / "run_results.json")):
        raise SelectionError(
            f"{where} already holds {', '.join(present[:3])}{' ...' if len(present) > 3 else ''}: "
            "the state of a one-pass selection needs a folder of its own",
            "give --state-out a new or empty folder (never dbt's target/ or production artifacts)",
        )
    partial = where / f".run_results.json.{os.getpid()}"
    try:
        partial.write_text(json.dumps(run_results(unique_ids)))
        partial.replace(where / "run_results.json")
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise SelectionError(
            f"cannot write the state of a one-pass selection in {where}: {exc.strerror or exc}",
            "free space there, or give another folder",
        ) from exc
    return where


def _generated_here(path: Path) -> bool:
    try:
        written = json.loads(path.read_bytes())
        return bool(written.get("args", {}).get("generated_by") == GENERATED_BY)
    except (OSError, ValueError, AttributeError):
        return False


@contextmanager
def generated_state(unique_ids: Iterable[str]) -> Iterator[Path]:
    """A temporary state directory for ``--state`` that lists ``unique_ids`` as results;
    removed when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="dbt-assets-state-"))
    try:
        write_state(unique_ids, folder)
    except SelectionError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        raise SelectionError(
            exc.message, "free space in the temporary folder (TMPDIR), or set TMPDIR"
        ) from exc
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
