"""Benchmark: the HTML report of a 10,000-model project with a year of daily history.

    python benchmarks/bench_report.py [--models 10000] [--days 365] [--repeat 3]

Uses bench_sla.py's project and history (benchmarks/.work/; run it first, it writes them).
Measures in one run:

1. writing the report (``dbt_assets.report``: judge every SLA, work out the causes of up to 200
   troubled assets, every deadline's critical path, the newest run's timeline, the page), median
   of ``--repeat``, against the reference ``check_slas`` alone on the same history (the judging
   any report of SLAs must do);
2. the file's size, against the JSON of the same data uncompressed;
3. headless Chromium (Debian's, through Selenium): the time from the start of the navigation to
   the first render (the summary and the first neighbourhood drawn), median of ``--repeat``
   fresh loads, against the time to open a page that only parses the same data as plain JSON
   (the least any page showing it pays).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))  # tests.browser: the same Chromium as the browser tests

from bench_load import WORK  # noqa: E402
from bench_sla import median_time, sla_graph  # noqa: E402

from dbt_assets.api import check_slas, report  # noqa: E402
from dbt_assets.history.store import History  # noqa: E402
from dbt_assets.interop.report import report_data  # noqa: E402

PLAIN = """<!doctype html><meta charset="utf-8"><body>
<script type="application/json" id="data">{data}</script>
<script>const d = JSON.parse(document.getElementById("data").textContent);
window.reportReadyAt = performance.now(); document.body.dataset.ready = "1";</script>"""


def browser_ready_ms(pages: list[Path], repeat: int) -> list[float]:
    """Per page: the median, over fresh loads, of the navigation's time to ``data-ready``."""
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.browser import start_chromium

    driver = start_chromium(Path(tempfile.mkdtemp()))
    found: dict[Path, list[float]] = {page: [] for page in pages}
    try:
        for _ in range(repeat):
            for page in pages:  # interleaved: the same conditions for both
                driver.get("about:blank")
                driver.get(page.as_uri())
                WebDriverWait(driver, 120).until(
                    lambda d: d.execute_script("return document.body.dataset.ready") == "1"
                )
                found[page].append(float(driver.execute_script("return window.reportReadyAt")))
    finally:
        driver.quit()
    return [statistics.median(found[page]) for page in pages]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", type=int, default=10000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    graph = sla_graph(args.models)
    path = WORK / f"history_{args.models}_{args.days}.db"
    if not path.exists():
        sys.exit(
            f"{path} is missing: run benchmarks/bench_sla.py --models {args.models} --days {args.days} first"
        )
    out = WORK / "report_10000.html"
    plain = WORK / "report_10000_plain.html"
    with History.open(path, create=False) as history:
        writing = median_time(lambda: report(graph, history, out), args.repeat)
        judging = median_time(lambda: check_slas(graph, history), args.repeat)
        data = report_data(graph, history)
    raw = json.dumps(data, separators=(",", ":"), default=str)
    plain.write_text(PLAIN.format(data=raw.replace("<", "\\u003c")))
    ours, reference = browser_ready_ms([out, plain], args.repeat)
    size = out.stat().st_size
    bars = len(data["run"]["bars"]) if data["run"] else 0
    print(f"{len(data['assets']):,} assets; {len(data['critical']):,} deadlines; a run of {bars:,} bars")
    print(
        f"write the report:       {writing * 1000:7.0f} ms  ({writing / judging:.2f}x check_slas alone,",
        end=" ",
    )
    print(f"{judging * 1000:.0f} ms)")
    print(
        f"file size:              {size / 1e6:7.2f} MB  ({size / len(raw):.2f}x the data as plain JSON,",
        end=" ",
    )
    print(f"{len(raw) / 1e6:.1f} MB)")
    print(
        f"Chromium, first render: {ours:7.0f} ms  ({ours / reference:.2f}x a page that only parses", end=" "
    )
    print(f"that JSON, {reference:.0f} ms)")


if __name__ == "__main__":
    main()
