"""Finding the project and profiles, and re-parsing the manifest exactly when it is stale."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from dbt_assets._core.errors import (
    DbtCommandError,
    DbtNotFoundError,
    ProfilesNotFoundError,
    ProjectNotFoundError,
)
from dbt_assets.run.project import PARSE_STAMP, Project


def _age(path: Path, seconds: float) -> None:
    stamp = time.time() - seconds
    os.utime(path, (stamp, stamp))


def test_missing_manifest_runs_dbt_parse(
    scratch_project: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    graph = Project(scratch_project).graph()
    assert "model.shop.orders" in graph
    # said through the "dbt_assets" logger (the CLI shows it on stderr); a library never prints
    assert "target/manifest.json is missing; running `dbt parse`" in caplog.text
    assert capfd.readouterr().err == ""


def test_fresh_manifest_is_not_reparsed(parsed_project: Path, caplog: pytest.LogCaptureFixture) -> None:
    project = Project(parsed_project)
    project.ensure_manifest()
    before = project.manifest_path.stat().st_mtime_ns
    caplog.clear()
    assert project.stale_reason() is None
    project.graph()
    assert project.manifest_path.stat().st_mtime_ns == before
    assert "dbt parse" not in caplog.text


def test_changed_model_makes_manifest_stale(parsed_project: Path, caplog: pytest.LogCaptureFixture) -> None:
    project = Project(parsed_project)
    project.ensure_manifest()
    _age(project.manifest_path, 60)
    new_model = parsed_project / "models" / "marts" / "core" / "order_count_by_status.sql"
    new_model.write_text("select status, count(*) as n from {{ ref('orders') }} group by 1\n")
    reason = project.stale_reason()
    assert (
        reason == "models/marts/core/order_count_by_status.sql changed after target/manifest.json was written"
    )
    graph = project.graph()
    assert "model.shop.order_count_by_status" in graph
    assert "running `dbt parse`" in caplog.text


@pytest.mark.parametrize(
    "changed",
    [
        "dbt_project.yml",
        "macros/cents_to_dollars.sql",
        "seeds/raw_orders.csv",
        "snapshots/orders_snapshot.sql",
        "tests/assert_order_amounts_not_negative.sql",
    ],
)
def test_each_project_path_is_watched(parsed_project: Path, changed: str) -> None:
    project = Project(parsed_project)
    project.ensure_manifest()
    _age(project.manifest_path, 60)
    assert project.stale_reason() is None
    (parsed_project / changed).touch()
    assert project.stale_reason() == f"{changed} changed after target/manifest.json was written"


def test_other_target_reparses(parsed_project: Path) -> None:
    Project(parsed_project).ensure_manifest()
    ci = Project(parsed_project, target="ci")
    assert ci.stale_reason() == "target/manifest.json was not parsed for target 'ci'"
    ci.ensure_manifest()
    assert ci.stale_reason() is None
    assert (
        Project(parsed_project).stale_reason() == "target/manifest.json was not parsed for the default target"
    )


@pytest.mark.unit
def test_missing_project(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFoundError) as err:
        Project(tmp_path / "nowhere")
    assert "dbt_project.yml not found" in err.value.message
    assert "--project-dir" in err.value.hint


@pytest.mark.unit
def test_missing_profiles(scratch_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (scratch_project / "profiles.yml").unlink()
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProfilesNotFoundError) as err:
        Project(scratch_project).graph()
    assert err.value.message.startswith("no profiles.yml found (looked in ")
    assert "DBT_PROFILES_DIR" in err.value.hint


@pytest.mark.unit
def test_missing_profiles_names_each_folder_once(
    scratch_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from the project itself (`cd project && dbt-assets ...`): the project folder and the
    working directory are one folder, named once."""
    (scratch_project / "profiles.yml").unlink()
    monkeypatch.delenv("DBT_PROFILES_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(scratch_project)
    with pytest.raises(ProfilesNotFoundError) as err:
        Project(".").graph()
    looked = err.value.message.split("(looked in ")[1].rstrip(")").split(", ")
    assert looked == [str(scratch_project.resolve()), str((tmp_path / "home" / ".dbt").resolve())]


def test_profiles_dir_from_environment(
    parsed_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "profiles"
    elsewhere.mkdir()
    (parsed_project / "profiles.yml").rename(elsewhere / "profiles.yml")
    monkeypatch.setenv("DBT_PROFILES_DIR", str(elsewhere))
    assert Project(parsed_project).profiles_dir == elsewhere.resolve()
    (parsed_project / "models" / "new_model.sql").write_text("select 1 as id\n")  # dbt parses again
    assert "model.shop.new_model" in Project(parsed_project).graph(), "dbt found the profile there"


@pytest.mark.unit
def test_dbt_missing(scratch_project: Path) -> None:
    with pytest.raises(DbtNotFoundError, match="dbt executable '/no/such/dbt' not found"):
        Project(scratch_project, dbt_executable="/no/such/dbt").graph()


def test_failing_dbt_parse_reports_dbt_error(scratch_project: Path, tmp_path: Path) -> None:
    """Fault injection: a dbt that fails the way a broken project makes dbt parse fail."""
    fake = tmp_path / "dbt"
    fake.write_text(
        "#!/bin/sh\necho 'Encountered an error:' \necho 'Compilation Error in model orders' >&2\nexit 2\n"
    )
    fake.chmod(0o755)
    with pytest.raises(DbtCommandError) as err:
        Project(scratch_project, dbt_executable=str(fake)).graph()
    assert "`dbt parse" in err.value.message and "failed (exit 2)" in err.value.message
    assert "Compilation Error in model orders" in err.value.message


def test_broken_project_with_real_dbt(parsed_project: Path) -> None:
    (parsed_project / "models" / "broken.sql").write_text("select * from {{ ref('does_not_exist') }}\n")
    with pytest.raises(DbtCommandError) as err:
        Project(parsed_project).graph()
    assert "does_not_exist" in err.value.message


def test_other_vars_reparse(parsed_project: Path) -> None:
    Project(parsed_project).ensure_manifest()
    with_vars = Project(parsed_project, vars="{order_floor: 1}")
    assert with_vars.stale_reason() == (
        "target/manifest.json was not parsed for the default target and vars {order_floor: 1}"
    )
    with_vars.ensure_manifest()
    assert with_vars.stale_reason() is None
    assert Project(parsed_project).stale_reason() is not None


@pytest.mark.unit
def test_the_parse_stamp_is_written_whole_but_not_synced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stamp a run leaves beside the manifest is only a help (lost, the next command parses
    again): replaced whole, without waiting for the disk, which waits for whatever else the
    machine is writing (a warm dbt's manifest.json, at that very moment)."""
    (tmp_path / "dbt_project.yml").write_text("name: shop\nprofile: shop\n")
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "manifest.json").write_text("{}")
    synced: list[int] = []
    fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), fsync(fd))[1])
    project = Project(tmp_path, target="ci", vars="{a: 1}")
    project.stamp_manifest(123)
    assert synced == []
    stamp = json.loads((tmp_path / "target" / PARSE_STAMP).read_text())
    assert stamp == {"target": "ci", "vars": "{a: 1}", "manifest_mtime_ns": 123}
    assert sorted(p.name for p in (tmp_path / "target").iterdir()) == sorted(["manifest.json", PARSE_STAMP])
