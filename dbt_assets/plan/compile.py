"""Compile a selection to the dbt arguments that make dbt select exactly the same assets.

Four ways, tried in order:

1. **as written**: input in dbt's own syntax is written back from its parsed spec as typed
   (:mod:`dbt_assets.selection.generate`: each union member one argv word, never a word dbt
   would read as an option of its own);
2. **rewritten**: dbt-assets' extension terms become dbt syntax where that is provably the same
   set (``downstream_of:X`` → ``X+``, ``upstream_of:X`` → ``+X``);
3. **explicit**: any other set (``owner:``, an orchestrator's list of unique_ids, ...) becomes
   the shortest union we find of exact tokens: ``X+``/``+X`` and ``path:DIR`` where they cover
   part of the set exactly, then one exact token per remaining asset
   (:mod:`dbt_assets.plan.cover`). Every token is checked
   against the set with the same evaluator the differential tests prove equal to dbt, and
   ``--indirect-selection empty`` keeps dbt from adding tests we did not list;
4. **one pass**: an explicit plan of more tokens than dbt checks quickly one by one against
   every node (:func:`~dbt_assets.plan.one_pass.one_pass_criteria`) becomes
   ``result:success`` over a generated state that lists exactly the set
   (:mod:`dbt_assets.plan.one_pass`).

    >>> plan(graph, "run", ["downstream_of:orders"]).argv       # doctest: +SKIP
    ('run', '--select', 'orders+')
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from dbt_assets._core.errors import SelectionError
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.cover import Cover
from dbt_assets.plan.long_selection import (
    MAX_ARGV,
    argv_size,
    selector_definition,
    selector_name,
    split_argv,
)
from dbt_assets.plan.one_pass import ONE_PASS_SELECT, one_pass_criteria, write_state
from dbt_assets.selection import (
    DBT_METHODS,
    METHODS,
    STATE_METHODS,
    previous_state,
    resolve,
    resource_types_for,
    selection_spec,
)
from dbt_assets.selection.generate import criterion_text, union_words
from dbt_assets.selection.parse import parse_term
from dbt_assets.selection.request import Selected, Selection
from dbt_assets.selection.selectors import selectors_file
from dbt_assets.selection.spec import Criterion, Group, Spec

RESOURCE_TYPE_FLAG_COMMANDS = frozenset({"ls", "build", "test"})
COVER_SEARCH = 50
"""A set of more than this many times as many assets as a plan may have criteria becomes one
pass without searching a cover: the search costs an evaluation per candidate token (0.7 s for
2,800 assets of a 10,000-model project), and a cover short enough would need each token to
select 50 assets, while one pass costs dbt no more than one criterion."""
Strategy = Literal["as written", "rewritten", "explicit", "one pass", "empty"]


@dataclass(frozen=True)
class Plan:
    """What a dbt command would run and the exact arguments that make dbt select it."""

    command: str
    argv: tuple[str, ...]
    """dbt's arguments, command first (``("build", "--select", "orders+")``); empty when
    nothing is selected (then dbt must not be run at all)."""
    unique_ids: tuple[str, ...]
    strategy: Strategy
    selector: dict[str, Any] | None = None
    """When the argv would be too long for a command line: the generated YAML selector
    (``{"name": ..., "definition": ...}``) that ``--selector`` in the argv names; dbt must run
    on a project whose selectors.yml has it (see :mod:`dbt_assets.plan.long_selection`)."""
    unmatched: tuple[str, ...] = ()
    """The criteria typed that matched no enabled node (dbt warns of each)."""
    state_dir: str | None = None
    """A one-pass plan's generated state, once written to a folder the caller keeps
    (:meth:`with_state`); ``argv`` then ends with ``--state`` and it."""

    @property
    def one_pass(self) -> bool:
        """Whether dbt selects in one pass over a generated ``--state``
        (:mod:`dbt_assets.plan.one_pass`)."""
        return self.strategy == "one pass"

    @property
    def runnable(self) -> bool:
        """Whether ``dbt *argv`` runs exactly this plan as it stands: not a one-pass plan whose
        state is not written yet (:meth:`with_state`), nor one whose generated selector must
        first be added to a selectors.yml."""
        return not self.empty and self.selector is None and (not self.one_pass or self.state_dir is not None)

    def needs(self) -> str | None:
        """What ``argv`` needs before dbt can run it, said plainly (None: nothing)."""
        if self.one_pass and self.state_dir is None:
            return (
                f"this plan selects in one pass: dbt needs --state with a folder whose run_results.json "
                f"lists these {len(self.unique_ids)} assets; `dbt-assets plan --state-out DIR` writes "
                "it and adds it to the argv (`dbt-assets run` writes a temporary one itself)"
            )
        if self.selector is not None:
            return (
                f"the argv names the generated selector {self.selector['name']}: add its definition to "
                "a copy of the project's selectors.yml before running it"
            )
        return None

    def with_state(self, folder: str | Path) -> Plan:
        """This plan, runnable as printed: a one-pass plan's state written to ``folder`` (a new
        or empty folder the caller keeps) and given in the argv as ``--state``; any other plan
        as it is."""
        if not self.one_pass or self.state_dir is not None:
            return self
        where = str(write_state(self.unique_ids, folder))
        return replace(self, argv=(*self.argv, "--state", where), state_dir=where)

    @property
    def empty(self) -> bool:
        """Nothing selected: dbt must not be run (its command alone would run everything)."""
        return not self.unique_ids

    def why_empty(self) -> tuple[str, str]:
        """Why nothing is selected, and what to do (message, hint), naming what matched nothing."""
        if self.unmatched:
            criteria = ", ".join(f"'{c}'" for c in self.unmatched)
            verb = "matches" if len(self.unmatched) == 1 else "match"
            return (
                f"the selection is empty: {criteria} {verb} no enabled node",
                "check the names with `dbt-assets ls --output name`",
            )
        return (
            f"the selection is empty: nothing to {self.command}",
            "check the selection with `dbt-assets ls`",
        )


def plan(
    graph: AssetGraph,
    command: str,
    selection: Selected = (),
    *,
    unique_ids: Iterable[str] | None = None,
    max_argv: int = MAX_ARGV,
    history: object = None,
    one_pass: int | None = None,
    state_out: str | Path | None = None,
) -> Plan:
    """The plan of ``dbt COMMAND`` for a selection, or for an explicit set of ``unique_ids``
    (with the selection's resource types). With ``state_out``, a one-pass plan's state is
    written there and its argv is runnable as it is (:meth:`Plan.with_state`).

    The selection's ``state`` is dbt's ``--state DIR``; the argv carries it (as an absolute
    path) when the selection reads it (``state:``, ``result:``, ``source_status:``). Above
    ``max_argv`` bytes of arguments the selection becomes a generated YAML selector.
    ``status:`` and ``sla:`` read ``history`` (default: the project's). An explicit plan of
    more than ``one_pass`` criteria (default: :func:`one_pass_criteria`) becomes one
    (:mod:`dbt_assets.plan.one_pass`)."""
    found = _plan(graph, command, selection, unique_ids, max_argv, history, one_pass)
    return found if state_out is None else found.with_state(state_out)


def _plan(
    graph: AssetGraph,
    command: str,
    selection: Selected,
    unique_ids: Iterable[str] | None,
    max_argv: int,
    history: object,
    one_pass: int | None,
) -> Plan:
    wanted = Selection.of(selection)
    selector = wanted.selector
    types = resource_types_for(command, wanted.resource_types, wanted.exclude_resource_types)
    type_flags = _type_flags(command, wanted.resource_types, wanted.exclude_resource_types)
    if unique_ids is not None:
        if not wanted.empty:
            raise SelectionError(
                "explicit unique_ids cannot be combined with --select, --exclude or --selector"
            )
        chosen = _check_ids(graph, unique_ids, types, command)
        explicit = compile_explicit(graph, command, chosen, types, type_flags, one_pass=one_pass)
        return fit_command_line(graph, explicit, max_argv)
    spec = selection_spec(graph, wanted)
    previous = previous_state(graph, wanted.state)
    unmatched: list[str] = []
    selected = resolve(graph, spec, types, state=previous, history=history, unmatched=unmatched)
    if not selected:
        return Plan(command, (), (), "empty", unmatched=tuple(unmatched))
    mode_flags: tuple[str, ...] = ()
    mode = wanted.indirect_selection
    mode_flags += () if mode == "eager" else ("--indirect-selection", mode)
    mode_flags += ("--state", str(previous.path)) if previous is not None and _reads_state(spec) else ()
    flags = (*mode_flags, *type_flags)
    if selector is not None or wanted.empty:  # dbt applies --selector (or its default) itself
        if not _uses_extensions(spec):
            argv = (command, *(("--selector", selector) if selector else ()), *flags)
            return fit_command_line(graph, Plan(command, argv, tuple(selected), "as written"), max_argv)
    else:
        included, excluded = _cli_unions(spec)
        select_words = union_words(included, _dbt_term) if wanted.select else []  # else dbt's default
        exclude_words = union_words(excluded, _dbt_term)
        if select_words is not None and exclude_words is not None:
            words = (*_flag_tokens("--select", select_words), *_flag_tokens("--exclude", exclude_words))
            strategy: Strategy = "rewritten" if _uses_extensions(spec) else "as written"
            written = Plan(command, (command, *words, *flags), tuple(selected), strategy)
            return fit_command_line(graph, written, max_argv)
    explicit = compile_explicit(graph, command, set(selected), types, type_flags, one_pass=one_pass)
    return fit_command_line(graph, explicit, max_argv)


def fit_command_line(graph: AssetGraph, result: Plan, max_argv: int = MAX_ARGV) -> Plan:
    """The plan itself when its argv is short enough, else the same selection as a generated
    YAML selector named by ``--selector`` (the other flags stay on the command line)."""
    if argv_size(result.argv) <= max_argv or result.selector is not None:
        return result
    select, exclude, other = split_argv(result.argv[1:])
    if "--selector" in other:
        return result
    name = selector_name(list(selectors_file(graph.project_dir).values()))
    generated = {
        "name": name,
        "description": f"Generated by dbt-assets: {len(result.unique_ids)} assets for dbt {result.command}.",
        "definition": selector_definition(select, exclude),
    }
    return replace(result, argv=(result.command, "--selector", name, *other), selector=generated)


def _flag_tokens(flag: str, words: Sequence[str]) -> list[str]:
    return [flag, *words] if words else []


def _cli_unions(spec: Spec) -> tuple[Group, Group]:
    """The ``--select`` and ``--exclude`` unions of a spec made by :func:`parse_cli`."""
    assert isinstance(spec, Group) and spec.kind == "difference", spec
    included, excluded = spec.components
    assert isinstance(included, Group) and isinstance(excluded, Group)
    return included, excluded


def _type_flags(command: str, requested: Collection[str], excluded: Collection[str]) -> tuple[str, ...]:
    if command not in RESOURCE_TYPE_FLAG_COMMANDS:
        return ()
    flags: list[str] = []
    for value in sorted(requested):
        flags += ["--resource-type", value]
    for value in sorted(excluded):
        flags += ["--exclude-resource-type", value]
    return tuple(flags)


def _check_ids(graph: AssetGraph, unique_ids: Iterable[str], types: frozenset[str], command: str) -> set[str]:
    chosen = set()
    for uid in unique_ids:
        uid = uid.strip()
        if not uid:
            continue
        if uid not in graph:
            named = graph.find(uid)  # raises with a did-you-mean when it names nothing either
            raise SelectionError(f"'{uid}' is not a unique_id of the manifest", f"did you mean {named}?")
        if graph.records[uid].resource_type not in types:
            raise SelectionError(
                f"{uid} is a {graph.records[uid].resource_type}, which `dbt {command}` does not run",
                f"`dbt {command}` runs {', '.join(sorted(types))}",
            )
        chosen.add(uid)
    return chosen


# --- rewriting extension terms ---------------------------------------------------------


def _uses_extensions(spec: Spec) -> bool:
    if isinstance(spec, Criterion):
        return spec.method not in DBT_METHODS
    return any(_uses_extensions(c) for c in spec.components)


def _reads_state(spec: Spec) -> bool:
    """Whether dbt needs ``--state`` to evaluate the spec (also inside ``downstream_of:``)."""
    if isinstance(spec, Criterion):
        if spec.method in ("downstream_of", "upstream_of"):
            return _reads_state(parse_term(spec.value, METHODS))
        return spec.method in STATE_METHODS
    return any(_reads_state(c) for c in spec.components)


def _dbt_term(term: Criterion) -> str | None:
    """A criterion in dbt's syntax: dbt's own methods as they are, ``downstream_of:X[+N]`` as
    ``X+`` and ``upstream_of:X`` / ``N+upstream_of:X`` as ``+X`` for a plain X (no operators of
    its own, a dbt method); None for anything else, which then compiles explicitly."""
    if term.method in DBT_METHODS:
        return criterion_text(term)
    if term.method not in ("downstream_of", "upstream_of") or term.childrens_parents:
        return None
    inner = parse_term(term.value, METHODS)
    if inner.has_graph_operator or inner.method not in DBT_METHODS:
        return None
    if term.method == "downstream_of" and not term.parents:
        return criterion_text(replace(inner, children=True))
    if term.method == "upstream_of" and not term.children:
        return criterion_text(replace(inner, parents=True))
    return None


# --- explicit sets ---------------------------------------------------------------------


def compile_explicit(
    graph: AssetGraph,
    command: str,
    chosen: set[str],
    types: frozenset[str],
    type_flags: tuple[str, ...] = (),
    *,
    one_pass: int | None = None,
) -> Plan:
    """The shortest exact union of tokens we find for an arbitrary set of assets, for a
    command selecting ``types`` (``type_flags`` are the resource-type flags that say so);
    past ``one_pass`` tokens, one ``result:`` criterion over a generated state."""
    if not chosen:
        return Plan(command, (), (), "empty")
    limit = one_pass_criteria(len(graph.records)) if one_pass is None else one_pass
    one_pass_argv = (command, "--select", ONE_PASS_SELECT, "--indirect-selection", "empty", *type_flags)
    if len(chosen) > limit * COVER_SEARCH:  # searching a cover this large costs more than it can win
        return Plan(command, one_pass_argv, tuple(sorted(chosen)), "one pass")
    tokens = Cover(graph, chosen, types).tokens()
    if len(tokens) > limit:
        return Plan(command, one_pass_argv, tuple(sorted(chosen)), "one pass")  # --state: with_state
    argv = (command, "--select", *tokens, "--indirect-selection", "empty", *type_flags)
    return Plan(command, argv, tuple(sorted(chosen)), "explicit")
