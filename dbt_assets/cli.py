"""The ``dbt-assets`` command line: a thin shell over :mod:`dbt_assets.api`.

Heavy modules are imported inside commands, so ``dbt-assets --help`` stays instant and a
cold ``dbt-assets ls`` pays only for what it uses.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

import click

from dbt_assets.errors import DbtAssetsError

if TYPE_CHECKING:
    from dbt_assets.compile import Plan
    from dbt_assets.graph import AssetGraph
    from dbt_assets.history import History
    from dbt_assets.project import Project
    from dbt_assets.runner import Run, RunOptions

F = TypeVar("F", bound=Callable[..., Any])

RESOURCE_TYPES = (
    "model",
    "seed",
    "snapshot",
    "source",
    "test",
    "unit_test",
    "exposure",
    "metric",
    "semantic_model",
    "saved_query",
    "analysis",
    "function",
    "all",
    "default",
)


class _Group(click.Group):
    """Turns a :class:`DbtAssetsError` into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DbtAssetsError as exc:
            if ctx.meta.get("dbt_assets.debug"):
                traceback.print_exc()
            click.echo(f"Error: {exc.message}" + (f" (hint: {exc.hint})" if exc.hint else ""), err=True)
            ctx.exit(2)


_PROJECT_DIR = click.option(
    "--project-dir",
    envvar="DBT_PROJECT_DIR",
    type=click.Path(file_okay=False),
    help="The dbt project (folder with dbt_project.yml). Default: current folder. Env: DBT_PROJECT_DIR.",
)
_PROFILES_DIR = click.option(
    "--profiles-dir",
    envvar="DBT_PROFILES_DIR",
    type=click.Path(file_okay=False),
    help="Folder with profiles.yml. Default: the project, then ., then ~/.dbt. Env: DBT_PROFILES_DIR.",
)
_TARGET = click.option("--target", "-t", envvar="DBT_TARGET", help="dbt target (from profiles.yml).")
_MANIFEST = click.option(
    "--manifest",
    type=click.Path(dir_okay=False),
    help="Read this manifest.json directly; no project, profile or dbt needed.",
)
_DBT_EXECUTABLE = click.option(
    "--dbt-executable",
    envvar="DBT_ASSETS_DBT_EXECUTABLE",
    help="The dbt to run (for example one in its own virtualenv). Default: the dbt beside this "
    "Python, then PATH. Env: DBT_ASSETS_DBT_EXECUTABLE.",
)
_HISTORY = click.option(
    "--history",
    "history_path",
    type=click.Path(dir_okay=False),
    help="The run history database. Default: <project>/.dbt-assets/history.db. Env: DBT_ASSETS_HISTORY.",
)


def _apply(func: F, options: Sequence[Callable[[Any], Any]]) -> F:
    for option in reversed(options):
        func = option(func)
    return func


def project_options(func: F) -> F:
    """Where the assets come from: a project (re-parsed when stale) or a manifest file."""
    return _apply(func, [_PROJECT_DIR, _PROFILES_DIR, _TARGET, _MANIFEST, _DBT_EXECUTABLE])


