"""The child side of a warm dbt (:mod:`dbt_assets.run.worker`): a Python process with dbt
imported that runs dbt invocations one at a time, each as ``dbt ARGS`` would from a shell.

Standalone on purpose: it runs under the Python of the dbt it serves, which may live in
another virtualenv than dbt-assets, so it imports only the standard library and dbt.

The protocol, one JSON object per line:

- started as ``python worker_child.py TOKEN`` in a process group of its own; once dbt is
  imported it writes ``\\x1eTOKEN {"ready": true, "dbt_version": ..., "pid": ...}`` on stdout
  (``"ready": false`` and the error when dbt cannot be imported, then exits);
- each line on stdin is a request ``{"token": T, "argv": [...], "cwd": ..., "env": {...}}``:
  ``dbt ARGV`` runs from ``cwd`` with exactly ``env`` as its environment, its output on stdout
  (stderr joined to it, as dbt-assets reads the CLI), then the child writes
  ``\\x1eT {"exit_code": N, "rss": BYTES, "manifest": "cached" | "parsed" | "none"}``;
  when dbt's end-of-run ``manifest.json`` is still to be written (below), the reply also
  says ``"settling": true``, the files and the time they will carry (``"manifest_paths"``,
  ``"manifest_mtime_ns"``), and once they are written the child writes
  ``\\x1eT+ {"written": [...], "errors": [...]}``;
- stdin closed (dbt-assets closed it, or died however it died): the child kills its process
  group at once, dbt and whatever dbt started with it.

Each invocation gets a manifest of its own. dbt changes the manifest it runs on (compiling
ephemeral models, merging a deferred state), so one object serves one invocation only: the
first invocation for a set of parse options parses as the CLI does and the manifest is kept
pickled as dbt returned it (before anything ran on it); later invocations with the same options
get a fresh unpickled copy (the deep copy dbt's own ``__reduce_ex__`` defines, flat graph
included), the next one made while the child waits for the next request. The parse options
are every dbt flag except those only read at run time (``--select``, ``--threads``,
``--log-level``, ...), the working directory and the ``DBT_*`` environment; a kept manifest is
also dropped when an environment variable it read while parsing (``env_var()`` in the project,
its YAML or the profile) has another value now. After each invocation the adapters' connections
are closed: an idle warm process must not hold a DuckDB file that other processes want to open.
dbt's end-of-run manifest.json is written just after the reply (``worker_child_artifacts.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import importlib
import io
import json
import os
import pickle
import queue
import signal
import sys
import threading
import traceback
from collections import OrderedDict
from typing import Any

artifacts: Any = importlib.import_module(  # standalone too: beside it when run as a script
    f"{__package__}.worker_child_artifacts" if __package__ else "worker_child_artifacts"
)
MARK = "\x1e"
PARSING_COMMANDS = frozenset({"run", "build", "test", "seed", "snapshot", "parse"})
"""Commands that parse the project; all but ``parse`` take a kept manifest."""
RUNTIME_PARAMS = frozenset(
    {
        "select", "exclude", "selector", "resource_types", "exclude_resource_types", "threads",
        "full_refresh", "fail_fast", "defer", "deprecated_defer", "defer_state", "state",
        "deprecated_state", "favor_state", "deprecated_favor_state", "empty", "event_time_start",
        "event_time_end", "sample", "indirect_selection", "store_failures", "show", "sqlparse",
        "export_saved_queries", "include_saved_query", "log_format", "log_format_file", "log_level",
        "log_level_file", "log_path", "log_file_max_bytes", "log_cache_events", "quiet", "print",
        "deprecated_print", "printer_width", "use_colors", "use_colors_file", "debug",
        "version_check", "send_anonymous_usage_stats", "write_json", "introspect",
        "cache_selected_only", "populate_cache", "record_timing_info", "show_all_deprecations",
        "show_resource_report", "upload_to_artifacts_ingest_api", "single_threaded",
    }
)  # fmt: skip
"""dbt's options that do not change what parsing produces: not part of a manifest's key."""
UNKEYED_ENV = ("DBT_ASSETS_", "DBT_ENV_CUSTOM_ENV_", "DBT_ENV_SECRET_")
"""``DBT_*`` variables that are not part of a manifest's key (dbt-assets' own; run metadata;
secrets, which dbt allows only where they are read at run time)."""
KEPT = 4
"""Manifests kept at most (the least recently used one goes first)."""
AHEAD_MAX_BYTES = 64 * 2**20
"""A copy is made ahead, while the child is idle, only of a kept manifest whose pickle is at
most this big: the copy held in waiting costs the memory of one more manifest."""
PLACEHOLDER = "DBT_DEFAULT_PLACEHOLDER"
"""What dbt records for an ``env_var()`` that took its default (dbt.constants)."""


class Manifests:
    """The manifests parsed so far, by their parse options: each use gets its own copy. The
    copy for the next use of the manifest used last is made while the child is idle
    (:meth:`make_ahead`), off the time of the invocation that takes it."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, tuple[bytes, dict[str, str]]] = OrderedDict()
        self._ahead: tuple[bytes, Any] | None = None
        """A copy made ahead: the pickle it was made from (a kept one), and the copy."""

    def take(self, key: str | None) -> Any:
        """A fresh copy of the manifest kept for ``key``, or None (then dbt parses)."""
        if key is None or key not in self._kept:
            return None
        blob, read_env = self._kept[key]
        ahead, self._ahead = self._ahead, None
        if any(os.environ.get(name, PLACEHOLDER) != value for name, value in read_env.items()):
            del self._kept[key]  # parsed with another value of a variable it read
            return None
        self._kept.move_to_end(key)
        if ahead is not None and ahead[0] is blob:
            return ahead[1]
        return pickle.loads(blob)

    def keep(self, key: str, blob: bytes, read_env: dict[str, str]) -> None:
        self._kept[key] = (blob, read_env)
        self._kept.move_to_end(key)
        while len(self._kept) > KEPT:
            self._kept.popitem(last=False)

    def drop_ahead(self) -> None:
        self._ahead = None

    def make_ahead(self) -> None:
        """Unpickle the next copy of the manifest used last, unless one is waiting or it is
        too big to hold twice (:data:`AHEAD_MAX_BYTES`)."""
        if self._ahead is not None or not self._kept:
            return
        blob = self._kept[next(reversed(self._kept))][0]
        if len(blob) <= AHEAD_MAX_BYTES:
            self._ahead = (blob, pickle.loads(blob))


