"""``state:`` asks dbt only where dbt's answer is open, and agrees with dbt where it does not.

The comparison settles some cases without dbt-core's node classes (see
``dbt_assets/selection/modified.py``): entries equal apart from their volatile fields, a
changed body of a node whose ``same_contents`` starts from ``same_body``, and new nodes. Here
every kind of node of every committed v12 manifest (real projects' manifests of dbt 1.10 and
1.11, and dbt 1.8's) is changed in each way below, and every ``state:`` selector's answer is
checked against dbt's own ``same_*`` calls on the same entries: the calls ``dbt ls`` makes.
The end-to-end comparison with ``dbt ls`` is ``test_differential_state.py``.
"""

from __future__ import annotations

import copy
import functools
import gzip
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dbt_assets._core.errors import SelectionError
from dbt_assets.selection import modified
from dbt_assets.selection.modified import STATE_SELECTORS, StateComparison

REPO = Path(__file__).resolve().parent.parent
MANIFESTS = [
    path
    for path in sorted(
        [*REPO.glob("tests/corpus/*/manifest_*.json.gz"), *REPO.glob("tests/manifests/*.json.gz")]
    )
    if "v12" in json.loads(gzip.decompress(path.read_bytes()))["metadata"]["dbt_schema_version"]
]
PER_KIND = 4  # entries of each kind (resource type; generic or singular test) taken per manifest

Entry = dict[str, Any]


def _body(entry: Entry) -> None:
    entry["raw_code"] = f"{entry.get('raw_code') or ''}\n-- edited"


def _volatile(entry: Entry) -> None:
    entry["created_at"] = float(entry.get("created_at") or 0) + 86400
    entry["compiled"], entry["compiled_code"] = True, "select 1"


def _config(entry: Entry) -> None:
    entry.setdefault("config", {})["tags"] = ["changed"]


def _contract_on(entry: Entry) -> None:
    entry.setdefault("config", {}).setdefault("contract", {})["enforced"] = True
    entry["contract"] = {**(entry.get("contract") or {}), "enforced": True}


def _body_and_breaking_contract(entry: Entry) -> None:
    """A body edit that also drops a column of an enforced contract, on a versioned model
    (dbt raises for that; for an unversioned one it warns)."""
    _body(entry)
    entry["columns"] = {}
    entry["contract"] = {**(entry.get("contract") or {}), "enforced": True, "checksum": "changed"}


def _enforced_before(entry: Entry) -> Entry:
    if entry.get("resource_type") != "model":
        return entry
    before = copy.deepcopy(entry)
    before["version"] = before.get("version") or 1
    before["columns"] = {"id": {"name": "id", "data_type": "integer", "description": ""}}
    before["contract"] = {"enforced": True, "alias_types": True, "checksum": "before"}
    before["config"] = {**before.get("config", {}), "contract": {"enforced": True, "alias_types": True}}
    return before


# name -> (how the previous entry is made from the manifest's, how the current one is changed)
CHANGES: dict[str, tuple[Callable[[Entry], Entry], Callable[[Entry], None]]] = {
    "body": (lambda e: e, _body),
    "volatile fields only": (lambda e: e, _volatile),
    "body and volatile fields": (lambda e: e, lambda e: (_body(e), _volatile(e))),
    "config": (lambda e: e, _config),
    "contract enforced now": (lambda e: e, lambda e: (_body(e), _contract_on(e))),
    "breaking contract change": (_enforced_before, _body_and_breaking_contract),
}


@functools.cache
def _manifest(path: Path) -> dict[str, Any]:
    return json.loads(gzip.decompress(path.read_bytes()))  # type: ignore[no-any-return]


def _sample(manifest: dict[str, Any]) -> dict[str, Entry]:
    """Up to PER_KIND nodes of each kind, with their manifest entries."""
    taken: dict[tuple[str, bool], int] = {}
    sample = {}
    for uid, entry in manifest["nodes"].items():
        kind = (entry["resource_type"], "test_metadata" in entry)
        if taken.get(kind, 0) < PER_KIND:
            taken[kind] = taken.get(kind, 0) + 1
            sample[uid] = entry
    return sample


def _dbt_nodes(new: Entry, old: Entry | None) -> tuple[Any, Any] | None:
    """The entries as dbt's node objects, or None when dbt could not have written them."""
    try:
        return modified._dbt_node("nodes", new), modified._dbt_node("nodes", old) if old is not None else None
    except SelectionError:
        return None


def _dbt_answer(selector: str, nodes: tuple[Any, Any], adapter_type: str | None) -> bool | str:
    """dbt's own answer for one entry (its same_* calls on its node objects), or the error."""
    try:
        with modified._dbt_flags({}):
            answer = modified._dbt_says_modified(selector.removeprefix("un"), *nodes, adapter_type)
    except SelectionError:
        return "error"
    return not answer if selector == "unmodified" else answer


