"""A dbt kept warm (dbt_assets/run/worker*.py): finding dbt's Python, what a kept manifest is
kept for, a kept manifest as dbt parsed it, the warehouse left to others between runs, the
memory cap, turning workers off, and the `dbt-assets worker` socket (its modes, who may use
it, --status and --stop). The same answers as the CLI: test_worker_differential.py; 200 runs
in a row: test_worker_soak.py; cancel, kill and crashes: test_worker_faults.py."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import socket
import stat
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbt_assets._core.errors import RunError
from dbt_assets.api import open_history, open_worker, running_worker, start_run
from dbt_assets.history.freshness import record_source_freshness
from dbt_assets.history.schema import process_alive
from dbt_assets.run import worker_child, worker_child_artifacts
from dbt_assets.run.dbt_cli import find_dbt
from dbt_assets.run.project import Project
from dbt_assets.run.worker import NO_WARM_ENV, Worker, warm_disabled
from dbt_assets.run.worker_process import dbt_python
from dbt_assets.run.worker_server import WorkerServer, serve
from dbt_assets.run.worker_socket import DIR_ENV, connect, socket_path

from .conftest import assert_ran_with, cli, run_dbt


@pytest.fixture(autouse=True)
def worker_dir(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Workers' sockets in a private folder of the test's own (short: a socket's path is at
    most about 100 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="dbtw-"))
    monkeypatch.setenv(DIR_ENV, str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def serving(project: Path, **kwargs: Any) -> Iterator[tuple[WorkerServer, Worker]]:
    """``dbt-assets worker`` for ``project``, served from a thread of this process."""
    found: list[Any] = []
    ready = threading.Event()

    def serve_it() -> None:
        try:
            serve(
                Project(project),
                ready=lambda _path, worker: found.append(worker),
                stopper=found.append,
                **kwargs,
            )
        except BaseException as exc:
            found.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=serve_it, daemon=True)
    thread.start()
    for _ in range(1800):  # until ready (or failed): at most 3 minutes
        if len(found) >= 2 or ready.is_set():
            break
        ready.wait(0.1)
    errors = [f for f in found if isinstance(f, BaseException)]
    if errors:
        raise errors[0]
    server, worker = found[0], found[1]
    try:
        yield server, worker
    finally:
        server.stop()
        thread.join(60)


# --- the unit tier ----------------------------------------------------------------------------


@pytest.mark.unit
def test_dbt_python_reads_every_form_of_a_dbt_script(tmp_path: Path) -> None:
    python = sys.executable
    forms = {
        f"#!{python}\nfrom dbt.cli.main import cli\n": python,
        "#!/usr/bin/env python3\nimport sys\n": shutil.which("python3"),
        f"#!/bin/sh\n'''exec' \"{python}\" \"$0\" \"$@\"\n' '''\nimport sys\n": python,
        f"#!/bin/sh\n'''exec' {python} \"$0\" \"$@\"\n' '''\n": python,
        '#!/bin/sh\nexec /opt/dbt/bin/dbt-fusion "$@"\n': None,
        "\x7fELF\x02\x01\x01 a binary": None,
        f"#!{tmp_path / 'gone' / 'python3'}\n": None,
        "": None,
    }
    for number, (text, expected) in enumerate(forms.items()):
        script = tmp_path / f"dbt{number}"
        script.write_text(text)
        assert dbt_python(str(script)) == expected, text
    assert dbt_python(str(tmp_path / "absent")) is None
    assert os.path.realpath(dbt_python(find_dbt()) or "") == os.path.realpath(python)


@pytest.mark.unit
@pytest.mark.parametrize(
    ("value", "off"),
    [("", False), ("0", False), ("false", False), ("1", True), ("yes", True), ("TRUE", True)],
)
def test_warm_workers_are_turned_off_by_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str, off: bool
) -> None:
    monkeypatch.setenv(NO_WARM_ENV, value)
    assert warm_disabled() is off


RUNTIME_ONLY = st.lists(
    st.sampled_from(
        [
            ["--select", "orders"], ["-s", "stg_orders", "customers+"], ["--exclude", "tag:x"],
            ["--threads", "3"], ["--full-refresh"], ["--fail-fast"], ["--log-format", "json"],
            ["--log-level", "debug"], ["--defer"], ["--state", "/tmp/state"], ["--favor-state"],
            ["--indirect-selection", "empty"], ["--empty"], ["--no-write-json"],
        ]
    ),
    max_size=4,
)  # fmt: skip
PARSE_OPTIONS = st.fixed_dictionaries(
    {
        "target": st.sampled_from([None, "dev", "ci"]),
        "vars": st.sampled_from([None, "{multiplier: 3}", "{multiplier: 4}", "{a: [1, 2]}"]),
        "profile": st.sampled_from([None, "shop", "other"]),
        "project": st.sampled_from(["one", "two"]),
    }
)


PROJECTS = Path(tempfile.mkdtemp(prefix="dbt-assets-keys-"))
"""Folders for the keys' --project-dir (dbt checks that it exists)."""


