"""Resolving what the user selected to a set of unique_ids, as dbt does.

This first version takes plain asset names (``orders``, ``customer_segments.v2``,
``shop.orders`` for a source, or a unique_id) and applies dbt's rules that follow a selection:
indirect test selection and the command's resource types. dbt's full grammar (methods,
graph operators, set operations) replaces :func:`resolve_names` when it lands.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from dbt_assets.errors import SelectionError
from dbt_assets.graph import AssetGraph

# `dbt ls` defaults, from dbt-core's ListTask.
LS_DEFAULT_RESOURCE_TYPES = frozenset(
    {
        "model",
        "snapshot",
        "seed",
        "test",
        "source",
        "exposure",
        "metric",
        "saved_query",
        "semantic_model",
        "unit_test",
        "function",
    }
)
LS_ALL_RESOURCE_TYPES = LS_DEFAULT_RESOURCE_TYPES | {"analysis"}
INDIRECT_SELECTION_MODES = ("eager", "cautious", "buildable", "empty")
_OPERATOR_CHARS = set("+@:,*?[]")


def resource_types_for(
    requested: Collection[str],
    excluded: Collection[str] = (),
    *,
    default: frozenset[str] = LS_DEFAULT_RESOURCE_TYPES,
    all_types: frozenset[str] = LS_ALL_RESOURCE_TYPES,
) -> frozenset[str]:
    """dbt's ``--resource-type``/``--exclude-resource-type`` rules, ``all`` and ``default`` included."""
    if not requested:
        chosen = set(default)
    else:
        chosen = set(requested)
        if "all" in chosen:
            chosen.discard("all")
            chosen |= all_types
        if "default" in chosen:
            chosen.discard("default")
            chosen |= default
    return frozenset(chosen - set(excluded))


def resolve_names(graph: AssetGraph, values: Iterable[str]) -> set[str]:
    """Unique ids of the assets named in ``values`` (space-separated names are split)."""
    selected: set[str] = set()
    for value in values:
        for token in value.split():
            if _OPERATOR_CHARS & set(token) and token not in graph:
                raise SelectionError(
                    f"'{token}': only plain asset names can be selected in this version",
                    "select by name (orders, customer_segments.v2, shop.orders); "
                    "dbt's selector grammar is not supported yet",
                )
            matches = graph.lookup(token)
            if not matches:
                graph.find(token)  # raises the did-you-mean error
            selected.update(matches)
    return selected


def add_indirect_checks(graph: AssetGraph, selected: set[str], mode: str = "eager") -> set[str]:
    """Add tests and unit tests of the selected assets, per dbt's indirect selection ``mode``.

    eager: any parent selected; cautious: all parents selected; buildable: all parents selected
    or upstream of the selection; empty: none.
    """
    if mode not in INDIRECT_SELECTION_MODES:
        raise SelectionError(
            f"unknown indirect selection mode '{mode}'",
            f"use one of {', '.join(INDIRECT_SELECTION_MODES)}",
        )
    if mode == "empty":
        return set(selected)
    result = set(selected)
    allowed: set[str] = set(selected)
    if mode == "buildable":
        for uid in selected:
            allowed |= graph.upstream(uid)
        allowed |= {u for u, r in graph.records.items() if r.resource_type == "source"}
    for uid in selected:
        for child in graph.nx.successors(uid):
            record = graph.records[child]
            if record.resource_type not in ("test", "unit_test"):
                continue
            if mode == "eager" or set(record.depends_on.nodes) <= allowed:
                result.add(child)
    return result


def select(
    graph: AssetGraph,
    select: Sequence[str] = (),
    *,
    resource_types: Collection[str] = (),
    exclude_resource_types: Collection[str] = (),
    indirect_selection: str = "eager",
) -> list[str]:
    """What ``dbt ls`` would list for these options, as sorted unique_ids.

    >>> select(graph, ["orders"], resource_types=["model"])    # doctest: +SKIP
    ['model.shop.orders']
    """
    types = resource_types_for(resource_types, exclude_resource_types)
    chosen = set(graph.records) if not select else resolve_names(graph, select)
    if select:
        chosen = add_indirect_checks(graph, chosen, indirect_selection)
    return sorted(uid for uid in chosen if graph.records[uid].resource_type in types)
