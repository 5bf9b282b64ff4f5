"""Parse selection strings and YAML selector definitions into :mod:`spec` trees, dbt's way.

``--select "a b,c" --select d --exclude e`` is ``Difference(Union(a, Intersection(b, c), d), Union(e))``.
Errors name the bad term and suggest the closest valid method.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from dbt_assets._core.errors import SelectionError
from dbt_assets.selection.spec import (
    INDIRECT_SELECTION_MODES,
    Criterion,
    Group,
    IndirectSelection,
    Spec,
)

_TERM = re.compile(
    r"\A(?P<at>@)?(?P<parents>(?P<parents_depth>\d*)\+)?"
    r"((?P<method>[\w.]+):)?(?P<value>.*?)"
    r"(?P<children>\+(?P<children_depth>\d*))?\Z"
)
DEFAULT_INCLUDES = ("fqn:*", "source:*", "exposure:*", "metric:*", "semantic_model:*")


def default_method(value: str) -> str:
    """The method of a bare value: path when it has a slash, file for .sql/.py/.csv, else fqn."""
    if "/" in value or "\\" in value:
        return "path"
    if value.lower().endswith((".sql", ".py", ".csv")):
        return "file"
    return "fqn"


def parse_term(
    raw: str, methods: Iterable[str], indirect_selection: IndirectSelection = "eager"
) -> Criterion:
    """One term such as ``2+tag:finance+`` or ``@orders`` or ``config.materialized:table``."""
    if raw.startswith("-"):  # dbt's command line would read the word as an option of its own
        raise SelectionError(
            f"'{raw}' is not a selection term: a selection never has a word that starts with '-'",
            "give dbt's options as dbt-assets options (--target, --full-refresh, ...) or after `--`; "
            "a name that starts with '-' is written fqn:" + raw,
        )
    if "\x00" in raw:
        raise SelectionError(f"invalid selection term {raw!r}: it contains a NUL byte", "remove it")
    match = _TERM.match(raw)
    if match is None:  # the pattern matches any single line; a newline is the only way here
        raise SelectionError(f"invalid selection term {raw!r}", "write one term per space-separated word")
    parts = match.groupdict()
    value = parts["value"]
    if parts["at"] and parts["children"]:
        raise SelectionError(
            f"invalid selection term '{raw}': the '@' prefix and a '+' suffix cannot be combined",
            f"use '@{value}' (children and their parents) or '{value}+' (children only)",
        )
    if value == "":
        what = f"'{parts['method']}:'" if parts["method"] else "a graph operator"
        raise SelectionError(
            f"invalid selection term '{raw}': {what} needs a value",
            "for example tag:finance, orders+, 2+orders",
        )
    method_path = parts["method"].split(".") if parts["method"] else [default_method(value)]
    method = method_path[0]
    known = list(methods)
    if method not in known:
        close = difflib.get_close_matches(method, known, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}:'?" if close else f"valid methods: {', '.join(sorted(known))}"
        raise SelectionError(f"unknown selection method '{method}' in '{raw}'", hint)
    return Criterion(
        raw=raw,
        method=method,
        args=tuple(method_path[1:]),
        value=value,
        parents=bool(parts["parents"]),
        parents_depth=int(parts["parents_depth"]) if parts["parents_depth"] else None,
        children=bool(parts["children"]),
        children_depth=int(parts["children_depth"]) if parts["children_depth"] else None,
        childrens_parents=bool(parts["at"]),
        indirect_selection=indirect_selection,
        method_written=parts["method"] is not None,
    )


def parse_union(
    values: Sequence[str],
    methods: Iterable[str],
    indirect_selection: IndirectSelection = "eager",
    *,
    expect_exists: bool = True,
) -> Group:
    """``["a b", "c,d"]`` → Union(Intersection(a), Intersection(b), Intersection(c, d))."""
    known = list(methods)
    members: list[Spec] = []
    for value in values:
        for word in value.split(" "):
            if word == "":
                continue
            terms = tuple(parse_term(t, known, indirect_selection) for t in word.split(","))
            members.append(Group("intersection", terms, indirect_selection, word, expect_exists))
    return Group("union", tuple(members), indirect_selection, " ".join(values))


def parse_cli(
    select: Sequence[str],
    exclude: Sequence[str],
    methods: Iterable[str],
    indirect_selection: IndirectSelection = "eager",
) -> Group:
    """dbt's ``--select``/``--exclude``: everything by default, minus the exclusions."""
    known = list(methods)
    included = (
        parse_union(select, known, indirect_selection)
        if select
        else parse_union(DEFAULT_INCLUDES, known, indirect_selection, expect_exists=False)
    )
    excluded = parse_union(exclude, known, indirect_selection)
    return Group("difference", (included, excluded))