def _argv(command: str, parse: dict[str, Any], runtime: list[list[str]]) -> list[str]:
    folder = PROJECTS / parse["project"]
    folder.mkdir(exist_ok=True)
    argv = [command, "--project-dir", str(folder), "--profiles-dir", str(folder)]
    for flag in ("target", "vars", "profile"):
        argv += [f"--{flag}", parse[flag]] if parse[flag] is not None else []
    skip = {"seed": {"--empty"}, "test": {"--empty", "--full-refresh"}, "snapshot": {"--full-refresh"}}
    for words in runtime:
        if command == "parse" and words[0] not in ("--log-format", "--log-level", "--threads"):
            continue
        if words[0] not in skip.get(command, set()):
            argv += words
    return argv


@pytest.mark.unit
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=PARSE_OPTIONS,
    second=PARSE_OPTIONS,
    runtime=RUNTIME_ONLY,
    other_runtime=RUNTIME_ONLY,
    commands=st.tuples(*[st.sampled_from(["run", "build", "test", "seed", "snapshot", "parse"])] * 2),
)
def test_a_kept_manifest_is_kept_for_exactly_what_changes_parsing(
    first: dict[str, Any],
    second: dict[str, Any],
    runtime: list[list[str]],
    other_runtime: list[list[str]],
    commands: tuple[str, str],
) -> None:
    """Two invocations share a manifest exactly when their target, vars, profile and project
    are the same, whatever their command and run-time flags (a parse's manifest serves the runs
    after it; a --vars or --target of one never reaches the other)."""
    from dbt.cli.main import cli as dbt_cli

    one = worker_child.manifest_key(dbt_cli, _argv(commands[0], first, runtime))
    two = worker_child.manifest_key(dbt_cli, _argv(commands[1], second, other_runtime))
    assert one is not None and two is not None
    same = {k: (v or None) for k, v in first.items()} == {k: (v or None) for k, v in second.items()}
    assert (one == two) is same


@pytest.mark.unit
def test_a_kept_manifest_follows_the_environment_it_was_parsed_in(monkeypatch: pytest.MonkeyPatch) -> None:
    from dbt.cli.main import cli as dbt_cli

    argv = ["run", "--project-dir", str(PROJECTS), "--profiles-dir", str(PROJECTS)]
    key = worker_child.manifest_key(dbt_cli, argv)
    assert key is not None
    monkeypatch.setenv("DBT_TARGET_PATH", "elsewhere")  # dbt's own variables are part of the key
    assert worker_child.manifest_key(dbt_cli, argv) != key
    monkeypatch.delenv("DBT_TARGET_PATH")
    monkeypatch.setenv("DBT_ENV_CUSTOM_ENV_RUN", "42")  # run metadata is not
    assert worker_child.manifest_key(dbt_cli, argv) == key
    assert worker_child.manifest_key(dbt_cli, ["ls"]) is None
    assert worker_child.manifest_key(dbt_cli, ["run", "--no-such-flag"]) is None

    kept = worker_child.Manifests()
    manifest = {"nodes": ["model.shop.orders"]}
    monkeypatch.setenv("SHOP_SCHEMA", "main")
    monkeypatch.delenv("SHOP_DEFAULTED", raising=False)
    kept.keep(
        "k", pickle.dumps(manifest), {"SHOP_SCHEMA": "main", "SHOP_DEFAULTED": worker_child.PLACEHOLDER}
    )
    first, second = kept.take("k"), kept.take("k")
    assert first == second == manifest and first is not second, "each use gets a copy of its own"
    monkeypatch.setenv("SHOP_DEFAULTED", "set now")  # read with its default while parsing
    assert kept.take("k") is None and kept.take("k") is None, "dropped: parsed again"
    kept.keep("k", pickle.dumps(manifest), {"SHOP_SCHEMA": "main"})
    monkeypatch.setenv("SHOP_SCHEMA", "other")
    assert kept.take("k") is None
    for number in range(worker_child.KEPT + 1):
        kept.keep(str(number), pickle.dumps(number), {})
    assert kept.take("0") is None and kept.take(str(worker_child.KEPT)) == worker_child.KEPT


