"""The public surface (``dbt_assets`` and ``dbt_assets.api``): each name is what it says every
time it is looked up, whatever was imported in between, and each function can be called twice.
Once, ``dbt_assets.export`` became a module on its second use: the lazy front door exported
functions named like submodules, and importing the submodule rebound the attribute."""

from __future__ import annotations

import gzip
import importlib
import inspect
import pkgutil
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import dbt_assets
import dbt_assets.api

pytestmark = pytest.mark.unit  # starts no process


REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "tests" / "manifests" / "manifest_v12_dbt1.11.16.json.gz"
EXTRAS = {
    "dbt_assets.integrations.airflow",
    "dbt_assets.integrations.airflow_automation",
    "dbt_assets.integrations.dagster",
    "dbt_assets.integrations.prefect",
}


def _submodules(package: Any) -> set[str]:
    return {info.name for info in pkgutil.iter_modules(package.__path__)}


def test_no_public_name_is_also_a_submodule() -> None:
    assert set(dbt_assets.api.__all__) <= set(dbt_assets.__all__), "the API is all at the front door"
    assert not set(dbt_assets.__all__) & _submodules(dbt_assets)
    assert not set(dbt_assets.api.__all__) & _submodules(dbt_assets.api)


def test_every_name_is_the_same_object_before_and_after_every_submodule_is_imported() -> None:
    before = {name: getattr(dbt_assets, name) for name in dbt_assets.__all__}
    for info in pkgutil.walk_packages(dbt_assets.__path__, "dbt_assets."):
        if info.name in EXTRAS:
            continue  # an orchestrator's extra: imported by its own tests
        importlib.import_module(info.name)
    for name in dbt_assets.__all__:
        assert getattr(dbt_assets, name) is before[name], name
        assert not inspect.ismodule(before[name]), name
    for name in dbt_assets.api.__all__:
        assert getattr(dbt_assets, name) is getattr(dbt_assets.api, name), name


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A graph of a committed manifest, a history, and a project whose dbt does not exist."""
    folder = tmp_path_factory.mktemp("front")
    manifest = folder / "manifest.json"
    manifest.write_bytes(gzip.decompress(MANIFEST.read_bytes()))
    project = folder / "project"
    project.mkdir()
    (project / "dbt_project.yml").write_text("name: mini\nversion: '1.0'\nconfig-version: 2\nprofile: mini\n")
    (project / "profiles.yml").write_text("mini:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n")
    graph = dbt_assets.load_graph(manifest=manifest)
    model = next(u for u in graph.records if u.startswith("model."))
    history = dbt_assets.open_history(folder, folder / "history.db")
    return {
        "manifest": manifest,
        "graph": graph,
        "model": model,
        "name": graph.records[model].name,
        "history": history,
        "project": dbt_assets.Project(project, dbt_executable="/no/such/dbt"),
        "folder": folder,
    }


def _calls(w: dict[str, Any]) -> dict[str, Any]:
    """One call of every exported function; an error is an outcome too (the same each time)."""
    g, h, record = w["graph"], w["history"], w["graph"].records[w["model"]]
    result = dbt_assets.RunResult(
        run_id=None, command="run", argv=[], status="success", exit_code=0, started_at=0, finished_at=1,
        results={}, logs=[],
    )  # fmt: skip
    return {
        "load_graph": lambda: dbt_assets.load_graph(manifest=w["manifest"]).records.keys(),
        "read_manifest": lambda: dbt_assets.read_manifest(w["manifest"]).metadata,
        "list_assets": lambda: dbt_assets.list_assets(g, [f"+{w['name']}"]),
        "describe_asset": lambda: dbt_assets.describe_asset(g, w["name"]).parents,
        "lineage": lambda: dbt_assets.lineage(g),
        "plan_selection": lambda: dbt_assets.plan_selection(g, "run", [w["name"]]).argv,
        "shard_selection": lambda: len(dbt_assets.shard_selection(g, "run", [], 2).shards),
        "open_history": lambda: dbt_assets.open_history(w["folder"], w["folder"] / "history.db").close(),
        "asset_statuses": lambda: dbt_assets.asset_statuses(g, h, [w["model"]]),
        "not_succeeded_since": lambda: dbt_assets.not_succeeded_since(h, [w["model"]], 0.0),
        "asset_sla": lambda: dbt_assets.asset_sla(g, w["name"]),
        "check_slas": lambda: dbt_assets.check_slas(g, h, at=1.7e9),
        "explain_sla": lambda: dbt_assets.explain_sla(g, h, w["name"], at=1.7e9).causes,
        "run_slas": lambda: dbt_assets.run_slas(g, h, result),
        "next_steps": lambda: dbt_assets.next_steps(g, h, result),
        "missing_upstream": lambda: dbt_assets.missing_upstream(w["project"], [w["model"]], h, g),
        "deadline_offsets": lambda: dbt_assets.deadline_offsets(g, [w["model"]], "@daily", now=1.7e9),
        "judge": lambda: dbt_assets.judge(g, {}, 1.7e9),
        "declared_slas": lambda: dbt_assets.declared_slas(g),
        "export": lambda: dbt_assets.export(g, h).model_dump(exclude={"generated_at"}),  # the clock
        "openlineage_events": lambda: dbt_assets.openlineage_events(g, h),
        "report": lambda: dbt_assets.report(g, h, w["folder"] / "report.html").stat().st_size > 0,
        "emit_openlineage": lambda: dbt_assets.emit_openlineage([], str(w["folder"] / "ol.jsonl")),
        "start_run": lambda: dbt_assets.start_run(w["project"], "run", ["tag:no_such_tag"]),
        "open_worker": lambda: dbt_assets.open_worker(w["project"]).close(),
        "running_worker": lambda: dbt_assets.running_worker(w["project"]),
        "retry_run": lambda: dbt_assets.retry_run(w["project"], h),
        "check_source_freshness": lambda: dbt_assets.check_source_freshness(w["project"], h),
        "is_materialized": lambda: dbt_assets.is_materialized(g, w["model"]),
        "materialized_parents": lambda: dbt_assets.materialized_parents(g, w["model"]),
        "owners_of": lambda: dbt_assets.owners_of(record, g.manifest.groups),
        "group_of": lambda: dbt_assets.group_of(record),
        "deliver": lambda: dbt_assets.deliver([], at=time.time()),
        "notify_command": lambda: dbt_assets.notify_command("cat", []),
        "post_webhook": lambda: dbt_assets.post_webhook("not a url", {}),
        "change_review": lambda: dbt_assets.change_review(g, _state(w), at=1.7e9).changed,
        "build_change": lambda: dbt_assets.build_change(w["project"], _review(w)),
        "compare_change": lambda: dbt_assets.compare_change(w["project"], _review(w)),
        "review_text": lambda: dbt_assets.review_text(_review(w)),
        "review_markdown": lambda: dbt_assets.review_markdown(_review(w)),
        "review_report": lambda: dbt_assets.review_report(g, h, _review(w), w["folder"] / "d.html").is_file(),
        "tick_options": lambda: dbt_assets.tick_options(["x"], max_runs=2).max_runs,
        "automation_tick": lambda: dbt_assets.automation_tick(w["project"], h, dry_run=True),
        "automate_once": lambda: dbt_assets.automate_once(w["project"], h),
        "explain_automation": lambda: dbt_assets.explain_automation(w["project"], h, w["model"]),
        "simulate_automation": lambda: dbt_assets.simulate_automation(w["project"], h, days=1),
        "run_automation": lambda: dbt_assets.run_automation(w["project"], w["folder"] / "h.db", _loop()),
    }


def _loop() -> Any:
    """A loop told to stop before it starts: it returns at once."""
    stop = threading.Event()
    stop.set()
    return dbt_assets.LoopOptions(stop=stop, handle_signals=False)


def _state(w: dict[str, Any]) -> Path:
    """Production's artifacts for ``diff``: the same manifest (nothing changed)."""
    state = w["folder"] / "prod-state"
    state.mkdir(exist_ok=True)
    (state / "manifest.json").write_bytes(w["manifest"].read_bytes())
    return state


def _review(w: dict[str, Any]) -> Any:
    return dbt_assets.change_review(w["graph"], _state(w), at=1.7e9)


def _outcome(call: Any) -> Any:
    try:
        return ("value", repr(call()))
    except dbt_assets.DbtAssetsError as exc:
        return ("error", type(exc).__name__, exc.message)


def test_every_exported_function_can_be_called_twice(world: dict[str, Any]) -> None:
    calls = _calls(world)
    functions = {
        name
        for name in {*dbt_assets.__all__, *dbt_assets.api.__all__}
        if inspect.isfunction(getattr(dbt_assets.api, name, None) or getattr(dbt_assets, name))
    }
    assert functions == set(calls), "a new exported function needs its call here"
    for name, call in calls.items():
        first = _outcome(call)
        assert _outcome(call) == first, name
    world["history"].close()
