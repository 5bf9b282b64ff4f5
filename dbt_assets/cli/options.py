"""The options every command shares, in dbt's forms: where the assets come from, the
selection (``-s a b``, ``--resource-type "model source"``, dbt's environment variables),
``--select-ids`` and ``--command``; and the argv rewriting that lets click read dbt's
several-values-per-flag syntax."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dbt_assets._core.vocab import ASSET_RESOURCE_TYPE_ORDER

if TYPE_CHECKING:
    from dbt_assets.selection.request import Selection

F = TypeVar("F", bound=Callable[..., Any])

RESOURCE_TYPES = (*ASSET_RESOURCE_TYPE_ORDER, "all", "default")
"""What --resource-type accepts: every asset type, and dbt's two words for sets of them."""


PROJECT_DIR = click.option(
    "--project-dir",
    envvar="DBT_PROJECT_DIR",
    type=click.Path(file_okay=False),
    help="The dbt project (folder with dbt_project.yml). Default: current folder. Env: DBT_PROJECT_DIR.",
)
PROFILES_DIR = click.option(
    "--profiles-dir",
    envvar="DBT_PROFILES_DIR",
    type=click.Path(file_okay=False),
    help="Folder with profiles.yml. Default: the project, then ., then ~/.dbt. Env: DBT_PROFILES_DIR.",
)
TARGET = click.option("--target", "-t", envvar="DBT_TARGET", help="dbt target (from profiles.yml).")
MANIFEST = click.option(
    "--manifest",
    type=click.Path(dir_okay=False),
    help="Read this manifest.json directly; no project, profile or dbt needed.",
)
DBT_EXECUTABLE = click.option(
    "--dbt-executable",
    envvar="DBT_ASSETS_DBT_EXECUTABLE",
    help="The dbt to run (for example one in its own virtualenv). Default: the dbt beside this "
    "Python, then PATH. Env: DBT_ASSETS_DBT_EXECUTABLE.",
)
HISTORY = click.option(
    "--history",
    "history_path",
    type=click.Path(dir_okay=False),
    metavar="FILE|URL",
    help="The run history: an SQLite file, or a PostgreSQL database shared by every machine "
    "(postgresql://user:password@host/db; pip install 'dbt-assets[postgres]'). "
    "Default: <project>/.dbt-assets/history.db. Env: DBT_ASSETS_HISTORY.",
)
AT = click.option(
    "--at",
    metavar="TIME",
    help="Judge as of this time instead of now: 2026-11-24T07:00 (UTC unless it has an offset), "
    "07:00 (the next 07:00 UTC), +2h, -1d, or epoch seconds.",
)


def moment(text: str | None) -> float | None:
    """``--at``'s time as epoch seconds (None: now)."""
    import time

    from dbt_assets._core.errors import ScheduleError
    from dbt_assets.sla.schedule import parse_moment

    if text is None:
        return None
    try:
        return parse_moment(text, time.time())
    except ScheduleError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from exc


LOCK_TIMEOUT = click.option(
    "--lock-timeout",
    type=click.FloatRange(min=0, min_open=True),
    envvar="DBT_ASSETS_LOCK_TIMEOUT",
    metavar="SECONDS",
    help="How long to wait for the run history while another process writes it (said after a few "
    "seconds), then stop with exit code 2. Default 120. Env: DBT_ASSETS_LOCK_TIMEOUT.",
)
STATE_OUT = click.option(
    "--state-out",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="A plan of many criteria selects in one pass over a generated state: write it to DIR (new "
    "or empty; yours to keep) and put it in the printed argv, so that the argv runs as printed.",
)


WIDE_OUTPUT = click.option(
    "--output",
    "-o",
    default="text",
    show_default=True,
    type=click.Choice(["text", "wide", "json"]),
    help="text: a table that fits 100 columns; wide: unique_ids, nothing cut; json: a JSON line each.",
)


def apply_options(func: F, options: Sequence[Callable[[Any], Any]]) -> F:
    for option in reversed(options):
        func = option(func)
    return func


def project_options(func: F) -> F:
    """Where the assets come from: a project (re-parsed when stale) or a manifest file."""
    return apply_options(func, [PROJECT_DIR, PROFILES_DIR, TARGET, MANIFEST, DBT_EXECUTABLE])


def _resource_types(
    choices: tuple[str, ...],
) -> Callable[[click.Context, click.Parameter, Any], tuple[str, ...]]:
    """dbt's resource-type values: repeated, several in one argument (``"model source"``), from
    the environment (space-separated)."""

    def convert(ctx: click.Context, param: click.Parameter, values: Any) -> tuple[str, ...]:
        found: list[str] = []
        for value in values or ():
            for item in str(value).split():
                if item not in choices:
                    raise click.BadParameter(f"'{item}' is not one of {', '.join(choices)}", ctx, param)
                found.append(item)
        return tuple(found)

    return convert


