"""Options where users put them (issue 26): every option of a command group is accepted before
and after its subcommands, and each common option works in every position wherever it exists.

The command tree is walked from ``dbt_assets.cli.main.main``, so a command or group added later
is covered without editing this file. Each common option is given a probe the command can only
show it saw by using it: a project folder, manifest or profiles folder that does not exist, a
history file that is not one, a target the manifest was not parsed for, an output format that
does not exist; the error (or dbt-assets' notice) must name it, in every position. No probe lets
a command start dbt: the dbt executable named in the environment does not exist. Unit tier.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pytest
from click.core import ParameterSource
from click.testing import CliRunner, Result

from dbt_assets.cli.common import Group, GroupOnlyOption, group_values, parse_command_line
from dbt_assets.cli.main import main
from dbt_assets.cli.options import spread_multi_values
from dbt_assets.history.store import History
from dbt_assets.run.events import AssetFinished

pytestmark = pytest.mark.unit

MANIFESTS = Path(__file__).parent / "manifests"
EXAMPLE = MANIFESTS / "manifest_v12_dbt1.11.16.json.gz"
ITEMS, RAW = "model.mini.items", "seed.mini.raw_items"
COMMON = ("--project-dir", "--profiles-dir", "--history", "--target", "--manifest", "--output", "--debug")
"""The options every walk checks where they exist (--debug: the root group's own)."""


# --- the command tree ------------------------------------------------------------------------


@dataclass(frozen=True)
class Place:
    """A command of the tree: its names from the root, it, and the groups above it (root first)."""

    path: tuple[str, ...]
    command: click.Command
    groups: tuple[click.Command, ...]

    @property
    def name(self) -> str:
        return " ".join(("dbt-assets", *self.path))

    def runnable(self) -> bool:
        """A group runs alone only with invoke_without_command (``history`` does, ``sla`` not)."""
        return not isinstance(self.command, click.Group) or self.command.invoke_without_command


def walk(
    command: click.Command = main, path: tuple[str, ...] = (), groups: tuple[click.Command, ...] = ()
) -> Iterator[Place]:
    yield Place(path, command, groups)
    if isinstance(command, click.Group):
        ctx = click.Context(command)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            assert sub is not None
            yield from walk(sub, (*path, name), (*groups, command))


def declared(command: click.Command) -> list[click.Option]:
    """The options a command declares itself (not those attached from its groups)."""
    from dbt_assets.cli.common import _FromGroup

    return [
        p
        for p in command.params
        if isinstance(p, click.Option) and not p.is_eager and not isinstance(p.callback, _FromGroup)
    ]


def options_at(place: Place) -> dict[str, tuple[click.Option, int]]:
    """Each option the command takes, by its long flag: the option and the index in
    ``place.groups + (command,)`` of whoever declares it (the nearest)."""
    found: dict[str, tuple[click.Option, int]] = {}
    owners = (*place.groups, place.command)
    for index, owner in enumerate(owners):
        for option in declared(owner):
            if index < len(place.groups) and isinstance(option, GroupOnlyOption):
                continue  # a group's option for the group run alone
            found[max(option.opts, key=len)] = (option, index)
    return found


def arguments(command: click.Command) -> list[str]:
    """A value for each of the command's arguments (a run id, an asset, K ...; not the
    arguments passed to dbt unchanged), so that options go before and after them."""
    values: list[str] = []
    for param in command.params:
        if isinstance(param, click.Argument) and param.type is not click.UNPROCESSED:
            value = "1" if isinstance(param.type, click.types.IntParamType) else "items"
            values += [value] * max(param.nargs, 1)
    return values


def positions(place: Place, owner: int, given: Callable[[int], list[str]]) -> list[list[str]]:
    """The command lines with the option (``given(k)``: its k-th spelling) right after the name
    of its owner and of each command below it, and at the end; each once."""
    path, args = list(place.path), arguments(place.command)
    lines: list[list[str]] = []
    for depth in range(owner, len(path) + 1):  # depth 0: before the first name (the root's own)
        lines.append([*path[:depth], *given(len(lines)), *path[depth:], *args])
    lines.append([*path, *args, *given(len(lines))])
    unique: list[list[str]] = []
    for line in lines:
        if line not in unique:
            unique.append(line)
    return unique


def spelled(option: click.Option, value: str | None) -> Callable[[int], list[str]]:
    """The option's k-th spelling (long, short, long ...) with its value."""
    spellings = sorted(option.opts, key=len, reverse=True)
    return lambda k: [spellings[k % len(spellings)], *([] if value is None else [value])]


# --- a world for probes: the example project, parsed and stale, with a history -----------------


@dataclass
class World:
    root: Path
    fresh: Path  # manifest written after the sources, never parsed by dbt-assets for a target
    stale: Path  # no manifest: a graph needs `dbt parse`, which first looks for profiles.yml
    env: dict[str, str | None] = field(default_factory=dict)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("positions")
    fresh = Path(shutil.copytree(MANIFESTS / "project", root / "fresh"))
    (fresh / "target").mkdir()
    (fresh / "target" / "manifest.json").write_bytes(gzip.decompress(EXAMPLE.read_bytes()))
    with History.open(fresh / ".dbt-assets" / "history.db") as history:  # run 1 failed: retry has work
        run_id = history.start_run(command="build", argv=["build"], unique_ids=[RAW, ITEMS], started_at=1.0)
        history.record_result(run_id, AssetFinished(RAW, "success", 1.0, 2.0, 1.0))
        history.record_result(run_id, AssetFinished(ITEMS, "error", 2.0, 3.0, 1.0, message="boom"))
        history.finish_run(run_id, status="failed", exit_code=1, finished_at=4.0)
    stale = Path(shutil.copytree(fresh, root / "stale", ignore=shutil.ignore_patterns("target")))
    state = Path(shutil.copytree(fresh / "target", root / "state"))  # production's artifacts, for diff
    (root / "not-a-history.db").write_bytes(b"not a database" * 100)
    (root / "cwd").mkdir()
    env: dict[str, str | None] = {
        name: None
        for name in (
            "DBT_PROJECT_DIR",
            "DBT_PROFILES_DIR",
            "DBT_TARGET",
            "DBT_ASSETS_HISTORY",
            "DBT_ASSETS_DEBUG",
            "DBT_ASSETS_OPENLINEAGE",
        )
    }
    env["DBT_ASSETS_DBT_EXECUTABLE"] = str(root / "no-such-dbt")  # dbt never starts
    env["DBT_STATE"] = str(state)  # what a command needs besides the probed option is there
    return World(root, fresh, stale, env)


@dataclass(frozen=True)
class Probe:
    """A value for an option, the project the environment names, and what shows it was used."""

    value: str | None
    project: Path | None
    seen: Callable[[str], bool]


def probes(world: World) -> dict[str, Probe]:
    absent = str(world.root / "absent-project-dir")
    manifest = str(world.root / "absent-manifest.json")
    history = str(world.root / "not-a-history.db")
    profiles = str(world.root / "absent-profiles-dir")
    return {
        "--project-dir": Probe(absent, None, lambda out: absent in out),
        "--manifest": Probe(manifest, world.fresh, lambda out: manifest in out),
        "--history": Probe(history, world.fresh, lambda out: f"run history {history} is unreadable" in out),
        "--profiles-dir": Probe(profiles, world.stale, lambda out: f"looked in {profiles}" in out),
        "--target": Probe("probe-target", world.fresh, lambda out: "for target 'probe-target'" in out),
        "--output": Probe("probe-format", world.fresh, lambda out: "'probe-format' is not one of" in out),
        "--debug": Probe(None, world.root / "absent-project-dir", lambda out: "Traceback" in out),
    }


def run_cli(world: World, args: list[str], project: Path | None) -> Result:
    env = {**world.env, "DBT_PROJECT_DIR": None if project is None else str(project)}
    return CliRunner().invoke(
        main, spread_multi_values(args), env=env, prog_name="dbt-assets", catch_exceptions=False
    )


# --- the walks -------------------------------------------------------------------------------


def test_the_walk_finds_the_groups_and_their_subcommands() -> None:
    """The walk reaches what the issue names (and so anything added the same way)."""
    names = {place.name for place in walk()}
    assert {"dbt-assets history show", "dbt-assets history import", "dbt-assets sla check"} <= names
    assert {"dbt-assets ls", "dbt-assets run", "dbt-assets retry"} <= names
    at = options_at(next(p for p in walk() if p.path == ("history", "show")))
    assert {"--project-dir", "--history", "--output", "--debug"} <= set(at) and "--limit" not in at


def test_each_common_option_works_in_every_position_where_it_exists(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``history show 1 --project-dir X`` was refused (only ``history --project-dir X show 1``
    worked): for every command, every common option it takes is given a probe right after the
    name of the command or group that declares it, after each name below, and at the end; the
    command must show it used that value, the same way, in each."""
    monkeypatch.chdir(world.root / "cwd")
    table = probes(world)
    checked: dict[str, int] = dict.fromkeys(COMMON, 0)
    failures: list[str] = []
    for place in walk():
        if not place.runnable() or not place.path:
            continue
        at = options_at(place)
        for flag in COMMON:
            if flag not in at:
                continue
            option, owner = at[flag]
            probe = table[flag]
            codes = set()
            for line in positions(place, owner, spelled(option, probe.value)):
                caplog.clear()
                result = run_cli(world, line, probe.project)
                codes.add(result.exit_code)
                shown = result.stderr + caplog.text
                if not probe.seen(shown):
                    failures.append(
                        f"dbt-assets {' '.join(line)}: no sign of {flag} (exit {result.exit_code}; "
                        f"did it stop for something else first?): {shown[-300:]}"
                    )
                elif result.exit_code != 2:
                    failures.append(f"dbt-assets {' '.join(line)}: exit {result.exit_code}, expected 2")
                checked[flag] += 1
            assert len(codes) == 1, f"{place.name} {flag}: the exit code depends on the position: {codes}"
    assert not failures, "\n".join(failures)
    assert all(checked.values()), f"a common option was never checked: {checked}"


def _sample(option: click.Option) -> tuple[list[str], Any]:
    """Arguments giving the option a value other than its default, and that value as parsed."""
    if option.is_flag:
        return [], True if option.is_bool_flag else option.flag_value
    if isinstance(option.type, click.Choice):
        choice = next(c for c in reversed(option.type.choices) if c != option.default)
        return [str(choice)], choice
    if isinstance(option.type, click.types.IntParamType):
        return ["7"], 7
    if isinstance(option.type, click.types.FloatParamType):
        return ["7.5"], 7.5
    return ["probe-value"], "probe-value"


def test_every_group_option_reaches_its_group_from_every_position() -> None:
    """Every option of every group (not only the common ones), given before the subcommand,
    after it, or at the end at any depth, is what the group's context holds when callbacks run
    (what the group's callback and :func:`group_values` see); an option only for the group run
    alone is refused in every position."""
    for place in walk():
        if not place.runnable():
            continue
        for index, group in enumerate(place.groups):
            for option in declared(group):
                given, expected = _sample(option)
                for line in positions(place, index, spelled(option, None)):
                    at = max(i for i, arg in enumerate(line) if arg in option.opts)
                    line = [*line[: at + 1], *given, *line[at + 1 :]]
                    where = f"dbt-assets {' '.join(line)}"
                    below = (*place.groups[index + 1 :], place.command)
                    if any(option.opts[0] in o.opts for command in below for o in declared(command)):
                        continue  # a command below declares this flag itself: there, it is its own
                    if isinstance(option, GroupOnlyOption):
                        with pytest.raises(click.UsageError, match="run alone, not with a subcommand"):
                            _parse(line)
                        continue
                    contexts = _parse(line)
                    ctx = contexts[index]
                    assert ctx.command is group, where
                    assert option.name is not None
                    assert ctx.params[option.name] == expected, (
                        f"{where}: {group.name} has {ctx.params[option.name]!r}, not {expected!r} "
                        f"(does a command below it declare {option.opts} again?)"
                    )
                    assert ctx.get_parameter_source(option.name) is ParameterSource.COMMANDLINE, where


def _parse(line: list[str]) -> list[click.Context]:
    root = main.make_context("dbt-assets", spread_multi_values(line))
    return parse_command_line(root)


def test_each_groups_help_lists_its_options_and_each_subcommands_help_lists_them_too() -> None:
    """``--help`` still teaches: a group's lists every option it has; a subcommand's lists the
    options of its groups that apply to it (not those for the group run alone)."""
    runner = CliRunner()
    for place in walk():
        if not place.path:
            continue
        shown = runner.invoke(main, [*place.path, "--help"], catch_exceptions=False)
        assert shown.exit_code == 0, place.name
        for option in declared(place.command):
            if not option.hidden:
                assert max(option.opts, key=len) in shown.stdout, f"{place.name} --help lacks {option.opts}"
        for group in place.groups:
            for option in declared(group):
                flag = max(option.opts, key=len)
                if isinstance(option, GroupOnlyOption) or option.hidden:
                    listed = [line for line in shown.stdout.splitlines() if line.lstrip().startswith(flag)]
                    assert not listed, f"{place.name} --help lists {flag}, for {group.name} run alone"
                else:
                    assert flag in shown.stdout, f"{place.name} --help lacks {group.name}'s {flag}"


# --- the real history commands: the value reaches them from either position -----------------


def test_history_subcommands_take_the_groups_options_after_them(world: World) -> None:
    project = str(world.fresh)
    before = run_cli(world, ["history", "--project-dir", project, "-o", "json", "show", "1"], None)
    after = run_cli(world, ["history", "show", "1", "--project-dir", project, "-o", "json"], None)
    mixed = run_cli(world, ["history", "--project-dir", project, "show", "1", "--output", "json"], None)
    assert before.exit_code == after.exit_code == mixed.exit_code == 0, after.stderr
    assert before.stdout == after.stdout == mixed.stdout
    assert '"run_id": 1' in after.stdout and '"status": "failed"' in after.stdout
    text = run_cli(world, ["history", "show", "1", "--project-dir", project], None)
    assert text.stdout.startswith("run 1: dbt build, failed"), "text by default"
    wide = run_cli(world, ["history", "-o", "wide", "show", "1", "--project-dir", project], None)
    rows = [line for line in wide.stdout.splitlines() if line.startswith(f"{ITEMS} ")]
    assert rows and not [line for line in text.stdout.splitlines() if line.startswith(f"{ITEMS} ")], (
        "-o wide before the subcommand reaches show: full unique_ids in its table"
    )
    listing = run_cli(world, ["history", "-o", "json", "--project-dir", project], None)
    assert listing.exit_code == 0 and json.loads(listing.stdout)["run_id"] == 1
    recovered = run_cli(world, ["history", "recover", "--project-dir", project, "-o", "json"], None)
    assert recovered.exit_code == 0 and recovered.stdout == "", "nothing to recover: no JSON line"


def test_an_option_given_twice_with_different_values_is_refused(world: World) -> None:
    a, b = str(world.fresh), str(world.stale)
    twice = run_cli(world, ["history", "--project-dir", a, "show", "1", "--project-dir", b], None)
    assert twice.exit_code == 2
    assert twice.stderr.startswith(
        f"Error: --project-dir is given twice with different values ('{a}' and '{b}')"
    )
    assert len(twice.stderr.splitlines()) == 1
    same = run_cli(
        world, ["history", "--project-dir", a, "show", "1", "--project-dir", a, "-o", "json"], None
    )
    assert same.exit_code == 0 and '"run_id": 1' in same.stdout, "the same value twice is the value"
    limit = run_cli(world, ["history", "show", "1", "--limit", "3"], None)
    limit_before = run_cli(world, ["history", "--limit", "3", "show", "1"], None)
    assert limit.exit_code == limit_before.exit_code == 2
    assert "--limit is for `dbt-assets history` run alone" in limit.stderr
    assert limit.stderr.split(" (hint")[0] == limit_before.stderr.split(" (hint")[0]


def test_history_import_does_not_create_a_history_in_a_folder_that_does_not_exist(world: World) -> None:
    absent = world.root / "typo"
    result = run_cli(world, ["history", "import", "run_results.json", "--project-dir", str(absent)], None)
    assert result.exit_code == 2 and f"no folder {absent}" in result.stderr
    assert not absent.exists()


# --- the mechanism on a tree of its own: nested groups, flags, repeated options ------------------


def _tree() -> click.Group:
    @click.group(cls=Group)
    @click.option("--loud", is_flag=True)
    @click.pass_context
    def root(ctx: click.Context, /, loud: bool) -> None:
        ctx.obj = {"root saw": loud}

    @root.group("outer", invoke_without_command=True)
    @click.option("--where", envvar="POSITIONS_WHERE", default="here")
    @click.option("--tag", multiple=True)
    @click.option("--count", cls=GroupOnlyOption, type=int, default=1)
    @click.pass_context
    def outer(ctx: click.Context, /, where: str, tag: tuple[str, ...], count: int) -> None:
        ctx.obj["outer saw"] = where

    @outer.group("inner")
    @click.option("--level", type=click.IntRange(0, 9), default=0)
    def inner(level: int) -> None:
        pass

    @inner.command("leaf")
    @click.argument("name")
    @click.pass_obj
    def leaf(seen: dict[str, Any], name: str) -> None:
        values = group_values()
        click.echo(
            f"{name} where={values['where']} tag={','.join(values['tag'])} level={values['level']} "
            f"loud={values['loud']} outer_saw={seen['outer saw']} root_saw={seen['root saw']}"
        )

    return root


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["outer", "inner", "leaf", "x"],
            "x where=here tag= level=0 loud=False outer_saw=here root_saw=False",
        ),
        (
            ["--loud", "outer", "--where", "a", "inner", "--level", "3", "leaf", "x"],
            "x where=a tag= level=3 loud=True outer_saw=a root_saw=True",
        ),
        (
            ["outer", "inner", "leaf", "x", "--loud", "--where", "a", "--level", "3"],
            "x where=a tag= level=3 loud=True outer_saw=a root_saw=True",
        ),
        (
            ["outer", "inner", "--where", "a", "leaf", "--loud", "x"],
            "x where=a tag= level=0 loud=True outer_saw=a root_saw=True",
        ),
        (
            ["outer", "--tag", "t1", "inner", "--tag", "t2", "leaf", "x", "--tag", "t3"],
            "x where=here tag=t1,t2,t3 level=0 loud=False outer_saw=here root_saw=False",
        ),
        (
            ["--loud", "outer", "--where", "a", "inner", "leaf", "x", "--loud", "--where", "a"],
            "x where=a tag= level=0 loud=True outer_saw=a root_saw=True",
        ),
    ],
)
def test_the_mechanism_merges_every_position_at_any_depth(args: list[str], expected: str) -> None:
    """Group callbacks run once the whole line is parsed: they see values given after their
    subcommand (``outer_saw``, ``root_saw``); a repeated (multiple) option adds up."""
    result = CliRunner().invoke(_tree(), args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == expected


def test_the_mechanism_the_command_line_wins_over_the_environment() -> None:
    tree = _tree()
    env = {"POSITIONS_WHERE": "env"}
    by_env = CliRunner().invoke(tree, ["outer", "inner", "leaf", "x"], env=env, catch_exceptions=False)
    assert "where=env" in by_env.stdout
    after = CliRunner().invoke(tree, ["outer", "inner", "leaf", "x", "--where", "cli"], env=env)
    assert "where=cli" in after.stdout and after.exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["outer", "--where", "a", "inner", "leaf", "x", "--where", "b"], "--where is given twice"),
        (["outer", "inner", "--level", "1", "leaf", "x", "--level", "2"], "--level is given twice"),
        (["outer", "inner", "leaf", "x", "--level", "10"], "10 is not in the range"),
        (["outer", "--count", "2", "inner", "leaf", "x"], "--count is for `root outer` run alone"),
        (["outer", "inner", "leaf", "x", "--count", "2"], "--count is for `root outer` run alone"),
        (["outer", "inner", "leaf", "x", "--nope"], "No such option"),
    ],
)
def test_the_mechanism_refuses_clearly(args: list[str], message: str) -> None:
    result = CliRunner().invoke(_tree(), args)
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr
