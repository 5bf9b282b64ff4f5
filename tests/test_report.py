"""The HTML report: its data and page without a browser, then real reports of real runs of the
fixture opened in headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium): nodes, colours, the detail panel, search and the timeline show what the history
holds, nothing runs from the project's text, and the console stays clean.

Screenshots of the clean and the failed run's reports are written to ``.artifacts/``; with
``UPDATE_SCREENSHOTS=1`` the failed one also replaces ``docs/report.png`` (the README's)."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dbt_assets.interop.report_page import page_json, render_page
from tests.browser import available, start_chromium
from tests.conftest import REPO, cli

ARTIFACTS = REPO / ".artifacts"
HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> & </script>'


@pytest.mark.unit
def test_the_data_cannot_leave_its_script_element() -> None:
    text = page_json({"d": HOSTILE, "line": "a\u2028b"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"d": HOSTILE, "line": "a\u2028b"}


@pytest.mark.unit
def test_the_page_is_self_contained_and_filled_in_one_pass() -> None:
    page = render_page({"title": "__JS__ <b>", "assets": [], "x": "__DATA__"})
    assert "<title>__JS__ &lt;b&gt;</title>" in page, "a placeholder in the data is not filled again"
    assert page.count("<script") == 2 and "__CSS__" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", page), "nothing is fetched"
    assert "default-src 'none'" in page


# --- in a real browser --------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not available():
        pytest.skip("chromium and chromium-driver missing (python3 dev.py setup installs them)")
    driver = start_chromium(tmp_path_factory.mktemp("chromium"))
    try:
        yield driver
    finally:
        driver.quit()


def _open(browser: Any, page: Path) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # forget what an earlier page said
    browser.get(page.as_uri())
    WebDriverWait(browser, 20).until(lambda d: d.execute_script("return document.body.dataset.ready") == "1")


def _console_errors(browser: Any) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _node(browser: Any, unique_id: str) -> Any:
    from selenium.webdriver.common.by import By

    return browser.find_element(By.CSS_SELECTOR, f'g.node[data-id="{unique_id}"]')


def _click(browser: Any, element: Any) -> None:
    """A click as the user makes it (SVG groups have no size of their own for WebDriver)."""
    browser.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", element)


def _screenshot(browser: Any, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    browser.save_screenshot(str(path))
    return path


def _history(project: Path) -> Any:
    from dbt_assets.api import open_history

    return open_history(project, create=False)


def test_the_report_of_a_clean_build_shows_the_history(browser: Any, built_project: Path) -> None:
    from selenium.webdriver.common.by import By

    page = built_project / "report.html"
    made = cli("report", "--project-dir", str(built_project), "--out", str(page))
    assert made.exit_code == 0, made.stderr
    _open(browser, page)
    assert _console_errors(browser) == []
    with _history(built_project) as history:
        newest = history.run()
        results = history.results(newest.run_id)
        facts = history.facts()
    drawn = browser.find_elements(By.CSS_SELECTOR, "g.node")
    shown = {n.get_attribute("data-id") for n in drawn}
    assert "model.shop.orders" in shown and "source.shop.shop.orders" in shown
    assert "exposure.shop.leadership_dashboard" in shown, "exposures are drawn"
    assert not any(uid.startswith("test.") for uid in shown), "tests are folded into their assets"
    for node in drawn:  # every node says what the history says
        uid = node.get_attribute("data-id")
        expected = facts[uid].last_status if uid in facts else "never run"
        assert node.get_attribute("data-status") == expected, uid
    orders = _node(browser, "model.shop.orders")
    assert orders.find_element(By.CSS_SELECTOR, "rect").get_attribute("fill") == "#c8e6c9"
    assert "pass" in orders.text, "its tests, folded, with their results"

    _click(browser, orders)
    detail = browser.find_element(By.ID, "detail").text
    assert "dbt-assets run -s orders" in detail and "model.shop.orders" in detail
    assert "deadline" in detail and "max_runtime" in detail, "its SLAs, observed against the limit"
    assert "observed" in detail and "limit" in detail
    # what automation decides for it now, and when it is next due (no new data: on new data)
    assert "automation\nnot due: no new upstream data since its last build" in detail, detail
    assert "next due\non new upstream data" in detail

    graph_view = browser.find_element(By.ID, "graph")

    def view_box() -> list[float]:
        return [
            float(v)
            for v in browser.execute_script("return arguments[0].getAttribute('viewBox')", graph_view).split()
        ]

    fitted = view_box()
    browser.execute_script(
        "arguments[0].dispatchEvent(new WheelEvent('wheel', {deltaY: -100, clientX: 300, clientY: 300}))",
        graph_view,
    )
    zoomed = view_box()
    assert zoomed[2] < fitted[2], "the wheel zooms in"
    browser.execute_script(
        """const svg = arguments[0];
        svg.dispatchEvent(new MouseEvent('mousedown', {clientX: 300, clientY: 300}));
        svg.dispatchEvent(new MouseEvent('mousemove', {clientX: 200, clientY: 250}));
        window.dispatchEvent(new MouseEvent('mouseup'));""",
        graph_view,
    )
    panned = view_box()
    assert panned[0] > zoomed[0] and panned[1] > zoomed[1] and panned[2] == zoomed[2], "a drag pans"

    search = browser.find_element(By.ID, "search")
    search.send_keys("customer_seg")
    hits = browser.find_elements(By.CSS_SELECTOR, "#search-results li")
    assert [h.text for h in hits] == ["customer_segments.v1 (model)", "customer_segments.v2 (model)"]
    hits[1].click()
    assert browser.find_element(By.CSS_SELECTOR, "#detail h2").text == "customer_segments.v2"
    assert "selected" in _node(browser, "model.shop.customer_segments.v2").get_attribute("class")

    bars = browser.find_elements(By.CSS_SELECTOR, "#timeline rect.bar")
    timed = [r for r in results if r.started_at and r.finished_at and r.status != "skipped"]
    assert len(bars) == len(timed) and {b.get_attribute("data-id") for b in bars} == {
        r.unique_id for r in timed
    }
    assert f"run {newest.run_id}: dbt build, success" in browser.find_element(By.ID, "timeline").text
    assert browser.find_elements(By.CSS_SELECTOR, "#critical-list li[data-node]"), "orders has a deadline"
    assert _console_errors(browser) == []
    _screenshot(browser, "report-clean.png")


def test_the_report_of_a_failed_run_shows_the_failure_and_its_causes(
    browser: Any, built_project: Path
) -> None:
    from selenium.webdriver.common.by import By

    model = next(built_project.glob("models/**/stg_orders.sql"))
    model.write_text(model.read_text().replace("select", "select no_such_column,", 1))
    page = built_project / "failed.html"
    run = cli("run", "--project-dir", str(built_project), "-s", "stg_orders+", "--report", str(page))
    assert run.exit_code == 1 and "report written to" in run.stderr
    _open(browser, page)
    assert _console_errors(browser) == []
    assert _node(browser, "model.shop.stg_orders").get_attribute("data-status") == "error"
    assert _node(browser, "model.shop.orders").get_attribute("data-status") == "skipped"
    attention = browser.find_element(By.ID, "attention").text
    assert "stg_orders" in attention
    _click(browser, _node(browser, "model.shop.orders"))
    detail = browser.find_element(By.ID, "detail").text
    assert "Why (causes, nearest first)" in detail and "stg_orders (root)" in detail
    assert "fix: dbt-assets run -s stg_orders" in detail
    error = browser.find_element(By.CSS_SELECTOR, '#timeline rect.bar[data-status="error"]')
    assert error.get_attribute("data-id") == "model.shop.stg_orders"
    skipped = browser.find_elements(By.CSS_SELECTOR, '#timeline .chips span[data-status="skipped"]')
    assert "model.shop.orders" in {s.get_attribute("data-id") for s in skipped}
    shot = _screenshot(browser, "report-failed.png")
    if os.environ.get("UPDATE_SCREENSHOTS"):
        shutil.copy(shot, REPO / "docs" / "report.png")


def test_project_text_is_shown_never_run(browser: Any, built_project: Path) -> None:
    """A description holding a script and an event handler: shown as text, nothing runs."""
    from selenium.webdriver.common.by import By

    (built_project / "models" / "hostile.sql").write_text("select 1 as id\n")
    (built_project / "models" / "hostile.yml").write_text(
        "version: 2\nmodels:\n  - name: hostile\n    description: " + json.dumps(HOSTILE) + "\n"
    )
    page = built_project / "hostile.html"
    made = cli("report", "--project-dir", str(built_project), "--out", str(page), "-s", "hostile")
    assert made.exit_code == 0, made.stderr
    _open(browser, page)
    _click(browser, _node(browser, "model.shop.hostile"))
    assert browser.find_element(By.CSS_SELECTOR, "#detail .description").text == HOSTILE
    assert browser.execute_script("return window.__pwned") is None
    assert browser.find_elements(By.CSS_SELECTOR, "#detail img, #detail script") == []
    assert _console_errors(browser) == []


@pytest.mark.unit
def test_report_data_folds_checks_and_lays_out_the_run(tmp_path: Path) -> None:
    """On the example manifest: tests become their assets' check counts, parents are indices
    of drawn assets, and the run's timeline has a bar per timed result on its dbt thread."""
    import gzip

    from dbt_assets.history.store import History
    from dbt_assets.interop.report import report_data
    from dbt_assets.manifest.decode import read_manifest
    from dbt_assets.manifest.graph import AssetGraph
    from dbt_assets.run.events import AssetFinished

    unpacked = tmp_path / "manifest.json"
    unpacked.write_bytes(
        gzip.decompress((REPO / "tests/manifests/manifest_v12_dbt1.11.16.json.gz").read_bytes())
    )
    graph = AssetGraph(read_manifest(unpacked))
    unique = next(uid for uid in graph.records if uid.startswith("test.mini.unique_items_id"))
    with History.open(tmp_path / "history.db") as history:
        run = history.start_run(command="build", argv=["build"], unique_ids=[], started_at=100.0)
        history.record_result(
            run, AssetFinished("seed.mini.raw_items", "success", 101, 102, 1, thread="Thread-1")
        )
        history.record_result(
            run, AssetFinished("model.mini.items", "error", 102, 104, 2, "boom", thread="Thread-2")
        )
        history.record_result(run, AssetFinished(unique, "skipped", skipped_because=["model.mini.items"]))
        history.finish_run(run, status="failed", exit_code=1, finished_at=105.0)
        data = report_data(graph, history, at=200.0)
    names = [a["name"] for a in data["assets"]]
    assert not any(a["type"] in ("test", "unit_test") for a in data["assets"])
    items = data["assets"][names.index("items")]
    assert items["checks"] == {"never run": 2, "skipped": 1}, "unique, not_null and the singular test"
    assert items["status"] == "error" and items["parents"] == [names.index("raw_items")]
    assert "causes" not in items and items["fix"].startswith("dbt-assets build -s +items"), (
        "empty values left out"
    )
    bars = {data["assets"][b["node"]]["name"]: b for b in data["run"]["bars"]}
    assert set(bars) == {"raw_items", "items"} and bars["items"]["thread"] == "Thread-2"
    assert [m["id"] for m in data["run"]["marks"]] == [unique], "a test is no node: named by its id"
    assert data["run"]["slowest"][0] == {"bar": data["run"]["bars"].index(bars["items"]), "took": "2.00s"}
    assert data["summary"]["failed"] == [names.index("items")]


