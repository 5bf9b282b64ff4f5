"""``dbt-assets diff`` on real projects and on every kind of edit, against dbt's own selector.

- Each corpus project (tests/corpus/, loaded as ``test_corpus.py`` loads them): a manifest
  against itself reports nothing; against the manifest dbt 1.10 wrote for the same checkout it
  reports exactly what dbt's ``state:modified`` selects (package nodes included), each node with
  the kinds ``state:modified.<kind>`` selects it for, and nothing removed.
- The committed mini manifest with each edit of ``test_diff_unit.py`` (and all of them at once):
  the same, through ``dbt ls`` over the edited manifest with the original as ``--state``.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from dbt_assets.api import change_review, load_graph
from dbt_assets.selection.changes import CHANGE_KINDS
from tests.dbt_oracle import DbtLs
from tests.test_corpus import CORPUS, rebuild
from tests.test_diff_unit import EDITS, _edit, mini

pytestmark = pytest.mark.slow

PAIRS = sorted(p.parent.name for p in CORPUS.glob("*/manifest_dbt1.10.*.json.gz"))
ALL = ("--resource-type", "all", "--indirect-selection", "empty")


def _state(folder: Path, manifest: bytes) -> Path:
    folder.mkdir()
    (folder / "manifest.json").write_bytes(manifest)
    return folder


def _agrees(project: Path, oracle: DbtLs, state: Path) -> list[dict[str, Any]]:
    """The review's changes, checked against dbt ls over the same pair of manifests."""
    review = change_review(load_graph(project_dir=project), state, at=1.7e9)
    removed = [c for c in review.changed if c.kinds == ["removed"]]
    kinds = {c.unique_id: c.kinds for c in review.changed if c.kinds != ["removed"]}
    args = ("--state", str(state), *ALL)
    assert sorted(kinds) == oracle.unique_ids("-s", "state:modified", *args)
    new = set(oracle.unique_ids("-s", "state:new", *args))
    assert {u for u, k in kinds.items() if k == ["new"]} == new
    for kind in CHANGE_KINDS:
        theirs = set(oracle.unique_ids("-s", f"state:modified.{kind}", *args)) - new
        assert {u for u, k in kinds.items() if kind in k} == theirs, kind
    return [{"id": c.unique_id, "kinds": c.kinds} for c in removed]


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.iterdir() if p.is_dir()))
def test_a_manifest_against_itself_reports_nothing(name: str, tmp_path: Path) -> None:
    (manifest,) = sorted((CORPUS / name).glob("manifest_dbt1.11.*.json.gz"))
    project = rebuild(manifest, tmp_path / "project")
    review = change_review(
        load_graph(project_dir=project),
        _state(tmp_path / "prod", gzip.decompress(manifest.read_bytes())),
        at=1.7e9,
    )
    assert review.changed == [] and review.downstream == [] and review.owners == []
    assert review.cost.assets == 0 and review.deadlines == []


@pytest.mark.parametrize("name", PAIRS)
def test_against_dbt_1_10s_manifest_it_reports_only_what_state_modified_selects(
    name: str, tmp_path: Path
) -> None:
    (current,) = sorted((CORPUS / name).glob("manifest_dbt1.11.*.json.gz"))
    (older,) = sorted((CORPUS / name).glob("manifest_dbt1.10.*.json.gz"))
    project = rebuild(current, tmp_path / "project")
    state = _state(tmp_path / "prod", gzip.decompress(older.read_bytes()))
    removed = _agrees(project, DbtLs(project, project / "target" / "manifest.json"), state)
    assert removed == [], "the same checkout: nothing removed"


@pytest.mark.parametrize(
    "edits", [*((e,) for e in EDITS), EDITS], ids=lambda e: "+".join(e) if len(e) > 1 else e[0]
)
def test_every_kind_of_edit_is_reported_as_dbt_ls_selects_it(edits: tuple[str, ...], tmp_path: Path) -> None:
    current = mini()
    for what in edits:
        _edit(current, what)
    manifest = tmp_path / "manifest.json.gz"
    manifest.write_bytes(gzip.compress(json.dumps(current).encode()))
    project = rebuild(manifest, tmp_path / "project")
    state = _state(tmp_path / "prod", json.dumps(mini()).encode())
    removed = _agrees(project, DbtLs(project, project / "target" / "manifest.json"), state)
    assert [r["id"] for r in removed] == (["model.mini.events"] if "removed" in edits else [])
