"""state:, result: and source_status: against dbt ls, with real artifacts of an earlier run.

The "production" artifacts come from a real ``dbt build`` and ``dbt source freshness`` of the
fixture project; then the project is edited in every way dbt's state comparison tells apart
(SQL, configs, relation, persisted descriptions, macros, contracts, seeds, sources,
exposures, metrics, unit tests, a new and a deleted node), the seeds are reloaded with a later
order and freshness is checked again. Every case asks dbt ls and dbt-assets the same thing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from dbt_assets.selection.state import STATE_SELECTORS
from tests.conftest import cli, run_dbt
from tests.dbt_oracle import DbtLs

pytestmark = pytest.mark.slow

RESULT_STATUSES = ["success", "error", "fail", "pass", "warn", "skipped", "runtime error"]

CASES: list[tuple[str, ...]] = [
    *(("--select", f"state:{s}") for s in STATE_SELECTORS),
    *(("--select", f"state:{s}+") for s in STATE_SELECTORS),
    *(("--select", f"+state:{s}") for s in ("modified", "new", "modified.body")),
    *(("--select", f"@state:{s}") for s in ("modified.configs", "modified.macros")),
    *(("--select", f"result:{s}") for s in RESULT_STATUSES),
    *(("--select", f"result:{s}+") for s in ("error", "fail", "skipped")),
    ("--select", "source_status:fresher"),
    ("--select", "source_status:fresher+"),
    ("--select", "source_status:stale"),
    ("--select", "state:modified,tag:staging"),
    ("--select", "state:modified", "--exclude", "state:new"),
    ("--select", "state:modified+,resource_type:model"),
    ("--select", "state:modified+", "--exclude", "result:error+"),
    ("--select", "state:modified", "result:error"),
    ("--select", "state:modified", "--resource-type", "test"),
    ("--select", "state:modified", "--resource-type", "source"),
    ("--select", "state:modified", "--resource-type", "exposure", "--resource-type", "metric"),
    ("--select", "state:modified.body", "--indirect-selection", "cautious"),
    ("--select", "state:modified+", "--indirect-selection", "buildable"),
    ("--select", "state:modified", "--indirect-selection", "empty"),
    ("--select", "result:fail", "--exclude", "state:unmodified"),
    ("--select", "state:old,source_status:fresher+"),
    ("--selector", "modified_and_after"),
]
SELECTORS_YML = """
  - name: modified_and_after
    definition:
      union:
        - method: state
          value: modified
          children: true
        - exclude:
            - method: result
              value: success