_parsed: list[tuple[bytes, dict[str, str]]] = []
"""What dbt parsed during the current invocation: the pickled manifest and the environment
variables its files read."""
_manifest_class: Any = None


def _manifest(fields: dict[str, Any]) -> Any:
    return _manifest_class(**fields)


class _Pickler(pickle.Pickler):
    """Pickles a Manifest by its fields' names: dbt's ``Manifest.__reduce_ex__`` passes them by
    position and misses one (``fixtures``, dbt 1.11), which shifts its lookups into the wrong
    fields of a copy. Its private fields (lookups, caches, a lock) are left to be made again."""

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is not _manifest_class:
            return NotImplemented
        names = [f.name for f in dataclasses.fields(obj) if not f.name.startswith("_")]
        return _manifest, ({name: getattr(obj, name) for name in names},)


def snapshot(manifest: Any) -> bytes:
    """``manifest`` pickled, for :func:`pickle.loads` to make fresh copies of it."""
    blob = io.BytesIO()
    _Pickler(blob, protocol=pickle.HIGHEST_PROTOCOL).dump(manifest)
    return blob.getvalue()


def hook_parsing() -> None:
    """Keep a pickled copy of every manifest dbt parses, taken before anything runs on it."""
    global _manifest_class
    requires: Any = importlib.import_module("dbt.cli.requires")  # dbt's own modules, untyped here
    _manifest_class = importlib.import_module("dbt.contracts.graph.manifest").Manifest
    original = requires.parse_manifest

    def parse_manifest(*args: Any, **kwargs: Any) -> Any:
        manifest = original(*args, **kwargs)
        try:
            blob = snapshot(manifest)
        except Exception:  # an adapter's unpicklable object in it: parsed again each time
            return manifest
        _parsed.append((blob, {str(k): str(v) for k, v in dict(manifest.env_vars).items()}))
        return manifest

    requires.parse_manifest = parse_manifest


