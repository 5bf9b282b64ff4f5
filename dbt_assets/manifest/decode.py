"""Read dbt's ``manifest.json`` fast, keeping only what an asset graph needs.

The manifest of a 10,000-model project is tens of megabytes, mostly SQL text, compiled code
and macro metadata that an asset graph never looks at. Decoding it with typed msgspec structs
that name only the fields we use is several times faster than ``json.loads`` and allocates a
fraction of the memory (see ``benchmarks/README.md``).

    >>> m = read_manifest("target/manifest.json")          # doctest: +SKIP
    >>> m.schema_version, len(m.records)                   # doctest: +SKIP
    (12, 61)
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from dbt_assets._core.errors import ManifestError, ManifestVersionError
from dbt_assets._core.settled import read_settled
from dbt_assets._core.vocab import ASSET_RESOURCE_TYPES, RECORD_SECTIONS
from dbt_assets.manifest.fusion import FUSION_SCHEMA_TAG, filled_json, is_fusion
from dbt_assets.manifest.fusion_tests import posix_path

SUPPORTED_SCHEMA_VERSIONS = (10, 11, 12)
"""Manifest schema versions we read: v10 (dbt 1.6), v11 (dbt 1.7), v12 (dbt 1.8 to 1.11, and
dbt v2 "Fusion", whose early builds tag it v20)."""

DBT_VERSIONS_BY_SCHEMA = {10: "dbt 1.6", 11: "dbt 1.7", 12: "dbt 1.8 to 1.11"}


_VERSION_RE = re.compile(r"/manifest/v(\d+)\.json$")


class DependsOn(msgspec.Struct, frozen=True, gc=False):
    nodes: list[str] = []
    macros: list[str] = []


class NodeRecord(msgspec.Struct, gc=False):
    """One manifest entry (node, source, exposure, ...) with the fields an asset needs.

    Internal and fast; the public shape is :class:`dbt_assets.manifest.asset.Asset`.
    """

    unique_id: str
    resource_type: str
    name: str
    package_name: str
    original_file_path: str = ""
    patch_path: str | None = None
    path: str = ""
    fqn: list[str] = []
    config: dict[str, Any] = {}
    tags: list[str] = []
    meta: dict[str, Any] = {}
    description: str | None = ""
    columns_json: msgspec.Raw = msgspec.field(default=msgspec.Raw(b"{}"), name="columns")
    depends_on: DependsOn = DependsOn()
    database: str | None = None
    schema: str | None = None
    alias: str | None = None
    relation_name: str | None = None
    checksum: Any = None
    group: str | None = None
    access: str | None = None
    version: str | int | float | None = None
    latest_version: str | int | float | None = None
    language: str | None = None
    """A model's language: ``sql`` or ``python``."""
    # sources
    source_name: str | None = None
    identifier: str | None = None
    loaded_at_field: str | None = None
    freshness: dict[str, Any] | None = None
    # exposures, metrics, saved queries
    owner: dict[str, Any] | None = None
    label: str | None = None
    type: str | None = None
    maturity: str | None = None
    url: str | None = None
    # tests, unit tests, semantic models
    test_metadata: dict[str, Any] | None = None
    column_name: str | None = None
    attached_node: str | None = None
    model: str | None = None

    @property
    def columns(self) -> dict[str, Any]:
        """Column docs, decoded on first use (most commands never look at them)."""
        value = msgspec.json.decode(self.columns_json)
        return value if isinstance(value, dict) else {}

    @property
    def enabled(self) -> bool:
        return self.config.get("enabled", True) is not False

    @property
    def search_name(self) -> str:
        """The name ``dbt ls --output name`` prints (``name.v2`` for versions, ``src.tbl``)."""
        if self.resource_type == "source":
            return f"{self.source_name}.{self.name}"
        if self.resource_type == "model" and self.version is not None:
            return f"{self.name}.v{self.version}"
        return self.name


class GroupRecord(msgspec.Struct, gc=False):
    name: str
    owner: dict[str, Any] = {}
    unique_id: str = ""


