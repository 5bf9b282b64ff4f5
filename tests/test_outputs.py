"""Outputs never replace what is not theirs (issue 32, defect 2): every option that writes a
file the user names (report --out, export --out, sla check --report, openlineage --to,
run --report, run --openlineage) goes through one rule, dbt_assets/_core/outputs.py.

The class of input: any path (spelled absolute, relative, with ``..``, through a symlinked
folder, or as a ``file://`` URL) to a file of a dbt project, dbt-assets' own state, a
database, a directory or something that is not a regular file, given to any output option.
Each must be refused with one line naming the path, exit 2, and the thing at the path left
exactly as it was. A device or a pipe is written into; a run whose report cannot be written
exits 2 once it is recorded."""

from __future__ import annotations

import errno
import gzip
import hashlib
import json
import os
import socket
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dbt_assets._core.outputs import OutputError, output_target, write_output
from dbt_assets.history.store import History
from tests.conftest import EXAMPLE_MANIFESTS, cli

MANIFEST = json.loads(gzip.decompress(EXAMPLE_MANIFESTS[-1].read_bytes()))

# What the world holds (relative to its root), each a thing no output may replace.
PROJECT_FILES = [
    "proj/dbt_project.yml", "proj/profiles.yml", "proj/selectors.yml", "proj/dbt_assets.yml",
    "proj/packages.yml", "proj/package-lock.yml", "proj/transform/items.sql",
    "proj/transform/staging/_schema.yml", "proj/seeds/codes.csv", "proj/macros/m.sql",
    "proj/snapshots/snap.sql", "proj/tests/t.sql", "proj/analyses/a.sql", "proj/build/manifest.json",
    "proj/build/run_results.json", "proj/target/manifest.json", "proj/dbt_packages/pkg/dbt_project.yml",
    "proj/dbt_packages/pkg/models/p.sql", "proj/logs/dbt.log", "proj/docs/overview.md",
    "proj/.dbt-assets/history.db", "proj/.dbt-assets/unrecorded-run_results-x.json",
    "home/.dbt/profiles.yml",
]  # fmt: skip
DATABASES = [
    "elsewhere/history.db",
    "elsewhere/other.db",
    "elsewhere/other.db-wal",
    "elsewhere/warehouse.duckdb",
]
NOT_FILES = ["elsewhere/folder", "proj/transform", "elsewhere/socket", "elsewhere/to-project-file"]
PROTECTED = PROJECT_FILES + DATABASES + NOT_FILES


def _run_results() -> dict[str, Any]:
    timing = [
        {"name": "execute", "started_at": "2026-11-20T07:00:00Z", "completed_at": "2026-11-20T07:00:01Z"}
    ]
    return {
        "metadata": {
            "invocation_id": "outputs-1",
            "dbt_version": "1.11.16",
            "generated_at": "2026-11-20T07:00:10Z",
        },
        "args": {"which": "run"},
        "elapsed_time": 1.0,
        "results": [
            {"unique_id": "model.mini.items", "status": "success", "execution_time": 1.0, "message": None,
             "thread_id": "Thread-1", "timing": timing, "adapter_response": {}, "failures": None}
        ],
    }  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A dbt project with its paths configured away from dbt's defaults (its files, state,
    packages, logs), a history and a warehouse elsewhere, a folder, a socket, a symlink to a
    project file and a symlinked folder; the working directory while the tests run."""
    import duckdb

    root = tmp_path_factory.mktemp("outputs")
    proj = root / "proj"
    for rel in PROJECT_FILES:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(f"-- {rel}\n")
    (proj / "dbt_project.yml").write_text(
        "name: mini\nversion: '1.0'\nconfig-version: 2\nprofile: mini\n"
        "model-paths: [transform]\ntarget-path: build\ndocs-paths: [docs]\n"
    )
    (proj / "profiles.yml").write_text("mini:\n  target: dev\n  outputs:\n    dev: {type: duckdb}\n")
    (proj / "dbt_assets.yml").write_text("slas:\n  - select: items\n    freshness: 1h\n")
    (proj / "build" / "manifest.json").write_text(json.dumps(MANIFEST))
    later = time.time() + 3600
    os.utime(proj / "build" / "manifest.json", (later, later))
    (proj / ".dbt-assets" / "history.db").unlink()
    (root / "run_results.json").write_text(json.dumps(_run_results()))
    for history in (proj / ".dbt-assets" / "history.db", root / "elsewhere" / "history.db"):
        History.open(history).close()
        done = cli("history", "--history", str(history), "import", str(root / "run_results.json"))
        assert done.exit_code == 0, done.output  # a run to send OpenLineage events of
    sqlite3.connect(root / "elsewhere" / "other.db").execute("create table t (x)").connection.close()
    (root / "elsewhere" / "other.db-wal").write_bytes(b"\x00" * 32)  # as if beside an open database
    duckdb.connect(str(root / "elsewhere" / "warehouse.duckdb")).close()
    (root / "elsewhere" / "folder").mkdir()
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(root / "elsewhere" / "socket"))
    (root / "elsewhere" / "to-project-file").symlink_to(proj / "dbt_project.yml")
    (root / "alias").symlink_to(proj, target_is_directory=True)
    before = Path.cwd()
    os.chdir(root)
    yield root
    os.chdir(before)
    listening.close()


MANIFEST_PATH = "proj/build/manifest.json"
HISTORY = "elsewhere/history.db"
CHANNELS: dict[str, Callable[[str], tuple[str, ...]]] = {
    "report --out": lambda out: ("report", "--manifest", MANIFEST_PATH, "--history", HISTORY, "--out", out),
    "export --out": lambda out: ("export", "--manifest", MANIFEST_PATH, "--out", out),
    "sla check --report": lambda out: (
        "sla",
        "check",
        "--manifest",
        MANIFEST_PATH,
        "--history",
        HISTORY,
        "--report",
        out,
    ),
    "openlineage --to": lambda out: (
        "openlineage",
        "--manifest",
        MANIFEST_PATH,
        "--history",
        HISTORY,
        "--to",
        out,
    ),
    "run --report": lambda out: ("run", "--project-dir", "proj", "-s", "items", "--report", out),
    "run --openlineage": lambda out: ("run", "--project-dir", "proj", "-s", "items", "--openlineage", out),
}


def _spellings(world: Path, rel: str) -> list[str]:
    """Ways to name ``world/rel``: absolute, relative, with ``..``, through the symlinked
    folder, as a file:// URL."""
    spelled = [str(world / rel), rel, f"elsewhere/../{rel}", f"./{rel}"]
    if rel.startswith("proj/"):
        spelled.append("alias/" + rel.removeprefix("proj/"))
    return spelled


