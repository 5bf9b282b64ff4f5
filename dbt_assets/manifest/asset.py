"""The public shape of an asset: what an orchestrator needs to know about one dbt resource.

Built on demand from the fast internal :class:`~dbt_assets.manifest.decode.NodeRecord`; a graph of
10,000 models never builds 10,000 of these unless asked to.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dbt_assets.manifest.decode import GroupRecord, NodeRecord


class Column(BaseModel):
    """A documented column of an asset."""

    name: str
    description: str = ""
    data_type: str | None = None
    meta: dict[str, Any] = {}
    tags: list[str] = []


class SourceFreshness(BaseModel):
    """dbt's freshness config of a source: the source asset's own SLA."""

    loaded_at_field: str | None = None
    warn_after: dict[str, Any] | None = None
    error_after: dict[str, Any] | None = None
    filter: str | None = None


class Asset(BaseModel):
    """One model, seed, snapshot, source, exposure, metric, ... of a dbt project.

    >>> graph.asset("model.shop.orders").materialized      # doctest: +SKIP
    'table'
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, serialize_by_alias=True)

    unique_id: str
    resource_type: str
    name: str
    search_name: str = Field(description="the name `dbt ls --output name` prints")
    package_name: str
    fqn: list[str]
    original_file_path: str
    path: str
    materialized: str | None = None
    database: str | None = None
    schema_name: str | None = Field(default=None, alias="schema")
    alias: str | None = None
    relation_name: str | None = None
    tags: list[str] = []
    meta: dict[str, Any] = {}
    owners: list[str] = []
    group: str | None = None
    access: str | None = None
    version: str | None = None
    latest_version: str | None = None
    description: str = ""
    columns: dict[str, Column] = {}
    checksum: str | None = None
    config: dict[str, Any] = {}
    depends_on: list[str] = []
    source_name: str | None = None
    freshness: SourceFreshness | None = None
    test_name: str | None = Field(default=None, description="generic test name, e.g. unique")
    attached_node: str | None = None
    column_name: str | None = None
    label: str | None = None
    exposure_type: str | None = None
    maturity: str | None = None
    url: str | None = None


class AssetDetail(BaseModel):
    """One asset with its neighbours: what ``dbt-assets show`` prints."""

    asset: Asset
    parents: list[str]
    children: list[str]
    checks: list[str]
    sla: dict[str, Any] | None = Field(
        default=None, description="the effective SLA (durations in seconds); for a source, its freshness"
    )


def effective_meta(record: NodeRecord) -> dict[str, Any]:
    """``meta`` as dbt resolves it: top-level meta overlaid by ``config.meta``."""
    config_meta = record.config.get("meta")
    if isinstance(config_meta, dict) and config_meta:
        return {**record.meta, **config_meta}
    return record.meta


def group_of(record: NodeRecord) -> str | None:
    group = record.group or record.config.get("group")
    return group if isinstance(group, str) else None


def owners_of(record: NodeRecord, groups: dict[str, GroupRecord]) -> list[str]:
    """Owners from ``meta.owner``/``meta.owners``, the exposure's owner, then the group's owner."""
    found: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, str) and value and value not in found:
            found.append(value)
        elif isinstance(value, list):
            for item in value:
                add(item)
        elif isinstance(value, dict):
            add(value.get("email") or value.get("name"))

    meta = effective_meta(record)
    add(meta.get("owner"))
    add(meta.get("owners"))
    if record.owner:
        add(record.owner)
    group = group_of(record)
    if group and group in groups:
        add(groups[group].owner)
    return found


def _version_str(value: str | int | float | None) -> str | None:
    return None if value is None else str(value)


def asset_from_record(record: NodeRecord, groups: dict[str, GroupRecord]) -> Asset:
    """Build the public :class:`Asset` for one manifest record."""
    config = record.config
    checksum = record.checksum.get("checksum") if isinstance(record.checksum, dict) else record.checksum
    freshness = None
    if record.resource_type == "source":
        fresh = record.freshness or {}
        freshness = {
            "loaded_at_field": record.loaded_at_field,
            "warn_after": fresh.get("warn_after"),
            "error_after": fresh.get("error_after"),
            "filter": fresh.get("filter"),
        }
    columns = {
        key: {k: v for k, v in col.items() if k in Column.model_fields}
        for key, col in record.columns.items()
        if isinstance(col, dict)
    }
    access = record.access or config.get("access")
    return _validated(
        unique_id=record.unique_id,
        resource_type=record.resource_type,
        name=record.name,
        search_name=record.search_name,
        package_name=record.package_name,
        fqn=record.fqn,
        original_file_path=record.original_file_path,
        path=record.path,
        materialized=config.get("materialized"),
        database=record.database,
        schema=record.schema,
        alias=record.alias or record.identifier,
        relation_name=record.relation_name,
        tags=record.tags,
        meta=effective_meta(record),
        owners=owners_of(record, groups),
        group=group_of(record),
        access=access if isinstance(access, str) else None,
        version=_version_str(record.version),
        latest_version=_version_str(record.latest_version),
        description=record.description or "",
        columns=columns,
        checksum=checksum if isinstance(checksum, str) else None,
        config=config,
        depends_on=record.depends_on.nodes,
        source_name=record.source_name,
        freshness=freshness,
        test_name=(record.test_metadata or {}).get("name"),
        attached_node=record.attached_node,
        column_name=record.column_name,
        label=record.label,
        exposure_type=record.type if record.resource_type == "exposure" else None,
        maturity=record.maturity,
        url=record.url,
    )


def _validated(**values: Any) -> Asset:
    """An :class:`Asset` from manifest values, leaving out (at their defaults) the values of an
    unexpected shape: a column or a field that only ``show``/``export`` read must not stop them."""
    try:
        return Asset.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors():
            key, *rest = error["loc"]
            if key == "columns" and rest:
                values["columns"].pop(rest[0], None)
            else:
                values.pop(str(key), None)
        return Asset.model_validate(values)
