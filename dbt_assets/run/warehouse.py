"""What relations the warehouse of a project's target holds, asked without dbt: used before a
run to tell an upstream asset that was never built from one built by other means.

Only targets whose warehouse can be read directly are asked: DuckDB (its database file, opened
read-only and closed before dbt starts). Any other adapter, a profile value still holding Jinja
other than ``env_var``, a database dbt is writing, or no ``duckdb`` module: the answer is
``None`` (unknown), and callers must then assume nothing is missing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dbt_assets._core.errors import DbtAssetsError
from dbt_assets._core.settled import read_yaml
from dbt_assets.manifest.graph import AssetGraph, is_materialized, materialized_parents
from dbt_assets.run.project import Project

Relation = tuple[str, str, str]
"""(database, schema, identifier), lower-cased."""

_ENV_VAR = re.compile(r"""\{\{\s*env_var\(\s*['"]([^'"]+)['"]\s*(?:,\s*['"]([^'"]*)['"]\s*)?\)\s*\}\}""")


def target_output(project: Project) -> dict[str, Any] | None:
    """The profile output dbt would use for the project's target, or None when it cannot be
    read without dbt (no such profile or target: dbt itself will say so when it runs)."""
    try:
        profiles = read_yaml(project.profiles_dir / "profiles.yml", ValueError)
    except (DbtAssetsError, ValueError, OSError):  # unknown: dbt reports a bad profile itself
        return None
    profile = profiles.get(str(project.config.get("profile", ""))) if isinstance(profiles, dict) else None
    if not isinstance(profile, dict) or not isinstance(profile.get("outputs"), dict):
        return None
    target = _render(project.target or os.environ.get("DBT_TARGET") or profile.get("target", "default"))
    output = profile["outputs"].get(target) if target is not None else None
    return output if isinstance(output, dict) else None


def _render(value: object) -> str | None:
    """A profile value with ``{{ env_var('X'[, 'default']) }}`` filled in; None when it holds
    other Jinja, or an unset variable without a default."""
    if not isinstance(value, str):
        return None if value is None else str(value)
    missing = False

    def fill(match: re.Match[str]) -> str:
        nonlocal missing
        found = os.environ.get(match[1], match[2])
        missing = missing or found is None
        return found or ""

    rendered = _ENV_VAR.sub(fill, value)
    return None if missing or "{{" in rendered or "{%" in rendered else rendered


def existing_relations(project: Project) -> set[Relation] | None:
    """Every table and view in the target's warehouse, or None when it cannot be asked."""
    output = target_output(project)
    if output is None or output.get("type") != "duckdb":
        return None
    path = _render(output.get("path", ":memory:"))
    if path is None or path == ":memory:" or path.startswith(("md:", "motherduck:", "s3:", "http")):
        return None
    file = Path(path) if Path(path).is_absolute() else project.project_dir / path  # dbt runs from there
    if not file.exists():
        return set()  # nothing was ever built in this target
    try:
        import duckdb
    except ImportError:
        return None
    try:
        with duckdb.connect(str(file), read_only=True) as connection:
            rows = connection.execute(
                "select table_catalog, table_schema, table_name from information_schema.tables"
            ).fetchall()
    except duckdb.Error:  # being written by dbt, another version's file, ...
        return None
    return {(str(d).lower(), str(s).lower(), str(t).lower()) for d, s, t in rows}


def relation_of(graph: AssetGraph, unique_id: str) -> Relation | None:
    """The (database, schema, identifier) dbt builds ``unique_id`` into, lower-cased."""
    record = graph.records[unique_id]
    name = record.alias or record.identifier or record.name
    if not record.schema:
        return None
    return ((record.database or "").lower(), record.schema.lower(), name.lower())


@dataclass(frozen=True)
class Preflight:
    """What a run would need that the warehouse does not hold."""

    unbuilt: dict[str, list[str]] = field(default_factory=dict)
    """Materialized assets outside the run that it reads and that were never built, each with
    the assets of the run that read them."""
    unloaded: dict[str, str | None] = field(default_factory=dict)
    """Sources the run reads whose relation does not exist, each with the seed, model or
    snapshot of the project that writes that relation (a seed loading a source), if any."""

    def __bool__(self) -> bool:
        return bool(self.unbuilt or self.unloaded)


def preflight(
    graph: AssetGraph, unique_ids: Iterable[str], built: Callable[[Iterable[str]], set[str]], project: Project
) -> Preflight:
    """What the run of ``unique_ids`` reads and the warehouse lacks (see :class:`Preflight`).
    ``built`` tells which assets are known as built (a recorded success): the warehouse is
    asked only when some asset of the run, or outside it that it reads, is not, so a project
    that ran before costs one history query. Nothing is reported when the warehouse cannot be
    asked."""
    chosen = {uid for uid in unique_ids if uid in graph.records}
    readers: dict[str, list[str]] = {}
    sources: set[str] = set()
    for uid in sorted(chosen):
        for parent in materialized_parents(graph, uid):
            if graph.records[parent].resource_type == "source":
                sources.add(parent)
            elif parent not in chosen:
                readers.setdefault(parent, []).append(uid)
    needed = set(readers) | {uid for uid in chosen if is_materialized(graph, uid)}
    known = built(needed)
    if not needed - known:
        return Preflight()
    relations = existing_relations(project)
    if relations is None:
        return Preflight()
    unbuilt = {
        uid: found
        for uid, found in sorted(readers.items())
        if uid not in known
        and (relation := relation_of(graph, uid)) is not None
        and relation not in relations
    }
    sources |= {u for u in chosen | graph.reach_up(unbuilt) if graph.records[u].resource_type == "source"}
    missing = [uid for uid in sorted(sources) if (r := relation_of(graph, uid)) and r not in relations]
    return Preflight(unbuilt, source_writers(graph, missing))


def source_writers(graph: AssetGraph, sources: Iterable[str]) -> dict[str, str | None]:
    """Each source with the seed, model or snapshot of the project that writes its relation
    (a seed loading a source), or None. One that reads the source itself (a model rewriting
    the table it reads) does not load it."""
    relations = {uid: relation_of(graph, uid) for uid in sources}
    wanted = set(relations.values())
    writers: dict[Relation, list[str]] = {}
    for uid in sorted(graph.records):
        if (relation := relation_of(graph, uid)) in wanted and relation and is_materialized(graph, uid):
            writers.setdefault(relation, []).append(uid)
    return {
        uid: next((w for w in writers.get(relation, []) if uid not in graph.reach_up([w])), None)
        if relation
        else None
        for uid, relation in relations.items()
    }