@pytest.mark.unit
def test_the_next_copy_is_made_while_idle_and_only_of_what_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    unpickled: list[bytes] = []
    loads = pickle.loads
    monkeypatch.setattr(worker_child.pickle, "loads", lambda blob: (unpickled.append(blob), loads(blob))[1])
    kept = worker_child.Manifests()
    manifest, other = {"nodes": ["model.shop.orders"]}, {"nodes": ["model.shop.customers"]}
    kept.make_ahead()  # nothing kept: nothing made
    kept.keep("k", pickle.dumps(manifest), {})
    kept.make_ahead()
    kept.make_ahead()  # one copy waits at a time
    assert len(unpickled) == 1
    first = kept.take("k")
    assert first == manifest and len(unpickled) == 1, "the invocation took the copy made ahead"
    second = kept.take("k")
    assert second == manifest and second is not first and len(unpickled) == 2, "a copy serves one use"
    kept.make_ahead()
    kept.keep("k", pickle.dumps(other), {})  # parsed again: the copy made ahead is of the old one
    assert kept.take("k") == other
    monkeypatch.setenv("SHOP_SCHEMA", "main")
    kept.keep("e", pickle.dumps(manifest), {"SHOP_SCHEMA": "main"})
    kept.make_ahead()
    monkeypatch.setenv("SHOP_SCHEMA", "other")
    assert kept.take("e") is None, "a copy made ahead is taken only as a kept manifest is"
    monkeypatch.setattr(worker_child, "AHEAD_MAX_BYTES", 0)
    del unpickled[:]
    kept.make_ahead()
    assert unpickled == [], "too big to hold twice: copied when taken"
    assert kept.take("k") == other and len(unpickled) == 1


class Cycle:
    """An object in a reference cycle (only the collector frees it), that pickles."""

    def __init__(self) -> None:
        self.me = self


@pytest.mark.unit
def test_what_the_child_imported_is_left_out_of_the_collectors_passes() -> None:
    """The child freezes what is alive once dbt is imported, and again after a run that
    imported modules (a full pass of the collector walked it all, about 0.2 s, every few runs).
    The manifest copy made ahead is dropped before a freeze: frozen, it would never be
    collected. What is made later, a cycle included, is collected as before."""
    import gc
    import weakref

    kept = worker_child.Manifests()
    kept.keep("k", pickle.dumps(Cycle()), {})
    kept.make_ahead()
    assert kept._ahead is not None
    ahead = weakref.ref(kept._ahead[1])
    try:
        assert worker_child.freeze_imports(kept) == len(sys.modules) and gc.get_freeze_count() > 0
        assert kept._ahead is None and ahead() is None, "the copy made ahead is gone, not frozen"
        made = Cycle()
        gone = weakref.ref(made)
        del made
        gc.collect()
        assert gone() is None, "what is made after the freeze is collected"
    finally:
        gc.unfreeze()


