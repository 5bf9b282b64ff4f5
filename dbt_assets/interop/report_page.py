"""The report as one self-contained HTML file: the page, its style and its script inline
(``page/``, written for dbt-assets, no library), the data as JSON in a ``<script
type="application/json">`` (gzipped, in base64, past a megabyte). Nothing is fetched when it
opens, and its Content-Security-Policy forbids fetching anything. Text from the project
reaches the page only as JSON, with ``<``, ``>`` and ``&`` escaped, and the script puts it in
the page only through ``textContent``."""

from __future__ import annotations

import base64
import gzip
import html
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from dbt_assets._core.outputs import write_output

_PLACEHOLDER = re.compile(r"__(TITLE|CSS|JS|ENCODING|DATA)__")
COMPRESS_ABOVE = 1 << 20
"""Data larger than this (bytes of JSON) is embedded gzipped, in base64: a tenth of the size."""


def _asset(name: str) -> str:
    return resources.files("dbt_assets.interop").joinpath("page", name).read_text(encoding="utf-8")


def page_json(data: Any) -> str:
    """JSON that cannot end the ``<script>`` element holding it, nor open a comment in it."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def render_page(data: dict[str, Any]) -> str:
    """The whole page for :func:`dbt_assets.interop.report.report_data`'s data."""
    text = page_json(data)
    encoding = ""
    if len(text) > COMPRESS_ABOVE:
        text = base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()
        encoding = ' data-encoding="gzip-base64"'
    parts = {
        "TITLE": html.escape(str(data.get("title", "dbt-assets report"))),
        "CSS": _asset("report.css"),
        "JS": _asset("report.js"),
        "ENCODING": encoding,
        "DATA": text,
    }
    return _PLACEHOLDER.sub(lambda match: parts[match[1]], _asset("report.html"))  # one pass


def write_page(path: str | Path, data: dict[str, Any]) -> Path:
    """Write the page to ``path`` whole or not at all (a temporary file, then renamed), or into
    a device or pipe (``/dev/stdout``); never over what is not a report's to replace (the
    project's files, the history: :mod:`dbt_assets._core.outputs`). A place it may not or
    cannot be written is a :class:`DbtAssetsError` naming it."""
    return write_output(path, render_page(data), option="the report")
