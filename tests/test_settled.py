"""Readers while dbt writes: a manifest or artifact rewritten in place under the reader is
waited out (bounded); a file that stays broken is an error at once."""

from __future__ import annotations

import gzip
import json
import os
import threading
import time
from pathlib import Path

import pytest

from dbt_assets._core import settled
from dbt_assets._core.errors import ManifestError
from dbt_assets._core.settled import read_settled
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.run.artifacts import read_run_results
from tests.conftest import EXAMPLE_MANIFESTS

pytestmark = pytest.mark.unit  # starts no process


def write_slowly(path: Path, data: bytes, pieces: int = 20, pause: float = 0.02) -> threading.Thread:
    """Rewrite ``path`` in place the way dbt does (truncate, then write), slowly."""

    def write() -> None:
        step = len(data) // pieces + 1
        with open(path, "wb") as out:
            for i in range(0, len(data), step):
                out.write(data[i : i + step])
                out.flush()
                os.fsync(out.fileno())
                time.sleep(pause)

    thread = threading.Thread(target=write)
    thread.start()
    return thread


def _example() -> bytes:
    return gzip.decompress(EXAMPLE_MANIFESTS[-1].read_bytes())


def test_manifest_read_while_dbt_rewrites_it(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    data = _example()
    path.write_bytes(data)
    for _ in range(5):
        writer = write_slowly(path, data)
        time.sleep(0.05)  # the reader comes mid-write
        manifest = read_manifest(path)
        writer.join()
        assert "model.mini.items" in manifest.records


def test_run_results_read_while_written(tmp_path: Path) -> None:
    path = tmp_path / "run_results.json"
    doc = {"metadata": {"invocation_id": "abc", "dbt_version": "1.11.16"}, "args": {"pad": "x" * 200_000}}
    data = json.dumps({**doc, "results": []}).encode()  # any prefix of it is not JSON
    path.write_bytes(b"")
    writer = write_slowly(path, data)
    time.sleep(0.03)
    imported = read_run_results(path)
    writer.join()
    assert imported is not None


def test_a_broken_file_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[Path] = []  # counted, not timed: a loaded machine makes any read slow
    wait = settled._until_still
    monkeypatch.setattr(settled, "_until_still", lambda *args: (waits.append(args[0]), wait(*args))[1])
    path = tmp_path / "manifest.json"
    path.write_bytes(_example()[:5000])
    with pytest.raises(ManifestError, match="manifest is truncated"):
        read_manifest(path)
    assert len(waits) == 1, "a file that stays broken is waited on once, until it stands still"
    old = time.time() - 60
    os.utime(path, (old, old))
    del waits[:]
    with pytest.raises(ManifestError):
        read_manifest(path)
    assert waits == [], "an old broken file is not waited on at all"


def test_the_wait_is_bounded(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{")
    stop = threading.Event()

    def keep_touching() -> None:  # a file that never settles
        while not stop.is_set():
            path.write_text("{" * (int(time.time() * 1000) % 7 + 1))
            time.sleep(0.01)

    toucher = threading.Thread(target=keep_touching)
    toucher.start()
    started = time.monotonic()
    with pytest.raises(ValueError):
        read_settled(path, json.loads, wait=0.5)
    stop.set()
    toucher.join()
    assert time.monotonic() - started < 1.5


def test_a_yaml_file_read_again_is_the_same_and_a_copy_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """read_yaml(keep=True) parses a text once and keeps it by the text, not by the file's time
    or size: a file rewritten within the same clock tick (same size, same mtime) is read anew;
    the value a caller changes is not what the next caller gets; a broken text is never kept;
    without keep (profiles.yml, with its secrets), nothing is kept."""
    import yaml

    parses: list[str] = []
    load = yaml.load
    monkeypatch.setattr(yaml, "load", lambda text, **kw: parses.append(text) or load(text, **kw))
    path = tmp_path / "dbt_project.yml"
    path.write_text(f"name: shop\nvars: {{a: [1, 2]}}\n# {tmp_path}\n")
    first = settled.read_yaml(path, ManifestError, keep=True)
    first["vars"]["a"].append(3)
    again = settled.read_yaml(path, ManifestError, keep=True)
    assert again == {"name": "shop", "vars": {"a": [1, 2]}}
    again["name"] = "changed by a caller"
    assert settled.read_yaml(path, ManifestError, keep=True)["name"] == "shop"
    assert len(parses) == 1, "the same text is parsed once"
    profiles = tmp_path / "profiles.yml"
    profiles.write_text(f"shop: {{outputs: {{dev: {{password: secret}}}}}}\n# {tmp_path}\n")
    for _ in range(2):
        settled.read_yaml(profiles, ManifestError)
    assert len(parses) == 3 and all("secret" not in str(v) for v in settled._READ.values())
    stat = path.stat()
    path.write_text(f"name: shap\nvars: {{a: [1, 2]}}\n# {tmp_path}\n")  # the same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # and the same time
    assert settled.read_yaml(path, ManifestError, keep=True)["name"] == "shap"
    path.write_text("name: [shop\n")
    for _ in range(2):
        with pytest.raises(ManifestError, match="not valid YAML"):
            settled.read_yaml(path, ManifestError, keep=True)
