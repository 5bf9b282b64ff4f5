"""The Airflow tests' DAG description: a test and the DAG file that ``dag.test()`` parses
build the same DAG from one JSON description (no side effects on import)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pendulum


def dag_kwargs(spec: dict[str, Any]) -> dict[str, Any]:
    """``dbt_dag``'s keyword arguments from a test's JSON description (the test and the DAG
    file build the same DAG): seconds for ``retry_delay``, a DAG time zone for ``timezone``."""
    kwargs = dict(spec)
    kwargs["retry_delay"] = timedelta(seconds=kwargs.pop("retry_delay", 0))
    if "timezone" in kwargs:
        kwargs["start_date"] = pendulum.datetime(2026, 1, 1, tz=kwargs.pop("timezone"))
    return kwargs
