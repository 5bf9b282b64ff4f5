"""What automation decided, kept in the run history (:mod:`dbt_assets.automate`).

Each tick that acts is one row (when it decided, for which moment, who decided, the run it
started); each asset's decision is a row when it differs from the asset's decision before (or
starts a run), so a loop that ticks every minute over 10,000 unchanged assets writes almost
nothing; and each asset keeps its latest decision and what automation last built it from
(``automation_assets``), read in one query per tick. A tick's decisions and the run they start
are written in one transaction with the run (:meth:`History.start_run` ``on_start``): a decision
recorded is a decision made.

    >>> history.decisions("model.shop.orders", limit=5)         # doctest: +SKIP
    [DecisionRecord(tick_id=41, at=..., decision='run', condition='build_after', ...)]
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from dbt_assets.history.backend import upsert
from dbt_assets.history.database import Database


class Decided(msgspec.Struct, frozen=True):
    """One asset's decision of one tick, as a tick writes it."""

    unique_id: str
    decision: str
    """``run`` or ``skip``."""
    condition: str | None
    """What fired (``build_after``, ``cron``, ...), or None when nothing did."""
    reason: str
    """One sentence a person can read."""
    code: str
    """A stable word for the reason (``no_new_data``, ``held``, ...): a decision is written
    again only when its decision, condition or code changes."""
    data: dict[str, Any] = {}
    """The facts that made it fire (or not): times, parents, sources."""
    fingerprint: str | None = None
    """For a run: the code it builds (what ``code_changed`` compares with next time)."""


class DecisionRecord(msgspec.Struct, frozen=True):
    """A recorded decision."""

    tick_id: int
    at: float
    """The moment the tick decided for (epoch seconds)."""
    unique_id: str
    decision: str
    condition: str | None
    reason: str
    data: dict[str, Any]
    run_id: int | None


class AssetState(msgspec.Struct, frozen=True):
    """What automation keeps of one asset between ticks."""

    tick_id: int
    at: float
    decision: str
    condition: str | None
    code: str
    reason: str
    run_id: int | None = None
    built_fingerprint: str | None = None
    """The code fingerprint of the last run automation started for it."""
    built_run_id: int | None = None


class TickRecord(msgspec.Struct, frozen=True):
    tick_id: int
    at: float
    decided_at: float
    owner: str
    run_id: int | None
    summary: dict[str, Any]


_STATE_DECODER = msgspec.json.Decoder(AssetState)
_ENCODER = msgspec.json.Encoder()
_STATE_UPSERT = upsert("automation_assets", ("unique_id", "state"), ("unique_id",))
_CHUNK = 500


class AutomationRecords(Database):
    """Ticks, decisions and each asset's automation state."""

    def automation_state(self, unique_ids: Iterable[str] | None = None) -> dict[str, AssetState]:
        """Each asset's latest recorded decision and what automation last built it from."""
        if unique_ids is None:
            rows = self._read("SELECT unique_id, state FROM automation_assets")
        else:
            ids = sorted(set(unique_ids))
            rows = []
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ", ".join("?" for _ in chunk)
                rows += self._read(
                    f"SELECT unique_id, state FROM automation_assets WHERE unique_id IN ({marks})", chunk
                )
        return {uid: _STATE_DECODER.decode(state) for uid, state in rows}

    def record_tick(
        self,
        at: float,
        decided_at: float,
        owner: str,
        decisions: Sequence[Decided],
        summary: Mapping[str, Any],
        previous: Mapping[str, AssetState],
    ) -> int:
        """Record a tick that started no run; its id."""

        def action() -> int:
            with self._transaction():
                return self.write_tick(at, decided_at, owner, decisions, summary, previous, None)

        return self._retry(action)

    def write_tick(
        self,
        at: float,
        decided_at: float,
        owner: str,
        decisions: Sequence[Decided],
        summary: Mapping[str, Any],
        previous: Mapping[str, AssetState],
        run_id: int | None,
    ) -> int:
        """The tick, its changed decisions and the assets' state, inside a transaction (that of
        :meth:`start_run` when the tick starts a run)."""
        rows = self._db.execute(
            "INSERT INTO automation_ticks (at, decided_at, owner, run_id, summary) VALUES (?, ?, ?, ?, ?) "
            "RETURNING tick_id",
            (at, decided_at, owner, run_id, json.dumps(dict(summary))),
        ).fetchall()
        tick_id = int(rows[0][0])
        changed = [d for d in decisions if d.decision == "run" or _changed(previous.get(d.unique_id), d)]
        self._db.executemany(
            "INSERT INTO automation_decisions "
            "(tick_id, unique_id, decision, condition, reason, data, run_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    tick_id,
                    d.unique_id,
                    d.decision,
                    d.condition,
                    d.reason,
                    _ENCODER.encode(d.data).decode(),
                    run_id if d.decision == "run" else None,
                )
                for d in changed
            ],
        )
        states = []
        for d in changed:
            before = previous.get(d.unique_id)
            ran = d.decision == "run"
            state = AssetState(
                tick_id=tick_id,
                at=at,
                decision=d.decision,
                condition=d.condition,
                code=d.code,
                reason=d.reason,
                run_id=run_id if ran else None,
                built_fingerprint=d.fingerprint if ran else (before.built_fingerprint if before else None),
                built_run_id=run_id if ran else (before.built_run_id if before else None),
            )
            states.append((d.unique_id, _ENCODER.encode(state)))
        self._db.executemany(_STATE_UPSERT, states)
        return tick_id

    def decisions(self, unique_id: str, limit: int = 10) -> list[DecisionRecord]:
        """The asset's recorded decisions, newest first."""
        rows = self._read(
            "SELECT d.tick_id, t.at, d.unique_id, d.decision, d.condition, d.reason, d.data, d.run_id "
            "FROM automation_decisions d JOIN automation_ticks t ON t.tick_id = d.tick_id "
            "WHERE d.unique_id = ? ORDER BY d.tick_id DESC LIMIT ?",
            (unique_id, limit),
        )
        return [DecisionRecord(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]), r[7]) for r in rows]

    def ticks(self, limit: int = 20) -> list[TickRecord]:
        """The recorded ticks, newest first."""
        rows = self._read(
            "SELECT tick_id, at, decided_at, owner, run_id, summary FROM automation_ticks "
            "ORDER BY tick_id DESC LIMIT ?",
            (limit,),
        )
        return [TickRecord(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]


def _changed(before: AssetState | None, now: Decided) -> bool:
    if before is None:
        return True
    return (before.decision, before.condition, before.code) != (now.decision, now.condition, now.code)
