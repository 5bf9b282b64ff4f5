"""``dbt-assets diff`` without starting a process: the committed mini manifest edited in every way
dbt's state comparison tells apart, the review built from it (changes, owners, exposures, cost,
deadlines), its markdown (order, escaping, the length cap), and the data comparison's one query
run on DuckDB in this process against numbers worked out in Python.

The differential tests against dbt itself are in ``test_diff.py`` (the fixture) and
``test_diff_corpus.py`` (the real projects and these same edits through ``dbt ls``)."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import click
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dbt_assets.diff.data import ROW, comparison_sql
from dbt_assets.diff.impact import build_cost, by_owner, deadlines_at_risk, reach
from dbt_assets.diff.model import AssetChange, ChangeReview, Cost, DataDiff
from dbt_assets.diff.render import review_markdown, review_text
from dbt_assets.diff.review import review_change
from dbt_assets.diff.warehouse import DuckDBDialect
from dbt_assets.history.facts import AssetFacts
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.selection.changes import CHANGE_KINDS, node_changes
from dbt_assets.selection.modified import StateComparison
from dbt_assets.selection.request import Selection
from dbt_assets.selection.state import PreviousState

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parent.parent
MINI = REPO / "tests" / "manifests" / "manifest_v12_dbt1.11.16.json.gz"
ITEMS = "model.mini.items"
STATS_V2 = "model.mini.item_stats.v2"


def mini() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(gzip.decompress(MINI.read_bytes()))
    items = data["nodes"][ITEMS]
    for config in (items["config"], items["unrendered_config"]):  # docs persisted on both sides
        config["persist_docs"] = {"relation": True, "columns": True}
    shout = copy.deepcopy(data["macros"]["macro.dbt.test_unique"])
    shout.update(unique_id="macro.mini.shout", name="shout", package_name="mini", path="macros/shout.sql")
    shout.update(
        original_file_path="macros/shout.sql", macro_sql="{% macro shout(x) %}upper({{ x }}){% endmacro %}"
    )
    shout["depends_on"] = {"macros": []}
    data["macros"]["macro.mini.shout"] = shout
    items["depends_on"]["macros"] = ["macro.mini.shout"]
    return data


def _contract(node: dict[str, Any], types: dict[str, str], *, version: Any = None) -> None:
    node["config"]["contract"] = {"enforced": True, "alias_types": True}
    node["contract"] = {"enforced": True, "alias_types": True, "checksum": json.dumps(types, sort_keys=True)}
    node["columns"] = {
        name: {"name": name, "data_type": kind, "constraints": [], "description": "", "meta": {}, "tags": []}
        for name, kind in types.items()
    }
    node["unrendered_config"]["contract"] = {"enforced": True}


def _edit(data: dict[str, Any], what: str) -> None:
    nodes = data["nodes"]
    items, events = nodes[ITEMS], nodes.get("model.mini.events", {})
    if what == "body":
        items["raw_code"] += "\n-- edited"
    elif what == "configs":
        events["config"]["materialized"] = events["unrendered_config"]["materialized"] = "table"
    elif what == "relation":
        items["config"]["alias"] = items["unrendered_config"]["alias"] = "items_v"
        items["alias"], items["relation_name"] = "items_v", '"mini"."main"."items_v"'
    elif what == "descriptions":
        items["description"] = "Every item."
        items["columns"]["id"]["description"] = "The key."
    elif what == "macro":
        data["macros"]["macro.mini.shout"]["macro_sql"] = (
            "{% macro shout(x) %}upper(trim({{ x }})){% endmacro %}"
        )
    elif what == "new":
        copied = copy.deepcopy(items)
        copied.update(unique_id="model.mini.items_copy", name="items_copy", alias="items_copy")
        copied["fqn"] = ["mini", "items_copy"]
        nodes["model.mini.items_copy"] = copied
    elif what == "removed":
        del nodes["model.mini.events"]
    elif what == "exposure":
        data["exposures"]["exposure.mini.report"]["maturity"] = "high"
    elif what == "source":
        data["sources"]["source.mini.app.events"]["freshness"]["warn_after"] = {"count": 2, "period": "day"}
    elif what == "test":
        test = nodes["test.mini.unique_items_id.7998cfcff6"]
        test["config"]["severity"] = test["unrendered_config"]["severity"] = "warn"
    else:  # pragma: no cover
        raise AssertionError(what)


EDITS = (
    "body",
    "configs",
    "relation",
    "descriptions",
    "macro",
    "new",
    "removed",
    "exposure",
    "source",
    "test",
)


def _write(folder: Path, data: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(data))
    return folder / "manifest.json"


def _review(tmp: Path, current: dict[str, Any], previous: dict[str, Any], **kwargs: Any) -> ChangeReview:
    manifest = _write(tmp / "current", current)
    state = _write(tmp / "prod", previous).parent
    graph = AssetGraph(read_manifest(manifest))
    return review_change(graph, PreviousState.locate(state, None, None), at=kwargs.pop("at", 1.7e9), **kwargs)


# --- which nodes changed, and how: the transpose of state:modified.<kind> --------------------


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sets(st.sampled_from(EDITS)))
def test_each_node_has_exactly_the_kinds_whose_state_selector_selects_it(edits: set[str]) -> None:
    previous, current = mini(), mini()
    for what in sorted(edits):
        _edit(current, what)
    comparison = StateComparison.of(current, previous)
    ids = [
        uid
        for section in ("nodes", "sources", "exposures", "functions")
        for uid in current.get(section) or {}
    ]
    ids = [uid for uid in ids if not uid.startswith("operation.")]
    found = node_changes(comparison, ids)
    new = comparison.check("new", ids)
    assert found.new == new
    assert found.changed == comparison.check("modified", ids)
    for kind in CHANGE_KINDS:
        selected = comparison.check(f"modified.{kind}", ids) - new
        assert {uid for uid, kinds in found.modified.items() if kind in kinds} == selected, kind
    assert set(found.removed) == ({"model.mini.events"} if "removed" in edits else set())
    assert bool(found.changed) == bool(edits - {"removed"})


@pytest.mark.parametrize(
    ("edit", "uid", "kinds", "detail"),
    [
        ("body", ITEMS, ["body"], "body (+1 -0 lines)"),
        ("configs", "model.mini.events", ["configs"], "configs (materialized: view → table)"),
        ("relation", ITEMS, ["relation"], "relation (alias: (unset) → items_v)"),
        (
            "descriptions",
            ITEMS,
            ["persisted_descriptions"],
            "persisted_descriptions (description, column id)",
        ),
        ("macro", ITEMS, ["macros"], "macros (shout)"),
        ("new", "model.mini.items_copy", ["new"], "new"),
        ("removed", "model.mini.events", ["removed"], "removed"),
        ("exposure", "exposure.mini.report", ["modified"], "modified"),
        ("test", "test.mini.unique_items_id.7998cfcff6", ["configs"], "configs (severity: (unset) → warn)"),
    ],
)
def test_each_kind_of_change_is_named_with_what_changed(
    tmp_path: Path, edit: str, uid: str, kinds: list[str], detail: str
) -> None:
    from dbt_assets.diff.render import kind_words

    current = mini()
    _edit(current, edit)
    review = _review(tmp_path, current, mini())
    changed = {c.unique_id: c for c in review.changed}
    assert changed[uid].kinds == kinds
    assert detail in kind_words(changed[uid]) or detail in ", ".join(kind_words(changed[uid]))


def test_a_manifest_against_itself_reports_nothing(tmp_path: Path) -> None:
    """A disabled node may sit among the nodes (as in real projects): it is no asset on either
    side, so it is not removed either."""
    same = mini()
    off = copy.deepcopy(same["nodes"][ITEMS])
    off.update(unique_id="model.mini.off", name="off")
    off["config"]["enabled"] = False
    same["nodes"]["model.mini.off"] = off
    review = _review(tmp_path, same, same)
    assert review.changed == [] and review.downstream == [] and review.cost.assets == 0
    assert "No change" in review_text(review) and "No change" in review_markdown(review)


# --- contracts ----------------------------------------------------------------------------------


def test_breaking_contract_changes_in_dbts_words_and_nothing_on_stdout(tmp_path: Path) -> None:
    """dbt only warns of a breaking change to an unversioned model's contract, and prints that
    warning on stdout: the review says it in dbt's words, and stdout stays the review's."""
    previous, current = mini(), mini()
    _contract(previous["nodes"][ITEMS], {"id": "integer", "label": "varchar"})
    _contract(current["nodes"][ITEMS], {"id": "varchar"})
    from dbt_common.events.event_manager_client import get_event_manager

    heard: list[str] = []  # what dbt's loggers would print (its default one prints on stdout)
    get_event_manager().add_callback(lambda event: heard.append(event.info.name))
    try:
        review = _review(tmp_path, current, previous)
    finally:
        get_event_manager().callbacks.pop()
    assert heard == []
    (change,) = [c for c in review.changed if c.unique_id == ITEMS]
    assert "contract" in change.kinds
    assert change.breaking == [
        "Columns were removed: label",
        "Columns with data_type changes: id (integer -> varchar)",
    ]
    assert [(c.name, c.change) for c in change.columns] == [("id", "type_changed"), ("label", "removed")]
    assert review.breaking == [change]


def test_an_added_column_is_a_contract_change_that_breaks_nothing(tmp_path: Path) -> None:
    previous, current = mini(), mini()
    _contract(previous["nodes"][ITEMS], {"id": "integer"})
    _contract(current["nodes"][ITEMS], {"id": "integer", "label": "varchar"})
    (change,) = [c for c in _review(tmp_path, current, previous).changed if c.unique_id == ITEMS]
    assert "contract" in change.kinds and change.breaking == []


def test_what_dbt_refuses_for_a_versioned_model_is_reported_not_raised(tmp_path: Path) -> None:
    """dbt stops the whole comparison on a breaking change to a versioned model's contract, and
    on a deleted versioned contracted model; the review keeps going and names each."""
    previous, current = mini(), mini()
    for data in (previous, current):
        data["nodes"][STATS_V2]["version"] = 2
    _contract(previous["nodes"][STATS_V2], {"id": "integer", "n": "bigint"})
    _contract(current["nodes"][STATS_V2], {"id": "integer"})
    _contract(previous["nodes"]["model.mini.item_stats.v1"], {"id": "integer"})
    del current["nodes"]["model.mini.item_stats.v1"]
    _edit(current, "body")
    review = _review(tmp_path, current, previous)
    changed = {c.unique_id: c for c in review.changed}
    assert "contract" in changed[STATS_V2].kinds
    assert changed[STATS_V2].refused and changed[STATS_V2].breaking == ["Columns were removed: n"]
    assert changed["model.mini.item_stats.v1"].kinds == ["removed"]
    assert "was deleted or renamed" in changed["model.mini.item_stats.v1"].breaking[0]
    assert changed[ITEMS].kinds == ["body"], "the other changes are still found"
    assert {c.unique_id for c in review.breaking} == {STATS_V2, "model.mini.item_stats.v1"}


# --- what it reaches -----------------------------------------------------------------------------


def _facts(uid: str, times: list[float], last: float) -> AssetFacts:
    """Successes a day apart, the last at ``last``, taking ``times`` seconds."""
    recent = [[last - 86400 * (len(times) - 1 - i), t] for i, t in enumerate(times)]
    return AssetFacts(uid, first_at=0.0, last_status="success", last_success_at=last, recent=recent)


def test_owners_exposures_versions_and_cost(tmp_path: Path) -> None:
    current = mini()
    _edit(current, "body")
    manifest = _write(tmp_path / "c", current)
    graph = AssetGraph(read_manifest(manifest))
    found = reach(graph, [ITEMS])
    assert found.changed == [ITEMS]
    assert found.downstream == ["model.mini.item_stats.v1", STATS_V2, "exposure.mini.report"]
    owners = {o.owner: (o.changed, o.downstream, o.exposures) for o in by_owner(graph, found)}
    assert owners == {
        "alice": ([ITEMS], [], []),
        "core@example.com": ([ITEMS], [], []),
        "bob@example.com": ([], ["exposure.mini.report"], ["exposure.mini.report"]),
        "(no owner)": ([], ["model.mini.item_stats.v1", STATS_V2], []),
    }
    facts = {
        ITEMS: _facts(ITEMS, [1.0, 2.0, 10.0], 100.0),  # p90 of three: 10
        "model.mini.item_stats.v1": _facts("model.mini.item_stats.v1", [3.0], 100.0),
        "test.mini.unique_items_id.7998cfcff6": _facts("t", [0.5], 100.0),
    }
    cost = build_cost(graph, found, facts, "history")
    # item_stats.v2 and the other two tests never ran: unknown, not free
    assert cost.unknown == [STATS_V2, "test.mini.no_negative_ids", "test.mini.not_null_items_id.ef1d48bc37"]
    assert (cost.assets, cost.known, cost.work) == (6, 3, 13.5)
    assert (cost.critical_path, cost.path) == (13.0, [ITEMS, "model.mini.item_stats.v1"])


def test_a_deadline_the_change_puts_at_risk(tmp_path: Path) -> None:
    """Done for today's 07:00 already, so ``sla check`` says ok; rebuilding the change (p90 of
    10 s, then 20 s) from 06:59:40 would finish at 07:00:10: at risk."""
    import datetime as dt

    current = mini()
    _edit(current, "body")
    stats = current["nodes"][STATS_V2]
    stats["config"]["meta"] = {"dbt_assets": {"sla": {"deadline": "07:00"}}}
    manifest = _write(tmp_path / "c", current)
    graph = AssetGraph(read_manifest(manifest))
    due = dt.datetime(2026, 1, 5, 7, 0, tzinfo=dt.UTC).timestamp()
    done = due - 3600
    facts = {ITEMS: _facts(ITEMS, [10.0, 10.0], done), STATS_V2: _facts(STATS_V2, [20.0, 20.0], done)}
    for at, expected in ((due - 20, "at_risk"), (due - 40, "ok")):
        (risk,) = deadlines_at_risk(graph, reach(graph, [ITEMS]), facts, at)
        assert (risk.unique_id, risk.status, risk.without_change) == (STATS_V2, expected, "ok")
        assert risk.estimate == 30.0 and risk.critical_path == [ITEMS, STATS_V2]


# --- markdown ------------------------------------------------------------------------------------


def _synthetic(changes: int, name: str = "m") -> ChangeReview:
    changed = [
        AssetChange(
            f"model.p.{name}{i:04d}",
            f"{name}{i:04d}",
            "model",
            "p",
            ["body"],
            body={"added": 1, "removed": 0},
        )
        for i in range(changes)
    ]
    cost = Cost(0, 0, 0.0, 0.0, [], [], "none")
    return ChangeReview(
        "prod", None, None, "2026-01-05T07:00:00+00:00", changed, [], 0, {}, [], [], [], cost, []
    )


def test_markdown_is_capped_with_a_pointer_to_the_report() -> None:
    review = _synthetic(3000)
    text = review_markdown(review, max_chars=5000, report_url="https://ci.example/r.html")
    assert len(text) <= 5000
    assert "more changed assets" in text and "https://ci.example/r.html" in text
    full = review_markdown(review, max_chars=10**7)
    assert full.count("\n| `m") == 3000 and "more changed" not in full


def test_markdown_cells_cannot_break_the_table_or_carry_html() -> None:
    hostile = AssetChange(
        "model.p.x",
        "a|b<script>alert(1)</script>`c",
        "model",
        "p",
        ["breaking"],
        breaking=["x | <img onerror=1>"],
    )
    review = msgspec.structs.replace(_synthetic(0), changed=[hostile])
    text = review_markdown(review)
    row = next(line for line in text.splitlines() if "script" in line)
    assert row.count(" | ") == 4 and "<script>" not in row and "<img" not in row


def test_markdown_order_does_not_depend_on_the_order_found(tmp_path: Path) -> None:
    current = mini()
    for what in EDITS:
        _edit(current, what)
    first = review_markdown(_review(tmp_path / "a", current, mini()))
    shuffled = json.loads(json.dumps(current))
    shuffled["nodes"] = dict(reversed(list(shuffled["nodes"].items())))
    assert review_markdown(_review(tmp_path / "b", shuffled, mini())) == first


# --- the value diff's query, on DuckDB in this process --------------------------------------------

ROWS = st.lists(
    st.tuples(
        st.integers(0, 8),
        st.one_of(st.none(), st.integers(0, 2)),
        st.one_of(st.none(), st.sampled_from("ab")),
    ),
    max_size=12,
    unique_by=lambda r: r[0],
)


@settings(max_examples=30, deadline=None)
@given(ROWS, ROWS)
def test_the_value_diff_counts_what_a_hand_comparison_counts(
    ci: list[tuple[int, int | None, str | None]], prod: list[tuple[int, int | None, str | None]]
) -> None:
    """Rows keyed by id, an integer and a text column, nulls included; CI also has an added
    column, production a dropped one. Nulls are equal to nulls, nothing else is."""
    import duckdb

    connection = duckdb.connect()
    connection.execute("create table ci (id integer, n integer, s varchar, added integer)")
    connection.execute("create table prod (id integer, n integer, s varchar, gone varchar)")
    for r in ci:
        connection.execute("insert into ci values (?, ?, ?, ?)", [*r, r[0] if r[1] else None])
    for r in prod:
        connection.execute("insert into prod values (?, ?, ?, 'x')", list(r))
    sql, names = comparison_sql(
        DuckDBDialect(),
        "ci",
        "prod",
        [("id", "id", False)],
        [("n", "n", False), ("s", "s", True)],
        ["added"],
        ["gone"],
    )
    cursor = connection.execute(sql)
    row = {
        d[0]: v or 0 for d, v in zip(cursor.description, cursor.fetchone(), strict=True)
    }  # sums of nothing: null
    before, after = {r[0]: r for r in prod}, {r[0]: r for r in ci}
    both = before.keys() & after.keys()
    assert (row["rows_ci"], row["rows_prod"]) == (len(ci), len(prod))
    assert row["added"] == len(after.keys() - before.keys()) and row["removed"] == len(
        before.keys() - after.keys()
    )
    assert row["matched"] == len(both)
    assert row["changed"] == sum(after[k][1:] != before[k][1:] for k in both)
    assert row["diff_0"] == sum(after[k][1] != before[k][1] for k in both)
    assert row["diff_1"] == sum(after[k][2] != before[k][2] for k in both)
    assert row["nn_ci_0"] == sum(1 for r in ci if r[1]) and row["nn_prod_0"] == len(prod)
    assert (row["dup_ci"], row["dup_prod"]) == (0, 0)
    assert [d[0] for d in cursor.description] == names and ROW not in names


def test_a_data_diff_says_what_differs() -> None:
    same = DataDiff("m", "m", "compared", rows_ci=3, rows_prod=3, added=0, removed=0, changed=0)
    assert not same.differs
    assert DataDiff("m", "m", "compared", rows_ci=3, rows_prod=4).differs
    assert msgspec.structs.replace(same, changed=1).differs
    assert not DataDiff("m", "m", "error", reason="boom").differs


def test_a_ci_build_that_would_overwrite_production_is_refused(tmp_path: Path) -> None:
    """The target writes the relations production's manifest names (the same target): refused
    before dbt starts; another database for the CI target is fine."""
    from dbt_assets._core.errors import RunError
    from dbt_assets.api.diff import _refuse_production_target

    current = mini()
    _edit(current, "body")
    review = _review(tmp_path / "same", current, mini())
    graph = AssetGraph(read_manifest(tmp_path / "same" / "current" / "manifest.json"))
    with pytest.raises(
        RunError, match=r'relation "mini"\."main"\."items" \(items\): a CI build would overwrite'
    ):
        _refuse_production_target(graph, review)
    for node in current["nodes"].values():
        if node.get("relation_name"):
            node["relation_name"] = node["relation_name"].replace('"mini"', '"mini_ci"')
    review = _review(tmp_path / "ci", current, mini())
    _refuse_production_target(
        AssetGraph(read_manifest(tmp_path / "ci" / "current" / "manifest.json")), review
    )


def test_the_command_line_error_contract(tmp_path: Path) -> None:
    """One line on stderr and exit 2 for what the user can fix; the review itself otherwise."""
    from tests.conftest import cli

    current = mini()
    _edit(current, "body")
    manifest = _write(tmp_path / "current", current)
    state = _write(tmp_path / "prod", mini()).parent
    base = ("diff", "--manifest", str(manifest))
    for args, message in [
        ((), "pass --state DIR"),
        (("--state", str(tmp_path / "nowhere")), "--state: no such directory"),
        (("--state", str(tmp_path / "current"), "--history", str(tmp_path / "no.db")), "no.db"),
        (("--state", str(state), "--build"), "cannot be used with --manifest"),
        (("--state", str(state), "--fail-on", "everything"), "'everything' is not one of"),
    ]:
        done = cli(*base, *args)
        assert done.exit_code == 2, (args, done.stdout)
        assert len(done.stderr.splitlines()) == 1 and message in done.stderr, (args, done.stderr)
    done = cli(*base, "--state", str(state), "-o", "markdown", "--fail-on", "breaking")
    assert done.exit_code == 0, done.stderr
    assert (
        done.stdout.startswith("## dbt-assets diff\n")
        and "| `items` | model | body (+1 -0 lines) |" in done.stdout
    )


def test_a_selection_narrows_the_changes_reported(tmp_path: Path) -> None:
    current = mini()
    for what in ("body", "configs", "exposure"):
        _edit(current, what)
    manifest = _write(tmp_path / "current", current)
    state = _write(tmp_path / "prod", mini()).parent
    graph = AssetGraph(read_manifest(manifest))
    everything = review_change(graph, PreviousState.locate(state, None, None), at=1.7e9)
    assert [c.unique_id for c in everything.changed] == ["model.mini.events", ITEMS, "exposure.mini.report"]
    narrowed = review_change(
        graph, PreviousState.locate(state, None, None), selection=Selection(["tag:daily"]), at=1.7e9
    )
    assert [c.unique_id for c in narrowed.changed] == [ITEMS]
    assert narrowed.selection == ["--select", "tag:daily"]
    assert "model.mini.events" not in narrowed.downstream


class _Failing:
    """A warehouse whose comparison query fails (fault injection: the real readers are tested
    on DuckDB, directly and through dbt, in test_diff.py)."""

    dialect = DuckDBDialect()
    how = "a warehouse that fails"

    def columns(self, relations: list[Any]) -> list[Any]:
        return [[("id", "INTEGER")] for _ in relations]

    def one_rows(self, queries: list[Any]) -> list[Any]:
        from dbt_assets.diff.warehouse import WarehouseError

        return [WarehouseError("the comparison query failed: permission denied") for _ in queries]

    def query(self, sql: str) -> list[Any]:  # pragma: no cover (not asked)
        raise AssertionError(sql)

    def close(self) -> None:
        pass


def test_a_comparison_that_fails_is_an_error_and_exit_code_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dbt_assets.cli.diff import _exit_code
    from dbt_assets.diff.data import compare_data
    from dbt_assets.diff.review import with_data

    current = mini()
    _edit(current, "body")
    for node in current["nodes"].values():  # built into a CI database
        if node.get("relation_name"):
            node["relation_name"] = node["relation_name"].replace('"mini"', '"mini_ci"')
    manifest = _write(tmp_path / "current", current)
    state = _write(tmp_path / "prod", mini()).parent
    graph = AssetGraph(read_manifest(manifest))
    previous = PreviousState.locate(state, None, None)
    review = review_change(graph, previous, at=1.7e9)
    data = compare_data(graph, previous.compare(manifest), review, _Failing())
    assert [(d.name, d.status, d.reason) for d in data] == [
        ("items", "error", "the comparison query failed: permission denied")
    ]
    reviewed = with_data(review, data=data)
    assert reviewed.errors == data and not reviewed.data_differs
    assert "ERROR: the comparison query failed" in review_text(reviewed)
    assert "**1 comparison(s) failed**" in review_markdown(reviewed)
    assert _exit_code(reviewed, ()) == 1 and "comparisons failed: items" in capsys.readouterr().err
    assert _exit_code(review, ()) == 0


@pytest.fixture(scope="module")
def fuzz_place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    place = tmp_path_factory.mktemp("diff-fuzz")
    current = mini()
    for what in EDITS:
        _edit(current, what)
    _write(place / "current", current)
    _write(place / "prod", mini())
    return place


NEVER = {"--dbt-executable", "--help", "-h", "--debug", "--project-dir", "--profiles-dir", "--target", "-t"}
"""Options the fuzz leaves out: a traceback on purpose (--debug), or a project dbt would parse."""


def _diff_argvs() -> Any:
    from dbt_assets.cli.diff import diff_command
    from tests.test_fuzz_errors import WORDS

    options = [
        (opt, bool(getattr(p, "is_flag", False)))
        for p in diff_command.params
        if isinstance(p, click.Option)
        for opt in p.opts
        if opt not in NEVER
    ]

    @st.composite
    def argvs(draw: st.DrawFn) -> list[str]:
        argv = ["diff", "--manifest", "current/manifest.json"]
        argv += ["--state", "prod"] if draw(st.booleans()) else []
        for _ in range(draw(st.integers(0, 4))):
            if draw(st.booleans()):
                opt, flag = draw(st.sampled_from(options))
                argv += [opt] if flag else [opt, draw(WORDS)]
            else:
                argv.append(draw(WORDS))
        return argv

    return argvs()


@settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
@given(argv=_diff_argvs())
def test_no_argument_breaks_the_error_contract(fuzz_place: Path, argv: list[str]) -> None:
    """Whatever ``diff`` is given: exit 0, 1 (a --fail-on condition) or 2 with one line, never
    a traceback (tests/test_fuzz_errors.py's contract, on this command)."""
    import os

    from tests.conftest import cli
    from tests.test_fuzz_errors import assert_contract

    before = Path.cwd()
    os.chdir(fuzz_place)
    try:
        assert_contract(cli(*argv), codes=(0, 1, 2))
    finally:
        os.chdir(before)


def test_selecting_state_modified_prints_nothing_of_dbts_own(tmp_path: Path) -> None:
    """`ls -s state:modified -o json` (and plan) judge a breaking contract change with dbt's
    classes, whose warning dbt's default logger prints on stdout: stdout is dbt-assets' output,
    so nothing of dbt's may be heard there."""
    from dbt_common.events.event_manager_client import get_event_manager

    from dbt_assets.selection import select
    from dbt_assets.selection.request import Selection

    previous, current = mini(), mini()
    _contract(previous["nodes"][ITEMS], {"id": "integer", "label": "varchar"})
    _contract(current["nodes"][ITEMS], {"id": "varchar"})
    graph = AssetGraph(read_manifest(_write(tmp_path / "current", current)))
    state = _write(tmp_path / "prod", previous).parent
    heard: list[str] = []
    get_event_manager().add_callback(lambda event: heard.append(event.info.name))
    try:
        chosen = select(graph, Selection(["state:modified"], state=state))
    finally:
        get_event_manager().callbacks.pop()
    assert ITEMS in chosen and heard == []
