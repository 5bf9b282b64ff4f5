"""``dbt-assets sla check`` and ``dbt-assets why``: the SLA commands, a thin shell over the API."""

from __future__ import annotations

import json
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from dbt_assets._core.errors import DbtAssetsError
from dbt_assets._core.serial import to_json
from dbt_assets.cli.common import echo_error, graph_from, print_lines
from dbt_assets.cli.options import AT, HISTORY, moment, project_options, selection_from, selection_options

if TYPE_CHECKING:
    from collections.abc import Sequence

    from dbt_assets.manifest.graph import AssetGraph
    from dbt_assets.sla.judge import SlaResult

ALERT_STATUSES = ("breached", "warn", "at_risk", "unknown")


@click.group("sla")
def sla_group() -> None:
    """Per-asset SLAs: freshness, deadlines, runtimes, failures in a row.

    \b
    Declare them in dbt YAML (config.meta.dbt_assets.sla) or for many assets at once in
    dbt_assets.yml at the project root; a source's SLA is dbt's own freshness. They are
    judged from the run history (`dbt-assets run`/`build` record it).
    """


@sla_group.command("check")
@click.argument("positional", nargs=-1, metavar="[SELECTION]...")
@project_options
@selection_options
@HISTORY
@AT
@click.option(
    "--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json", "junit"])
)
@click.option("--sources", is_flag=True, help="Run `dbt source freshness` first and record it (source SLAs).")
@click.option(
    "--notify-command",
    metavar="CMD",
    help="Run CMD once per alerted result, with its JSON on stdin (for example a mail or chat script).",
)
@click.option("--webhook", metavar="URL", help="POST the alerted results as JSON to URL.")
@click.option(
    "--alert-on",
    multiple=True,
    type=click.Choice(ALERT_STATUSES),
    help="Which statuses alert (repeatable). Default: breached.",
)
@click.option(
    "--webhook-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="How long one webhook attempt may take.",
)
@click.option(
    "--webhook-retries",
    default=3,
    show_default=True,
    type=click.IntRange(min=0),
    help="More attempts after a failure that may pass (no answer, timeout, 429, 5xx).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, writable=True),
    metavar="PATH",
    help="Also write the HTML report of these assets there (see `dbt-assets report`); alerts "
    'carry its path (webhook: "report"; notify command: $DBT_ASSETS_REPORT).',
)
def sla_check(positional: tuple[str, ...], **kwargs: Any) -> None:
    """Judge the SLAs of the selected assets (default: all) from the run history.

    \b
    Each (asset, SLA) is ok, warn (a warn-severity SLA not met), breached (an error-severity
    one not met), at_risk (a deadline ahead that the work left would miss) or unknown (no
    history). --select (or SELECTION, the same) is any dbt-assets selection (tag:finance,
    orders+, sla:breached), with the selection options of every command; every resource
    type is judged unless --resource-type says which.

    \b
    Exit codes: 0 no error-severity SLA breached, 1 one is, 2 usage error or an alert
    could not be delivered (the results are still printed).

    \b
    Examples:
      dbt-assets sla check
      dbt-assets sla check -s tag:finance --output json
      dbt-assets sla check --at 07:00            # what will be late at 07:00 UTC?
      dbt-assets sla check --sources --output junit > sla.xml
      dbt-assets sla check --webhook https://hooks.example.com/sla --alert-on breached --alert-on warn
      dbt-assets sla check --notify-command "./page-oncall.sh"
    """
    from dbt_assets.api import check_slas, check_source_freshness, open_history
    from dbt_assets.sla.judge import iso, worst_exit_code

    selection = selection_from(kwargs, positional)
    project_dir = kwargs["project_dir"] or "."
    at = moment(kwargs["at"])
    if kwargs["sources"]:
        from dbt_assets.run.project import Project

        if kwargs["manifest"]:
            raise click.UsageError("--sources runs dbt on the project; it cannot be used with --manifest")
        project = Project(
            project_dir,
            profiles_dir=kwargs["profiles_dir"],
            target=kwargs["target"],
            dbt_executable=kwargs["dbt_executable"],
        )
        with open_history(project.project_dir, kwargs["history_path"]) as history:
            run_id = check_source_freshness(project, history)
        recorded = f"as run {run_id}" if run_id is not None else "already (same dbt invocation)"
        click.echo(f"dbt-assets: recorded `dbt source freshness` {recorded}", err=True)
    history_path, output = kwargs.pop("history_path"), kwargs["output"]
    graph = graph_from(kwargs)
    report_path = kwargs["report_path"]
    written = True
    with open_history(project_dir, history_path, create=False) as history:
        results = check_slas(graph, history, selection, at=at)
        if report_path:
            from dbt_assets.api import report

            try:
                report_path = str(report(graph, history, report_path, selection, at=at).resolve())
                click.echo(f"dbt-assets: report written to {report_path}", err=True)
            except DbtAssetsError as exc:  # the results are still printed and alerted: exit 2
                echo_error(exc.message, exc.hint)
                report_path, written = None, False
    when = iso(at if at is not None else time.time()) or ""
    _print_results(graph, results, output, when)
    delivered = _alert(results, kwargs, when, report_path) and written
    code = worst_exit_code(results)
    sys.exit(2 if not delivered else code)


