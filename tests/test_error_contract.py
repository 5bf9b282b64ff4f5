"""The error contract on bad input classes (issue 15): one line on stderr naming the input and
the fix, exit code 2, never a traceback. Each class here crashed before with a traceback."""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_MANIFESTS, cli


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory whose manifest is fresh (no dbt needed): the 'mini' example."""
    root = tmp_path / "mini"
    root.mkdir()
    (root / "dbt_project.yml").write_text("name: mini\nversion: '1.0'\nconfig-version: 2\nprofile: mini\n")
    (root / "selectors.yml").write_text("selectors:\n  - name: items\n    definition: items\n")
    (root / "target").mkdir()
    manifest = root / "target" / "manifest.json"
    manifest.write_bytes(gzip.decompress(EXAMPLE_MANIFESTS[-1].read_bytes()))
    later = time.time() + 5
    os.utime(manifest, (later, later))
    return root


def assert_clean_error(result: object, *needles: str) -> None:
    stderr: str = result.stderr  # type: ignore[attr-defined]
    assert result.exit_code == 2, stderr  # type: ignore[attr-defined]
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), stderr
    for needle in needles:
        assert needle in lines[0]


@pytest.mark.parametrize(
    "at", ["inf", "-inf", "nan", "1e400", "-1e20", "1e18", "99999999999999", "99999-01-01"]
)
def test_times_that_are_not_finite_or_out_of_range(project: Path, at: str) -> None:
    (project / ".dbt-assets").mkdir()
    from dbt_assets.history.store import History

    History.open(project / ".dbt-assets" / "history.db").close()
    result = cli("sla", "check", "--project-dir", str(project), "--at", at)
    assert_clean_error(result, "--at")


@pytest.mark.parametrize("value", ["1e400s", "nan", ".inf"])
def test_durations_that_are_not_finite(project: Path, value: str) -> None:
    (project / "dbt_assets.yml").write_text(f"slas:\n  - select: items\n    sla: {{freshness: {value}}}\n")
    result = cli("show", "items", "--project-dir", str(project))
    assert_clean_error(result, "dbt_assets.yml")


@pytest.mark.parametrize("name", ["dbt_project.yml", "selectors.yml", "dbt_assets.yml"])
def test_project_files_that_are_not_utf8(project: Path, name: str) -> None:
    path = project / name
    path.write_bytes((path.read_bytes() if path.exists() else b"slas: []\n") + b"\n# caf\xe9\n")
    os.utime(path, (0, 0))  # older than the manifest: no re-parse
    result = cli("ls", "--project-dir", str(project), "--selector", "items")
    if name == "dbt_assets.yml":
        result = cli("show", "items", "--project-dir", str(project))
    assert_clean_error(result, name, "not UTF-8")


@pytest.mark.unit
def test_select_ids_file_that_is_not_utf8(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(gzip.decompress(EXAMPLE_MANIFESTS[-1].read_bytes()))
    ids = tmp_path / "ids.txt"
    ids.write_bytes(b"model.mini.items\n\xff\n")
    result = cli("plan", "--manifest", str(manifest), "--select-ids", str(ids))
    assert_clean_error(result, "--select-ids", "not UTF-8")


def test_selectors_nested_too_deeply(project: Path) -> None:
    depth = 3000
    definition = "{union: [" * depth + "items" + "]}" * depth
    (project / "selectors.yml").write_text(f"selectors:\n  - name: deep\n    definition: {definition}\n")
    os.utime(project / "selectors.yml", (0, 0))
    assert_clean_error(cli("ls", "--project-dir", str(project), "--selector", "deep"), "nested too deeply")


@pytest.mark.parametrize("depth", ["x", "[1]", "{a: 1}"])
def test_selector_depths_that_are_not_whole_numbers(project: Path, depth: str) -> None:
    (project / "selectors.yml").write_text(
        "selectors:\n  - name: odd\n    definition:\n      method: fqn\n      value: items\n"
        f"      children: true\n      children_depth: {depth}\n"
    )
    os.utime(project / "selectors.yml", (0, 0))
    assert_clean_error(cli("ls", "--project-dir", str(project), "--selector", "odd"), "children_depth")


@pytest.mark.unit
def test_usage_errors_are_one_line(tmp_path: Path) -> None:
    result = cli("ls", "--no-such-option")
    assert_clean_error(result, "--no-such-option", "ls --help`")


@pytest.mark.unit
@pytest.mark.parametrize(
    "command",
    [
        ("ls",),
        ("ls", "-s", "@items"),
        ("plan", "--command", "build"),
        ("plan", "--command", "run", "-s", "owner:*"),
        ("graph",),
        ("export",),
        ("shard", "2"),
        ("show", "items"),
    ],
    ids=" ".join,
)
def test_a_dependency_cycle_in_a_manifest(tmp_path: Path, command: tuple[str, ...]) -> None:
    """dbt refuses cycles when it parses, so a manifest with one was edited or corrupted:
    every command either works or says so in one line (shard crashed with a KeyError)."""
    import json

    raw = json.loads(gzip.decompress(EXAMPLE_MANIFESTS[-1].read_bytes()))
    raw["nodes"]["model.mini.items"]["depends_on"]["nodes"].append("model.mini.item_stats.v1")
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(raw))
    result = cli(*command, "--manifest", str(manifest))
    if result.exit_code != 0:
        assert_clean_error(result, "dependency cycle")
    assert "Traceback" not in result.output


# --- classes the fuzz test (tests/test_fuzz_errors.py) found --------------------------------


@pytest.mark.unit
@pytest.mark.parametrize("odd", ["\x1e", "a\nb", "\u2028", "\x1b[31mred"])
def test_control_characters_in_an_argument_stay_on_one_escaped_line(odd: str) -> None:
    result = cli("ls", odd)
    assert_clean_error(result)
    assert "\x1b" not in result.stderr and "\u2028" not in result.stderr


@pytest.mark.unit
def test_manifest_selectors_of_another_shape_are_not_selectors(tmp_path: Path) -> None:
    import json

    raw = json.loads(gzip.decompress(EXAMPLE_MANIFESTS[-1].read_bytes()))
    raw["selectors"] = {"odd": ["not", "a", "selector"], "fine": {"definition": "items", "default": False}}
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps(raw))
    result = cli("ls", "--manifest", str(manifest))
    assert result.exit_code == 0, result.stderr


@pytest.mark.unit
def test_select_ids_naming_an_asset_instead_of_its_unique_id(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_bytes(gzip.decompress(EXAMPLE_MANIFESTS[-1].read_bytes()))
    ids = tmp_path / "ids.txt"
    ids.write_text("items\n")
    result = cli("plan", "--manifest", str(manifest), "--select-ids", str(ids))
    assert_clean_error(result, "'items' is not a unique_id", "did you mean model.mini.items?")


@pytest.mark.parametrize(
    ("field", "value"),
    [("elapsed_time", {"a": 1}), ("generated_at", {"a": 1}),
     ("results", [{"unique_id": "model.p.a", "status": 1}]),
     ("metadata", {"invocation_id": "x", "dbt_version": 11})],
    ids=["elapsed_time", "generated_at", "status", "dbt_version"],
)  # fmt: skip
def test_imported_run_results_with_values_of_another_type(project: Path, field: str, value: object) -> None:
    import json

    from dbt_assets.history.store import History

    document: dict[str, object] = {
        "metadata": {"invocation_id": "inv-odd", "generated_at": "2026-11-20T07:00:10Z"},
        "elapsed_time": 1.0,
        "results": [{"unique_id": "model.mini.items", "status": "success"}],
    }
    if field == "generated_at":
        document["metadata"] = {"invocation_id": "inv-odd", "generated_at": value}
    else:
        document[field] = value
    path = project / "run_results.json"
    path.write_text(json.dumps(document))
    os.utime(path, (0, 0))
    History.open(project / ".dbt-assets" / "history.db").close()
    result = cli("history", "--project-dir", str(project), "import", str(path))
    assert_clean_error(result, "run_results.json", "is not a dbt run_results.json")
    with History.open(project / ".dbt-assets" / "history.db", create=False) as history:
        assert history.runs() == []


@pytest.mark.parametrize("option", ["--target", "--history", "--profiles-dir"])
def test_a_nul_byte_in_an_argument(project: Path, option: str) -> None:
    """No path, name or dbt argument can hold one (click's own path check crashed on it)."""
    result = cli("run", "--dry-run", "--project-dir", str(project), "-s", "items", option, "dev\x00")
    assert_clean_error(result, "an argument contains a NUL byte")


@pytest.mark.unit
def test_dbt_output_with_values_of_another_type_is_a_log_line() -> None:
    """A node event whose unique_id or message is not a string: a plain log line, and no
    display or history sees a number where a string belongs."""
    import json

    from dbt_assets.run.events import AssetFinished, DbtLog, LogReader

    reader = LogReader()
    start = {"info": {"name": "NodeStart", "level": "debug"}, "data": {"node_info": {"unique_id": 0}}}
    finish = {
        "info": {"name": "NodeFinished", "level": "debug"},
        "data": {"node_info": {"unique_id": "model.p.a"}, "run_result": {"status": "error", "message": 202}},
    }
    started = reader.read(json.dumps(start))
    finished = reader.read(json.dumps(finish))
    assert [type(e) for e in started] == [DbtLog]
    assert isinstance(finished[0], AssetFinished) and finished[0].message == "202"
