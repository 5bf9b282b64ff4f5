"""What a change review says, as values: every result of ``dbt-assets diff`` is one of these
(msgspec structs, so JSON, text, markdown and the report all read the same fields).

    >>> review.changed[0].kinds, review.changed[0].columns          # doctest: +SKIP
    (['body', 'contract'], [ColumnChange(name='email', change='removed', ...)])

Lists are in a stable order (by resource type, then name, then unique_id), so two runs on the
same artifacts give the same output byte for byte.
"""

from __future__ import annotations

from typing import Any

import msgspec

KIND_ORDER = ("new", "removed", "body", "configs", "relation", "persisted_descriptions", "macros", "contract")
"""The kinds of change, in dbt's terms and this order; ``modified`` is a change dbt gives no
sub-kind (a semantic model's, a metric's)."""


class ValueChange(msgspec.Struct, frozen=True):
    """One configuration key (or relation part) with its value before and after (None: unset)."""

    key: str
    before: Any = None
    after: Any = None


class ColumnChange(msgspec.Struct, frozen=True):
    """A column ``added``, ``removed`` or ``type_changed`` (``before``/``after``: data types)."""

    name: str
    change: str
    before: str | None = None
    after: str | None = None


class AssetChange(msgspec.Struct, frozen=True):
    """One changed asset: the kinds of change dbt's ``state:`` methods see, and what exactly
    changed for each."""

    unique_id: str
    name: str
    """The name ``dbt ls -o name`` prints: ``customer_segments.v2`` for a version."""
    resource_type: str
    package_name: str
    kinds: list[str]
    """Of :data:`KIND_ORDER`, or ``["modified"]`` for a change without a sub-kind."""
    materialized: str | None = None
    owners: list[str] = []
    version: str | None = None
    configs: list[ValueChange] = []
    """The configuration keys whose value changed (``modified.configs``)."""
    relation: list[ValueChange] = []
    """database, schema, alias (identifier for a source) as configured (``modified.relation``)."""
    columns: list[ColumnChange] = []
    """Declared columns added, removed or retyped, from the manifests."""
    breaking: list[str] = []
    """Breaking changes to an enforced contract, in dbt's words; empty when none."""
    macros: list[str] = []
    """The changed macros it calls (``modified.macros``)."""
    body: dict[str, int] = {}
    """Lines ``added`` and ``removed`` in its code (``modified.body``)."""
    descriptions: list[str] = []
    """What persisted description changed: ``description``, ``column <name>``."""
    refused: str | None = None
    """dbt refuses to compare it (a breaking change to a versioned model's contract): its message."""


class OwnerImpact(msgspec.Struct, frozen=True):
    """The changed and downstream assets one owner owns (``(no owner)`` for the rest)."""

    owner: str
    changed: list[str]
    downstream: list[str]
    exposures: list[str] = []


class ExposureReached(msgspec.Struct, frozen=True):
    unique_id: str
    name: str
    label: str | None
    type: str | None
    owners: list[str]
    url: str | None
    maturity: str | None
    via: list[str]
    """The changed assets upstream of it."""


class SlaAffected(msgspec.Struct, frozen=True):
    """The SLA of a changed or downstream asset, in words (``deadline 07:00 Europe/Berlin``)."""

    unique_id: str
    name: str
    sla: list[str]
    changed: bool


class Cost(msgspec.Struct, frozen=True):
    """The predicted cost of building ``state:modified+``: the p90 of each asset's recent
    successful execution times, summed (``work``) and along the longest chain
    (``critical_path``); assets with no recorded time are ``unknown``, not counted as free."""

    assets: int
    known: int
    work: float
    critical_path: float
    path: list[str]
    unknown: list[str]
    basis: str
    """Where the times came from: ``history``, ``run_results.json``, both, or ``none``."""


