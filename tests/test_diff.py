"""``dbt-assets diff`` on the fixture: a real production DuckDB and a branch of it, reviewed,
built in CI and compared, against dbt's own ``state:`` selection and queries written here.

Production is the built fixture with two changes of its own first: its sources name their
database (``shop``, where the seeds load them, as a raw database both targets read) and
``stg_customers`` enforces a contract. Its ``run_results.json`` is replaced by one with fixed
times (every model 10 s, seed 5 s, test 1 s, all finished 2026-01-05 04:00 UTC), so costs and
deadlines are the same on every run. The branch changes ``orders``' SQL, adds a column to
``customers`` and drops one, makes ``stg_products`` a table (with a hostile ``meta`` value),
removes a column from ``stg_customers``' contract (a breaking change) and adds
``payment_methods``. Its ``ci`` target writes ``target/shop_ci.duckdb`` and attaches
production's ``target/shop.duckdb`` read-only, as ``--defer`` needs.

One directory is production and then the branch (the session's built fixture copied, parsed
twice); one CI build serves every test that compares data."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from dbt_assets.diff.model import ChangeReview
from tests.browser import available, start_chromium
from tests.conftest import cli, run_dbt
from tests.dbt_oracle import DbtLs

pytestmark = pytest.mark.slow

SNAPSHOT = Path(__file__).parent / "snapshots" / "diff.md"
HOSTILE = "<script>window.__pwned = 1</script><img src=x onerror=window.__pwned=2> | `x`"
FINISHED = "2026-01-05T04:00:00Z"
AT = "2026-01-05T05:59:45"  # 15 s before orders' 07:00 Berlin deadline; rebuilding its chain takes 30 s
REPORT_URL = "https://ci.example/diff.html"
CONTRACT = """  - name: stg_customers
    description: One row per customer.
    config:
      contract: {enforced: true}
    columns:
      - name: customer_id
        data_type: integer
        data_tests: [unique, not_null]
      - name: first_name
        data_type: varchar
      - name: last_name
        data_type: varchar
      - name: email
        data_type: varchar
      - name: signed_up_at
        data_type: timestamp
"""


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def _fixed_run_results(built: Path, out: Path) -> None:
    """The build's run_results.json with fixed times (see the module docstring)."""
    artifact = json.loads(built.read_text())
    seconds = {"model": 10.0, "seed": 5.0, "snapshot": 10.0, "test": 1.0, "unit_test": 1.0}
    end = dt.datetime.fromisoformat(FINISHED)
    for result in artifact["results"]:
        took = seconds.get(result["unique_id"].split(".")[0], 1.0)
        start = (end - dt.timedelta(seconds=took)).isoformat().replace("+00:00", "Z")
        result["execution_time"] = took
        result["timing"] = [{"name": "execute", "started_at": start, "completed_at": FINISHED}]
    artifact["metadata"]["generated_at"] = FINISHED
    artifact["metadata"]["invocation_started_at"] = FINISHED
    out.write_text(json.dumps(artifact))


@dataclass
class Change:
    project: Path
    """Production's build, then the branch's edits: its ``target/shop.duckdb`` is production's
    warehouse, ``prod-state/`` production's artifacts, ``prod-history/`` its run history."""
    oracle: DbtLs

    @property
    def history(self) -> Path:
        return self.project / "prod-history" / "history.db"


