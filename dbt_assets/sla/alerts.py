"""Telling someone about SLA results: a command run once per result, or a webhook.

Every delivery reports how it went (:class:`Delivery`); a failure to notify is never
silent. The webhook is retried on connection errors, timeouts, 429 and 5xx answers, with a
growing pause; other 4xx answers are final.

    >>> notify_command("mail -s 'SLA breach' oncall@example.com", breaches)   # doctest: +SKIP
    >>> post_webhook("https://hooks.example.com/sla", payload)                 # doctest: +SKIP
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import os
import shlex
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from typing import Any

import msgspec

from dbt_assets._core.errors import AlertError
from dbt_assets.sla.judge import SlaResult, iso


class Delivery(msgspec.Struct, frozen=True):
    """How one notification went."""

    target: str
    ok: bool
    attempts: int
    error: str | None = None
    unique_id: str | None = None


def result_json(result: SlaResult) -> bytes:
    return msgspec.json.encode(result)


def command_argv(command: str) -> list[str]:
    """The argv of a notify command (shell words, no shell), or an error saying why not."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise AlertError(f"cannot read --notify-command {command!r}: {exc}") from exc
    if not argv:
        raise AlertError("--notify-command is empty", "give the command to run, e.g. 'mail -s SLA oncall@x'")
    return argv


def notify_command(
    command: str, results: Sequence[SlaResult], *, timeout: float = 30.0, report: str | None = None
) -> list[Delivery]:
    """Run ``command`` once per result, with the result's JSON on its standard input (and the
    HTML report's path in ``$DBT_ASSETS_REPORT`` when one was written)."""
    argv = command_argv(command)
    env = {**os.environ, "DBT_ASSETS_REPORT": report} if report is not None else None
    deliveries = []
    for result in results:
        deliveries.append(_run_once(argv, command, result, timeout, env))
    return deliveries


