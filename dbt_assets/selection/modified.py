"""``state:`` — the current manifest against the one in ``--state``, as dbt ls compares them.

What "modified" means is dbt's own business and changes between dbt versions, so the
judgement is dbt's. Asking dbt is slow, though: importing its node classes alone costs about
as much as reading a 10,000-model manifest. So the comparison asks dbt only where dbt's
answer is not already settled:

1. Each entry's top-level values are kept as undecoded JSON (``msgspec.Raw``). An entry whose
   values are the same apart from its parse timestamp and compiled SQL is the same for every
   ``same_*`` check dbt has; that is nearly every entry, and it costs a comparison of bytes.
2. For a node whose ``same_contents`` starts from ``same_body`` (models, snapshots,
   analyses, singular tests, hooks), a changed ``raw_code`` settles ``modified`` and
   ``modified.body``: the checks are a conjunction, and the only one that could raise
   (``same_contract``) cannot for a model whose contract is enforced on neither side.
   A node that is new settles every ``modified.*`` check. Both rules hold in dbt 1.8 to 1.11.
3. Anything else is decoded with dbt-core's node classes and compared with their ``same_*``
   methods, exactly the calls ``dbt ls`` makes.

A manifest of dbt v2 (Fusion) is first filled as dbt-core would have written it
(:mod:`..manifest.fusion`); compared with a dbt-core manifest, both entries of a node are
put in one form before dbt judges them (:mod:`..manifest.crossing`: how each engine writes
the same config, macro or unit test), and the engines' own macros are not the project's.

    >>> StateComparison.of(current_manifest, previous_manifest).check("modified", ids)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from argparse import Namespace
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import msgspec

from dbt_assets._core.errors import SelectionError
from dbt_assets._core.vocab import RECORD_SECTIONS
from dbt_assets.manifest.crossing import comparable, engine_packages
from dbt_assets.manifest.fusion import filled_json, is_fusion
from dbt_assets.selection.dbt_classes import constraint_support, quiet_dbt

STATE_SELECTORS = (
    "new",
    "old",
    "modified",
    "unmodified",
    "modified.body",
    "modified.configs",
    "modified.persisted_descriptions",
    "modified.relation",
    "modified.macros",
    "modified.contract",
)
"""What ``state:`` accepts, in dbt's order."""

Fields = dict[str, msgspec.Raw]
"""A manifest entry, its top-level values left undecoded."""

_Section = dict[str, Fields] | None
ComparedManifest = msgspec.defstruct(
    "ComparedManifest",
    [
        ("metadata", dict[str, Any] | None, None),
        *((section, _Section, None) for section in (*RECORD_SECTIONS, "macros")),
        ("disabled", dict[str, msgspec.Raw] | None, None),
    ],
)
"""What a comparison reads of a manifest (the rest is skipped while decoding)."""

# Fields that differ between two parses (or a parse and a compile) of the same node and
# that no comparison reads.
_VOLATILE = frozenset(
    {"created_at", "compiled", "compiled_code", "compiled_path", "extra_ctes", "extra_ctes_injected"}
)
_MASK: dict[str, Any] = dict.fromkeys(_VOLATILE)
# The project behaviour flags (default off) that dbt's comparisons read.
_COMPARISON_FLAGS = ("state_modified_compare_more_unrendered_values",)
# The ``same_*`` method behind each ``state:modified.<kind>``.
_COMPARISONS = {
    "modified.body": "same_body",
    "modified.configs": "same_config",
    "modified.persisted_descriptions": "same_persisted_description",
    "modified.relation": "same_database_representation",
}
# Node types whose dbt class keeps ParsedNode's same_body (raw_code) and same_contents
# (same_contract first, then same_body and the rest); singular tests join them below.
_BODY_FIRST = frozenset({"model", "analysis", "snapshot", "operation", "sql"})


def decode_compared(data: bytes) -> Any:
    """The parts of a manifest's JSON a comparison reads, entries left undecoded; a dbt v2
    (Fusion) manifest filled first as dbt-core would have written it (:mod:`..manifest.fusion`),
    so that the same project compares equal across the two engines."""
    compared: Any = msgspec.json.decode(data, type=ComparedManifest)
    if is_fusion(compared.metadata):
        filled, _ = filled_json(data, keep=("macros", "disabled"))
        compared = msgspec.json.decode(filled, type=ComparedManifest)
    return compared


