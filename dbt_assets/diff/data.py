"""Each changed model, built in CI, against its production relation: schema, row counts and a
value diff by primary key.

The key is the model's own: its contract's ``primary_key`` constraint, else a
``unique_combination_of_columns`` test, else a ``unique`` test (one whose column is also
``not_null`` first). Rows are matched on it (a full outer join) and every column both relations
have is compared, null equal to null; a column whose type changed is compared as text. A column
only one side has is never left out silently: it is listed with how many of its values are
not null. Everything comes from one query per model; what cannot be compared says why.

    >>> diffs = compare_data(graph, comparison, review, reader)       # doctest: +SKIP
    >>> diffs[0].added, diffs[0].removed, diffs[0].changed           # doctest: +SKIP
    (0, 0, 57)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dbt_assets.diff.model import AssetChange, ChangeReview, ColumnChange, DataDiff
from dbt_assets.diff.review import changed_models
from dbt_assets.diff.warehouse import Columns, Dialect, Reader, Relation, WarehouseError
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.selection.changes import entry_values
from dbt_assets.selection.modified import StateComparison

ROW = "dbt_assets_row_"
"""The column each side gets (``1``) to tell a missing row from a row of nulls."""
_SUCCESS = frozenset({"success", "pass", "no-op"})


def compare_data(
    graph: AssetGraph,
    comparison: StateComparison,
    review: ChangeReview,
    reader: Reader,
    built: Mapping[str, str] | None = None,
) -> list[DataDiff]:
    """A :class:`DataDiff` for each changed model, seed and snapshot of ``review`` (``built``:
    each one's status in the CI build; one that did not succeed is not compared)."""
    plans: list[tuple[AssetChange, Relation | None, Relation | None]] = []
    done: list[DataDiff] = []
    for change in changed_models(review):
        record = graph.records[change.unique_id]
        if record.config.get("materialized") == "ephemeral":
            done.append(_skip(change, "ephemeral: dbt builds no relation for it"))
            continue
        status = (built or {}).get(change.unique_id)
        if built is not None and status not in _SUCCESS:
            done.append(_skip(change, f"its CI build did not succeed ({status or 'not run'})"))
            continue
        ci = _relation(entry_values(comparison, change.unique_id))
        prod = (
            None
            if "new" in change.kinds
            else _relation(entry_values(comparison, change.unique_id, previous=True))
        )
        if ci is None:
            done.append(_skip(change, "no relation in the CI manifest"))
        elif prod is not None and prod.name == ci.name:
            done.append(
                _error(change, ci, prod, "the CI target writes the production relation: nothing to compare")
            )
        else:
            plans.append((change, ci, prod))
    relations = [r for _, ci, prod in plans for r in (ci, prod) if r is not None]
    try:
        found = reader.columns(relations)
    except WarehouseError as exc:
        return _ordered(done + [_error(c, ci, prod, exc.message) for c, ci, prod in plans], review)
    columns = dict(zip([r.name for r in relations], found, strict=True))
    pending: list[_Pending] = []
    for change, ci, prod in plans:
        assert ci is not None
        prepared = _prepare(graph, comparison, reader, change, ci, prod, columns)
        if isinstance(prepared, DataDiff):
            done.append(prepared)
        else:
            pending.append(prepared)
    rows = reader.one_rows([(p.sql, p.names) for p in pending]) if pending else []
    for waiting, row in zip(pending, rows, strict=True):
        done.append(
            _error(waiting.change, waiting.ci, waiting.prod, row.message)
            if isinstance(row, WarehouseError)
            else waiting.finish(row)
        )
    return _ordered(done, review)


@dataclass(frozen=True)
class _Pending:
    """A comparison waiting for its one row of numbers."""

    change: AssetChange
    ci: Relation
    prod: Relation | None
    sql: str
    names: list[str]
    finish: Callable[[Mapping[str, Any]], DataDiff]


def _ordered(diffs: list[DataDiff], review: ChangeReview) -> list[DataDiff]:
    order = {c.unique_id: i for i, c in enumerate(review.changed)}
    return sorted(diffs, key=lambda d: order.get(d.unique_id, len(order)))


def _relation(entry: Mapping[str, Any]) -> Relation | None:
    name, schema = entry.get("relation_name"), entry.get("schema")
    if not isinstance(name, str) or not isinstance(schema, str):
        return None
    identifier = entry.get("alias") or entry.get("identifier") or entry.get("name")
    database = entry.get("database")
    return Relation(name, database if isinstance(database, str) else None, schema, str(identifier))


def _skip(change: AssetChange, reason: str, **values: Any) -> DataDiff:
    return DataDiff(change.unique_id, change.name, "not_compared", reason, **values)


def _error(change: AssetChange, ci: Relation | None, prod: Relation | None, reason: str) -> DataDiff:
    return DataDiff(
        change.unique_id,
        change.name,
        "error",
        reason,
        ci_relation=ci.name if ci else None,
        prod_relation=prod.name if prod else None,
    )


def _prepare(
    graph: AssetGraph,
    comparison: StateComparison,
    reader: Reader,
    change: AssetChange,
    ci: Relation,
    prod: Relation | None,
    columns: Mapping[str, Columns | None],
) -> DataDiff | _Pending:
    """The comparison's query and how its row becomes the result, or the result already
    (a relation missing)."""
    ci_columns = columns.get(ci.name)
    if ci_columns is None:
        return _error(change, ci, prod, f"the CI relation {ci.name} does not exist after the build")
    if prod is None:
        return _Pending(
            change,
            ci,
            prod,
            f"select count(*) as rows_ci from {ci.name}",
            ["rows_ci"],
            lambda row: _skip(
                change, "new: no production relation", ci_relation=ci.name, rows_ci=_int(row["rows_ci"])
            ),
        )
    prod_columns = columns.get(prod.name)
    if prod_columns is None:
        return _error(
            change,
            ci,
            prod,
            f"the production relation {prod.name} does not exist or cannot be read from the CI target",
        )
    schema, shared, only_ci, only_prod = _schema(ci_columns, prod_columns)
    key, key_source = model_key(graph, comparison, change.unique_id)
    reason = None
    lower_ci = {n.lower(): n for n, _ in ci_columns}
    lower_prod = {n.lower(): n for n, _ in prod_columns}
    if not key:
        reason = "values not compared: no key (add a unique test or a primary_key constraint)"
    elif any(k.lower() not in lower_ci or k.lower() not in lower_prod for k in key):
        missing = [k for k in key if k.lower() not in lower_ci or k.lower() not in lower_prod]
        reason = f"values not compared: key column(s) {', '.join(missing)} missing on one side"
        key = []
    pairs = [(lower_ci[k.lower()], lower_prod[k.lower()], _retyped(shared, k)) for k in key]
    keyed = {k.lower() for k in key}
    compared = [c for c in shared if c[0].lower() not in keyed]
    sql, names = comparison_sql(reader.dialect, ci.name, prod.name, pairs, compared, only_ci, only_prod)
    return _Pending(
        change,
        ci,
        prod,
        sql,
        names,
        lambda row: _result(
            change, ci, prod, row, schema, key, key_source, reason, compared, only_ci, only_prod
        ),
    )


def _retyped(shared: Sequence[tuple[str, str, bool]], name: str) -> bool:
    return any(c[0].lower() == name.lower() and c[2] for c in shared)


def _schema(
    ci: Columns, prod: Columns
) -> tuple[list[ColumnChange], list[tuple[str, str, bool]], list[str], list[str]]:
    """Column changes (by name, case-insensitively), the shared columns as (CI name, production
    name, type changed), and the columns only CI or only production has."""
    before = {n.lower(): (n, t) for n, t in prod}
    after = {n.lower(): (n, t) for n, t in ci}
    changes: list[ColumnChange] = []
    shared: list[tuple[str, str, bool]] = []
    for name, data_type in ci:
        old = before.get(name.lower())
        if old is None:
            changes.append(ColumnChange(name, "added", None, data_type))
        else:
            retyped = old[1].lower() != data_type.lower()
            if retyped:
                changes.append(ColumnChange(name, "type_changed", old[1], data_type))
            shared.append((name, old[0], retyped))
    for name, data_type in prod:
        if name.lower() not in after:
            changes.append(ColumnChange(name, "removed", data_type, None))
    only_ci = [n for n, _ in ci if n.lower() not in before]
    only_prod = [n for n, _ in prod if n.lower() not in after]
    return changes, shared, only_ci, only_prod


def comparison_sql(
    dialect: Dialect,
    ci: str,
    prod: str,
    key: Sequence[tuple[str, str, bool]],
    compared: Sequence[tuple[str, str, bool]],
    only_ci: Sequence[str],
    only_prod: Sequence[str],
) -> tuple[str, list[str]]:
    """One query giving every number of a comparison in one row (and the names of its
    columns): row counts, non-null counts of the columns one side has, and with a key,
    duplicated key values, rows added, removed, matched and changed, and changed rows per
    compared column (``diff_<i>``)."""
    q = dialect.quote
    flag = q(ROW)
    parts = ["(select count(*) from ci) as rows_ci", "(select count(*) from prod) as rows_prod"]
    parts += [
        f"(select count(*) from ci where {q(c)} is not null) as nn_ci_{i}" for i, c in enumerate(only_ci)
    ]
    parts += [
        f"(select count(*) from prod where {q(c)} is not null) as nn_prod_{i}"
        for i, c in enumerate(only_prod)
    ]
    head = (
        f"with ci as (select t.*, 1 as {flag} from {ci} t), prod as (select t.*, 1 as {flag} from {prod} t)"
    )
    names = ["rows_ci", "rows_prod", *(f"nn_ci_{i}" for i in range(len(only_ci)))]
    names += [f"nn_prod_{i}" for i in range(len(only_prod))]
    if not key:
        return f"{head}\nselect {', '.join(parts)}", names

    def side(column: str, alias: str, as_text: bool) -> str:
        value = f"{alias}.{q(column)}"
        return f"cast({value} as {dialect.string_type})" if as_text else value

    def same(ci_name: str, prod_name: str, as_text: bool) -> str:
        a, b = side(ci_name, "c", as_text), side(prod_name, "p", as_text)
        return f"(case when {a} = {b} or ({a} is null and {b} is null) then 0 else 1 end)"

    for alias, listed in (("ci", ", ".join(q(k[0]) for k in key)), ("prod", ", ".join(q(k[1]) for k in key))):
        parts.append(
            f"(select count(*) from (select {listed} from {alias} group by {listed} having count(*) > 1) d)"
            f" as dup_{alias}"
        )
    both = f"c.{flag} = 1 and p.{flag} = 1"
    differs = [same(ci_name, prod_name, as_text) for ci_name, prod_name, as_text in compared]
    any_diff = " + ".join(differs) if differs else "0"
    sums = [
        f"sum(case when p.{flag} is null then 1 else 0 end) as added",
        f"sum(case when c.{flag} is null then 1 else 0 end) as removed",
        f"sum(case when {both} then 1 else 0 end) as matched",
        f"sum(case when {both} and ({any_diff}) > 0 then 1 else 0 end) as changed",
    ]
    sums += [f"sum(case when {both} then {d} else 0 end) as diff_{i}" for i, d in enumerate(differs)]
    on = " and ".join(f"{side(k[0], 'c', k[2])} = {side(k[1], 'p', k[2])}" for k in key)
    joined = f"select {', '.join(sums)} from ci c full outer join prod p on {on}"
    names += ["dup_ci", "dup_prod", "added", "removed", "matched", "changed"]
    names += [f"diff_{i}" for i in range(len(differs))]
    return f"{head}\nselect {', '.join(parts)}, j.*\nfrom ({joined}) j", names


def _int(value: Any) -> int:
    return int(value) if value is not None else 0


def _result(
    change: AssetChange,
    ci: Relation,
    prod: Relation,
    row: Mapping[str, Any],
    schema: list[ColumnChange],
    key: list[str],
    key_source: str | None,
    reason: str | None,
    compared: Sequence[tuple[str, str, bool]],
    only_ci: Sequence[str],
    only_prod: Sequence[str],
) -> DataDiff:
    rows_ci, rows_prod = _int(row["rows_ci"]), _int(row["rows_prod"])
    not_compared = {
        c: f"only in CI: {_int(row[f'nn_ci_{i}'])} of {rows_ci} rows not null" for i, c in enumerate(only_ci)
    }
    not_compared |= {
        c: f"only in production: {_int(row[f'nn_prod_{i}'])} of {rows_prod} rows not null"
        for i, c in enumerate(only_prod)
    }
    values: dict[str, Any] = {}
    if key:
        duplicates = {side: _int(row[f"dup_{side}"]) for side in ("ci", "prod") if _int(row[f"dup_{side}"])}
        if duplicates:
            reason = "values not compared by row: the key is not unique"
            values["duplicate_keys"] = duplicates
        else:
            matched = _int(row["matched"])
            changed = _int(row["changed"])
            values = {
                "added": _int(row["added"]),
                "removed": _int(row["removed"]),
                "changed": changed,
                "unchanged": matched - changed,
                "compared_columns": [c[0] for c in compared],
                "changed_by_column": {c[0]: _int(row[f"diff_{i}"]) for i, c in enumerate(compared)},
            }
    return DataDiff(
        change.unique_id,
        change.name,
        "compared",
        reason,
        ci_relation=ci.name,
        prod_relation=prod.name,
        rows_ci=rows_ci,
        rows_prod=rows_prod,
        schema=schema,
        key=key,
        key_source=key_source if key else None,
        not_compared_columns=not_compared,
        **values,
    )


def model_key(graph: AssetGraph, comparison: StateComparison, unique_id: str) -> tuple[list[str], str | None]:
    """The columns that identify a row of the model, and where they came from (see the module
    docstring); ``([], None)`` when it declares none."""
    entry = entry_values(comparison, unique_id)
    for constraint in entry.get("constraints") or []:
        if (
            isinstance(constraint, dict)
            and constraint.get("type") == "primary_key"
            and constraint.get("columns")
        ):
            return [str(c) for c in constraint["columns"]], "contract"
    for name, column in sorted((entry.get("columns") or {}).items()):
        for constraint in (column or {}).get("constraints") or []:
            if isinstance(constraint, dict) and constraint.get("type") == "primary_key":
                return [str(column.get("name") or name)], "contract"
    unique: list[str] = []
    not_null: set[str] = set()
    for check in graph.checks(unique_id):
        record = graph.records[check]
        meta = record.test_metadata or {}
        kwargs = meta.get("kwargs") or {}
        column = record.column_name or kwargs.get("column_name")
        if meta.get("name") == "unique_combination_of_columns" and kwargs.get("combination_of_columns"):
            return [str(c) for c in kwargs["combination_of_columns"]], "test unique_combination_of_columns"
        if meta.get("name") == "unique" and isinstance(column, str):
            unique.append(column)
        if meta.get("name") == "not_null" and isinstance(column, str):
            not_null.add(column)
    if unique:
        return [min(unique, key=lambda c: (c not in not_null, c))], "test unique"
    return [], None
