"""Automation's semantics, condition by condition (the README's table), on small manifests
with facts written by hand: no process, one decide() per case."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from dbt_assets._core.errors import AutomationConfigError
from dbt_assets.automate.config import read_policies
from dbt_assets.automate.decide import Decisions, decide
from dbt_assets.automate.snapshot import World
from dbt_assets.history.automation import AssetState
from dbt_assets.history.claims import Holder
from dbt_assets.history.facts import AssetFacts, ResultRow, fold
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.sla.judge import work_left
from dbt_assets.sla.schedule import Deadline

pytestmark = pytest.mark.unit

H = 3600.0
T0 = 1_800_000_000.0  # a moment well after every fact below


def node(
    name: str, *, deps: tuple[str, ...] = (), mat: str = "table", kind: str = "model", **config: Any
) -> dict[str, Any]:
    uid = f"{kind}.p.{name}"
    return {
        "unique_id": uid,
        "resource_type": kind,
        "name": name,
        "package_name": "p",
        "fqn": ["p", name],
        "config": {"materialized": mat, **config},
        "depends_on": {"nodes": list(deps)},
        "original_file_path": f"models/{name}.sql",
        "path": f"{name}.sql",
        "checksum": {"name": "sha256", "checksum": name},
    }


def source(name: str, *, observed: bool = True) -> dict[str, Any]:
    return {
        "unique_id": f"source.p.raw.{name}",
        "resource_type": "source",
        "name": name,
        "source_name": "raw",
        "package_name": "p",
        "fqn": ["p", "raw", name],
        "config": {},
        "depends_on": {"nodes": []},
        "original_file_path": "models/raw.yml",
        "loaded_at_field": "loaded_at" if observed else None,
        "freshness": {"warn_after": {"count": 1, "period": "day"}} if observed else None,
    }


def graph_of(tmp_path: Path, *entries: dict[str, Any]) -> AssetGraph:
    nodes = {e["unique_id"]: e for e in entries if e["resource_type"] != "source"}
    sources = {e["unique_id"]: e for e in entries if e["resource_type"] == "source"}
    manifest = {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json",
            "dbt_version": "1.11.0",
        },
        "nodes": nodes,
        "sources": sources,
        **{k: {} for k in ("macros", "docs", "exposures", "metrics", "groups", "selectors", "disabled")},
        **{k: {} for k in ("parent_map", "child_map", "semantic_models", "saved_queries", "unit_tests")},
    }
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return AssetGraph(read_manifest(path))


def built(*results: tuple[str, float, float, str]) -> dict[str, AssetFacts]:
    """Facts from results ``(unique_id, started, finished, status)`` in the order given."""
    facts: dict[str, AssetFacts] = {}
    for run_id, (uid, started, finished, status) in enumerate(results, 1):
        facts[uid] = fold(
            facts.get(uid), ResultRow(uid, run_id, status, started, finished, finished - started, None)
        )
    return facts


def load(facts: dict[str, AssetFacts], uid: str, checked: float, loaded: float) -> None:
    """A freshness check of a source at ``checked`` that saw ``loaded`` as its newest row."""
    facts[uid] = fold(facts.get(uid), ResultRow(uid, 99, "pass", checked, checked, 0.1, loaded))


def decide_at(
    graph: AssetGraph,
    facts: dict[str, AssetFacts],
    now: float,
    *,
    claims: dict[str, Holder] | None = None,
    state: dict[str, AssetState] | None = None,
    in_flight: tuple[int, ...] = (),
    estimate: float = 60.0,
    code: dict[str, tuple[str, str]] | None = None,
) -> Decisions:
    policies = read_policies(graph, graph.records)
    unobserved = frozenset(
        u for u, r in graph.records.items() if r.resource_type == "source" and not r.loaded_at_field
    )
    world = World(
        graph,
        now,
        facts,
        claims or {},
        state or {},
        in_flight,
        1,
        unobserved,
        (lambda uid: code[uid][1]) if code else None,
    )
    world.estimate = lambda uid, _start: (estimate, [uid])
    return decide(world, policies)


def verdict(decisions: Decisions, uid: str) -> tuple[str, str | None, str]:
    found = decisions.of(uid)
    assert found is not None, uid
    return found.decision, found.condition, found.code


# --- dbt's build_after --------------------------------------------------------------------


def test_defaults_build_on_new_upstream_data_and_never_without(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        node("a", kind="seed", mat="seed"),
        node("b", deps=("seed.p.a",)),
        node("c", deps=("model.p.b",)),
    )
    facts = built(
        ("seed.p.a", 0, 10, "success"), ("model.p.b", 20, 30, "success"), ("model.p.c", 40, 50, "success")
    )
    quiet = decide_at(graph, facts, T0)
    assert quiet.due == () and verdict(quiet, "model.p.b")[2] == "no_new_data"
    facts = built(
        *[
            (u, s, f, "success")
            for u, s, f in [
                ("seed.p.a", 0, 10),
                ("model.p.b", 20, 30),
                ("model.p.c", 40, 50),
                ("model.p.b", 60, 70),
            ]
        ]
    )
    after = decide_at(graph, facts, T0)
    assert after.due == ("model.p.c",) and verdict(after, "model.p.c") == ("run", "build_after", "new_data")
    assert "new data from model b" in after.of("model.p.c").reason  # type: ignore[union-attr]


def test_a_child_joins_its_parents_run_and_a_model_never_built_is_built(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, node("a"), node("b", deps=("model.p.a",)), node("c", deps=("model.p.b",)))
    facts = built(
        ("model.p.a", 0, 10, "success"), ("model.p.b", 20, 30, "success"), ("model.p.c", 40, 50, "success")
    )
    facts.pop("model.p.a")  # never built here
    decisions = decide_at(graph, facts, T0)
    assert verdict(decisions, "model.p.a") == ("run", "on_missing", "missing")
    assert decisions.due == ("model.p.a", "model.p.b", "model.p.c")  # b and c read what a rebuilds now


def test_views_pass_new_data_through_and_are_not_rebuilt_for_it(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        source("orders"),
        node("stg", deps=("source.p.raw.orders",), mat="view"),
        node("t", deps=("model.p.stg",)),
    )
    facts = built(("model.p.stg", 0, 1, "success"), ("model.p.t", 10, 20, "success"))
    load(facts, "source.p.raw.orders", 5, 1.0)  # the baseline check, before t was built
    assert decide_at(graph, facts, T0).due == ()
    load(facts, "source.p.raw.orders", 100, 90.0)  # seen after t was built: new data
    decisions = decide_at(graph, facts, T0)
    assert decisions.due == ("model.p.t",)
    assert verdict(decisions, "model.p.stg")[0] == "skip"  # a view holds no data of its own
    assert "source raw.orders (through model stg)" in decisions.of("model.p.t").reason  # type: ignore[union-attr]


def test_a_load_seen_before_the_build_is_not_new_data(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, source("orders"), node("t", deps=("source.p.raw.orders",)))
    facts = {}
    load(facts, "source.p.raw.orders", 5, 1.0)
    load(facts, "source.p.raw.orders", 50, 40.0)  # a change seen at 50
    facts.update(built(("model.p.t", 60, 70, "success")))  # built after it was seen
    assert decide_at(graph, facts, T0).due == ()


def test_the_first_freshness_check_is_a_baseline_not_a_change(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, source("orders"), node("t", deps=("source.p.raw.orders",)))
    facts = built(("model.p.t", 0, 10, "success"))
    load(facts, "source.p.raw.orders", 100, 90.0)  # never checked before: nothing to compare with
    assert decide_at(graph, facts, T0).due == ()


def test_a_source_whose_new_data_cannot_be_seen_is_said(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, source("blind", observed=False), node("t", deps=("source.p.raw.blind",)))
    decisions = decide_at(graph, built(("model.p.t", 0, 10, "success")), T0)
    assert decisions.due == () and "loaded_at_field" in decisions.of("model.p.t").reason  # type: ignore[union-attr]


def test_build_after_waits_for_its_window_then_builds(tmp_path: Path) -> None:
    rule = {"build_after": {"count": 4, "period": "hour"}}
    graph = graph_of(tmp_path, node("a"), node("b", deps=("model.p.a",), freshness=rule))
    facts = built(
        ("model.p.b", T0 - 3 * H - 10, T0 - 3 * H, "success"), ("model.p.a", T0 - H, T0 - H + 5, "success")
    )
    inside = decide_at(graph, facts, T0)
    assert verdict(inside, "model.p.b") == ("skip", None, "inside_window")
    assert inside.of("model.p.b").data["due_at"] == "2027-01-15T09:00:00+00:00"  # type: ignore[union-attr]
    assert decide_at(graph, facts, T0 + H).due == ("model.p.b",)


def test_updates_on_all_needs_every_parent_but_a_static_seed(tmp_path: Path) -> None:
    rule = {"build_after": {"count": 0, "period": "hour", "updates_on": "all"}}
    graph = graph_of(
        tmp_path,
        node("s", kind="seed", mat="seed"),
        node("a"),
        node("b"),
        node("c", deps=("model.p.a", "model.p.b", "seed.p.s"), freshness=rule),
    )
    base = [("seed.p.s", 0, 1), ("model.p.a", 0, 1), ("model.p.b", 0, 1), ("model.p.c", 10, 11)]
    one = built(*[(u, s, f, "success") for u, s, f in [*base, ("model.p.a", 20, 21)]])
    waiting = decide_at(graph, one, T0)
    assert waiting.due == () and "no new data yet from model b" in waiting.of("model.p.c").reason  # type: ignore[union-attr]
    both = built(*[(u, s, f, "success") for u, s, f in [*base, ("model.p.a", 20, 21), ("model.p.b", 22, 23)]])
    assert decide_at(graph, both, T0).due == ("model.p.c",)  # the unchanged seed does not block it


# --- dbt State ------------------------------------------------------------------------------


def test_lag_tolerance_runs_from_the_first_upstream_change(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, node("a"), node("b", deps=("model.p.a",), state={"lag_tolerance": "30m"}))
    facts = built(
        ("model.p.a", 0, 1, "success"),
        ("model.p.b", 2, 3, "success"),
        ("model.p.a", T0 - 25 * 60, T0 - 25 * 60 + 1, "success"),
        ("model.p.a", T0 - 60, T0 - 59, "success"),  # loads keep coming: the first change counts
    )
    assert verdict(decide_at(graph, facts, T0), "model.p.b") == ("skip", None, "within_lag")
    assert verdict(decide_at(graph, facts, T0 + 6 * 60), "model.p.b") == ("run", "lag_tolerance", "new_data")


def test_state_falls_back_to_build_after_then_45_minutes(tmp_path: Path) -> None:
    graph = graph_of(
        tmp_path,
        node("a"),
        node("b", deps=("model.p.a",), state={}, freshness={"build_after": {"count": 2, "period": "hour"}}),
        node("c", deps=("model.p.a",), state={"require_fresh_data_from": "any"}),
    )
    policies = read_policies(graph, graph.records)
    assert policies["model.p.b"].lag.seconds == 2 * H  # type: ignore[union-attr]
    assert policies["model.p.c"].lag.seconds == 45 * 60  # type: ignore[union-attr]


# --- automate: ------------------------------------------------------------------------------


def meta(**keys: Any) -> dict[str, Any]:
    return {"meta": {"dbt_assets": {"automate": keys}}}


def test_cron_fires_once_per_tick(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, node("r", **meta(cron="0 12 * * *")))
    noon = 1_800_014_400.0  # 2027-01-15T12:00Z
    facts = built(("model.p.r", noon - 86400 + 5, noon - 86400 + 10, "success"))
    assert decide_at(graph, facts, noon - 60).due == ()
    assert verdict(decide_at(graph, facts, noon + 60), "model.p.r") == ("run", "cron", "cron")
    ran = built(("model.p.r", noon + 61, noon + 70, "success"))
    assert verdict(decide_at(graph, ran, noon + 3600), "model.p.r") == ("skip", None, "cron_done")


def test_retry_pauses_grow_and_stop_at_max_failures(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, node("f", **meta(retry={"max_failures": 3, "pause": "10m"})))
    once = built(("model.p.f", 0, 100, "error"))
    assert verdict(decide_at(graph, once, 100 + 9 * 60), "model.p.f")[2] == "retry_pause"
    assert verdict(decide_at(graph, once, 100 + 10 * 60), "model.p.f") == ("run", "retry", "retry")
    twice = built(("model.p.f", 0, 100, "error"), ("model.p.f", 700, 800, "error"))
    assert verdict(decide_at(graph, twice, 800 + 19 * 60), "model.p.f")[2] == "retry_pause"  # 20 minutes now
    thrice = built(*[("model.p.f", s, s + 100, "error") for s in (0, 700, 3000)])
    assert verdict(decide_at(graph, thrice, T0), "model.p.f")[2] == "retry_exhausted"


def test_a_failure_is_not_retried_by_the_data_that_failed_it(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, node("a"), node("b", deps=("model.p.a",)))
    facts = built(
        ("model.p.a", 0, 1, "success"), ("model.p.b", 2, 3, "success"), ("model.p.a", 10, 11, "success")
    )
    facts.update(built(("model.p.b", 20, 25, "error")))  # tried with a's data of 11: failed
    facts["model.p.b"] = fold(
        fold(None, ResultRow("model.p.b", 1, "success", 2, 3, 1, None)),
        ResultRow("model.p.b", 3, "error", 20, 25, 5, None),
    )
    assert verdict(decide_at(graph, facts, T0), "model.p.b")[2] == "failed_before"
    facts["model.p.a"] = fold(facts["model.p.a"], ResultRow("model.p.a", 4, "success", 30, 31, 1, None))
    assert decide_at(graph, facts, T0).due == ("model.p.b",)  # newer data: tried again


def test_keep_slas_starts_early_enough_with_what_it_needs(tmp_path: Path) -> None:
    slas = {
        "meta": {
            "dbt_assets": {"sla": {"deadline": "06:00"}, "automate": {"keep_slas": True, "margin": "30m"}}
        }
    }
    graph = graph_of(tmp_path, node("up"), node("late", deps=("model.p.up",), **slas), node("x"))
    deadline = Deadline.parse("06:00").next(T0)
    facts = built(
        ("model.p.up", 0, 1, "success"), ("model.p.late", 2, 3, "success"), ("model.p.x", 0, 1, "success")
    )
    facts["model.p.up"] = fold(facts["model.p.up"], ResultRow("model.p.up", 9, "success", 50, 51, 1, None))
    early = decide_at(graph, facts, deadline - 30 * 60 - 3600 - 1, estimate=3600)
    assert verdict(early, "model.p.late")[2] == "deadline_ahead"
    start_by = datetime.fromisoformat(early.of("model.p.late").data["start_by"]).timestamp()  # type: ignore[union-attr]
    assert start_by == deadline - 30 * 60 - 3600
    due = decide_at(graph, facts, deadline - 30 * 60 - 3600 + 1, estimate=3600)
    assert "model.p.late" in due.due


def test_held_assets_and_running_parents_wait(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, node("a"), node("b", deps=("model.p.a",)), node("c"))
    facts = built(
        ("model.p.a", 0, 1, "success"), ("model.p.b", 2, 3, "success"), ("model.p.a", 10, 11, "success")
    )
    holder = Holder(7, "build", "h", 1, T0)
    decisions = decide_at(graph, facts, T0, claims={"model.p.a": holder, "model.p.c": holder})
    assert verdict(decisions, "model.p.c")[2] == "held" and "run 7" in decisions.of("model.p.c").reason  # type: ignore[union-attr]
    assert verdict(decisions, "model.p.b")[2] == "parent_running"
    assert decisions.due == ()


def test_one_run_at_a_time_by_default(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, node("a"))
    decisions = decide_at(graph, {}, T0, in_flight=(12,))
    assert verdict(decisions, "model.p.a")[2] == "waiting_for_slot" and decisions.due == ()


def test_paused_is_left_alone_and_the_guard_holds_a_cron_inside_build_after(tmp_path: Path) -> None:
    rule = {"build_after": {"count": 6, "period": "hour"}}
    graph = graph_of(
        tmp_path,
        node("p", **meta(paused=True)),
        node("g", freshness=rule, **meta(cron="0 * * * *")),
    )
    facts = built(("model.p.g", T0 - 2 * H, T0 - 2 * H + 5, "success"))
    decisions = decide_at(graph, facts, T0)
    assert verdict(decisions, "model.p.p") == ("skip", None, "paused")
    assert verdict(decisions, "model.p.g")[2] == "guard"


def test_a_comment_is_not_a_code_change(tmp_path: Path) -> None:
    graph = graph_of(tmp_path, node("a", mat="view"))
    facts = built(("model.p.a", 0, 1, "success"))
    state = {"model.p.a": AssetState(1, 0.0, "run", "on_missing", "missing", "", 1, "old|same", 1)}
    assert decide_at(graph, facts, T0, state=state, code={"model.p.a": ("new", "same")}).due == ()
    changed = decide_at(graph, facts, T0, state=state, code={"model.p.a": ("new", "other")})
    assert verdict(changed, "model.p.a") == ("run", "code_changed", "code_changed")


# --- configuration errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "said"),
    [
        (meta(cronn="0 * * * *"), "automate.cronn: unknown condition"),
        (meta(cron="0 0 31 2 *"), "never falls due"),
        (meta(retry="yes"), "automate.retry"),
        (meta(eager=1), "automate.eager"),
        ({"freshness": {"build_after": {"period": "hour"}}}, "build_after has no count"),
        ({"state": {"lag_tolerance": "soon"}}, "state.lag_tolerance"),
        (
            {"meta": {"dbt_assets": {"sla": {"deadline": "07:00"}, "automate": {"cron": "0 9 * * 1"}}}},
            "does not run between every two deadlines",
        ),
    ],
)
def test_bad_configuration_is_one_line_naming_the_file_the_asset_and_the_fix(
    tmp_path: Path, config: dict[str, Any], said: str
) -> None:
    graph = graph_of(tmp_path, node("bad", **config))
    with pytest.raises(AutomationConfigError) as caught:
        read_policies(graph, graph.records)
    message = caught.value.message
    assert said in message and "models/bad.sql" in message and "model.p.bad" in message, message
    assert "\n" not in message and caught.value.hint


def test_keep_slas_pulls_the_chain_it_needs_parents_first(tmp_path: Path) -> None:
    """The critical path of a late asset is built with it where it has new data: a parent that
    is pulled gives its child new data in the same tick."""
    slas = {"meta": {"dbt_assets": {"sla": {"deadline": "06:00"}, "automate": {"keep_slas": True}}}}
    graph = graph_of(
        tmp_path,
        node("s", kind="seed", mat="seed"),
        node("a", deps=("seed.p.s",), **meta(on_missing=True)),
        node("b", deps=("model.p.a",), **meta(on_missing=True)),
        node("late", deps=("model.p.b",), **slas),
    )
    facts = built(
        ("seed.p.s", 0, 1, "success"),
        ("model.p.a", 2, 3, "success"),
        ("model.p.b", 4, 5, "success"),
        ("model.p.late", 6, 7, "success"),
        ("seed.p.s", 10, 11, "success"),  # the seed's new data: a, then b, are behind
    )
    policies = read_policies(graph, graph.records)
    deadline = Deadline.parse("06:00").next(T0)
    path = ["model.p.a", "model.p.b", "model.p.late"]
    world = World(graph, deadline - 60, facts, {}, {}, estimate=lambda uid, start: (30.0, path))
    decisions = decide(world, policies)
    assert decisions.due == ("model.p.a", "model.p.b", "model.p.late")
    assert verdict(decisions, "model.p.b") == ("run", "keep_slas", "needed")


def test_an_ephemeral_model_is_no_work_on_the_critical_path_and_gets_no_decision(tmp_path: Path) -> None:
    """dbt compiles an ephemeral model into what reads it; its events may still carry a time of
    its own (the fixture's do), which made the day test fail when that time put it on the
    longest chain: a decision recorded for an asset automation does not decide for."""
    slas = {"meta": {"dbt_assets": {"sla": {"deadline": "06:00"}, "automate": {"keep_slas": True}}}}
    graph = graph_of(
        tmp_path,
        node("s", kind="seed", mat="seed"),
        node("e", deps=("seed.p.s",), mat="ephemeral"),
        node("a", deps=("seed.p.s",)),
        node("late", deps=("model.p.e", "model.p.a"), **slas),
    )
    facts = built(
        ("seed.p.s", 0, 1, "success"),
        ("model.p.e", 2, 7, "success"),  # 5 s of its own, the longest
        ("model.p.a", 2, 3, "success"),
        ("model.p.late", 8, 9, "success"),
        ("seed.p.s", 10, 11, "success"),
    )
    deadline = Deadline.parse("06:00").next(T0)
    estimate = work_left(graph, facts, deadline - 60)
    took, path = estimate("model.p.late", Deadline.parse("06:00").latest(deadline - 60))
    assert "model.p.e" not in path and took == pytest.approx(3.0), (took, path)  # s, a, late
    world = World(graph, deadline - 60, facts, {}, {}, estimate=estimate)
    decisions = decide(world, read_policies(graph, graph.records))
    assert decisions.of("model.p.e") is None
    assert decisions.due == ("model.p.a", "model.p.late")  # a seed is not rebuilt for new data


def test_keep_slas_checks_the_sources_upstream_of_what_it_keeps(tmp_path: Path) -> None:
    """A late asset pulls the upstream assets that have new data; a source's new data is seen
    only through `dbt source freshness`, so the sources upstream of a ``keep_slas`` asset are
    checked (through tables too), also where what reads them declares no rule on new data (a
    cron replaces dbt's default ``build_after``): they were left unchecked, and never pulled."""
    from dbt_assets.automate.tick import _fed_all

    slas = {"meta": {"dbt_assets": {"sla": {"deadline": "06:00"}, "automate": {"keep_slas": True}}}}
    graph = graph_of(
        tmp_path,
        source("orders"),
        source("events"),
        node("stg_orders", deps=("source.p.raw.orders",), **meta(cron="0 3 * * *")),
        node("orders", deps=("model.p.stg_orders",), **meta(cron="0 4 * * *")),
        node("late", deps=("model.p.orders",), **slas),
        node("other", deps=("source.p.raw.events",), **meta(on_missing=True)),
    )
    policies = read_policies(graph, graph.records)
    assert _fed_all(graph, policies.values()) == {"source.p.raw.orders"}
