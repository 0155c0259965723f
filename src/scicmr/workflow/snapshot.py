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

**Growing.** A snapshot's rows are the rows of the model's serving table
(:mod:`scicmr.workflow.serving`), deleted ones included: a delete marks its row *dead* (never
ranked) and an add appends rows, whose vectors join the float index as an exact delta
(:class:`~scicmr.index.layered.LayeredIndex`: the built index is shared, not rebuilt or copied),
so one write costs the new rows, not the library. The vectors are
:class:`~scicmr.index.layered.RowBlocks` over the table's memory-mapped chunks. Hashing
models' code indexes are small and rebuilt whole.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.index.base import normalise_rows
from scicmr.index.exact import top_k_rows
from scicmr.index.layered import ChainedRows, LayeredIndex, RowBlocks
from scicmr.workflow.library_data import MODALITIES

# Index kinds a snapshot can rebuild in memory after a write; other float kinds fall back to
# exact, other Hamming kinds (trained IVF lists, HNSW graphs) to exact Hamming search.
_REBUILDABLE = ("exact", "flat", "hnsw")
_REBUILDABLE_CODES = ("hamming-exact", "hamming-flat")
# Compressed float kinds: their shortlist (``rerank``, else this many) is re-scored exactly
# against the memory-mapped unit vectors.
_COMPRESSED = ("ivfpq", "opq-ivfpq")
_SHORTLIST = 100
# An exact delta this large (rows added since the base index was built) is folded into a new
# base: queries stay fast, and one rebuild is paid per this many added rows.
_MAX_DELTA = 20_000

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


@dataclass(frozen=True, eq=False)
class Snapshot:
    """One immutable view of the searchable records: every stored row (paired records in
    library order, then rows added since), of which the ``dead`` ones are never ranked.

    Positions, and label and author filters (inverted maps: name → row positions, one pass
    over the distinct names per filter), are built on first use, so a snapshot of a million
    rows opens without a pass over them.
    """

    ids: Sequence[str]  # record id per row
    vectors: dict[str, Any]  # modality -> (n, k) float32 unit rows (ndarray or RowBlocks)
    indexes: dict[str, Any]  # modality -> index over row positions
    years: np.ndarray  # (n,) int64, 0 = unknown
    labels: Sequence[Sequence[str]]  # lower-cased label names per row
    authors: Sequence[Sequence[str]]  # lower-cased author names per row
    index_kind: str
    version: int = 0
    rerank: int | None = None  # hashing models: re-rank a Hamming shortlist of this size by cosine
    model_version: str | None = None  # the model version the vectors came from (stamped on saved indexes)
    dead: np.ndarray | None = None  # (n,) bool: deleted rows; None = none
    source: tuple[int, int] | None = None  # (generation, compactions) of the serving table read

    def __len__(self) -> int:
        """Live rows (the ones that can be ranked)."""
        return len(self.ids) - (int(self.dead.sum()) if self.dead is not None else 0)

    @property
    def n_rows(self) -> int:
        """Every row, dead ones included (the range of row positions)."""
        return len(self.ids)

    @cached_property
    def live(self) -> np.ndarray:
        """(n,) bool: True for rows that can be ranked."""
        return np.ones(len(self.ids), dtype=bool) if self.dead is None else ~self.dead

    @cached_property
    def position(self) -> dict[str, int]:
        """id -> row of the live records."""
        live = self.live
        return {rid: p for p, rid in enumerate(self.ids) if live[p]}

    def row_of(self, record_id: str) -> int | None:
        """The live row of ``record_id``, or None. Uses :attr:`position` when it was built;
        otherwise one scan of the ids in C (a write's lookup must not build a million-entry map
        for every new snapshot)."""
        if "position" in self.__dict__:
            return self.position.get(record_id)
        ids, start, live = self.ids, 0, self.live
        found = None
        while True:
            try:
                start = ids.index(record_id, start)
            except ValueError:
                return found
            if live[start]:
                found = start  # the last live occurrence, as :attr:`position` keeps
            start += 1

    @cached_property
    def label_rows(self) -> dict[str, np.ndarray]:
        return _inverted(self.labels)

    @cached_property
    def author_rows(self) -> dict[str, np.ndarray]:
        return _inverted(self.authors)

    def _rows_mask(self, rows: list[np.ndarray]) -> np.ndarray:
        keep = np.zeros(self.n_rows, dtype=bool)
        for positions in rows:
            keep[positions] = True
        return keep

    def mask(self, filters: Filters) -> np.ndarray | None:
        """(n,) bool rows passing ``filters``, or None when nothing is filtered."""
        if not filters.active:
            return None
        keep = self.live.copy()
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
    labels, authors = filter_columns(records)
    return {
        "ids": tuple(r.id for r in records),
        "unit": {m: normalise_rows(np.ascontiguousarray(vectors[m], dtype=np.float32)) for m in MODALITIES},
        "years": np.array([r.year or 0 for r in records], dtype=np.int64),
        "labels": labels,
        "authors": authors,
    }