class _Manifest(msgspec.Struct):
    metadata: dict[str, Any] | None = None
    nodes: dict[str, NodeRecord] = {}
    sources: dict[str, NodeRecord] = {}
    exposures: dict[str, NodeRecord] = {}
    metrics: dict[str, NodeRecord] = {}
    semantic_models: dict[str, NodeRecord] = {}
    saved_queries: dict[str, NodeRecord] = {}
    unit_tests: dict[str, NodeRecord] = {}
    functions: dict[str, NodeRecord] = {}
    groups: dict[str, GroupRecord] = {}
    selectors: dict[str, Any] = {}


class _MetadataOnly(msgspec.Struct):
    metadata: Any = None


_DECODER = msgspec.json.Decoder(_Manifest)
_S = TypeVar("_S", bound=msgspec.Struct)


class ManifestData(msgspec.Struct):
    """A decoded, validated manifest: enabled asset records in manifest order."""

    path: str
    schema_version: int
    metadata: dict[str, Any]
    records: dict[str, NodeRecord]
    groups: dict[str, GroupRecord]
    selectors: dict[str, Any]
    ignored: list[str] = []
    """Fields the graph does not need whose value had an unexpected type, reset to their
    default (``$.path: reason``); empty for any manifest dbt's schemas allow."""
    engine: str = "dbt-core"
    """The dbt that wrote the manifest: ``dbt-core`` (dbt 1.x) or ``dbt-fusion`` (dbt v2)."""
    notes: list[str] = []
    """What was read differently from dbt-core's manifest, one line each: a Fusion manifest's
    schema tag and what was filled the way dbt-core fills it (:mod:`.fusion`)."""

    @property
    def project_name(self) -> str | None:
        value = self.metadata.get("project_name")
        return value if isinstance(value, str) else None

    @property
    def dbt_version(self) -> str | None:
        value = self.metadata.get("dbt_version")
        return value if isinstance(value, str) else None


def schema_version_of(metadata: Any, path: str | Path) -> int:
    """Return the manifest schema version from ``metadata`` or raise a clear error."""
    url = metadata.get("dbt_schema_version") if isinstance(metadata, dict) else None
    if not isinstance(url, str):
        raise ManifestError(
            f"{path}: not a dbt manifest (no metadata.dbt_schema_version)",
            "point --manifest at the manifest.json that dbt writes under target/",
        )
    match = _VERSION_RE.search(url)
    if match is None:
        raise ManifestError(
            f"{path}: not a dbt manifest (its schema is {url})",
            "point --manifest at the manifest.json that dbt writes under target/",
        )
    version = int(match.group(1))
    if version == FUSION_SCHEMA_TAG:
        return 12  # dbt v2 (Fusion) tags v12's shape v20; dbt's own readers read it as v12
    if version not in SUPPORTED_SCHEMA_VERSIONS:
        supported = ", ".join(f"v{v} ({DBT_VERSIONS_BY_SCHEMA[v]})" for v in SUPPORTED_SCHEMA_VERSIONS)
        supported += f", v12 and v{FUSION_SCHEMA_TAG} (dbt Fusion 2.0)"
        if is_fusion(metadata) or version > max(SUPPORTED_SCHEMA_VERSIONS):
            hint = "this dbt-assets does not know that format yet: upgrade dbt-assets"
        else:
            hint = "re-create the manifest with a supported dbt version (dbt parse)"
        raise ManifestVersionError(
            f"{path}: manifest schema v{version} is not supported; supported: {supported}", hint
        )
    return version


class _Unfinished(Exception):
    """Bytes that are not (yet) whole JSON: maybe a manifest dbt is still writing."""

    def __init__(self, error: ManifestError) -> None:
        super().__init__(error.message)
        self.error = error


def decode_manifest(data: bytes, path: str | Path = "<bytes>") -> ManifestData:
    """Decode and validate manifest bytes; raise :class:`ManifestError` naming ``path``."""
    try:
        return _decode_paused(data, path)
    except _Unfinished as exc:
        raise exc.error from exc.__cause__