@pytest.mark.unit
def test_the_child_makes_each_json_log_line_once_for_dbts_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``--log-format json`` dbt's file log is JSON too: the child formats an event once
    and writes the same line to stdout and dbt.log (formatting twice cost about 15 ms of a
    one-model run's 200). What is written does not change: each line is what dbt's own
    formatter makes of that event, secrets scrubbed; a logger with another scrubber gets its
    own line."""
    import io

    from dbt_common.events import functions, logger
    from dbt_common.events.base_types import EventLevel
    from dbt_common.events.event_manager import EventManager
    from dbt_common.events.types import Note

    dbts_own = logger._JsonLogger.create_line
    monkeypatch.setattr(logger._JsonLogger, "create_line", dbts_own)  # restored after the test
    made = []
    to_dict = functions.msg_to_dict
    monkeypatch.setattr(functions, "msg_to_dict", lambda msg: made.append(msg) or to_dict(msg))
    monkeypatch.setenv("DBT_ENV_SECRET_TOKEN", "hunter2")
    worker_child.format_json_lines_once()

    streams = [io.StringIO() for _ in range(3)]
    manager, fired = EventManager(), []
    scrubbers = [functions.env_scrubber, functions.env_scrubber, str.upper]
    for stream, scrubber in zip(streams, scrubbers, strict=True):
        config = logger.LoggerConfig(
            name=f"test-{id(stream)}", line_format=logger.LineFormat.Json, level=EventLevel.DEBUG,
            scrubber=scrubber, output_stream=stream,
        )  # fmt: skip
        manager.add_logger(config)
    manager.add_callback(fired.append)
    for text in ("one", "the token is hunter2", "three"):
        manager.fire_event(Note(msg=text))
    assert len(made) == 2 * len(fired) == 6, "once for both env-scrubbed loggers, once for the other"

    lines = [stream.getvalue().splitlines() for stream in streams]
    assert lines[0] == lines[1] == [dbts_own(manager.loggers[0], msg) for msg in fired]
    assert "hunter2" not in lines[0][1] and "*****" in lines[0][1]
    assert lines[2] == [dbts_own(manager.loggers[2], msg) for msg in fired] and "HUNTER2" in lines[2][1]


@pytest.mark.unit
def test_a_manifest_written_after_the_answer_is_written_whole_dated_and_in_place(tmp_path: Path) -> None:
    target = Path(os.path.realpath(tmp_path)) / "target"
    target.mkdir()
    manifest = target / "manifest.json"
    manifest.write_text('{"old": true}')
    manifest.chmod(0o640)
    shadow = tmp_path / "shadow-target"  # how a shadow project reaches the project's target
    shadow.symlink_to(target)

    def writes(content: Any) -> Any:  # as dbt writes its manifest, or fails to
        def write(path: str) -> None:
            if content is None:
                raise OSError(28, "No space left on device")
            Path(path).write_text(json.dumps(content))

        return write

    worker_child_artifacts.deferred[:] = [(writes({"new": True}), str(shadow / "manifest.json"))]
    pending, at, errors = worker_child_artifacts.begin_writes()
    shadow.unlink()  # the shadow project is gone before the manifest is written
    assert errors == [] and at is not None and manifest.read_text() == '{"old": true}'
    assert worker_child_artifacts.finish_writes(pending, at, errors) == {
        "written": [str(manifest)],
        "errors": [],
    }
    assert json.loads(manifest.read_text()) == {"new": True}
    assert manifest.stat().st_mtime_ns == at, "dated when the answer was given, as announced"
    assert stat.S_IMODE(manifest.stat().st_mode) == 0o640, "the mode of the file it replaced"
    assert [p.name for p in target.iterdir()] == ["manifest.json"], "no temporary file left"

    worker_child_artifacts.deferred[:] = [(writes(None), str(manifest))]
    said = worker_child_artifacts.finish_writes(*worker_child_artifacts.begin_writes())
    assert said["written"] == [] and "No space left on device" in said["errors"][0]
    assert json.loads(manifest.read_text()) == {"new": True}, "the manifest before it, whole"
    assert [p.name for p in target.iterdir()] == ["manifest.json"]

    worker_child_artifacts.deferred[:] = [(writes({"x": 1}), str(manifest / "manifest.json"))]  # under a file
    pending, at, errors = worker_child_artifacts.begin_writes()
    assert pending == [] and at is None and len(errors) == 1 and worker_child_artifacts.deferred == []

    gone = next(pid for pid in range(4_000_000, 1, -1) if not process_alive(pid))  # a child killed while
    (target / f".manifest.json.dbt-assets-{gone}-x1.tmp").write_text("{half")  # it wrote left this
    (target / f".manifest.json.dbt-assets-{os.getpid()}-x2.tmp").write_text("{mine")  # alive: kept
    worker_child_artifacts.deferred[:] = [(writes({"newer": True}), str(manifest))]
    pending, at, errors = worker_child_artifacts.begin_writes()
    names = sorted(p.name for p in target.iterdir())
    assert f".manifest.json.dbt-assets-{gone}-x1.tmp" not in names and len(names) == 3
    worker_child_artifacts.discard(pending)  # the child stops before it writes: nothing left of it
    assert sorted(p.name for p in target.iterdir()) == [
        f".manifest.json.dbt-assets-{os.getpid()}-x2.tmp",
        "manifest.json",
    ]


def test_dbt_writes_its_end_of_run_manifest_after_the_answer_unless_it_uploads_it(
    parsed_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a manifest dbt parsed: the end-of-run write is left for later (a parse's, or one
    dbt uploads to dbt Cloud before the invocation ends, is written at once)."""
    import importlib
    from types import SimpleNamespace

    from dbt.cli.main import dbtRunner

    done = dbtRunner().invoke(
        ["parse", "--project-dir", str(parsed_project), "--profiles-dir", str(parsed_project), "--quiet"]
    )
    runnable = importlib.import_module("dbt.task.runnable")
    graph = importlib.import_module("dbt.contracts.graph.manifest")
    flags = importlib.import_module("dbt.flags")
    monkeypatch.setattr(runnable, "write_manifest", runnable.write_manifest)  # both put back after
    monkeypatch.setattr(graph.Manifest, "writable_manifest", graph.Manifest.writable_manifest)
    worker_child_artifacts.defer_manifest_writes()
    for upload, target in ((False, tmp_path / "later"), (True, tmp_path / "uploaded")):
        target.mkdir()
        monkeypatch.setattr(
            flags, "get_flags", lambda up=upload: SimpleNamespace(UPLOAD_TO_ARTIFACTS_INGEST_API=up)
        )
        runnable.write_manifest(done.result, str(target))
        assert (target / "manifest.json").exists() == upload
        assert len(worker_child_artifacts.deferred) == 1, "the first left for later, the second not"
    pending, at, errors = worker_child_artifacts.begin_writes()
    worker_child_artifacts.finish_writes(pending, at, errors)
    later, uploaded = (
        json.loads((tmp_path / name / "manifest.json").read_text()) for name in ("later", "uploaded")
    )
    assert later["nodes"] == uploaded["nodes"] and later["metadata"] == uploaded["metadata"]


@pytest.mark.unit
def test_a_child_that_does_not_finish_writing_is_killed_not_waited_for_again() -> None:
    class Stuck:  # a warm dbt that answered and never says its manifest is written
        alive, killed, closed, pid = True, False, False, 4321

        def settled(self, timeout: float | None) -> None:
            return None  # the timeout passed

        def wait_settled(self, timeout: float | None) -> bool:
            return False

        def kill(self) -> None:
            self.killed = True

        def close(self) -> None:
            assert self.killed, "closed while alive: it would be waited for a second time"
            self.closed = True

    worker = Worker(Project(Path(__file__).parent.parent / "fixtures" / "dbt_project"), boot_timeout=0.01)
    stuck = Stuck()
    worker._child = stuck  # type: ignore[assignment]
    worker.settle()  # waits no more than the timeout, and leaves the child to the next run
    assert not stuck.killed and worker.pid is not None
    with worker._busy:
        worker._settle(stuck)  # type: ignore[arg-type]  # what the next run does first
    assert stuck.killed and stuck.closed and worker.pid is None
    assert worker.replaced == ["writing dbt's manifest did not finish"]


@pytest.mark.unit
def test_waiting_for_the_manifest_does_not_wait_for_the_run_another_thread_starts() -> None:
    class Writing:  # a warm dbt writing the last run's manifest
        alive = True

        def __init__(self) -> None:
            self.written = threading.Event()

        def wait_settled(self, timeout: float | None) -> bool:
            return self.written.wait(timeout)

    worker = Worker(Project(Path(__file__).parent.parent / "fixtures" / "dbt_project"))
    child = Writing()
    worker._child = child  # type: ignore[assignment]
    worker._busy.acquire()  # another run holds the worker
    try:
        for call in (worker.settle, lambda: worker.prepare(worker.project)):
            waiter = threading.Thread(target=call, daemon=True)
            waiter.start()
            waiter.join(0.2)
            assert waiter.is_alive(), "it waits for the manifest to be written"
            child.written.set()
            waiter.join(5)
            assert not waiter.is_alive(), "and not for the run that holds the worker"
            child.written.clear()
    finally:
        worker._busy.release()


@pytest.mark.unit
def test_a_client_asks_the_worker_to_parse_only_what_it_cannot_vouch_for(tmp_path: Path) -> None:
    """Before a run, a client of ``dbt-assets worker`` asks it to parse (a round trip, 10 ms of
    a per-asset task) unless the manifest is fresh by the project's files, is the one dbt-assets
    stamped for this target and vars, and is newer than profiles.yml and the installed packages
    (a change there replaces the worker's dbt, which must parse before the run is planned)."""
    from dbt_assets.run.worker_socket import _fresh_here

    project_dir = shutil.copytree(
        Path(__file__).parent.parent / "fixtures" / "dbt_project",
        tmp_path / "p",
        ignore=shutil.ignore_patterns("target", "logs", ".dbt-assets"),
    )
    (project_dir / "dbt_packages" / "some_package").mkdir(parents=True)
    manifest = project_dir / "target" / "manifest.json"
    manifest.parent.mkdir()
    manifest.write_text("{}")
    project = Project(project_dir)
    assert not _fresh_here(project), "a manifest dbt-assets did not stamp (another process wrote it)"
    project.stamp_manifest()
    assert _fresh_here(project)
    assert not _fresh_here(Project(project_dir, target="ci")), "stamped for another target"

    def later(path: Path) -> None:
        os.utime(path, ns=(manifest.stat().st_mtime_ns + 10**9,) * 2)

    for changed in (project_dir / "profiles.yml", project_dir / "dbt_packages" / "some_package"):
        later(changed)
        assert not _fresh_here(project), changed
        os.utime(manifest, ns=(changed.stat().st_mtime_ns + 10**9,) * 2)
        project.stamp_manifest()
        assert _fresh_here(project)
    later(project_dir / "models" / "staging" / "stg_orders.sql")
    assert project.stale_reason() is not None and not _fresh_here(project)


@pytest.mark.unit
def test_a_socket_anyone_else_may_reach_is_neither_served_nor_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker_dir: Path
) -> None:
    project = Project(Path(__file__).parent.parent / "fixtures" / "dbt_project")
    worker_dir.chmod(0o755)
    with pytest.raises(RunError, match="not a folder only you may enter"):
        serve(project)
    path = socket_path(project)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
        listener.bind(str(path))
        listener.listen(1)
        listener.settimeout(0)
        assert connect(project) is None
        with pytest.raises(BlockingIOError):
            listener.accept()  # the client did not even knock: others may reach that socket
        worker_dir.chmod(0o700)
        tried = threading.Thread(target=connect, args=(project,))
        tried.start()
        listener.settimeout(10)
        knock, _ = listener.accept()  # private again: the client asks who serves there
        knock.close()
        tried.join()
    monkeypatch.setenv(DIR_ENV, str(tmp_path / "w"))
    assert connect(project) is None and running_worker(project) is None, "no socket, no worker"


