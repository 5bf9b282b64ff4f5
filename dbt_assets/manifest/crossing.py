"""Comparing a dbt-core manifest with a dbt v2 (Fusion) manifest of the same project.

``state:modified`` compares each node with its previous self using dbt-core's ``same_*``
checks. Between the two engines, an unchanged project still differs in how each engine writes
some values, and dbt-core's checks would call every such node modified. Before a node of one
engine is compared with a node of the other, both are put in one form (:func:`comparable`):

- ``unrendered_config``: list items once each (dbt-core repeats a list's items when it merges
  the project's and the file's configs), strings without trailing whitespace (Fusion keeps a
  YAML scalar's final newline), Jinja's ``true``/``false``/``none`` written one way (dbt-core
  writes a ``config()`` call's ``True``), and a value one engine wrote unrendered
  (``{{ var('x', true) }}``) where the other wrote it rendered compared rendered;
- a generic test's SQL (the engine writes it from the YAML: ``config(enabled=true)``) with
  Jinja's literals written one way too;
- a unit test's rows with their columns in one order (Fusion sorts them; dbt-core keeps the
  YAML's order and digests the rows' text), its checksum left for dbt-core to compute;
- the engines' own macros (the ``dbt`` package and the adapter's) are not the project's:
  :func:`engine_packages` names them, and a change in them is no change of the project.

Between two manifests of the same engine nothing here applies: dbt's own comparison decides.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import msgspec

_JINJA_LITERAL = re.compile(r"\b(true|false|none)\b")
_PLACEHOLDER = "--placeholder--"
_FILE_ENDINGS = ("", "\n", "\r\n", "\n\n")
_ADAPTER_DEPENDENCIES = {"redshift": ("postgres",), "databricks": ("spark",)}


def comparable(new: dict[str, Any], old: dict[str, Any]) -> None:
    """Put two decoded manifest entries of one node, written by different engines, in one form
    (changed in place)."""
    for entry, other in ((new, old), (old, new)):
        _same_file(entry, other)
        unrendered = entry.get("unrendered_config")
        if isinstance(unrendered, dict):
            entry["unrendered_config"] = {
                key: _canonical(value) for key, value in unrendered.items() if value not in (None, {}, [])
            }
        if entry.get("test_metadata") and isinstance(entry.get("raw_code"), str):
            entry["raw_code"] = _canonical(entry["raw_code"])  # the engine writes it from the YAML
        if entry.get("resource_type") == "unit_test":
            for fixture in [*(entry.get("given") or []), entry.get("expect")]:
                if isinstance(fixture, dict) and isinstance(fixture.get("rows"), list):
                    fixture["rows"] = [_sorted(row) for row in fixture["rows"]]
            entry["checksum"] = None  # dbt-core's digest of the rows' text, made again below
    for entry, other in ((new, old), (old, new)):
        _rendered_where_unrendered(entry, other)


def engine_packages(metadata: Any, macros: dict[str, Any]) -> set[str]:
    """The packages of dbt's own macros in a manifest: ``dbt``, the adapter's (``dbt_duckdb``,
    and the adapters it builds on) and what Fusion keeps under ``dbt_internal_packages/``."""
    adapter = str(metadata.get("adapter_type") or "") if isinstance(metadata, dict) else ""
    found = {"dbt"} | {f"dbt_{name}" for name in (adapter, *_ADAPTER_DEPENDENCIES.get(adapter, ())) if name}
    for uid in macros:
        parts = str(uid).split(".")
        if len(parts) >= 3 and parts[1] not in found and _internal_path(macros[uid]):
            found.add(parts[1])
    return found


def _internal_path(macro: Any) -> bool:
    if isinstance(macro, dict):
        raw = macro.get("original_file_path")
        if isinstance(raw, msgspec.Raw):
            raw = msgspec.json.decode(raw)
        return isinstance(raw, str) and raw.replace("\\", "/").startswith("dbt_internal_packages/")
    return False


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        seen: list[Any] = []
        for item in (_canonical(item) for item in value):
            if item not in seen:
                seen.append(item)
        return seen
    if isinstance(value, str):
        return _JINJA_LITERAL.sub(lambda m: m.group(1).capitalize(), value.rstrip())
    return value


def _sorted(row: Any) -> Any:
    return dict(sorted(row.items())) if isinstance(row, dict) else row


def _same_file(entry: dict[str, Any], other: dict[str, Any]) -> None:
    """Early Fusion builds write no SQL (``raw_code`` missing or ``--placeholder--``) and digest
    the file's bytes, where dbt-core digests its text without the surrounding whitespace: when
    dbt-core's text with a usual file ending has that digest, the file is the same one."""
    raw, text = entry.get("raw_code"), other.get("raw_code")
    checksum, theirs = entry.get("checksum"), other.get("checksum")
    if (isinstance(raw, str) and raw != _PLACEHOLDER) or not isinstance(text, str) or not text:
        return
    if not (isinstance(checksum, dict) and isinstance(theirs, dict)):
        return
    digests = {hashlib.sha256((text + ending).encode()).hexdigest() for ending in _FILE_ENDINGS}
    if checksum.get("checksum") in digests:
        entry["raw_code"], entry["checksum"] = text, dict(theirs)


def _rendered_where_unrendered(entry: dict[str, Any], other: dict[str, Any]) -> None:
    """Where ``entry`` has a Jinja expression and ``other`` a plain value for one config key,
    ``entry``'s rendered value of that key stands for it; where ``entry`` has no unrendered
    config at all (early Fusion builds), its rendered value of each key the other has."""
    mine, theirs = entry.get("unrendered_config"), other.get("unrendered_config")
    rendered = entry.get("config")
    if not (isinstance(mine, dict) and isinstance(theirs, dict) and isinstance(rendered, dict)):
        return
    if not mine and theirs:
        mine.update({key: _canonical(rendered[key]) for key in theirs if key in rendered})
        return
    for key, value in mine.items():
        unrendered = isinstance(value, str) and "{{" in value
        if unrendered and key in theirs and not isinstance(theirs[key], str) and key in rendered:
            mine[key] = _canonical(rendered[key])
