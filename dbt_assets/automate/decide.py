"""Every asset's decision from one :class:`~.snapshot.World`: what is due, what waits, and why.

Each asset's policy becomes one condition (:func:`condition_of`); the assets are decided in
dbt's order (parents first), so that a child whose parent is rebuilt this tick counts that as
new data and joins the same dbt invocation where its own rule allows. Then the gates, in order:

1. ``paused``: left alone;
2. held by a live run (any command, any process): not started twice;
3. a parent is running: waits for it;
4. inside an explicit ``build_after`` window with no new upstream data: not built again;
5. its last run failed after the data that fires it: only ``retry`` (or new data, new code, a
   cron tick) starts it again;
6. the automation runs in flight are at the cap (``max_runs``): waits for one to end.

``keep_slas`` adds what a late asset needs upstream (the critical path) to the plan.
"""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from dataclasses import dataclass

from dbt_assets._core.vocab import FAILURE_STATUSES
from dbt_assets.automate.conditions import (
    Asset,
    Condition,
    Verdict,
    code_changed,
    eager,
    first,
    keep_slas,
    lag_tolerance,
    missing,
    never,
    new_data,
    on_cron,
    retry,
)
from dbt_assets.automate.config import AutomateSpec, BuildAfter, Policy, automated
from dbt_assets.automate.snapshot import World
from dbt_assets.history.automation import Decided
from dbt_assets.manifest.decode import paused_gc

_RETRY_SAYS_MORE = frozenset({"failed_before", "no_condition", "built"})
"""Skips after which a declared ``retry`` says more (whether, and when, it runs again)."""


def condition_of(policy: Policy) -> tuple[Condition, Condition | None]:
    """The condition an asset's policy comes to (see the README's table), and its ``retry``
    apart: after a failure, retry is what starts it again."""
    spec = policy.automate
    triggers: list[Condition] = []
    if policy.lag is not None or policy.build_after is not None:
        triggers.append(missing())
        if policy.view or policy.resource_type == "seed":  # no data of its own to refresh
            triggers.append(code_changed())
        elif policy.lag is not None:  # dbt State: a code change always rebuilds
            triggers += [code_changed(), lag_tolerance(policy.lag.seconds, policy.lag.require)]
        elif policy.build_after is not None:  # state-aware: a code change waits for the window
            triggers.append(new_data(policy.build_after) | (code_changed() & _window(policy)))
    if spec.on_missing:
        triggers.append(missing())
    schedule = spec.schedule()
    if schedule is not None:
        triggers.append(on_cron(schedule))
    if spec.eager:
        triggers.append(eager())
    if spec.keep_slas:
        triggers.append(keep_slas(spec.margin))
    retry_spec = spec.retry_spec()
    again = None if retry_spec is None else retry(retry_spec.max_failures, retry_spec.pause)
    return first(triggers, never()), again


def _window(policy: Policy) -> Condition:
    """The build_after window has passed since the last successful build."""

    def operand(asset: Asset) -> Verdict:
        facts = asset.facts
        rule = policy.build_after
        if rule is None or facts is None or facts.last_success_at is None:
            return Verdict(True, "build_after", "window_passed", "never built")
        if asset.world.now >= facts.last_success_at + rule.seconds:
            return Verdict(True, "build_after", "window_passed", "its build_after window has passed")
        return Verdict(
            False, "build_after", "inside_window", "its code changed, inside its build_after window"
        )

    return Condition("window", operand)


@dataclass(frozen=True)
class Decisions:
    """A tick's decisions: one per asset, and what they plan to build."""

    decided: tuple[Decided, ...]
    due: tuple[str, ...]
    """The assets to build, in no particular order (dbt orders them)."""

    def of(self, unique_id: str) -> Decided | None:
        return next((d for d in self.decided if d.unique_id == unique_id), None)


def decide(
    world: World,
    policies: Mapping[str, Policy],
    conditions: dict[str, tuple[Condition, Condition | None]] | None = None,
) -> Decisions:
    """Every asset of ``policies`` decided as of ``world.now``. ``conditions``: each policy's
    condition (:func:`condition_of`), kept between ticks of one policy set (filled as needed)."""
    with paused_gc():  # tens of thousands of verdicts and changes, no cycles among them
        return _decide(world, policies, {} if conditions is None else conditions)


