"""Signal handlers that keep what the caller chose: a signal that was set to be ignored when
dbt-assets started stays ignored. ``nohup`` ignores SIGHUP, and a shell's background job
ignores SIGINT: ``nohup dbt-assets automate &`` must outlive the terminal it was started from,
and a run started that way must not be cancelled when the terminal closes.

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


def handle(signals: Iterable[int], handler: Handler) -> dict[int, Any]:
    """Install ``handler`` for each of ``signals`` that is not ignored now; the handlers it
    replaced, for :func:`restore`."""
    return {
        sig: signal.signal(sig, handler) for sig in signals if signal.getsignal(sig) is not signal.SIG_IGN
    }


def restore(previous: Mapping[int, Any]) -> None:
    """Put back the handlers :func:`handle` replaced."""
    for sig, handler in previous.items():
        signal.signal(sig, handler)
