"""Selection: from what the user typed to the exact set of assets dbt would select.

    parse (strings, YAML selectors) → spec (criteria, set operations) → methods → evaluate

dbt's whole grammar, with dbt-assets' extension methods in the same method table.

    >>> select(graph, ["orders+", "tag:finance,config.materialized:table"],
    ...        exclude=["stg_*"])  # doctest: +SKIP
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Sequence
from pathlib import Path

from dbt_assets._core.errors import SelectionError
from dbt_assets._core.vocab import ASSET_RESOURCE_TYPES, BUILD_TYPES, CHECK_TYPES, LS_DEFAULT_TYPES
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.selection import asset_methods, methods  # noqa: F401 (they register themselves)
from dbt_assets.selection.evaluate import evaluate, filter_resource_types
from dbt_assets.selection.parse import parse_cli, parse_definition, parse_term
from dbt_assets.selection.registry import DBT_METHODS, METHODS, MethodContext
from dbt_assets.selection.request import Selected, Selection
from dbt_assets.selection.selectors import default_selector, project_selectors
from dbt_assets.selection.spec import INDIRECT_SELECTION_MODES, Criterion, IndirectSelection, Spec
from dbt_assets.selection.state import STATE_METHODS, PreviousState

__all__ = [
    "COMMANDS",
    "DBT_METHODS",
    "INDIRECT_SELECTION_MODES",
    "METHODS",
    "STATE_METHODS",
    "PreviousState",
    "methods_used",
    "previous_state",
    "resolve",
    "resource_types_for",
    "select",
    "selection_spec",
    "unmatched_warning",
]

# command → (default resource types, what --resource-type all means)
COMMANDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "ls": (LS_DEFAULT_TYPES, LS_DEFAULT_TYPES | {"analysis"}),
    "build": (BUILD_TYPES, BUILD_TYPES),
    "run": (frozenset({"model"}), frozenset({"model"})),
    "test": (CHECK_TYPES, CHECK_TYPES),
    "seed": (frozenset({"seed"}), frozenset({"seed"})),
    "snapshot": (frozenset({"snapshot"}), frozenset({"snapshot"})),
}


def resource_types_for(
    command: str = "ls", requested: Collection[str] = (), excluded: Collection[str] = ()
) -> frozenset[str]:
    """dbt's ``--resource-type``/``--exclude-resource-type`` rules for ``command``."""
    if command not in COMMANDS:
        raise SelectionError(f"unknown command '{command}'", f"use one of {', '.join(COMMANDS)}")
    default, all_types = COMMANDS[command]
    for given, words in ((requested, ("all", "default")), (excluded, ())):
        unknown = sorted(set(given) - ASSET_RESOURCE_TYPES - set(words))
        if unknown:  # also never a word of dbt's command line that is not a resource type
            raise SelectionError(
                f"unknown resource type '{unknown[0]}'",
                f"use one of {', '.join(sorted(ASSET_RESOURCE_TYPES | set(words)))}",
            )
    if not requested:
        chosen = set(default)
    else:
        chosen = set(requested)
        if "all" in chosen:
            chosen = (chosen - {"all"}) | all_types
        if "default" in chosen:
            chosen = (chosen - {"default"}) | default
    chosen -= set(excluded)
    if command == "test":
        chosen &= {"test", "unit_test"}
    return frozenset(chosen)


def selection_spec(graph: AssetGraph, selection: Selected = ()) -> Spec:
    """The spec dbt builds: ``--selector NAME``, else the project's default selector when
    nothing is selected or excluded, else ``--select`` minus ``--exclude``."""
    chosen = Selection.of(selection)
    try:
        return _spec(graph, chosen.select, chosen.exclude, chosen.selector, chosen.indirect_selection)
    except RecursionError as exc:
        raise SelectionError(
            "the selection is nested too deeply to read", "flatten the YAML selector definition"
        ) from exc