# --- real dbt ---------------------------------------------------------------------------------


def test_a_kept_manifest_is_the_one_dbt_parsed(parsed_project: Path) -> None:
    """A copy of a kept manifest is dbt's manifest, field for field, and looks up refs and
    sources as the original does (dbt 1.11's ``Manifest.__reduce_ex__``, which ``pickle`` and
    ``copy.deepcopy`` use, passes fields by position and misses one: its copies looked sources
    up in the lookup of refs)."""
    from dbt.cli.main import dbtRunner
    from dbt.contracts.graph.manifest import Manifest

    done = dbtRunner().invoke(
        ["parse", "--project-dir", str(parsed_project), "--profiles-dir", str(parsed_project), "--quiet"]
    )
    original = done.result
    assert isinstance(original, Manifest)
    worker_child._manifest_class = Manifest
    copy = pickle.loads(worker_child.snapshot(original))
    assert copy is not original and copy.nodes is not original.nodes
    assert copy.writable_manifest().to_dict() == original.writable_manifest().to_dict()
    assert copy.flat_graph == original.flat_graph and copy.env_vars == original.env_vars
    for node in original.nodes.values():
        if node.resource_type == "seed":
            continue  # a seed's refs raise: seeds depend on nothing
        for ref in node.refs:
            found = copy.resolve_ref(None, ref.name, ref.package, ref.version, "shop", node.package_name)
            expected = original.resolve_ref(
                None, ref.name, ref.package, ref.version, "shop", node.package_name
            )
            assert found is not None and found.unique_id == expected.unique_id
        for source in node.sources:
            found = copy.resolve_source(source[0], source[1], "shop", node.package_name)
            assert found is not None and found.unique_id.endswith(".".join(source))


