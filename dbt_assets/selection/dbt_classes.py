"""dbt's node classes used in this process, outside a dbt command: what they need around them.

dbt-core's ``same_*`` comparisons (``state:modified.<kind>``) are dbt's own answer, so dbt-assets
asks them rather than re-implementing them; outside a dbt command they need the adapter's
constraint support (dbt reads it from the adapter a command registers), and they speak through
dbt's event manager, whose default logger prints on stdout, which is dbt-assets' output.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dbt_assets._core.errors import SelectionError


@contextmanager
def quiet_dbt(needed: bool = True) -> Iterator[None]:
    """dbt's own event output (its warning of a breaking contract change, printed on stdout
    by dbt's default logger) held back while dbt's classes compare: the review reports those
    changes itself, and stdout carries its output. ``needed``: dbt may speak at all (importing
    dbt's event manager to silence it costs a third of a second)."""
    if not needed and "dbt_common.events.event_manager_client" not in sys.modules:
        yield
        return
    from dbt_common.events.event_manager_client import get_event_manager

    manager = get_event_manager()
    loggers, callbacks = list(manager.loggers), list(manager.callbacks)
    manager.loggers.clear()
    manager.callbacks.clear()
    try:
        yield
    finally:
        manager.loggers[:] = loggers
        manager.callbacks[:] = callbacks


@contextmanager
def constraint_support(adapter_type: str | None = None) -> Iterator[None]:
    """dbt's check of a changed contract asks the adapter which constraints it enforces, from
    the adapter dbt ls registers for the project; here the adapter's plugin answers (the same
    class attribute), loaded when installed."""
    from dbt.adapters import factory
    from dbt.contracts.graph import nodes

    def constraint_support(name: str | None) -> dict[str, Any]:
        if name in factory.FACTORY.adapters:
            return factory.get_adapter_constraint_support(name)
        try:
            factory.FACTORY.load_plugin(str(name))
        except Exception as exc:  # dbt raises its own runtime error, or the import's
            raise SelectionError(
                f"comparing a changed contract needs dbt's {name} adapter, which cannot be loaded ({exc})",
                f"install dbt-{name} next to dbt-assets",
            ) from exc
        adapter: Any = factory.FACTORY.plugins[str(name)].adapter
        support: dict[str, Any] = adapter.CONSTRAINT_SUPPORT
        return support

    original = nodes.get_adapter_constraint_support  # type: ignore[attr-defined]
    nodes.get_adapter_constraint_support = constraint_support  # type: ignore[attr-defined]
    try:
        yield
    finally:
        nodes.get_adapter_constraint_support = original  # type: ignore[attr-defined]