@dataclass
class StateComparison:
    """The current manifest against the previous one; built once per selection."""

    current: Any
    """The current manifest, as :func:`decode_compared` reads it."""
    previous: Any
    project_flags: dict[str, Any] = field(default_factory=dict)
    """The ``flags:`` of dbt_project.yml; dbt's comparisons read some of them."""
    _macro_changed: dict[str, bool] = field(default_factory=dict, repr=False)
    _nodes: dict[str, tuple[Any, Any | None]] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, current: dict[str, Any], previous: dict[str, Any], **kwargs: Any) -> StateComparison:
        """A comparison of two manifests given as plain data."""
        return cls(
            decode_compared(msgspec.json.encode(current)),
            decode_compared(msgspec.json.encode(previous)),
            **kwargs,
        )

    @cached_property
    def current_entries(self) -> dict[str, tuple[str, Fields]]:
        return _entries(self.current)

    @cached_property
    def previous_entries(self) -> dict[str, tuple[str, Fields]]:
        return _entries(self.previous)

    @cached_property
    def adapter_type(self) -> str | None:
        value = (self.current.metadata or {}).get("adapter_type")
        return value if isinstance(value, str) else None

    @cached_property
    def cross_engine(self) -> bool:
        """Whether one manifest is dbt-core's and the other dbt v2's (:mod:`..manifest.crossing`)."""
        return is_fusion(self.current.metadata) != is_fusion(self.previous.metadata)

    @cached_property
    def modified_macros(self) -> set[str]:
        new, old = self.current.macros or {}, self.previous.macros or {}
        changed = {
            uid for uid, m in new.items() if uid not in old or not _same_value(m, old[uid], "macro_sql")
        }
        changed |= set(old) - set(new)
        if self.cross_engine:
            # Each engine brings its own dbt macros (not the project's), and writes a macro's
            # text with or without the blank lines around it in its file.
            engines = engine_packages(self.current.metadata, new) | engine_packages(
                self.previous.metadata, old
            )
            changed = {
                uid
                for uid in changed
                if uid.split(".")[1] not in engines
                and (uid not in new or uid not in old or _stripped(new[uid]) != _stripped(old[uid]))
            }
        return changed

    def macros_modified(self, entry: Fields) -> bool:
        """Whether any macro the entry calls, directly or through other macros, changed."""
        if not self.modified_macros or "depends_on" not in entry:
            return False
        return any(self._macro_tree_changed(uid, set()) for uid in _macros_of(entry))

    def _macro_tree_changed(self, uid: str | None, visiting: set[str]) -> bool:
        if uid is None:
            raise SelectionError(
                "a node depends on a macro or test that does not exist",
                "check for typos, or a macro or generic test that was removed but is still used",
            )
        memo = self._macro_changed
        if uid in memo:
            return memo[uid]
        if uid in self.modified_macros:
            memo[uid] = True
            return True
        visiting.add(uid)
        macro = (self.current.macros or {}).get(uid) or {}
        changed = any(d not in visiting and self._macro_tree_changed(d, visiting) for d in _macros_of(macro))
        visiting.discard(uid)
        memo[uid] = changed
        return changed

    def check(self, selector: str, unique_ids: Iterable[str]) -> set[str]:
        if selector not in STATE_SELECTORS:
            raise SelectionError(
                f"invalid state selector 'state:{selector}'",
                f"use one of {', '.join(STATE_SELECTORS)}",
            )
        found = {uid for uid in unique_ids if self._differs(selector, uid)}
        if selector in ("modified", "unmodified", "modified.contract"):
            self._check_removed_contracts()
        return found

    def _differs(self, selector: str, uid: str) -> bool:
        section, new = self.current_entries.get(uid, ("", {}))
        old_entry = self.previous_entries.get(uid)
        if selector == "new":
            return old_entry is None
        if selector == "old":
            return old_entry is not None
        if selector == "modified.macros":
            return self.macros_modified(new)
        if selector == "unmodified":
            return not self._differs("modified", uid)
        old = old_entry[1] if old_entry is not None else None
        if old is not None and _same_entry(new, old):
            # Identical entries: every same_* comparison holds; only macros can differ.
            return selector == "modified" and self.macros_modified(new)
        # across engines, the text of an unchanged body may differ in form (manifest.crossing)
        modified = None if self.cross_engine and old is not None else _settled(selector, section, new, old)
        if modified is None:
            new_node, old_node = self._dbt_nodes(uid)
            with _dbt_flags(self.project_flags):
                modified = _dbt_says_modified(selector, new_node, old_node, self.adapter_type)
        return modified or (selector == "modified" and self.macros_modified(new))

    def _dbt_nodes(self, uid: str) -> tuple[Any, Any | None]:
        """The current and previous entry as dbt's node objects (made once per entry)."""
        if uid not in self._nodes:
            section, new = self.current_entries.get(uid, ("", {}))
            old_section, old = self.previous_entries.get(uid, ("", None))
            new_entry, old_entry = _decoded(new), _decoded(old) if old is not None else None
            if self.cross_engine and old_entry is not None:
                comparable(new_entry, old_entry)
            old_node = _dbt_node(old_section, old_entry) if old_entry is not None else None
            self._nodes[uid] = (_dbt_node(section, new_entry), old_node)
        return self._nodes[uid]

    def _check_removed_contracts(self) -> None:
        """dbt fails a state comparison when a versioned model with an enforced contract was
        deleted, renamed or disabled (for an unversioned one it only warns)."""
        current_nodes = self.current.nodes or {}
        disabled = self.current.disabled or {}
        today = dt.datetime.now(dt.UTC)
        for uid, old in (self.previous.nodes or {}).items():
            if uid in current_nodes and uid not in disabled:
                continue
            if _value(old, "resource_type") != "model" or not _enforced(old):
                continue
            if _value(old, "version") is None or _past(_value(old, "deprecation_date"), today):
                continue
            how = "was disabled" if uid in disabled else "was deleted or renamed"
            raise SelectionError(
                f"breaking change to contract: contracted model '{uid}' {how}",
                "dbt refuses this comparison too; restore the model or compare with a newer --state",
            )