def cache_plugin_scan() -> None:
    """dbt looks for plugins (modules named ``dbt_*``) at every invocation by listing every
    folder on ``sys.path`` (50 ms a run): listed again only when a folder changed (a package
    installed or removed changes its folder's time)."""
    manager: Any = importlib.import_module("dbt.plugins.manager").PluginManager
    scan = manager.get_prefixed_modules
    seen: dict[str, Any] = {}

    def get_prefixed_modules(cls: Any) -> Any:
        key = tuple((folder, _mtime(folder)) for folder in sys.path)
        if seen.get("key") != key:
            seen["modules"], seen["key"] = scan(), key
        return seen["modules"]

    manager.get_prefixed_modules = classmethod(get_prefixed_modules)


def format_json_lines_once() -> None:
    """dbt formats each event for each of its loggers: with ``--log-format json`` its file log
    (dbt.log) is JSON too, so every line was made twice, the same way (the event as a dict,
    then JSON, then secrets scrubbed out): about 15 ms of a one-model run's 200. The line
    made for one logger is given to the next that asks for the same event with the same
    scrubber; nothing written changes."""
    json_logger: Any = getattr(importlib.import_module("dbt_common.events.logger"), "_JsonLogger", None)
    create_line = getattr(json_logger, "create_line", None)
    if create_line is None:
        return
    last: list[tuple[Any, Any, str] | None] = [None]  # the event formatted last, kept alive

    def create_line_once(self: Any, msg: Any) -> str:
        made = last[0]  # dbt's threads may interleave: then a line is made again, no harm
        if made is not None and made[0] is msg and made[1] is self.scrubber:
            return made[2]
        line: str = create_line(self, msg)
        last[0] = (msg, self.scrubber, line)
        return line

    json_logger.create_line = create_line_once


def freeze_imports(manifests: Manifests | None = None) -> int:
    """Leave what is alive now (dbt and its dependencies, imported once and kept for the
    child's life: most of its objects) out of the garbage collector's passes: a full pass
    walked them all, about 0.2 s each, once every three or four one-model runs. Done once dbt is
    imported, and again after a run that imported modules (the adapter, at the first run); what
    dbt keeps of that run is frozen with them (a few objects, at the few runs that import). The
    copy of a manifest made ahead is dropped first (frozen, it would never be collected);
    objects made later, the manifests and each invocation's own, are collected as before.
    Returns how many modules there are."""
    if manifests is not None:
        manifests.drop_ahead()
    gc.collect()
    gc.freeze()
    return len(sys.modules)


def _mtime(path: str) -> int | None:
    try:
        return os.stat(path or ".").st_mtime_ns
    except OSError:
        return None


def manifest_key(cli: Any, argv: list[str]) -> str | None:
    """What a manifest for ``argv`` depends on, as a string; None when it takes none (a
    command that does not parse, or arguments dbt will reject: the CLI says why)."""
    if not argv or argv[0] not in PARSING_COMMANDS:
        return None
    try:
        context = cli.commands[argv[0]].make_context(argv[0], list(argv[1:]))
    except Exception:
        return None
    params = {name: value for name, value in context.params.items() if name not in RUNTIME_PARAMS}
    params["vars"] = params.get("vars") or {}
    env = sorted(
        (k, v) for k, v in os.environ.items() if k.startswith("DBT_") and not k.startswith(UNKEYED_ENV)
    )
    return json.dumps([os.getcwd(), params, env], sort_keys=True, default=repr)


def invoke(cli: Any, argv: list[str], manifests: Manifests) -> tuple[int, str]:
    """``dbt ARGV`` as the CLI runs it (click's standalone mode: its exit codes, its usage
    errors on stderr), with a kept manifest when there is one; (exit code, which manifest)."""
    key = manifest_key(cli, argv)
    manifest = manifests.take(key) if argv[0] != "parse" else None
    obj: dict[str, Any] = {"manifest": manifest, "callbacks": [], "dbt_runner_command_args": list(argv)}
    del _parsed[:]
    del artifacts.deferred[:]
    reset_warnings()
    artifacts.current.update(obj=obj)
    try:
        cli.main(args=list(argv), prog_name="dbt", standalone_mode=True, obj=obj)
        code = 0
    except SystemExit as exc:
        code = exit_code(exc.code)
    except BaseException:  # raised outside dbt's own handling: what Python prints and exits with
        traceback.print_exc()
        code = 1
    finally:
        artifacts.current.clear()
    if key is not None and _parsed and not obj.get("catalogs"):  # catalogs: registered only by a parse
        blob, read_env = _parsed[-1]
        config = obj.get("runtime_config")
        for recorded in (
            getattr(config, "project_env_vars", None),
            getattr(config, "profile_env_vars", None),
        ):
            read_env.update({str(k): str(v) for k, v in dict(recorded or {}).items()})
        manifests.keep(key, blob, read_env)
    return code, "cached" if manifest is not None else "parsed" if _parsed else "none"


