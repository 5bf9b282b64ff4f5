"""Telling someone about SLA results: a command run once per result, or a webhook.

Every delivery reports how it went (:class:`Delivery`); a failure to notify is never
silent. The webhook is retried on connection errors, timeouts, 429 and 5xx answers, with a
growing pause; other 4xx answers are final.

    >>> notify_command("mail -s 'SLA breach' oncall@example.com", breaches)   # doctest: +SKIP
    >>> post_webhook("https://hooks.example.com/sla", payload)                 # doctest: +SKIP
"""

from __future__ import annotations

import shlex
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import msgspec

from dbt_assets.errors import DbtAssetsError
from dbt_assets.sla import SlaResult


class AlertError(DbtAssetsError):
    """An alert that could not be set up (a command that cannot be read, a bad URL)."""


class Delivery(msgspec.Struct, frozen=True):
    """How one notification went."""

    target: str
    ok: bool
    attempts: int
    error: str | None = None
    unique_id: str | None = None


def result_json(result: SlaResult) -> bytes:
    return msgspec.json.encode(result)


def notify_command(command: str, results: Sequence[SlaResult], *, timeout: float = 30.0) -> list[Delivery]:
    """Run ``command`` once per result, with the result's JSON on its standard input."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise AlertError(f"cannot read --notify-command {command!r}: {exc}") from exc
    if not argv:
        raise AlertError("--notify-command is empty")
    deliveries = []
    for result in results:
        deliveries.append(_run_once(argv, command, result, timeout))
    return deliveries


def _run_once(argv: list[str], command: str, result: SlaResult, timeout: float) -> Delivery:
    def failed(error: str) -> Delivery:
        return Delivery(command, False, 1, error, result.unique_id)

    try:
        done = subprocess.run(
            argv, input=result_json(result), capture_output=True, timeout=timeout, check=False
        )
    except FileNotFoundError:
        return failed(f"command not found: {argv[0]}")
    except PermissionError:
        return failed(f"not executable: {argv[0]}")
    except subprocess.TimeoutExpired:
        return failed(f"did not finish within {timeout:g}s")
    if done.returncode != 0:
        said = done.stderr.decode(errors="replace").strip().splitlines()
        return failed(f"exit {done.returncode}" + (f": {said[-1]}" if said else ""))
    return Delivery(command, True, 1, None, result.unique_id)


def post_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 0.5,
) -> Delivery:
    """POST ``payload`` as JSON to ``url``; up to ``retries`` more tries after a failure that
    may pass (no answer, timeout, 429, 5xx)."""
    if not url.startswith(("http://", "https://")):
        raise AlertError(f"--webhook {url!r} is not an http(s) URL")
    body = msgspec.json.encode(payload)
    error = ""
    attempts = 0
    for attempt in range(retries + 1):
        attempts = attempt + 1
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "dbt-assets"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                answer.read()
            return Delivery(url, True, attempts)
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} {exc.reason}"
            if exc.code != 429 and exc.code < 500:
                break
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            error = "timed out" if isinstance(reason, TimeoutError) else f"no answer: {reason}"
        if attempt < retries:
            time.sleep(backoff * 2**attempt)
    return Delivery(url, False, attempts, error)


def deliver(
    results: Sequence[SlaResult],
    *,
    at: str,
    alert_on: Sequence[str] = ("breached",),
    command: str | None = None,
    webhook: str | None = None,
    webhook_timeout: float = 10.0,
    webhook_retries: int = 3,
) -> list[Delivery]:
    """Send the results whose status is in ``alert_on`` to ``command`` (once per result) and
    ``webhook`` (one POST of ``{"at", "count", "results"}``); how each delivery went."""
    alerted = [r for r in results if r.status in set(alert_on)]
    if not alerted:
        return []
    deliveries: list[Delivery] = []
    if command:
        deliveries += notify_command(command, alerted)
    if webhook:
        payload = {"at": at, "count": len(alerted), "results": alerted}
        deliveries.append(post_webhook(webhook, payload, timeout=webhook_timeout, retries=webhook_retries))
    return deliveries
