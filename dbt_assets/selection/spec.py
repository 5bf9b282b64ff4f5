"""The selection spec tree: criteria combined by union, intersection and difference.

A spec is what a selection string or a YAML selector means before it meets a graph:

    orders+ tag:finance,config.materialized:table   →   Union(Criterion(orders, children),
                                                          Intersection(Criterion(tag), Criterion(config)))
"""

from __future__ import annotations

from dataclasses import dataclass
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
    method_written: bool = True
    """Whether the term named its method (``fqn:orders``), or left it to the value's form
    (``orders``): :func:`~dbt_assets.selection.generate.criterion_text` writes it back the same way."""

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