"""


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{path}: {old!r} not found"
    path.write_text(text.replace(old, new, 1))


def _edit_project(project: Path) -> None:
    """Change the project in each way state comparison distinguishes."""
    models = project / "models"
    _edit(models / "staging" / "stg_orders.sql", "from", "-- edited\nfrom")  # body
    _edit(project / "snapshots" / "orders_snapshot.sql", "select *", "select *  -- edited")  # body
    _edit(project / "tests" / "assert_order_amounts_not_negative.sql", "where", "-- edited\nwhere")
    (models / "staging" / "stg_new.sql").write_text("select 1 as id\n")  # new
    (project / "analyses" / "top_customers.sql").unlink()  # deleted
    _edit(project / "macros" / "cents_to_dollars.sql", "/ 100, 2)", "/ 100.0, 2)")  # macro
    _edit(
        project / "dbt_project.yml",
        "        +tags: [reporting]",
        "        +tags: [reporting]\n        +materialized: view",
    )
    _edit(  # relation: an alias
        models / "staging" / "_staging.yml",
        "  - name: stg_payments\n",
        "  - name: stg_payments\n    config:\n      alias: payments_staged\n",
    )
    _edit(  # persisted descriptions: customers persists docs, and its description changes
        models / "marts" / "core" / "_core.yml",
        "    description: One row per customer, with order history.\n    config:\n",
        "    description: One row per customer and their orders.\n    config:\n"
        "      persist_docs: {relation: true, columns: true}\n",
    )
    _edit(  # a description alone (not persisted) is no change
        models / "marts" / "core" / "_core.yml", "Amount paid, in dollars.", "Amount paid (dollars)."
    )
    _edit(  # a test's severity
        models / "marts" / "core" / "_core.yml",
        "          - accepted_values:\n              values: [placed, shipped, completed, returned]",
        "          - accepted_values:\n              values: [placed, shipped, completed, returned]\n"
        "              config: {severity: warn}",
    )
    core = models / "marts" / "core" / "_core.yml"
    _edit(core, "amount: 5.5}", "amount: 5.25}")  # a unit test's input
    _edit(core, "lifetime_amount: 15.5}", "lifetime_amount: 15.25}")  # and its expectation
    _edit(models / "marts" / "core" / "_semantic.yml", "label: Revenue", "label: Gross revenue")  # metric
    _edit(  # a contract
        models / "staging" / "_staging.yml",
        "  - name: stg_products\n    description: One row per product.\n    columns:\n"
        "      - name: product_id\n",
        "  - name: stg_products\n    description: One row per product.\n"
        "    config:\n      contract: {enforced: true}\n    columns:\n"
        "      - name: product_id\n        data_type: integer\n",
    )
    _edit(
        models / "staging" / "_sources.yml",
        "error_after: {count: 12, period: hour}",
        "error_after: {count: 18, period: hour}",
    )
    reporting = next((models / "marts" / "reporting").glob("*.yml"))
    _edit(reporting, "maturity: high", "maturity: medium")  # exposure
    with (project / "selectors.yml").open("a") as selectors:
        selectors.write(SELECTORS_YML)


def _later_order(project: Path) -> None:
    """One more order, loaded later than any other: source orders becomes fresher."""
    seed = project / "seeds" / "raw_orders.csv"
    header, *rows = seed.read_text().splitlines()
    columns = header.split(",")
    last = dict(zip(columns, rows[-1].split(","), strict=True))
    last["id"] = str(max(int(r.split(",")[columns.index("id")]) for r in rows) + 1)
    last[next(c for c in columns if c.endswith("_at"))] = "2099-01-01 00:00:00"
    seed.write_text("\n".join([header, *rows, ",".join(last[c] for c in columns)]) + "\n")


def _vary_results(path: Path) -> None:
    """Give the real run's results every status dbt can record (dbt reads the same file)."""
    artifact = json.loads(path.read_text())
    results = artifact["results"]
    models = [r for r in results if r["unique_id"].startswith("model.")]
    tests = [r for r in results if r["unique_id"].startswith("test.")]
    models[0]["status"], models[1]["status"], models[2]["status"] = "error", "skipped", "error"
    tests[0]["status"], tests[1]["status"], tests[2]["status"] = "fail", "warn", "runtime error"
    path.write_text(json.dumps(artifact))


def _freshness(project: Path) -> None:
    """``dbt source freshness`` (it exits 1 for the fixture's stale sources, by design)."""
    (project / "target" / "sources.json").unlink(missing_ok=True)
    try:
        run_dbt(project, "source", "freshness")
    except subprocess.CalledProcessError as exc:
        assert exc.returncode == 1, exc.stdout
    assert (project / "target" / "sources.json").is_file()


@pytest.fixture(scope="module")
def state_project(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtLs]:
    root = tmp_path_factory.mktemp("state")
    project = Path(shutil.copytree(built_template, root / "dbt_project"))  # built by dbt build
    _freshness(project)
    prod = project / "prod-state"
    prod.mkdir()
    for name in ("manifest.json", "run_results.json", "sources.json"):
        shutil.copy(project / "target" / name, prod / name)
    _vary_results(prod / "run_results.json")
    _edit_project(project)
    _later_order(project)
    run_dbt(project, "seed", "--select", "raw_orders")
    _freshness(project)
    return project, DbtLs(project)


def _ours(project: Path, *args: str) -> list[str]:
    result = cli("ls", "--project-dir", str(project), "-o", "json", "--output-keys", "unique_id", *args)
    assert result.exit_code == 0, result.stderr
    return [json.loads(line)["unique_id"] for line in result.stdout.splitlines()]


@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_state_selection_matches_dbt_ls(state_project: tuple[Path, DbtLs], args: tuple[str, ...]) -> None:
    project, dbt = state_project
    expected = dbt.unique_ids(*args, "--state", "prod-state")
    assert _ours(project, *args, "--state", "prod-state") == expected


def test_every_kind_of_change_is_seen(state_project: tuple[Path, DbtLs]) -> None:
    """The edits really produce each kind of change (so the cases above compare something)."""
    project, _ = state_project
    for selector in STATE_SELECTORS:
        if selector in ("unmodified", "old"):
            continue
        assert _ours(project, "--select", f"state:{selector}", "--state", "prod-state"), selector
    fresher = ("--select", "source_status:fresher", "--resource-type", "source")
    assert _ours(project, *fresher, "--state", "prod-state") == ["source.shop.shop.orders"]
    modified = _ours(project, "--select", "state:modified", "--state", "prod-state")
    assert "model.shop.orders" not in modified  # a column description alone is no change
    kinds = {uid.split(".")[0] for uid in modified}
    assert kinds >= {"model", "seed", "source", "test", "unit_test", "exposure", "metric"}


