"""Each changed node and its kinds of change, as dbt's ``state:`` methods see them.

``state:modified.<kind>`` answers one kind at a time for a set of nodes; a change review wants
the other way round: for each node, every kind that selects it. This module asks the same
:class:`~dbt_assets.selection.modified.StateComparison` that ``state:`` selection uses (never a
comparison of its own), so a node is reported changed exactly when ``dbt ls -s state:modified``
selects it, with the kinds ``state:modified.<kind>`` selects it for.

    >>> changes = node_changes(comparison, graph.records)            # doctest: +SKIP
    >>> changes.modified["model.shop.stg_orders"]                   # doctest: +SKIP
    ('body',)

Two answers dbt itself refuses to give are kept instead of raised: a breaking change to the
contract of a *versioned* model (dbt stops the comparison with ContractBreakingChangeError;
here the node is modified, kind ``contract``, and dbt's own words are kept in ``refused``), and
a versioned contracted model that was deleted (kept in ``removed`` with dbt's words).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from dbt_assets._core.errors import SelectionError
from dbt_assets.selection.dbt_classes import constraint_support, quiet_dbt
from dbt_assets.selection.modified import Fields, StateComparison

CHANGE_KINDS = ("body", "configs", "relation", "persisted_descriptions", "macros", "contract")
"""dbt's ``state:modified.<kind>`` sub-selectors, in dbt's order (dbt 1.11 has no ``versions``:
a new version is new, a deleted one removed)."""


@dataclass(frozen=True)
class NodeChanges:
    """What changed between two manifests, node by node."""

    new: frozenset[str] = frozenset()
    """Nodes ``state:new`` selects (every ``state:modified.<kind>`` selects them too)."""
    modified: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Nodes ``state:modified`` selects that are not new, each with the kinds of
    :data:`CHANGE_KINDS` that select it; none for a change dbt gives no sub-kind (a semantic
    model's or a metric's, a test's ``fqn``)."""
    removed: dict[str, str] = field(default_factory=dict)
    """Nodes of the previous manifest that are no longer enabled assets, each with its
    resource type."""
    refused: dict[str, str] = field(default_factory=dict)
    """Nodes whose comparison dbt refuses, with dbt's message: a breaking change to the
    contract of a versioned model, or a versioned contracted model deleted or disabled."""

    @property
    def changed(self) -> set[str]:
        """Every node ``state:modified`` selects."""
        return set(self.new) | set(self.modified)


def node_changes(comparison: StateComparison, unique_ids: Iterable[str]) -> NodeChanges:
    """The changes of ``unique_ids`` (the current manifest's enabled assets) against the
    previous manifest of ``comparison``."""
    ids = list(unique_ids)
    with quiet_dbt(contracts_changed(comparison, ids)):
        return _node_changes(comparison, ids)


def _node_changes(comparison: StateComparison, ids: list[str]) -> NodeChanges:
    previous_entries = comparison.previous_entries
    comparison, refused = _without_refused_removals(comparison, ids)
    new = comparison.check("new", ids)
    modified = _modified(comparison, [uid for uid in ids if uid not in new], refused) - new
    kinds: dict[str, list[str]] = {uid: [] for uid in sorted(modified)}
    for kind in CHANGE_KINDS:  # a refused node is found (and selected) by the contract check
        for uid in sorted(_check(comparison, f"modified.{kind}", sorted(modified), refused)):
            kinds[uid].append(kind)
    current = set(ids)
    removed = {
        uid: section_type
        for uid, (_, entry) in sorted(previous_entries.items())
        if uid not in current and (section_type := _resource_type(entry)) in _ASSET_TYPES and _enabled(entry)
    }
    return NodeChanges(frozenset(new), {uid: tuple(k) for uid, k in kinds.items()}, removed, refused)


def contracts_changed(comparison: StateComparison, ids: Iterable[str]) -> bool:
    """Whether any node with an enforced contract in the previous manifest changed: only then
    does dbt's comparison check a contract (and warn of a breaking change on stdout)."""
    current, previous = comparison.current_entries, comparison.previous_entries
    for uid in ids:
        old = previous.get(uid)
        raw = old[1].get("contract") if old is not None else None
        if raw is not None and b'"enforced":true' in bytes(raw).replace(b" ", b""):
            new = current.get(uid)
            if new is None or new[1] != old[1]:  # type: ignore[index]
                return True
    return False


_ASSET_TYPES = frozenset(
    {"model", "seed", "snapshot", "source", "test", "unit_test", "exposure", "metric", "semantic_model"}
    | {"saved_query", "analysis", "function"}
)


def _enabled(entry: Fields) -> bool:
    """Whether an entry was an enabled node (a disabled one may sit among the nodes too)."""
    raw = entry.get("config")
    config = msgspec.json.decode(raw) if raw is not None else {}
    return not isinstance(config, dict) or config.get("enabled", True) is not False


def _resource_type(entry: Fields) -> str:
    raw = entry.get("resource_type")
    value = msgspec.json.decode(raw) if raw is not None else ""
    return str(value)