def _entries(manifest: Any) -> dict[str, tuple[str, Fields]]:
    entries: dict[str, tuple[str, Fields]] = {}
    for section in reversed(RECORD_SECTIONS):  # earlier sections win (a unique_id is in one)
        for uid, entry in (getattr(manifest, section) or {}).items():
            entries[uid] = (section, entry)
    return entries


def _value(entry: Fields, key: str, default: Any = None) -> Any:
    raw = entry.get(key)
    return default if raw is None else msgspec.json.decode(raw)


def _decoded(entry: Fields, skip: frozenset[str] = frozenset()) -> dict[str, Any]:
    return {key: msgspec.json.decode(raw) for key, raw in entry.items() if key not in skip}


def _same_value(new: Fields, old: Fields, key: str) -> bool:
    return new.get(key) == old.get(key) or _value(new, key) == _value(old, key)


def _same_entry(new: Fields, old: Fields) -> bool:
    """Equal apart from the volatile fields: the same bytes, or else the same values (a
    manifest written by another JSON writer spells equal values differently)."""
    if new == old or {**new, **_MASK} == {**old, **_MASK}:
        return True
    return _decoded(new, _VOLATILE) == _decoded(old, _VOLATILE)


def _stripped(macro: Fields) -> Any:
    text = _value(macro, "macro_sql")
    return text.strip() if isinstance(text, str) else text


def _enforced(entry: Fields) -> Any:
    contract = _value(entry, "contract") or {}
    return contract.get("enforced", False) if isinstance(contract, dict) else contract


def _settled(selector: str, section: str, new: Fields, old: Fields | None) -> bool | None:
    """dbt's answer where its code leaves only one (the module's rule 2), else None."""
    if section != "nodes" or not new:
        return None
    if old is None:  # every node class has each same_* that dbt asks: all say "modified"
        return True
    if selector not in ("modified", "modified.body") or "raw_code" not in new or "raw_code" not in old:
        return None
    kind = _value(new, "resource_type")
    if kind not in _BODY_FIRST and not (kind == "test" and "test_metadata" not in new):
        return None
    if _same_value(new, old, "raw_code"):
        return False if selector == "modified.body" else None
    if (
        selector == "modified"
        and kind == "model"
        and (_enforced(new) is not False or _enforced(old) is not False)
    ):
        return None  # same_contract may raise on a breaking change: dbt decides
    return True


