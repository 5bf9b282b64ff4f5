"""What the child of a warm dbt (``worker_child.py``) writes after it has answered: dbt's
end-of-run ``manifest.json``. Standalone, as the child is: the standard library only (and dbt,
which it patches).

dbt writes ``manifest.json`` last, after the results, and that is a fifth of a small
invocation (a writable copy of the manifest, then its JSON). The child answers first and
writes it just after, off the time of the invocation: what dbt would write, where dbt would
write it, whole or not at all (a temporary file renamed over it), dated when the answer was
given. dbt-assets waits for it (the ``+`` line) before anything it sends the child next.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import tempfile
import threading
import time
from typing import Any

deferred: list[tuple[Any, str]] = []
"""What dbt wrote at the end of the current invocation, left for after the reply: a function
that writes it into the file it is given, and the path dbt gave."""
current: dict[str, Any] = {}
"""The context object of the invocation under way (dbt's ``ctx.obj``: its runtime config)."""
_deferring = threading.Event()
"""Set while dbt writes its end-of-run manifest (then making and writing it is left for later)."""


def defer_manifest_writes() -> None:
    """Leave the manifest a run writes at its end (dbt's ``write_manifest`` in
    ``dbt.task.runnable``) for after the reply: dbt is handed a stand-in for its writable
    manifest, named as it, whose ``write`` leaves making the writable manifest and writing it
    to :func:`begin_writes` and :func:`finish_writes`; dbt says it wrote it, as it does. The
    manifest a parse writes is written at once (it is read next), and so is one dbt uploads
    to dbt Cloud at the end of the invocation. Where dbt differs, nothing is left for later."""
    runnable: Any = importlib.import_module("dbt.task.runnable")
    graph: Any = importlib.import_module("dbt.contracts.graph.manifest")
    end_of_run: Any = getattr(runnable, "write_manifest", None)
    writable_class: Any = getattr(graph, "WritableManifest", None)
    make_writable: Any = getattr(graph.Manifest, "writable_manifest", None)
    if end_of_run is None or writable_class is None or make_writable is None:
        return

    class Later:
        def __init__(self, manifest: Any) -> None:
            self.manifest = manifest

        def write(self, path: str) -> None:
            deferred.append((lambda into: make_writable(self.manifest).write(into), str(path)))

    stand_in = type(writable_class.__name__, (Later,), {})  # dbt names what it wrote by its class

    def writable_manifest(self: Any) -> Any:
        return stand_in(self) if _deferring.is_set() else make_writable(self)

    def write_manifest(manifest: Any, *args: Any, **kwargs: Any) -> Any:
        this_invocation(manifest)
        flags: Any = importlib.import_module("dbt.flags").get_flags()
        if getattr(flags, "UPLOAD_TO_ARTIFACTS_INGEST_API", False):  # uploaded before the reply
            return end_of_run(manifest, *args, **kwargs)
        _deferring.set()
        try:
            return end_of_run(manifest, *args, **kwargs)
        finally:
            _deferring.clear()

    graph.Manifest.writable_manifest = writable_manifest
    runnable.write_manifest = write_manifest


def this_invocation(manifest: Any) -> None:
    """A kept manifest's metadata made this invocation's, as the CLI's parse makes it (the
    project's ``get_metadata()``): its invocation id, which joins manifest.json to
    run_results.json, and its times."""
    get_metadata = getattr(current.get("obj", {}).get("runtime_config"), "get_metadata", None)
    if get_metadata is None or getattr(manifest, "metadata", None) is None:
        return
    fresh = get_metadata()
    if getattr(fresh, "invocation_id", None) != getattr(manifest.metadata, "invocation_id", None):
        manifest.metadata = fresh


Pending = list[tuple[Any, str, str]]
"""Manifests to write: the function that writes one, the temporary file, the file it replaces."""


def begin_writes() -> tuple[Pending, int | None, list[str]]:
    """Before the reply: a temporary file beside each manifest left for later (real paths: a
    shadow project's links may be gone by the time it is written), and the time the files
    will carry (the first one's creation); the errors of those that cannot be made."""
    pending: Pending = []
    errors: list[str] = []
    at: int | None = None
    for write, path in deferred:
        final = os.path.realpath(path)
        try:
            os.makedirs(os.path.dirname(final), exist_ok=True)
            _remove_left_behind(final)
            handle, temporary = tempfile.mkstemp(
                prefix=f"{_temporary_prefix(final)}{os.getpid()}-", suffix=".tmp", dir=os.path.dirname(final)
            )
            os.close(handle)
            at = at if at is not None else os.stat(temporary).st_mtime_ns
        except OSError as exc:
            errors.append(f"{final}: {exc}")
            continue
        pending.append((write, temporary, final))
    del deferred[:]
    return pending, at, errors


def _temporary_prefix(final: str) -> str:
    return f".{os.path.basename(final)}.dbt-assets-"


def _remove_left_behind(final: str) -> None:
    """The temporary files of children that died writing (killed: nothing of theirs could
    clean up), known by the process id in their names."""
    prefix, folder = _temporary_prefix(final), os.path.dirname(final)
    for name in os.listdir(folder):
        pid = (
            name[len(prefix) :].split("-", 1)[0] if name.startswith(prefix) and name.endswith(".tmp") else ""
        )
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, name))


def _alive(pid: int) -> bool:
    """``history.schema.process_alive``'s twin: this module imports nothing of dbt-assets."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process
        return True
    return True


def discard(pending: Pending) -> None:
    """The temporary files of writes that will not be finished (the child is stopping)."""
    for _write, temporary, _final in pending:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def finish_writes(pending: Pending, at: int | None, errors: list[str]) -> dict[str, Any]:
    """After the reply: each manifest made and written by dbt's own code into its temporary
    file, given the file's mode (the one it replaces, else a new file's), dated ``at``,
    renamed over it."""
    written: list[str] = []
    for write, temporary, final in pending:
        try:
            write(temporary)
            try:
                mode = os.stat(final).st_mode & 0o7777
            except OSError:  # a new file: what the umask leaves of rw-rw-rw-
                umask = os.umask(0o022)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.chmod(temporary, mode)
            os.utime(temporary, ns=(time.time_ns(), at or time.time_ns()))
            os.replace(temporary, final)
            written.append(final)
        except BaseException as exc:  # a SIGINT too: no temporary file is left behind
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            if not isinstance(exc, Exception):
                raise
            errors.append(f"{final}: {type(exc).__name__}: {exc}")
    return {"written": written, "errors": errors}