def test_sla_check_writes_the_report_and_its_alerts_point_at_it(built_project: Path, tmp_path: Path) -> None:
    import sys

    page, said = tmp_path / "sla.html", tmp_path / "said.txt"
    notify = (
        f"{sys.executable} -c \"import os; open({str(said)!r}, 'a').write(os.environ['DBT_ASSETS_REPORT'])\""
    )
    check = cli(
        "sla", "check", "--project-dir", str(built_project), "--report", str(page),
        "--alert-on", "unknown", "--notify-command", notify,
    )  # fmt: skip
    assert check.exit_code == 0, check.stderr
    assert page.is_file() and f"report written to {page}" in check.stderr
    assert said.read_text().startswith(str(page)), "each alert carries the report's path"


@pytest.mark.unit
def test_a_report_that_cannot_be_written_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gzip

    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(
        gzip.decompress((REPO / "tests/manifests/manifest_v12_dbt1.11.16.json.gz").read_bytes())
    )
    monkeypatch.chdir(tmp_path)
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked").chmod(0o500)
    for out in ("/proc/report.html", str(tmp_path / "locked" / "report.html")):
        if out.startswith(str(tmp_path)) and os.access(tmp_path / "locked", os.W_OK):
            continue  # root writes anywhere: /proc alone shows it
        done = cli("report", "--manifest", str(manifest), "--out", out)
        assert done.exit_code == 2 and "Traceback" not in done.output
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and f"cannot write the report to {out}" in lines[0], done.stderr
    assert not list(tmp_path.glob("**/*.partial"))