def test_an_idle_worker_leaves_the_warehouse_to_other_processes(built_project: Path) -> None:
    """DuckDB lets one process open its file for writing: between runs the worker holds it
    not, so the dbt CLI, the pre-flight's read and another run can open it."""
    import duckdb

    project = Project(built_project)
    with open_history(built_project) as history, open_worker(project) as worker:
        first = start_run(project, "run", ["stg_orders"], history=history, worker=worker).run()
        assert first.status == "success" and worker.invocations == 1
        run_dbt(built_project, "run", "-s", "stg_customers")  # the CLI, while the worker idles
        with duckdb.connect(str(built_project / "target" / "shop.duckdb")) as database:
            counts = database.execute(
                "select count(*) from main.stg_customers union all select count(*) from main.raw_customers"
            ).fetchall()
        assert counts[0] == counts[1] != (0,)
        again = start_run(project, "run", ["stg_orders", "orders"], history=history, worker=worker).run()
        assert again.status == "success" and worker.invocations == 2
        # the CLI wrote target/manifest.json: a manifest written by another process replaces
        # the warm one (which then parses before the run, as the CLI would)
        assert worker.replaced == ["the project changed"] and worker.last["manifest"] == "cached"


def test_a_warm_run_leaves_the_manifest_the_cli_leaves(built_project: Path) -> None:
    """The warm dbt writes dbt's manifest.json just after its answer: a run ends once it is
    written (unless told not to wait), with the run's invocation id (a kept manifest carried
    its parse's), dated as the parse stamp says; its own writes never replace the warm dbt,
    and closing the worker waits for the last one."""
    project = Project(built_project, target="dev")
    manifest = project.manifest_path

    def written_by() -> str:
        return str(json.loads(manifest.read_text())["metadata"]["invocation_id"])

    with open_history(built_project) as history, open_worker(project) as worker:
        first = start_run(project, "run", ["stg_orders"], history=history, worker=worker).run()
        assert first.status == "success" and written_by() == first.invocation_id
        assert project.stale_reason() is None, "the stamp dates the manifest the worker wrote"
        runs = []
        for _ in range(2):
            run = start_run(project, "run", ["orders"], history=history, worker=worker)
            run.wait_for_manifest = False
            runs.append(run.run())
        assert worker.replaced == [] and worker.last["manifest"] == "cached"
        elsewhere = worker.invoke(["run", "-s", "stg_orders", "--target-path", "other-target"])
        assert elsewhere.exit_code == 0 and (built_project / "other-target" / "manifest.json").is_file()
        assert start_run(project, "run", ["orders"], history=history, worker=worker).run().status == "success"
        assert worker.replaced == [], "a manifest written elsewhere is no change to the project's"
        run = start_run(project, "run", ["orders"], history=history, worker=worker)
        run.wait_for_manifest = False
        runs.append(run.run())
        worker.settle()
        assert written_by() == runs[-1].invocation_id and project.stale_reason() is None
        last = start_run(project, "run", ["customers"], history=history, worker=worker)
        last.wait_for_manifest = False
        assert last.run().status == "success"
    assert written_by() == last.result.invocation_id, "closing the worker waited for its write"  # type: ignore[union-attr]
    assert not [p.name for p in project.target_path.iterdir() if p.name.endswith(".tmp")]


