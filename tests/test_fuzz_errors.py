"""The error contract, fuzzed (issue 15): every input channel is fed generated bad values, and
each answer must be exit 0 (the value happened to be valid), 1 (an asset failed) or 2 with one
``Error: ...`` line on stderr; never a traceback, never an exception out of the CLI, never a
history row that the input did not say.

Channels: the CLI's arguments and options, the manifest, ``selectors.yml``, ``dbt_assets.yml``,
``--select-ids`` files, imported artifacts (``run_results.json``, ``sources.json``), the dbt
options of a run (``--profiles-dir``, ``--target``, ``--vars``) and dbt's output lines. The
budget is fixed (:data:`BUDGET`, at least 5,000 inputs in all) and the examples are derandomized,
so CI runs the same inputs every time; everything runs in-process through click's runner.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from dbt_assets.cli.main import main
from dbt_assets.history.store import History
from dbt_assets.run.events import LogReader
from tests.conftest import EXAMPLE_MANIFESTS, cli

BUDGET = {
    "argv": 1500,
    "manifest": 700,
    "selectors": 500,
    "sla_config": 500,
    "select_ids": 300,
    "run_results": 500,
    "sources": 200,
    "dbt_options": 200,
    "dbt_lines": 600,
    "dbt_run": 200,
}
assert sum(BUDGET.values()) >= 5000


def _settings(channel: str) -> Any:
    return settings(
        max_examples=BUDGET[channel],
        deadline=None,
        derandomize=True,  # the same inputs in every run
        database=None,
        phases=[Phase.explicit, Phase.generate],  # a failure is reported as found, unshrunk
        suppress_health_check=list(HealthCheck),
    )


MANIFEST = json.loads(gzip.decompress(EXAMPLE_MANIFESTS[-1].read_bytes()))
UIDS = [*MANIFEST["nodes"], *MANIFEST["sources"]]


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A project with a fresh manifest and a history (no dbt needed), as the working
    directory, so relative paths that the fuzz makes up land inside it."""
    root = tmp_path_factory.mktemp("fuzz") / "mini"
    (root / "target").mkdir(parents=True)
    (root / "dbt_project.yml").write_text("name: mini\nversion: '1.0'\nconfig-version: 2\nprofile: mini\n")
    (root / "profiles.yml").write_text("mini:\n  target: dev\n  outputs:\n    dev: {type: duckdb}\n")
    (root / "target" / "manifest.json").write_text(json.dumps(MANIFEST))
    later = time.time() + 3600
    os.utime(root / "target" / "manifest.json", (later, later))
    History.open(root / ".dbt-assets" / "history.db").close()
    before = Path.cwd()
    os.chdir(root)
    yield root
    os.chdir(before)


def _keep_fresh(path: Path) -> None:
    """Date the file back: older than the manifest (no `dbt parse`), and not being written."""
    os.utime(path, (0, 0))


LINE = 2000
"""The longest line dbt-assets may print on stderr about bad input (a message and its hint)."""


def assert_contract(result: Any, codes: tuple[int, ...] = (0, 2), names: str | None = None) -> None:
    """Exit 0/2 (or what ``codes`` allow); on 2 exactly one ``Error:`` line (naming ``names``,
    the file at fault, when given), the other stderr lines being dbt-assets' own warnings; no
    traceback anywhere; no stderr line longer than :data:`LINE`, whatever the input quoted."""
    out, err = result.stdout, result.stderr
    assert "Traceback" not in out + err, err[:3000]
    assert result.exit_code in codes, (result.exit_code, err[:3000])
    assert all(len(line) <= LINE for line in err.splitlines()), f"a line of {max(map(len, err.splitlines()))}"
    if result.exit_code == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("Error: ")]
        assert len(errors) == 1, err
        assert all(line.startswith(("Error: ", "Warning: ", "dbt-assets: ")) for line in lines), err
        assert names is None or names in errors[0], (names, errors[0])


# --- generated values ------------------------------------------------------------------

