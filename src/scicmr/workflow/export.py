"""Export a library's records as JSONL for users' own analysis."""

from __future__ import annotations

import json
from pathlib import Path

from scicmr.corpus.figure_text import figure_words, figure_words_source
from scicmr.corpus.library import Library
from scicmr.workflow.library_data import as_library
from scicmr.workflow.outputs import check_output_file, write_output_text


def export_jsonl(lib: Library | str | Path, out: str | Path) -> int:
    """Write one JSON object per record (id, kind, split, title, text, labels, authors, date,
    doi, url, source file/page/bbox, image path, the figure's printed words and where they came from:
    ``figure_text``, ``figure_text_source`` = text-layer, ocr or null) to ``out`` atomically (``-``: standard output; a
    symlink is written through); returns the record count. ``out`` is checked before the
    library is read (:mod:`scicmr.workflow.outputs`)."""
    check_output_file(out, "export file", "records.jsonl")
    lib = as_library(lib)
    lines = []
    for record in lib.records():
        image = lib.image_path(record)
        lines.append(
            json.dumps(
                {
                    "id": record.id,
                    "kind": record.kind,
                    "split": record.extra.get("split"),
                    "title": record.title,
                    "text": record.text,
                    "keywords": record.keywords,
                    "labels": record.labels,
                    "authors": record.authors,
                    "date": record.date,
                    "doi": record.doi,
                    "url": record.url,
                    "group": record.group_key,
                    "source_file": record.source.file,
                    "page": record.source.page,
                    "bbox": list(record.source.bbox) if record.source.bbox else None,
                    "image": str(image) if image else None,
                    "figure_text": figure_words(record),
                    "figure_text_source": figure_words_source(record),
                },
                ensure_ascii=False,
            )
        )
    write_output_text(out, "\n".join(lines) + ("\n" if lines else ""), "export file", "records.jsonl")
    return len(lines)