FAKE_CHILD = r"""
import json, os, sys
token = sys.argv[1]
os.write(1, ("\x1e%s %s\n" % (token, json.dumps({"ready": True, "pid": os.getpid()}))).encode())
for line in sys.stdin:
    mark = "\x1e" + json.loads(line)["token"]
    os.write(1, ("%s %s\n" % (mark, json.dumps({"exit_code": 0, "settling": True}))).encode())
    os.write(1, ("half a line of a dbt thread%s+ %s\n" % (mark, json.dumps({"written": ["m"]}))).encode())
"""


def test_the_line_that_says_the_manifest_is_written_is_found_after_stray_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dbt_assets.run import worker_process

    fake = tmp_path / "fake_child.py"  # a warm dbt whose thread left half a line before the mark
    fake.write_text(FAKE_CHILD)
    monkeypatch.setattr(worker_process, "CHILD", fake)
    child = worker_process.Child(sys.executable, tmp_path, 30.0)
    try:
        assert child.request(["run"], tmp_path, {}).wait(30) == 0
        assert child.settled(10) == {"written": ["m"]}
    finally:
        child.kill()


def test_a_source_check_through_the_worker_leaves_the_manifest_fresh(built_project: Path) -> None:
    """``dbt source freshness`` in the warm dbt: its manifest is written when the check
    returns, so the parse stamp written then is that manifest's."""
    project = Project(built_project, target="dev")
    with open_history(built_project) as history, open_worker(project) as worker:
        settle, waited = worker.settle, []
        worker.settle = lambda: (settle(), waited.append(project.manifest_path.stat().st_mtime_ns))[0]  # type: ignore[method-assign]
        assert record_source_freshness(project, history, worker=worker) is not None
        assert worker.invocations == 1 and worker.last.get("settling")
        assert waited == [worker.last["manifest_mtime_ns"]], (
            "the check returned once the manifest was written"
        )
        assert project.stale_reason() is None


