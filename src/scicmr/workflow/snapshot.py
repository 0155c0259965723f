"""An immutable snapshot of a library's searchable rows and the one ranking every search uses.

A :class:`Snapshot` holds everything one query needs: record ids, their shared-space vectors
(unit rows, per modality), one vector index per modality (index ids are row positions) and
the filter columns (year, labels, authors). It is never modified: a write builds a new one
(:func:`extended`, :func:`without`), so a reader holding a snapshot never sees a half-updated
index (the service swaps snapshots under a lock: copy-on-write).

Filtered queries (year range, label, author) are ranked exactly over the rows that pass the
filter (a masked matrix product), because an ANN index cannot restrict its candidates; the
unfiltered ones go through the library's built index kind. Both rank by cosine similarity,
ties by ascending row position, as :mod:`scicmr.index` does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.index.base import normalise_rows
from scicmr.index.exact import top_k_rows
from scicmr.workflow.library_data import MODALITIES

# Index kinds a snapshot can rebuild in memory after a write; other float kinds fall back to
# exact, other Hamming kinds (trained IVF lists, HNSW graphs) to exact Hamming search.
_REBUILDABLE = ("exact", "flat", "hnsw")
_REBUILDABLE_CODES = ("hamming-exact", "hamming-flat")

_log = logging.getLogger(__name__)


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
    model_version: str | None = None  # the model version the vectors came from (stamped on saved indexes)
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

    def top(self, queries: np.ndarray, target: str, n: int, filters: Filters = Filters()) -> tuple[np.ndarray, np.ndarray, int]:
        """The best ``n`` ``target`` rows of each query, by cosine, ties by ascending row.

        Args:
            queries: (q, d) float32 shared-space vectors.
            target: "image" or "text" (which vectors are ranked).
            n: rows wanted per query, >= 1.
            filters: restrict the candidates (ranked exactly, see the module docstring).

        Returns:
            scores (q, m) float32 and row positions (q, m) int64, best first, m = min(n,
            candidates) (a Hamming index may pad with -1); and the number of candidates that
            passed the filters.
        """
        queries = np.asarray(queries, dtype=np.float32)
        index = self.indexes[target]
        if hasattr(index, "search_filtered"):  # an engine that filters itself (Milvus): filters pushed down
            return index.search_filtered(queries, n, year_min=filters.year_min, year_max=filters.year_max,
                                         labels=filters.labels, author=filters.author)
        mask = self.mask(filters)
        candidates = None if mask is None else np.flatnonzero(mask).astype(np.int64)
        total = len(self) if candidates is None else int(candidates.size)
        if total == 0:
            return np.zeros((len(queries), 0), np.float32), np.zeros((len(queries), 0), np.int64), 0
        if candidates is None:
            scores, positions = self.indexes[target].search(queries, min(n, total))
            return scores, positions, total
        # One matrix product over all rows, then a gather: cheaper than copying the
        # candidates' vectors out first.
        every = (self.vectors[target] @ normalise_rows(queries).T).T
        scores, positions = top_k_rows(every[:, candidates], candidates, min(n, total))
        return scores, positions, total

    def rank(self, query: np.ndarray, target: str, k: int, offset: int, filters: Filters) -> tuple[list[tuple[int, float]], int]:
        """Hits ``offset .. offset+k-1`` for one (1, d) query vector.

        Returns:
            ([(row position, cosine score), ...], number of candidates that passed the filters).
        """
        scores, positions, total = self.top(query, target, offset + k, filters)
        page = [(int(p), float(s)) for p, s in zip(positions[0], scores[0]) if p >= 0][offset:offset + k]
        return page, total


_NO_ROWS = np.zeros(0, dtype=np.int64)


def _inverted(columns: Sequence[Sequence[str]]) -> dict[str, np.ndarray]:
    """{name: (m,) int64 rows holding it} from per-row name collections."""
    rows: dict[str, list[int]] = {}
    for position, names in enumerate(columns):
        for name in names:
            rows.setdefault(name, []).append(position)
    return {name: np.asarray(found, dtype=np.int64) for name, found in rows.items()}


def _columns(records: Sequence[Record], vectors: dict[str, np.ndarray]) -> dict[str, Any]:
    """The per-row columns of a snapshot of ``records`` and their (n, k) vectors."""
    return {
        "ids": tuple(r.id for r in records),
        "unit": {m: normalise_rows(np.ascontiguousarray(vectors[m], dtype=np.float32)) for m in MODALITIES},
        "years": np.array([r.year or 0 for r in records], dtype=np.int64),
        "labels": tuple(frozenset(label.lower() for label in r.labels) for r in records),
        "authors": tuple(tuple(a.lower() for a in r.authors) for r in records),
    }


def build_snapshot(records: Sequence[Record], vectors: dict[str, np.ndarray], index_kind: str,
                   version: int = 0, prebuilt: dict[str, Any] | None = None, rerank: int | None = None,
                   model_version: str | None = None) -> Snapshot:
    """A snapshot of ``records`` (paired, in row order) and their (n, k) shared-space vectors.

    ``prebuilt`` indexes (loaded from the library and known to match the rows and the model
    version) are used as they are; otherwise an index of ``index_kind`` is built in memory.
    """
    return assemble(**_columns(records, vectors), index_kind=index_kind, version=version, prebuilt=prebuilt,
                    rerank=rerank, model_version=model_version)


def assemble(ids, unit, years, labels, authors, index_kind: str, version: int,
             prebuilt: dict[str, Any] | None = None, rerank: int | None = None,
             model_version: str | None = None) -> Snapshot:
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
                    authors=tuple(authors), index_kind=kind, version=version, rerank=rerank,
                    model_version=model_version)


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
    more = _columns(records, vectors)
    return assemble(
        ids=snapshot.ids + more["ids"],
        unit={m: np.concatenate([snapshot.vectors[m], more["unit"][m]]) for m in MODALITIES},
        years=np.concatenate([snapshot.years, more["years"]]),
        labels=snapshot.labels + more["labels"],
        authors=snapshot.authors + more["authors"],
        index_kind=snapshot.index_kind, version=snapshot.version + 1, rerank=snapshot.rerank,
        model_version=snapshot.model_version,
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
        model_version=snapshot.model_version,
    )


# ---------------------------------------------------------------------------- a library's snapshot
def library_snapshot(lib: Library, model: str, records: Sequence[Record], vectors: dict[str, np.ndarray],
                     rerank: int | None = None) -> Snapshot:
    """The snapshot of ``lib``'s searchable ``records`` (its paired records, in library order)
    and their (n, k) ``vectors`` under ``model``.

    The library's built index of ``model`` (``scicmr index``) is used when it covers exactly
    these records and was built from the model as saved now (its recorded model version, see
    :mod:`scicmr.workflow.index`; its dimension is checked too); otherwise one of the same kind
    is built in memory (exact when the library has none), so an index left stale by a failed
    write or a retrain is never served.
    """
    from scicmr.workflow.index import StaleIndexError, load_built_index, model_version

    ids = [r.id for r in records]
    kind = lib.meta.get("indexes", {}).get(model) or "exact"
    version = model_version(lib, model) if lib.model_dir(model).is_dir() else None
    prebuilt = {}
    for modality in MODALITIES:
        try:
            built = load_built_index(lib, model, modality, kind, rerank) if ids else None
        except StaleIndexError as exc:
            # Searching stays correct (an in-memory index of the current vectors); say how to
            # make the saved one current again so the next load need not build it.
            _log.warning("%s; searching with an index built in memory. Fix: %s", exc.problem, exc.fix)
            built = None
        if built is not None and list(built[1]) == ids and len(built[0]) == len(ids) \
                and _index_dim(built[0]) == vectors[modality].shape[1]:
            prebuilt[modality] = built[0]
    return build_snapshot(records, vectors, kind, prebuilt=prebuilt, rerank=rerank, model_version=version)


def _index_dim(index: Any) -> int:
    """The query dimension an index (or a CodeSearch: its code bits) takes."""
    return int(getattr(index, "index", index).dim)


def save_indexes(lib: Library, model: str, snapshot: Snapshot) -> None:
    """Save the snapshot's indexes where ``scicmr index`` keeps them, when the library has a
    built index of ``model`` of the snapshot's kind; each directory, ids.json included, is
    swapped in whole (a reader sees the old index or the new one)."""
    from scicmr._io import atomic_directory, atomic_save_npy, atomic_write_json
    from scicmr.workflow.index import RELAXED_NAME, VERSION_KEY, index_name

    kind = lib.meta.get("indexes", {}).get(model)
    if kind != snapshot.index_kind:
        return
    # The model version the snapshot's vectors came from: the saved index stays current for it.
    extra = {"built_from": {"model": model, VERSION_KEY: snapshot.model_version}} if snapshot.model_version else None
    for modality in MODALITIES:
        index = snapshot.indexes[modality]
        with atomic_directory(lib.index_dir(index_name(model, modality, kind))) as tmp:
            # A code index (CodeSearch) saves its Hamming index and the relaxed vectors beside it.
            getattr(index, "index", index).save(tmp, extra=extra)
            if getattr(index, "vectors", None) is not None and hasattr(index, "index"):
                atomic_save_npy(tmp / RELAXED_NAME, index.vectors)
            atomic_write_json(tmp / "ids.json", list(snapshot.ids))
