"""Signal handlers that keep what the caller chose: SIGHUP or SIGINT set to be ignored when
dbt-assets started stays ignored. ``nohup`` ignores SIGHUP and a script's background job
ignores SIGINT: ``nohup dbt-assets automate &`` must outlive the terminal it was started from,
and a run started that way must not be cancelled when the terminal closes. SIGTERM is always
handled: it is how a service manager or an orchestrator stops a process, and an ignored
SIGTERM is inherited from a parent that leaked it (Dagster's in-process runs leave it ignored),
not a choice; honouring it would leave a scheduler that only SIGKILL stops.

    >>> previous = handle((signal.SIGINT, signal.SIGTERM, signal.SIGHUP), cancel)  # doctest: +SKIP
    >>> ...                                                                         # doctest: +SKIP
    >>> restore(previous)                                                           # doctest: +SKIP
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterable, Mapping
from types import FrameType
from typing import Any

Handler = Callable[[int, FrameType | None], Any]
KEPT_IGNORED = frozenset({signal.SIGHUP, signal.SIGINT})
"""The signals left ignored when they were ignored at start."""


def handle(signals: Iterable[int], handler: Handler) -> dict[int, Any]:
    """Install ``handler`` for each of ``signals`` but SIGHUP or SIGINT ignored now; the
    handlers it replaced, for :func:`restore`."""
    return {
        sig: signal.signal(sig, handler)
        for sig in signals
        if not (sig in KEPT_IGNORED and signal.getsignal(sig) is signal.SIG_IGN)
    }


def unhandled(sig: int) -> bool:
    """Whether nothing handles ``sig`` now (its default action, or a SIGTERM ignored at start),
    so that dbt-assets may handle it without taking it from whoever embeds it."""
    current = signal.getsignal(sig)
    return current is signal.SIG_DFL or (current is signal.SIG_IGN and sig not in KEPT_IGNORED)


def restore(previous: Mapping[int, Any]) -> None:
    """Put back the handlers :func:`handle` replaced."""
    for sig, handler in previous.items():
        signal.signal(sig, handler)