def test_a_worker_runs_the_dbt_of_another_virtualenv(built_project: Path, separate_dbt: Path) -> None:
    """The child is started with the Python of the project's dbt executable (another dbt
    version here) and needs nothing of dbt-assets'."""
    project = Project(built_project, dbt_executable=str(separate_dbt))
    with open_history(built_project) as history, open_worker(project) as worker:
        assert worker.python is not None and Path(worker.python).parent == separate_dbt.parent
        result = start_run(project, "seed", ["raw_orders"], history=history, worker=worker).run()
        assert result.status == "success" and worker.invocations == 1
    assert_ran_with(built_project, separate_dbt)


def test_the_memory_cap_replaces_the_warm_process(built_project: Path) -> None:
    project = Project(built_project)
    with Worker(project, memory_cap_mb=64) as worker:
        first_pid = worker.pid
        result = start_run(project, "run", ["stg_orders"], worker=worker).run()
        assert result.status == "success" and not worker.alive
        assert len(worker.replaced) == 1 and "past the cap of 64 MB" in worker.replaced[0]
        assert start_run(project, "run", ["stg_orders"], worker=worker).run().status == "success"
        assert worker.started == 2 and worker.pid != first_pid


def test_turned_off_no_worker_starts_or_runs_anything(
    built_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(NO_WARM_ENV, "1")
    project = Project(built_project)
    with open_worker(project) as worker:
        result = start_run(project, "run", ["stg_orders"], worker=worker).run()
        assert result.status == "success", "the dbt CLI ran it"
        assert worker.started == 0 and worker.invocations == 0 and worker.pid is None
        assert running_worker(project) is None


def test_the_worker_command_serves_its_owner_only_and_stops(built_project: Path, worker_dir: Path) -> None:
    assert cli("worker", "--status", "--project-dir", str(built_project)).exit_code == 1
    with serving(built_project) as (_server, worker):
        path = socket_path(Project(built_project))
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(worker_dir.stat().st_mode) == 0o700
        status = cli("worker", "--status", "--project-dir", str(built_project))
        assert status.exit_code == 0 and f"serves {built_project}" in status.stdout
        refused = cli("worker", "--project-dir", str(built_project))
        assert refused.exit_code == 2 and "a worker already serves" in refused.stderr
        assert cli("worker", "--stop", "--project-dir", str(built_project)).exit_code == 0
        for _ in range(100):
            if not path.exists():
                break
            threading.Event().wait(0.1)
        assert not path.exists(), "the socket is removed when the worker stops"
    assert not worker.alive
