"""Reading the warehouse for a data comparison: DuckDB directly, any other adapter through
queries dbt runs (``dbt show --inline``), both behind one small interface.

A :class:`Reader` gives the columns of relations and the rows of a query. The SQL it runs is
written once (:mod:`dbt_assets.diff.data`) with a :class:`Dialect` for the two things that
differ: quoting an identifier and naming a string type. Through dbt, both are dbt's own
(``adapter.quote``, ``dbt.type_string()``), so the query is right for the adapter in use.

    >>> reader = warehouse_reader(Project("ci-checkout", target="ci"))     # doctest: +SKIP
    >>> reader.columns([Relation('"ci"."main"."orders"', "ci", "main", "orders")])   # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dbt_assets._core.errors import DbtAssetsError
from dbt_assets.run.project import Project
from dbt_assets.run.warehouse import target_output


@dataclass(frozen=True)
class Relation:
    """A relation as dbt names it (``relation_name``) and its three parts."""

    name: str
    database: str | None
    schema: str
    identifier: str


Columns = list[tuple[str, str]]
"""A relation's columns in order: (name, data type)."""


class Dialect(Protocol):
    def quote(self, identifier: str) -> str: ...

    @property
    def string_type(self) -> str: ...


class Reader(Protocol):
    """What a data comparison asks of a warehouse."""

    @property
    def dialect(self) -> Dialect: ...

    @property
    def how(self) -> str:
        """How the warehouse is read, in words (``DuckDB file target/ci.duckdb``)."""
        ...

    def columns(self, relations: Sequence[Relation]) -> list[Columns | None]:
        """Each relation's columns, or None when it does not exist."""
        ...

    def query(self, sql: str) -> list[dict[str, Any]]:
        """The rows of ``sql``."""
        ...

    def one_rows(self, queries: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, Any] | WarehouseError]:
        """The one row of each query (given with the names of its columns, all integers), or
        why it failed."""
        ...

    def close(self) -> None: ...


class WarehouseError(DbtAssetsError):
    """A query of a data comparison failed (the comparison is then an error, never a success)."""


# --- DuckDB, read directly ------------------------------------------------------------------


class DuckDBDialect:
    string_type = "varchar"

    def quote(self, identifier: str) -> str:
        return '"' + identifier.replace('"', '""') + '"'


