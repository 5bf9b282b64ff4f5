"""The vocabularies and small utilities every layer shares (dbt_assets._core)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
import pytest
from pydantic import BaseModel

from dbt_assets._core.durations import duration_text, parse_duration, percentile
from dbt_assets._core.serial import plain, to_json
from dbt_assets._core.vocab import ASSET_RESOURCE_TYPE_ORDER, ASSET_RESOURCE_TYPES, LS_DEFAULT_TYPES
from dbt_assets.cli.options import RESOURCE_TYPES

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.42, "0.42s"),
        (187, "3m07s"),
        (1800, "30m"),
        (3727, "1h02m"),
        (6 * 3600, "6h"),
        (86400, "1d"),  # was "1d00h"
        (2 * 86400 + 4 * 3600, "2d04h"),
        (None, ""),
    ],
)
def test_durations_are_written_without_a_zero_part(seconds: float | None, text: str) -> None:
    assert duration_text(seconds) == text


@pytest.mark.parametrize(("given", "seconds"), [("90s", 90.0), ("10m", 600.0), ("1.5d", 129600.0), (7, 7.0)])
def test_durations_are_read_as_people_write_them(given: object, seconds: float) -> None:
    assert parse_duration(given) == seconds


@pytest.mark.parametrize("given", ["soon", "0s", "-1h", float("nan"), float("inf"), True, "1001y"])
def test_a_duration_that_is_not_one_is_refused(given: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(given)


def test_percentile_is_the_nearest_rank() -> None:
    assert percentile(range(1, 11)) == 9 and percentile([]) is None and percentile([5], 0.5) == 5


def test_the_cli_offers_every_asset_resource_type_in_one_order() -> None:
    assert (*ASSET_RESOURCE_TYPE_ORDER, "all", "default") == RESOURCE_TYPES
    assert frozenset(ASSET_RESOURCE_TYPE_ORDER) == ASSET_RESOURCE_TYPES
    assert {"analysis"} == ASSET_RESOURCE_TYPES - LS_DEFAULT_TYPES


class _Struct(msgspec.Struct):
    at: float
    ids: list[str]


class _Model(BaseModel):
    name: str
    inner: dict[str, int]


@dataclass
class _Data:
    struct: _Struct
    model: _Model


def test_every_kind_of_public_result_becomes_the_same_json() -> None:
    value = _Data(_Struct(1.5, ["a"]), _Model(name="n", inner={"x": 1}))
    expected = {"struct": {"at": 1.5, "ids": ["a"]}, "model": {"name": "n", "inner": {"x": 1}}}
    assert plain(value) == expected
    assert msgspec.json.decode(to_json(value)) == expected
    assert to_json([value], indent=2).startswith("[\n  {\n")


def test_dbts_error_is_kept_whole_on_one_line() -> None:
    """`--target prod` on a profile with dev and ci: both valid targets are named (the summary
    used to stop after three lines, at "- dev")."""
    from dbt_assets.run.dbt_cli import dbt_error_summary

    output = (
        "07:10:01  Running with dbt=1.11.16\n"
        "07:10:01  Encountered an error:\n"
        "Runtime Error\n"
        "  The profile 'shop' does not have a target named 'prod'. The valid target names for this "
        "profile are:\n"
        "   - dev\n"
        "   - ci\n"
    )
    summary = dbt_error_summary(output)
    assert summary.endswith("- dev - ci") and "target named 'prod'" in summary


def test_hup_and_int_ignored_at_start_stay_ignored_term_is_always_handled() -> None:
    """`nohup` starts dbt-assets with SIGHUP ignored (a script's background job: SIGINT): the
    scheduler's handlers, as every command's (``_core.signals.handle``), leave them ignored, so
    `nohup dbt-assets automate &` outlives its terminal. An ignored SIGTERM is a parent's leak
    (Dagster's in-process runs leave it so), never a choice: it is handled, or only SIGKILL
    would stop the scheduler."""
    import signal
    import threading

    from dbt_assets.automate.loop import _handle_signals

    assert threading.current_thread() is threading.main_thread()  # handlers are installed there only
    kept = {sig: signal.getsignal(sig) for sig in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)}
    try:
        for int_at_start in (signal.SIG_IGN, signal.default_int_handler):
            for sig, how in ((signal.SIGHUP, signal.SIG_IGN), (signal.SIGTERM, signal.SIG_IGN)):
                signal.signal(sig, how)
            signal.signal(signal.SIGINT, int_at_start)
            stop, signalled = threading.Event(), []
            previous = _handle_signals(stop, signalled)
            try:
                assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
                assert (signal.getsignal(signal.SIGINT) is signal.SIG_IGN) is (int_at_start is signal.SIG_IGN)
                signal.raise_signal(signal.SIGTERM)  # handled: the loop stops
                assert stop.is_set() and signalled == [signal.SIGTERM]
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN  # put back as it was
    finally:
        for sig, handler in kept.items():
            signal.signal(sig, handler)


@pytest.mark.parametrize(
    ("signum", "at_start", "stops"),
    [
        ("SIGTERM", "SIG_DFL", True),
        ("SIGTERM", "SIG_IGN", True),  # a parent's leak: handled all the same
        ("SIGHUP", "SIG_DFL", True),
        ("SIGHUP", "SIG_IGN", False),  # nohup: left ignored
    ],
)
def test_a_signal_while_dbt_works_stops_the_wait(signum: str, at_start: str, stops: bool) -> None:
    """While dbt-assets waits for a dbt (the parse before a run, a source check), SIGTERM and
    SIGHUP stop the wait as Ctrl-C does, where nothing else handles them; SIGHUP ignored at
    start (nohup) stays ignored, SIGTERM ignored at start does not."""
    import signal

    from dbt_assets.run.dbt_cli import Stopped, _signals_interrupt

    sig = signal.Signals[signum]
    kept = signal.getsignal(sig)
    signal.signal(sig, getattr(signal, at_start))
    try:
        with _signals_interrupt():
            try:
                signal.raise_signal(sig)
                stopped = False
            except Stopped:
                stopped = True
        assert stopped is stops
        assert signal.getsignal(sig) is getattr(signal, at_start)  # put back
    finally:
        signal.signal(sig, kept)
