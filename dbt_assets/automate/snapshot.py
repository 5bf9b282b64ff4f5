"""One immutable view of the world per tick: what every condition reads.

Built once per tick from the history's kept facts (never a scan of every result), the live
claims, what automation recorded of each asset, and the clock; conditions never read the
history or the clock themselves. A tick, a dry run, ``--explain`` and a simulation build the
same view and differ only in where the facts and the time come from.

**New data**, the question most conditions ask, is answered here, once per (asset, moment):

- a *source* has new data after a moment when a ``dbt source freshness`` check after it saw a
  newer ``max_loaded_at`` than the check before (``AssetFacts.loads``: when each change was
  first seen, on dbt-assets' clock; the warehouse's load times are compared only with each
  other, never with build times, whose clocks may differ);
- a *table, incremental model, snapshot or seed* has new data after a moment when it succeeded
  after it;
- a *view* or an *ephemeral model* holds no data of its own: it has new data when what it reads
  has (or when a view was rebuilt after the moment).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dbt_assets.history.automation import AssetState
from dbt_assets.history.claims import Holder
from dbt_assets.history.facts import AssetFacts
from dbt_assets.manifest.graph import AssetGraph, materialized_parents


@dataclass(frozen=True)
class Change:
    """Whether a parent has new data after a moment: ``new`` (None: nobody can tell), when
    it first changed after it and when it last did, and what says so."""

    new: bool | None
    first_at: float | None = None
    last_at: float | None = None
    via: str | None = None
    """The asset whose change it is (the parent itself, or what a view reads)."""


@dataclass
class World:
    """Everything a tick decides from, as of ``now`` (epoch seconds, the tick's clock)."""

    graph: AssetGraph
    now: float
    facts: Mapping[str, AssetFacts]
    claims: Mapping[str, Holder]
    """Assets held by a live run now (any process): running."""
    state: Mapping[str, AssetState]
    """What automation recorded of each asset: its latest decision and what it last built."""
    in_flight: tuple[int, ...] = ()
    """Automation runs of this scheduler still going."""
    max_runs: int = 1
    unobserved: frozenset[str] = frozenset()
    """Sources whose new data cannot be seen (no ``loaded_at_field``, no freshness, never checked)."""
    code_of: Callable[[str], tuple[str, str]] | None = None
    """An asset's code now: (dbt's checksum, a fingerprint blind to comments and whitespace)."""
    _changes: dict[tuple[str, float], Change] = field(default_factory=dict, repr=False)
    _parents: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _starts: dict[str, float | None] = field(default_factory=dict, repr=False)

    def parents(self, unique_id: str) -> list[str]:
        """The materialized assets and sources it reads (through ephemeral models)."""
        found = self._parents.get(unique_id)
        if found is None:
            graph = self.graph
            found = self._parents[unique_id] = [
                p for p in materialized_parents(graph, unique_id) if p in graph
            ]
        return found

    def last_build_start(self, unique_id: str) -> float | None:
        """When its last successful build started (its data is what it read then)."""
        if unique_id not in self._starts:
            facts = self.facts.get(unique_id)
            start = None
            if facts is not None and facts.last_success_at is not None:
                start = facts.last_success_at
                if facts.recent and facts.recent[-1][0] == facts.last_success_at:
                    start = facts.recent[-1][0] - facts.recent[-1][1]
            self._starts[unique_id] = start
        return self._starts[unique_id]

    def change(self, parent: str, since: float) -> Change:
        """Whether ``parent`` has new data after ``since``."""
        key = (parent, since)
        found = self._changes.get(key)
        if found is None:
            found = self._changes[key] = self._change(parent, since)
        return found

    def _change(self, parent: str, since: float) -> Change:
        record = self.graph.records[parent]
        facts = self.facts.get(parent)
        if record.resource_type == "source":
            if parent in self.unobserved:
                return Change(None, via=parent)
            seen = [t for t, _ in (facts.loads if facts else []) if t > since]
            return Change(bool(seen), min(seen, default=None), max(seen, default=None), parent)
        materialized = record.config.get("materialized")
        own = _successes_after(facts, since)
        if record.resource_type == "model" and materialized in ("view", "ephemeral", "materialized_view"):
            # no data of its own: what it reads (and, for a view, its own rebuild)
            changes = [self.change(p, since) for p in record.depends_on.nodes if p in self.graph.records]
            known = [c for c in changes if c.new is not None]
            if not known and not own:
                return Change(None, via=parent)
            firsts = [c.first_at for c in known if c.new and c.first_at is not None] + own[:1]
            lasts = [c.last_at for c in known if c.new and c.last_at is not None] + own[-1:]
            via = next((c.via for c in known if c.new), parent)
            return Change(bool(firsts), min(firsts, default=None), max(lasts, default=None), via)
        return Change(bool(own), own[0] if own else None, own[-1] if own else None, parent)


def _successes_after(facts: AssetFacts | None, since: float) -> list[float]:
    if facts is None or facts.last_success_at is None or facts.last_success_at <= since:
        return []
    found = sorted(t for t, _ in facts.recent if t > since)
    return found or [facts.last_success_at]


_COMMENTS = re.compile(r"\{#.*?#\}|/\*.*?\*/|--[^\n]*", re.S)


def code_fingerprints(graph: AssetGraph) -> Callable[[str], tuple[str, str]]:
    """An asset's code now, as ``(checksum, fingerprint)``: dbt's checksum of its file, and a
    hash of that file with SQL and Jinja comments removed and whitespace collapsed, so that a
    comment or a reformatting is not a change (dbt's checksum alone would say it is). The file
    is read only when asked (only for assets whose checksum moved since their last build)."""

    def code(unique_id: str) -> tuple[str, str]:
        record = graph.records[unique_id]
        checksum = (
            str((record.checksum or {}).get("checksum", "")) if isinstance(record.checksum, dict) else ""
        )
        text = None
        if graph.project_dir is not None and record.original_file_path:
            try:
                text = (Path(graph.project_dir) / record.original_file_path).read_text(errors="replace")
            except OSError:
                text = None
        if text is None or record.resource_type == "seed":
            return checksum, checksum
        plain = " ".join(_COMMENTS.sub(" ", text).split())
        return checksum, hashlib.sha256(plain.encode()).hexdigest()

    return code