def _macros_of(entry: Fields) -> list[str | None]:
    depends_on = _value(entry, "depends_on") or {}
    return list(depends_on.get("macros") or [])


def _past(date: Any, today: dt.datetime) -> bool:
    if not isinstance(date, str):
        return False
    try:
        when = dt.datetime.fromisoformat(date)
    except ValueError:
        return False
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)) < today


# --- dbt's own judgement ---------------------------------------------------------------


@contextmanager
def _dbt_flags(project_flags: dict[str, Any]) -> Iterator[None]:
    """dbt's global flags as dbt ls would have them while comparing (its node classes read
    the project's behaviour flags), restored afterwards."""
    from dbt import flags

    previous = flags.get_flags()  # type: ignore[no-untyped-call]
    current = Namespace(**vars(previous))
    for name in _COMPARISON_FLAGS:
        setattr(current, name, bool(project_flags.get(name, False)))
    flags.set_flags(current)  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        flags.set_flags(previous)  # type: ignore[no-untyped-call]


def _dbt_node(section: str, entry: dict[str, Any]) -> Any:
    """The manifest entry as dbt-core's own node object (imported only when needed)."""
    from dbt.contracts.graph import nodes

    classes: dict[str, Callable[[dict[str, Any]], Any]] = {
        "nodes": nodes.ParsedNode._deserialize,
        "sources": nodes.SourceDefinition.from_dict,
        "exposures": nodes.Exposure.from_dict,
        "metrics": nodes.Metric.from_dict,
        "semantic_models": nodes.SemanticModel.from_dict,
        "unit_tests": nodes.UnitTestDefinition.from_dict,
        "saved_queries": nodes.SavedQuery.from_dict,
        "functions": nodes.FunctionNode.from_dict,
    }
    try:
        node = classes[section](entry)
    except Exception as exc:  # dbt's validation errors have no common base
        raise SelectionError(
            f"cannot compare {entry.get('unique_id', '?')}: dbt could not read its manifest entry ({exc})",
            "compare manifests written by the same dbt version",
        ) from exc
    # Checksums dbt-core computes while parsing and dbt v2 (Fusion) does not write: computed by
    # dbt-core's own code, so that an unchanged node compares equal across the two engines.
    if isinstance(node, nodes.UnitTestDefinition) and not node.checksum:
        node.build_unit_test_checksum()  # type: ignore[no-untyped-call]
    contract = getattr(node, "contract", None)
    if contract is not None and contract.enforced is True and contract.checksum is None:
        getattr(node, "build_contract_checksum", lambda: None)()
    return node


def _dbt_says_modified(selector: str, new: Any, old: Any | None, adapter_type: str | None) -> bool:
    """dbt's StateSelectorMethod checks, with dbt's node classes doing the comparing."""
    with quiet_dbt(), constraint_support(adapter_type):  # dbt's warnings go to stdout: ours
        return _dbt_judges(selector, new, old, adapter_type)


def _dbt_judges(selector: str, new: Any, old: Any | None, adapter_type: str | None) -> bool:
    from dbt.contracts.graph import nodes

    try:
        if selector in _COMPARISONS:
            name = _COMPARISONS[selector]
            return hasattr(new, name) and (old is None or not getattr(new, name)(old))
        if selector == "modified.contract":
            return hasattr(new, "same_contract") and (old is None or not new.same_contract(old, adapter_type))
        # "modified": the contents, or the contract of a model
        own_contents = (
            nodes.SourceDefinition,
            nodes.Exposure,
            nodes.Metric,
            nodes.SemanticModel,
            nodes.UnitTestDefinition,
            nodes.SavedQuery,
        )
        if isinstance(new, own_contents):
            different = not new.same_contents(old)
        else:
            different = not new.same_contents(old, adapter_type)
        contract = isinstance(old, nodes.ModelNode) and hasattr(new, "same_contract")
        return different or (contract and not new.same_contract(old, adapter_type))
    except SelectionError:
        raise
    except Exception as exc:  # a breaking contract change raises in dbt, too
        raise SelectionError(f"state comparison of {new.unique_id} failed: {exc}") from exc
