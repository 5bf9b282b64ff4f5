"""Reading manifests of every supported schema version, and refusing bad ones clearly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dbt_assets._core.errors import ManifestError, ManifestVersionError
from dbt_assets._core.vocab import ASSET_RESOURCE_TYPES
from dbt_assets.manifest.decode import read_manifest

SECTIONS = (
    "nodes",
    "sources",
    "exposures",
    "metrics",
    "semantic_models",
    "saved_queries",
    "unit_tests",
    "functions",
)


def expected_assets(raw: dict[str, object]) -> set[str]:
    """Enabled non-hook entries, computed from the plain JSON independently of our decoder."""
    found = set()
    for section in SECTIONS:
        for uid, node in (raw.get(section) or {}).items():  # type: ignore[attr-defined]
            if node["resource_type"] in ASSET_RESOURCE_TYPES and node.get("config", {}).get("enabled", True):
                found.add(uid)
    return found


@pytest.mark.unit
def test_example_manifests_load_every_asset(example_manifest: Path) -> None:
    raw = json.loads(example_manifest.read_bytes())
    manifest = read_manifest(example_manifest)
    wanted = re.search(r"v(\d+)\.json", raw["metadata"]["dbt_schema_version"])
    assert wanted and manifest.schema_version == int(wanted.group(1))
    assert set(manifest.records) == expected_assets(raw)
    uids = set(manifest.records)
    assert "model.mini.items" in uids and "source.mini.app.events" in uids
    assert "exposure.mini.report" in uids
    assert {"model.mini.item_stats.v1", "model.mini.item_stats.v2"} <= uids
    assert not any(u.startswith("operation.") for u in uids), "hooks are not assets"
    assert "model.mini.old_model" not in uids, "disabled nodes are left out"
    items = manifest.records["model.mini.items"]
    assert items.depends_on.nodes == ["seed.mini.raw_items"]
    assert items.columns["id"]["description"] == "key"
    if raw["metadata"]["dbt_version"].startswith("1.11"):
        assert "function.mini.double_it" in uids, "dbt 1.11 functions are assets"


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "manifest.json"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


@pytest.mark.parametrize("version", [9, 13])
def test_unsupported_version_names_found_and_supported(
    tmp_path: Path, shop_manifest: Path, version: int
) -> None:
    raw = json.loads(shop_manifest.read_bytes())
    raw["metadata"]["dbt_schema_version"] = f"https://schemas.getdbt.com/dbt/manifest/v{version}.json"
    with pytest.raises(ManifestVersionError) as err:
        read_manifest(_write(tmp_path, json.dumps(raw)))
    assert f"v{version} is not supported" in err.value.message
    assert "v10 (dbt 1.6), v11 (dbt 1.7), v12 (dbt 1.8 to 1.11)" in err.value.message


@pytest.mark.unit
def test_unsupported_version_wins_over_shape_errors(tmp_path: Path) -> None:
    text = json.dumps(
        {
            "metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v7.json"},
            "nodes": {"x": {"unexpected": "shape"}},
        }
    )
    with pytest.raises(ManifestVersionError, match="v7 is not supported"):
        read_manifest(_write(tmp_path, text))


def test_truncated_manifest(tmp_path: Path, shop_manifest: Path) -> None:
    path = _write(tmp_path, shop_manifest.read_bytes()[:5000])
    with pytest.raises(ManifestError) as err:
        read_manifest(path)
    assert err.value.message == f"{path}: manifest is truncated"


@pytest.mark.unit
def test_not_json(tmp_path: Path) -> None:
    path = _write(tmp_path, "<html>not json</html>")
    with pytest.raises(ManifestError, match=r"manifest is not valid JSON"):
        read_manifest(path)


@pytest.mark.unit
@pytest.mark.parametrize(
    "text",
    [
        "{}",
        "[1, 2]",
        '{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json"}}',
    ],
)
def test_json_that_is_not_a_manifest(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ManifestError, match="not a dbt manifest") as err:
        read_manifest(path)
    assert str(path) in err.value.message


def test_dangling_dependency(tmp_path: Path, shop_manifest: Path) -> None:
    raw = json.loads(shop_manifest.read_bytes())
    raw["nodes"]["model.shop.orders"]["depends_on"]["nodes"].append("model.shop.ghost")
    path = _write(tmp_path, json.dumps(raw))
    with pytest.raises(ManifestError) as err:
        read_manifest(path)
    assert "model.shop.orders depends on model.shop.ghost" in err.value.message
    assert str(path) in err.value.message


@pytest.mark.unit
def test_missing_manifest_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such manifest"):
        read_manifest(tmp_path / "nope.json")


def _nested(depth: int, container: str) -> str:
    return ('{"a": ' * depth + "1" + "}" * depth) if container == "object" else "[" * depth + "]" * depth


_MINIMAL_NODE = '{"unique_id": "model.p.m", "resource_type": "model", "name": "m", "package_name": "p"'
_DEEP_PLACES = {  # where in a manifest the deep value is
    "metadata": '{"metadata": {"dbt_schema_version": "%s", "x": %s}}',
    "an unknown top-level key": '{"metadata": {"dbt_schema_version": "%s"}, "x": %s}',
    "a node's config": '{"metadata": {"dbt_schema_version": "%s"}, "nodes": {"model.p.m": '
    + _MINIMAL_NODE
    + ', "config": {"x": %s}}}}',
    "a node's meta": '{"metadata": {"dbt_schema_version": "%s"}, "nodes": {"model.p.m": '
    + _MINIMAL_NODE
    + ', "meta": {"x": %s}}}}',
    "a node's columns": '{"metadata": {"dbt_schema_version": "%s"}, "nodes": {"model.p.m": '
    + _MINIMAL_NODE
    + ', "columns": {"c": %s}}}}',
    "the selectors": '{"metadata": {"dbt_schema_version": "%s"}, "selectors": {"s": %s}}',
}


@pytest.mark.unit
@pytest.mark.parametrize("place", sorted(_DEEP_PLACES))
@pytest.mark.parametrize("depth", [3_000, 200_000])
@pytest.mark.parametrize("container", ["array", "object"])
@pytest.mark.parametrize("schema", ["v12", "v20"])
def test_a_deeply_nested_manifest_is_one_error_naming_it(
    tmp_path: Path, place: str, depth: int, container: str, schema: str
) -> None:
    """Issue 32, defect 8: a manifest nested thousands deep was a RecursionError traceback.
    Now one error naming the file, wherever the deep value is (and the decoder stops at the
    interpreter's recursion limit, whatever the depth), for dbt-core's schema and Fusion's."""
    url = f"https://schemas.getdbt.com/dbt/manifest/{schema}.json"
    path = _write(tmp_path, _DEEP_PLACES[place] % (url, _nested(depth, container)))
    with pytest.raises(ManifestError, match="nested too deeply") as err:
        read_manifest(path)
    assert str(path) in err.value.message and err.value.hint


@pytest.mark.unit
def test_a_deeply_nested_manifest_or_state_file_exits_2_in_one_line(
    tmp_path: Path, example_manifest: Path
) -> None:
    from tests.conftest import cli

    url = "https://schemas.getdbt.com/dbt/manifest/v12.json"
    deep = _DEEP_PLACES["a node's meta"] % (url, _nested(5_000, "array"))
    path = _write(tmp_path, deep)
    state = tmp_path / "state"
    state.mkdir()
    (state / "run_results.json").write_text('{"results": ' + _nested(5_000, "array") + "}")
    (state / "manifest.json").write_text(deep)
    for args in (
        ("ls", "--manifest", str(path)),
        ("ls", "--manifest", str(example_manifest), "--state", str(state), "-s", "result:success"),
        ("ls", "--manifest", str(example_manifest), "--state", str(state), "-s", "state:modified"),
    ):
        result = cli(*args)
        assert result.exit_code == 2, (args, result.stdout)
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
        assert "nested too deeply" in result.stderr
