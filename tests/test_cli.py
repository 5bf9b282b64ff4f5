"""The dbt-assets command line on the real fixture project: output shapes and error messages."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dbt_assets.cli.main import main
from tests.conftest import EXAMPLE_MANIFESTS, cli


def _json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


def test_ls_json_has_dbt_keys(shop_project: Path) -> None:
    result = cli("ls", "--project-dir", str(shop_project), "--output", "json")
    assert result.exit_code == 0, result.stderr
    rows = _json_lines(result.stdout)
    assert len(rows) == len({r["unique_id"] for r in rows}) > 40
    assert all({"unique_id", "name", "resource_type"} <= set(r) for r in rows)
    orders = next(r for r in rows if r["unique_id"] == "model.shop.orders")
    assert orders["config"]["materialized"] == "table"  # type: ignore[index]
    assert orders["original_file_path"] == "models/marts/core/orders.sql"


def test_ls_project_dir_from_environment(shop_project: Path) -> None:
    result = cli("ls", "--output", "name", env={"DBT_PROJECT_DIR": str(shop_project)})
    assert result.exit_code == 0, result.stderr
    assert "orders" in result.stdout.split()


def test_ls_resource_type_and_names(shop_manifest: Path) -> None:
    result = cli("ls", "--manifest", str(shop_manifest), "--resource-type", "model", "-o", "name")
    names = result.stdout.split()
    assert "orders" in names and "customer_segments.v2" in names
    assert not {"raw_orders", "shop.orders", "leadership_dashboard"} & set(names)
    paths = cli(
        "ls", "--manifest", str(shop_manifest), "--resource-type", "seed", "-o", "path"
    ).stdout.split()
    assert paths == [
        "seeds/raw_customers.csv",
        "seeds/raw_orders.csv",
        "seeds/raw_payments.csv",
        "seeds/raw_products.csv",
    ]


def test_ls_analysis_only_with_all(shop_manifest: Path) -> None:
    default = cli("ls", "--manifest", str(shop_manifest), "-o", "name").stdout.split()
    everything = cli(
        "ls", "--manifest", str(shop_manifest), "--resource-type", "all", "-o", "name"
    ).stdout.split()
    assert set(everything) - set(default) == {"top_customers"}


def test_ls_select_plain_names_brings_their_tests(shop_manifest: Path) -> None:
    result = cli(
        "ls",
        "--manifest",
        str(shop_manifest),
        "-s",
        "orders stg_orders",
        "-o",
        "json",
        "--output-keys",
        "unique_id resource_type",
    )
    rows = _json_lines(result.stdout)
    assert all(set(r) == {"unique_id", "resource_type"} for r in rows)
    models = {r["unique_id"] for r in rows if r["resource_type"] == "model"}
    assert models == {"model.shop.orders", "model.shop.stg_orders"}
    assert "test.shop.unique_orders_order_id.fed79b3a6e" in {r["unique_id"] for r in rows}


@pytest.mark.parametrize(
    ("expression", "needles"),
    [
        ("@orders+", ["'@orders+'", "'@' prefix and a '+' suffix cannot be combined"]),
        ("3+", ["'3+'", "needs a value"]),
        ("tag:", ["'tag:'", "needs a value"]),
        ("tga:finance", ["unknown selection method 'tga'", "did you mean 'tag:'?"]),
        (
            "downstrem_of:orders",
            ["unknown selection method 'downstrem_of'", "did you mean 'downstream_of:'?"],
        ),
        ("resource_type:table", ["invalid resource_type 'table'"]),
        ("state:modified", ["'state:' method compares with an earlier run and needs --state DIR"]),
    ],
)
def test_malformed_selection_is_a_clear_error(
    shop_manifest: Path, expression: str, needles: list[str]
) -> None:
    result = cli("ls", "--manifest", str(shop_manifest), "-s", f"orders {expression}")
    _assert_one_line_error(result, *needles)


def test_select_forms_like_dbt(shop_manifest: Path) -> None:
    """-s a b, -s "a b" and -s a -s b all mean the union."""
    m = ["ls", "--manifest", str(shop_manifest), "-o", "name", "--resource-type", "model"]
    spread = cli(*m, "-s", "orders", "customers", "--exclude", "stg_orders", "stg_customers").stdout
    quoted = cli(*m, "-s", "orders customers", "--exclude", "stg_orders stg_customers").stdout
    repeated = cli(*m, "-s", "orders", "-s", "customers", "--exclude", "stg_orders").stdout
    assert spread == quoted == repeated == "customers\norders\n"


def test_extension_methods(shop_manifest: Path) -> None:
    m = ["ls", "--manifest", str(shop_manifest), "-o", "name", "--resource-type", "model"]
    down = cli(*m, "-s", "downstream_of:orders").stdout.split()
    assert down == cli(*m, "-s", "orders+").stdout.split()
    assert {"orders", "customers", "executive_summary", "weekly_revenue"} <= set(down)
    assert cli(*m, "-s", "upstream_of:orders").stdout.split() == cli(*m, "-s", "+orders").stdout.split()
    tagged = cli(*m, "-s", "downstream_of:tag:finance").stdout.split()
    assert tagged == ["executive_summary", "order_revenue_daily", "revenue_by_category", "weekly_revenue"]
    assert cli(*m, "-s", "owner:finance@*").stdout.split() == ["order_revenue_daily", "revenue_by_category"]
    crm = cli(*m, "-s", "owner:crm@shop.example").stdout.split()
    assert crm == ["customer_segments.v1", "customer_segments.v2", "customers"]


def test_ls_output_keys_nested_and_undecoded(shop_manifest: Path) -> None:
    result = cli(
        "ls",
        "--manifest",
        str(shop_manifest),
        "-s",
        "orders",
        "--resource-type",
        "model",
        "-o",
        "json",
        "--output-keys",
        "name",
        "--output-keys",
        "config.materialized raw_code",
    )
    [row] = _json_lines(result.stdout)
    assert row["name"] == "orders" and row["config.materialized"] == "table"
    assert "stg_orders" in str(row["raw_code"])


@pytest.mark.unit
def test_ls_with_manifest_of_every_version(tmp_path: Path) -> None:
    for packed in EXAMPLE_MANIFESTS:
        path = tmp_path / packed.name.removesuffix(".gz")
        path.write_bytes(gzip.decompress(packed.read_bytes()))
        result = cli("ls", "--manifest", str(path), "-o", "selector")
        assert result.exit_code == 0, (packed.name, result.stderr)
        assert "mini.items" in result.stdout.split() and "source:mini.app.events" in result.stdout.split()


def test_show_text_and_json(shop_manifest: Path) -> None:
    text = cli("show", "orders", "--manifest", str(shop_manifest)).stdout
    assert text.startswith("model.shop.orders  (model, table)\n")
    assert "owners:      analytics@shop.example" in text
    assert "  parents (3):\n    model.shop.stg_orders\n" in text
    assert "test.shop.unique_orders_order_id.fed79b3a6e" in text
    detail = json.loads(cli("show", "shop.payments", "--manifest", str(shop_manifest), "-o", "json").stdout)
    assert detail["asset"]["unique_id"] == "source.shop.shop.payments"
    assert detail["asset"]["freshness"]["warn_after"] == {"count": 6, "period": "hour"}
    assert detail["children"] == ["model.shop.stg_payments"]
    assert detail["parents"] == [] and detail["checks"] == []


def test_graph_formats(shop_manifest: Path) -> None:
    m = ["--manifest", str(shop_manifest)]
    mermaid = cli("graph", *m, "-s", "orders", "--expand").stdout
    assert mermaid.startswith("flowchart LR\n")
    assert '"orders (model)"' in mermaid and '"executive_summary (model)"' in mermaid
    assert "unique_orders" not in mermaid, "no tests unless --checks"
    dot = cli("graph", *m, "-s", "+orders", "--format", "dot").stdout
    assert '"model.shop.stg_orders" -> "model.shop.orders";' in dot
    data = json.loads(cli("graph", *m, "-s", "orders", "--format", "json", "--checks").stdout)
    ids = {n["unique_id"] for n in data["nodes"]}
    assert "model.shop.orders" in ids and "test.shop.unique_orders_order_id.fed79b3a6e" in ids
    assert "model.shop.customers" not in ids
    assert {"from": "model.shop.orders", "to": "test.shop.unique_orders_order_id.fed79b3a6e"} in data["edges"]


def _assert_one_line_error(result: object, *needles: str) -> None:
    assert result.exit_code == 2, result.stdout  # type: ignore[attr-defined]
    err = result.stderr  # type: ignore[attr-defined]
    assert err.count("\n") == 1 and err.startswith("Error: "), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err


@pytest.mark.unit
def test_error_missing_project(tmp_path: Path) -> None:
    _assert_one_line_error(
        cli("ls", "--project-dir", str(tmp_path)), "dbt_project.yml not found", "--project-dir"
    )


@pytest.mark.unit
def test_error_missing_profiles(scratch_project: Path, tmp_path: Path) -> None:
    (scratch_project / "profiles.yml").unlink()
    env = {"HOME": str(tmp_path), "DBT_PROFILES_DIR": str(tmp_path / "none")}
    _assert_one_line_error(cli("ls", "--project-dir", str(scratch_project), env=env), "no profiles.yml found")


def test_error_unsupported_manifest_version(tmp_path: Path, shop_manifest: Path) -> None:
    raw = json.loads(shop_manifest.read_bytes())
    raw["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/manifest/v21.json"
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(raw))
    _assert_one_line_error(
        cli("ls", "--manifest", str(path)), "v21 is not supported", "v12 (dbt 1.8 to 1.11)"
    )


def test_error_corrupt_manifest(tmp_path: Path, shop_manifest: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_bytes(shop_manifest.read_bytes()[:-100])
    _assert_one_line_error(cli("ls", "--manifest", str(path)), str(path), "truncated")


def test_error_unknown_asset_suggests(shop_manifest: Path) -> None:
    _assert_one_line_error(
        cli("show", "custmers", "--manifest", str(shop_manifest)),
        "no asset named 'custmers'",
        "did you mean 'customers'",
    )


@pytest.mark.unit
def test_debug_shows_traceback(tmp_path: Path) -> None:
    result = cli("--debug", "ls", "--project-dir", str(tmp_path))
    assert result.exit_code == 2
    assert "Traceback" in result.stderr and "ProjectNotFoundError" in result.stderr


def test_console_script_cold(shop_manifest: Path) -> None:
    """The installed entry point, as a user runs it (and piping into head does not crash)."""
    exe = Path(sys.executable).with_name("dbt-assets")
    done = subprocess.run(
        f"'{exe}' ls --manifest '{shop_manifest}' -o json | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)["unique_id"]
    assert done.stderr == ""


@pytest.mark.unit
@pytest.mark.parametrize("command", ["ls", "show", "graph"])
def test_help_teaches(command: str) -> None:
    result = cli(command, "--help")
    assert result.exit_code == 0 and "Examples:" in result.stdout


def test_plan_text_json_and_select_ids(shop_project: Path) -> None:
    p = ["plan", "--project-dir", str(shop_project)]
    text = cli(*p, "--command", "run", "-s", "downstream_of:orders").stdout
    assert text.startswith("dbt run would run 8 assets (8 model):\n")
    assert text.endswith("arguments (rewritten):\n  dbt run --select orders+\n")
    data = json.loads(cli(*p, "--command", "build", "-s", "owner:finance@*", "-o", "json").stdout)
    assert set(data) == {"command", "argv", "unique_ids", "empty", "runnable"} and data["empty"] is False
    assert data["runnable"] is True  # an explicit plan: its argv runs as printed
    assert data["command"] == "build" and data["argv"][:2] == ["dbt", "build"]
    assert "model.shop.revenue_by_category" in data["unique_ids"]
    ids = "model.shop.orders\nmodel.shop.customers\n"
    result = CliRunner().invoke(main, [*p, "--command", "run", "--select-ids", "-", "-o", "json"], input=ids)
    assert json.loads(result.stdout)["unique_ids"] == ["model.shop.customers", "model.shop.orders"]
    empty = cli(*p, "--command", "run", "-s", "owner:nobody")
    assert empty.exit_code == 0 and empty.stdout == "nothing to run: the selection is empty\n"


@pytest.mark.unit
@pytest.mark.parametrize(
    "command", ["run", "build", "test", "seed", "snapshot", "retry", "history", "status"]
)
def test_running_commands_have_help_with_examples(command: str) -> None:
    result = cli(command, "--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and f"dbt-assets {command}" in result.stdout


def test_run_of_an_empty_selection_names_what_matched_nothing(shop_project: Path) -> None:
    result = cli("run", "--project-dir", str(shop_project), "-s", "ordrs", "stg_ordrs")
    assert result.exit_code == 2
    assert "the selection is empty: 'ordrs', 'stg_ordrs' match no enabled node" in result.stderr
    assert "Traceback" not in result.output


# Every command that works on a set of assets takes dbt's selection options, the same way.
SELECTING = {"ls", "list", "plan", "show", "graph", "status", "export", "report", "shard", "sla check"}
SELECTING |= {"run", "build", "test", "seed", "snapshot", "automate", "diff"}
NOT_SELECTING = {"retry", "why", "openlineage", "history", "history show", "history recover"}
NOT_SELECTING |= {"history import", "sla", "worker"}
SELECTION_OPTIONS = (
    "-s, ",
    "--select",
    "--exclude",
    "--selector",
    "--resource-type",
    "--exclude-resource-type",
)


def _commands(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        found[path] = command
        if isinstance(command, click.Group):
            found |= _commands(command, f"{path} ")
    return found


@pytest.mark.unit
def test_every_command_that_selects_takes_the_same_selection_options() -> None:
    commands = _commands(main)
    assert set(commands) == SELECTING | NOT_SELECTING, "a new command: say whether it selects assets"
    for path in sorted(SELECTING):
        result = cli(*path.split(), "--help")
        assert result.exit_code == 0, path
        missing = [option for option in SELECTION_OPTIONS if option not in result.stdout]
        assert not missing, f"dbt-assets {path} lacks {missing}"


def test_show_graph_and_export_select_like_ls(shop_manifest: Path) -> None:
    m = ["--manifest", str(shop_manifest)]
    picked = ["-s", "orders+", "--exclude", "customers", "--resource-type", "model"]
    listed = cli("ls", *m, *picked, "-o", "json", "--output-keys", "unique_id").stdout.splitlines()
    ids = [json.loads(line)["unique_id"] for line in listed]
    assert "model.shop.orders" in ids and "model.shop.customers" not in ids
    shown = json.loads(cli("show", *m, *picked, "-o", "json").stdout)
    assert [detail["asset"]["unique_id"] for detail in shown] == ids
    one = json.loads(cli("show", *m, "orders", "-o", "json").stdout)
    assert one["asset"]["unique_id"] == "model.shop.orders", "one ASSET: one object, as before"
    exported = json.loads(cli("export", *m, *picked).stdout)
    assert sorted(a["asset"]["unique_id"] for a in exported["assets"]) == sorted(ids)
    older = json.loads(
        cli("export", *m, "orders+", "--exclude", "customers", "--resource-type", "model").stdout
    )
    assert older["assets"] == exported["assets"], "the positional SELECTION is --select"
    drawn = cli("graph", *m, *picked, "--format", "json").stdout
    assert "model.shop.customers" not in drawn and "model.shop.orders" in drawn
    nothing = cli("show", *m)
    assert nothing.exit_code == 2 and "give an ASSET, or select assets with --select" in nothing.stderr


HEAVY = ("pydantic", "networkx", "dbt", "sqlite3", "zoneinfo", "logging", "click.testing")
"""What a cold `dbt-assets ls --manifest` has no use for (each costs tens of milliseconds)."""


@pytest.mark.parametrize("selection", [(), ("-s", "orders+"), ("-s", "tag:finance", "--exclude", "stg_*")])
def test_a_cold_ls_imports_only_what_it_uses(shop_manifest: Path, selection: tuple[str, ...]) -> None:
    """Found when the layers were made: a top-level import in one selection module pulled
    pydantic (and with it email, zoneinfo, importlib.metadata) into every `ls`, +17%."""
    code = (
        "import sys\n"
        "from dbt_assets.cli.main import run\n"
        f"sys.argv = ['dbt-assets', 'ls', '--manifest', {str(shop_manifest)!r}, *{list(selection)!r}]\n"
        "try:\n    run()\nexcept SystemExit:\n    pass\n"
        f"loaded = sorted(m for m in {HEAVY!r} if m in sys.modules)\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert "LOADED []" in done.stderr, done.stderr[-500:]
