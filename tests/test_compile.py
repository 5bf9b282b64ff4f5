"""Compile exactness: dbt ls, run with the compiled arguments, selects exactly the planned set."""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path

import pytest

from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.plan.compile import Plan, plan
from dbt_assets.plan.one_pass import generated_state
from dbt_assets.run.invocation import RunOptions, dbt_argv
from dbt_assets.run.project import Project
from dbt_assets.selection import resource_types_for
from dbt_assets.selection.request import Selection
from tests.conftest import FIXTURE_PROJECT, cli, copy_project, generated_project, run_dbt
from tests.dbt_oracle import DbtLs

pytestmark = pytest.mark.slow
COMMANDS = ["run", "build", "test", "seed", "snapshot"]


def dbt_selects(oracle: DbtLs, result: Plan, *more: str) -> list[str]:
    """What dbt selects with the plan's arguments for its command (dbt ls with the command's
    types); a one-pass plan with its state written (``--state-out``), as a caller keeps it."""
    if not result.runnable and result.one_pass:
        with tempfile.TemporaryDirectory() as folder:
            return dbt_selects(oracle, result.with_state(folder), *more)
    args = [*result.argv[1:], *more]
    requested = [args[i + 1] for i, a in enumerate(args) if a == "--resource-type"]
    excluded = [args[i + 1] for i, a in enumerate(args) if a == "--exclude-resource-type"]
    for flag in ("--resource-type", "--exclude-resource-type"):
        while flag in args:
            i = args.index(flag)
            del args[i : i + 2]
    for kind in sorted(resource_types_for(result.command, requested, excluded)):
        args += ["--resource-type", kind]
    return oracle.unique_ids(*args)