def _decode_paused(data: bytes, path: str | Path) -> ManifestData:
    try:
        with paused_gc():
            return _decode(data, path)
    except RecursionError as exc:  # msgspec gives up at the interpreter's recursion limit
        raise ManifestError(
            f"{path}: not a dbt manifest: its JSON is nested too deeply", "re-create it with `dbt parse`"
        ) from exc


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic GC while building large acyclic structures.

    A manifest decodes into millions of small objects; letting the GC rescan them while
    more are created costs as much as decoding them. They hold no reference cycles.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _decode(data: bytes, path: str | Path) -> ManifestData:
    ignored: list[str] = []
    raw = _decode_raw(data, path, ignored)
    version = schema_version_of(raw.metadata, path)
    engine, notes = "dbt-core", []
    if is_fusion(raw.metadata):
        engine, notes = "dbt-fusion", _fusion_notes(raw.metadata)
        if any(isinstance(s, dict) and "default" not in s for s in raw.selectors.values()):
            notes.append(
                "selectors: the manifest does not say which one is the default; with --manifest"
                " alone none is (with the project directory, selectors.yml says)"
            )
        filled, filling = filled_json(data, keep=("groups", "selectors"))
        ignored, notes = [], notes[:1] + filling + notes[1:]
        raw = _decode_raw(filled, path, ignored)
    records: dict[str, NodeRecord] = {}
    for section in RECORD_SECTIONS:
        for uid, record in getattr(raw, section).items():
            if record.resource_type in ASSET_RESOURCE_TYPES and record.enabled:
                # Own the column bytes, so the whole file's buffer can be freed.
                if len(record.columns_json) > 2:
                    record.columns_json = msgspec.Raw(bytes(record.columns_json))
                if record.resource_type == "unit_test" and not record.tags:
                    record.tags = _config_tags(record.config.get("tags"))
                if (
                    "\\" in record.original_file_path
                    or "\\" in record.path
                    or "\\" in (record.patch_path or "")
                ):
                    _posix_paths(record)  # a manifest written on Windows
                records[uid] = record
    for uid, record in records.items():
        for parent in record.depends_on.nodes:
            if parent not in records:
                raise ManifestError(
                    f"{path}: {uid} depends on {parent}, which is not an enabled node of the manifest",
                    "the manifest is inconsistent; re-create it with `dbt parse`",
                )
    assert raw.metadata is not None  # checked by schema_version_of
    return ManifestData(
        path=str(path),
        schema_version=version,
        metadata=raw.metadata,
        records=records,
        groups={g.name: g for g in raw.groups.values()},
        selectors=raw.selectors,
        ignored=ignored,
        engine=engine,
        notes=notes,
    )


def _decode_raw(data: bytes, path: str | Path, ignored: list[str]) -> _Manifest:
    try:
        raw: _Manifest = _DECODER.decode(data)
    except msgspec.ValidationError:
        # Report an unsupported version before a shape mismatch it probably explains.
        schema_version_of(_metadata_of(data), path)
        raw = _decode_leniently(data, path, ignored)
    except msgspec.DecodeError as exc:
        problem = "truncated" if "truncated" in str(exc) else f"not valid JSON ({exc})"
        error = ManifestError(f"{path}: manifest is {problem}", "re-create it with `dbt parse`")
        raise _Unfinished(error) from exc
    return raw


def _fusion_notes(metadata: Any) -> list[str]:
    version = metadata.get("dbt_version") if isinstance(metadata, dict) else None
    url = str(metadata.get("dbt_schema_version") if isinstance(metadata, dict) else "")
    tag = _VERSION_RE.search(url)
    read_as = f", tagged v{tag.group(1)}, read as v12" if tag and tag.group(1) != "12" else ""
    return [f"written by dbt Fusion {version or '(version unknown)'}{read_as}"]


def _posix_paths(record: NodeRecord) -> None:
    record.original_file_path = posix_path(record.original_file_path)
    record.path = posix_path(record.path)
    if record.patch_path is not None:
        record.patch_path = posix_path(record.patch_path)


# Fields the asset graph is built from: a malformed one is a ManifestError naming its JSON
# path. Any other field holding a value of an unexpected type is reset to its default and
# listed in ``ManifestData.ignored`` (fields only ``show``/``export`` read must not stop
# ``ls`` or ``run``).
_NEEDED = frozenset(
    {"unique_id", "resource_type", "name", "package_name", "fqn", "depends_on", "config", "tags"}
)