def parse_definition(
    definition: Any,
    methods: Iterable[str],
    indirect_selection: IndirectSelection,
    selectors: Mapping[str, Any],
    *,
    seen: tuple[str, ...] = (),
) -> Spec:
    """A YAML selector definition (string, ``{method: value}``, ``{union|intersection: [...]}``)."""
    known = list(methods)

    def sub(item: Any) -> Spec:
        return parse_definition(item, known, indirect_selection, selectors, seen=seen)

    if isinstance(definition, str):
        return parse_term(definition, known, indirect_selection)
    if not isinstance(definition, dict):
        raise SelectionError(f"selector definition must be a string or a mapping, got {definition!r}")
    for kind in ("union", "intersection"):
        if kind in definition:
            items = definition[kind]
            if not isinstance(items, list):
                raise SelectionError(f"selector '{kind}' must be a list, got {items!r}")
            includes: list[Spec] = []
            exclusion: Spec | None = None
            for item in items:
                if isinstance(item, dict) and "exclude" in item:
                    if exclusion is not None:
                        raise SelectionError(f"only one 'exclude' is allowed in one '{kind}'")
                    exclusion = _exclusions(item["exclude"], sub)
                else:
                    includes.append(sub(item))
            group = Group(kind, tuple(includes))
            return group if exclusion is None else Group("difference", (group, exclusion))
    if definition.get("method") == "selector":
        name = str(definition.get("value"))
        if name not in selectors or name in seen:
            raise SelectionError(f"selector '{name}' referenced by another selector is not defined before it")
        return parse_definition(
            selectors[name]["definition"], known, indirect_selection, selectors, seen=(*seen, name)
        )
    if len(definition) == 1:
        ((method, value),) = definition.items()
        spec: dict[str, Any] = {"method": method, "value": value}
    elif "method" in definition and "value" in definition:
        spec = dict(definition)
    else:
        raise SelectionError(f"selector definition needs 'method' and 'value', got keys {sorted(definition)}")
    mode = spec.get("indirect_selection", indirect_selection)
    if mode not in INDIRECT_SELECTION_MODES:
        raise SelectionError(f"unknown indirect_selection '{mode}' in a selector definition")
    method_path = str(spec["method"]).split(".")
    if method_path[0] not in known:
        raise SelectionError(f"unknown selection method '{method_path[0]}' in a selector definition")
    value = str(spec["value"])

    def depth(key: str) -> int | None:
        found = spec.get(key)
        if found is None or found == "":
            return None
        try:
            return int(found)  # as dbt reads it (1.5 is 1)
        except (TypeError, ValueError, OverflowError) as exc:
            raise SelectionError(
                f"invalid {key} {found!r} in a selector definition", f"give {key} as a whole number"
            ) from exc

    criterion = Criterion(
        raw=str(definition),
        method=method_path[0],
        args=tuple(method_path[1:]),
        value=value,
        parents=bool(spec.get("parents")),
        parents_depth=depth("parents_depth"),
        children=bool(spec.get("children")),
        children_depth=depth("children_depth"),
        childrens_parents=bool(spec.get("childrens_parents")),
        indirect_selection=mode,
    )
    if "exclude" in spec:
        return Group("difference", (criterion, _exclusions(spec["exclude"], sub)))
    return criterion


def _exclusions(items: Any, sub: Any) -> Spec:
    if not isinstance(items, list):
        raise SelectionError(f"selector 'exclude' must be a list, got {items!r}")
    parsed = [sub(item) for item in items]
    return parsed[0] if len(parsed) == 1 else Group("union", tuple(parsed))
