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

import bisect
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dbt_assets.history.automation import AssetState
from dbt_assets.history.claims import Holder
from dbt_assets.history.facts import AssetFacts
from dbt_assets.manifest.graph import AssetGraph, materialized_parents

Estimate = Callable[[str, float], tuple[float, list[str]]]
"""``(unique_id, cycle_start) -> (seconds, critical path)``: the work left before a deadline,
as ``sla check`` predicts it."""


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
    code_of: Callable[[str], str] | None = None
    """An asset's code now, blind to comments and whitespace (:func:`code_fingerprints`)."""
    estimate: Estimate | None = None
    """The work left before a deadline (``keep_slas`` reads it)."""
    _timelines: dict[str, tuple[list[float], list[str]] | None] = field(default_factory=dict, repr=False)
    _starts: dict[str, float | None] = field(default_factory=dict, repr=False)

    def parents(self, unique_id: str) -> list[str]:
        """The materialized assets and sources it reads (through ephemeral models), kept with
        the graph (ticks of a loop share it)."""
        known: dict[str, list[str]] = self.graph.memo("automate_parents", dict)
        found = known.get(unique_id)
        if found is None:
            graph = self.graph
            found = known[unique_id] = [p for p in materialized_parents(graph, unique_id) if p in graph]
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
        """Whether ``parent`` has new data after ``since``: its timeline of changes, cut at
        ``since`` (one bisection: the timeline is worked out once per parent and tick)."""
        timeline = self._timeline(parent)
        if timeline is None:
            return Change(None, via=parent)
        times, vias = timeline
        index = bisect.bisect_right(times, since)
        if index == len(times):
            return Change(False, via=parent)
        return Change(True, times[index], times[-1], vias[-1])

    def _timeline(self, parent: str) -> tuple[list[float], list[str]] | None:
        """When ``parent``'s data changed (as far as the facts go), in order, and whose change
        each was; None when nothing can tell (a source whose loads cannot be seen, or a view
        over only such sources)."""
        if parent in self._timelines:
            return self._timelines[parent]
        record = self.graph.records[parent]
        facts = self.facts.get(parent)
        found: tuple[list[float], list[str]] | None
        if record.resource_type == "source":
            seen = sorted(t for t, _ in (facts.loads if facts else []))
            found = None if parent in self.unobserved else (seen, [parent] * len(seen))
        else:
            own = _successes(facts)
            changes = [(t, parent) for t in own]
            known = True
            if record.resource_type == "model" and record.config.get("materialized") in _NO_DATA:
                # no data of its own: what it reads (and, for a view, its own rebuilds)
                upstream = [self._timeline(p) for p in record.depends_on.nodes if p in self.graph.records]
                known = bool(own) or any(u is not None for u in upstream)
                for timeline in upstream:
                    if timeline is not None:
                        changes += zip(*timeline, strict=True)
            changes.sort()
            found = ([t for t, _ in changes], [v for _, v in changes]) if known else None
        self._timelines[parent] = found
        return found


_NO_DATA = ("view", "ephemeral", "materialized_view")


def _successes(facts: AssetFacts | None) -> list[float]:
    """When it succeeded, as far as the facts keep (the recent successes and the last)."""
    if facts is None or facts.last_success_at is None:
        return []
    return sorted({t for t, _ in facts.recent} | {facts.last_success_at})


_COMMENTS = re.compile(r"\{#.*?#\}|/\*.*?\*/|--[^\n]*", re.S)


def checksum_of(graph: AssetGraph, unique_id: str) -> str:
    """dbt's checksum of an asset's file, from the manifest."""
    given = graph.records[unique_id].checksum
    return str(given.get("checksum") or given.get("SHA256") or "") if isinstance(given, dict) else ""


def code_fingerprints(graph: AssetGraph) -> Callable[[str], str]:
    """An asset's code as a hash of its file with SQL and Jinja comments removed and whitespace
    collapsed, so that a comment or a reformatting is not a change (dbt's checksum alone would
    say it is); its checksum where the file cannot be read (or a seed's data). The file is read
    only when asked: for an asset whose checksum moved since its last build, or one built now."""

    def code(unique_id: str) -> str:
        record = graph.records[unique_id]
        text = None
        if graph.project_dir is not None and record.original_file_path and record.resource_type != "seed":
            try:
                text = (Path(graph.project_dir) / record.original_file_path).read_text(errors="replace")
            except OSError:
                text = None
        if text is None:
            return checksum_of(graph, unique_id)
        plain = " ".join(_COMMENTS.sub(" ", text).split())
        return hashlib.sha256(plain.encode()).hexdigest()

    return code