SELECTOR_WORDS = [
    "items", "events", "+items", "items+", "@items", "1+items+2", "*", "tag:x", "path:models",
    "path:.", "path:/", "fqn:*", "source:app.*", "config.materialized:view", "state:modified",
    "result:error", "status:error", "sla:breached", "owner:", "downstream_of:items",
    "upstream_of:", "group:", "access:private", "version:latest", "resource_type:model",
    "test_type:data", "test_name:unique", "exposure:*", "semantic_model:x", "unit_test:*",
    "package:mini", "file:items.sql", "wildcard:*", "+", "@", ",", "items,events", "a b",
    "--", "-", "", " ", "\x00", "é", "名前", "1e400", "nan", "-1", "99999999999999999999",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(SELECTOR_WORDS),
)
JSONISH = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
WORDS = st.one_of(st.sampled_from(SELECTOR_WORDS), st.text(max_size=16), SCALARS.map(str))


def _yaml_text(value: Any) -> str:
    try:
        return yaml.safe_dump(value, allow_unicode=True)
    except (yaml.YAMLError, ValueError):
        return str(value)


def _bad_text(shaped: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """A file's bytes: a structure of the right shape with odd values, any YAML, any text,
    or bytes that are not UTF-8."""
    return st.one_of(
        shaped.map(lambda v: _yaml_text(v).encode()),
        JSONISH.map(lambda v: _yaml_text(v).encode()),
        st.text(max_size=200).map(str.encode),
        st.binary(max_size=120),
    )


# --- the CLI's arguments and options ------------------------------------------------------

# Commands that start nothing (run/build/... only with --dry-run); options that reach the
# network or start a program are left out, and so are the dbt options that make dbt-assets
# re-parse (their own channel below gives them a dbt that fails fast).
COMMANDS = [
    ("ls",), ("list",), ("plan",), ("show",), ("graph",), ("export",), ("shard",), ("status",),
    ("why",), ("sla", "check"), ("history", "import"), ("history",), ("history", "show"),
    ("history", "recover"), ("openlineage",), ("run", "--dry-run"), ("build", "--dry-run"),
    ("retry", "--dry-run"),
]  # fmt: skip
NEVER = {
    "--dbt-executable", "--webhook", "--openlineage", "--notify-command", "--to", "--help",
    "-h", "--version", "--debug", "--no-dry-run", "-t", "--target", "--vars", "--profiles-dir",
    "--sources",
}  # fmt: skip


def _options(path: tuple[str, ...]) -> list[tuple[str, bool]]:
    """(option, is_flag) of a command, from click itself."""
    command: click.Command = main
    ctx = click.Context(main)
    for name in path:
        if name.startswith("-") or not isinstance(command, click.Group):
            break
        found = command.get_command(ctx, name)
        assert found is not None, name
        command = found
    return [
        (opt, bool(getattr(p, "is_flag", False)))
        for p in command.params
        if isinstance(p, click.Option)
        for opt in p.opts
        if opt not in NEVER
    ]


@st.composite
def argvs(draw: st.DrawFn) -> list[str]:
    path = draw(st.sampled_from(COMMANDS))
    options = _options(path)
    argv = list(path)
    for _ in range(draw(st.integers(0, 4))):
        if options and draw(st.booleans()):
            opt, flag = draw(st.sampled_from(options))
            argv += [opt] if flag else [opt, draw(WORDS)]
        else:
            argv.append(draw(WORDS))
    if draw(st.booleans()):
        argv += ["--manifest", "target/manifest.json"]
    return argv


@_settings("argv")
@given(argv=argvs())
def test_cli_arguments_and_options(place: Path, argv: list[str]) -> None:
    assert_contract(cli(*argv))


# --- the manifest -------------------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any], depth: int = 4) -> bytes:
    """``base`` with one value, at most ``depth`` levels down, replaced by an odd one."""
    raw = json.loads(json.dumps(base))
    at: Any = raw
    for _ in range(draw(st.integers(1, depth))):
        if isinstance(at, dict) and at:
            key = draw(st.sampled_from(sorted(at)))
        elif isinstance(at, list) and at:
            key = draw(st.integers(0, len(at) - 1))
        else:
            break
        if draw(st.integers(0, 2)) == 0 or not isinstance(at[key], (dict, list)):
            at[key] = draw(JSONISH)
            break
        at = at[key]
    return json.dumps(raw, allow_nan=True).encode()


@st.composite
def manifests(draw: st.DrawFn) -> bytes:
    """The example manifest with one value replaced somewhere, cut short, or not JSON."""
    kind = draw(st.sampled_from(["value", "value", "value", "cut", "bytes"]))
    if kind == "cut":
        text = json.dumps(MANIFEST)
        return text[: draw(st.integers(0, len(text) - 1))].encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    return draw(mutated(MANIFEST, depth=5))


@_settings("manifest")
@given(data=manifests(), command=st.sampled_from([("ls",), ("show", "items"), ("plan", "-s", "items+")]))
def test_manifests(place: Path, data: bytes, command: tuple[str, ...]) -> None:
    path = place / "fuzzed-manifest.json"
    path.write_bytes(data)
    _keep_fresh(path)  # long written: a broken file is an error at once, not waited out
    assert_contract(cli(*command, "--manifest", str(path)))


# --- selectors.yml, dbt_assets.yml, --select-ids ----------------------------------------------

SELECTOR_SHAPES = st.builds(
    lambda name, definition, extra: {"selectors": [{"name": name, "definition": definition, **extra}]},
    st.one_of(st.just("fz"), SCALARS),
    st.one_of(
        JSONISH,
        st.builds(
            lambda method, value, more: {"method": method, "value": value, **more},
            st.one_of(st.sampled_from(["fqn", "tag", "path", "state", "owner", "status"]), SCALARS),
            SCALARS,
            st.dictionaries(
                st.sampled_from(
                    [
                        "parents",
                        "children",
                        "children_depth",
                        "parents_depth",
                        "indirect_selection",
                        "childrens_parents",
                        "exclude",
                    ]
                ),
                JSONISH,
                max_size=3,
            ),
        ),
        st.builds(lambda op, items: {op: items}, st.sampled_from(["union", "intersection"]), JSONISH),
    ),
    st.dictionaries(st.sampled_from(["default", "description"]), SCALARS, max_size=1),
)


@_settings("selectors")
@given(data=_bad_text(SELECTOR_SHAPES), name=st.one_of(st.just("fz"), WORDS))
def test_selectors_yml(place: Path, data: bytes, name: str) -> None:
    path = place / "selectors.yml"
    path.write_bytes(data)
    _keep_fresh(path)
    try:
        assert_contract(cli("ls", "--project-dir", str(place), "--selector", name))
    finally:
        path.unlink()


SLA_SHAPES = st.builds(
    lambda select, sla: {"slas": [{"select": select, "sla": sla}]},
    st.one_of(st.sampled_from(SELECTOR_WORDS), SCALARS),
    st.one_of(
        JSONISH,
        st.dictionaries(
            st.sampled_from(
                [
                    "freshness",
                    "deadline",
                    "max_runtime",
                    "max_failures",
                    "warn_after",
                    "timezone",
                    "schedule",
                    "runtime",
                    "severity",
                ]
            ),
            st.one_of(
                SCALARS,
                st.sampled_from(
                    ["1h", "07:00", "0 7 * * *", "30 2 31 2 *", "25h", "1e400s", "-1m", "Europe/Nowhere"]
                ),
            ),
            max_size=3,
        ),
    ),
)


@st.composite
def alias_bombs(draw: st.DrawFn) -> str:
    """A few lines of YAML whose aliases expand to millions of values (lists of lists, or
    mappings merged into mappings), or to themselves; used where an SLA value goes."""
    width, depth = draw(st.integers(2, 10)), draw(st.integers(3, 9))
    merge = draw(st.booleans())
    lines = [
        "a0: &a0 "
        + (
            "{" + ", ".join(f"k{i}: lol" for i in range(width)) + "}"
            if merge
            else "[" + ", ".join(["lol"] * width) + "]"
        )
    ]
    for level in range(1, depth):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} " + (f"{{<<: [{refs}], x{level}: 1}}" if merge else f"[{refs}]"))
    key = draw(st.sampled_from(["freshness", "deadline", "max_failures", "timezone", "select", "severity"]))
    if draw(st.integers(0, 4)) == 0:
        return "slas:\n  - &me {select: orders, freshness: [*me]}\n"
    return "\n".join(lines) + f"\nslas:\n  - select: orders\n    {key}: *a{depth - 1}\n"


