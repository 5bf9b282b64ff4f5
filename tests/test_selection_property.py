"""Random selection expressions (hypothesis) against dbt ls on the fixture project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import cli
from tests.dbt_oracle import DbtLs
from tests.selection_cases import FIXTURE_METHOD_ATOMS, FIXTURE_NAMES

pytestmark = pytest.mark.slow

ATOMS = [a for a in FIXTURE_NAMES + FIXTURE_METHOD_ATOMS if not a.startswith(("resource_type:analysis",))]
OPERATORS = ["{}", "{}+", "+{}", "{}+1", "1+{}", "2+{}+2", "@{}", "+{}+"]


@st.composite
def terms(draw: st.DrawFn) -> str:
    atom = draw(st.sampled_from(ATOMS))
    operator = draw(st.sampled_from(OPERATORS))
    return operator.format(atom)


@st.composite
def expressions(draw: st.DrawFn) -> tuple[str, ...]:
    words = draw(st.lists(st.lists(terms(), min_size=1, max_size=3).map(",".join), min_size=1, max_size=3))
    args: list[str] = ["--select", " ".join(words)]
    if draw(st.booleans()):
        args += ["--exclude", draw(terms())]
    mode = draw(st.sampled_from(["eager", "cautious", "buildable", "empty"]))
    return (*args, "--indirect-selection", mode)


@pytest.fixture(scope="module")
def shop_dbt(shop_project: Path) -> DbtLs:
    return DbtLs(shop_project)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(args=expressions())
def test_random_expressions_match_dbt_ls(shop_dbt: DbtLs, shop_project: Path, args: tuple[str, ...]) -> None:
    expected = shop_dbt.unique_ids(*args)
    result = cli("ls", "--project-dir", str(shop_project), "-o", "json", "--output-keys", "unique_id", *args)
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["unique_id"] for line in result.stdout.splitlines()] == expected