def _spec(
    graph: AssetGraph,
    select: Sequence[str],
    exclude: Sequence[str],
    selector: str | None,
    indirect_selection: IndirectSelection,
) -> Spec:
    if selector is not None:
        if select or exclude:
            raise SelectionError(
                "--selector cannot be combined with --select or --exclude",
                "put the extra criteria into the YAML selector, or drop --selector",
            )
        selectors = project_selectors(graph)
        if selector not in selectors:
            known = ", ".join(sorted(selectors)) or "none"
            raise SelectionError(f"no selector named '{selector}' in selectors.yml", f"defined: {known}")
        return parse_definition(selectors[selector]["definition"], METHODS, indirect_selection, selectors)
    if not select and not exclude:
        selectors = project_selectors(graph)
        default = default_selector(selectors)
        if default is not None:
            return parse_definition(selectors[default]["definition"], METHODS, indirect_selection, selectors)
    return parse_cli(select, exclude, METHODS, indirect_selection)


def select(
    graph: AssetGraph,
    selection: Selected = (),
    *,
    command: str = "ls",
    project_dir: str | Path | None = None,
    history: object = None,
    at: float | None = None,
    unmatched: list[str] | None = None,
) -> list[str]:
    """The sorted unique_ids dbt would select for ``command`` with the same flags.

    ``path:`` globs the files of ``project_dir`` (default: the graph's project), or the paths
    the manifest knows when the graph came from a manifest file alone. The selection's
    ``state`` is dbt's ``--state DIR`` (relative to the project directory), read by
    ``state:``, ``result:`` and ``source_status:``. ``status:`` and ``sla:`` read ``history``
    (default: the project's) as of ``at`` (default: now). The criteria that matched no node,
    of which dbt warns, are added to ``unmatched`` when it is given.
    """
    chosen = Selection.of(selection)
    spec = selection_spec(graph, chosen)
    types = resource_types_for(command, chosen.resource_types, chosen.exclude_resource_types)
    return resolve(graph, spec, types, project_dir, chosen.state, history, at, unmatched)


def resolve(
    graph: AssetGraph,
    spec: Spec,
    types: Collection[str],
    project_dir: str | Path | None = None,
    state: str | Path | PreviousState | None = None,
    history: object = None,
    at: float | None = None,
    unmatched: list[str] | None = None,
) -> list[str]:
    """The sorted unique_ids a spec selects, filtered to the command's resource ``types``
    (the criteria that matched nothing added to ``unmatched``)."""
    root = Path(project_dir) if project_dir is not None else graph.project_dir
    ctx = MethodContext(graph, root, previous_state(graph, state, root), history, at)
    direct, _ = evaluate(ctx, spec)
    if unmatched is not None:
        unmatched.extend(ctx.unmatched)
    return filter_resource_types(ctx, direct, types)


def unmatched_warning(graph: AssetGraph, raw: str) -> str:
    """dbt's warning for a criterion that matched nothing, with the closest asset name or tag."""
    message = f"The selection criterion '{raw}' does not match any enabled nodes"
    word = raw.split(",")[0].lstrip("@+0123456789").rstrip("+0123456789")
    method, _, value = word.rpartition(":")
    if method in ("", "fqn"):
        names = graph.memo(
            "suggestion_names", lambda: sorted({r.search_name for r in graph.records.values()})
        )
    elif method == "tag":
        names = graph.memo(
            "suggestion_tags", lambda: sorted({t for r in graph.records.values() for t in r.tags})
        )
    else:
        return message
    close = difflib.get_close_matches(value, names, n=1, cutoff=0.6)
    prefix = "" if method in ("", "fqn") else f"{method}:"
    return message + (f" (did you mean '{prefix}{close[0]}'?)" if close else "")


def previous_state(
    graph: AssetGraph, state: str | Path | PreviousState | None, project_dir: Path | None = None
) -> PreviousState | None:
    """dbt's ``--state DIR`` for a graph: relative to its project, and with the current
    ``sources.json`` beside its manifest."""
    if state is None or isinstance(state, PreviousState):
        return state
    root = project_dir if project_dir is not None else graph.project_dir
    return PreviousState.locate(state, root, Path(graph.manifest.path).parent)


NESTING_METHODS = frozenset({"downstream_of", "upstream_of"})
"""Methods whose value is itself a criterion (``downstream_of:tag:finance``)."""


def methods_used(spec: Spec) -> set[str]:
    """Every method a spec uses, nested criteria included."""
    if isinstance(spec, Criterion):
        found = {spec.method}
        if spec.method in NESTING_METHODS:
            found |= methods_used(parse_term(spec.value, METHODS))
        return found
    return set().union(*(methods_used(c) for c in spec.components))
