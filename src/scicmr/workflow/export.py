"""Export a library's records for users' own analysis: JSONL (the default) or Parquet."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from scicmr.corpus.figure_text import figure_words, figure_words_source
from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.errors import InputError
from scicmr.workflow.library_data import as_library
from scicmr.workflow.outputs import check_output_file, write_output_bytes, write_output_text

FORMATS = ("jsonl", "parquet")


def link_fields(record: Record) -> dict[str, str | None]:
    """The record's ``doi`` and ``url`` (None when absent)."""
    return {"doi": record.doi, "url": record.url}


def record_row(lib: Library, record: Record) -> dict[str, Any]:
    """One exported record: id, kind, split, title, text, keywords, labels, authors, date,
    group, source file/page/bbox, absolute image path, doi/url, the figure's printed words and
    where they came from (``figure_text_source``: text-layer, ocr or null)."""
    image = lib.image_path(record)
    return {
        "id": record.id,
        "kind": record.kind,
        "split": record.extra.get("split"),
        "title": record.title,
        "text": record.text,
        "keywords": record.keywords,
        "labels": record.labels,
        "authors": record.authors,
        "date": record.date,
        "group": record.group_key,
        "source_file": record.source.file,
        "page": record.source.page,
        "bbox": list(record.source.bbox) if record.source.bbox else None,
        "image": str(image) if image else None,
        **link_fields(record),
        "figure_text": figure_words(record),
        "figure_text_source": figure_words_source(record),
    }


def require_parquet() -> None:
    """InputError naming the extra to install when pyarrow (the ``tables`` extra) is missing: a
    Parquet export calls it before reading the library or writing any file."""
    try:
        import pyarrow  # noqa: F401 -- checked, loaded for real where it is used
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise InputError("writing Parquet needs pyarrow, which is not installed",
                         fix="pip install 'scicmr[tables]'") from None


def parquet_bytes(rows: list[dict[str, Any]], columns: list[str] | None = None) -> bytes:
    """``rows`` (dicts with the same keys) as one Parquet file's bytes; ``columns`` names them
    when ``rows`` may be empty. pyarrow loads here (the ``tables`` extra: :func:`require_parquet`)."""
    require_parquet()
    import pyarrow as pa
    import pyarrow.parquet as pq

    if rows:
        table = pa.Table.from_pylist(rows)
    else:
        table = pa.table({name: pa.array([], type=pa.string()) for name in columns or []})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def export_records(lib: Library | str | Path, out: str | Path, format: str = "jsonl") -> int:
    """Write every record (:func:`record_row`) to ``out`` atomically as ``jsonl`` (one JSON
    object per line; ``-``: standard output) or ``parquet`` (one table, pandas-readable);
    returns the record count. ``out`` is checked before the library is read
    (:mod:`scicmr.workflow.outputs`), and so is pyarrow for Parquet; a symlink is written through."""
    if format not in FORMATS:
        raise InputError(f"unknown export format {format!r}", fix=f"use one of: {', '.join(FORMATS)}")
    if format == "jsonl":
        return export_jsonl(lib, out)
    if os.fspath(out) == "-":
        raise InputError("Parquet cannot be written to standard output", fix="name a file, e.g. records.parquet")
    require_parquet()  # before the library is read, not after
    target = check_output_file(out, "export file", "records.parquet")
    lib = as_library(lib)
    rows = [record_row(lib, record) for record in lib.records()]
    write_output_bytes(target, parquet_bytes(rows, ["id"]), os.fspath(out))
    return len(rows)


def export_jsonl(lib: Library | str | Path, out: str | Path) -> int:
    """Write one JSON object per record (:func:`record_row`) to ``out`` atomically (``-``:
    standard output; a symlink is written through); returns the record count. ``out`` is
    checked before the library is read (:mod:`scicmr.workflow.outputs`)."""
    check_output_file(out, "export file", "records.jsonl")
    lib = as_library(lib)
    lines = [json.dumps(record_row(lib, record), ensure_ascii=False) for record in lib.records()]
    write_output_text(out, "\n".join(lines) + ("\n" if lines else ""), "export file", "records.jsonl")
    return len(lines)