def _our_answer(comparison: StateComparison, selector: str, uid: str) -> bool | str:
    try:
        return uid in comparison.check(selector, [uid])
    except SelectionError:
        return "error"


@pytest.mark.unit
@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: f"{p.parent.name}/{p.name.split('.json')[0]}")
@pytest.mark.parametrize("change", CHANGES)
def test_what_is_settled_without_dbt_is_what_dbt_says(
    path: Path, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = _manifest(path)
    adapter_type = manifest["metadata"].get("adapter_type")
    before_of, edit = CHANGES[change]
    previous, current = {}, {}
    for uid, entry in _sample(manifest).items():
        previous[uid] = before_of(copy.deepcopy(entry))
        current[uid] = copy.deepcopy(previous[uid])
        edit(current[uid])
    meta = {"metadata": manifest["metadata"]}
    comparison = StateComparison.of({**meta, "nodes": current}, {**meta, "nodes": previous})
    settled = []
    real_settle = modified._settled

    def counting(*args: Any) -> bool | None:
        answer = real_settle(*args)
        settled.append(answer is not None)
        return answer

    monkeypatch.setattr(modified, "_settled", counting)
    selectors = [s for s in STATE_SELECTORS if s not in ("new", "old", "modified.macros")]
    mismatches = []
    readable = {uid: _dbt_nodes(current[uid], previous[uid]) for uid in current}
    assert any(readable.values()), "no changed entry is one dbt could have written"
    for uid, nodes in readable.items():
        if nodes is None:  # an entry dbt could not have written is no case
            continue
        for selector in selectors:
            ours = _our_answer(comparison, selector, uid)
            theirs = _dbt_answer(selector, nodes, adapter_type)
            if ours != theirs:
                mismatches.append((uid, selector, ours, theirs))
    assert not mismatches
    if change in ("body", "body and volatile fields"):
        assert any(settled), "no body change was settled without dbt"


@pytest.mark.unit
@pytest.mark.parametrize("path", MANIFESTS[:1], ids=lambda p: p.parent.name)
def test_a_new_node_is_modified_for_every_check_as_dbt_says(path: Path) -> None:
    current = copy.deepcopy(_sample(_manifest(path)))
    comparison = StateComparison.of({"nodes": current}, {"nodes": {}})
    for selector in STATE_SELECTORS:
        for uid, entry in current.items():
            theirs = {"new": True, "old": False, "modified.macros": False}.get(selector)
            if theirs is None:
                nodes = _dbt_nodes(entry, None)
                assert nodes is not None
                theirs = _dbt_answer(selector, nodes, None)
            assert _our_answer(comparison, selector, uid) == theirs, (uid, selector)


@pytest.mark.unit
def test_the_same_values_written_another_way_are_unchanged() -> None:
    """A state manifest from another JSON writer (indented, ASCII escapes) compares by value."""
    nodes = copy.deepcopy(_sample(_manifest(MANIFESTS[0])))
    for entry in nodes.values():
        entry["description"] = "Zürich, naïve café"
    current = modified.decode_compared(json.dumps({"nodes": nodes}, ensure_ascii=False).encode())
    previous = modified.decode_compared(json.dumps({"nodes": nodes}, indent=2, ensure_ascii=True).encode())
    comparison = StateComparison(current, previous)
    assert comparison.check("modified", list(nodes)) == set()
    assert comparison.check("unmodified", list(nodes)) == set(nodes)


def test_body_changes_and_new_nodes_do_not_import_dbt() -> None:
    """Importing dbt's node classes costs more than reading a 10,000-model manifest: a change
    that dbt's code settles must not pay it. A process of its own, so nothing imported dbt."""
    script = f"""
import copy, gzip, json, sys
from dbt_assets.selection.modified import StateComparison
manifest = json.loads(gzip.decompress(open({str(MANIFESTS[0])!r}, "rb").read()))
previous = manifest["nodes"]
current = copy.deepcopy(previous)
for entry in current.values():
    kind = entry["resource_type"]
    if kind in ("model", "snapshot", "operation") or (kind == "test" and "test_metadata" not in entry):
        entry["raw_code"] = (entry.get("raw_code") or "") + " -- edited"
    entry["created_at"] = 0
first = next(iter(previous))
current["model.p.brand_new"] = {{**previous[first], "unique_id": "model.p.brand_new"}}
found = StateComparison.of({{"nodes": current}}, {{"nodes": previous}}).check("modified", list(current))
print(len(found), "dbt.contracts.graph.nodes" in sys.modules)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    count, imported = done.stdout.split()
    assert int(count) > 1 and imported == "False", done.stdout