def filter_columns(records: Sequence[Record]) -> tuple[list[list[str]], list[list[str]]]:
    """(labels, authors) per record, lower-cased: what the filters match."""
    return ([sorted({label.lower() for label in r.labels}) for r in records],
            [[a.lower() for a in r.authors] for r in records])


def build_snapshot(records: Sequence[Record], vectors: dict[str, np.ndarray], index_kind: str,
                   version: int = 0, prebuilt: dict[str, Any] | None = None, rerank: int | None = None,
                   model_version: str | None = None) -> Snapshot:
    """A snapshot of ``records`` (paired, in row order) and their (n, k) shared-space vectors.

    ``prebuilt`` indexes (loaded from the library and known to match the rows and the model
    version) are used as they are; otherwise an index of ``index_kind`` is built in memory.
    """
    return assemble(**_columns(records, vectors), index_kind=index_kind, version=version, prebuilt=prebuilt,
                    rerank=rerank, model_version=model_version)


def _memory_kind(index_kind: str) -> str:
    """The kind a snapshot builds in memory for a library whose built kind is ``index_kind``."""
    if index_kind.startswith("hamming"):
        return index_kind if index_kind in _REBUILDABLE_CODES else "hamming-flat"
    return index_kind if index_kind in _REBUILDABLE else "exact"


def assemble(ids, unit, years, labels, authors, index_kind: str, version: int,
             prebuilt: dict[str, Any] | None = None, rerank: int | None = None,
             model_version: str | None = None, dead: np.ndarray | None = None,
             source: tuple[int, int] | None = None) -> Snapshot:
    """A snapshot from its columns, building the indexes ``prebuilt`` does not provide (a
    prebuilt float index may cover a prefix of the rows: the rest become its exact delta)."""
    indexes = {}
    kind = _memory_kind(index_kind)
    for modality in MODALITIES:
        vectors = unit[modality]
        base = (prebuilt or {}).get(modality)
        if hasattr(base, "search_filtered"):  # an engine outside the process (Milvus) ranks every row itself
            indexes[modality] = base
            continue
        if kind.startswith("hamming"):
            indexes[modality] = base if base is not None else code_index(kind, np.asarray(vectors), rerank)
            continue
        if base is None:
            base = _float_index(kind, vectors)
        blocks = vectors if isinstance(vectors, RowBlocks) else RowBlocks([vectors])
        indexes[modality] = LayeredIndex(base, blocks.tail(len(base)), dead)
    if not kind.startswith("hamming"):
        unit = {m: v if isinstance(v, RowBlocks) else RowBlocks([v]) for m, v in unit.items()}
    if all(hasattr(ix, "search_filtered") for ix in indexes.values()):
        kind = index_kind
    ids, labels, authors = (tuple(v) if isinstance(v, ChainedRows) else v for v in (ids, labels, authors))
    return Snapshot(ids=ids, vectors=unit, indexes=indexes, years=years, labels=labels,
                    authors=authors, index_kind=kind, version=version, rerank=rerank,
                    model_version=model_version, dead=dead, source=source)


def _float_index(kind: str, vectors: Any):
    """An in-memory index of ``kind`` over (n, k) ``vectors`` (row positions as ids)."""
    from scicmr.index import create_index

    index = create_index(kind, vectors.shape[1])
    if len(vectors):
        index.add(np.asarray(vectors), np.arange(len(vectors), dtype=np.int64))
    return index


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


def extended(snapshot: Snapshot, records: Sequence[Record], vectors: dict[str, np.ndarray],
             source: tuple[int, int] | None = None) -> Snapshot:
    """A new snapshot: ``snapshot`` plus ``records`` (appended rows) and their vectors. Float
    indexes grow by their exact delta (folded into a rebuilt base past ``_MAX_DELTA`` rows);
    a code index is rebuilt."""
    return _grown(snapshot, _columns(records, vectors), source)