def _lenient(cls: type[msgspec.Struct]) -> Any:
    """``cls`` with every field typed ``Any``, to be checked one by one by :func:`_repair`."""
    fields = []
    for f in msgspec.structs.fields(cls):
        options: dict[str, Any] = {"name": f.encode_name}
        if f.default is not msgspec.NODEFAULT:
            options["default"] = f.default
        elif f.default_factory is not msgspec.NODEFAULT:
            options["default_factory"] = f.default_factory
        fields.append((f.name, msgspec.Raw if f.type is msgspec.Raw else Any, msgspec.field(**options)))
    return msgspec.defstruct(f"Lenient{cls.__name__}", fields, gc=False)


_LenientNode: Any = _lenient(NodeRecord)
_LenientGroup: Any = _lenient(GroupRecord)
_LENIENT_DECODER = msgspec.json.Decoder(
    msgspec.defstruct(
        "LenientManifest",
        [
            ("metadata", dict[str, Any] | None, None),
            *((section, dict[str, _LenientNode], {}) for section in RECORD_SECTIONS),
            ("groups", dict[str, _LenientGroup], {}),
            ("selectors", dict[str, Any], {}),
        ],
    )
)


def _decode_leniently(data: bytes, path: str | Path, ignored: list[str]) -> _Manifest:
    """Decode a manifest that the fast decoder refused, field by field: an odd value of a
    field the graph does not need is reset (and listed in ``ignored``), a malformed needed
    field is a :class:`ManifestError` naming its JSON path."""
    try:
        lenient: Any = _LENIENT_DECODER.decode(data)
    except msgspec.ValidationError as exc:
        raise ManifestError(
            f"{path}: not a valid dbt manifest: {exc}", "re-create it with `dbt parse`"
        ) from exc
    sections = {
        section: {
            uid: _repair(entry, NodeRecord, f"$.{section}[{uid!r}]", path, ignored)
            for uid, entry in getattr(lenient, section).items()
        }
        for section in RECORD_SECTIONS
    }
    groups = {
        uid: _repair(entry, GroupRecord, f"$.groups[{uid!r}]", path, ignored)
        for uid, entry in lenient.groups.items()
    }
    return _Manifest(metadata=lenient.metadata, groups=groups, selectors=lenient.selectors, **sections)


def _repair(entry: Any, cls: type[_S], where: str, path: str | Path, ignored: list[str]) -> _S:
    values: dict[str, Any] = {}
    for f in msgspec.structs.fields(cls):
        value = getattr(entry, f.name)
        if f.type is msgspec.Raw:
            values[f.name] = value
            continue
        if f.name == "tags" and isinstance(value, str):
            value = [value]  # v12's schema allows a saved query's tags to be one string
        try:
            values[f.name] = msgspec.convert(value, f.type)
        except msgspec.ValidationError as exc:
            if f.name in _NEEDED:
                raise ManifestError(
                    f"{path}: not a valid dbt manifest: {where}.{f.encode_name}: {exc}",
                    "re-create it with `dbt parse`",
                ) from exc
            ignored.append(f"{where}.{f.encode_name}: {exc}")
            values[f.name] = f.default if f.default is not msgspec.NODEFAULT else f.default_factory()
    return cls(**values)


def _config_tags(tags: Any) -> list[str]:
    """A unit test's tags: dbt keeps them in its config only (``UnitTestDefinition.tags``)."""
    if isinstance(tags, str):
        return [tags]
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _metadata_of(data: bytes) -> Any:
    try:
        return msgspec.json.decode(data, type=_MetadataOnly).metadata
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None


def read_manifest(path: str | Path) -> ManifestData:
    """Read and decode the manifest file at ``path``, waiting out a dbt that is writing it."""
    try:
        return read_settled(Path(path), lambda data: _decode_paused(data, path), errors=(_Unfinished,))
    except _Unfinished as exc:
        raise exc.error from exc.__cause__
    except FileNotFoundError as exc:
        raise ManifestError(
            f"{path}: no such manifest", "run `dbt parse` or pass --project-dir instead of --manifest"
        ) from exc
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read manifest: {exc.strerror}") from exc
