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
