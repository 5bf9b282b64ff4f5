"""Prepare a dbt artifact for this folder: its code replaced by digests, gzipped.

    python tests/manifests/fusion/prepare.py SOURCE.json DEST.json.gz [--blank-descriptions]

Every SQL or Jinja text (``raw_code``, ``compiled_code``, ``macro_sql``, ``block_contents``, a
run result's ``compiled_code``), but the one line dbt writes for a generic test, becomes
``sha256:<digest of the stripped text>`` with the text's own leading and trailing whitespace
kept: two texts stay equal, or equal but for the blank lines around them, exactly when the
originals were, which is all a state comparison reads, and no one else's code is committed. ``--blank-descriptions`` empties the prose (descriptions)
of a project published without a licence.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

CODE = frozenset({"raw_code", "compiled_code", "macro_sql", "block_contents"})
PROSE = frozenset({"description", "source_description"})
KEEP = frozenset({"", "--placeholder--"})


def digest(text: str) -> str:
    if text in KEEP:
        return text
    core = text.strip()
    start = text.index(core) if core else len(text)
    return f"{text[:start]}sha256:{hashlib.sha256(core.encode()).hexdigest()}{text[start + len(core) :]}"


def generated(value: dict[str, Any]) -> bool:
    """A generic test's SQL: written by dbt from the YAML (``{{ test_unique(...) }}``), kept."""
    generic = bool(value.get("test_metadata")) or "generic_tests" in str(value.get("path") or "")
    return value.get("resource_type") == "test" and generic


def scrub(value: Any, blank: bool) -> Any:
    if isinstance(value, dict) and generated(value):
        return {key: item if key == "raw_code" else scrub(item, blank) for key, item in value.items()}
    if isinstance(value, dict):
        return {
            key: digest(item)
            if key in CODE and isinstance(item, str)
            else ("" if blank and key in PROSE and isinstance(item, str) else scrub(item, blank))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [scrub(item, blank) for item in value]
    return value


def main(source: str, dest: str, *flags: str) -> None:
    data = scrub(json.loads(Path(source).read_bytes()), "--blank-descriptions" in flags)
    Path(dest).write_bytes(gzip.compress(json.dumps(data).encode(), mtime=0))


if __name__ == "__main__":
    main(*sys.argv[1:])
