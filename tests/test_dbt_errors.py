"""dbt's own errors, as dbt-assets repeats them (issue 32, defect 9): whatever dbt prints when a
command dbt-assets starts fails (`dbt parse`, `dbt source freshness`), the message is dbt's
own words on one bounded line, never its Python traceback. The class: dbt's text output with
or without colours and time stamps, with an "Encountered an error" block or none, followed
by a traceback (chained or not) of any frames; the real case is in test_runner_faults.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dbt_assets.run.dbt_cli import SUMMARY_WIDTH, dbt_error_summary

pytestmark = pytest.mark.unit

WORDS = st.text(
    st.characters(categories=("L", "N", "P", "S"), include_characters=" "), min_size=1, max_size=30
).filter(
    lambda t: t.strip() and "Traceback" not in t and "error" not in t.lower()
)  # printable: what is not is escaped in the message, by design
MESSAGE = st.builds(lambda first, rest: f"`{first.strip()}` must be {rest.strip()}", WORDS, WORDS)
HEADINGS = st.sampled_from(["", "Runtime Error", "Compilation Error", "Parsing Error", "Database Error"])


@st.composite
def tracebacks(draw: st.DrawFn) -> list[str]:
    """A Python traceback as dbt prints it: frames (each with its code line and markers),
    maybe a chained one before it, and the exception with its module path."""
    lines: list[str] = []
    for chained in range(draw(st.integers(0, 1)) + 1):
        if chained:
            lines += ["", "During handling of the above exception, another exception occurred:", ""]
        lines.append("Traceback (most recent call last):")
        for _ in range(draw(st.integers(1, 12))):
            module = draw(st.sampled_from(["dbt/cli/requires.py", "dbt/parser/manifest.py", "<string>"]))
            number = draw(st.integers(1, 999))
            lines.append(f'  File "/venv/lib/python3.11/site-packages/{module}", line {number}, in f')
            if draw(st.booleans()):
                lines += [f"    {draw(WORDS)}(*args, **kwargs)", "    ^^^^^^^^^^^^^^^^^^^^^"]
        kind = draw(st.sampled_from(["ValidationError", "DbtRuntimeError", "KeyError", "CompilationError"]))
        module = draw(st.sampled_from(["", "dbt_common.dataclass_schema.", "dbt.exceptions."]))
        lines.append(f"{module}{kind}: {draw(MESSAGE)}")
    return lines


def _dbt_output(preamble: list[str], stamped: bool, coloured: bool) -> str:
    def line(text: str) -> str:
        text = f"18:18:01  {text}" if stamped else text
        return f"\x1b[0m{text}" if coloured else text

    return "\n".join(line(text) if text and not text.startswith(" ") else text for text in preamble)


@settings(max_examples=120, deadline=None, derandomize=True, database=None)
@given(
    message=MESSAGE,
    heading=HEADINGS,
    more=st.lists(WORDS, max_size=3),
    trace=tracebacks(),
    stamped=st.booleans(),
    coloured=st.booleans(),
)
def test_dbts_message_alone_never_its_traceback(
    message: str, heading: str, more: list[str], trace: list[str], stamped: bool, coloured: bool
) -> None:
    shown = ["Running with dbt=1.11.16", "Registered adapter: duckdb=1.11.1", "Encountered an error:"]
    shown += [heading] if heading else []
    shown += [message, *more, *trace]
    summary = dbt_error_summary(_dbt_output(shown, stamped, coloured))
    assert "\n" not in summary and len(summary) <= SUMMARY_WIDTH
    assert "Traceback" not in summary and 'File "' not in summary and "^^^" not in summary, summary
    assert message in summary, (message, summary)
    assert summary.startswith(f"{heading}: {message}" if heading else message)


@settings(max_examples=80, deadline=None, derandomize=True, database=None)
@given(trace=tracebacks(), before=st.lists(WORDS, max_size=3), stamped=st.booleans())
def test_a_bare_traceback_is_its_exception(trace: list[str], before: list[str], stamped: bool) -> None:
    """dbt crashed before it could say anything (an adapter that does not import): the
    exception's own line, without its module path."""
    summary = dbt_error_summary(_dbt_output([*before, *trace], stamped, False))
    last = trace[-1]
    exception = last.split(": ", 1)[0].rsplit(".", 1)[-1] + ": " + last.split(": ", 1)[1]
    assert exception in summary and "Traceback" not in summary and 'File "' not in summary, summary
    assert "\n" not in summary and len(summary) <= SUMMARY_WIDTH


def test_a_long_message_is_cut_on_one_line() -> None:
    summary = dbt_error_summary("Encountered an error:\nRuntime Error\n" + "x" * 100_000 + "\nmore\n")
    assert (
        len(summary) <= SUMMARY_WIDTH and summary.startswith("Runtime Error: xxx") and summary.endswith("…")
    )