class DuckDBReader:
    """The CI target's DuckDB file, opened read-only, with the databases its profile attaches
    (production's, for ``--defer``) attached read-only too."""

    def __init__(self, path: Path, attach: Sequence[dict[str, Any]]) -> None:
        self.path = path
        self.attach = list(attach)
        self.dialect = DuckDBDialect()
        self.how = f"DuckDB file {path}" + (f" with {len(self.attach)} attached" if self.attach else "")
        self._connection: Any = None

    def _connect(self) -> Any:
        if self._connection is None:
            import duckdb

            try:
                connection = duckdb.connect(str(self.path), read_only=True)
                for entry in self.attach:
                    path, alias = str(entry["path"]), entry.get("alias")
                    quoted = "'" + path.replace("'", "''") + "'"
                    name = f" AS {self.dialect.quote(str(alias))}" if alias else ""
                    kind = f"TYPE {entry['type']}, " if entry.get("type") else ""
                    connection.execute(f"ATTACH {quoted}{name} ({kind}READ_ONLY)")
            except duckdb.Error as exc:
                raise WarehouseError(f"cannot open {self.path} read-only: {exc}") from exc
            self._connection = connection
        return self._connection

    def columns(self, relations: Sequence[Relation]) -> list[Columns | None]:
        found: list[Columns | None] = []
        for relation in relations:
            rows = self._rows(
                "select column_name, data_type from information_schema.columns"
                " where lower(table_catalog) = lower(?) and lower(table_schema) = lower(?)"
                " and lower(table_name) = lower(?) order by ordinal_position",
                [relation.database or "", relation.schema, relation.identifier],
            )
            found.append([(str(n), str(t)) for n, t in rows] if rows else None)
        return found

    def query(self, sql: str) -> list[dict[str, Any]]:
        import duckdb

        try:
            cursor = self._connect().execute(sql)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        except duckdb.Error as exc:
            raise WarehouseError(f"the comparison query failed in DuckDB: {exc}") from exc

    def one_rows(self, queries: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, Any] | WarehouseError]:
        found: list[dict[str, Any] | WarehouseError] = []
        for sql, _ in queries:
            try:
                found.append(self.query(sql)[0])
            except WarehouseError as exc:
                found.append(exc)
        return found

    def _rows(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        import duckdb

        try:
            return list(self._connect().execute(sql, params).fetchall())
        except duckdb.Error as exc:
            raise WarehouseError(f"cannot read the columns from DuckDB: {exc}") from exc

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


# --- any adapter, through dbt ---------------------------------------------------------------


class DbtDialect:
    """Identifiers quoted and the string type named by dbt itself (Jinja dbt renders)."""

    string_type = "{{ dbt.type_string() }}"

    def quote(self, identifier: str) -> str:
        return "{{ adapter.quote(" + json.dumps(identifier) + ") }}"


_COLUMNS_SQL = """
{%- set found = [] -%}
{%- for parts in RELATIONS -%}
  {%- set outer = loop.index0 -%}
  {%- set relation = adapter.get_relation(database=parts[0], schema=parts[1], identifier=parts[2]) -%}
  {%- if relation is none -%}
    {%- do found.append("select " ~ outer ~ " as rel, -1 as pos, '' as name, '' as data_type") -%}
  {%- else -%}
    {%- for column in adapter.get_columns_in_relation(relation) -%}
      {%- do found.append("select " ~ outer ~ " as rel, " ~ loop.index0 ~ " as pos, '"
          ~ (column.name | replace("'", "''")) ~ "' as name, '"
          ~ (column.data_type | replace("'", "''")) ~ "' as data_type") -%}
    {%- endfor -%}
  {%- endif -%}
{%- endfor -%}
{{ found | join(" union all ") }}
"""
"""One query listing the columns of several relations (a row with ``pos`` -1 for a relation
that does not exist), written by dbt's Jinja with the adapter's own introspection."""


def _jinja_literal(value: str | None) -> str:
    return "none" if value is None else json.dumps(value)


class DbtShowReader:
    """Queries run by dbt (``dbt show --inline ... --output json``) on the project's target:
    any adapter dbt has, with its own connection and credentials. Each query is one dbt
    invocation (a few seconds of dbt's start-up)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.dialect = DbtDialect()
        self.how = f"dbt show on target {project.target or '(default)'}"

    def columns(self, relations: Sequence[Relation]) -> list[Columns | None]:
        if not relations:
            return []
        parts = ", ".join(
            f"[{_jinja_literal(r.database)}, {_jinja_literal(r.schema)}, {_jinja_literal(r.identifier)}]"
            for r in relations
        )
        sql = _COLUMNS_SQL.replace("RELATIONS", f"[{parts}]")
        found: list[Columns | None] = [[] for _ in relations]
        for row in self.query(sql):
            index = int(row["rel"])
            if int(row["pos"]) < 0:
                found[index] = None
            else:
                columns = found[index]
                assert columns is not None
                columns.append((str(row["name"]), str(row["data_type"])))
        return found

    def one_rows(self, queries: Sequence[tuple[str, Sequence[str]]]) -> list[dict[str, Any] | WarehouseError]:
        """All the queries in one dbt invocation: each one row turned into (query, name, value)
        rows and the lot put together with ``union all``. When that fails, each query alone,
        so that one failing comparison does not take the others with it."""
        if not queries:
            return []
        try:
            rows = self.query(
                " union all ".join(_long(i, sql, names) for i, (sql, names) in enumerate(queries))
            )
        except WarehouseError as exc:
            if len(queries) == 1:
                return [exc]
            return [found for query in queries for found in self.one_rows([query])]
        found: list[dict[str, Any]] = [{} for _ in queries]
        for row in rows:
            found[int(row["q"])][str(row["metric"])] = row["value"]
        return list(found)

    def query(self, sql: str) -> list[dict[str, Any]]:
        from dbt_assets._core.errors import DbtCommandError
        from dbt_assets.run.dbt_cli import run_dbt

        project = self.project
        argv = ["show", "--inline", sql, "--output", "json", "--limit", "-1", "--log-format", "json"]
        argv += ["--project-dir", str(project.project_dir), "--profiles-dir", str(project.profiles_dir)]
        argv += project.dbt_options()
        try:
            done = run_dbt(argv, cwd=project.project_dir, executable=project.dbt_executable)
        except DbtCommandError as exc:
            raise WarehouseError(f"the comparison query failed in dbt show: {exc.message}", exc.hint) from exc
        for line in done.stdout.splitlines():
            if '"ShowNode"' not in line:
                continue
            event = json.loads(line)
            if event.get("info", {}).get("name") == "ShowNode":
                rows = json.loads(event["data"]["preview"])
                return [dict(row) for row in rows]
        raise WarehouseError("dbt show printed no result", "run the query with dbt show to see why")

    def close(self) -> None:
        pass


def _long(index: int, sql: str, names: Sequence[str]) -> str:
    """A one-row query as rows of (query index, column name, value)."""
    metrics = " union all ".join(f"select '{name}' as metric" for name in names)
    values = " ".join(f"when '{name}' then r.{name}" for name in names)
    bigint = "{{ dbt.type_bigint() }}"
    return (
        f"select {index} as q, k.metric, cast(case k.metric {values} end as {bigint}) as value"
        f" from ({sql}) r cross join ({metrics}) k"
    )


def warehouse_reader(project: Project) -> DuckDBReader | DbtShowReader:
    """How to read the project's target: its DuckDB file directly when it is one, else dbt."""
    output = target_output(project)
    if output is not None and output.get("type") == "duckdb":
        path = str(output.get("path", ":memory:"))
        if (
            "{{" not in path
            and path != ":memory:"
            and not path.startswith(("md:", "motherduck:", "s3:", "http"))
        ):
            file = Path(path) if Path(path).is_absolute() else project.project_dir / path
            attach = []
            for entry in output.get("attach") or []:
                if (
                    isinstance(entry, dict)
                    and isinstance(entry.get("path"), str)
                    and "{{" not in entry["path"]
                ):
                    where = entry["path"]
                    local = (
                        Path(where)
                        if Path(where).is_absolute() or ":" in where
                        else project.project_dir / where
                    )
                    attach.append({**entry, "path": str(local)})
            try:
                import duckdb  # noqa: F401
            except ImportError:
                return DbtShowReader(project)
            return DuckDBReader(file, attach)
    return DbtShowReader(project)
