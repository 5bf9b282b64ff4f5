"""Alerts: the webhook against a local HTTP server on 127.0.0.1 (answering, down, slow,
failing, flaky), and both alert kinds through `dbt-assets sla check`."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from dbt_assets._core.errors import AlertError
from dbt_assets.history.store import History
from dbt_assets.run.events import AssetFinished
from dbt_assets.sla.alerts import post_webhook

from .conftest import cli


class Hook(BaseHTTPRequestHandler):
    """/ok answers 200; /down500 always 500; /flaky 500 twice then 200; /slow sleeps 2 s;
    /gone 404. Every request body is kept, per path."""

    received: ClassVar[dict[str, list[bytes]]] = {}
    authorization: ClassVar[list[str | None]] = []
    redirects: ClassVar[dict[str, tuple[int, str]]] = {}
    """path -> (code, Location) answered instead of 200."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        seen = self.received.setdefault(self.path, [])
        seen.append(body)
        self.authorization.append(self.headers.get("Authorization"))
        if self.path in self.redirects:
            code, location = self.redirects[self.path]
            self.send_response(code)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/slow":
            time.sleep(2)
        code = {"/ok": 200, "/down500": 500, "/gone": 404, "/slow": 200}.get(self.path, 200)
        if self.path == "/flaky":
            code = 500 if len(seen) <= 2 else 200
        try:
            self.send_response(code)
            self.end_headers()
            self.wfile.write(b"{}")
        except BrokenPipeError:  # /slow: the client gave up waiting, as it should
            pass

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    Hook.received, Hook.authorization, Hook.redirects = {}, [], {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


PAYLOAD = {"results": [{"unique_id": "model.p.a", "status": "breached"}]}


@pytest.mark.unit
def test_delivered(server: str) -> None:
    delivery = post_webhook(f"{server}/ok", PAYLOAD, backoff=0.01)
    assert delivery.ok and delivery.attempts == 1
    assert [json.loads(b) for b in Hook.received["/ok"]] == [PAYLOAD]


@pytest.mark.unit
def test_server_answering_500_is_retried_then_reported(server: str) -> None:
    delivery = post_webhook(f"{server}/down500", PAYLOAD, retries=2, backoff=0.01)
    assert not delivery.ok and delivery.attempts == 3 and delivery.error == "HTTP 500 Internal Server Error"
    assert len(Hook.received["/down500"]) == 3


@pytest.mark.unit
def test_flaky_server_gets_it_on_the_third_try(server: str) -> None:
    delivery = post_webhook(f"{server}/flaky", PAYLOAD, retries=3, backoff=0.01)
    assert delivery.ok and delivery.attempts == 3


@pytest.mark.unit
def test_client_errors_are_not_retried(server: str) -> None:
    delivery = post_webhook(f"{server}/gone", PAYLOAD, retries=3, backoff=0.01)
    assert not delivery.ok and delivery.attempts == 1 and "404" in str(delivery.error)


@pytest.mark.unit
def test_slow_server_times_out(server: str) -> None:
    started = time.monotonic()
    delivery = post_webhook(f"{server}/slow", PAYLOAD, timeout=0.3, retries=1, backoff=0.01)
    assert not delivery.ok and delivery.attempts == 2 and delivery.error == "timed out"
    assert time.monotonic() - started < 1.9, "did not wait for the server's answer"


@pytest.mark.unit
def test_server_down() -> None:
    delivery = post_webhook(f"http://127.0.0.1:{closed_port()}/hook", PAYLOAD, retries=1, backoff=0.01)
    assert not delivery.ok and delivery.attempts == 2 and "no answer" in str(delivery.error)


@pytest.mark.unit
def test_not_a_url() -> None:
    with pytest.raises(AlertError, match="not an http"):
        post_webhook("ftp://example/hook", PAYLOAD)


@pytest.fixture
def breaching(shop_project: Path, tmp_path: Path) -> tuple[Path, Path]:
    """The fixture with `orders` failing once in its history and max_failures 0."""
    project = Path(shutil.copytree(shop_project, tmp_path / "project"))
    (project / "dbt_assets.yml").write_text("slas:\n  - select: orders\n    max_failures: 0\n")
    history = tmp_path / "history.db"
    with History.open(history) as opened:
        run_id = opened.start_run(command="run", argv=[], unique_ids=["model.shop.orders"], started_at=100.0)
        opened.record_result(
            run_id,
            AssetFinished(unique_id="model.shop.orders", status="error", started_at=100.0, finished_at=101.0),
        )
        opened.finish_run(run_id, status="failed", exit_code=1, finished_at=102.0)
    return project, history


def test_sla_check_posts_breaches(server: str, breaching: tuple[Path, Path]) -> None:
    project, history = breaching
    args = ["sla", "check", "orders", "--project-dir", str(project), "--history", str(history), "-o", "json"]
    result = cli(*args, "--webhook", f"{server}/ok")
    assert result.exit_code == 1
    posted = json.loads(Hook.received["/ok"][0])
    assert posted["count"] == 1 and posted["results"] == [json.loads(result.stdout)]
    assert posted["results"][0]["sla"] == "max_failures"
    failed = cli(*args, "--webhook", f"{server}/down500", "--webhook-retries", "1")
    assert failed.exit_code == 2
    assert "alert not delivered to" in failed.stderr and "after 2 attempt(s): HTTP 500" in failed.stderr
    assert json.loads(failed.stdout)["status"] == "breached", "the results are printed all the same"
    quiet = cli(*args, "--webhook", f"{server}/ok", "--alert-on", "warn")
    assert quiet.exit_code == 1 and len(Hook.received["/ok"]) == 1, "nothing in warn: nothing posted"


def _other_server() -> tuple[ThreadingHTTPServer, str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd, f"http://127.0.0.1:{httpd.server_address[1]}"


@pytest.mark.unit
@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_is_a_failed_delivery(server: str, code: int) -> None:
    other, other_url = _other_server()
    try:
        Hook.redirects["/moved"] = (code, f"{other_url}/ok")
        delivery = post_webhook(f"{server}/moved", PAYLOAD, retries=0)
    finally:
        other.shutdown()
        other.server_close()
    assert not delivery.ok
    assert f"redirected to {other_url}/ok (not followed)" in (delivery.error or "")
    assert "/ok" not in Hook.received, "nothing was sent to the other origin"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("code", "followed"), [(301, False), (302, False), (303, False), (307, True), (308, True)]
)
def test_same_origin_redirects_keep_the_post_or_fail(server: str, code: int, followed: bool) -> None:
    Hook.redirects["/moved"] = (code, f"{server}/ok")
    delivery = post_webhook(f"{server}/moved", PAYLOAD, retries=0)
    assert delivery.ok is followed
    if followed:
        assert json.loads(Hook.received["/ok"][0]) == PAYLOAD, "the body went along, as a POST"
    else:
        assert "/ok" not in Hook.received


@pytest.mark.unit
def test_credentials_in_the_url_are_sent_as_basic_auth_and_never_shown(server: str) -> None:
    host = server.removeprefix("http://")
    delivery = post_webhook(f"http://alert%40x:s3cret@{host}/ok", PAYLOAD, retries=0)
    assert delivery.ok and Hook.authorization == ["Basic YWxlcnRAeDpzM2NyZXQ="]  # alert@x:s3cret
    assert "s3cret" not in delivery.target and delivery.target.endswith(f"alert%40x:***@{host}/ok")
    failed = post_webhook(f"http://u:s3cret@127.0.0.1:{closed_port()}/ok", PAYLOAD, retries=0)
    assert not failed.ok and "s3cret" not in f"{failed.target} {failed.error}"


@pytest.mark.unit
@pytest.mark.parametrize(
    "url", ["http://[::1", "http://host:99999/", "ftp://host/x", "http://", "http://u:s3cret@[bad/"]
)
def test_malformed_urls_are_a_clean_error(url: str) -> None:
    with pytest.raises(AlertError) as err:
        post_webhook(url, PAYLOAD, retries=0)
    assert "--webhook" in err.value.message and "s3cret" not in err.value.message


def test_a_notify_command_that_hangs_is_stopped_with_its_children(tmp_path: Path) -> None:
    from dbt_assets.sla.alerts import notify_command
    from dbt_assets.sla.judge import SlaResult

    pidfile = tmp_path / "child.pid"
    command = f"sh -c 'sleep 60 & echo $! > {pidfile}; wait'"
    result = SlaResult(
        "model.p.a", "deadline", "breached", "error", None, None, "late", "2026-11-30T07:00:00Z"
    )
    started = time.monotonic()
    (delivery,) = notify_command(command, [result], timeout=0.5)
    assert not delivery.ok and "did not finish within 0.5s" in (delivery.error or "")
    assert time.monotonic() - started < 5
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2], (
        "the command's child was killed with it"
    )


@pytest.mark.parametrize(
    ("option", "value"),
    [("--notify-command", ""), ("--notify-command", "'unclosed"), ("--webhook", "http://[::1")],
)
def test_bad_alert_targets_are_errors_even_when_nothing_is_alerted(
    shop_manifest: Path, tmp_path: Path, option: str, value: str
) -> None:
    project = shop_manifest.parent.parent
    History.open(tmp_path / "h.db").close()
    result = cli(
        "sla", "check", "--project-dir", str(project), "--history", str(tmp_path / "h.db"), option, value
    )
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") and option in result.stderr
