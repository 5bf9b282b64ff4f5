"""Apply a selection spec to an asset graph, exactly as dbt's NodeSelector does.

Each criterion selects nodes with its method, adds its graph operators' neighbours, then
indirectly selects tests (eager, cautious, buildable or empty). Groups combine the
"direct" sets of their components, and separately the "direct or indirect" sets, and then
let cautious/buildable tests in once all their parents made it. The command's resource types
filter the result last.
"""

from __future__ import annotations

from collections.abc import Collection

from dbt_assets._core.vocab import CHECK_TYPES, PARSED_TYPES
from dbt_assets.selection.registry import METHODS, MethodContext
from dbt_assets.selection.spec import Criterion, IndirectSelection, Spec


def criterion_nodes(ctx: MethodContext, criterion: Criterion) -> set[str]:
    """What one criterion selects before indirect selection: its method's nodes and operators."""
    collected = METHODS[criterion.method](ctx, criterion.args, criterion.value)
    graph = ctx.graph
    extra: set[str] = set()
    if criterion.childrens_parents:
        down = graph.reach_down(collected) | collected
        extra |= graph.reach_up(down) | down
    if criterion.parents:
        extra |= graph.reach_up(collected, criterion.parents_depth)
    if criterion.children:
        extra |= graph.reach_down(collected, criterion.children_depth)
    return collected | extra


def _expand(ctx: MethodContext, selected: set[str], mode: IndirectSelection) -> tuple[set[str], set[str]]:
    """dbt's expand_selection: tests next to the selection join it directly or wait as indirect."""
    graph = ctx.graph
    direct, indirect = set(selected), set()
    allowed = selected
    if mode == "buildable":
        sources = {u for u, r in graph.records.items() if r.resource_type == "source"}
        allowed = selected | graph.reach_up(selected) | sources
    for uid in selected:
        for child in graph.direct_children(uid):
            record = graph.records[child]
            if record.resource_type not in CHECK_TYPES:
                continue
            parents = record.depends_on.nodes
            if (
                mode == "eager"
                or all(p in selected for p in parents)
                or (mode == "buildable" and all(p in allowed for p in parents))
            ):
                direct.add(child)
            elif mode != "empty":
                indirect.add(child)
    return direct, indirect


def _incorporate(
    ctx: MethodContext, direct: set[str], indirect: set[str], mode: IndirectSelection
) -> set[str]:
    """dbt's incorporate_indirect_nodes: waiting tests (of manifest.nodes, so not unit tests)
    join once all their parents are selected (cautious) or selected-or-upstream (buildable)."""
    if direct == indirect or mode not in ("cautious", "buildable"):
        return direct
    graph = ctx.graph
    selected = set(direct)
    allowed = selected if mode == "cautious" else selected | graph.reach_up(selected)
    for uid in indirect:
        record = graph.records[uid]
        if record.resource_type in PARSED_TYPES and all(p in allowed for p in record.depends_on.nodes):
            selected.add(uid)
    return selected


def evaluate(ctx: MethodContext, spec: Spec) -> tuple[set[str], set[str]]:
    """(direct, direct-or-indirect) unique_ids of a spec, before resource-type filtering."""
    if isinstance(spec, Criterion):
        selected = criterion_nodes(ctx, spec)
        if spec.indirect_selection == "empty":
            return selected, set()
        return _expand(ctx, selected, spec.indirect_selection)
    if not spec.components:
        return set(), set()
    bundles = [evaluate(ctx, component) for component in spec.components]
    directs = [direct for direct, _ in bundles]
    indirects = [direct | indirect for direct, indirect in bundles]
    direct, indirect = _combine(spec.kind, directs), _combine(spec.kind, indirects)
    direct = _incorporate(ctx, direct, indirect, spec.indirect_selection)
    if spec.expect_exists and not direct:
        ctx.unmatched.append(spec.raw)  # dbt: NoNodesForSelectionCriteria, before type filtering
    return direct, indirect


def _combine(kind: str, sets: list[set[str]]) -> set[str]:
    first, rest = sets[0], sets[1:]
    if kind == "union":
        return first.union(*rest)
    if kind == "intersection":
        return first.intersection(*rest)
    return first.difference(*rest)


def filter_resource_types(
    ctx: MethodContext, unique_ids: Collection[str], types: Collection[str]
) -> list[str]:
    """The selected unique_ids whose resource type the command runs, sorted like dbt."""
    records = ctx.graph.records
    return sorted(uid for uid in unique_ids if records[uid].resource_type in types)
