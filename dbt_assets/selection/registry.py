"""The table of selection methods, and the context they look at.

A method takes the context, its dotted arguments (``config.materialized`` → ``("materialized",)``)
and the value, and returns matching unique_ids. dbt's own methods (:mod:`.methods`) and the
asset-aware ones (:mod:`.asset_methods`) register themselves here; the layers above add theirs
the same way (``status:`` and ``sla:`` from :mod:`dbt_assets.sla.methods`), so selection never
imports what it does not own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dbt_assets._core.errors import SelectionError

if TYPE_CHECKING:
    from dbt_assets.manifest.decode import NodeRecord
    from dbt_assets.manifest.graph import AssetGraph
    from dbt_assets.selection.state import PreviousState


@dataclass
class MethodContext:
    """What methods may look at: the graph, the project directory (for ``path:``) and the
    artifacts of an earlier invocation (``--state``, for ``state:``, ``result:`` and
    ``source_status:``)."""

    graph: AssetGraph
    project_dir: Path | None = None
    state: PreviousState | None = None
    history: Any = None
    """The run history the methods registered by the layers above read (``status:``, ``sla:``;
    default: the project's). Opaque here: selection knows nothing of histories."""
    at: float | None = None
    """The moment ``status:`` and ``sla:`` look at (default: now)."""
    unmatched: list[str] = field(default_factory=list)
    """The criteria typed on the command line that selected nothing (dbt warns of each)."""
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    """What a method computes once per selection (an index, the history's facts)."""

    def previous_state(self, method: str) -> PreviousState:
        if self.state is None:
            raise SelectionError(
                f"the '{method}:' method compares with an earlier run and needs --state DIR",
                "pass --state with the target/ directory (artifacts) of the run to compare with",
            )
        return self.state

    def records(self, kinds: frozenset[str] | None = None) -> Iterator[tuple[str, NodeRecord]]:
        for uid, record in self.graph.records.items():
            if kinds is None or record.resource_type in kinds:
                yield uid, record


Method = Callable[[MethodContext, tuple[str, ...], str], set[str]]

METHODS: dict[str, Method] = {}
"""Every method by name (what the parser accepts)."""
DBT_METHODS: set[str] = set()
"""The methods dbt itself has: a criterion using only these can be handed to dbt as written."""
HISTORY_METHODS: set[str] = set()
"""The methods that read the run history (an SLA rule may not use them: they decide who has one)."""


def register(name: str, method: Method, *, dbt: bool = False, reads_history: bool = False) -> Method:
    """Add ``name:`` to the table (``dbt``: dbt has this method too, with the same meaning;
    ``reads_history``: it reads ``MethodContext.history``)."""
    METHODS[name] = method
    if dbt:
        DBT_METHODS.add(name)
    if reads_history:
        HISTORY_METHODS.add(name)
    return method
