"""``dbt-assets automate`` as a user types it: a dry run that records nothing, JSON lines, a
real tick, --explain, --simulate, and bad configuration as one line and exit 2."""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path

import pytest

from dbt_assets.automate.config import read_policies
from dbt_assets.automate.decide import decide
from dbt_assets.automate.snapshot import World
from dbt_assets.history.store import History
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from tests.conftest import REPO, cli

RULES = """
slas:
  - select: fresh
    automate: {on_missing: true, retry: {max_failures: 2, pause: 1m}}
"""


@pytest.fixture(scope="module")
def project(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built fixture with a model never built here (``fresh``: due until it is)."""
    path = Path(shutil.copytree(built_template, tmp_path_factory.mktemp("auto") / "project"))
    (path / "dbt_assets.yml").write_text(RULES)
    (path / "models" / "marts" / "fresh.sql").write_text("select 1 as id\n")
    return path


def _ticks(project: Path) -> int:
    with History.open(project / ".dbt-assets" / "history.db") as history:
        return len(history.ticks(100))


def test_a_dry_run_shows_what_is_due_and_records_nothing(project: Path) -> None:
    text = cli("automate", "--once", "--dry-run", "--no-source-check", "--project-dir", str(project))
    assert text.exit_code == 0, text.output
    assert "would build: fresh (on_missing): never built here" in text.stdout
    assert "not due:" in text.stdout and "dbt build --select fresh" in text.stdout
    lines = cli(
        "automate", "--once", "--dry-run", "--no-source-check", "-o", "json", "--project-dir", str(project)
    )
    decided = [json.loads(line) for line in lines.stdout.splitlines()]
    assert {d["unique_id"] for d in decided} >= {"model.shop.orders", "seed.shop.raw_orders"}
    assert all({"unique_id", "decision", "condition", "reason"} <= set(d) and d["reason"] for d in decided)
    due = [d for d in decided if d["decision"] == "run"]
    assert [(d["unique_id"], d["condition"]) for d in due] == [("model.shop.fresh", "on_missing")]
    assert _ticks(project) == 0, "a dry run records nothing"


def test_at_is_for_dry_runs_and_explain(project: Path) -> None:
    refused = cli("automate", "--once", "--at", "+1h", "--project-dir", str(project))
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1 and "--dry-run" in refused.stderr


def test_bad_configuration_is_one_line_naming_the_file_the_rule_and_the_fix(
    project: Path, tmp_path: Path
) -> None:
    bad = Path(shutil.copytree(project, tmp_path / "bad"))
    (bad / "dbt_assets.yml").write_text("slas:\n  - select: orders\n    automate: {crn: '0 * * * *'}\n")
    done = cli("automate", "--once", "--dry-run", "--no-source-check", "--project-dir", str(bad))
    assert done.exit_code == 2 and done.stdout == ""
    line = done.stderr.strip()
    assert (
        "\n" not in line
        and "dbt_assets.yml: slas.0 (orders)" in line
        and "automate.crn: unknown condition" in line
    )
    assert "hint:" in line


def test_a_real_tick_builds_what_is_due_and_explain_tells_it(project: Path) -> None:
    done = cli("automate", "--once", "--no-source-check", "--project-dir", str(project))
    assert done.exit_code == 0, done.output
    assert "due: fresh (on_missing)" in done.stdout
    with History.open(project / ".dbt-assets" / "history.db") as history:
        run = history.run()
        assert run.status == "success" and run.unique_ids == ["model.shop.fresh"]
        recorded = history.decisions("model.shop.fresh")
        assert recorded[0].decision == "run" and recorded[0].run_id == run.run_id
    again = cli("automate", "--once", "--dry-run", "--no-source-check", "--project-dir", str(project))
    assert "nothing due" in again.stdout, "built: not due again"
    explained = cli("automate", "--explain", "fresh", "--project-dir", str(project))
    assert explained.exit_code == 0, explained.output
    text = explained.stdout
    assert "decided by: on_missing: when it was never built here" in text and "built here" in text
    assert "retry: after 1m, doubling, until 2 failures in a row" in text
    assert "next due: on new upstream data" in text and f"(run {run.run_id}): never built here" in text
    args = ("automate", "--explain", "fresh", "-o", "json", "--project-dir", str(project))
    payload = json.loads(cli(*args).stdout)
    assert payload["next_due"] is None and payload["recent"][0]["run_id"] == run.run_id


def test_simulate_compares_with_a_cron(project: Path) -> None:
    done = cli(
        "automate", "--simulate", "1d", "--compare-cron", "0 */6 * * *", "--no-source-check",
        "-o", "json", "--project-dir", str(project),
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    payload = json.loads(done.stdout)
    automated, every_six_hours = payload["automation"], payload["cron"]
    assert automated["invocations"] == 0  # nothing new to build (fresh was built by the tick above)
    assert every_six_hours["invocations"] == 4 and every_six_hours["builds"] == 4 * 20


@pytest.mark.unit
@pytest.mark.parametrize(
    "manifest",
    sorted([*REPO.glob("tests/corpus/*/manifest_*.json.gz"), *REPO.glob("tests/manifests/*.json.gz")]),
    ids=lambda p: f"{p.parent.name}/{p.name.split('.json')[0]}",
)
def test_a_dry_run_decides_every_asset_of_any_project(manifest: Path, tmp_path: Path) -> None:
    """Every corpus project, no history: each model, seed and snapshot is decided (never built:
    due), nothing raises."""
    path = tmp_path / "manifest.json"
    path.write_bytes(gzip.decompress(manifest.read_bytes()))
    graph = AssetGraph(read_manifest(path))
    policies = read_policies(graph, graph.records)
    decisions = decide(World(graph, 1.8e9, {}, {}, {}, estimate=lambda uid, start: (0.0, [uid])), policies)
    assert {d.unique_id for d in decisions.decided} == set(policies)
    assert all(d.reason for d in decisions.decided)