SLA_KEYS = ["freshness", "deadline", "max_runtime", "max_failures", "timezone", "severity", "select"]
HOSTILE_SLA_FILES = st.one_of(
    alias_bombs(),
    st.builds(  # a long value, quoted back in the message
        lambda key, char, size: f"slas:\n  - select: orders\n    {key}: '{char * size}'\n",
        st.sampled_from(SLA_KEYS),
        st.sampled_from(["x", "9", "é", "\\n", " "]),
        st.integers(1_500, 40_000),
    ),
    st.builds(  # what YAML reads but Python cannot hold: an integer of 5,000 digits, 31 February
        lambda key, value: f"slas:\n  - select: orders\n    {key}: {value}\n",
        st.sampled_from(SLA_KEYS),
        st.sampled_from(["9" * 5000, "2026-02-31", "2026-13-01T00:00:00", "-" + "1" * 4400]),
    ),
    st.builds(  # a deadline that never falls due
        lambda when, timezone: (
            f"slas:\n  - select: items\n    freshness: 1h\n  - select: orders\n"
            f"    deadline: '0 7 {when[0]} {when[1]} *'\n    timezone: {timezone}\n"
        ),
        st.sampled_from(
            [
                ("30", "2"),
                ("31", "feb"),
                ("30,31", "2"),
                ("31", "4,6,9,11"),
                ("31-31", "apr-apr"),
                ("31", "2,4"),
            ]
        ),
        st.sampled_from(["UTC", "Europe/Berlin"]),
    ),
    st.builds(  # a selection that cannot be read, or reads the history: named with its rule
        lambda word: (
            "slas:\n  - select: items\n    freshness: 1h\n"
            f"  - select: {json.dumps(word)}\n    freshness: 2h\n"
        ),
        st.sampled_from(["foo:bar", "tag:", "+", "a --target=ci", "status:error", "@", "1+", "sla:breached"]),
    ),
    st.builds(  # a value of the wrong type, read as another (max_failures: true was 1)
        lambda key, value: f"slas:\n  - select: orders\n    {key}: {value}\n",
        st.sampled_from(SLA_KEYS),
        st.sampled_from(["true", "false", "1.0", "'3'", "[1]", "{a: 1}", "null", "0x10", "1e3", ".inf"]),
    ),
)


