"""A real PostgreSQL server for the tests, started and stopped by them: a throw-away cluster
(initdb) on a free local port, one per test process. PostgreSQL refuses to run as root, so
under root the cluster belongs to the ``postgres`` user that Debian's package creates
(``python3 dev.py test`` installs the package). Each test gets a schema of its own."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_SCHEMAS = itertools.count(1)


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError(
        "PostgreSQL's server is not installed: python3 dev.py test installs it (apt-get, as root)"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    """A running cluster; :meth:`url` gives a new, empty schema on it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def url(self, schema: str | None = None) -> str:
        """The URL of a fresh schema (made here), as a user would point --history at it."""
        import psycopg

        schema = schema or f"t{os.getpid()}_{next(_SCHEMAS)}"
        with psycopg.connect(self.base, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        return f"{self.base}?options=-csearch_path%3D{schema}"


@contextmanager
def postgres_server() -> Iterator[Server]:
    """Start a cluster of its own (fsync off: it holds nothing worth keeping) and stop it."""
    bindir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="dbt-assets-pg-"))
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        shutil.chown(root, user)
    data, port = root / "data", _free_port()

    def run(*args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, user=user, cwd=root, timeout=120)

    try:
        run(
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
        try:
            yield Server(port)
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _backend(location: Path | str) -> Any:
    from dbt_assets.history.backend import SqliteBackend
    from dbt_assets.history.postgres import PostgresBackend
    from dbt_assets.history.schema import is_url

    return PostgresBackend(str(location)) if is_url(location) else SqliteBackend(Path(location))


@contextmanager
def raw_history(location: Path | str) -> Iterator[Any]:
    """The history's database itself, under dbt-assets' feet (``?`` placeholders, on either
    backend): one transaction, committed at the end."""
    backend = _backend(location)
    try:
        with backend.transaction():
            yield backend
    finally:
        backend.close()


@contextmanager
def older_history(location: Path | str, version: int) -> Iterator[Any]:
    """A history made by an older dbt-assets (schema ``version``) to fill in before it is
    opened (and migrated)."""
    from dbt_assets.history.schema import MIGRATIONS

    with raw_history(location) as raw:
        for migration in MIGRATIONS[:version]:
            for statement in migration:
                raw.execute(raw.ddl(statement))
        raw.set_schema_version(version)
        yield raw
