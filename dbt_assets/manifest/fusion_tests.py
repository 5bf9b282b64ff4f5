"""Generic tests of early dbt v2 ("Fusion") builds, which write no ``test_metadata``: what
dbt-core would have written for them (:func:`dbt_assets.manifest.fusion.fill_fusion`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any


def posix_path(path: str) -> str:
    """A manifest path with ``/`` between folders (a manifest written on Windows has ``\\``)."""
    return path.replace("\\", "/") if "\\" in path else path


class GenericTests:
    """Generic tests of early Fusion builds, which write no ``test_metadata``: what dbt-core
    would have written for them, from their names, parents and the project's test macros.

    dbt-core names a generic test ``[source_][namespace_]<test>_<target>_<arguments>``, where
    ``<target>`` is the tested model's name or ``<source>_<table>``; ``<test>`` is defined by a
    macro ``test_<test>`` (in the package ``namespace``, when there is one)."""

    def __init__(self, manifest: dict[str, Any], entries: dict[str, dict[str, Any]]) -> None:
        self.entries = entries
        self.packages_of: dict[str, set[str]] = {}
        macros = manifest.get("macros")
        for uid in macros if isinstance(macros, dict) else ():
            parts = str(uid).split(".", 2)
            if len(parts) == 3 and parts[2].startswith("test_"):
                self.packages_of.setdefault(parts[2][5:], set()).add(parts[1])

    def fill(self, entry: dict[str, Any]) -> Iterator[str]:
        metadata = entry.get("test_metadata")
        if isinstance(metadata, dict):
            yield from self._fill_generic(entry, metadata)
            return
        if not _is_generic(entry):
            return
        found = self._attached(entry)
        if found is None:
            return
        attached, namespace, test = found
        entry["test_metadata"] = {"name": test, "kwargs": {}, "namespace": namespace}
        entry.setdefault("attached_node", None)
        node = self.entries[attached]
        if node.get("resource_type") != "source" and entry["attached_node"] is None:
            entry["attached_node"] = attached
        entry["path"] = str(entry.get("path") or "").removeprefix("generic_tests/")
        yml = _properties_file(node)
        if yml is not None:
            entry["original_file_path"] = yml
            entry["fqn"] = [entry.get("package_name"), *PurePosixPath(yml).parent.parts[1:], entry["name"]]
        yield "generic test's test_metadata, attached node and YAML file from its name"

    def _fill_generic(self, entry: dict[str, Any], metadata: dict[str, Any]) -> Iterator[str]:
        """A generic test as dbt-core writes one: no namespace is ``null``, a source is no
        ``attached_node``, the YAML file is its ``original_file_path`` and no ``patch_path``,
        its ``path`` is the name of its SQL."""
        if "namespace" not in metadata:
            metadata["namespace"] = None
            yield "test_metadata.namespace"
        if str(entry.get("attached_node")).startswith("source."):
            entry["attached_node"] = None
            yield "no attached_node for a source's test"
        patch = entry.get("patch_path")
        if isinstance(patch, str) and patch.split("://", 1)[-1] == entry.get("original_file_path"):
            entry["patch_path"] = None
            yield "no patch_path for a generic test"
        path = entry.get("path")
        if isinstance(path, str) and path.startswith("generic_tests/"):
            entry["path"] = path[len("generic_tests/") :]
            yield "generic test path as the name of its SQL"

    def _attached(self, entry: dict[str, Any]) -> tuple[str, str | None, str] | None:
        """(attached node, namespace, test name): of the parents, the one whose target name
        follows a known generic test's name most closely."""
        name = str(entry.get("name") or "")
        best: tuple[int, str, str | None, str] | None = None
        for uid in (entry.get("depends_on") or {}).get("nodes") or []:
            node = self.entries.get(uid)
            if node is None:
                continue
            if node.get("resource_type") == "source":
                prefix, target = "source_", f"{node.get('source_name')}_{node.get('name')}"
            else:
                prefix, target = "", str(node.get("name"))
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix) :]
            at = rest.find(f"_{target}")
            while at > 0:
                end = at + len(target) + 1
                if end == len(rest) or rest[end] == "_":
                    known = self._test_named(rest[:at])
                    if known is not None and (best is None or at < best[0]):
                        best = (at, str(uid), *known)
                    break
                at = rest.find(f"_{target}", at + 1)
        return None if best is None else best[1:]

    def _test_named(self, written: str) -> tuple[str | None, str] | None:
        if written in self.packages_of:
            return None, written
        for package in sorted({p for ps in self.packages_of.values() for p in ps}, key=len, reverse=True):
            if written.startswith(f"{package}_") and package in self.packages_of.get(
                written[len(package) + 1 :], ()
            ):
                return package, written[len(package) + 1 :]
        return None


def _is_generic(entry: dict[str, Any]) -> bool:
    """An early build's generic test: its SQL is generated under ``generic_tests/``."""
    path = str(entry.get("path") or "")
    original = str(entry.get("original_file_path") or "")
    return path.startswith("generic_tests/") or "generic_tests/" in original


def _properties_file(node: dict[str, Any]) -> str | None:
    """The YAML file a node's generic tests are defined in: a source's own file, another
    node's properties file (``patch_path``, one per node in dbt)."""
    if node.get("resource_type") == "source":
        value = node.get("original_file_path")
        return posix_path(value) if isinstance(value, str) else None
    patch = node.get("patch_path")
    if isinstance(patch, str) and patch:
        return posix_path(patch.split("://", 1)[-1])
    return None
