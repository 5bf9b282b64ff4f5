"""The asset graph: every enabled resource of a manifest as a node, edges parent → child.

    >>> graph = AssetGraph.from_manifest(read_manifest("target/manifest.json"))  # doctest: +SKIP
    >>> graph.children(graph.find("orders"))                                      # doctest: +SKIP
    ['model.shop.customers', 'model.shop.order_revenue_daily', ...]
    >>> graph.nx                       # the same graph as a networkx.DiGraph   # doctest: +SKIP

Tests and unit tests are nodes too (dbt selects them like any other), and they are the
*checks* of the assets they depend on: :meth:`AssetGraph.checks`.

The graph keeps its own adjacency lists: traversals on them need no networkx import, which
keeps a cold ``dbt-assets ls`` fast. ``AssetGraph.nx`` builds the networkx graph on first use.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dbt_assets._core.errors import AssetNotFoundError
from dbt_assets._core.vocab import CHECK_TYPES, MATERIALIZED_TYPES
from dbt_assets.manifest.decode import ManifestData, NodeRecord, paused_gc

if TYPE_CHECKING:
    import networkx as nx

    from dbt_assets.manifest.asset import Asset

T = TypeVar("T")


class AssetGraph:
    """Assets of one manifest and their lineage.

    ``records`` maps unique_id to the decoded manifest entry; ``nx`` is the same graph as a
    :class:`networkx.DiGraph` (node = unique_id, attribute ``record``) for any algorithm
    networkx offers.
    """

    def __init__(self, manifest: ManifestData, project_dir: Path | None = None) -> None:
        self.manifest = manifest
        self.project_dir = project_dir
        """The project the manifest belongs to, when known (``path:`` globs its real files)."""
        self.records: dict[str, NodeRecord] = manifest.records
        with paused_gc():
            children: dict[str, list[str]] = {uid: [] for uid in self.records}
            for uid, record in self.records.items():
                for parent in record.depends_on.nodes:
                    children[parent].append(uid)
        self._children = children
        self._nx: nx.DiGraph[str] | None = None
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """Derived data (an index) computed once per graph; the graph never changes."""
        if key not in self._memo:
            self._memo[key] = build()
        value: T = self._memo[key]
        return value

    @property
    def nx(self) -> nx.DiGraph[str]:
        """The graph as a networkx ``DiGraph`` (built on first use)."""
        if self._nx is None:
            import networkx

            graph: nx.DiGraph[str] = networkx.DiGraph()
            with paused_gc():
                graph.add_nodes_from((uid, {"record": rec}) for uid, rec in self.records.items())
                graph.add_edges_from((uid, child) for uid, kids in self._children.items() for child in kids)
            self._nx = graph
        return self._nx

    @classmethod
    def from_manifest(cls, manifest: ManifestData, project_dir: Path | None = None) -> AssetGraph:
        return cls(manifest, project_dir)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[str]:
        return iter(self.records)

    def __contains__(self, unique_id: object) -> bool:
        return unique_id in self.records

    def record(self, unique_id: str) -> NodeRecord:
        return self.records[unique_id]

    def asset(self, unique_id: str) -> Asset:
        """The public :class:`~dbt_assets.manifest.asset.Asset` of ``unique_id``."""
        from dbt_assets.manifest.asset import asset_from_record

        return asset_from_record(self.records[unique_id], self.manifest.groups)

    def assets(self, unique_ids: Iterable[str] | None = None) -> Iterator[Asset]:
        for uid in self.records if unique_ids is None else unique_ids:
            yield self.asset(uid)

    def parents(self, unique_id: str) -> list[str]:
        """Direct upstream assets, in manifest order of ``depends_on``."""
        return list(self.records[unique_id].depends_on.nodes)

    def children(self, unique_id: str, *, include_checks: bool = False) -> list[str]:
        """Direct downstream assets; tests and unit tests only with ``include_checks``."""
        return sorted(
            uid
            for uid in self._children[unique_id]
            if include_checks or self.records[uid].resource_type not in CHECK_TYPES
        )

    def direct_children(self, unique_id: str) -> list[str]:
        """Every direct child, checks included, in manifest order (no copy: do not mutate)."""
        return self._children[unique_id]

    def checks(self, unique_id: str) -> list[str]:
        """The tests and unit tests that check ``unique_id`` (those that depend on it)."""
        return sorted(
            uid for uid in self._children[unique_id] if self.records[uid].resource_type in CHECK_TYPES
        )

    def upstream(self, unique_id: str) -> set[str]:
        """Every asset ``unique_id`` depends on, transitively."""
        return self.reach_up([unique_id])

    def downstream(self, unique_id: str) -> set[str]:
        """Every asset that depends on ``unique_id``, transitively."""
        return self.reach_down([unique_id])

    def reach_down(self, start: Iterable[str], depth: int | None = None) -> set[str]:
        """Everything downstream of the ``start`` assets, up to ``depth`` edges away (dbt's
        ``+N`` children: a start asset counts only if it is downstream of another)."""
        return self._layers(start, self._children.__getitem__, depth)

    def reach_up(self, start: Iterable[str], depth: int | None = None) -> set[str]:
        """Everything upstream of the ``start`` assets, up to ``depth`` edges away."""
        return self._layers(start, lambda uid: self.records[uid].depends_on.nodes, depth)

    @staticmethod
    def _layers(start: Iterable[str], step: Callable[[str], Iterable[str]], depth: int | None) -> set[str]:
        if depth is None:
            return AssetGraph._reach(start, step)
        found: set[str] = set()
        layer = set(start)
        for _ in range(depth):
            layer = {nxt for uid in layer for nxt in step(uid) if nxt not in found}
            if not layer:
                break
            found |= layer
        return found

    @staticmethod
    def _reach(start: Iterable[str], step: Callable[[str], Iterable[str]]) -> set[str]:
        seen: set[str] = set()
        stack = list(start)
        while stack:
            for nxt in step(stack.pop()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return seen

    def lookup(self, name: str) -> list[str]:
        """Unique ids an asset reference may mean: a unique_id, a name, ``name.vN`` or ``src.table``."""
        if name in self.records:
            return [name]
        return list(self._name_index().get(name, []))

    def _name_index(self) -> dict[str, list[str]]:
        return self.memo("name_index", self._build_name_index)

    def _build_name_index(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for uid, rec in self.records.items():
            # A source answers to ``source_name.table`` only, as in dbt's fqn method.
            if rec.resource_type != "source":
                index.setdefault(rec.name, []).append(uid)
            if rec.search_name != rec.name:
                index.setdefault(rec.search_name, []).append(uid)
        return index

    def find(self, name: str) -> str:
        """Resolve ``name`` to exactly one unique_id or raise a did-you-mean error.

        A name shared by a model and its tests, or by several versions, resolves to the one
        non-check asset that is the latest version; otherwise it is ambiguous.
        """
        matches = self.lookup(name)
        if len(matches) > 1:
            non_checks = [u for u in matches if self.records[u].resource_type not in CHECK_TYPES]
            matches = non_checks or matches
        if len(matches) > 1:
            latest = [u for u in matches if _is_latest_version(self.records[u])]
            matches = latest if len(latest) == 1 else matches
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise AssetNotFoundError(
                f"'{name}' is ambiguous: it matches {', '.join(sorted(matches))}",
                "pass the unique_id instead",
            )
        close = difflib.get_close_matches(name, list(self._name_index()), n=3, cutoff=0.6)
        hint = (
            f"did you mean {' or '.join(repr(c) for c in close)}?"
            if close
            else ("`dbt-assets ls --output name` lists every asset")
        )
        raise AssetNotFoundError(f"no asset named '{name}'", hint)


def _is_latest_version(record: NodeRecord) -> bool:
    if record.version is None:
        return False
    return record.latest_version is None or str(record.version) == str(record.latest_version)


def is_materialized(graph: AssetGraph, unique_id: str) -> bool:
    """Whether dbt materializes the asset (a model that is not ephemeral, a seed, a snapshot)."""
    record = graph.records[unique_id]
    return record.resource_type in MATERIALIZED_TYPES and record.config.get("materialized") != "ephemeral"


def materialized_parents(graph: AssetGraph, unique_id: str) -> list[str]:
    """The materialized assets and sources ``unique_id`` reads, looking through ephemeral
    models (inlined by dbt, so not assets of an orchestrator)."""
    found: list[str] = []
    todo = list(graph.records[unique_id].depends_on.nodes)
    seen: set[str] = set()
    while todo:
        parent = todo.pop(0)
        if parent in seen or parent not in graph.records:
            continue
        seen.add(parent)
        record = graph.records[parent]
        if record.resource_type == "source" or is_materialized(graph, parent):
            found.append(parent)
        elif record.resource_type == "model":  # ephemeral
            todo.extend(record.depends_on.nodes)
    return found
