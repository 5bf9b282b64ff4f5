"""OpenLineage run events (spec 2-0-2) for a dbt-assets run: one parent run for the dbt
invocation and one child run per asset, each a START and a COMPLETE, FAIL or ABORT event.

    >>> events = run_events(graph, history.run(12), history.results(12))   # doctest: +SKIP
    >>> emit(events, "http://marquez:5000/api/v1/lineage")                 # doctest: +SKIP

- the parent job is ``<project>.dbt_<command>``, its run id dbt's invocation id; each asset's
  job is ``<project>.<asset name>`` with a ``parent`` facet pointing at the invocation, a
  ``jobType`` facet (``BATCH``/``DBT``/``MODEL``, ``SEED``, ``SNAPSHOT``, ``TEST``...) and,
  when it failed, an ``errorMessage`` facet with dbt's message;
- datasets are relations: namespace ``<adapter>://<database>``, name
  ``<database>.<schema>.<identifier>``; an asset's inputs are the materialized assets and
  sources it reads (through ephemeral models), its output its own relation;
- statuses: success/pass/warn → COMPLETE, error/fail/runtime error → FAIL, skipped and
  cancelled → ABORT;
- run ids are UUIDs derived from the invocation and the asset, so the same run always gives
  the same events.

:func:`emit` appends the events to a file, one JSON object per line, or POSTs each to an
HTTP endpoint (with the retries of a webhook).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

from dbt_assets._core.errors import one_line
from dbt_assets._core.outputs import OutputError, output_target, write_output
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.run.events import FAILURE_STATUSES, SUCCESS_STATUSES

if TYPE_CHECKING:
    from dbt_assets.sla.alerts import Delivery

PRODUCER = "https://github.com/dbt-assets/dbt-assets"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"
_FACETS = "https://openlineage.io/spec/facets"
PARENT_FACET = f"{_FACETS}/1-2-0/ParentRunFacet.json#/$defs/ParentRunFacet"
ERROR_FACET = f"{_FACETS}/1-0-1/ErrorMessageRunFacet.json#/$defs/ErrorMessageRunFacet"
JOB_TYPE_FACET = f"{_FACETS}/2-0-4/JobTypeJobFacet.json#/$defs/JobTypeJobFacet"
_ABORTED = frozenset({"skipped", "cancelled"})


class RunLike(Protocol):
    """A run as recorded (:class:`~dbt_assets.history.store.RunRecord`) or just finished
    (:class:`~dbt_assets.run.runner.RunResult`)."""

    @property
    def run_id(self) -> int | None: ...
    @property
    def command(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def started_at(self) -> float: ...
    @property
    def finished_at(self) -> float | None: ...
    @property
    def invocation_id(self) -> str | None: ...


class ResultLike(Protocol):
    """One asset's result, from the history or from the run's events."""

    @property
    def unique_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def started_at(self) -> float | None: ...
    @property
    def finished_at(self) -> float | None: ...
    @property
    def message(self) -> str | None: ...


def _time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _event_type(status: str) -> str:
    if status in SUCCESS_STATUSES:
        return "COMPLETE"
    if status in _ABORTED:
        return "ABORT"
    if status in FAILURE_STATUSES:
        return "FAIL"
    return "OTHER"


def dataset(graph: AssetGraph, unique_id: str) -> dict[str, Any]:
    """The OpenLineage dataset of an asset's relation."""
    record = graph.records[unique_id]
    adapter = str(graph.manifest.metadata.get("adapter_type") or "dbt")
    database = record.database or ""
    identifier = record.identifier or record.alias or record.name
    name = ".".join(part for part in (database, record.schema or "", identifier) if part)
    return {"namespace": f"{adapter}://{database}", "name": name}


def run_events(
    graph: AssetGraph,
    run: RunLike,
    results: Iterable[ResultLike],
    *,
    namespace: str = "dbt-assets",
    project_dir: str | Path | None = None,
) -> list[dict[str, Any]]:
    """The OpenLineage events of one run, in time order (parent START first, parent end last)."""
    from dbt_assets.manifest.graph import is_materialized, materialized_parents

    project = graph.manifest.project_name or "dbt"
    seed = run.invocation_id or f"{project_dir or project}:{run.run_id}:{run.started_at}"
    parent_id = str(_uuid(seed))
    parent_job = {"namespace": namespace, "name": f"{project}.dbt_{run.command}"}
    finished = run.finished_at if run.finished_at is not None else run.started_at
    events = [_event("START", run.started_at, parent_id, parent_job, {}, _job_facets("JOB"))]
    children = []
    for result in results:
        record = graph.records.get(result.unique_id)
        if record is None:
            continue
        run_id = str(_uuid(f"{parent_id}:{result.unique_id}"))
        job = {"namespace": namespace, "name": f"{project}.{record.search_name}"}
        facets: dict[str, Any] = {
            "parent": {
                "_producer": PRODUCER,
                "_schemaURL": PARENT_FACET,
                "run": {"runId": parent_id},
                "job": parent_job,
            }
        }
        start = result.started_at if result.started_at is not None else run.started_at
        end = result.finished_at if result.finished_at is not None else max(start, finished)
        inputs = [dataset(graph, p) for p in materialized_parents(graph, result.unique_id)]
        outputs = [dataset(graph, result.unique_id)] if is_materialized(graph, result.unique_id) else []
        job_facets = _job_facets(record.resource_type.upper())
        children.append(_event("START", start, run_id, job, facets, job_facets, inputs, outputs))
        end_facets = dict(facets)
        if result.status in FAILURE_STATUSES and result.message:
            end_facets["errorMessage"] = {
                "_producer": PRODUCER,
                "_schemaURL": ERROR_FACET,
                "message": result.message,
                "programmingLanguage": "python" if record.language == "python" else "sql",
            }
        children.append(
            _event(_event_type(result.status), end, run_id, job, end_facets, job_facets, inputs, outputs)
        )
    # in time order; at the same millisecond (skipped assets all end with the run), by job:
    # the events of a run recorded live and read back from the history come out the same
    children.sort(key=lambda e: (e["eventTime"], e["eventType"] != "START", e["job"]["name"]))
    events += children
    end_type = "COMPLETE" if run.status == "success" else "ABORT" if run.status == "cancelled" else "FAIL"
    events.append(_event(end_type, finished, parent_id, parent_job, {}, _job_facets("JOB")))
    return events