def _grown(snapshot: Snapshot, more: dict[str, Any], source: tuple[int, int] | None) -> Snapshot:
    """``snapshot`` plus the rows of ``more`` (the columns :func:`_columns` makes)."""
    dead = None if snapshot.dead is None else np.concatenate([snapshot.dead, np.zeros(len(more["ids"]), bool)])
    common = dict(ids=_chained(snapshot.ids).appended(more["ids"]),
                  years=np.concatenate([snapshot.years, more["years"]]),
                  labels=_chained(snapshot.labels).appended(more["labels"]),
                  authors=_chained(snapshot.authors).appended(more["authors"]),
                  version=snapshot.version + 1, rerank=snapshot.rerank, model_version=snapshot.model_version,
                  dead=dead, source=source)
    if snapshot.index_kind.startswith("hamming"):
        unit = {m: np.concatenate([np.asarray(snapshot.vectors[m]), more["unit"][m]]) for m in MODALITIES}
        return assemble(unit=unit, index_kind=snapshot.index_kind, **common)
    unit = {m: snapshot.vectors[m].appended(more["unit"][m]) for m in MODALITIES}
    indexes = {m: snapshot.indexes[m].extended(more["unit"][m]) for m in MODALITIES}
    if any(len(ix.delta) > _MAX_DELTA for ix in indexes.values()):
        return assemble(unit=unit, index_kind=snapshot.index_kind, **common)  # a fresh base over every row
    return Snapshot(vectors=unit, indexes=indexes, index_kind=snapshot.index_kind, **common)


def _chained(rows: Sequence[Any]) -> ChainedRows:
    return rows if isinstance(rows, ChainedRows) else ChainedRows([rows])


def caught_up(snapshot: Snapshot, table: Any) -> Snapshot:
    """``snapshot`` (read from ``table`` earlier) plus the rows appended to ``table`` since and
    with the rows deleted since dead (the same compaction: positions agree)."""
    source = (table.generation, table.compactions)
    start = snapshot.n_rows
    if table.n_rows > start:
        rows = table.json_rows()[start:]
        snapshot = _grown(snapshot, {
            "ids": tuple(table.all_ids()[start:]),
            "unit": {m: np.array(table.all_rows(m)[start:], dtype=np.float32) for m in MODALITIES},
            "years": np.asarray(table.all_rows("year")[start:], dtype=np.int64),
            "labels": [r[0] for r in rows], "authors": [r[1] for r in rows]}, source)
    # The table's deleted positions are this snapshot's rows (same compaction): kill exactly
    # those rows. Going through record ids would hit the wrong row when an id was deleted and
    # added again (its live row is the re-added one, and the stale one would stay live).
    gone = [p for p in table.deleted_rows if p < snapshot.n_rows and snapshot.live[p]]
    snapshot = _without_rows(snapshot, gone, source) if gone else snapshot
    return replace(snapshot, source=source)


def without(snapshot: Snapshot, record_ids: Sequence[str], source: tuple[int, int] | None = None) -> Snapshot:
    """A new snapshot with the live rows of ``record_ids`` dead (never ranked; positions kept).
    A code index is rebuilt over the remaining rows instead."""
    found = (snapshot.row_of(i) for i in record_ids)
    return _without_rows(snapshot, [row for row in found if row is not None], source)


def _without_rows(snapshot: Snapshot, positions: Sequence[int], source: tuple[int, int] | None = None) -> Snapshot:
    """A new snapshot with the rows at ``positions`` dead (never ranked; positions kept). A
    code index is rebuilt over the remaining rows instead."""
    rows = np.asarray(sorted({int(p) for p in positions}), dtype=np.int64)
    if snapshot.index_kind.startswith("hamming"):
        keep = np.ones(snapshot.n_rows, dtype=bool)
        keep[rows] = False
        return assemble(
            ids=tuple(i for i, k in zip(snapshot.ids, keep) if k),
            unit={m: np.asarray(snapshot.vectors[m])[keep] for m in MODALITIES},
            years=snapshot.years[keep], labels=[v for v, k in zip(snapshot.labels, keep) if k],
            authors=[v for v, k in zip(snapshot.authors, keep) if k], index_kind=snapshot.index_kind,
            version=snapshot.version + 1, rerank=snapshot.rerank, model_version=snapshot.model_version,
            source=source)
    dead = ~snapshot.live
    dead[rows] = True
    return Snapshot(ids=snapshot.ids, vectors=snapshot.vectors,
                    indexes={m: snapshot.indexes[m].without(rows) for m in MODALITIES},
                    years=snapshot.years, labels=snapshot.labels, authors=snapshot.authors,
                    index_kind=snapshot.index_kind, version=snapshot.version + 1, rerank=snapshot.rerank,
                    model_version=snapshot.model_version, dead=dead, source=source)


