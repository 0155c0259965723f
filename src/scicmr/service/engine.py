"""The serving engine: an immutable snapshot of the searchable library behind a swappable
reference.

A :class:`Snapshot` holds everything one query needs: record ids, their shared-space vectors
(unit rows, per modality), one vector index per modality (index ids are row positions) and
the filter columns (year, labels, authors). It is never modified. Writers build a new
snapshot off to the side and swap the engine's reference under a lock (copy-on-write), so a
query in flight keeps the snapshot it started with and never sees a half-updated index.

Filtered queries (year range, label, author) are ranked exactly over the rows that pass the
filter (a masked matrix product), because an ANN index cannot restrict its candidates; the
unfiltered ones go through the library's built index kind. Both rank by cosine similarity,
ties by ascending row position, as :mod:`scicmr.index` does.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.errors import InputError, LibraryError
from scicmr.index.base import normalise_rows
from scicmr.index.exact import top_k_rows
from scicmr.workflow.library_data import MODALITIES

# Index kinds the engine can rebuild in memory after a write; other float kinds fall back to
# exact, other Hamming kinds (trained IVF lists, HNSW graphs) to exact Hamming search.
_REBUILDABLE = ("exact", "flat", "hnsw")
_REBUILDABLE_CODES = ("hamming-exact", "hamming-flat")


@dataclass(frozen=True)
class Filters:
    """Restrictions on candidates. Empty fields do not filter.

    ``year_min``/``year_max`` are inclusive and drop records without a year; ``labels``
    keeps records holding any of them (case-insensitive exact match); ``author`` keeps
    records with an author name containing it (case-insensitive).
    """

    year_min: int | None = None
    year_max: int | None = None
    labels: tuple[str, ...] = ()
    author: str | None = None

    @property
    def active(self) -> bool:
        return self.year_min is not None or self.year_max is not None or bool(self.labels) or bool(self.author)


@dataclass(frozen=True)
class Snapshot:
    """One immutable view of the searchable records (rows = paired records in library order).

    Label and author filters go through inverted maps (name → row positions) built once per
    snapshot, so a filter costs one pass over the distinct names, not over the rows.
    """

    ids: tuple[str, ...]
    vectors: dict[str, np.ndarray]  # modality -> (n, k) float32, unit rows
    indexes: dict[str, Any]  # modality -> VectorIndex over row positions
    years: np.ndarray  # (n,) int64, 0 = unknown
    labels: tuple[frozenset, ...]  # lower-cased label names per row
    authors: tuple[tuple[str, ...], ...]  # lower-cased author names per row
    index_kind: str
    version: int = 0
    rerank: int | None = None  # hashing models: re-rank a Hamming shortlist of this size by cosine
    position: dict[str, int] = field(default_factory=dict, compare=False)
    label_rows: dict[str, np.ndarray] = field(default_factory=dict, compare=False)
    author_rows: dict[str, np.ndarray] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "position", {rid: p for p, rid in enumerate(self.ids)})
        object.__setattr__(self, "label_rows", _inverted(self.labels))
        object.__setattr__(self, "author_rows", _inverted(self.authors))

    def __len__(self) -> int:
        return len(self.ids)

    def _rows_mask(self, rows: list[np.ndarray]) -> np.ndarray:
        keep = np.zeros(len(self), dtype=bool)
        for positions in rows:
            keep[positions] = True
        return keep

    def mask(self, filters: Filters) -> np.ndarray | None:
        """(n,) bool rows passing ``filters``, or None when nothing is filtered."""
        if not filters.active:
            return None
        keep = np.ones(len(self), dtype=bool)
        if filters.year_min is not None:
            keep &= self.years >= filters.year_min
        if filters.year_max is not None:
            keep &= (self.years <= filters.year_max) & (self.years > 0)
        if filters.labels:
            keep &= self._rows_mask([self.label_rows.get(label.lower(), _NO_ROWS) for label in filters.labels])
        if filters.author:
            needle = filters.author.strip().lower()
            keep &= self._rows_mask([rows for name, rows in self.author_rows.items() if needle in name])
        return keep

    def rank(self, query: np.ndarray, target: str, k: int, offset: int, filters: Filters) -> tuple[list[tuple[int, float]], int]:
        """Hits ``offset .. offset+k-1`` for one (1, d) query vector.

        Returns:
            ([(row position, cosine score), ...], number of candidates that passed the filters).
        """
        need = offset + k
        mask = self.mask(filters)
        if mask is None:
            total = len(self)
            if total == 0:
                return [], 0
            scores, positions = self.indexes[target].search(query, min(need, total))
        else:
            candidates = np.flatnonzero(mask).astype(np.int64)
            total = int(candidates.size)
            if total == 0:
                return [], 0
            # One matrix-vector product over all rows, then a gather: cheaper than copying
            # the candidates' vectors out first.
            every = self.vectors[target] @ normalise_rows(np.asarray(query, dtype=np.float32))[0]
            scores, positions = top_k_rows(every[candidates][None, :], candidates, min(need, total))
        page = [(int(p), float(s)) for p, s in zip(positions[0], scores[0]) if p >= 0][offset:need]
        return page, total


_NO_ROWS = np.zeros(0, dtype=np.int64)


def _inverted(columns: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
    """{name: (m,) int64 rows holding it} from per-row name collections."""
    rows: dict[str, list[int]] = {}
    for position, names in enumerate(columns):
        for name in names:
            rows.setdefault(name, []).append(position)
    return {name: np.asarray(found, dtype=np.int64) for name, found in rows.items()}


def build_snapshot(records: Sequence[Record], vectors: dict[str, np.ndarray], index_kind: str,
                   version: int = 0, prebuilt: dict[str, Any] | None = None, rerank: int | None = None) -> Snapshot:
    """A snapshot of ``records`` (paired, in row order) and their (n, k) shared-space vectors.

    ``prebuilt`` indexes (loaded from the library and known to match the rows) are used as
    they are; otherwise an index of ``index_kind`` is built in memory.
    """
    return assemble(
        ids=tuple(r.id for r in records),
        unit={m: normalise_rows(np.ascontiguousarray(vectors[m], dtype=np.float32)) for m in MODALITIES},
        years=np.array([r.year or 0 for r in records], dtype=np.int64),
        labels=tuple(frozenset(label.lower() for label in r.labels) for r in records),
        authors=tuple(tuple(a.lower() for a in r.authors) for r in records),
        index_kind=index_kind, version=version, prebuilt=prebuilt, rerank=rerank,
    )


def assemble(ids, unit, years, labels, authors, index_kind: str, version: int,
             prebuilt: dict[str, Any] | None = None, rerank: int | None = None) -> Snapshot:
    """A snapshot from its columns, building the indexes ``prebuilt`` does not provide."""
    from scicmr.index import create_index

    indexes = dict(prebuilt or {})
    if index_kind.startswith("hamming"):
        kind = index_kind if index_kind in _REBUILDABLE_CODES else "hamming-flat"
    else:
        kind = index_kind if index_kind in _REBUILDABLE else "exact"
    for modality in MODALITIES:
        if modality not in indexes:
            if kind.startswith("hamming"):
                indexes[modality] = code_index(kind, unit[modality], rerank)
                continue
            index = create_index(kind, unit[modality].shape[1])
            index.add(unit[modality], np.arange(len(ids), dtype=np.int64))
            indexes[modality] = index
    return Snapshot(ids=tuple(ids), vectors=unit, indexes=indexes, years=years, labels=tuple(labels),
                    authors=tuple(authors), index_kind=kind, version=version, rerank=rerank)


def code_index(kind: str, relaxed_unit: np.ndarray, rerank: int | None = None):
    """A Hamming index of a hashing model's (n, bits) relaxed vectors (signs packed as codes;
    row positions as ids) answering float queries like the float indexes do; ``rerank`` = m
    re-ranks a Hamming shortlist of m by cosine."""
    from scicmr.hashing.codes import pack_codes
    from scicmr.index import create_index
    from scicmr.index.codes_search import CodeSearch

    index = create_index(kind, relaxed_unit.shape[1])
    if len(relaxed_unit):
        index.add(pack_codes(relaxed_unit), np.arange(len(relaxed_unit), dtype=np.int64))
    return CodeSearch(index, relaxed_unit, rerank)


def extended(snapshot: Snapshot, records: Sequence[Record], vectors: dict[str, np.ndarray]) -> Snapshot:
    """A new snapshot: ``snapshot`` plus ``records`` (appended rows) and their vectors."""
    more = build_snapshot(records, vectors, "exact")  # its columns only; its indexes are dropped
    return assemble(
        ids=snapshot.ids + more.ids,
        unit={m: np.concatenate([snapshot.vectors[m], more.vectors[m]]) for m in MODALITIES},
        years=np.concatenate([snapshot.years, more.years]),
        labels=snapshot.labels + more.labels,
        authors=snapshot.authors + more.authors,
        index_kind=snapshot.index_kind, version=snapshot.version + 1, rerank=snapshot.rerank,
    )


def without(snapshot: Snapshot, record_ids: Sequence[str]) -> Snapshot:
    """A new snapshot with the rows of ``record_ids`` removed (others keep their order)."""
    drop = {snapshot.position[i] for i in record_ids if i in snapshot.position}
    keep = np.array([p not in drop for p in range(len(snapshot))], dtype=bool)
    return assemble(
        ids=tuple(i for i, k in zip(snapshot.ids, keep) if k),
        unit={m: snapshot.vectors[m][keep] for m in MODALITIES},
        years=snapshot.years[keep],
        labels=tuple(lab for lab, k in zip(snapshot.labels, keep) if k),
        authors=tuple(a for a, k in zip(snapshot.authors, keep) if k),
        index_kind=snapshot.index_kind, version=snapshot.version + 1, rerank=snapshot.rerank,
    )


class SearchEngine:
    """Encodes queries with the library's trained model and answers them from the current
    snapshot. Writers call :meth:`swap` with a new snapshot while holding :attr:`write_lock`.
    """

    def __init__(self, lib: Library, model: str | None = None, rerank: int | None = None):
        from scicmr.workflow.search import Searcher

        self.lib = lib
        self.searcher = Searcher(lib, model)
        self.model_name = self.searcher.model_name
        self.rerank = rerank
        self.write_lock = threading.Lock()
        self.query_modalities: dict[str, str | None] = {}
        self._snapshot = self._load_snapshot()

    # ------------------------------------------------------------------ loading
    def _load_snapshot(self) -> Snapshot:
        from scicmr.workflow.library_data import paired_records
        from scicmr.workflow.index import load_built_index, shared_vectors

        records = paired_records(self.lib, None)
        ids = [r.id for r in records]
        vectors = shared_vectors(self.lib, self.model_name, ids) if ids else self._empty_vectors()
        kind = self.lib.meta.get("indexes", {}).get(self.model_name) or "exact"
        prebuilt = {}
        for modality in MODALITIES:
            built = load_built_index(self.lib, self.model_name, modality, kind, self.rerank) if ids else None
            # A built index is used only when it covers exactly the current records; a write
            # that failed before persisting its index must not leave a stale one in service.
            if built is not None and list(built[1]) == ids and len(built[0]) == len(ids):
                prebuilt[modality] = built[0]
        return build_snapshot(records, vectors, kind, prebuilt=prebuilt, rerank=self.rerank)

    def _empty_vectors(self) -> dict[str, np.ndarray]:
        dim = int(self.embed("text", ["probe"]).shape[1]) if self.can_query("text") else 1
        return {m: np.zeros((0, dim), dtype=np.float32) for m in MODALITIES}

    def warm_up(self) -> None:
        """Load both query encoders and run one probe query through each now, so the first
        request does not pay for loading weights; note the modalities that cannot be queried
        (a benchmark library of precomputed features has no encoder)."""
        from PIL import Image

        probes = {"text": "warm up", "image": Image.new("RGB", (64, 64), "white")}
        for modality in MODALITIES:
            try:
                self.embed(modality, [probes[modality]])
                self.query_modalities[modality] = None
            except (InputError, LibraryError) as exc:
                self.query_modalities[modality] = exc.problem

    def can_query(self, modality: str) -> bool:
        if modality not in self.query_modalities:
            self.warm_up()
        return self.query_modalities.get(modality) is None

    # ------------------------------------------------------------------ queries
    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot  # one attribute read: readers never see a half-swapped state

    def swap(self, snapshot: Snapshot) -> None:
        if not self.write_lock.locked():
            raise RuntimeError("swap() must be called while holding write_lock")
        self._snapshot = snapshot

    def encode_raw(self, modality: str, items: list[Any]) -> np.ndarray:
        """(m,) texts or image paths → (m, d) features of the library's own encoder."""
        return self.searcher._encoder(modality).encode(items, batch_size=32)

    def embed(self, modality: str, items: list[Any]) -> np.ndarray:
        """(q,) texts or PIL images → (q, k) shared-space vectors."""
        if modality == "text":
            return self.searcher.embed_text(items)
        return self.searcher.embed_image(items)

    def search(self, modality: str, item: Any, target: str, k: int, offset: int = 0,
               filters: Filters = Filters()) -> tuple[Snapshot, list[tuple[int, float]], int]:
        """Encode one query and rank ``target`` candidates; returns the snapshot used too."""
        if target not in MODALITIES:
            raise InputError(f"unknown target {target!r}", fix="use target=image or target=text")
        snapshot = self.snapshot
        vector = self.embed(modality, [item])
        hits, total = snapshot.rank(vector, target, k, offset, filters)
        return snapshot, hits, total
