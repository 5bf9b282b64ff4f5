"""Per-asset events of a run, and turning dbt's JSON log lines into them.

dbt runs with ``--log-format json --log-level debug`` so that each node reports
``NodeStart`` and ``NodeFinished`` (with its run result) the moment it happens. Every line
of dbt's output becomes at most one event; a line that is not JSON, or an event dbt-assets
does not know, becomes a :class:`DbtLog` instead of an error, so a garbled stream never
stops a run.

    >>> reader = LogReader()
    >>> [e.status for e in reader.read('{"info": {"name": "NodeFinished", "level": "debug", '
    ...   '"ts": "2026-01-01T00:00:00Z"}, "data": {"node_info": {"unique_id": "model.p.a", '
    ...   '"node_started_at": "2026-01-01T00:00:00", "node_finished_at": "2026-01-01T00:00:01"}, '
    ...   '"run_result": {"status": "success", "execution_time": 1.0}}}')]
    ['success']
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from dbt_assets.run.dbt_cli import ANSI_COLOUR

# dbt's result statuses (RunStatus, TestStatus, ...) plus two of dbt-assets: ``cancelled`` (the
# asset was running when the run was cancelled or dbt died) and ``not_reached`` (it was planned,
# but the run stopped before dbt started it; such a result leaves the asset's facts as they were).
SUCCESS_STATUSES = frozenset({"success", "pass", "warn", "no-op", "partial success"})
FAILURE_STATUSES = frozenset({"error", "fail", "runtime error"})
CANCELLED = "cancelled"
NOT_REACHED = "not_reached"
HOOK_PREFIX = "operation."
"""unique_ids of project hooks (on-run-start, on-run-end): run by dbt, not assets."""


_HEADING = re.compile(
    r"(Encountered an error:|Raw Error:|-+|"
    r"(\w+ )?(Runtime|Database|Compilation|Parsing|Dependency|Internal|Dbt ?Runtime) Error( in .*)?)"
)
"""Lines of dbt's error text that only announce the error."""


def meaningful_lines(message: str | None) -> list[str]:
    """dbt's error text without its headings and blank lines; of a Python traceback, only
    its last line (the exception).

    >>> meaningful_lines("Encountered an error:\nRuntime Error\n  Could not find profile named 'x'\n")
    ["Could not find profile named 'x'"]
    """
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    if lines and lines[0].startswith("Traceback (most recent call last)"):
        return lines[-1:]
    return [line for line in lines if not _HEADING.fullmatch(line)]


class AssetTiming(msgspec.Struct, frozen=True):
    name: str
    started_at: float | None = None
    completed_at: float | None = None


class RunStarted(msgspec.Struct, frozen=True, tag="run_started", tag_field="event"):
    """dbt-assets is about to start dbt for this plan."""

    run_id: int | None
    command: str
    argv: list[str]
    unique_ids: list[str]
    at: float


class DbtStarted(msgspec.Struct, frozen=True, tag="dbt_started", tag_field="event"):
    """dbt reported its version and invocation id."""

    dbt_version: str
    invocation_id: str
    pid: int | None = None


class AssetStarted(msgspec.Struct, frozen=True, tag="asset_started", tag_field="event"):
    unique_id: str
    at: float
    resource_type: str = ""
    check_of: list[str] = []
    """For a test or unit test: the assets it checks."""


class AssetFinished(msgspec.Struct, frozen=True, tag="asset_finished", tag_field="event"):
    """An asset's result: dbt's status (success, error, pass, fail, warn, skipped, no-op, ...),
    ``cancelled`` when the run stopped while it was running, or ``not_reached`` when the run
    stopped before dbt started it."""

    unique_id: str
    status: str
    started_at: float | None = None
    finished_at: float | None = None
    execution_time: float | None = None
    message: str | None = None
    failures: int | None = None
    rows_affected: int | None = None
    adapter_response: dict[str, Any] = {}
    timing: list[AssetTiming] = []
    thread: str | None = None
    resource_type: str = ""
    check_of: list[str] = []
    skipped_because: list[str] = []
    """For a skipped asset: the upstream assets (or their tests) that failed."""


class DbtLog(msgspec.Struct, frozen=True, tag="dbt_log", tag_field="event"):
    """A line of dbt output that is not a per-asset event: a warning or error dbt printed,
    an event dbt-assets does not know, or a line that is not JSON at all (``name`` empty)."""

    level: str
    message: str
    name: str = ""
    at: float | None = None


class RunFinished(msgspec.Struct, frozen=True, tag="run_finished", tag_field="event"):
    """The end of a run: how it ended and the count of assets per status."""

    run_id: int | None
    status: str
    """``success``, ``failed`` (an asset failed), ``error`` (dbt could not run or crashed),
    ``cancelled`` or ``timeout``."""
    exit_code: int
    counts: dict[str, int]
    elapsed: float
    message: str | None = None


Event = RunStarted | DbtStarted | AssetStarted | AssetFinished | DbtLog | RunFinished

_ENCODER = msgspec.json.Encoder()


def event_json(event: Event) -> str:
    """One event as a JSON object on one line (its kind under ``"event"``)."""
    return _ENCODER.encode(event).decode()


def timestamp(value: str | None) -> float | None:
    """Epoch seconds of a dbt timestamp (ISO 8601; naive values are UTC), None if empty/bad."""
    if not isinstance(value, str) or not value or value == "None":
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


