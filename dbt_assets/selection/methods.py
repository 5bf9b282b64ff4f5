"""dbt's own selection methods, one function each, registered in :mod:`.registry`.

Each follows dbt-core's method of the same name, including which kinds of nodes it searches.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from fnmatch import fnmatch, fnmatchcase
from pathlib import Path, PurePosixPath
from typing import Any

from dbt_assets._core.errors import SelectionError
from dbt_assets._core.vocab import KNOWN_RESOURCE_TYPES, PARSED_TYPES
from dbt_assets.manifest.decode import NodeRecord
from dbt_assets.manifest.fusion_tests import posix_path
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.selection.registry import Method, MethodContext, register
from dbt_assets.selection.state import (
    result_nodes,
    source_status_nodes,
)

_WILDCARDS = ("*", "?", "[", "]")


NON_SOURCE = frozenset(
    PARSED_TYPES | {"exposure", "metric", "unit_test", "semantic_model", "saved_query", "function"}
)


# --- fqn ------------------------------------------------------------------------------


def fqn_matches(fqn: list[str], selector: str, versioned: bool) -> bool:
    """Whether one fqn matches an fqn selector, by dbt's rules.

    A selector matches the fqn's leaf (for a versioned model: the model name, or
    ``name.vN``/``name_vN``), or a prefix of the fqn split on dots, where a part with a
    wildcard globs the rest of the fqn (or, for a selector without dots, the leaf).
    """
    if not fqn:
        return False
    parts = selector.split(".")
    if versioned:
        if fqn[-2] == selector or "_".join(fqn[-2:]) == "_".join(parts[-2:]):
            return True
    elif fqn[-1] == selector:
        return True
    flat = [piece for segment in fqn for piece in segment.split(".")]
    if len(flat) < len(parts):
        return False
    for i, part in enumerate(parts):
        if any(w in part for w in _WILDCARDS):
            if fnmatch(".".join(flat[i:]), ".".join(parts[i:])):
                return True
            if "." not in selector:
                return fnmatch(fqn[-2] if versioned else fqn[-1], selector)
            return False
        if flat[i] != part:
            return False
    return True


def _is_versioned(record: NodeRecord) -> bool:
    return record.resource_type == "model" and record.version is not None


def method_fqn(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    if value == "*":
        return {uid for uid, _ in ctx.records(NON_SOURCE)}
    if "." not in value and not any(w in value for w in _WILDCARDS):
        return _bare_fqn(ctx, value)
    return {
        uid
        for uid, r in ctx.records(NON_SOURCE)
        if fqn_matches(r.fqn, value, _is_versioned(r)) or fqn_matches(r.fqn[1:], value, _is_versioned(r))
    }


def _fqn_index(ctx: MethodContext) -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for uid, r in ctx.records(NON_SOURCE):
        keys = {r.fqn[0], r.fqn[1] if len(r.fqn) > 1 else r.fqn[0]}
        if _is_versioned(r):
            keys |= {r.fqn[-2], "_".join(r.fqn[-2:])}
        else:
            keys.add(r.fqn[-1])
        for key in keys:
            for piece in (key, key.split(".")[0]):
                index.setdefault(piece, set()).add(uid)
    return index


def _bare_fqn(ctx: MethodContext, value: str) -> set[str]:
    """A dot-free, wildcard-free fqn selector through an index: leaf, versioned name, or
    the first part of the fqn with or without its package (a package or a folder)."""
    index = ctx.graph.memo("fqn_index", lambda: _fqn_index(ctx))
    candidates = index.get(value, set())
    records = ctx.graph.records
    return {
        uid
        for uid in candidates
        if fqn_matches(records[uid].fqn, value, _is_versioned(records[uid]))
        or fqn_matches(records[uid].fqn[1:], value, _is_versioned(records[uid]))
    }


# --- attributes -----------------------------------------------------------------------


def method_tag(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    if not any(w in value for w in _WILDCARDS):
        index = ctx.graph.memo("tag_index", lambda: _tag_index(ctx))
        return set(index.get(value, ()))
    return {uid for uid, r in ctx.records() if any(fnmatch(tag, value) for tag in r.tags)}


def _tag_index(ctx: MethodContext) -> dict[str, set[str]]:
    index: dict[str, set[str]] = {}
    for uid, r in ctx.records():
        for tag in r.tags:
            index.setdefault(tag, set()).add(uid)
    return index


def method_group(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    found = set()
    for uid, r in ctx.records(PARSED_TYPES | {"metric"}):
        group = r.config.get("group")
        if group and fnmatch(group, value):
            found.add(uid)
    return found


def method_access(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    return {uid for uid, r in ctx.records(frozenset({"model"})) if r.access == value}


def method_package(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    if value == "this" and ctx.graph.manifest.project_name is not None:
        value = ctx.graph.manifest.project_name
    return {uid for uid, r in ctx.records() if fnmatch(r.package_name, value)}


def method_resource_type(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    if value not in KNOWN_RESOURCE_TYPES:
        raise SelectionError(
            f"invalid resource_type '{value}'", f"use one of {', '.join(sorted(KNOWN_RESOURCE_TYPES))}"
        )
    return {uid for uid, r in ctx.records() if r.resource_type == value}


def _ci_equal(a: Any, b: str) -> bool:
    return isinstance(a, str) and a.upper() == b.upper()


def method_config(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    """``config.<key>[.<key>]:value``: equal, contained in a list, or true/false for booleans."""
    if not args:
        raise SelectionError("'config:' needs a key", "for example config.materialized:table")
    found = set()
    severity = args == ("severity",)
    for uid, r in ctx.records(PARSED_TYPES | {"source"}):
        current: Any = r.config
        try:
            for key in args:
                current = current[key] if key in current else current[key.replace("_", "-")]
        except (KeyError, TypeError):
            continue
        is_true, is_false = value.upper() == "TRUE", value.upper() == "FALSE"
        if isinstance(current, list):
            hit = (
                (value in current if not severity else any(_ci_equal(v, value) for v in current))
                or (is_true and True in current)
                or (is_false and False in current)
            )
        else:
            hit = (
                (_ci_equal(current, value) if severity else value == current)
                or (is_true and current is True)
                or (is_false and current is False)
            )
        if hit:
            found.add(uid)
    return found


def method_version(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    def newer(a: Any, b: Any) -> bool:
        try:
            return float(a) > float(b)
        except (TypeError, ValueError):
            return str(a) > str(b)

    tests: dict[str, Callable[[NodeRecord], bool]] = {
        "latest": lambda r: r.version is not None and r.version == r.latest_version,
        "prerelease": lambda r: bool(r.version and r.latest_version and newer(r.version, r.latest_version)),
        "old": lambda r: bool(r.version and r.latest_version and newer(r.latest_version, r.version)),
        "none": lambda r: r.version is None,
    }
    if value not in tests:
        raise SelectionError(f"invalid version selector '{value}'", "use latest, prerelease, old or none")
    return {uid for uid, r in ctx.records(frozenset({"model"})) if tests[value](r)}


# --- tests ----------------------------------------------------------------------------


def method_test_name(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    found = set()
    for uid, r in ctx.records(frozenset({"test", "unit_test"})):
        if r.resource_type == "test" and r.test_metadata is not None:
            if fnmatch(str(r.test_metadata.get("name")), value):
                found.add(uid)
        elif r.resource_type == "unit_test" and fnmatch(r.name, value):
            found.add(uid)
    return found


def method_test_type(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    # dbt tests `value in ("data")`, a substring test on a string; kept for exactness.
    if value in ("generic", "schema"):
        kinds = {"generic"}
    elif value in "data":
        kinds = {"generic", "singular"}
    elif value in "singular":
        kinds = {"singular"}
    elif value in "unit":
        kinds = {"unit"}
    else:
        raise SelectionError(f"invalid test_type '{value}'", "use generic, singular, unit or data")
    found = set()
    for uid, r in ctx.records(frozenset({"test", "unit_test"})):
        kind = "unit" if r.resource_type == "unit_test" else "generic" if r.test_metadata else "singular"
        if kind in kinds:
            found.add(uid)
    return found


# --- named resources ------------------------------------------------------------------


def _named(resource_type: str, label: str) -> Method:
    """``exposure:``, ``metric:``, ... : ``name`` or ``package.name``, both globs."""

    def method(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
        parts = value.split(".")
        if len(parts) > 2:
            raise SelectionError(
                f"invalid {label} selector '{value}'", f"use {label}_name or package.{label}_name"
            )
        package, name = ("*", parts[0]) if len(parts) == 1 else (parts[0], parts[1])
        return {
            uid
            for uid, r in ctx.records(frozenset({resource_type}))
            if fnmatch(r.package_name, package) and fnmatch(r.name, name)
        }

    return method


def method_source(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    parts = value.split(".")
    if len(parts) > 3:
        raise SelectionError(
            f"invalid source selector '{value}'",
            "use source_name, source_name.table or package.source_name.table",
        )
    if len(parts) == 1:
        package, source, table = "*", parts[0], "*"
    elif len(parts) == 2:
        package, source, table = "*", parts[0], parts[1]
    else:
        package, source, table = parts
    return {
        uid
        for uid, r in ctx.records(frozenset({"source"}))
        if fnmatch(r.package_name, package)
        and fnmatch(r.source_name or "", source)
        and fnmatch(r.name, table)
    }


# --- files ----------------------------------------------------------------------------


def method_file(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    found = set()
    for uid, r in ctx.records():
        path = PurePosixPath(r.original_file_path)
        if fnmatch(path.name, value) or fnmatch(path.stem, value):
            found.add(uid)
    return found


def method_path(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    """Files and folders matched by the glob ``value`` relative to the root project: a node
    matches when its file, its YAML patch file or one of its file's folders is among them.

    dbt globs the root project's directory and compares each node's own path, which for a
    package's node is relative to that package: a package node is selected only when the
    root project has the same path too. With a project directory the glob runs on the real
    files, as dbt's does; with a manifest alone it runs on the paths the root project's nodes
    show to exist (their files, patch files and folders), which misses a path where the root
    project has no node (see the README). Either separator works: ``path:models\\staging`` is
    ``path:models/staging``, as a manifest written on Windows has its paths read with ``/``.
    """
    value = posix_path(value)
    if not PurePosixPath(value).parts or PurePosixPath(value).is_absolute():
        # pathlib cannot glob these (dbt stops with "tuple index out of range")
        raise SelectionError(
            f"invalid path selector 'path:{value}'", "name a folder or file of the project, e.g. path:models"
        )
    index, known = _path_index(ctx.graph)
    matched = _glob_project(ctx.project_dir, value) if ctx.project_dir else _glob_known(known, value)
    return set().union(*(index[p] for p in matched if p in index))


def _path_index(graph: AssetGraph) -> tuple[dict[str, set[str]], set[str]]:
    """Each path a node can be selected by (its file, its YAML patch file, each folder of its
    file, ``.`` included) and the nodes it selects, and the paths known to exist in the root
    project (those of its own nodes); built once per graph, so that compiling a selection
    (hundreds of ``path:`` candidates) does not walk every node per candidate."""

    def build() -> tuple[dict[str, set[str]], set[str]]:
        root = graph.manifest.project_name
        index: dict[str, set[str]] = {}
        known: set[str] = set()
        for uid, r in graph.records.items():
            path = PurePosixPath(r.original_file_path)
            paths = [str(path), *(str(parent) for parent in path.parents)]
            if r.patch_path and "://" in r.patch_path:
                paths.append(r.patch_path.split("://", 1)[1])
            for each in paths:
                index.setdefault(each, set()).add(uid)
            if root is None or r.package_name == root:
                known.update(paths)
        return index, known

    return graph.memo("path_index", build)


def _glob_project(root: Path, pattern: str) -> set[str]:
    try:
        return {p.relative_to(root).as_posix() for p in root.glob(pattern)}
    except (ValueError, NotImplementedError, IndexError, AttributeError) as exc:
        raise SelectionError(f"invalid path selector '{pattern}': {exc}") from exc


def _glob_known(known: Collection[str], pattern: str) -> set[str]:
    """The known paths (files and folders) pathlib's glob would match, segment by segment
    with fnmatch (``*``, ``?``, ``[abc]``, ``[!abc]``; ``**`` spans any folders)."""
    parts = list(PurePosixPath(pattern).parts)  # as pathlib reads it: ./a//b/ is a/b
    if not any(c in pattern for c in "*?["):
        literal = "/".join(parts)
        return {literal} if literal in known else set()
    return {p for p in known if p != "." and _glob_match(parts, p.split("/"))}


def _glob_match(pattern: list[str], path: list[str]) -> bool:
    if not pattern:
        return not path
    head, rest = pattern[0], pattern[1:]
    if head == "**":
        return any(_glob_match(rest, path[i:]) for i in range(len(path) + 1))
    return bool(path) and fnmatchcase(path[0], head) and _glob_match(rest, path[1:])


# --- state ----------------------------------------------------------------------------


def method_state(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    """``state:new|old|modified[.body|.configs|...]|unmodified`` against ``--state``."""
    comparison = ctx.previous_state("state").compare(Path(ctx.graph.manifest.path))
    return comparison.check(value, ctx.graph.records)


def method_result(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    """``result:<status>``: the status of each node in ``--state``'s run_results.json."""
    found = result_nodes(ctx.previous_state("result"), value)
    return {uid for uid in found if uid in ctx.graph.records}


def method_source_status(ctx: MethodContext, args: tuple[str, ...], value: str) -> set[str]:
    """``source_status:fresher``: sources fresher now than in ``--state``'s sources.json."""
    found = source_status_nodes(ctx.previous_state("source_status"), value)
    return {uid for uid in found if uid in ctx.graph.records}


for _name, _method in (
    ("fqn", method_fqn),
    ("tag", method_tag),
    ("group", method_group),
    ("access", method_access),
    ("source", method_source),
    ("path", method_path),
    ("file", method_file),
    ("package", method_package),
    ("config", method_config),
    ("test_name", method_test_name),
    ("test_type", method_test_type),
    ("resource_type", method_resource_type),
    ("exposure", _named("exposure", "exposure")),
    ("metric", _named("metric", "metric")),
    ("semantic_model", _named("semantic_model", "semantic_model")),
    ("saved_query", _named("saved_query", "saved_query")),
    ("unit_test", _named("unit_test", "unit_test")),
    ("version", method_version),
    ("state", method_state),
    ("result", method_result),
    ("source_status", method_source_status),
):
    register(_name, _method, dbt=True)
