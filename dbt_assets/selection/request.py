"""What to select, as one value: dbt's selection flags (``--select``, ``--exclude``,
``--selector``, ``--resource-type``, ``--exclude-resource-type``, ``--indirect-selection``,
``--state``) that every function that selects takes, instead of eight keyword arguments each.

    >>> Selection(["tag:finance+"], exclude=["stg_*"], resource_types=["model"]).flags()
    ['--select', 'tag:finance+', '--exclude', 'stg_*', '--resource-type', 'model']

Anywhere a Selection is taken, a list of ``--select`` values (or one string) is taken too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Union

from dbt_assets._core.errors import SelectionError
from dbt_assets.selection.spec import INDIRECT_SELECTION_MODES, IndirectSelection

_LISTS = ("select", "exclude", "resource_types", "exclude_resource_types")


@dataclass(frozen=True, init=False)
class Selection:
    """dbt's selection flags as a value (immutable; lists are kept as tuples)."""

    select: tuple[str, ...]
    exclude: tuple[str, ...]
    selector: str | None
    resource_types: tuple[str, ...]
    exclude_resource_types: tuple[str, ...]
    indirect_selection: IndirectSelection
    state: str | None
    """dbt's ``--state DIR``, read by ``state:``, ``result:`` and ``source_status:``."""

    def __init__(
        self,
        select: str | Sequence[str] = (),
        *,
        exclude: str | Sequence[str] = (),
        selector: str | None = None,
        resource_types: str | Sequence[str] = (),
        exclude_resource_types: str | Sequence[str] = (),
        indirect_selection: IndirectSelection = "eager",
        state: str | Path | None = None,
    ) -> None:
        given = {
            "select": select,
            "exclude": exclude,
            "resource_types": resource_types,
            "exclude_resource_types": exclude_resource_types,
        }
        for name, value in given.items():
            values = (value,) if isinstance(value, str) else tuple(value)
            if not all(isinstance(v, str) for v in values):
                raise SelectionError(f"{name} takes strings, not {values!r}")
            object.__setattr__(self, name, values)
        if indirect_selection not in INDIRECT_SELECTION_MODES:
            raise SelectionError(
                f"unknown indirect selection mode '{indirect_selection}'",
                f"use one of {', '.join(INDIRECT_SELECTION_MODES)}",
            )
        object.__setattr__(self, "selector", selector)
        object.__setattr__(self, "indirect_selection", indirect_selection)
        object.__setattr__(self, "state", None if state is None else str(state))

    @classmethod
    def of(cls, value: Selected) -> Selection:
        """``value`` as a Selection: itself, or the ``--select`` values it lists."""
        return value if isinstance(value, Selection) else cls(value)

    def replace(self, **changes: Any) -> Selection:
        """The same selection with some flags changed."""
        current = {field.name: getattr(self, field.name) for field in fields(self)}
        return Selection(**(current | changes))

    @property
    def empty(self) -> bool:
        """Nothing selected or excluded by name (dbt's default: everything, or the default selector)."""
        return not self.select and not self.exclude and self.selector is None

    def flags(self) -> list[str]:
        """The selection as dbt's command-line flags."""
        flags: list[str] = []
        for name, flag in (
            ("select", "--select"),
            ("exclude", "--exclude"),
            ("resource_types", "--resource-type"),
            ("exclude_resource_types", "--exclude-resource-type"),
        ):
            values: tuple[str, ...] = getattr(self, name)
            flags += [flag, *values] if values else []
        flags += ["--selector", self.selector] if self.selector else []
        flags += (
            ["--indirect-selection", self.indirect_selection] if self.indirect_selection != "eager" else []
        )
        flags += ["--state", self.state] if self.state else []
        return flags

    def record(self) -> dict[str, Any]:
        """What a run keeps of it in the history: the flags that were given."""
        names = {"resource_types": "resource_type", "exclude_resource_types": "exclude_resource_type"}
        kept: dict[str, Any] = {}
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name in _LISTS:
                value = sorted(value) if "resource" in field.name else list(value)
            if value and not (field.name == "indirect_selection" and value == "eager"):
                kept[names.get(field.name, field.name)] = value
        return kept


Selected = Union[Selection, str, Sequence[str]]  # noqa: UP007 (a runtime alias for annotations)
"""What a function that selects accepts: a Selection, or ``--select`` values."""
