"""The selection spec tree: criteria combined by union, intersection and difference.

A spec is what a selection string or a YAML selector means before it meets a graph:

    orders+ tag:finance,config.materialized:table   →   Union(Criterion(orders, children),
                                                          Intersection(Criterion(tag), Criterion(config)))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

IndirectSelection = Literal["eager", "cautious", "buildable", "empty"]
INDIRECT_SELECTION_MODES: tuple[IndirectSelection, ...] = ("eager", "cautious", "buildable", "empty")


@dataclass(frozen=True)
class Criterion:
    """One ``[@][N+]method[.arg...]:value[+N]`` term."""

    raw: str
    method: str
    args: tuple[str, ...]
    value: str
    parents: bool = False
    parents_depth: int | None = None
    children: bool = False
    children_depth: int | None = None
    childrens_parents: bool = False
    indirect_selection: IndirectSelection = "eager"
    method_given: bool = True
    """False when the method was inferred from the value (a bare ``orders`` is fqn)."""

    @property
    def has_graph_operator(self) -> bool:
        return self.parents or self.children or self.childrens_parents


@dataclass(frozen=True)
class Group:
    """A set operation over components; ``indirect_selection`` is used to incorporate
    cautiously/buildably selected tests at this level, as dbt does."""

    kind: Literal["union", "intersection", "difference"]
    components: tuple[Spec, ...]
    indirect_selection: IndirectSelection = "eager"
    raw: str = ""
    expect_exists: bool = False


Spec = Criterion | Group


@dataclass(frozen=True)
class SelectionRequest:
    """Everything that decides a selection, as a command line gives it."""

    select: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    selector: str | None = None
    resource_types: tuple[str, ...] = ()
    exclude_resource_types: tuple[str, ...] = ()
    indirect_selection: IndirectSelection = "eager"
    state: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