@pytest.fixture(scope="module")
def change(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Change:
    project = Path(shutil.copytree(built_template, tmp_path_factory.mktemp("diff") / "project"))
    (project / ".dbt-assets").rename(project / "prod-history")  # CI has no history of its own
    staging = project / "models" / "staging"
    _edit(staging / "_sources.yml", "    schema: main\n", "    database: shop\n    schema: main\n")
    _edit(staging / "_staging.yml",
          "  - name: stg_customers\n    description: One row per customer.\n    columns:\n"
          "      - name: customer_id\n        data_tests: [unique, not_null]\n", CONTRACT)  # fmt: skip
    state = project / "prod-state"
    state.mkdir()
    _fixed_run_results(
        project / "target" / "run_results.json", state / "run_results.json"
    )  # the whole build's
    run_dbt(
        project, "parse"
    )  # production's manifest (its relations are as built: a contract changes no data)
    shutil.copy(project / "target" / "manifest.json", state / "manifest.json")

    models = project / "models"
    _edit(models / "marts" / "core" / "orders.sql", "coalesce(p.amount, 0) as amount",
          "round(coalesce(p.amount, 0) * 1.1, 2) as amount")  # fmt: skip
    _edit(models / "marts" / "core" / "customers.sql", "    max(o.ordered_at) as last_order_at,\n",
          "    coalesce(sum(o.payment_count), 0) as payment_count,\n")  # fmt: skip
    _edit(models / "marts" / "core" / "_core.yml",
          "        data_tests: [unique, not_null]\n  - name: customer_segments",
          "        data_tests: [unique, not_null]\n      - name: payment_count\n"
          "        description: Payments.\n  - name: customer_segments")  # fmt: skip
    _edit(staging / "_staging.yml", "      - name: email\n        data_type: varchar\n", "")
    _edit(staging / "stg_customers.sql", "    email,\n", "")
    _edit(staging / "_staging.yml",
          "  - name: stg_products\n    description: One row per product.\n",
          "  - name: stg_products\n    description: One row per product.\n    config:\n"
          f"      materialized: table\n      meta: {{note: {json.dumps(HOSTILE)}}}\n")  # fmt: skip
    (models / "marts" / "finance" / "payment_methods.sql").write_text(
        "select payment_method, count(*) as payments\nfrom {{ ref('stg_payments') }}\ngroup by 1\n"
    )
    attach = "      attach:\n        - {path: target/shop.duckdb, alias: shop, read_only: true}\n"
    _edit(project / "profiles.yml", "      path: target/shop_ci.duckdb\n      threads: 2\n",
          "      path: target/shop_ci.duckdb\n      threads: 2\n" + attach)  # fmt: skip
    # dbt-assets parses the branch, for the CI target: the one manifest every test reads
    parsed = cli("diff", "--project-dir", str(project), "--state", "prod-state", "--target", "ci")
    assert parsed.exit_code == 0, parsed.stderr
    return Change(project, DbtLs(project, project / "target" / "manifest.json"))


def _diff(change: Change, *args: str) -> Any:
    return cli("diff", "--project-dir", str(change.project), "--state", "prod-state", "--target", "ci", *args)


def _review(change: Change, *args: str) -> dict[str, Any]:
    done = _diff(change, "--at", AT, "-o", "json", *args)
    assert done.exit_code == 0, done.stderr
    return dict(json.loads(done.stdout))


# --- what changed, as dbt's state: methods see it -------------------------------------------------


def test_every_change_is_reported_as_dbts_state_methods_see_it(change: Change) -> None:
    review = _review(change)
    state = ("--state", "prod-state", "--resource-type", "all", "--indirect-selection", "empty")
    kinds = {c["unique_id"]: c["kinds"] for c in review["changed"]}
    assert sorted(kinds) == change.oracle.unique_ids("-s", "state:modified", *state)
    new = change.oracle.unique_ids("-s", "state:new", *state)
    assert [u for u, k in kinds.items() if k == ["new"]] == new == ["model.shop.payment_methods"]
    for kind in ("body", "configs", "relation", "persisted_descriptions", "macros", "contract"):
        theirs = set(change.oracle.unique_ids("-s", f"state:modified.{kind}", *state))
        assert {u for u, k in kinds.items() if kind in k} == theirs - set(new), kind
        assert (set(new) <= theirs) is (kind != "macros"), "dbt: a new node is every kind but macros"
    assert kinds == {
        "model.shop.customers": ["body"],
        "model.shop.orders": ["body"],
        "model.shop.payment_methods": ["new"],
        "model.shop.stg_customers": ["body", "contract"],
        "model.shop.stg_products": ["configs"],
    }
    by_id = {c["unique_id"]: c for c in review["changed"]}
    assert by_id["model.shop.stg_customers"]["breaking"] == ["Columns were removed: email"]
    assert by_id["model.shop.stg_customers"]["columns"] == [
        {"name": "email", "change": "removed", "before": "varchar", "after": None}
    ]
    assert by_id["model.shop.customers"]["columns"] == [
        {"name": "payment_count", "change": "added", "before": None, "after": None}
    ]
    configs = {c["key"]: (c["before"], c["after"]) for c in by_id["model.shop.stg_products"]["configs"]}
    assert configs == {"materialized": ("view", "table"), "meta": (None, {"note": HOSTILE})}
    assert review["breaking"] == ["model.shop.stg_customers"]


def test_downstream_owners_exposures_and_slas_are_exact(change: Change) -> None:
    review = _review(change)
    state = ("--state", "prod-state", "--resource-type", "all", "--indirect-selection", "empty")
    modified = set(change.oracle.unique_ids("-s", "state:modified", *state))
    everything = change.oracle.unique_ids("-s", "state:modified+", *state)
    checks = [u for u in everything if u.split(".")[0] in ("test", "unit_test")]
    assert sorted(review["downstream"]) == sorted(set(everything) - modified - set(checks))
    assert review["checks"] == len(checks)
    assert "model.shop.customer_segments.v1" in review["downstream"]
    assert "model.shop.customer_segments.v2" in review["downstream"], "versions are kept apart"
    names = review["names"]
    owners = {
        o["owner"]: (sorted(names[u] for u in o["changed"]), sorted(names[u] for u in o["downstream"]))
        for o in review["owners"]
    }
    assert owners == {
        "analytics@shop.example": (["customers", "orders"], []),
        "bi@shop.example": ([], ["executive_summary", "leadership_dashboard", "weekly_revenue"]),
        "crm@shop.example": (["customers"], ["customer_segments.v1", "customer_segments.v2"]),
        "finance@shop.example": (["payment_methods"], ["order_revenue_daily", "revenue_by_category"]),
        "(no owner)": (
            ["stg_customers", "stg_products"],
            [
                "int_order_items",
                "order_count",
                "orders_semantic",
                "revenue",
                "revenue_by_status",
                "top_customers",
            ],
        ),
    }
    assert [o["owner"] for o in review["owners"]][-1] == "(no owner)"
    (exposure,) = review["exposures"]
    assert exposure["name"] == "leadership_dashboard" and exposure["owners"] == ["bi@shop.example"]
    assert sorted(names[u] for u in exposure["via"]) == [
        "customers",
        "orders",
        "stg_customers",
        "stg_products",
    ]
    slas = {s["name"]: s["sla"] for s in review["slas"]}
    assert slas["orders"] == ["deadline 07:00 (Europe/Berlin)", "max_runtime 5m", "max_failures 1"]


def test_cost_and_the_deadline_the_change_puts_at_risk(change: Change) -> None:
    review = _review(change)
    cost = review["cost"]
    assert cost["basis"] == "run_results.json"
    assert cost["unknown"] == ["model.shop.payment_methods"], "a new model has no time: unknown, not free"
    # 11 models rebuilt at 10 s each and the 18 tests at 1 s; the longest chain is six models
    assert (cost["assets"], cost["known"], cost["work"]) == (30, 29, 11 * 10.0 + review["checks"] * 1.0)
    assert review["checks"] == 18
    assert cost["critical_path"] == 60.0
    chain = [
        "stg_products",
        "int_order_items",
        "orders",
        "customers",
        "customer_segments.v2",
        "executive_summary",
    ]
    assert [review["names"][u] for u in cost["path"]] == chain
    (orders,) = review["deadlines"]
    assert (orders["status"], orders["without_change"]) == ("at_risk", "ok")
    assert orders["estimate"] == 30.0  # stg_products → int_order_items → orders, 10 s each
    assert [review["names"][u] for u in orders["critical_path"]] == [
        "stg_products",
        "int_order_items",
        "orders",
    ]
    calm = _review(change, "--at", "2026-01-05T05:58:00")
    assert [(d["status"], d["without_change"]) for d in calm["deadlines"]] == [("ok", "ok")]
    failed = _diff(change, "--at", AT, "--fail-on", "at_risk", "--fail-on", "breaking")
    assert failed.exit_code == 1
    assert (
        "deadlines put at risk: orders" in failed.stderr
        and "breaking changes: stg_customers" in failed.stderr
    )
    # production's run history, as of now (--at reads it as of then)
    history = json.loads(_diff(change, "-o", "json", "--history", str(change.history)).stdout)
    assert history["cost"]["basis"] == "history" and history["cost"]["unknown"] == [
        "model.shop.payment_methods"
    ]


# --- the CI build, compared with production ------------------------------------------------------


@pytest.fixture(scope="module")
def built(change: Change) -> tuple[ChangeReview, Any, Path]:
    """``diff --build --target ci`` once: the review (with its data), the finished CLI result and
    the report."""
    report = change.project / "diff.html"
    done = _diff(
        change, "--build", "--at", AT, "-o", "json", "--report", str(report), "--fail-on", "data_diff"
    )
    review = msgspec.convert(json.loads(done.stdout), ChangeReview)
    return review, done, report


def _hand(change: Change, sql: str) -> list[tuple[Any, ...]]:
    import duckdb

    connection = duckdb.connect(str(change.project / "target" / "shop_ci.duckdb"), read_only=True)
    try:
        connection.execute(f"ATTACH '{change.project / 'target' / 'shop.duckdb'}' AS shop (READ_ONLY)")
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def test_the_data_diff_equals_a_query_written_by_hand(
    change: Change, built: tuple[ChangeReview, Any, Path]
) -> None:
    review, done, _ = built
    assert done.exit_code == 1, done.stderr  # --fail-on data_diff, and the data does differ
    assert "data differs from production: customers, orders, stg_customers" in done.stderr
    assert review.build is not None and review.build.status == "success" and review.build.failed == []
    data = {d.name: d for d in review.data or []}
    assert list(data) == ["customers", "orders", "payment_methods", "stg_customers", "stg_products"]

    orders = data["orders"]
    ((rows_ci, rows_prod, changed),) = _hand(change, """
        select (select count(*) from shop_ci.main.orders), (select count(*) from shop.main.orders),
               (select count(*) from shop_ci.main.orders c join shop.main.orders p using (order_id)
                where c.amount is distinct from p.amount)""")  # fmt: skip
    assert (orders.rows_ci, orders.rows_prod, orders.changed) == (rows_ci, rows_prod, changed) and changed > 0
    assert (orders.added, orders.removed, orders.unchanged) == (0, 0, rows_ci - changed)
    assert orders.key == ["order_id"] and orders.key_source == "test unique"
    assert orders.changed_by_column == {c: (changed if c == "amount" else 0) for c in orders.compared_columns}
    assert orders.schema == [], "a body change with --defer: no column reported changed"

    customers = data["customers"]
    assert [(c.name, c.change) for c in customers.schema] == [
        ("payment_count", "added"),
        ("last_order_at", "removed"),
    ]
    ((with_payments, with_last, lifetime_changed),) = _hand(change, """
        select (select count(payment_count) from shop_ci.main.customers),
               (select count(last_order_at) from shop.main.customers),
               (select count(*) from shop_ci.main.customers c join shop.main.customers p using (customer_id)
                where c.lifetime_amount is distinct from p.lifetime_amount)""")  # fmt: skip
    assert customers.not_compared_columns == {
        "payment_count": f"only in CI: {with_payments} of {customers.rows_ci} rows not null",
        "last_order_at": f"only in production: {with_last} of {customers.rows_prod} rows not null",
    }
    assert (
        "payment_count" not in customers.compared_columns
        and "last_order_at" not in customers.compared_columns
    )
    assert customers.changed_by_column["lifetime_amount"] == lifetime_changed == customers.changed

    assert [(c.name, c.change) for c in data["stg_customers"].schema] == [("email", "removed")]
    assert data["stg_customers"].changed == 0 and data["stg_products"].changed == 0
    assert not data["stg_products"].differs, "a view become a table, the same rows"
    ((methods,),) = _hand(change, "select count(*) from shop_ci.main.payment_methods")
    assert data["payment_methods"].status == "not_compared"
    assert (
        data["payment_methods"].reason == "new: no production relation"
        and data["payment_methods"].rows_ci == methods
    )


def test_the_markdown_equals_its_snapshot(built: tuple[ChangeReview, Any, Path]) -> None:
    from dbt_assets.api import review_markdown

    text = review_markdown(built[0], report_url=REPORT_URL)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(text)
    assert SNAPSHOT.is_file(), f"no snapshot {SNAPSHOT}: run with UPDATE_SNAPSHOTS=1 to write it"
    assert text == SNAPSHOT.read_text(), (
        f"the markdown differs from {SNAPSHOT} (UPDATE_SNAPSHOTS=1 to accept)"
    )
    assert HOSTILE not in text and "&lt;script&gt;" not in text and "&lt;script>" in text


# --- the report's changes panel, in a browser --------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not available():
        pytest.skip("chromium and chromium-driver missing (python3 dev.py setup installs them)")
    driver = start_chromium(tmp_path_factory.mktemp("chromium"))
    try:
        yield driver
    finally:
        driver.quit()


def test_the_report_highlights_the_change_and_shows_each_assets_changes(
    browser: Any, built: tuple[ChangeReview, Any, Path]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    review, _, report = built
    browser.get_log("browser")
    browser.get(report.as_uri())
    WebDriverWait(browser, 20).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")

    def marked(kind: str) -> set[str]:
        return {g.get_attribute("data-id") for g in browser.find_elements(By.CSS_SELECTOR, f"g.node.{kind}")}

    assert marked("changed") == {c.unique_id for c in review.changed}
    assert marked("downstream") == set(review.downstream)
    listed = browser.find_elements(By.CSS_SELECTOR, "#changes-list li")
    assert len(listed) == len(review.changed) and "breaking" in browser.find_element(By.ID, "changes").text

    def click(uid: str) -> str:
        node = browser.find_element(By.CSS_SELECTOR, f'g.node[data-id="{uid}"]')
        browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", node)
        return str(browser.find_element(By.CSS_SELECTOR, "#detail .changes-panel").text)

    panel = click("model.shop.stg_customers")
    assert "contract" in panel and "breaking: Columns were removed: email" in panel
    assert "email: removed (varchar)" in panel and "data: rows 6 → 6" in panel
    panel = click("model.shop.stg_products")
    assert "materialized: view → table" in panel and HOSTILE in panel, "project text shown as text"
    panel = click("model.shop.orders")
    assert "amount" in panel and "at_risk: orders: deadline 07:00 (Europe/Berlin)" in panel
    assert "Downstream of the change" in click("model.shop.weekly_revenue")
    assert browser.execute_script("return window.__pwned === undefined")
    assert [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_through_dbt_show_the_numbers_are_the_same(
    change: Change, built: tuple[ChangeReview, Any, Path]
) -> None:
    """Other adapters are read through queries dbt runs (``dbt show --inline``, the adapter's
    own quoting, types and introspection: two dbt invocations for all the models); on DuckDB
    they give what reading the file gives."""
    from dbt_assets.diff.data import compare_data
    from dbt_assets.diff.warehouse import DbtShowReader
    from dbt_assets.run.project import Project
    from dbt_assets.selection import previous_state

    review = built[0]
    project = Project(change.project, target="ci")
    graph = project.graph()
    state = previous_state(graph, "prod-state")
    assert state is not None
    comparison = state.compare(Path(graph.manifest.path))
    through_dbt = compare_data(graph, comparison, review, DbtShowReader(project), built={
        c.unique_id: "success" for c in review.changed
    })  # fmt: skip
    direct = {d.name: d for d in review.data or []}
    for (
        diff
    ) in through_dbt:  # the same numbers; dbt names the types its own way (VARCHAR / character varying)
        schema = [(c.name, c.change) for c in diff.schema]
        assert schema == [(c.name, c.change) for c in direct[diff.name].schema]
        assert msgspec.structs.replace(diff, schema=[]) == msgspec.structs.replace(
            direct[diff.name], schema=[]
        )