def exit_code(code: object) -> int:
    """The process exit code ``sys.exit(code)`` gives."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def reset_warnings() -> None:
    """Warnings dbt gives once per process (deprecations) are given once per invocation, as
    the CLI gives them."""
    try:
        deprecations: Any = importlib.import_module("dbt.deprecations")
    except ImportError:
        return
    deprecations.reset_deprecations()


def release_connections() -> None:
    """Close what the adapters keep open between invocations: dbt closes its connections at
    the end of each one, but an adapter may keep more (dbt-duckdb keeps the database file
    open in a class attribute, which would lock every other process out of it)."""
    try:
        factory: Any = importlib.import_module("dbt.adapters.factory").FACTORY
    except (ImportError, AttributeError):
        return
    for plugin in list(getattr(factory, "plugins", {}).values()):
        manager: Any = getattr(getattr(plugin, "adapter", None), "ConnectionManager", None)
        environment = getattr(manager, "_ENV", None)
        try:
            if environment is not None and hasattr(environment, "close"):
                environment.close()
            if hasattr(manager, "close_all_connections"):
                manager.close_all_connections()
        except Exception:  # the next invocation opens its own
            pass
    with contextlib.suppress(Exception):
        factory.reset_adapters()


def rss() -> int:
    """This process's resident memory in bytes (its peak where the current one is unknown)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        peak = int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        return peak if sys.platform == "darwin" else peak * 1024


def reply(token: str, payload: dict[str, Any]) -> None:
    """The end of a request (or of the start): everything dbt wrote first, then the mark."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os.write(1, f"{MARK}{token} {json.dumps(payload)}\n".encode())


def die() -> None:
    """End this process and everything in its group (dbt-assets is gone)."""
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGKILL)
    os._exit(1)


def read_requests(requests: queue.Queue[dict[str, Any]]) -> None:
    """Pass each request on; when stdin closes, die: dbt-assets closed it or died."""
    try:
        for line in sys.stdin.buffer:
            try:
                requests.put(json.loads(line))
            except ValueError:
                continue
    finally:
        die()


def main() -> None:
    token = sys.argv[1]
    if sys.path and os.path.abspath(sys.path[0] or ".") == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # dbt-assets' own modules are not dbt's to import (events, artifacts, ...)
    os.dup2(1, 2)  # stderr into the one stream, as dbt-assets reads the CLI's output
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    signal.signal(signal.SIGINT, signal.default_int_handler)  # a cancel is a KeyboardInterrupt
    requests: queue.Queue[dict[str, Any]] = queue.Queue()
    threading.Thread(target=read_requests, args=(requests,), name="requests", daemon=True).start()
    try:
        import dbt.version
        from dbt.cli.main import cli

        hook_parsing()
        artifacts.defer_manifest_writes()
        cache_plugin_scan()
        format_json_lines_once()
        imported = freeze_imports()
    except BaseException as exc:
        traceback.print_exc()
        reply(token, {"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    reply(token, {"ready": True, "dbt_version": dbt.version.__version__, "pid": os.getpid()})
    manifests = Manifests()
    while True:
        request = requests.get()
        code, manifest = 2, "none"
        try:
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            code, manifest = invoke(cli, list(request["argv"]), manifests)
        except Exception:  # a working directory gone: what the CLI would say, in its words
            traceback.print_exc()
        release_connections()
        pending, at, errors = artifacts.begin_writes()
        said: dict[str, Any] = {"exit_code": code, "rss": rss(), "manifest": manifest}
        settling = bool(pending or errors)
        if settling:
            written = [final for _write, _temporary, final in pending]
            said |= {"settling": True, "manifest_mtime_ns": at, "manifest_paths": written}
        try:  # a SIGINT from here on ends the child, as one while it waits does
            reply(request["token"], said)
            if settling:
                reply(request["token"] + "+", artifacts.finish_writes(pending, at, errors))
        except BaseException:
            artifacts.discard(pending)
            raise
        del pending  # this run's manifest: not to be frozen
        if len(sys.modules) != imported:
            imported = freeze_imports(manifests)
        manifests.make_ahead()


if __name__ == "__main__":
    main()
