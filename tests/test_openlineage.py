"""OpenLineage run events of real runs on the fixture, validated with the OpenLineage
project's own Python client: every event is rebuilt as the client's classes (generated from
the spec's JSON schema, with its validators) and must serialize back to exactly our JSON."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from openlineage.client import event_v2 as ol
from openlineage.client.generated import error_message_run, job_type_job, parent_run
from openlineage.client.serde import Serde

from dbt_assets.api import load_graph, open_history, openlineage_events
from dbt_assets.interop.openlineage import PRODUCER

from .conftest import cli
from .test_alerts import Hook, closed_port, server  # noqa: F401 (a fixture)


def _facet(cls: Any, data: dict[str, Any]) -> Any:
    fields = {k: v for k, v in data.items() if k not in ("_producer", "_schemaURL")}
    if cls is parent_run.ParentRunFacet:
        fields = {"run": parent_run.Run(**fields["run"]), "job": parent_run.Job(**fields["job"])}
    made = cls(producer=data["_producer"], **fields)
    assert made._schemaURL == data["_schemaURL"], "the facet names the client's current schema"
    return made


RUN_FACETS = {"parent": parent_run.ParentRunFacet, "errorMessage": error_message_run.ErrorMessageRunFacet}
JOB_FACETS = {"jobType": job_type_job.JobTypeJobFacet}


def validated(event: dict[str, Any]) -> dict[str, Any]:
    """The event rebuilt with the OpenLineage client (which checks required fields, the
    event type, the time format, the run id UUID...), serialized back: equal to ``event``."""
    rebuilt = ol.RunEvent(
        eventType=ol.RunState[event["eventType"]],
        eventTime=event["eventTime"],
        producer=event["producer"],
        run=ol.Run(
            runId=event["run"]["runId"],
            facets={k: _facet(RUN_FACETS[k], v) for k, v in event["run"]["facets"].items()},
        ),
        job=ol.Job(
            namespace=event["job"]["namespace"],
            name=event["job"]["name"],
            facets={k: _facet(JOB_FACETS[k], v) for k, v in event["job"]["facets"].items()},
        ),
        inputs=[ol.InputDataset(**d) for d in event["inputs"]],
        outputs=[ol.OutputDataset(**d) for d in event["outputs"]],
    )
    again: dict[str, Any] = json.loads(Serde.to_json(rebuilt))
    assert _pruned(again) == _pruned(event)
    return event


def _pruned(value: Any) -> Any:
    """Without empty facets and lists (the client writes ``"facets": {}`` where we leave it out)."""
    if isinstance(value, dict):
        return {k: _pruned(v) for k, v in value.items() if v not in ({}, [])}
    if isinstance(value, list):
        return [_pruned(v) for v in value]
    return value


@pytest.fixture(scope="module")
def failed_run(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """``dbt-assets run -s orders+`` with order_revenue_daily broken, its OpenLineage events
    appended to a file as it ends (the tests only read it)."""
    tmp_path = tmp_path_factory.mktemp("lineage")
    built_project = Path(shutil.copytree(built_template, tmp_path / "built"))
    broken = built_project / "models" / "marts" / "finance" / "order_revenue_daily.sql"
    broken.write_text("select * from {{ ref('orders') }} where no_such_column = 1\n")
    sent = tmp_path / "lineage" / "events.jsonl"
    result = cli("run", "--project-dir", str(built_project), "-s", "orders+", "--openlineage", str(sent))
    assert result.exit_code == 1, result.output
    return built_project, sent


def test_a_run_sends_valid_events_for_every_asset(failed_run: tuple[Path, Path]) -> None:
    project, sent = failed_run
    events = [validated(json.loads(line)) for line in sent.read_text().splitlines()]
    parent = events[0]
    assert parent["eventType"] == "START" and parent["job"]["name"] == "shop.dbt_run"
    assert events[-1]["eventType"] == "FAIL" and events[-1]["run"]["runId"] == parent["run"]["runId"]
    children = events[1:-1]
    assert all(e["run"]["facets"]["parent"]["run"]["runId"] == parent["run"]["runId"] for e in children)
    assert all(e["producer"] == PRODUCER for e in events)
    ends = {e["job"]["name"]: e for e in children if e["eventType"] != "START"}
    starts = {e["job"]["name"] for e in children if e["eventType"] == "START"}
    with open_history(project, create=False) as history:
        results = {r.unique_id: r.status for r in history.results(history.run().run_id)}
    graph = load_graph(project_dir=project)
    # one START and one end per asset dbt reported, and the end says how it went
    assert starts == set(ends) == {f"shop.{graph.records[u].search_name}" for u in results}
    expected = {"success": "COMPLETE", "error": "FAIL", "skipped": "ABORT"}
    for uid, status in results.items():
        assert ends[f"shop.{graph.records[uid].search_name}"]["eventType"] == expected[status]
    failed = ends["shop.order_revenue_daily"]
    assert "no_such_column" in failed["run"]["facets"]["errorMessage"]["message"]
    assert failed["run"]["facets"]["errorMessage"]["programmingLanguage"] == "sql"
    assert {"error", "skipped", "success"} <= set(results.values())


def test_datasets_are_the_relations(failed_run: tuple[Path, Path]) -> None:
    project, sent = failed_run
    events = [json.loads(line) for line in sent.read_text().splitlines()]
    orders = next(e for e in events if e["job"]["name"] == "shop.orders" and e["eventType"] == "COMPLETE")
    (output,) = orders["outputs"]
    database, schema, table = output["name"].split(".")
    assert output["namespace"] == f"duckdb://{database}"
    with duckdb.connect(str(project / "target" / "shop.duckdb"), read_only=True) as db:
        found = db.execute(
            "select count(*) from information_schema.tables where table_catalog = ? and table_schema = ? "
            "and table_name = ?",
            [database, schema, table],
        ).fetchone()
    assert found == (1,), f"{output['name']} is a relation in DuckDB"
    inputs = {d["name"].rsplit(".", 1)[1] for d in orders["inputs"]}
    # int_order_payments is ephemeral: orders reads stg_payments through it
    assert inputs == {"stg_orders", "int_order_items", "stg_payments"}


def test_events_from_the_history_are_the_ones_sent(failed_run: tuple[Path, Path]) -> None:
    project, sent = failed_run
    printed = cli("openlineage", "--project-dir", str(project))
    assert printed.exit_code == 0, printed.output
    assert printed.stdout.splitlines() == sent.read_text().splitlines()
    graph = load_graph(project_dir=project)
    with open_history(project, create=False) as history:
        assert openlineage_events(graph, history) == [
            json.loads(line) for line in printed.stdout.splitlines()
        ]


def test_posted_to_an_endpoint(failed_run: tuple[Path, Path], server: str) -> None:  # noqa: F811
    project, sent = failed_run
    done = cli("openlineage", "--project-dir", str(project), "--to", f"{server}/api/v1/lineage")
    assert done.exit_code == 0, done.output
    posted = [json.loads(body) for body in Hook.received["/api/v1/lineage"]]
    assert posted == [json.loads(line) for line in sent.read_text().splitlines()]


def test_an_endpoint_that_is_down_is_reported(failed_run: tuple[Path, Path]) -> None:
    project, _ = failed_run
    url = f"http://127.0.0.1:{closed_port()}/api/v1/lineage"
    done = cli("openlineage", "--project-dir", str(project), "--to", url)
    assert done.exit_code == 2
    assert f"not delivered to {url}" in done.stderr


@pytest.mark.unit
def test_events_at_the_same_moment_come_out_in_one_order(tmp_path: Path) -> None:
    """Skipped assets carry no times of their own: they all end with the run, at one
    millisecond. The events must not depend on the order the results arrive in (live) or are
    read back (the history orders them otherwise), or the history's events differ from those
    sent (seen in the suite, under load)."""
    import gzip

    from dbt_assets.interop.openlineage import run_events
    from dbt_assets.manifest.decode import read_manifest
    from dbt_assets.manifest.graph import AssetGraph
    from dbt_assets.run.events import AssetFinished
    from dbt_assets.run.invocation import RunResult

    unpacked = tmp_path / "manifest.json"
    unpacked.write_bytes(
        gzip.decompress((Path(__file__).parent / "manifests/manifest_v12_dbt1.11.16.json.gz").read_bytes())
    )
    graph = AssetGraph(read_manifest(unpacked))
    results = [
        AssetFinished("model.mini.items", "error", 10.0, 11.0, 1.0, "boom"),
        AssetFinished("model.mini.item_stats.v1", "skipped"),
        AssetFinished("model.mini.item_stats.v2", "skipped"),
        AssetFinished("model.mini.events", "skipped"),
    ]
    run = RunResult(
        1, "run", [], "failed", 1, 9.0, 12.0, {}, [], invocation_id="0b5a4c1e-5f0e-4c57-a3c5-7e0b9d1e2f3a"
    )
    forward = run_events(graph, run, results)
    assert run_events(graph, run, results[::-1]) == forward
    assert [e["job"]["name"] for e in forward[-4:-1]] == [
        "mini.events",
        "mini.item_stats.v1",
        "mini.item_stats.v2",
    ]
