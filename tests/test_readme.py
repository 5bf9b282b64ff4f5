"""The README's Python example runs as written (against a copy of the fixture project)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURE_PROJECT, REPO


def test_readme_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), flags=re.S)
    assert blocks, "the README has a Python example"
    shutil.copytree(
        FIXTURE_PROJECT,
        tmp_path / "fixtures" / "dbt_project",
        ignore=shutil.ignore_patterns("target", "logs", ".dbt-assets"),
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))  # if Airflow is first imported here
    for block in blocks:
        namespace: dict[str, object] = {}
        exec(compile(block, "README.md", "exec"), namespace)
        if "shop_dag" in namespace:  # the Airflow example: a task per asset of the selection
            assert len(namespace["shop_dag"].tasks) == 8  # type: ignore[attr-defined]
    assert "nx_graph" in namespace
    result = namespace["run"].result  # type: ignore[attr-defined]
    assert result.status == "success" and result.counts == {"success": 8}