def _decide(
    world: World, policies: Mapping[str, Policy], conditions: dict[str, tuple[Condition, Condition | None]]
) -> Decisions:
    graph = world.graph
    parents = {uid: world.parents(uid) for uid in policies}
    order = graphlib.TopologicalSorter({uid: [p for p in parents[uid] if p in policies] for uid in policies})
    planned: set[str] = set()
    verdicts: dict[str, Verdict] = {}
    pulled: dict[str, str] = {}  # an upstream asset keep_slas needs -> the asset that needs it
    for uid in order.static_order():
        policy = policies[uid]
        if uid not in conditions:
            conditions[uid] = condition_of(policy)
        condition, again = conditions[uid]
        asset = Asset(uid, policy, world, planned)
        verdict = _gated(asset, condition(asset), parents[uid])
        if again is not None and not verdict.fires:  # after a failure, retry speaks
            retried = again(asset)
            if retried.fires:
                verdict = _gated(asset, retried, parents[uid])
            elif verdict.code in _RETRY_SAYS_MORE:
                verdict = retried
        verdicts[uid] = verdict
        if verdict.fires:
            planned.add(uid)
            for needed in verdict.pull:
                pulled.setdefault(needed, uid)
    upstream_first = sorted(pulled, key=lambda u: (len(graph.upstream(u) & pulled.keys()), u))
    for needed in upstream_first:  # what a late asset needs, if it can be built, parents first
        if needed in planned or not automated(graph, [needed]):
            continue  # an ephemeral model, a source: built by no run, decided by no tick
        verdict = _needed(world, policies.get(needed), needed, pulled[needed], parents.get(needed), planned)
        verdicts[needed] = verdict
        if verdict.fires:
            planned.add(needed)
    if planned and len(world.in_flight) >= world.max_runs:
        runs = ", ".join(str(r) for r in world.in_flight)
        for uid in planned:
            before = verdicts[uid]
            verdicts[uid] = Verdict(
                False,
                before.condition,
                "waiting_for_slot",
                f"due ({before.reason}), but automation run {runs} is still going (at most {world.max_runs} "
                "at once): waits for it",
                before.data,
            )
        planned = set()
    decided = tuple(_decided(uid, verdicts[uid]) for uid in sorted(verdicts))
    return Decisions(decided, tuple(sorted(planned)))


def _decided(uid: str, verdict: Verdict) -> Decided:
    return Decided(
        unique_id=uid,
        decision="run" if verdict.fires else "skip",
        condition=verdict.condition if verdict.fires else None,
        reason=verdict.reason,
        code=verdict.code,
        data={
            **verdict.data,
            **({"condition": verdict.condition} if not verdict.fires and verdict.condition else {}),
        },
    )


def _gated(asset: Asset, verdict: Verdict, parents: list[str]) -> Verdict:
    """The verdict after the gates (module docstring): a condition that fires may still wait."""
    world, facts, policy = asset.world, asset.facts, asset.policy
    if policy.automate.paused:
        return Verdict(False, None, "paused", "paused (automate: paused: true)")
    holder = world.claims.get(asset.uid)
    if holder is not None:
        return Verdict(
            False, verdict.condition, "held", f"running in {holder.describe()}", {"run_id": holder.run_id}
        )
    if not verdict.fires:
        return verdict
    running = [p for p in parents if p in world.claims]
    if running:
        holder = world.claims[running[0]]
        return Verdict(
            False,
            verdict.condition,
            "parent_running",
            f"due ({verdict.reason}), but its parent {asset.name_of(running[0])} is running in run "
            f"{holder.run_id}: waits for it",
            verdict.data,
        )
    rule = policy.build_after
    if (
        rule is not None
        and rule.declared
        and verdict.condition not in ("build_after", "code_changed")
        and facts is not None
        and facts.last_success_at is not None
        and world.now < facts.last_success_at + rule.seconds
        and not _any_new(asset)
    ):
        return Verdict(
            False,
            verdict.condition,
            "guard",
            f"{verdict.reason}; but it was built {world.now - facts.last_success_at:.0f}s ago, inside its "
            "build_after, and no upstream data is new since: not built again",
            verdict.data,
        )
    if (
        facts is not None
        and facts.last_status in FAILURE_STATUSES
        and verdict.condition not in ("retry", "cron", "code_changed")
        and facts.last_started_at is not None
        and (verdict.evidence_at is None or verdict.evidence_at <= facts.last_started_at)
    ):
        return Verdict(
            False,
            verdict.condition,
            "failed_before",
            f"{verdict.reason}; but its last run ({facts.last_run_id}) failed with that data: "
            "it starts again on new data, new code or retry",
            verdict.data,
        )
    return verdict


def _any_new(asset: Asset) -> bool:
    return new_data(BuildAfter(0.0, "any", declared=False))(asset).fires


def _needed(
    world: World, policy: Policy | None, uid: str, late: str, parents: list[str] | None, planned: set[str]
) -> Verdict:
    """An upstream asset a late asset needs (keep_slas): built when it was never built or has
    new data, unless something stops it (held, its parent running, paused)."""
    record = world.graph.records[uid]
    chosen = policy or Policy(
        uid,
        record.resource_type,
        str(record.config.get("materialized")),
        None,
        None,
        AutomateSpec(),
        None,
        "",
    )
    asset = Asset(uid, chosen, world, planned)
    fresh = never("a view or seed holds no data of its own to refresh")
    if not (chosen.view or chosen.resource_type == "seed"):
        fresh = new_data(BuildAfter(0.0, "any", declared=False))
    found = (missing() | fresh)(asset)
    if found.fires:
        needs = world.graph.records[late].search_name
        found = Verdict(
            True, "keep_slas", "needed", f"{needs} needs it for its deadline: {found.reason}", found.data
        )
    return _gated(asset, found, parents if parents is not None else world.parents(uid))


def checks_to_run(world: World, due: set[str]) -> list[str]:
    """The tests and unit tests to build with ``due``: those of a due asset whose other
    parents exist (were built here or are due), so that a test never fails on a missing table."""
    graph = world.graph
    found = set()
    for uid in due:
        for check in graph.checks(uid):
            others = [p for p in world.parents(check) if p != uid]
            if all(
                p in due
                or graph.records[p].resource_type == "source"
                or (world.facts.get(p) is not None and world.facts[p].last_success_at is not None)
                for p in others
            ):
                found.add(check)
    return sorted(found)
