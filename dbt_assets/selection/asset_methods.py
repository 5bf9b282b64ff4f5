"""dbt-assets' own selection methods on the graph: ``downstream_of:``, ``upstream_of:`` (a
nested criterion and everything below or above it) and ``owner:``."""

from __future__ import annotations

from fnmatch import fnmatch

from dbt_assets.selection.evaluate import criterion_nodes
from dbt_assets.selection.parse import parse_term
from dbt_assets.selection.registry import METHODS, MethodContext, register


def _inner(ctx: MethodContext, value: str) -> set[str]:
    """The assets one nested criterion (``orders``, ``tag:finance``) selects, operators applied."""
    return criterion_nodes(ctx, parse_term(value, METHODS))


def method_downstream_of(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    """``downstream_of:X``: X and everything downstream of it (dbt's ``X+``)."""
    base = _inner(ctx, value)
    return base | ctx.graph.reach_down(base)


def method_upstream_of(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    """``upstream_of:X``: X and everything upstream of it (dbt's ``+X``)."""
    base = _inner(ctx, value)
    return base | ctx.graph.reach_up(base)


def method_owner(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    """``owner:<glob>``: assets whose owner (meta.owner/owners, exposure or group owner) matches."""
    from dbt_assets.manifest.asset import owners_of  # pydantic: only when owner: is used

    groups = ctx.graph.manifest.groups
    return {uid for uid, r in ctx.records() if any(fnmatch(o, value) for o in owners_of(r, groups))}


register("downstream_of", method_downstream_of)
register("upstream_of", method_upstream_of)
register("owner", method_owner)
