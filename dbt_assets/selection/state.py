"""Selection against an earlier invocation's artifacts (dbt's ``--state DIR``).

``state:`` compares the manifest with ``DIR/manifest.json``, ``result:`` reads
``DIR/run_results.json`` and ``source_status:`` compares ``DIR/sources.json`` with the
``sources.json`` beside the current manifest, as dbt's methods of the same names do.

What "modified" means is dbt's own business and changes between dbt versions, so the
judgement is dbt's: a node whose manifest entry is unchanged (apart from its parse
timestamp and compiled SQL) is the same by construction; any other node is decoded with
dbt-core's node classes and compared with their ``same_*`` methods, exactly the calls
``dbt ls`` makes. Decoding is slow (milliseconds per node) but only new and changed
nodes pay for it.

    >>> select(graph, ["state:modified+"], state="prod-artifacts")     # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from argparse import Namespace
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import msgspec

from dbt_assets._core.errors import SelectionError
from dbt_assets._core.settled import read_settled, read_yaml
from dbt_assets._core.vocab import RECORD_SECTIONS

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

STATE_METHODS = frozenset({"state", "result", "source_status"})
"""The methods that read ``--state``."""

# Fields that differ between two parses (or a parse and a compile) of the same node and
# that no comparison reads.
_VOLATILE = frozenset(
    {"created_at", "compiled", "compiled_code", "compiled_path", "extra_ctes", "extra_ctes_injected"}
)
# The project behaviour flags (default off) that dbt's comparisons read.
_COMPARISON_FLAGS = ("state_modified_compare_more_unrendered_values",)
# The ``same_*`` method behind each ``state:modified.<kind>``.
_COMPARISONS = {
    "modified.body": "same_body",
    "modified.configs": "same_config",
    "modified.persisted_descriptions": "same_persisted_description",
    "modified.relation": "same_database_representation",
}


@dataclass
class PreviousState:
    """The artifacts of an earlier invocation: a directory holding some of ``manifest.json``,
    ``run_results.json`` and ``sources.json``.

    ``target_dir`` is where the current ``sources.json`` lives (beside the current manifest).
    """

    path: Path
    target_dir: Path | None = None
    project_dir: Path | None = None
    _files: dict[str, Any] = field(default_factory=dict, repr=False)
    _comparisons: dict[str, StateComparison] = field(default_factory=dict, repr=False)

    @classmethod
    def locate(cls, state: str | Path, project_dir: Path | None, target_dir: Path | None) -> PreviousState:
        """dbt's rule: a relative ``--state`` is relative to the project directory. Like dbt,
        a missing directory is an error only for a method that reads it."""
        path = Path(state).expanduser()
        if not path.is_absolute() and project_dir is not None:
            path = project_dir / path
        return cls(path.resolve(), target_dir, project_dir)

    def _read(self, path: Path, what: str, needed_by: str) -> Any:
        key = str(path)
        if key not in self._files:
            try:
                self._files[key] = read_settled(path, msgspec.json.decode, errors=(msgspec.DecodeError,))
            except FileNotFoundError as exc:
                if not path.parent.is_dir():
                    raise SelectionError(
                        f"--state: no such directory: {path.parent}",
                        "point --state at the target/ directory of the run to compare with"
                        " (a relative --state is relative to the project directory, as in dbt)",
                    ) from exc
                raise SelectionError(
                    f"'{needed_by}' needs {what}, and there is none at {path}",
                    f"copy {path.name} of the run to compare with into {path.parent}",
                ) from exc
            except (OSError, msgspec.DecodeError) as exc:
                raise SelectionError(f"cannot read {path}: {exc}") from exc
        return self._files[key]

    def manifest(self) -> dict[str, Any]:
        data: dict[str, Any] = self._read(self.path / "manifest.json", "a manifest", "state:")
        return data

    def compare(self, current_manifest: Path) -> StateComparison:
        """The comparison of the manifest at ``current_manifest`` with this state's."""
        key = str(current_manifest)
        if key not in self._comparisons:
            try:
                current = read_settled(current_manifest, msgspec.json.decode, errors=(msgspec.DecodeError,))
            except (OSError, msgspec.DecodeError) as exc:
                raise SelectionError(f"cannot re-read {current_manifest} to compare it: {exc}") from exc
            self._comparisons[key] = StateComparison(
                current, self.manifest(), _project_flags(self.project_dir)
            )
        return self._comparisons[key]

    def run_results(self) -> list[dict[str, Any]]:
        data = self._read(self.path / "run_results.json", "run results", "result:")
        return list(data.get("results") or [])

    def freshness(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(previous, current) results of ``dbt source freshness``."""
        previous = self._read(self.path / "sources.json", "source freshness results", "source_status:")
        if self.target_dir is None:
            raise SelectionError("'source_status:' needs the project's target/sources.json")
        current = self._read(
            self.target_dir / "sources.json", "current source freshness results", "source_status:"
        )
        return list(previous.get("results") or []), list(current.get("results") or [])


# --- state: ----------------------------------------------------------------------------


@dataclass
class StateComparison:
    """The current manifest against the previous one; built once per selection."""

    current: dict[str, Any]
    previous: dict[str, Any]
    project_flags: dict[str, Any] = field(default_factory=dict)
    """The ``flags:`` of dbt_project.yml; dbt's comparisons read some of them."""
    _macro_changed: dict[str, bool] = field(default_factory=dict, repr=False)

    @cached_property
    def current_entries(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return _entries(self.current)

    @cached_property
    def previous_entries(self) -> dict[str, tuple[str, dict[str, Any]]]:
        return _entries(self.previous)

    @cached_property
    def adapter_type(self) -> str | None:
        value = (self.current.get("metadata") or {}).get("adapter_type")
        return value if isinstance(value, str) else None

    @cached_property
    def modified_macros(self) -> set[str]:
        new, old = self.current.get("macros") or {}, self.previous.get("macros") or {}
        changed = {
            uid for uid, m in new.items() if uid not in old or m.get("macro_sql") != old[uid].get("macro_sql")
        }
        return changed | (set(old) - set(new))

    def macros_modified(self, entry: dict[str, Any]) -> bool:
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
        macro = (self.current.get("macros") or {}).get(uid) or {}
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
        found = set()
        for uid in unique_ids:
            section, new = self.current_entries.get(uid, ("", {}))
            old_entry = self.previous_entries.get(uid)
            if self._differs(selector, section, new, old_entry):
                found.add(uid)
        if selector in ("modified", "unmodified", "modified.contract"):
            self._check_removed_contracts()
        return found

    def _differs(
        self, selector: str, section: str, new: dict[str, Any], old_entry: tuple[str, dict[str, Any]] | None
    ) -> bool:
        if selector == "new":
            return old_entry is None
        if selector == "old":
            return old_entry is not None
        if selector == "modified.macros":
            return self.macros_modified(new)
        if selector == "unmodified":
            return not self._differs("modified", section, new, old_entry)
        old = old_entry[1] if old_entry is not None else None
        if old is not None and _stable(old) == _stable(new):
            # Identical entries: every same_* comparison holds; only macros can differ.
            return selector == "modified" and self.macros_modified(new)
        new_node = _dbt_node(section, new)
        old_node = _dbt_node(old_entry[0], old) if old_entry is not None and old is not None else None
        with _dbt_flags(self.project_flags):
            modified = _dbt_says_modified(selector, new_node, old_node, self.adapter_type)
        return modified or (selector == "modified" and self.macros_modified(new))

    def _check_removed_contracts(self) -> None:
        """dbt fails a state comparison when a versioned model with an enforced contract was
        deleted, renamed or disabled (for an unversioned one it only warns)."""
        current_nodes = self.current.get("nodes") or {}
        disabled = self.current.get("disabled") or {}
        today = dt.datetime.now(dt.UTC)
        for uid, old in (self.previous.get("nodes") or {}).items():
            if uid in current_nodes and uid not in disabled:
                continue
            if old.get("resource_type") != "model" or not (old.get("contract") or {}).get("enforced"):
                continue
            if old.get("version") is None or _past(old.get("deprecation_date"), today):
                continue
            how = "was disabled" if uid in disabled else "was deleted or renamed"
            raise SelectionError(
                f"breaking change to contract: contracted model '{uid}' {how}",
                "dbt refuses this comparison too; restore the model or compare with a newer --state",
            )


def _project_flags(project_dir: Path | None) -> dict[str, Any]:
    """The behaviour flags of the project's dbt_project.yml (none known without a project)."""
    if project_dir is None:
        return {}
    try:
        data = read_yaml(project_dir / "dbt_project.yml", SelectionError)
    except (OSError, SelectionError):
        return {}
    flags = data.get("flags") if isinstance(data, dict) else None
    return flags if isinstance(flags, dict) else {}


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


def _entries(manifest: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    entries: dict[str, tuple[str, dict[str, Any]]] = {}
    for section in reversed(RECORD_SECTIONS):  # earlier sections win (a unique_id is in one)
        for uid, entry in (manifest.get(section) or {}).items():
            entries[uid] = (section, entry)
    return entries


def _macros_of(entry: dict[str, Any]) -> list[str | None]:
    depends_on = entry.get("depends_on") or {}
    return list(depends_on.get("macros") or [])


def _stable(entry: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in entry.items() if key not in _VOLATILE}


def _past(date: Any, today: dt.datetime) -> bool:
    if not isinstance(date, str):
        return False
    try:
        when = dt.datetime.fromisoformat(date)
    except ValueError:
        return False
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)) < today


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
        return classes[section](entry)
    except Exception as exc:  # dbt's validation errors have no common base
        raise SelectionError(
            f"cannot compare {entry.get('unique_id', '?')}: dbt could not read its manifest entry ({exc})",
            "compare manifests written by the same dbt version",
        ) from exc


def _dbt_says_modified(selector: str, new: Any, old: Any | None, adapter_type: str | None) -> bool:
    """dbt's StateSelectorMethod checks, with dbt's node classes doing the comparing."""
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


# --- result: and source_status: --------------------------------------------------------


def result_nodes(state: PreviousState, status: str) -> set[str]:
    """``result:<status>``: nodes whose result in the previous run had that status."""
    return {str(r.get("unique_id")) for r in state.run_results() if r.get("status") == status}


def source_status_nodes(state: PreviousState, selector: str) -> set[str]:
    """``source_status:fresher``: sources loaded more recently now than in the previous
    freshness check (or not checked then); any other value selects nothing, as in dbt."""
    previous, current = state.freshness()
    if selector != "fresher":
        return set()
    now = {r["unique_id"]: _loaded_at(r) for r in current if "max_loaded_at" in r}
    before = {r["unique_id"]: _loaded_at(r) for r in previous if "max_loaded_at" in r}
    # dbt takes the failed checks from the current results for both sides.
    failed = {r.get("unique_id") for r in current if "max_loaded_at" not in r}
    return {uid for uid, at in now.items() if (uid not in before or at > before[uid]) and uid not in failed}


def _loaded_at(result: dict[str, Any]) -> dt.datetime:
    value = result["max_loaded_at"]
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise SelectionError(
            f"sources.json: bad max_loaded_at {value!r} for {result.get('unique_id')}"
        ) from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