def selection_options(func: F) -> F:
    """dbt's selection options, in dbt's forms: ``-s a b``, ``-s "a b"``, ``-s a -s b``."""
    options = [
        click.option(
            "--select",
            "-s",
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
            type=click.Choice(["eager", "cautious", "buildable", "empty"]),
            help="Which tests of the selected assets are selected too, as in dbt.",
        ),
        click.option(
            "--resource-type",
            "resource_types",
            multiple=True,
            type=click.Choice(RESOURCE_TYPES),
            help="Only these resource types (repeatable). 'all' adds analyses to ls's default set.",
        ),
        click.option(
            "--exclude-resource-type",
            "exclude_resource_types",
            multiple=True,
            type=click.Choice(RESOURCE_TYPES[:-2]),
            help="Leave these resource types out (repeatable).",
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
    return _apply(func, options)


def _selection_kwargs(kwargs: dict[str, Any]) -> dict[str, Any]:
    return {
        "exclude": kwargs.pop("exclude"),
        "selector": kwargs.pop("selector"),
        "resource_types": kwargs.pop("resource_types"),
        "exclude_resource_types": kwargs.pop("exclude_resource_types"),
        "indirect_selection": kwargs.pop("indirect_selection"),
        "state": kwargs.pop("state"),
    }


MULTI_VALUE_OPTIONS = frozenset(
    {"-s", "--select", "--exclude", "--resource-type", "--exclude-resource-type", "--output-keys"}
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


def _graph(kwargs: dict[str, Any]) -> AssetGraph:
    from dbt_assets.api import load_graph

    return load_graph(
        project_dir=kwargs.pop("project_dir"),
        manifest=kwargs.pop("manifest"),
        profiles_dir=kwargs.pop("profiles_dir"),
        target=kwargs.pop("target"),
        dbt_executable=kwargs.pop("dbt_executable"),
    )


@contextmanager
def _history_for_selection(kwargs: dict[str, Any]) -> Iterator[History | None]:
    """The history ``status:`` and ``sla:`` read when --history names one (else they read
    the project's, only if the selection uses them)."""
    path = kwargs.pop("history_path")
    if path is None:
        yield None
        return
    from dbt_assets.history import History

    with History.open(path, create=False) as history:
        yield history


def _print_lines(lines: Any) -> None:
    out = sys.stdout
    try:
        for line in lines:
            out.write(line)
            out.write("\n")
        out.flush()
    except BrokenPipeError:  # `dbt-assets ls | head`
        sys.stderr.close()
        sys.exit(0)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, envvar="DBT_ASSETS_DEBUG", help="Show a traceback on errors.")
@click.version_option(package_name="dbt-assets")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """dbt-assets: a dbt project as a graph of data assets.

    \b
    Every model, seed, snapshot, source, exposure, metric, test ... of the project is an
    asset with its lineage. Point it at a project (--project-dir, re-parsed with `dbt parse`
    when the manifest is stale) or straight at a manifest (--manifest).

    \b
    Examples:
      dbt-assets ls --project-dir fixtures/dbt_project --output json
      dbt-assets show orders
      dbt-assets graph --select orders --format mermaid
    """
    ctx.meta["dbt_assets.debug"] = debug


@main.command("ls")
@project_options
@selection_options
@click.option(
    "--output",
    "-o",
    default="selector",
    show_default=True,
    type=click.Choice(["selector", "name", "path", "json"]),
    help="dbt ls output shape.",
)
@click.option(
    "--output-keys",
    multiple=True,
    metavar="KEYS",
    help="With --output json: only these keys (space-separated or repeated; dotted keys "
    "such as config.materialized reach into nested values).",
)
@_HISTORY
def ls_command(**kwargs: Any) -> None:
    """List assets like `dbt ls`, from the manifest alone (no dbt start-up).

    \b
    Selects exactly what `dbt ls` selects with the same options. With no selection:
    models, seeds, snapshots, sources, tests, unit tests, exposures, metrics, semantic
    models, saved queries and functions; analyses with --resource-type all.

    \b
    Examples:
      dbt-assets ls --project-dir fixtures/dbt_project --output json
      dbt-assets ls -s downstream_of:orders --resource-type model -o name
      dbt-assets ls -s "tag:finance,config.materialized:table" --exclude "stg_*"
      dbt-assets ls -s owner:finance@* -o json --output-keys "unique_id config.materialized"
    """
    from dbt_assets.api import list_assets
    from dbt_assets.listing import format_listing

    selection = _selection_kwargs(kwargs)
    with _history_for_selection(kwargs) as history:
        graph = _graph(kwargs)
        uids = list_assets(graph, kwargs["select_values"], history=history, **selection)
    _print_lines(format_listing(graph, uids, kwargs["output"], kwargs["output_keys"]))


main.add_command(ls_command, "list")


@main.command("plan")
@project_options
@selection_options
@click.option(
    "--command",
    "dbt_command",
    default="build",
    show_default=True,
    type=click.Choice(["run", "build", "test", "seed", "snapshot"]),
    help="The dbt command to plan.",
)
@click.option(
    "--select-ids",
    type=click.File("r"),
    metavar="FILE",
    help="Select exactly these unique_ids, one per line ('-' reads stdin), instead of --select.",
)
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
@_HISTORY
def plan_command(**kwargs: Any) -> None:
    """Show what a dbt command would run and the exact dbt arguments for it.

    \b
    dbt syntax passes through as written; downstream_of:/upstream_of: become dbt
    operators; anything else (owner:, --select-ids) compiles to the shortest exact
    list of dbt selectors found. Each is checked to select exactly the planned set.

    \b
    Examples:
      dbt-assets plan --command run -s downstream_of:orders
      dbt-assets plan --command build -s owner:finance@* --output json
      printf 'model.shop.orders\\nmodel.shop.customers\\n' | dbt-assets plan --select-ids -
    """
    from dbt_assets.api import plan_selection

    selection = _selection_kwargs(kwargs)
    ids_file = kwargs.pop("select_ids")
    unique_ids = ids_file.read().split() if ids_file is not None else None
    with _history_for_selection(kwargs) as history:
        graph = _graph(kwargs)
        result = plan_selection(
            graph,
            kwargs["dbt_command"],
            kwargs["select_values"],
            unique_ids=unique_ids,
            history=history,
            **selection,
        )
    _print_plan(graph, result, kwargs["output"])


@main.command("show")
@click.argument("asset")
@project_options
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
def show_command(asset: str, **kwargs: Any) -> None:
    """Everything known about one ASSET, its parents, children and checks.

    \b
    ASSET is a name (orders), a version (customer_segments.v1), a source
    (shop.orders) or a unique_id (model.shop.orders).

    \b
    Examples:
      dbt-assets show orders
      dbt-assets show shop.orders --output json
    """
    from dbt_assets.api import describe_asset
    from dbt_assets.render import render_detail

    detail = describe_asset(_graph(kwargs), asset)
    if kwargs["output"] == "json":
        click.echo(detail.model_dump_json(indent=2))
    else:
        click.echo(render_detail(detail), nl=False)


@main.command("graph")
@project_options
@click.option(
    "--select",
    "-s",
    "select_values",
    multiple=True,
    metavar="SELECTION",
    help="Draw these assets, in dbt's syntax (default: every asset).",
)
@click.option(
    "--format", "fmt", default="mermaid", show_default=True, type=click.Choice(["mermaid", "dot", "json"])
)
@click.option("--checks/--no-checks", default=False, show_default=True, help="Include tests and unit tests.")
@click.option(
    "--expand/--no-expand",
    default=False,
    show_default=True,
    help="Add everything upstream and downstream of the selected assets.",
)
def graph_command(**kwargs: Any) -> None:
    """Draw the lineage of a selection as Mermaid, Graphviz dot or JSON.

    \b
    Examples:
      dbt-assets graph -s downstream_of:orders        # orders and everything downstream
      dbt-assets graph -s orders --expand             # orders, upstream and downstream
      dbt-assets graph -s orders --checks             # orders and its tests
      dbt-assets graph --format dot | dot -Tsvg > lineage.svg
    """
    from dbt_assets.api import lineage

    graph = _graph(kwargs)
    text = lineage(
        graph,
        kwargs["select_values"],
        fmt=kwargs["fmt"],
        include_checks=kwargs["checks"],
        expand=kwargs["expand"],
    )
    _print_lines([text.rstrip("\n")])


# --- running ------------------------------------------------------------------------------


def run_options(func: F) -> F:
    """dbt's run flags passed through, and how dbt-assets runs and reports."""
    options = [
        _PROJECT_DIR,
        _PROFILES_DIR,
        _TARGET,
        _DBT_EXECUTABLE,
        click.option("--vars", help="dbt --vars (YAML); also used to parse the project."),
        click.option("--threads", type=click.IntRange(min=1), help="dbt --threads."),
        click.option("--full-refresh", is_flag=True, help="dbt --full-refresh."),
        click.option("--fail-fast", "-x", is_flag=True, help="dbt --fail-fast."),
        click.option("--defer", is_flag=True, help="dbt --defer (with --state)."),
        click.option("--favor-state", is_flag=True, help="dbt --favor-state."),
        _HISTORY,
        click.option("--no-history", is_flag=True, help="Do not record this run."),
        click.option(
            "--output",
            "-o",
            default="text",
            show_default=True,
            type=click.Choice(["text", "json"]),
            help="text: progress and a summary; json: every event as a JSON line on stdout.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            metavar="SECONDS",
            help="Stop dbt (like Ctrl-C) when the run takes longer.",
        ),
        click.option(
            "--cancel-grace",
            type=click.FloatRange(min=0),
            default=10.0,
            show_default=True,
            metavar="SECONDS",
            help="After Ctrl-C, SIGTERM or --timeout: how long dbt may take to stop before it is killed.",
        ),
        click.argument("dbt_args", nargs=-1, type=click.UNPROCESSED),
    ]
    return _apply(func, options)


def _project(kwargs: dict[str, Any]) -> Project:
    from dbt_assets.project import Project

    return Project(
        kwargs.pop("project_dir") or ".",
        profiles_dir=kwargs.pop("profiles_dir"),
        target=kwargs.pop("target"),
        dbt_executable=kwargs.pop("dbt_executable"),
        vars=kwargs.pop("vars"),
    )


def _run_options(kwargs: dict[str, Any], state: str | None = None) -> RunOptions:
    from dbt_assets.runner import RunOptions

    return RunOptions(
        threads=kwargs.pop("threads"),
        full_refresh=kwargs.pop("full_refresh"),
        fail_fast=kwargs.pop("fail_fast"),
        defer=kwargs.pop("defer"),
        state=state,
        favor_state=kwargs.pop("favor_state"),
        extra_args=tuple(kwargs.pop("dbt_args")),
        timeout=kwargs.pop("timeout"),
        cancel_grace=kwargs.pop("cancel_grace"),
    )


def _execute(run: Run, output: str) -> None:
    """Run with a display; Ctrl-C and SIGTERM cancel the run (twice: kill dbt at once)."""
    import signal

    from dbt_assets.progress import make_display, render_summary

    display = make_display(run.graph, run.plan, output)

    def cancel(signum: int, _frame: Any) -> None:
        again = run.cancelling
        run.cancel()
        name = signal.Signals(signum).name
        what = "killing dbt" if again else "stopping dbt (again to kill it now)"
        click.echo(f"\ndbt-assets: {name}: {what}", err=True)

    previous = {sig: signal.signal(sig, cancel) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for event in run:
            display.handle(event)
    finally:
        display.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    result = run.result
    assert result is not None  # the iteration ran to its end
    if output == "text":
        hint = None
        if result.run_id is not None and run.history is not None:
            hint = f"Run {result.run_id} recorded in {run.history.path}"
            if result.exit_code != 0:
                hint += f"; re-run what did not succeed with: dbt-assets retry {result.run_id}"
        click.echo(render_summary(run.graph, result, hint), nl=False)
    _report_slas(run, output)
    sys.exit(result.exit_code)


def _report_slas(run: Run, output: str) -> None:
    """After a run: which SLAs of its assets it met or missed (text), or one
    ``sla_result`` JSON line each (json)."""
    from dbt_assets.api import run_slas

    if run.history is None or run.result is None or run.result.run_id is None:
        return
    try:
        results = run_slas(run.graph, run.history, run.result)
    except DbtAssetsError as exc:  # a broken SLA declaration must not hide the run's outcome
        click.echo(f"dbt-assets: SLAs not judged: {exc.message}", err=True)
        return
    if output == "json":
        _print_lines(json.dumps({"event": "sla_result", **json.loads(_json(r))}) for r in results)
    else:
        from dbt_assets.render import render_run_slas

        click.echo(render_run_slas(results), nl=False)


def _make_run_command(command: str, summary: str) -> click.Command:
    help_text = f"""{summary}

    \b
    Selects exactly like `dbt-assets plan --command {command}` (dbt's syntax plus
    downstream_of:, upstream_of:, owner:), runs dbt once with the exact arguments, shows
    progress and a summary, and records every asset result in the run history.
    Anything after -- goes to dbt unchanged.

    \b
    Exit codes: 0 success, 1 an asset failed, 2 usage error or dbt could not run
    (or crashed, or hit --timeout), 130 cancelled (Ctrl-C, SIGTERM).

    \b
    Examples:
      dbt-assets {command} --select downstream_of:orders
      dbt-assets {command} -s tag:finance --exclude stg_* --threads 8 --target prod
      dbt-assets {command} -s orders+ --dry-run --output json
      dbt-assets {command} -s owner:finance@* --output json > events.jsonl
      dbt-assets {command} -s orders -- --empty
    """

    @main.command(command, help=help_text)
    @run_options
    @selection_options
    @click.option(
        "--select-ids",
        type=click.File("r"),
        metavar="FILE",
        help="Run exactly these unique_ids, one per line ('-' reads stdin), instead of --select.",
    )
    @click.option("--dry-run", is_flag=True, help="Print the plan (assets and exact dbt argv); run nothing.")
    def run_command(**kwargs: Any) -> None:
        from dbt_assets.api import open_history, start_run

        selection = _selection_kwargs(kwargs)
        ids_file = kwargs.pop("select_ids")
        unique_ids = ids_file.read().split() if ids_file is not None else None
        output = kwargs.pop("output")
        history_path, no_history, dry_run = (
            kwargs.pop("history_path"),
            kwargs.pop("no_history"),
            kwargs.pop("dry_run"),
        )
        project = _project(kwargs)
        options = _run_options(kwargs, selection["state"])
        history = None if no_history or dry_run else open_history(project.project_dir, history_path)
        run = start_run(
            project,
            command,
            kwargs["select_values"],
            unique_ids=unique_ids,
            options=options,
            history=history,
            **selection,
        )
        if dry_run:
            _print_plan(run.graph, run.plan, output, run.argv)
            return
        _execute(run, output)

    return run_command


for _command, _summary in (
    ("run", "Run models with dbt (dbt run), with live per-asset progress and history."),
    ("build", "Build with dbt (dbt build: seeds, models, snapshots and their tests)."),
    ("test", "Test with dbt (dbt test): each test reported as a check of its asset."),
    ("seed", "Load seeds with dbt (dbt seed)."),
    ("snapshot", "Take snapshots with dbt (dbt snapshot)."),
):
    _make_run_command(_command, _summary)


@main.command("retry")
@click.argument("run_id", type=int, required=False)
@run_options
def retry_command(run_id: int | None, **kwargs: Any) -> None:
    """Re-run what did not succeed in a run (default: the newest).

    \b
    The failed assets, those skipped because of them, and any the run never reached
    (cancelled), through the exact compiler, with the run's dbt flags again. Needs only
    the run history and the project, not dbt's target/ of that run.

    \b
    Examples:
      dbt-assets retry              # the newest run
      dbt-assets retry 12 --threads 1
    """
    from dbt_assets.api import open_history, retry_run

    output = kwargs.pop("output")
    history_path = kwargs.pop("history_path")
    if kwargs.pop("no_history"):
        raise click.UsageError("retry reads the run history; --no-history does not apply")
    project = _project(kwargs)
    options = _run_options(kwargs)
    history = open_history(project.project_dir, history_path, create=False)
    _execute(retry_run(project, history, run_id, options=options), output)


def _print_plan(graph: AssetGraph, plan: Plan, output: str, argv: list[str] | None = None) -> None:
    if output == "json":
        payload: dict[str, Any] = {
            "command": plan.command,
            "argv": ["dbt", *plan.argv],
            "unique_ids": list(plan.unique_ids),
        }
        if plan.selector is not None:  # too long for a command line: add it to a selectors.yml
            payload["selector"] = plan.selector
        if argv is not None:
            payload["command_line"] = ["dbt", *argv[1:]]
        click.echo(json.dumps(payload))
        return
    from dbt_assets.render import render_plan

    click.echo(render_plan(graph, plan), nl=False)


# --- history -------------------------------------------------------------------------------


@main.group("history", invoke_without_command=True)
@_PROJECT_DIR
@_HISTORY
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1), help="How many runs.")
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
@click.pass_context
def history_group(ctx: click.Context, /, **kwargs: Any) -> None:
    """The recorded runs, newest first, with their count of assets per status.

    \b
    Examples:
      dbt-assets history --limit 5
      dbt-assets history show 12 --output json
      dbt-assets history import target/run_results.json   # a run made by plain dbt
    """
    ctx.obj = kwargs
    if ctx.invoked_subcommand is not None:
        return
    from dbt_assets.api import open_history
    from dbt_assets.render import render_runs

    with open_history(kwargs["project_dir"] or ".", kwargs["history_path"], create=False) as history:
        runs = history.runs(kwargs["limit"])
    if kwargs["output"] == "json":
        _print_lines(_json(run) for run in runs)
    else:
        click.echo(render_runs(runs), nl=False)


@history_group.command("show")
@click.argument("run_id", type=int)
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
@click.pass_obj
def history_show(parent: dict[str, Any], run_id: int, output: str) -> None:
    """One run: how it went, and each asset's result."""
    from dbt_assets.api import open_history
    from dbt_assets.render import render_run

    with open_history(parent["project_dir"] or ".", parent["history_path"], create=False) as history:
        record = history.run(run_id)
        results = history.results(run_id)
        logs = history.logs(run_id)
    if output == "json":
        click.echo(
            json.dumps({"run": json.loads(_json(record)), "assets": [json.loads(_json(r)) for r in results]})
        )
    else:
        click.echo(render_run(record, results, logs), nl=False)


@history_group.command("import")
@click.argument("run_results", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.pass_obj
def history_import(parent: dict[str, Any], run_results: tuple[str, ...]) -> None:
    """Record runs made by plain dbt from their run_results.json (each only once)."""
    from dbt_assets.api import open_history

    with open_history(parent["project_dir"] or ".", parent["history_path"]) as history:
        for path in run_results:
            run_id = history.import_run_results(path)
            if run_id is None:
                click.echo(f"{path}: already recorded")
            else:
                click.echo(f"{path}: recorded as run {run_id}")


@main.command("status")
@project_options
@selection_options
@_HISTORY
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
def status_command(**kwargs: Any) -> None:
    """Per asset: last status, last success, its age, and the last execution time.

    \b
    Lists what `dbt build` would select (models, seeds, snapshots, tests, ...), or the
    selection given.

    \b
    Examples:
      dbt-assets status
      dbt-assets status -s downstream_of:orders --resource-type model --output json
    """
    import time

    from dbt_assets.api import asset_statuses, list_assets, open_history
    from dbt_assets.render import render_status

    selection = _selection_kwargs(kwargs)
    history_path = kwargs.pop("history_path")
    output = kwargs.pop("output")
    project_dir = kwargs["project_dir"] or "."
    graph = _graph(kwargs)
    uids = list_assets(graph, kwargs["select_values"], command="build", **selection)
    with open_history(project_dir, history_path, create=False) as history:
        rows = asset_statuses(graph, history, uids)
    now = time.time()
    if output == "json":
        for uid, status in rows:
            payload = (
                json.loads(_json(status)) if status is not None else {"unique_id": uid, "last_status": None}
            )
            success = status.last_success_at if status is not None else None
            payload["age"] = None if success is None else now - success
            click.echo(json.dumps(payload))
    else:
        click.echo(render_status(graph, rows, now), nl=False)


def _json(value: Any) -> str:
    import msgspec

    return msgspec.json.encode(value).decode()


def run() -> None:
    """Console-script entry point."""
    main(args=spread_multi_values(sys.argv[1:]), prog_name="dbt-assets")


# The SLA commands and those for embedding (export, shard) live in their own modules;
# importing them adds them to `main`.
import dbt_assets.cli_embed  # noqa: E402
import dbt_assets.cli_sla  # noqa: E402, F401