# ---------------------------------------------------------------------------- a library's snapshot
def table_snapshot(lib: Library, model: str, table: Any, rerank: int | None = None,
                   model_version: str | None = None, kind: str | None = None) -> Snapshot:
    """The snapshot of ``model``'s serving table (:mod:`scicmr.workflow.serving`): every row,
    vectors memory-mapped, deleted rows dead.

    The library's built index of ``model`` (``scicmr index``) is used as the base when it was
    built from the model as saved now (its recorded model version, see
    :mod:`scicmr.workflow.index`; its dimension is checked too) and over a prefix of these
    rows (rows appended since are its exact delta); otherwise one of the same kind is built in
    memory (exact when the library has none), so an index left stale by a failed write or a
    retrain is never served.
    """
    ids = tuple(table.all_ids())
    rows = table.json_rows()
    dead = ~table.live_mask() if len(table) != table.n_rows else None
    unit = {m: RowBlocks(table.blocks(m), table.columns[m][1][0]) for m in MODALITIES}
    kind = kind or lib.meta.get("indexes", {}).get(model) or "exact"
    common = dict(ids=ids, years=np.asarray(table.all_rows("year")), labels=[r[0] for r in rows],
                  authors=[r[1] for r in rows], index_kind=kind, version=0, rerank=rerank,
                  model_version=model_version, source=(table.generation, table.compactions))
    if kind.startswith("hamming"):  # code indexes hold live rows only: drop the dead ones
        keep = np.ones(len(ids), bool) if dead is None else ~dead
        common.update(ids=tuple(i for i, k in zip(ids, keep) if k), years=common["years"][keep],
                      labels=[v for v, k in zip(common["labels"], keep) if k],
                      authors=[v for v, k in zip(common["authors"], keep) if k])
        ids = common["ids"]
        unit = {m: np.asarray(unit[m])[keep] for m in MODALITIES}
    prebuilt = _built_bases(lib, model, kind, ids, unit, rerank, exact_rows=kind.startswith("hamming") or kind == "milvus",
                            has_dead=dead is not None)
    return assemble(unit=unit, prebuilt=prebuilt, dead=dead, **common)


def _built_bases(lib: Library, model: str, kind: str, ids: Sequence[str], unit: dict[str, Any],
                 rerank: int | None, exact_rows: bool, has_dead: bool = False) -> dict[str, Any]:
    """The built indexes of ``model`` usable as bases for rows ``ids`` (see :func:`table_snapshot`):
    over exactly these rows when ``exact_rows``, else over a prefix of them. An engine outside
    the process (Milvus) ranks every row it holds, so it is used only while none is deleted
    (``has_dead``); otherwise, as for any built index that does not cover the rows, the caller
    builds one in memory and the log says how to make the built one current."""
    from scicmr.workflow.index import StaleIndexError, load_built_index

    prebuilt = {}
    for modality in MODALITIES:
        try:
            built = load_built_index(lib, model, modality, kind, rerank) if len(ids) else None
        except StaleIndexError as exc:
            # Searching stays correct (an in-memory index of the current vectors); say how to
            # make the saved one current again so the next load need not build it.
            _log.warning("%s; searching with an index built in memory. Fix: %s", exc.problem, exc.fix)
            built = None
        if built is None:
            continue
        index, built_ids = built
        covers = len(built_ids) == len(ids) if exact_rows else len(built_ids) <= len(ids)
        covers = covers and not (has_dead and hasattr(index, "search_filtered"))
        if not (covers and list(built_ids) == list(ids[: len(built_ids)])):
            _log.warning("the built %s index of model %r does not cover the library's current records; searching "
                         "with an index built in memory. Fix: scicmr index %s --model %s%s", kind, model, lib.root,
                         model, " --backend milvus" if kind == "milvus" else "")
        elif _index_dim(index) == unit[modality].shape[1]:
            if kind in _COMPRESSED:  # scores of compressed codes are rough: re-score a shortlist exactly
                from scicmr.index.rerank import ShortlistRerank

                index = ShortlistRerank(index, unit[modality], rerank or _SHORTLIST)
            prebuilt[modality] = index
    return prebuilt


def _index_dim(index: Any) -> int:
    """The query dimension an index (or a CodeSearch: its code bits) takes."""
    return int(getattr(index, "index", index).dim)


def save_indexes(lib: Library, model: str, snapshot: Snapshot) -> None:
    """Save a code (Hamming) snapshot's indexes where ``scicmr index`` keeps them, when the
    library has a built index of ``model`` of the snapshot's kind; each directory, ids.json
    included, is swapped in whole (a reader sees the old index or the new one). Float indexes
    need no saving after a write: the built one stays the base of the rows it covers, and the
    rows added since are read from the serving table."""
    from scicmr._io import atomic_directory, atomic_save_npy, atomic_write_json
    from scicmr.workflow.index import RELAXED_NAME, VERSION_KEY, index_name

    kind = lib.meta.get("indexes", {}).get(model)
    if kind != snapshot.index_kind or not kind.startswith("hamming"):
        return
    # The model version the snapshot's vectors came from: the saved index stays current for it.
    extra = {"built_from": {"model": model, VERSION_KEY: snapshot.model_version}} if snapshot.model_version else None
    for modality in MODALITIES:
        index = snapshot.indexes[modality]
        with atomic_directory(lib.index_dir(index_name(model, modality, kind))) as tmp:
            index.index.save(tmp, extra=extra)
            atomic_save_npy(tmp / RELAXED_NAME, index.vectors)
            atomic_write_json(tmp / "ids.json", list(snapshot.ids))
