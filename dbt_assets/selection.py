"""Resolving what the user selected to a set of unique_ids, exactly as dbt does.

This first version takes bare values, which dbt resolves with its ``fqn`` method
(``orders``, ``customer_segments.v2``, ``marts``, ``shop.staging.*``), and applies the rules
that follow a selection in dbt: indirect test selection and the command's resource types.
dbt's other methods, graph operators and set operations are refused with a clear error
until the full grammar lands.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from fnmatch import fnmatch

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
_WILDCARDS = ("*", "?", "[", "]")
_FILE_SUFFIXES = (".sql", ".py", ".csv")


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


def fqn_matches(fqn: Sequence[str], selector: str, versioned: bool) -> bool:
    """Whether one fqn matches an fqn selector, by dbt's rules.

    A selector matches the fqn's leaf (for a versioned model: the model name, or
    ``name.vN``/``name_vN``), or a prefix of the fqn split on dots, where a part with a
    wildcard globs the rest of the fqn (or, for a selector without dots, the leaf).
    """
    if not fqn:
        return False
    parts = selector.split(".")
    if versioned:
        if fqn[-2] == selector or "_".join(fqn[-2:]) == "_".join(parts[-2:]):
            return True
    elif fqn[-1] == selector:
        return True
    flat = [piece for segment in fqn for piece in segment.split(".")]
    if len(flat) < len(parts):
        return False
    for i, part in enumerate(parts):
        if any(w in part for w in _WILDCARDS):
            if fnmatch(".".join(flat[i:]), ".".join(parts[i:])):
                return True
            if "." not in selector:
                return fnmatch(fqn[-2] if versioned else fqn[-1], selector)
            return False
        if flat[i] != part:
            return False
    return True


def select_fqn(graph: AssetGraph, selector: str) -> set[str]:
    """dbt's ``fqn:`` method: every non-source asset whose fqn (with or without its package) matches."""
    found = set()
    for uid, record in graph.records.items():
        if record.resource_type == "source":
            continue
        versioned = record.resource_type == "model" and record.version is not None
        if fqn_matches(record.fqn, selector, versioned) or fqn_matches(record.fqn[1:], selector, versioned):
            found.add(uid)
    return found


def resolve_values(graph: AssetGraph, values: Iterable[str]) -> set[str]:
    """Union of the bare values in ``values`` (space-separated values are split), each an fqn selector."""
    selected: set[str] = set()
    for value in values:
        for token in value.split():
            if any(c in token for c in "+@:,") or "/" in token or token.endswith(_FILE_SUFFIXES):
                raise SelectionError(
                    f"'{token}': only bare names (dbt's fqn method) can be selected in this version",
                    "select by name or fqn (orders, marts, shop.staging.*); "
                    "methods, paths, graph operators and set operations are not supported yet",
                )
            selected |= select_fqn(graph, token)
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
        for child in graph.direct_children(uid):
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
    chosen = set(graph.records) if not select else resolve_values(graph, select)
    if select:
        chosen = add_indirect_checks(graph, chosen, indirect_selection)
    return sorted(uid for uid in chosen if graph.records[uid].resource_type in types)