class DeadlineRisk(msgspec.Struct, frozen=True):
    """A deadline of a changed or downstream asset, judged as ``sla check`` does with the
    change's work added: everything of ``state:modified+`` on its upstream chain rebuilt now."""

    unique_id: str
    name: str
    deadline: str
    timezone: str
    status: str
    """With the change: ``at_risk``, ``ok``, ``breached``, ``warn`` or ``unknown``."""
    without_change: str
    """The same deadline judged without the change's work."""
    next_due: str | None
    estimate: float | None
    estimated_finish: str | None
    critical_path: list[str]
    unknown: list[str]
    """Assets on its upstream chain that will be rebuilt and have no recorded time."""
    message: str


class DataDiff(msgspec.Struct, frozen=True):
    """One changed model built in CI against its production relation.

    ``status`` is ``compared``, ``not_compared`` (nothing to compare with, and why: a new
    model, an ephemeral one, a build that failed) or ``error`` (a comparison that was tried
    and failed: never reported as a success)."""

    unique_id: str
    name: str
    status: str
    reason: str | None = None
    ci_relation: str | None = None
    prod_relation: str | None = None
    rows_ci: int | None = None
    rows_prod: int | None = None
    schema: list[ColumnChange] = []
    """Columns of the two relations as the warehouse has them: added, removed, retyped."""
    key: list[str] = []
    key_source: str | None = None
    """Where the key came from: ``contract``, ``test unique``, ``test unique_combination_of_columns``."""
    added: int | None = None
    """Rows (by key) only in CI."""
    removed: int | None = None
    """Rows (by key) only in production."""
    changed: int | None = None
    """Rows in both whose compared columns differ."""
    unchanged: int | None = None
    compared_columns: list[str] = []
    changed_by_column: dict[str, int] = {}
    not_compared_columns: dict[str, str] = {}
    """Columns in one relation only, each with what it holds (``only in CI: 42 non-null``):
    never silently left out of the value diff."""
    duplicate_keys: dict[str, int] = {}
    """Key values present more than once, per side (``ci``, ``prod``): the value diff then
    is not by row."""

    @property
    def differs(self) -> bool:
        """Whether the data differs from production (schema, rows or values)."""
        if self.status != "compared":
            return False
        counts = (self.added, self.removed, self.changed)
        return bool(self.schema) or self.rows_ci != self.rows_prod or any(c for c in counts if c)


class BuildOutcome(msgspec.Struct, frozen=True):
    """The CI build of ``state:modified+``: how dbt's invocation ended."""

    argv: list[str]
    status: str
    exit_code: int
    counts: dict[str, int]
    failed: list[str]
    target: str | None = None


class ChangeReview(msgspec.Struct, frozen=True):
    """Everything ``dbt-assets diff`` says about a change (see the module docstring)."""

    state: str
    """The production artifacts compared with."""
    state_dbt_version: str | None
    state_generated_at: str | None
    at: str
    """The moment deadlines are judged at."""
    changed: list[AssetChange]
    downstream: list[str]
    """The unique_ids of ``state:modified+`` that are not changed themselves (checks left out)."""
    checks: int
    """Tests and unit tests in ``state:modified+``."""
    names: dict[str, str]
    """The name of each asset mentioned (unique_id → name)."""
    owners: list[OwnerImpact]
    exposures: list[ExposureReached]
    slas: list[SlaAffected]
    cost: Cost
    deadlines: list[DeadlineRisk]
    selection: list[str] = []
    build: BuildOutcome | None = None
    data: list[DataDiff] | None = None
    """The data comparison of ``--build`` (None without it)."""

    @property
    def breaking(self) -> list[AssetChange]:
        return [c for c in self.changed if c.breaking]

    @property
    def at_risk(self) -> list[DeadlineRisk]:
        """Deadlines the change puts at risk (not at risk without it)."""
        return [d for d in self.deadlines if d.status == "at_risk" and d.without_change != "at_risk"]

    @property
    def data_differs(self) -> list[DataDiff]:
        return [d for d in self.data or [] if d.differs]

    @property
    def errors(self) -> list[DataDiff]:
        return [d for d in self.data or [] if d.status == "error"]
