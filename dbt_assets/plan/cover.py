"""The explicit form of a plan: the shortest exact union of dbt selection tokens we find for an
arbitrary set of assets (:func:`dbt_assets.plan.compile.compile_explicit`).

A token is exact when everything it makes dbt select (of the command's resource types) is in
the set, judged by the selection engine the differential tests prove equal to dbt, reading it as
dbt reads one argv word. ``X+``/``+X`` and ``path:DIR`` cover parts of the set where they are
exact; each asset left gets one token of its own, spelled so that dbt's grammar reads it as a
name (:func:`literal`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from pathlib import PurePosixPath

from dbt_assets._core.errors import SelectionError
from dbt_assets.manifest.decode import NodeRecord
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.selection import METHODS
from dbt_assets.selection.evaluate import criterion_nodes, evaluate
from dbt_assets.selection.parse import parse_term, parse_union
from dbt_assets.selection.registry import MethodContext


class Cover:
    """Greedy cover of a set by exact tokens: a token is exact when everything it makes dbt
    select (of the command's resource types) is in the set."""

    def __init__(self, graph: AssetGraph, chosen: set[str], types: frozenset[str]) -> None:
        self.graph = graph
        self.chosen = chosen
        self.types = types
        self.ctx = MethodContext(graph, graph.project_dir)

    def selects(self, token: str) -> set[str]:
        """What dbt selects with ``token`` as one argv word: read as dbt reads it (a space
        separates criteria, a comma intersects them), so a name such as ``a,b`` is judged by
        what dbt would make of it, not by what it means to us."""
        if " " in token or "," in token:
            found, _ = evaluate(self.ctx, parse_union([token], METHODS, "empty"))
        else:
            found = criterion_nodes(self.ctx, parse_term(token, METHODS))
        return {uid for uid in found if self.graph.records[uid].resource_type in self.types}

    def exact(self, token: str) -> set[str] | None:
        try:
            found = self.selects(token)
        except SelectionError:  # a name dbt's grammar reads as operators (@x, x+)
            return None
        return found if found and found <= self.chosen else None

    def tokens(self) -> list[str]:
        candidates: list[tuple[str, set[str]]] = []
        for token in self._group_tokens():
            covered = self.exact(token)
            if covered is not None and len(covered) > 1:
                candidates.append((token, covered))
        candidates.sort(key=lambda c: (-len(c[1]), len(c[0]), c[0]))
        picked: list[str] = []
        left = set(self.chosen)
        for token, covered in candidates:
            if covered & left and len(covered & left) > 1:
                picked.append(token)
                left -= covered
        for uid in sorted(left):
            picked.append(self.single(uid))
        return picked

    def _group_tokens(self) -> Iterator[str]:
        records = self.graph.records
        chosen = self.chosen
        for uid in sorted(chosen):
            token = self._name_token(records[uid])
            if not any(p in chosen for p in records[uid].depends_on.nodes):
                yield f"{token}+"
            if not any(c in chosen for c in self.graph.direct_children(uid)):
                yield f"+{token}"
        folders = {
            str(parent)
            for uid in chosen
            for parent in PurePosixPath(records[uid].original_file_path).parents
            if str(parent) != "."
        }
        for folder in sorted(folders):
            yield f"path:{folder}"

    def single(self, uid: str) -> str:
        """The shortest token that selects ``uid`` and nothing outside the set."""
        record = self.graph.records[uid]
        for token in self._single_candidates(record):
            covered = self.exact(token)
            if covered is not None and uid in covered:
                return token
        raise SelectionError(
            f"cannot select {uid} exactly with dbt's selector syntax",
            "please report this with the manifest; select it together with its neighbours meanwhile",
        )

    @staticmethod
    def _name_token(record: NodeRecord) -> str:
        kind = record.resource_type
        if kind == "source":
            return f"source:{record.package_name}.{record.source_name}.{record.name}"
        if kind in ("exposure", "metric", "semantic_model", "saved_query", "unit_test"):
            return f"{kind}:{record.package_name}.{record.name}"
        return record.search_name

    def _single_candidates(self, record: NodeRecord) -> Iterator[str]:
        yield self._name_token(record)
        if record.resource_type in ("source", "exposure", "metric", "semantic_model", "saved_query"):
            return
        for precise in (False, True):
            lit = functools.partial(literal, precise=precise)
            if precise and lit(record.name) == literal(record.name):
                break  # a plain name: no other spelling to try
            if not precise and literal(record.search_name) != record.search_name:
                yield lit(record.search_name)
            fqn = ".".join(lit(part) for part in record.fqn)
            yield "fqn:" + fqn
            yield f"fqn:{fqn},resource_type:{record.resource_type}"
            if record.resource_type != "test" or not record.test_metadata:
                yield f"path:{lit(record.original_file_path)}"
            yield (
                f"fqn:{lit(record.search_name)},resource_type:{record.resource_type},"
                f"package:{record.package_name}"
            )
            if record.resource_type == "unit_test" and record.model:
                yield f"unit_test:{record.package_name}.{lit(record.name)},fqn:{lit(record.model)}"


# Characters dbt's selection grammar reads as syntax: a space or comma between criteria,
# @ and + operators, : after a method, glob characters. A class matches exactly one of
# them, but a space or comma cannot appear even inside a class: those are matched by a
# class of every character that cannot be part of a plain name.
_AWKWARD = re.compile(r"[\s,@+:*?\[\]]")
_CLASS = {c: f"[{c}]" for c in "@+:*?["} | {"]": "[]]"}
_NOT_A_NAME_CHARACTER = "[!A-Za-z0-9_]"


def literal(name: str, *, precise: bool = False) -> str:
    """``name`` spelled so that dbt reads it as a name: each character its grammar would read
    as syntax becomes ``?`` (with ``precise``, a class as narrow as the command line allows).
    Either may match more than ``name``: the compiler keeps a token only when what it
    selects is exactly what it means to select."""
    if precise:
        return _AWKWARD.sub(lambda m: _CLASS.get(m.group(), _NOT_A_NAME_CHARACTER), name)
    return _AWKWARD.sub("?", name)