def _without_refused_removals(
    comparison: StateComparison, ids: Sequence[str]
) -> tuple[StateComparison, dict[str, str]]:
    """The comparison without the previous manifest's versioned contracted models that dbt
    refuses to see deleted (it raises for them, whatever is selected), and dbt's message for
    each; the comparison itself when there are none."""
    try:
        comparison.check("modified", [])
        return comparison, {}
    except SelectionError:
        pass
    current = set(ids)
    previous = comparison.previous
    refused: dict[str, str] = {}
    kept: dict[str, Fields] = {}
    for uid, entry in (previous.nodes or {}).items():
        if uid not in current:
            try:
                StateComparison.of({"nodes": {}}, {"nodes": {uid: _decoded(entry)}}).check("modified", [])
            except SelectionError as exc:
                refused[uid] = exc.message
                continue
        kept[uid] = entry
    trimmed = msgspec.structs.replace(previous, nodes=kept)
    return StateComparison(comparison.current, trimmed, comparison.project_flags), refused


def _decoded(entry: Fields) -> dict[str, Any]:
    return {key: msgspec.json.decode(raw) for key, raw in entry.items()}


def _modified(comparison: StateComparison, ids: list[str], refused: dict[str, str]) -> set[str]:
    """``state:modified`` of ``ids``; a node whose comparison dbt refuses (a breaking change to
    a versioned model's contract) is modified, its message kept in ``refused``."""
    return _check(comparison, "modified", ids, refused)


def _check(comparison: StateComparison, selector: str, ids: list[str], refused: dict[str, str]) -> set[str]:
    """``comparison.check(selector, ids)``; when dbt refuses some node, the refused ones are
    found by halving (each is selected, its message kept) and the rest checked as usual."""
    if not ids:
        return set()
    try:
        return comparison.check(selector, ids)
    except SelectionError as exc:
        if len(ids) == 1:
            refused.setdefault(ids[0], exc.message)
            return {ids[0]}
    half = len(ids) // 2
    return _check(comparison, selector, ids[:half], refused) | _check(
        comparison, selector, ids[half:], refused
    )


def entry_values(comparison: StateComparison, unique_id: str, *, previous: bool = False) -> dict[str, Any]:
    """A node's manifest entry (current, or ``previous``) as plain values; empty when the
    manifest has no such node. Decoded on demand: only changed nodes are ever asked for."""
    entries = comparison.previous_entries if previous else comparison.current_entries
    found = entries.get(unique_id)
    return {} if found is None else _decoded(found[1])


def changed_macros(comparison: StateComparison, unique_id: str) -> list[str]:
    """The changed (or deleted) macros a node calls, directly or through other macros: why
    ``state:modified.macros`` selects it."""
    changed = comparison.modified_macros
    if not changed:
        return []
    macros = comparison.current.macros or {}
    found: set[str] = set()
    todo = list(entry_values(comparison, unique_id).get("depends_on", {}).get("macros") or [])
    seen: set[str] = set()
    while todo:
        uid = todo.pop()
        if uid in seen:
            continue
        seen.add(uid)
        if uid in changed:
            found.add(uid)
        macro = macros.get(uid)
        if macro is not None and "depends_on" in macro:
            depends = msgspec.json.decode(macro["depends_on"]) or {}
            todo.extend(depends.get("macros") or [])
    return sorted(found)


def breaking_contract_changes(comparison: StateComparison, unique_id: str) -> list[str]:
    """dbt's own words for each breaking change to a model's enforced contract (columns
    removed, data types changed, enforcement removed, constraints removed, ...), from dbt's
    ``same_contract``; empty when the change is not breaking. dbt only warns of these on an
    unversioned model, so it is asked as if the model were versioned, where it says them."""
    new = entry_values(comparison, unique_id)
    old = entry_values(comparison, unique_id, previous=True)
    if new.get("resource_type") != "model" or not old:
        return []
    if not (old.get("contract") or {}).get("enforced"):
        return []
    from dbt.contracts.graph.nodes import ModelNode
    from dbt.exceptions import ContractBreakingChangeError

    try:
        current = ModelNode.from_dict({**new, "version": new.get("version") or 1})
        before = ModelNode.from_dict(old)
    except Exception as exc:  # dbt's validation errors have no common base
        raise SelectionError(
            f"cannot compare the contract of {unique_id}: dbt could not read its manifest entry ({exc})",
            "compare manifests written by the same dbt version",
        ) from exc
    try:
        with quiet_dbt(), constraint_support():
            current.same_contract(before, comparison.adapter_type)
    except ContractBreakingChangeError as exc:
        return [_one_line(change) for change in exc.breaking_changes]
    return []


def _one_line(change: str) -> str:
    """dbt's ``Columns were removed: \\n    - a\\n    - b`` as ``Columns were removed: a, b``."""
    head, *items = (line.strip() for line in change.splitlines())
    listed = [item.removeprefix("- ").strip() for item in items if item]
    return f"{head.rstrip()} {', '.join(listed)}".strip() if listed else head