# --- reading dbt's JSON log --------------------------------------------------------------


class _Info(msgspec.Struct):
    name: str = ""
    level: str = "info"
    msg: str = ""
    ts: str = ""
    invocation_id: str = ""
    pid: int | None = None


class _Line(msgspec.Struct):
    info: _Info
    data: dict[str, Any] = {}


_DECODER = msgspec.json.Decoder(_Line)
# Lines dbt-assets turns into asset events; other debug-level lines (SQL, connections) are
# dbt's own debugging output, left to dbt's log file.
_ASSET_EVENTS = ("NodeStart", "NodeFinished")
_QUIET = frozenset(
    {
        "Formatting",
        "LogStartLine",
        "LogModelResult",
        "LogTestResult",
        "LogSeedResult",
        "LogSnapshotResult",
        "LogNodeNoOpResult",
        "LogHookStartLine",
        "LogHookEndLine",
        "SkippingDetails",
        "RunResultFailure",
        "RunResultError",
        "SQLCompiledPath",
        "StatsLine",
        "EndOfRunSummary",
        "FinishedRunningStats",
        "ConcurrencyLine",
        "MainReportVersion",
        "CommandCompleted",
        "EndRunResult",
        "ResourceReport",
    }
)
"""Info-level events whose content reaches the user through asset events and the summary."""


class LogReader:
    """Turns dbt's output, line by line, into events (``check_of`` from ``checks_of``)."""

    def __init__(self, checks_of: dict[str, list[str]] | None = None) -> None:
        self.checks_of = checks_of or {}
        self.dbt_version: str | None = None
        self.invocation_id: str | None = None

    def read(self, line: str) -> list[Event]:
        line = line.rstrip("\r\n")
        if not line.strip():
            return []
        if '"level": "debug"' in line and not any(f'"name": "{n}"' in line for n in _ASSET_EVENTS):
            return []
        try:
            parsed = _DECODER.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError):
            return [DbtLog(level="output", message=line)]
        try:
            return self._event(parsed)
        except (KeyError, TypeError, ValueError, AttributeError):  # JSON, but not shaped as dbt's
            return [DbtLog(level=parsed.info.level, message=line, name=parsed.info.name)]

    def _event(self, line: _Line) -> list[Event]:
        info, data = line.info, line.data
        name = info.name
        at = timestamp(info.ts)
        if name == "MainReportVersion":
            self.dbt_version = str(data.get("version", "")).lstrip("=")
            self.invocation_id = info.invocation_id
            return [DbtStarted(self.dbt_version, info.invocation_id, info.pid)]
        if name in _ASSET_EVENTS and str(data["node_info"]["unique_id"]).startswith(HOOK_PREFIX):
            return self._hook(name, data, at)
        if name == "NodeStart":
            node = data["node_info"]
            uid = _text(node["unique_id"])
            started = timestamp(node.get("node_started_at")) or at or 0.0
            return [
                AssetStarted(
                    uid, started, _text(node.get("resource_type", "")), list(self.checks_of.get(uid, ()))
                )
            ]
        if name == "NodeFinished":
            return [self._finished(data)]
        if name in _QUIET or (info.level == "debug"):
            return []
        return [DbtLog(level=info.level, message=_plain(info.msg), name=name, at=at)]

    @staticmethod
    def _hook(name: str, data: dict[str, Any], at: float | None) -> list[Event]:
        """Project hooks (``on-run-start``/``on-run-end``) are not assets: a finished hook is a
        log line, an error-level one when it failed."""
        if name == "NodeStart":
            return []
        result = data.get("run_result") or {}
        status = str(result.get("status") or "unknown").lower()
        text = f"hook {data['node_info']['unique_id']}: {status}"
        if status in FAILURE_STATUSES and result.get("message"):
            text += f": {result['message']}"
        level = "error" if status in FAILURE_STATUSES else "debug"
        return [DbtLog(level=level, message=text, name="HookFinished", at=at)]

    def _finished(self, data: dict[str, Any]) -> AssetFinished:
        node = data["node_info"]
        result = data.get("run_result") or {}
        uid = _text(node["unique_id"])
        status = str(result.get("status") or node.get("node_status") or "unknown").lower()
        message = result.get("message")
        adapter = result.get("adapter_response") or {}
        rows = adapter.get("rows_affected")
        failures = result.get("num_failures")
        return AssetFinished(
            unique_id=uid,
            status=status,
            started_at=timestamp(node.get("node_started_at")),
            finished_at=timestamp(node.get("node_finished_at")),
            execution_time=None if status == "skipped" else _number(result.get("execution_time")),
            message=str(message) if message else None,
            failures=int(failures) if failures is not None and status in ("fail", "warn", "pass") else None,
            rows_affected=int(rows) if isinstance(rows, (int, float)) else None,
            adapter_response=adapter,
            timing=[
                AssetTiming(
                    t.get("name", ""), timestamp(t.get("started_at")), timestamp(t.get("completed_at"))
                )
                for t in result.get("timing_info") or ()
            ],
            thread=_text(result["thread"]) if result.get("thread") is not None else None,
            resource_type=_text(node.get("resource_type", "")),
            check_of=list(self.checks_of.get(uid, ())),
        )


def _text(value: Any) -> str:
    """A string field of dbt's event; anything else makes the line a plain log line."""
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _plain(message: str) -> str:
    """dbt's message without colour codes."""
    return ANSI_COLOUR.sub("", message)