@pytest.fixture(scope="module")
def tricky(parsed_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[AssetGraph, DbtLs]:
    """The fixture plus a folder named like a model (models/orders/), so the bare name
    `orders` selects more than the orders model (a partial parse of the parsed template)."""
    project = Path(shutil.copytree(parsed_template, tmp_path_factory.mktemp("tricky") / "dbt_project"))
    (project / "models" / "orders").mkdir()
    (project / "models" / "orders" / "orders_by_status.sql").write_text(
        "select status, count(*) as n from {{ ref('orders') }} group by 1\n"
    )
    run_dbt(project, "parse")
    return Project(project).graph(), DbtLs(project)


def test_bare_name_is_not_exact_in_tricky_project(tricky: tuple[AssetGraph, DbtLs]) -> None:
    graph, oracle = tricky
    assert "model.shop.orders_by_status" in oracle.unique_ids("--select", "orders")
    result = plan(graph, "run", unique_ids=["model.shop.orders"])
    assert result.argv[2] != "orders"
    assert dbt_selects(oracle, result) == ["model.shop.orders"]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("seed", range(8))
def test_random_subsets_compile_exactly(tricky: tuple[AssetGraph, DbtLs], command: str, seed: int) -> None:
    graph, oracle = tricky
    types = resource_types_for(command)
    pool = sorted(u for u, r in graph.records.items() if r.resource_type in types)
    rng = random.Random(seed * 31 + len(command))
    size = min(len(pool), [1, 2, len(pool)][seed] if seed < 3 else rng.randint(1, len(pool)))
    chosen = rng.sample(pool, size)
    result = plan(graph, command, unique_ids=chosen)
    assert result.unique_ids == tuple(sorted(chosen))
    assert dbt_selects(oracle, result) == sorted(chosen), result.argv


EXTENSION_CASES = [
    ("run", ["downstream_of:orders"]),
    ("build", ["downstream_of:orders"]),
    ("build", ["upstream_of:executive_summary"]),
    ("run", ["downstream_of:tag:finance"]),
    ("build", ["upstream_of:path:models/marts/finance"]),
    ("run", ["downstream_of:stg_orders+"]),
    ("build", ["2+upstream_of:customers"]),
    ("build", ["downstream_of:orders,tag:finance"]),
    ("test", ["downstream_of:orders"]),
    ("seed", ["upstream_of:customers"]),
    ("run", ["owner:finance@*"]),
    ("build", ["owner:crm@shop.example"]),
    ("build", ["owner:*", "downstream_of:stg_payments"]),
    ("run", ["+downstream_of:stg_products"]),
    ("build", ["@downstream_of:int_order_items"]),
    ("snapshot", ["downstream_of:source:shop.orders"]),
    ("test", ["owner:analytics@*,test_type:generic"]),
    ("build", ["downstream_of:customers"]),
]


@pytest.mark.parametrize(("command", "select"), EXTENSION_CASES, ids=lambda v: str(v))
def test_extension_methods_compile_exactly(
    tricky: tuple[AssetGraph, DbtLs], command: str, select: list[str]
) -> None:
    graph, oracle = tricky
    result = plan(graph, command, select)
    assert result.unique_ids, "each case selects something"
    assert dbt_selects(oracle, result) == list(result.unique_ids), result.argv


def test_downstream_of_compiles_to_one_token(tricky: tuple[AssetGraph, DbtLs]) -> None:
    graph, _ = tricky
    assert plan(graph, "run", ["downstream_of:orders"]).argv == ("run", "--select", "orders+")
    assert plan(graph, "build", ["upstream_of:tag:finance"]).argv == ("build", "--select", "+tag:finance")


@pytest.mark.parametrize(
    "args",
    [
        {"select": ["orders+", "tag:finance"], "exclude": ["customers"]},
        {"select": ["stg_orders+,tag:core"], "indirect_selection": "cautious"},
        {"selector": "finance_tables"},
        {"select": ["marts"], "resource_types": ["model", "test"]},
    ],
    ids=str,
)
def test_dbt_syntax_passes_through(tricky: tuple[AssetGraph, DbtLs], args: dict[str, object]) -> None:
    graph, oracle = tricky
    result = plan(graph, "build", Selection(**args))  # type: ignore[arg-type]
    assert result.strategy == "as written"
    assert dbt_selects(oracle, result) == list(result.unique_ids)


def test_empty_selection_plans_nothing(tricky: tuple[AssetGraph, DbtLs]) -> None:
    graph, _ = tricky
    result = plan(graph, "run", ["owner:nobody@nowhere"])
    assert result.argv == () and result.unique_ids == () and result.strategy == "empty"


def test_ids_of_the_wrong_type_are_refused(tricky: tuple[AssetGraph, DbtLs]) -> None:
    graph, _ = tricky
    with pytest.raises(Exception, match="does not run"):
        plan(graph, "run", unique_ids=["seed.shop.raw_orders"])
    with pytest.raises(Exception, match="did you mean"):
        plan(graph, "run", unique_ids=["model.shop.ordrs"])


def test_half_of_a_generated_project_stays_small(
    generated_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A random half of a 1,000-model project's build compiles to an argv under 128 KB, exact
    in dbt ls (at 10,000 models, see test_long_selection: dbt ls would take too long here)."""
    project = generated_project(generated_template, tmp_path_factory, "half")
    oracle = DbtLs(project)  # parses, writing target/manifest.json
    graph = AssetGraph(read_manifest(project / "target" / "manifest.json"), project)
    pool = sorted(u for u, r in graph.records.items() if r.resource_type in resource_types_for("build"))
    chosen = random.Random(3).sample(pool, len(pool) // 2)
    result = plan(graph, "build", unique_ids=chosen, one_pass=len(chosen))
    assert result.strategy == "explicit" and sum(len(a) + 1 for a in result.argv) < 128 * 1024
    assert dbt_selects(oracle, result) == sorted(chosen)
    in_one_pass = plan(graph, "build", unique_ids=chosen)  # hundreds of criteria: past the threshold
    assert (
        in_one_pass.strategy == "one pass" and not in_one_pass.runnable and "--state" not in in_one_pass.argv
    )
    assert dbt_selects(oracle, in_one_pass) == sorted(chosen)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("seed", range(4))
def test_printed_plans_run_as_printed(
    tricky: tuple[AssetGraph, DbtLs], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str, seed: int
) -> None:
    """`dbt-assets plan --select-ids FILE --state-out DIR -o json` prints an argv that dbt runs
    as printed and that selects exactly the set, for every command, whatever the set (one
    asset, all of them, random ones), above the one-pass threshold (seeds 0, 1, 3) and below
    it (seed 2), and with a user's --defer against production's state (seed 3: dbt gets the
    printed argv plus --defer --defer-state, as the plan's note says)."""
    graph, oracle = tricky
    pool = sorted(u for u, r in graph.records.items() if r.resource_type in resource_types_for(command))
    rng = random.Random(seed * 17 + len(command))
    chosen = rng.sample(pool, [1, len(pool)][seed] if seed < 2 else rng.randint(1, len(pool)))
    (tmp_path / "ids.txt").write_text("\n".join(chosen))
    monkeypatch.setenv("DBT_ASSETS_ONE_PASS_CRITERIA", "100000" if seed == 2 else "0")
    state_out = tmp_path / "plan-state"
    printed = cli(
        "plan", "--command", command, "--select-ids", str(tmp_path / "ids.txt"),
        "--state-out", str(state_out), "-o", "json", "--project-dir", str(oracle.project),
    )  # fmt: skip
    assert printed.exit_code == 0, printed.output
    payload = json.loads(printed.stdout)
    argv = payload["argv"]
    assert payload["runnable"] and "needs" not in payload and argv[:2] == ["dbt", command]
    if seed == 2:
        assert "--state" not in argv and not state_out.exists()
    else:
        assert argv[argv.index("--select") + 1] == "result:success"
        assert argv[argv.index("--state") + 1] == payload["state_dir"] == str(state_out)
    more: tuple[str, ...] = ()
    if seed == 3:
        prod = tmp_path / "prod"
        prod.mkdir()
        shutil.copy(oracle.project / "target" / "manifest.json", prod / "manifest.json")
        more = ("--defer", "--defer-state", str(prod))
    result = Plan(command, tuple(argv[1:]), tuple(payload["unique_ids"]), "explicit")
    assert dbt_selects(oracle, result, *more) == sorted(chosen), argv


def test_without_state_out_a_one_pass_plan_says_it_is_not_runnable(
    tricky: tuple[AssetGraph, DbtLs], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No placeholder that looks like an argument: the JSON says the argv needs the state and
    how to get it, the text says so under the arguments; a --state-out folder that holds
    anything else (dbt's target/) is refused, never overwritten."""
    _, oracle = tricky
    monkeypatch.setenv("DBT_ASSETS_ONE_PASS_CRITERIA", "0")
    common = ("plan", "--command", "run", "-s", "owner:*", "--project-dir", str(oracle.project))
    payload = json.loads(cli(*common, "-o", "json").stdout)
    assert payload["runnable"] is False and "--state-out DIR" in payload["needs"]
    assert "--state" not in payload["argv"] and not any("<" in a for a in payload["argv"])
    assert "not runnable as shown" in cli(*common).stdout
    before = (oracle.project / "target" / "manifest.json").read_bytes()
    refused = cli(*common, "--state-out", str(oracle.project / "target"))
    assert refused.exit_code == 2 and "needs a folder of its own" in refused.stderr
    assert (oracle.project / "target" / "manifest.json").read_bytes() == before
    again = tmp_path / "kept"
    for _ in range(2):  # a folder of an earlier plan's state is rewritten
        assert cli(*common, "--state-out", str(again), "-o", "json").exit_code == 0
    assert sorted(p.name for p in again.iterdir()) == ["run_results.json"]


def test_one_pass_keeps_the_users_state_for_deferral(
    tricky: tuple[AssetGraph, DbtLs], tmp_path: Path
) -> None:
    """A user's --defer --state DIR: the run gives dbt the generated state as --state and theirs
    as --defer-state, and dbt still selects exactly the set."""
    graph, oracle = tricky
    prod = tmp_path / "prod"
    prod.mkdir()
    shutil.copy(oracle.project / "target" / "manifest.json", prod / "manifest.json")
    chosen = ["model.shop.orders", "model.shop.customers", "model.shop.stg_orders"]
    result = plan(graph, "run", unique_ids=chosen, one_pass=0)
    options = RunOptions(defer=True, state=str(prod))
    with generated_state(result.unique_ids) as state:
        argv = dbt_argv(Project(oracle.project), result, options, "dbt", state_dir=state)
        assert argv[argv.index("--state") + 1] == str(state) and argv.count("--state") == 1
        assert argv[argv.index("--defer-state") + 1] == str(prod) and "--defer" in argv
        selected = dbt_selects(oracle, result.with_state(state), "--defer", "--defer-state", str(prod))
    assert selected == sorted(chosen)
    assert not state.exists(), "the generated state is removed"


# Model names dbt's grammar cannot take literally: a comma (intersection), a leading @ or +
# and a trailing + (operators), leading digits before +, a colon (method), glob characters;
# each beside names the wildcard spelling also matches (a_b and axb beside a,b).
ODD_NAMES = [
    "a,b",
    "a_b",
    "axb",
    "@x",
    "x",
    "+y",
    "y+",
    "y",
    "2fast",
    "1+1",
    "star*name",
    "br[a]ck",
    "col:on",
]
ODD_NAMES += ["q?", "qq", "[x]"]


@pytest.fixture(scope="module")
def odd(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtLs]:
    project = copy_project(FIXTURE_PROJECT, tmp_path_factory.mktemp("odd") / "dbt_project")
    folder = project / "models" / "odd[1]"
    folder.mkdir()
    for name in ODD_NAMES:
        (folder / f"{name}.sql").write_text("select 1 as id\n")
    oracle = DbtLs(project)  # parses, writing target/manifest.json
    return project, oracle


@pytest.mark.parametrize("mode", ["project", "manifest"])
@pytest.mark.parametrize("name", ODD_NAMES)
def test_names_dbt_cannot_take_literally_compile_exactly(
    odd: tuple[Path, DbtLs], mode: str, name: str
) -> None:
    """Each odd model alone compiles to arguments that make dbt ls select exactly it, with the
    project's files (path: globs them) and with the manifest alone."""
    project, oracle = odd
    manifest = read_manifest(project / "target" / "manifest.json")
    graph = AssetGraph(manifest, project if mode == "project" else None)
    uid = f"model.shop.{name}"
    assert uid in graph.records
    result = plan(graph, "run", unique_ids=[uid])
    assert dbt_selects(oracle, result) == [uid], result.argv


@pytest.mark.parametrize("seed", range(6))
def test_odd_names_in_random_sets_compile_exactly(odd: tuple[Path, DbtLs], seed: int) -> None:
    project, oracle = odd
    graph = Project(project).graph()
    pool = sorted(u for u, r in graph.records.items() if r.resource_type in resource_types_for("build"))
    odd_ids = [f"model.shop.{n}" for n in ODD_NAMES]
    rng = random.Random(seed)
    chosen = sorted(set(rng.sample(odd_ids, rng.randint(1, len(odd_ids))) + rng.sample(pool, 5)))
    result = plan(graph, "build", unique_ids=chosen)
    assert dbt_selects(oracle, result) == chosen, result.argv
