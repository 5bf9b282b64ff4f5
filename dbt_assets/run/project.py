"""A dbt project on disk: where its files, profiles and manifest are, and keeping the manifest fresh.

    >>> project = Project("fixtures/dbt_project")          # doctest: +SKIP
    >>> graph = project.graph()   # runs `dbt parse` first if the manifest is missing or stale

The manifest is stale when it is older than ``dbt_project.yml``, ``selectors.yml``,
``packages.yml``/``dependencies.yml`` or any file under the project's model, seed, snapshot,
test, macro, analysis and function paths, or when ``target`` or ``vars`` differ from those
of the last dbt command that dbt-assets ran (``dbt parse``, or a run that rewrote the manifest).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dbt_assets._core.errors import DbtAssetsError, ProfilesNotFoundError, ProjectNotFoundError, one_line
from dbt_assets._core.outputs import write_atomic
from dbt_assets._core.settled import read_yaml
from dbt_assets.manifest.decode import read_manifest
from dbt_assets.manifest.graph import AssetGraph
from dbt_assets.run.dbt_cli import run_dbt

PATH_KEYS = {
    "model-paths": ["models"],
    "seed-paths": ["seeds"],
    "snapshot-paths": ["snapshots"],
    "test-paths": ["tests"],
    "macro-paths": ["macros"],
    "analysis-paths": ["analyses"],
    "function-paths": ["functions"],
}
TOP_LEVEL_FILES = ("dbt_project.yml", "selectors.yml", "packages.yml", "dependencies.yml")
PARSE_STAMP = "dbt_assets_parse.json"


def resolve_profiles_dir(project_dir: Path, profiles_dir: str | Path | None) -> Path:
    """Where profiles.yml is: the option, ``$DBT_PROFILES_DIR``, the project, the working
    directory, then ``~/.dbt`` (dbt's own order, plus the project directory)."""
    if profiles_dir is not None:
        candidates = [Path(profiles_dir)]
    elif os.environ.get("DBT_PROFILES_DIR"):
        candidates = [Path(os.environ["DBT_PROFILES_DIR"])]
    else:
        candidates = [project_dir, Path.cwd(), Path.home() / ".dbt"]
    for candidate in candidates:
        if (candidate / "profiles.yml").is_file():
            return candidate.resolve()
    where = ", ".join(dict.fromkeys(str(c.resolve()) for c in candidates))  # the project may be the cwd
    raise ProfilesNotFoundError(
        f"no profiles.yml found (looked in {where})",
        "pass --profiles-dir DIR or set DBT_PROFILES_DIR to the folder holding profiles.yml",
    )


class Project:
    """A dbt project directory and how to run dbt against it."""

    def __init__(
        self,
        project_dir: str | Path = ".",
        *,
        profiles_dir: str | Path | None = None,
        target: str | None = None,
        dbt_executable: str | None = None,
        vars: str | None = None,
    ) -> None:
        self.project_dir = Path(project_dir).resolve()
        if not (self.project_dir / "dbt_project.yml").is_file():
            raise ProjectNotFoundError(
                f"no dbt project at {project_dir} (dbt_project.yml not found)",
                "pass --project-dir DIR or set DBT_PROJECT_DIR to a folder with dbt_project.yml",
            )
        self._profiles_dir = profiles_dir
        self.target = target
        self.vars = vars
        """dbt ``--vars`` (YAML): they can change what the project contains, so they are
        passed to ``dbt parse`` too."""
        self.dbt_executable = dbt_executable
        self._config: dict[str, Any] | None = None

    @property
    def config(self) -> dict[str, Any]:
        """``dbt_project.yml`` as a dict (read once)."""
        if self._config is None:
            path = self.project_dir / "dbt_project.yml"
            loaded = read_yaml(path, ProjectNotFoundError, keep=True)
            if not isinstance(loaded, dict):
                raise ProjectNotFoundError(f"{path}: expected a mapping at the top level")
            self._config = loaded
        return self._config

    @property
    def profiles_dir(self) -> Path:
        return resolve_profiles_dir(self.project_dir, self._profiles_dir)

    @property
    def target_path(self) -> Path:
        configured = os.environ.get("DBT_TARGET_PATH") or self.config.get("target-path") or "target"
        return self.project_dir / str(configured)

    @property
    def manifest_path(self) -> Path:
        return self.target_path / "manifest.json"

    def source_files(self) -> Iterator[Path]:
        """Every file whose change makes the manifest stale."""
        for name in TOP_LEVEL_FILES:
            path = self.project_dir / name
            if path.is_file():
                yield path
        for key, default in PATH_KEYS.items():
            dirs = self.config.get(key, default)
            for rel in dirs if isinstance(dirs, list) else [dirs]:
                root = self.project_dir / str(rel)
                for dirpath, _dirnames, filenames in os.walk(root):
                    for filename in filenames:
                        yield Path(dirpath, filename)

    def stale_reason(self) -> str | None:
        """Why the manifest must be re-created, or None when it is fresh."""
        manifest = self.manifest_path
        try:
            manifest_mtime = manifest.stat().st_mtime_ns
        except FileNotFoundError:
            return f"{self._rel(manifest)} is missing"
        for path in self.source_files():
            try:
                if path.stat().st_mtime_ns > manifest_mtime:
                    return f"{self._rel(path)} changed after {self._rel(manifest)} was written"
            except FileNotFoundError:
                continue
        # Which target and vars a manifest was parsed for is known only when dbt-assets ran dbt.
        stamp = self._read_stamp()
        known = stamp.get("manifest_mtime_ns") == manifest_mtime
        wanted = {"target": self.target, "vars": self.vars}
        if any(stamp.get(key) != value for key, value in wanted.items()) if known else any(wanted.values()):
            return f"{self._rel(manifest)} was not parsed for {self._parse_options(wanted)}"
        return None

    @property
    def packages_dir(self) -> Path:
        """Where ``dbt deps`` installs the project's packages."""
        return self.project_dir / str(self.config.get("packages-install-path", "dbt_packages"))

    def stamped(self) -> bool:
        """Whether the manifest on disk is the one dbt-assets last stamped (a ``dbt parse`` or a
        run it ran), for this target and these vars: not one another process wrote since."""
        try:
            mtime = self.manifest_path.stat().st_mtime_ns
        except OSError:
            return False
        stamp = self._read_stamp()
        wanted = {"manifest_mtime_ns": mtime, "target": self.target, "vars": self.vars}
        return all(stamp.get(key) == value for key, value in wanted.items())

    @staticmethod
    def _parse_options(options: dict[str, Any]) -> str:
        target = f"target '{options['target']}'" if options.get("target") else "the default target"
        return target + (f" and vars {options['vars']}" if options.get("vars") else "")

    def parse(self, reason: str = "asked to") -> None:
        """Run ``dbt parse`` (from the project directory) to re-create the manifest."""
        profiles_dir = self.profiles_dir  # fail on missing profiles before announcing the parse
        import logging  # a library never prints: what it tells its user goes to this logger

        logging.getLogger("dbt_assets").warning("dbt-assets: %s; running `dbt parse`", one_line(reason))
        argv = ["parse", "--project-dir", str(self.project_dir), "--profiles-dir", str(profiles_dir)]
        argv += self.dbt_options()
        run_dbt(argv, cwd=self.project_dir, executable=self.dbt_executable)
        if not self.manifest_path.is_file():
            raise DbtAssetsError(f"`dbt parse` succeeded but wrote no {self.manifest_path}")
        self.stamp_manifest()

    def dbt_options(self) -> list[str]:
        """``--target`` and ``--vars`` as given to this project, for any dbt command."""
        options = ["--target", self.target] if self.target is not None else []
        return options + (["--vars", self.vars] if self.vars is not None else [])

    def stamp_manifest(self, mtime_ns: int | None = None) -> None:
        """Remember that the current manifest was written for this target and these vars
        (after ``dbt parse``, or after a dbt command dbt-assets ran rewrote it; ``mtime_ns``:
        the time of one a warm dbt is writing). Whole or not at all, and only a help: when it
        cannot be written (a full disk), or is lost to a power cut (not synced: a run's 4 ms),
        the next command with a target or vars parses again."""
        try:
            mtime = self.manifest_path.stat().st_mtime_ns if mtime_ns is None else mtime_ns
            stamp = {"target": self.target, "vars": self.vars, "manifest_mtime_ns": mtime}
            write_atomic(self.target_path / PARSE_STAMP, json.dumps(stamp).encode(), sync=False)
        except OSError:
            with contextlib.suppress(OSError):  # a stamp of an older manifest would mislead
                (self.target_path / PARSE_STAMP).unlink(missing_ok=True)

    def ensure_manifest(self) -> Path:
        """The path of an up-to-date manifest, running ``dbt parse`` when needed."""
        reason = self.stale_reason()
        if reason is not None:
            self.parse(reason)
        return self.manifest_path

    def graph(self) -> AssetGraph:
        """The asset graph of the project, from a fresh manifest."""
        return AssetGraph(read_manifest(self.ensure_manifest()), self.project_dir)

    def _read_stamp(self) -> dict[str, Any]:
        try:
            value = json.loads((self.target_path / PARSE_STAMP).read_text())
        except (OSError, ValueError):
            return {}
        return value if isinstance(value, dict) else {}

    def _rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.project_dir))
        except ValueError:
            return str(path)
