"""The first hour in a real terminal: tmux runs a shell in a 100-column pseudo-terminal, the
test types the commands a new user would, and asserts on what the screen shows: a fresh
project, `ls`, a first run that fails (and said so before it started), `why`, the suggested
fix typed as printed, the retry that then succeeds, `sla check`, and Ctrl-C during a run."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("tmux") is None, reason="tmux missing (python3 dev.py setup installs it)"
    ),
]

SLOW_SQL = "{{ config(materialized='table') }}\nselect sum(hash(a)) as n from range(300000000000) t(a)\n"


class Terminal:
    """A shell in a detached tmux session of its own server (100 x 50)."""

    def __init__(self, cwd: Path) -> None:
        self.socket = f"dbt-assets-test-{os.getpid()}-{time.monotonic_ns()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TMUX", "PYTEST", "COV_"))}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        self._tmux(
            "new-session", "-d", "-x", "100", "-y", "50", "-c", str(cwd), "bash --norc --noprofile", env=env
        )
        self._tmux("set-option", "-g", "history-limit", "20000")
        self.count = 0

    def _tmux(self, *args: str, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            env=env,
            check=True,
            timeout=30,
        )
        return done.stdout

    def screen(self) -> str:
        """Everything the terminal showed, wrapped lines joined (not the blank rows below)."""
        return self._tmux("capture-pane", "-p", "-J", "-S", "-").rstrip()

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-l", text)
        self._tmux("send-keys", "Enter")

    def run(self, command: str, timeout: float = 240) -> tuple[int, str]:
        """Type ``command``, wait for it to end; its exit code and what it showed."""
        self.count += 1
        before = len(self.screen().splitlines())
        self.type(f'{command}; echo "__done_""{self.count}__ $?"')  # the echoed line does not match
        return self.wait_done(before, timeout)

    def wait_done(self, before: int, timeout: float = 240) -> tuple[int, str]:
        pattern = re.compile(rf"^__done_{self.count}__ (\d+)$", re.MULTILINE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if found := pattern.search(screen):
                shown = "\n".join(screen.splitlines()[before:])
                return int(found[1]), shown[: shown.rindex(found[0])]
            time.sleep(0.2)
        raise AssertionError(f"no end of command {self.count} in {timeout} s; the screen:\n{self.screen()}")

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.screen():
            assert time.monotonic() < deadline, f"{text!r} never shown; the screen:\n{self.screen()}"
            time.sleep(0.2)

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)


@pytest.fixture
def terminal(parsed_project: Path) -> Iterator[Terminal]:
    (parsed_project / "models/slow_sql.sql").write_text(SLOW_SQL)
    (parsed_project / "models/after_slow.sql").write_text("select * from {{ ref('slow_sql') }}\n")
    shell = Terminal(parsed_project)
    try:
        yield shell
    finally:
        shell.close()


def test_the_first_hour(terminal: Terminal, parsed_project: Path) -> None:
    code, shown = terminal.run("dbt-assets ls -s +orders")
    assert code == 0, shown
    assert "running `dbt parse`" in shown, "a changed project is parsed first, and said so"
    assert "shop.staging.stg_orders" in shown and "shop.raw_orders" in shown

    # The first run on a never-built project: said before it starts, then advice that works.
    code, shown = terminal.run("dbt-assets run -s orders")
    assert code == 1, shown
    before_run = shown[: shown.index("dbt run for")]
    assert (
        "int_order_items, stg_orders, stg_payments never succeeded here and are not in the warehouse"
        in before_run
    )
    assert (
        "this run will fail on them; first: dbt-assets build -s raw_orders raw_payments, then" in before_run
    )
    assert "ERROR  model orders" in shown and "Table with name stg_orders does not exist" in shown
    advice = re.search(r"^Next: upstream assets were never built here; build them first: (.+)$", shown, re.M)
    assert advice, shown
    assert "Next: then re-run what did not succeed: dbt-assets retry 1" in shown
    assert "this run's 1 failed or skipped asset: 1 has SLAs" in shown, (
        "the SLA line says what the failure did"
    )

    code, shown = terminal.run("dbt-assets why orders")
    assert code == 0 and "the asset itself is the cause" not in shown, shown
    assert "never succeeded here" in shown and "is missing from the warehouse (dbt said so)" in shown
    assert "fix: dbt-assets build -s +stg_" in shown
    causes = json.loads(cli("why", "--project-dir", str(parsed_project), "orders", "-o", "json").stdout)[
        "causes"
    ]
    assert {c["unique_id"] for c in causes} >= {"model.shop.stg_orders"} and all(c["fix"] for c in causes)

    for command in advice[1].split(", then "):  # typed as printed
        code, shown = terminal.run(command)
        assert code == 0, shown
    code, shown = terminal.run("dbt-assets retry 1")
    assert code == 0 and "success (exit 0)" in shown, shown
    assert "never succeeded here" not in shown, "nothing is missing any more: no warning"

    code, shown = terminal.run("dbt-assets sla check")
    assert code == 0 and "SLAs as of" in shown, shown
    assert max(len(line) for line in shown.splitlines()) <= 100

    # Ctrl-C during a run: dbt is stopped, the run recorded as cancelled, exit 130.
    terminal.count += 1
    before = len(terminal.screen().splitlines())
    terminal.type(f'dbt-assets run -s slow_sql after_slow --threads 1; echo "__done_""{terminal.count}__ $?"')
    terminal.wait_for("running slow_sql")
    time.sleep(1.0)  # the query runs
    terminal._tmux("send-keys", "C-c")
    code, shown = terminal.wait_done(before)
    assert code == 130, shown
    assert "SIGINT: stopping dbt" in shown
    assert "CANCELLED model slow_sql" in shown, "cancelled, not failed"
    assert "Not reached (the run stopped before dbt started them): model after_slow" in shown
    assert "Failures:" not in shown
    assert "Traceback" not in terminal.screen()
    newest = cli("history", "--project-dir", str(parsed_project), "--limit", "1", "-o", "json").stdout
    assert json.loads(newest.splitlines()[0])["status"] == "cancelled"
    status_lines = [line for line in terminal.screen().splitlines() if " done · " in line]
    assert status_lines and max(map(len, status_lines)) < 100, "the live status line never wraps"