def _state(path: Path) -> tuple[Any, ...]:
    """What must not change: the entry itself (type, inode, size, times), what it points
    to, its bytes, and the names beside it."""
    entry = path.lstat()
    target = path.stat()
    data = hashlib.sha256(path.read_bytes()).hexdigest() if stat.S_ISREG(target.st_mode) else None
    beside = sorted(p.name for p in path.parent.iterdir() if not p.name.endswith(("-wal", "-shm")))
    return (entry.st_mode, entry.st_ino, entry.st_mtime_ns, target.st_ino, target.st_size, data, beside)


@pytest.mark.unit
@settings(
    max_examples=250,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
@given(
    rel=st.sampled_from(PROTECTED),
    channel=st.sampled_from(sorted(CHANNELS)),
    spelling=st.integers(0, 5),
    url=st.booleans(),
)
def test_an_output_never_replaces_what_is_not_its_own(
    world: Path, rel: str, channel: str, spelling: int, url: bool
) -> None:
    spelled = _spellings(world, rel)
    given_path = spelled[spelling % len(spelled)]
    if url and "openlineage" in channel:
        given_path = "file://" + quote(str(world / rel))
    before = _state(world / rel)
    result = cli(*CHANNELS[channel](given_path))
    after = _state(world / rel)
    assert after == before, f"{channel} {given_path} changed {rel}"
    assert result.exit_code == 2, (channel, given_path, result.exit_code, result.output)
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.stderr
    named = given_path if not given_path.startswith("file://") else given_path.removeprefix("file://")
    assert named in errors[0] or given_path in errors[0], errors[0]


@pytest.mark.unit
def test_devices_and_pipes_are_written_into(world: Path, capfd: pytest.CaptureFixture[str]) -> None:
    """A null device stays a device (a node of our own, made like /dev/null, where the
    machine lets us: a regression must not replace the machine's); a FIFO's reader gets the
    document; /dev/stdout is this process's standard output (not a file put in its place)."""
    null = world / "elsewhere" / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except OSError:
        null = Path("/dev/null")  # the export below opens it; neither command may replace it
    before = null.stat()
    for command in ("export", "report"):
        done = cli(command, "--manifest", MANIFEST_PATH, "--out", str(null))
        assert done.exit_code == 0, done.output
        after = null.stat()
        assert stat.S_ISCHR(after.st_mode) and (after.st_ino, after.st_rdev) == (
            before.st_ino,
            before.st_rdev,
        )
        if null == Path("/dev/null"):
            break

    fifo = world / "elsewhere" / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    done = cli("export", "--manifest", MANIFEST_PATH, "--out", str(fifo))
    reader.join(10)
    assert done.exit_code == 0 and stat.S_ISFIFO(fifo.lstat().st_mode), done.output
    assert json.loads(received[0])["assets"], "the reader got the whole document"

    capfd.readouterr()
    done = cli("export", "--manifest", MANIFEST_PATH, "--out", "/dev/stdout")
    assert done.exit_code == 0, done.output
    assert json.loads(capfd.readouterr().out)["assets"]


@pytest.mark.unit
def test_own_files_are_replaced_whole_and_links_followed(world: Path) -> None:
    """A report beside the project's files, in a new folder, over an older report (its mode
    kept), through a symlink (the link stays, the file it names is replaced); OpenLineage
    events to a file:// URL land at its path, not in a folder named ``file:``."""
    new = world / "proj" / "reports" / "new" / "report.html"
    done = cli("report", "--manifest", MANIFEST_PATH, "--out", str(new))
    assert done.exit_code == 0 and new.read_text().startswith("<!"), done.output
    new.chmod(0o640)
    done = cli("report", "--manifest", MANIFEST_PATH, "--out", str(new))
    assert done.exit_code == 0 and stat.S_IMODE(new.stat().st_mode) == 0o640
    link = world / "elsewhere" / "latest.html"
    link.symlink_to(new)
    new.write_text("old")
    done = cli("report", "--manifest", MANIFEST_PATH, "--out", str(link))
    assert done.exit_code == 0 and link.is_symlink() and new.read_text().startswith("<!")
    assert not list(new.parent.glob("*.partial")), "no temporary file left"

    events = world / "elsewhere" / "lineage dir" / "events.jsonl"
    target = "file://" + quote(str(events))
    done = cli("openlineage", "--manifest", MANIFEST_PATH, "--history", HISTORY, "--to", target)
    assert done.exit_code == 0, done.output
    assert all(json.loads(line)["eventType"] for line in events.read_text().splitlines())
    assert not (world / "file:").exists() and not Path("file:").exists()
    refused = cli(
        "openlineage", "--manifest", MANIFEST_PATH, "--history", HISTORY, "--to", "kafka://broker/t"
    )
    assert refused.exit_code == 2 and "kafka://" in refused.stderr


@pytest.mark.unit
@pytest.mark.parametrize("append", [False, True], ids=["replace", "append"])
def test_a_full_disk_leaves_the_file_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, append: bool
) -> None:
    """ENOSPC half-way through the write (fault injected at os.write): an error naming the
    file, and the file as it was, with nothing beside it."""
    path = tmp_path / "events.jsonl"
    path.write_text("kept\n")
    real_write = os.write
    calls = []

    def full(fd: int, data: Any) -> int:
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, bytes(data[: len(data) // 2]))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OutputError, match="No space left on device") as raised:
        write_output(path, "x" * 10_000, option="--out", append=append)
    monkeypatch.undo()
    assert str(path) in raised.value.message
    assert path.read_text() == "kept\n" and sorted(p.name for p in tmp_path.iterdir()) == ["events.jsonl"]


@pytest.mark.unit
def test_the_rule_is_one_function(world: Path) -> None:
    """What each kind of path is (the decision every option above takes)."""
    assert output_target("/dev/null", "--out").into
    assert output_target("/dev/stdout", "--out").descriptor == 1
    assert not output_target(world / "proj" / "report.html", "--out").into
    for rel in PROTECTED:
        with pytest.raises(OutputError):
            output_target(world / rel, "--out")


@pytest.mark.slow
def test_a_run_refuses_a_project_file_and_reports_what_it_could_not_write(built_project: Path) -> None:
    """Real dbt: `run --report dbt_project.yml` (or under a file) is refused before dbt starts
    (nothing run, nothing recorded, the file intact); a run whose report cannot be written
    when it ends (a folder that cannot be made) is recorded as dbt ran it and exits 2 saying
    so, and its OpenLineage events go to the file:// URL's path."""
    project_file = built_project / "dbt_project.yml"
    text = project_file.read_bytes()
    history = built_project / ".dbt-assets" / "history.db"
    earlier = _runs(history)  # the build that made the project
    blocker = built_project / "not-a-folder"
    blocker.write_text("")
    for report in (project_file, blocker / "report.html"):
        refused = cli("run", "--project-dir", str(built_project), "-s", "stg_orders", "--report", str(report))
        assert refused.exit_code == 2 and str(report) in refused.stderr, refused.output
        assert "dbt_started" not in refused.output and project_file.read_bytes() == text
    assert _runs(history) == earlier, "nothing ran"

    unwritable = "/proc/dbt-assets-no-such-folder/report.html"  # passes the check, cannot be made
    lineage = built_project.parent / "lineage" / "events.jsonl"
    done = cli(
        "run", "--project-dir", str(built_project), "-s", "stg_orders",
        "--report", unwritable, "--openlineage", f"file://{lineage}",
    )  # fmt: skip
    assert done.exit_code == 2, done.output
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and unwritable in errors[0], done.stderr
    runs = _runs(history)[: -len(earlier)]
    assert [(r.status, r.exit_code) for r in runs] == [("success", 0)], "recorded as dbt ran it"
    assert lineage.read_text().count("\n") >= 4 and not (built_project / "file:").exists()


def _runs(history: Path) -> list[Any]:
    with History.open(history, create=False) as opened:
        return list(opened.runs(None))
