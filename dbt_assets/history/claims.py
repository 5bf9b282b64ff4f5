"""One run per asset at a time: claims recorded in the run history.

A run claims its assets when it starts, in the transaction that records it, and releases them
when it ends; while they are claimed no other run on the same history and dbt target (any
command, any process, any machine sharing a PostgreSQL history) can start them (runs of
another target build other relations: a dev and a prod run of one model do not wait for each
other; the default target is the target named by none): the second one is told which
run holds which assets (:class:`~dbt_assets._core.errors.AssetsBusyError`). A claim whose run
is dead is taken over: on this host, a run whose dbt-assets process is gone; on PostgreSQL, a
run whose session no longer holds its advisory lock (the server releases it when the process or
its connection dies, wherever it ran). On SQLite a run of another host (a shared disk) is taken
as alive while it is open.

    >>> history.claims()                                    # doctest: +SKIP
    {'model.shop.orders': Holder(run_id=12, command='build', host='h', pid=4242, ...)}
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable, Sequence
from typing import Any

import msgspec

from dbt_assets._core.errors import AssetsBusyError
from dbt_assets.history.backend import upsert
from dbt_assets.history.database import Database
from dbt_assets.history.schema import placeholders, process_alive

_CLAIM = upsert("asset_claims", ("unique_id", "target", "run_id", "claimed_at"), ("unique_id", "target"))
"""A claim, replacing one of a dead run (a live holder was ruled out first)."""
RUN_LOCKS = 0x6462_7461
"""The first key of the advisory lock each running run's session holds on PostgreSQL (the
second is its run id): its liveness for other machines."""
_CHUNK = 500


class Holder(msgspec.Struct, frozen=True):
    """A run that holds assets."""

    run_id: int
    command: str
    host: str | None
    pid: int | None
    started_at: float
    unique_ids: tuple[str, ...] = ()
    """The assets asked for that it holds."""

    def describe(self) -> str:
        where = f"pid {self.pid} on {self.host}" if self.pid else "another process"
        since = max(0.0, time.time() - self.started_at)
        return f"run {self.run_id} (dbt-assets {self.command}, {where}, started {since:.0f}s ago)"


class Claims(Database):
    """The claims of a history: taken by :meth:`History.start_run`, released by ``finish_run``."""

    def claims(self, unique_ids: Iterable[str] | None = None, target: str | None = None) -> dict[str, Holder]:
        """The assets held by a live run of ``target`` (None: the default target) now (all, or
        of ``unique_ids``), and by which."""
        ids = None if unique_ids is None else sorted(set(unique_ids))
        return self._retry(lambda: self._live_claims(ids, target or ""))

    def holders(self, unique_ids: Iterable[str], target: str | None = None) -> list[Holder]:
        """The live runs that hold any of ``unique_ids``, each with the assets it holds."""
        held: dict[int, list[str]] = {}
        found = self.claims(unique_ids, target)
        for uid, holder in found.items():
            held.setdefault(holder.run_id, []).append(uid)
        runs = {h.run_id: h for h in found.values()}
        return [
            msgspec.structs.replace(runs[r], unique_ids=tuple(sorted(ids))) for r, ids in sorted(held.items())
        ]

    # --- inside the writing transaction of start_run / finish_run --------------------------

    def _take_claims(self, run_id: int, unique_ids: Sequence[str], at: float, target: str | None) -> None:
        """Claim ``unique_ids`` of ``target`` for ``run_id``, taking over those of dead runs;
        raises :class:`AssetsBusyError` naming the live runs that hold any of them."""
        scope = target or ""
        busy = self._live_claims(sorted(set(unique_ids)), scope)
        if busy:
            raise busy_error(busy)
        self._db.executemany(_CLAIM, [(uid, scope, run_id, at) for uid in sorted(set(unique_ids))])

    def _release_claims(self, run_id: int) -> None:
        self._db.execute("DELETE FROM asset_claims WHERE run_id = ?", (run_id,))

    def _hold_run(self, run_id: int) -> None:
        """On PostgreSQL: hold the run's session lock while it runs (its liveness elsewhere)."""
        if self._dialect == "postgresql":
            self._retry(
                lambda: self._db.execute("SELECT pg_advisory_lock(?, ?)", (RUN_LOCKS, run_id)).fetchall()
            )

    def _let_go_run(self, run_id: int) -> None:
        if self._dialect == "postgresql":
            self._retry(
                lambda: self._db.execute("SELECT pg_advisory_unlock(?, ?)", (RUN_LOCKS, run_id)).fetchall()
            )

    # --- reading --------------------------------------------------------------------------

    @property
    def _dialect(self) -> str:
        return str(getattr(self._db, "dialect", "sqlite"))

    def _live_claims(self, unique_ids: list[str] | None, target: str) -> dict[str, Holder]:
        """Claims of live runs of ``target``; the claims of dead runs are never reported (the
        next claim of their assets replaces them)."""
        rows: list[tuple[Any, ...]] = []
        if unique_ids is None:
            rows = list(
                self._db.execute("SELECT unique_id, run_id FROM asset_claims WHERE target = ?", (target,))
            )
        else:
            for start in range(0, len(unique_ids), _CHUNK):
                chunk = unique_ids[start : start + _CHUNK]
                rows += self._db.execute(
                    "SELECT unique_id, run_id FROM asset_claims "
                    f"WHERE target = ? AND unique_id IN ({placeholders(chunk)})",
                    [target, *chunk],
                ).fetchall()
        if not rows:
            return {}
        run_ids = sorted({row[1] for row in rows})
        runs = {
            r[0]: r
            for r in self._db.execute(
                "SELECT run_id, command, status, host, pid, started_at FROM runs "
                f"WHERE run_id IN ({placeholders(run_ids)})",
                run_ids,
            ).fetchall()
        }
        alive = {r: self._alive(runs.get(r)) for r in run_ids}
        found = {}
        for uid, run_id in rows:
            if alive[run_id]:
                _, command, _, host, pid, started = runs[run_id]
                found[uid] = Holder(run_id, command, host, pid, started)
        return found

    def _alive(self, run: tuple[Any, ...] | None) -> bool:
        if run is None:
            return False
        run_id, _, status, host, pid, _ = run
        if status != "running":  # closed (a crash between closing and releasing)
            return False
        if host == socket.gethostname():
            return pid == os.getpid() or process_alive(pid)
        if self._dialect != "postgresql":
            return True  # another host on a shared disk: nothing tells, so it holds them
        taken = self._db.execute("SELECT pg_try_advisory_lock(?, ?)", (RUN_LOCKS, run_id)).fetchone()
        if taken and taken[0]:  # nobody held it: the run's session is gone
            self._db.execute("SELECT pg_advisory_unlock(?, ?)", (RUN_LOCKS, run_id)).fetchall()
            return False
        return True


def busy_error(held: dict[str, Holder]) -> AssetsBusyError:
    """The error of a run whose assets another run holds: which run holds which assets."""
    by_run: dict[int, list[str]] = {}
    for uid, holder in held.items():
        by_run.setdefault(holder.run_id, []).append(uid)
    holders = {h.run_id: h for h in held.values()}
    parts = []
    for run_id, ids in sorted(by_run.items()):
        names = ", ".join(sorted(ids)[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        parts.append(f"{names} held by {holders[run_id].describe()}")
    return AssetsBusyError(
        "another run is running these assets: " + "; ".join(parts),
        "wait for it with --wait [SECONDS], or run the other assets only",
        tuple(
            msgspec.structs.replace(holders[r], unique_ids=tuple(sorted(ids)))
            for r, ids in sorted(by_run.items())
        ),
    )