def _uuid(seed: str) -> uuid.UUID:
    try:
        return uuid.UUID(seed)
    except ValueError:
        return uuid.uuid5(uuid.NAMESPACE_URL, f"dbt-assets:{seed}")


def _job_facets(job_type: str) -> dict[str, Any]:
    return {
        "jobType": {
            "_producer": PRODUCER,
            "_schemaURL": JOB_TYPE_FACET,
            "processingType": "BATCH",
            "integration": "DBT",
            "jobType": job_type,
        }
    }


def _event(
    event_type: str,
    at: float,
    run_id: str,
    job: dict[str, Any],
    run_facets: dict[str, Any],
    job_facets: dict[str, Any],
    inputs: Sequence[dict[str, Any]] = (),
    outputs: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    return {
        "eventType": event_type,
        "eventTime": _time(at),
        "producer": PRODUCER,
        "schemaURL": SCHEMA_URL,
        "run": {"runId": run_id, "facets": run_facets},
        "job": {**job, "facets": job_facets},
        "inputs": list(inputs),
        "outputs": list(outputs),
    }


def emit(
    events: Sequence[dict[str, Any]], target: str, *, timeout: float = 10.0, retries: int = 3
) -> list[Delivery]:
    """Send events to ``target``: an http(s) URL (one POST per event, in order, stopping at
    the first that cannot be delivered) or a file, a path or a ``file://`` URL (appended, one
    JSON object per line, all or none; never the project's files or the history, see
    :mod:`dbt_assets._core.outputs`). How each delivery went
    (:class:`~dbt_assets.sla.alerts.Delivery`)."""
    from dbt_assets.sla.alerts import Delivery, post_webhook

    try:
        path = lineage_file(target, "--openlineage")
    except OutputError as exc:
        return [Delivery(target, False, 0, exc.message)]
    if path is None:
        deliveries: list[Delivery] = []
        for sent, event in enumerate(events):
            delivery = post_webhook(target, event, timeout=timeout, retries=retries, option="--openlineage")
            if not delivery.ok:  # the endpoint is gone: the rest would fail alike
                error = f"{delivery.error} ({sent} of {len(events)} events sent)"
                return [*deliveries, Delivery(delivery.target, False, delivery.attempts, error)]
            deliveries.append(delivery)
        return deliveries
    text = "".join(json.dumps(event, separators=(",", ":")) + "\n" for event in events)
    try:
        write_output(path, text, option="the OpenLineage events", append=True)
    except OutputError as exc:
        return [Delivery(target, False, 1, exc.message)]
    return [Delivery(target, True, 1)]


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")


def lineage_file(target: str, option: str) -> Path | None:
    """The file an OpenLineage ``target`` names (a path, or a ``file://`` URL on this host),
    None for an http(s) URL; :class:`OutputError` for any other URL, or a file that an output
    may not be written to (:func:`~dbt_assets._core.outputs.output_target`)."""
    scheme = _SCHEME.match(target)
    kind = scheme[1].lower() if scheme and len(scheme[1]) > 1 else None  # C:\\ is a path
    if kind in ("http", "https"):
        return None
    if kind == "file":
        parts = urlsplit(target)
        if parts.netloc not in ("", "localhost") or not parts.path:
            raise OutputError(
                f"{option} {one_line(target)}: a file:// URL names a file on this machine",
                "write file:///absolute/path (three slashes) or a plain path",
            )
        path = unquote(parts.path)
    elif kind is not None and target[scheme.end() if scheme else 0 :].startswith("//"):
        raise OutputError(
            f"{option} {one_line(target)}: {kind}:// is not a way to send OpenLineage events",
            "give an http(s):// URL (Marquez: http://host:5000/api/v1/lineage) or a file",
        )
    else:
        path = target
    output_target(path, option)
    return Path(path)