@_settings("sla_config")
@given(
    data=st.one_of(_bad_text(SLA_SHAPES), HOSTILE_SLA_FILES.map(str.encode)),
    command=st.sampled_from([("sla", "check"), ("show", "items"), ("status",)]),
)
def test_dbt_assets_yml(place: Path, data: bytes, command: tuple[str, ...]) -> None:
    """Any dbt_assets.yml: bounded work and a bounded message naming the file when refused."""
    path = place / "dbt_assets.yml"
    path.write_bytes(data)
    _keep_fresh(path)
    try:
        result = cli(*command, "--project-dir", str(place))
        assert_contract(result, names="dbt_assets.yml")
        reads_slas = command[0] == "sla"  # status lists results, never reads dbt_assets.yml
        if (b"max_failures: true" in data or b"max_failures: 1.0" in data) and reads_slas:
            assert result.exit_code == 2, "a boolean or a float is not a number of failures"
        if b"deadline: '0 7 3" in data and reads_slas:
            assert result.exit_code == 2 and "slas.1.deadline" in result.stderr, result.stderr
        if b"    freshness: 2h" in data and reads_slas:
            assert result.exit_code == 2 and "slas.1.select" in result.stderr, result.stderr
    finally:
        path.unlink()


SMALL_LIMIT = 4096
"""--select-ids' size limit while the generated large files are read (the real one is 64 MiB)."""