def selection_options(func: F, *, models: str = "select") -> F:
    """dbt's selection options, in dbt's forms: ``-s a b``, ``-s "a b"``, ``-s a -s b``.

    ``-m/--models/--model`` is another name of ``--select``, as in dbt's run and build; for
    ``ls`` (``models="ls"``) it is dbt's legacy option of its own (models only)."""
    select_names = ["--select", "-s"] if models == "ls" else ["--select", "-s", "--models", "--model", "-m"]
    options = [
        click.option(
            *select_names,
            "select_values",
            multiple=True,
            metavar="SELECTION",
            help="What to select, in dbt's syntax (orders+, tag:finance,config.materialized:table, "
            "@stg_orders, path:models/marts) plus downstream_of:X, upstream_of:X and owner:GLOB.",
        ),
        click.option("--exclude", multiple=True, metavar="SELECTION", help="What to leave out, same syntax."),
        click.option("--selector", help="A YAML selector of the project's selectors.yml."),
        click.option(
            "--indirect-selection",
            envvar="DBT_INDIRECT_SELECTION",
            default="eager",
            show_default=True,
            type=click.Choice(["eager", "cautious", "buildable", "empty"], case_sensitive=False),
            help="Which tests of the selected assets are selected too, as in dbt.",
        ),
        click.option(
            "--resource-type",
            "--resource-types",
            "resource_types",
            multiple=True,
            envvar="DBT_RESOURCE_TYPES",
            callback=_resource_types(RESOURCE_TYPES),
            metavar="TYPE",
            help=f"Only these resource types ({'|'.join(RESOURCE_TYPES)}; repeatable, or several in "
            "one quoted value). 'all' adds analyses to ls's default set. Env: DBT_RESOURCE_TYPES.",
        ),
        click.option(
            "--exclude-resource-type",
            "--exclude-resource-types",
            "exclude_resource_types",
            multiple=True,
            envvar="DBT_EXCLUDE_RESOURCE_TYPES",
            callback=_resource_types(RESOURCE_TYPES[:-2]),
            metavar="TYPE",
            help="Leave these resource types out (same forms). Env: DBT_EXCLUDE_RESOURCE_TYPES.",
        ),
        click.option(
            "--state",
            envvar="DBT_STATE",
            type=click.Path(file_okay=False),
            metavar="DIR",
            help="An earlier run's artifacts (its target/), as dbt's --state: compared by state:new, "
            "state:modified[.body|.configs|...], read by result:<status> and source_status:fresher, "
            "and used by --defer. Relative to the project, as in dbt. Env: DBT_STATE.",
        ),
    ]
    return apply_options(func, options)


SELECT_IDS_BYTES = 64 << 20
"""The largest --select-ids file read (64 MiB: a million unique_ids of 60 characters)."""


class _UniqueIds(click.File):
    """A file of unique_ids, one per line (``-``: stdin), read as UTF-8 text."""

    name = "file"

    def __init__(self) -> None:
        super().__init__("rb")

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        stream = super().convert(value, param, ctx)
        try:
            data = stream.read(SELECT_IDS_BYTES + 1)  # bounded: /dev/zero, `yes |` never end
            if len(data) > SELECT_IDS_BYTES:
                size = f"larger than {SELECT_IDS_BYTES >> 20} MiB"
                self.fail(f"{value}: {size}; give one unique_id per line", param, ctx)
            return data.decode("utf-8").split()
        except UnicodeDecodeError as exc:
            self.fail(f"{value}: not UTF-8 text (byte {exc.start}); give one unique_id per line", param, ctx)
        except OSError as exc:
            self.fail(f"{value}: cannot be read ({exc.strerror})", param, ctx)


def select_ids_option(text: str) -> Callable[[F], F]:
    """``--select-ids FILE``: exactly these unique_ids instead of a selection."""
    return click.option("--select-ids", "unique_ids", type=_UniqueIds(), metavar="FILE", help=text)


def command_option(text: str) -> Callable[[F], F]:
    """``--command``: the dbt command a plan is for (default build)."""
    return click.option(
        "--command",
        "dbt_command",
        default="build",
        show_default=True,
        type=click.Choice(["run", "build", "test", "seed", "snapshot"]),
        help=text,
    )


def selection_from(kwargs: dict[str, Any], positional: Sequence[str] = ()) -> Selection:
    """The selection the shared options (:func:`selection_options`) were given, taken out of
    a command's keyword arguments; ``positional`` values (``sla check tag:x``, the older
    form) are more --select values."""
    from dbt_assets.selection.request import Selection

    return Selection(
        [*positional, *kwargs.pop("select_values")],
        exclude=kwargs.pop("exclude"),
        selector=kwargs.pop("selector"),
        resource_types=kwargs.pop("resource_types"),
        exclude_resource_types=kwargs.pop("exclude_resource_types"),
        indirect_selection=kwargs.pop("indirect_selection"),
        state=kwargs.pop("state"),
    )


MULTI_VALUE_OPTIONS = frozenset(
    {
        "-s",
        "--select",
        "-m",
        "--models",
        "--model",
        "--exclude",
        "--resource-type",
        "--resource-types",
        "--exclude-resource-type",
        "--exclude-resource-types",
        "--output-keys",
    }
)


def spread_multi_values(argv: list[str]) -> list[str]:
    """dbt lets ``-s a b --exclude c`` give several values to one flag; click wants
    ``-s a -s b --exclude c``. Values never start with ``-``; ``--`` ends the options."""
    out: list[str] = []
    current: str | None = None
    for i, arg in enumerate(argv):
        if arg == "--":
            out.extend(argv[i:])
            break
        if arg.startswith("-"):
            name = arg.split("=", 1)[0]
            current = name if name in MULTI_VALUE_OPTIONS else None
            out.append(arg)
        elif current is not None and out and out[-1] != current:
            out.extend([current, arg])
        else:
            out.append(arg)
    return out