def _run_once(
    argv: list[str], command: str, result: SlaResult, timeout: float, env: dict[str, str] | None = None
) -> Delivery:
    def failed(error: str) -> Delivery:
        return Delivery(command, False, 1, error, result.unique_id)

    try:
        # A session of its own: on a timeout the whole group is killed, its children too.
        process = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            env=env,
        )
    except FileNotFoundError:
        return failed(f"command not found: {argv[0]}")
    except PermissionError:
        return failed(f"not executable: {argv[0]}")
    try:
        _, stderr = process.communicate(result_json(result), timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        return failed(f"did not finish within {timeout:g}s (stopped, with its children)")
    if process.returncode != 0:
        said = stderr.decode(errors="replace").strip().splitlines()
        return failed(f"exit {process.returncode}" + (f": {said[-1]}" if said else ""))
    return Delivery(command, True, 1, None, result.unique_id)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate()


def post_webhook(
    url: str,
    payload: dict[str, Any],
    *,
    timeout: float = 10.0,
    retries: int = 3,
    backoff: float = 0.5,
    option: str = "--webhook",
) -> Delivery:
    """POST ``payload`` as JSON to ``url``; up to ``retries`` more tries after a failure that
    may pass (no answer, timeout, 429, 5xx)."""
    target = http_target(url, option)
    body = msgspec.json.encode(payload)
    headers = {"Content-Type": "application/json", "User-Agent": "dbt-assets", **target.auth}
    opener = urllib.request.build_opener(_SameOriginRedirects())
    error = ""
    attempts = 0
    for attempt in range(retries + 1):
        attempts = attempt + 1
        request = urllib.request.Request(target.url, data=body, method="POST", headers=headers)
        try:
            with opener.open(request, timeout=timeout) as answer:
                answer.read()
            return Delivery(target.shown, True, attempts)
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code} {exc.reason}"
            if exc.code != 429 and exc.code < 500:
                break
        except (TimeoutError, urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
            error = "timed out" if isinstance(reason, TimeoutError) else f"no answer: {reason}"
        if attempt < retries:
            time.sleep(backoff * 2**attempt)
    return Delivery(target.shown, False, attempts, redact(error, target))


class HttpTarget(msgspec.Struct, frozen=True):
    """An http(s) URL to send to: the URL without its credentials, the credentials as a
    basic Authorization header, and the URL as it may be shown (password replaced)."""

    url: str
    shown: str
    auth: dict[str, str]
    password: str | None = None


def http_target(url: str, option: str) -> HttpTarget:
    """Check ``url`` (an error naming ``option`` when it is not a usable http(s) URL) and take
    its credentials out of it."""
    try:
        parts = urllib.parse.urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise AlertError(
            f"{option} {_shown(url)!r} is not a valid URL: {exc}", "give an http(s) URL"
        ) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AlertError(f"{option} {_shown(url)!r} is not an http(s) URL", "give an http(s) URL with a host")
    host = parts.netloc.rsplit("@", 1)[-1]
    bare = urllib.parse.urlunsplit(parts._replace(netloc=host))
    auth: dict[str, str] = {}
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        secret = urllib.parse.unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{secret}".encode()).decode()
        auth = {"Authorization": f"Basic {token}"}
    return HttpTarget(bare, _shown(url), auth, parts.password)


def _shown(url: str) -> str:
    """``url`` with the password of its credentials replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.partition("@")
    if not at or "/" in userinfo:
        return url
    user, colon, _ = userinfo.partition(":")
    return f"{scheme}{sep}{user}{':***' if colon else ''}@{host}"


def redact(text: str, target: HttpTarget) -> str:
    """``text`` without the target's password (an error message may quote the URL)."""
    return text.replace(target.password, "***") if target.password else text


class _SameOriginRedirects(urllib.request.HTTPRedirectHandler):
    """Follows only a 307/308 to the same origin (which keeps the method and the body); any
    other redirect is a failed delivery, reported: a POST turned into a GET without its body,
    or sent to another host, is not a delivery."""

    def redirect_request(
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        old, new = urllib.parse.urlsplit(req.full_url), urllib.parse.urlsplit(newurl)
        same_origin = (old.scheme, old.hostname, old.port) == (new.scheme, new.hostname, new.port)
        if code not in (307, 308) or not same_origin:
            where = urllib.parse.urlunsplit(new._replace(netloc=new.netloc.rsplit("@", 1)[-1]))
            raise urllib.error.HTTPError(
                req.full_url, code, f"{msg}: redirected to {where} (not followed)", headers, fp
            )
        return urllib.request.Request(
            newurl, data=req.data, method=req.get_method(), headers=dict(req.header_items())
        )


def deliver(
    results: Sequence[SlaResult],
    *,
    at: str | float,
    alert_on: Sequence[str] = ("breached",),
    command: str | None = None,
    webhook: str | None = None,
    webhook_timeout: float = 10.0,
    webhook_retries: int = 3,
    report: str | None = None,
) -> list[Delivery]:
    """Send the results whose status is in ``alert_on`` to ``command`` (once per result) and
    ``webhook`` (one POST of ``{"at", "count", "results"}``, with ``"report"`` when ``report``,
    the HTML report's path or URL, is given); how each delivery went. ``at`` is when they were
    judged: ISO 8601 text, or epoch seconds."""
    if command is not None:
        command_argv(command)  # a bad command or URL is an error even when nothing is alerted
    if webhook is not None:
        http_target(webhook, "--webhook")
    alerted = [r for r in results if r.status in set(alert_on)]
    if not alerted:
        return []
    deliveries: list[Delivery] = []
    if command is not None:
        deliveries += notify_command(command, alerted, report=report)
    if webhook is not None:
        when = at if isinstance(at, str) else iso(at)
        payload = {"at": when, "count": len(alerted), "results": alerted} | (
            {"report": report} if report else {}
        )
        deliveries.append(post_webhook(webhook, payload, timeout=webhook_timeout, retries=webhook_retries))
    return deliveries