@_settings("select_ids")
@given(
    data=st.one_of(
        st.lists(st.one_of(st.sampled_from(UIDS), WORDS), max_size=6).map(lambda ls: "\n".join(ls).encode()),
        st.binary(max_size=80),
        st.builds(  # more than the limit: NUL bytes, one endless word, a unique_id repeated
            lambda unit, size: (unit * (size // len(unit) + 1))[:size],
            st.sampled_from([b"\x00", b"x", f"{UIDS[0]}\n".encode(), b" \n"]),
            st.integers(SMALL_LIMIT + 1, 20 * SMALL_LIMIT),
        ),
        st.just(b"/dev/zero"),  # never ends: read up to the real limit, then refused
    ),
    command=st.sampled_from([("plan", "--manifest", "target/manifest.json"), ("run", "--dry-run")]),
)
def test_select_ids_files(
    place: Path, data: bytes, command: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = place / "ids.txt"
    path.write_bytes(data)
    if data == b"/dev/zero":
        path = Path("/dev/zero")
    elif len(data) > SMALL_LIMIT:
        monkeypatch.setattr("dbt_assets.cli.options.SELECT_IDS_BYTES", SMALL_LIMIT, raising=False)
    result = cli(*command, "--select-ids", str(path))  # run: the project here, its manifest fresh
    monkeypatch.undo()
    assert_contract(result)
    if data == b"/dev/zero" or len(data) > SMALL_LIMIT:
        assert result.exit_code == 2 and "larger than" in result.stderr, result.stderr[:300]


# --- imported artifacts -------------------------------------------------------------------


def _run_results(invocation: str) -> dict[str, Any]:
    timing = [
        {"name": "execute", "started_at": "2026-11-20T07:00:00Z", "completed_at": "2026-11-20T07:00:01Z"}
    ]
    result = {"execution_time": 1.5, "message": None, "thread_id": "Thread-1", "timing": timing}
    return {
        "metadata": {
            "invocation_id": invocation,
            "dbt_version": "1.11.16",
            "generated_at": "2026-11-20T07:00:10Z",
        },
        "args": {"which": "run"},
        "elapsed_time": 1.0,
        "results": [
            {"unique_id": uid, "status": status, **result, "adapter_response": {}, "failures": None}
            for uid, status in [("model.mini.items", "success"), ("model.mini.events", "error")]
        ],
    }


def _history_rows(place: Path) -> list[tuple[str, str]]:
    with History.open(place / ".dbt-assets" / "history.db", create=False) as history:
        return [(r.unique_id, r.status) for run in history.runs(None) for r in history.results(run.run_id)]


@_settings("run_results")
@given(data=st.one_of(mutated(_run_results("fz")), st.binary(max_size=80)), seq=st.integers(0, 10**9))
def test_imported_run_results(place: Path, data: bytes, seq: int) -> None:
    """An import either records exactly what the file says or nothing at all."""
    data = data.replace(b'"fz"', json.dumps(f"fz-{seq}").encode())  # a new invocation each time
    path = place / "run_results.json"
    path.write_bytes(data)
    _keep_fresh(path)
    before = _history_rows(place)
    result = cli("history", "--project-dir", str(place), "import", str(path))
    assert_contract(result)
    added = _history_rows(place)[len(before) :] if result.exit_code == 0 else []
    if result.exit_code != 0:
        assert _history_rows(place) == before, "a refused import wrote to the history"
        return
    said = {(r.get("unique_id"), str(r.get("status")).lower()) for r in json.loads(data)["results"]}
    assert set(added) <= said


SOURCES = {
    "metadata": {"invocation_id": "fz", "dbt_version": "1.11.16", "generated_at": "2026-11-20T07:00:10Z"},
    "elapsed_time": 1.0,
    "results": [
        {"unique_id": "source.mini.app.events", "status": "pass", "max_loaded_at": "2026-11-20T06:00:00Z",
         "snapshotted_at": "2026-11-20T07:00:00Z", "max_loaded_at_time_ago_in_s": 3600.0,
         "execution_time": 0.1, "timing": [], "thread_id": "Thread-1", "adapter_response": {},
         "criteria": {"warn_after": {"count": 1, "period": "hour"}}}
    ],
}  # fmt: skip


@_settings("sources")
@given(data=mutated(SOURCES), seq=st.integers(0, 10**9))
def test_imported_sources_json(place: Path, data: bytes, seq: int) -> None:
    data = data.replace(b'"fz"', json.dumps(f"fs-{seq}").encode())
    path = place / "sources.json"
    path.write_bytes(data)
    _keep_fresh(path)
    before = _history_rows(place)
    result = cli("history", "--project-dir", str(place), "import", str(path))
    assert_contract(result)
    if result.exit_code != 0:
        assert _history_rows(place) == before, "a refused import wrote to the history"


# --- the dbt options of a run, and dbt's output lines ----------------------------------------


@_settings("dbt_options")
@given(
    option=st.sampled_from(["--profiles-dir", "--target", "--vars", "--threads", "--state", "--defer-state"]),
    value=WORDS,
)
def test_dbt_options_of_a_run(place: Path, option: str, value: str) -> None:
    """Checked before dbt runs, or refused by dbt's parse (here a dbt that fails at once,
    as dbt does on an unknown target or bad vars): one line either way."""
    fake = place / "failing-dbt"
    if not fake.exists():
        fake.write_text("#!/bin/sh\necho 'Runtime Error: the profile has no such target' >&2\nexit 2\n")
        fake.chmod(0o755)
    argv = ("run", "--dry-run", "--project-dir", str(place), "--dbt-executable", str(fake), "-s", "items")
    assert_contract(cli(*argv, option, value))


def _node_line(name: str, uid: Any, status: Any, extra: Any) -> str:
    node = {"unique_id": uid, "resource_type": "model", "node_started_at": "2026-11-20T07:00:00",
            "node_finished_at": extra if isinstance(extra, str) else "2026-11-20T07:00:01"}  # fmt: skip
    data: dict[str, Any] = {"node_info": node}
    if name == "NodeFinished":
        data["run_result"] = {"status": status, "execution_time": extra, "message": extra}
    return json.dumps({"info": {"name": name, "level": "debug", "ts": "2026-11-20T07:00:00Z"}, "data": data})


DBT_LINES = st.lists(
    st.one_of(
        st.builds(
            _node_line,
            st.sampled_from(["NodeStart", "NodeFinished"]),
            st.one_of(st.sampled_from(UIDS), SCALARS),
            st.one_of(st.sampled_from(["success", "error", "skipped", "fail", "pass"]), SCALARS),
            SCALARS,
        ),
        JSONISH.map(lambda v: json.dumps(v, allow_nan=True)),
        st.text(max_size=60),
        st.builds(
            lambda name, level, msg: json.dumps({"info": {"name": name, "level": level, "msg": msg}}),
            st.sampled_from(["MainEncounteredError", "MainStackTrace", "MainReportVersion", "X"]),
            st.one_of(st.sampled_from(["error", "info", "warn"]), SCALARS),
            st.one_of(st.text(max_size=40), SCALARS),
        ),
    ),
    max_size=8,
)


def _graph_and_plan() -> tuple[Any, Any]:
    from dbt_assets.manifest.decode import decode_manifest
    from dbt_assets.manifest.graph import AssetGraph
    from dbt_assets.plan.compile import plan

    graph = AssetGraph(decode_manifest(json.dumps(MANIFEST).encode()))
    return graph, plan(graph, "run", ["items", "events"])


@_settings("dbt_lines")
@given(lines=DBT_LINES)
def test_dbt_output_lines_become_events(lines: list[str]) -> None:
    """Whatever dbt prints becomes events (no exception), and every display shows them."""
    from dbt_assets.cli.progress import Display, JsonDisplay, LiveDisplay

    graph, plan = _graph_and_plan()
    reader = LogReader()
    events = [event for line in lines for event in reader.read(line)]
    for kind in (Display, LiveDisplay, JsonDisplay):
        display = kind(graph, plan, io.StringIO())
        for event in events:
            display.handle(event)
        display.close()


@_settings("dbt_run")
@given(lines=DBT_LINES, code=st.sampled_from([0, 1, 2, 3]))
def test_dbt_output_lines_of_a_run(place: Path, lines: list[str], code: int) -> None:
    """A run over a dbt that prints these lines and exits with ``code``: it ends with 0, 1
    or 2 and records only what the lines said (or cancelled/not reached for the rest)."""
    from dbt_assets.run.project import Project
    from dbt_assets.run.runner import Run

    said: dict[Any, set[str]] = {}
    started: set[str] = set()
    for event in (e for line in lines for e in LogReader().read(line)):
        if type(event).__name__ == "AssetFinished":
            said.setdefault(event.unique_id, set()).add(event.status)  # type: ignore[union-attr]
        elif type(event).__name__ == "AssetStarted":
            started.add(event.unique_id)  # type: ignore[union-attr]
    (place / "fake-lines.txt").write_text("\n".join(lines) + "\n")
    fake = place / "fake-dbt"
    fake.write_text(f'#!/bin/sh\ncat "{place / "fake-lines.txt"}"\nexit {code}\n')
    fake.chmod(0o755)
    graph, plan = _graph_and_plan()
    project = Project(place, dbt_executable=str(fake))
    with History.open(place / ".dbt-assets" / "runs.db") as history:
        run = Run(project, graph, plan, history=history)
        for _event in run:
            pass
        assert run.result is not None and run.result.exit_code in (0, 1, 2)
        rows = {r.unique_id: r.status for r in history.results(run.result.run_id or 0)}
    for uid, status in rows.items():
        if status in ("not_reached", "cancelled"):
            assert uid in plan.unique_ids
        elif not (status == "error" and uid in started):  # error: still running when dbt ended
            assert status in said.get(uid, ()), (uid, status, said)