def test_a_state_manifest_written_another_way(state_project: tuple[Path, DbtLs]) -> None:
    """The same artifacts re-written by another JSON writer (indented, ASCII escapes, keys
    sorted): equal values spelled differently are no change, for dbt and for dbt-assets."""
    project, dbt = state_project
    rewritten = project / "prod-rewritten"
    shutil.copytree(project / "prod-state", rewritten, dirs_exist_ok=True)
    manifest = json.loads((rewritten / "manifest.json").read_text())
    rewritten_text = json.dumps(manifest, indent=2, ensure_ascii=True, sort_keys=True)
    (rewritten / "manifest.json").write_text(rewritten_text)
    for selector in ("state:modified", "state:unmodified", "state:modified.body", "state:modified.configs"):
        expected = dbt.unique_ids("--select", selector, "--state", "prod-rewritten")
        assert _ours(project, "--select", selector, "--state", "prod-rewritten") == expected, selector
        assert expected == dbt.unique_ids("--select", selector, "--state", "prod-state"), selector


def test_absolute_state_and_env_var(state_project: tuple[Path, DbtLs]) -> None:
    project, dbt = state_project
    expected = dbt.unique_ids("--select", "state:modified", "--state", "prod-state")
    assert _ours(project, "--select", "state:modified", "--state", str(project / "prod-state")) == expected
    # A process of its own (dbt's global flags are not set up by an earlier dbt call there).
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dbt-assets")), "ls", "-s", "state:modified", "-o", "json"],
        cwd=project,
        env={**os.environ, "DBT_STATE": "prod-state"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert [json.loads(line)["unique_id"] for line in done.stdout.splitlines()] == expected


def test_plan_carries_state_and_dbt_selects_the_plan(state_project: tuple[Path, DbtLs]) -> None:
    project, dbt = state_project
    for select in ("state:modified+", "downstream_of:state:modified.body", "result:error+"):
        result = cli(
            "plan", "--project-dir", str(project), "--command", "build", "-s", select,
            "--state", "prod-state", "-o", "json",
        )  # fmt: skip
        assert result.exit_code == 0, result.stderr
        planned = json.loads(result.stdout)
        argv = planned["argv"][2:]
        assert "--state" in argv and Path(argv[argv.index("--state") + 1]).is_absolute()
        listed = dbt.unique_ids(*argv, "--resource-type", "default")
        build_types = ("model", "seed", "snapshot", "test", "unit_test", "exposure", "saved_query")
        assert [u for u in listed if u.split(".")[0] in build_types] == planned["unique_ids"]


def test_state_errors_name_the_fix(state_project: tuple[Path, DbtLs], tmp_path: Path) -> None:
    project, _ = state_project
    cases = [
        ((), "state:modified", "needs --state DIR"),
        (("--state", "nowhere"), "state:modified", "no such directory"),
        (("--state", str(tmp_path)), "state:modified", "needs a manifest"),
        (("--state", str(tmp_path)), "result:error", "needs run results"),
        (("--state", str(tmp_path)), "source_status:fresher", "needs source freshness results"),
        (("--state", "prod-state"), "state:changed", "use one of new, old, modified"),
    ]
    for options, select, message in cases:
        result = cli("ls", "--project-dir", str(project), "-s", select, *options)
        assert result.exit_code == 2, (select, result.stdout)
        assert message in result.stderr, (select, result.stderr)


def test_deleting_a_versioned_contracted_model_is_refused() -> None:
    """dbt raises ContractBreakingChangeError for this; built from plain manifest data here
    (the fixture has no contracted versioned model, and adding one would break every case)."""
    from dbt_assets._core.errors import SelectionError
    from dbt_assets.selection.state import StateComparison

    gone = {"resource_type": "model", "contract": {"enforced": True}, "version": 1}
    comparison = StateComparison.of({"nodes": {}}, {"nodes": {"model.p.m.v1": gone}})
    with pytest.raises(SelectionError, match=r"contracted model 'model\.p\.m\.v1' was deleted or renamed"):
        comparison.check("modified", [])
    assert comparison.check("new", []) == set()  # only the comparing selectors check contracts
    unversioned = StateComparison.of({"nodes": {}}, {"nodes": {"model.p.m": {**gone, "version": None}}})
    assert unversioned.check("modified", []) == set()  # dbt only warns
