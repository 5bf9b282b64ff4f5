"""No word of a selection ever reaches dbt's command line as an option (issue 32, defect 1).

What dbt is given is written from the parsed spec (:mod:`dbt_assets.selection.generate`), so
whatever a ``--select``/``--exclude`` value holds, dbt's own command-line parser reads the plan's
argv as selection flags only: the property is checked with dbt's click command itself.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from dbt_assets._core.errors import SelectionError
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import Plan, plan
from dbt_assets.selection import METHODS
from dbt_assets.selection.generate import criterion_text, union_words
from dbt_assets.selection.parse import parse_term, parse_union
from dbt_assets.selection.request import Selection
from tests.conftest import EXAMPLE_MANIFESTS, cli

COMMANDS = ("run", "build", "test", "seed", "snapshot")
SELECTION_PARAMS = {
    "select", "exclude", "selector", "indirect_selection", "resource_type", "resource_types",
    "exclude_resource_type", "exclude_resource_types", "state",
}  # fmt: skip


@cache
def _graph(tmp: str) -> AssetGraph:
    path = Path(tmp) / "manifest.json"
    newest = next(m for m in EXAMPLE_MANIFESTS if "1.11" in m.name)
    path.write_bytes(gzip.decompress(newest.read_bytes()))
    return AssetGraph(read_manifest(path))


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> AssetGraph:
    return _graph(str(tmp_path_factory.mktemp("words")))


def dbt_params(argv: tuple[str, ...]) -> dict[str, Any]:
    """What dbt's own command line makes of an argv (command first): the parameters that
    differ from the command's defaults."""
    from dbt.cli.main import cli as dbt_cli

    command = dbt_cli.commands[argv[0]]
    base = command.make_context(argv[0], [], resilient_parsing=True).params
    params = command.make_context(argv[0], list(argv[1:]), resilient_parsing=True).params
    return {k: v for k, v in params.items() if base.get(k) != v}


def words_after(argv: tuple[str, ...], flag: str) -> list[str]:
    if flag not in argv:
        return []
    rest = argv[argv.index(flag) + 1 :]
    taken = []
    for arg in rest:
        if arg.startswith("-"):
            break
        taken.append(arg)
    return taken


def assert_only_selection(result: Plan) -> None:
    params = dbt_params(result.argv)
    extra = sorted(set(params) - SELECTION_PARAMS)
    assert not extra, f"{result.argv} gives dbt {extra}"
    assert list(params.get("select") or ()) == words_after(result.argv, "--select")
    assert list(params.get("exclude") or ()) == words_after(result.argv, "--exclude")


# words as a hostile input or an orchestrator parameter carries them: options, =, quotes,
# whitespace of every kind, dbt's operators and methods
_PIECES = st.sampled_from(
    ["-", "--", "=", "'", '"', " ", "\t", "\r", "\n", ",", "+", "@", ":", "*", "orders", "stg_orders",
     "tag:", "finance", "downstream_of:", "upstream_of:", "owner:", "fqn:", "--target=ci",
     "--full-refresh", "-x", "2+", "+1", "path:models/", "config.materialized:", "table"]
)  # fmt: skip
_VALUES = st.lists(_PIECES, min_size=1, max_size=6).map("".join)


@pytest.mark.unit
@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(
    command=st.sampled_from(COMMANDS),
    select=st.lists(_VALUES, max_size=3),
    exclude=st.lists(_VALUES, max_size=2),
)
@example(command="run", select=["stg_orders --target=ci"], exclude=[])
@example(command="build", select=["orders\t--full-refresh"], exclude=[])
@example(command="run", select=["downstream_of:orders --full-refresh"], exclude=["-x"])
def test_no_selection_word_reaches_dbt_as_an_option(
    graph: AssetGraph, command: str, select: list[str], exclude: list[str]
) -> None:
    try:
        result = plan(graph, command, Selection(select, exclude=exclude))
    except SelectionError as exc:  # a word that is not a selection term: named in the message
        assert "\n" not in exc.message or "\\n" in repr(exc.message)
        return
    if result.empty:
        return
    assert_only_selection(result)


@pytest.mark.unit
@settings(max_examples=200, deadline=None, derandomize=True)
@given(_VALUES)
def test_written_terms_read_back_the_same(value: str) -> None:
    """The generator is the parser's inverse: each word it writes parses to the same spec."""
    try:
        union = parse_union([value], METHODS)
    except SelectionError:
        return
    words = union_words(union)
    assert words is not None
    again = parse_union(words, METHODS)

    def strip(group: Any) -> list[list[tuple[Any, ...]]]:
        return [
            [
                (c.method, c.args, c.value, c.parents, c.parents_depth, c.children, c.children_depth,
                 c.childrens_parents)
                for c in member.components
            ]
            for member in group.components
        ]  # fmt: skip

    assert strip(again) == strip(union)
    assert not any(w.startswith("-") for w in words)


@pytest.mark.unit
def test_a_word_that_is_an_option_is_refused_naming_it(graph: AssetGraph) -> None:
    for value in ("stg_orders --target=ci", "x --full-refresh", "-s"):
        with pytest.raises(SelectionError) as caught:
            plan(graph, "run", Selection([value]))
        bad = value.split()[-1]
        assert f"'{bad}'" in caught.value.message
    # as a name, it is written with its method and stays one selection word
    written = criterion_text(parse_term("fqn:-odd", METHODS))
    assert written == "fqn:-odd"


@pytest.mark.unit
def test_resource_types_are_refused_unless_dbt_knows_them(graph: AssetGraph) -> None:
    with pytest.raises(SelectionError, match="unknown resource type '--target=ci'"):
        plan(graph, "build", Selection(["orders"], resource_types=["--target=ci"]))


@pytest.mark.unit
def test_plan_and_shard_cli_refuse_an_option_in_a_selection(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    newest = next(m for m in EXAMPLE_MANIFESTS if "1.11" in m.name)
    manifest.write_bytes(gzip.decompress(newest.read_bytes()))
    for args in (
        ["plan", "--command", "run", "-s", "x --full-refresh", "-o", "json"],
        ["plan", "--command", "build", "-s", "a", "--exclude", "b --target=ci"],
        ["shard", "2", "-s", "x --full-refresh", "-o", "json"],
        ["ls", "-s", "orders --target=ci"],
    ):
        result = cli(*args, "--manifest", str(manifest))
        assert result.exit_code == 2, (args, result.output)
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "'--" in lines[0] and "not a selection term" in lines[0], lines


@pytest.mark.unit
def test_plan_json_of_a_plain_selection_is_unchanged(graph: AssetGraph) -> None:
    """The words are written back as typed: bare names stay bare, methods stay written."""
    typed = Selection(["raw_items+ fqn:*,resource_type:seed", "02+events"], exclude=["@x"])
    result = plan(graph, "build", typed)
    assert result.argv == (
        "build", "--select", "raw_items+", "fqn:*,resource_type:seed", "2+events", "--exclude", "@x",
    )  # fmt: skip
    assert result.strategy == "as written" and json.dumps(result.argv)
