"""A trained model's searchable rows, stored: shared-space vectors and filter columns on disk.

Projecting every stored feature through the model and reading every record takes minutes at a
million figures; a service must start by mapping files instead. The *serving table* of a model
(``models/<model>/serving/``, a :class:`~scicmr.corpus.table.ChunkedTable`) holds, per paired
record in library order, its unit shared-space vectors (columns ``image`` and ``text``, (n, k)
float32), its year (``year``, 0 = unknown) and its lower-cased labels and authors (the JSON row
``[labels, authors]``). Its meta names the ``model_version`` the vectors came from and the
``records_generation`` (:meth:`~scicmr.corpus.library.Library.records_generation`) of the
records it describes.

A table is *current* when both still hold; a reader that finds it stale (the model was
retrained, or records changed without the table: a write that died between its records commit
and its table append, or an ingest, clean or split change) rebuilds it from the stored features
— correct, only slower. Writers that keep it current (``scicmr index``, the service's record
writes) append or tombstone rows and record the new generation in the same manifest commit.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.corpus.table import ChunkedTable, is_table
from scicmr.errors import LibraryError
from scicmr.index.base import normalise_rows
from scicmr.workflow.library_data import MODALITIES

SERVING = "serving"
_log = logging.getLogger(__name__)


def serving_dir(lib: Library, model: str) -> Path:
    return lib.model_dir(model) / SERVING


def current_table(lib: Library, model: str, model_version: str) -> ChunkedTable | None:
    """The serving table of ``model`` when it is current (module docstring), else None."""
    folder = serving_dir(lib, model)
    if not is_table(folder):
        return None
    try:
        table = ChunkedTable.open(folder)
    except LibraryError as exc:
        _log.warning("%s; rebuilding it", exc.problem)
        return None
    meta = table.meta
    if meta.get("model_version") != model_version or meta.get("records_generation") != lib.records_generation():
        return None
    return table


def write_table(lib: Library, model: str, model_version: str, records: Sequence[Record],
                vectors: dict[str, np.ndarray], generation: int, folder: Path | None = None) -> ChunkedTable:
    """(Re)write the serving table of ``model`` for ``records`` and their (n, k) shared-space
    ``vectors`` (normalised here), made at records ``generation``; in ``folder`` instead of the
    model's when given (a library this process may not write)."""
    dim = {m: int(vectors[m].shape[1]) for m in MODALITIES}
    staged = ChunkedTable.create(folder or serving_dir(lib, model), {
        **{m: ("float32", (dim[m],)) for m in MODALITIES}, "year": ("int64", ())},
        json_rows=True, meta={"model_version": model_version, "records_generation": -1})
    append_rows(staged, records, vectors, generation)
    return staged.refresh()


def append_rows(table: ChunkedTable, records: Sequence[Record], vectors: dict[str, np.ndarray],
                generation: int) -> None:
    """Append ``records`` (and their (m, k) vectors) as one chunk; the table then describes
    records ``generation``."""
    from scicmr.workflow.snapshot import filter_columns

    labels, authors = filter_columns(records)
    arrays = {m: normalise_rows(np.ascontiguousarray(vectors[m], dtype=np.float32)) for m in MODALITIES}
    arrays["year"] = np.array([r.year or 0 for r in records], dtype=np.int64)
    table.append([r.id for r in records], arrays, [list(row) for row in zip(labels, authors)],
                 meta={"records_generation": generation})


def delete_rows(table: ChunkedTable, ids: Sequence[str], generation: int,
                positions: Sequence[int] | None = None) -> int:
    """Tombstone the rows of ``ids`` (at ``positions`` when the caller knows them: no pass over
    the table's ids); the table then describes records ``generation``."""
    meta = {"records_generation": generation}
    return table.delete(ids, meta=meta) if positions is None else table.delete_positions(positions, meta=meta)


def publish_added(lib: Library, model: str, snapshot, records: Sequence[Record],
                  vectors: dict[str, np.ndarray]):
    """After ``records`` were committed with their (m, k) shared-space ``vectors``: their rows
    appended to ``model``'s serving table (other processes pick them up from it) and the
    snapshot grown by them (an exact delta). Returns the new snapshot. Callers hold the
    library's writer lock."""
    from scicmr.workflow.snapshot import extended

    source = _record_change(lib, model, lambda table, generation: append_rows(table, records, vectors, generation))
    return extended(snapshot, records, vectors, source)


def publish_deleted(lib: Library, model: str, snapshot, record_ids: Sequence[str]):
    """After ``record_ids`` were deleted: their serving rows tombstoned (by the snapshot's row
    positions, which are the table's for float indexes) and the snapshot's rows dead. Returns
    the new snapshot. Callers hold the library's writer lock."""
    from scicmr.workflow.snapshot import without

    rows = None
    if not snapshot.index_kind.startswith("hamming"):  # code snapshots hold live rows only
        rows = [row for row in map(snapshot.row_of, record_ids) if row is not None]
    source = _record_change(lib, model, lambda table, generation: delete_rows(table, record_ids, generation, rows))
    return without(snapshot, record_ids, source)


def _record_change(lib: Library, model: str, change) -> tuple[int, int] | None:
    """Apply ``change(table, records generation)`` to the serving table; the table's (generation,
    compactions) after it, or None when it could not be written (it is then stale, and rebuilt
    from the stored features at the next start: the records are already committed)."""
    try:
        table = ChunkedTable.open(serving_dir(lib, model))
        change(table, lib.records_generation())
        table = table.refresh()
        return table.generation, table.compactions
    except (OSError, LibraryError) as exc:
        _log.warning("could not update the serving table of %s (%s); it is rebuilt at the next start", model, exc)
        return None