def _print_results(graph: AssetGraph, results: Sequence[SlaResult], output: str, at: str) -> None:

    if output == "json":
        print_lines(to_json(r) for r in results)
    elif output == "junit":
        click.echo(junit_xml(results, at))
    else:
        from dbt_assets.cli.render import render_sla_results

        click.echo(render_sla_results(graph, results, at), nl=False)


def junit_xml(results: Sequence[SlaResult], at: str) -> str:
    """One JUnit test case per (asset, SLA): breached and warn fail, unknown is skipped."""
    from xml.etree import ElementTree as ET

    failing = {"breached", "warn"}
    suite = ET.Element(
        "testsuite",
        name="dbt-assets SLAs",
        tests=str(len(results)),
        failures=str(sum(r.status in failing for r in results)),
        skipped=str(sum(r.status == "unknown" for r in results)),
        timestamp=at,
    )
    for result in results:
        case = ET.SubElement(suite, "testcase", classname=result.unique_id, name=result.sla)
        if result.status in failing:
            failure = ET.SubElement(case, "failure", type=result.status, message=result.message)
            failure.text = json.dumps({"observed": result.observed, "limit": result.limit, **result.details})
        elif result.status == "unknown":
            ET.SubElement(case, "skipped", message=result.message)
        else:
            ET.SubElement(case, "system-out").text = f"{result.status}: {result.message}"
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def _alert(results: Sequence[SlaResult], kwargs: dict[str, Any], at: str, report: str | None = None) -> bool:
    """Deliver the alerted results; report each failure on stderr. True when all arrived."""
    from dbt_assets.sla.alerts import deliver

    deliveries = deliver(
        results,
        at=at,
        alert_on=kwargs["alert_on"] or ("breached",),
        command=kwargs["notify_command"],
        webhook=kwargs["webhook"],
        webhook_timeout=kwargs["webhook_timeout"],
        webhook_retries=kwargs["webhook_retries"],
        report=report,
    )
    failed = [d for d in deliveries if not d.ok]
    for delivery in failed:
        about = f" for {delivery.unique_id}" if delivery.unique_id else ""
        echo_error(
            f"alert not delivered to {delivery.target}{about} after {delivery.attempts} "
            f"attempt(s): {delivery.error}"
        )
    return not failed


@click.command("why")
@click.argument("asset")
@project_options
@HISTORY
@AT
@click.option("--output", "-o", default="text", show_default=True, type=click.Choice(["text", "json"]))
def why_command(asset: str, **kwargs: Any) -> None:
    """Explain why an ASSET's SLA is breached or at risk.

    \b
    Shows the asset's SLAs and last run, the critical path of an at-risk deadline, and the
    upstream assets that failed or are late (nearest first, root causes marked), each with
    its last run.

    \b
    Examples:
      dbt-assets why orders
      dbt-assets why weekly_revenue --at 07:00 --output json
    """

    from dbt_assets.api import explain_sla, open_history
    from dbt_assets.cli.render import render_explanation

    project_dir = kwargs["project_dir"] or "."
    at = moment(kwargs.pop("at"))
    history_path, output = kwargs.pop("history_path"), kwargs.pop("output")
    graph = graph_from(kwargs)
    with open_history(project_dir, history_path, create=False) as history:
        explanation = explain_sla(graph, history, asset, at=at)
    if output == "json":
        click.echo(to_json(explanation))
    else:
        click.echo(render_explanation(explanation), nl=False)


COMMANDS = [sla_group, why_command]
