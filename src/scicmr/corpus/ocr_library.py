"""OCR every figure of a library and store the text with its record.

Each record with an image gets ``extra["ocr_text"]`` (cleaned text, possibly empty) and
``extra["ocr"]`` (the settings and Tesseract version that produced it). Records that already
carry OCR text are skipped unless ``force``; results are written in chunks, each one SQLite
transaction, so an interrupted run keeps what it finished and a rerun resumes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scicmr._faults import crash_point
from scicmr._io import atomic_write_json
from scicmr.corpus.figure_text import OCR_TEXT
from scicmr.corpus.library import Library
from scicmr.corpus.ocr import OcrSettings, ocr_image, require_tesseract, tesseract_version
from scicmr.corpus.record import Record, mostly_chinese
from scicmr.errors import InputError
from scicmr.parallel import Executor, LocalExecutor

OCR_META = "ocr"
_CHUNK = 32  # records per write: small enough to lose little on a crash, large enough to be cheap


@dataclass
class OcrReport:
    """What an OCR run did; ``skipped`` lists unreadable images with the reason."""

    library: Path
    settings: dict[str, Any]
    done: int = 0
    cached: int = 0
    without_image: int = 0
    empty: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"library": str(self.library), "settings": self.settings, "done": self.done, "cached": self.cached,
                "without_image": self.without_image, "empty": self.empty, "skipped": self.skipped,
                "seconds": self.seconds}


def default_workers() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def auto_language(records: list[Record]) -> str:
    """``chi_sim+eng`` for mostly-Chinese collections (judged on their texts), else ``eng``."""
    return "chi_sim+eng" if mostly_chinese(records) else "eng"


def has_ocr(record: Record) -> bool:
    return isinstance(record.extra.get(OCR_TEXT), str)


def _ocr_job(job: tuple[str, str, OcrSettings]) -> tuple[str, str | None, str | None]:
    """(id, path, settings) -> (id, text, None) or (id, None, reason). Runs in a worker."""
    record_id, path, settings = job
    try:
        return record_id, ocr_image(path, settings), None
    except InputError as exc:
        return record_id, None, exc.problem


def ocr_library(
    lib: Library | str | Path,
    *,
    lang: str = "auto",
    workers: int | None = None,
    force: bool = False,
    settings: OcrSettings | None = None,
    executor: Executor | None = None,
) -> OcrReport:
    """OCR the first image of every record (skipping those already done unless ``force``).

    Args:
        lang: Tesseract languages (``eng``, ``chi_sim``, ``eng+chi_sim``) or ``auto``.
        workers: processes (default ``min(2, cpu count)``).
        settings: full :class:`OcrSettings` (its ``lang`` is replaced by ``lang`` unless auto).
        executor: where figures are read (:mod:`scicmr.parallel`; a ``RayExecutor``: one Ray
            task per figure, same texts); None: ``workers`` local processes.

    Raises:
        MissingTesseractError: Tesseract or a requested language pack is not installed.
    """
    import time

    lib = lib if isinstance(lib, Library) else Library.open(lib)
    workers = default_workers() if workers is None else int(workers)
    if workers < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    records = lib.records()
    settings = settings or OcrSettings()
    chosen = auto_language(records) if lang == "auto" else lang
    settings = OcrSettings(**{**settings.to_dict(), "lang": chosen})
    require_tesseract(settings.lang)
    report = OcrReport(library=lib.root, settings={**settings.to_dict(), "tesseract": tesseract_version()})
    started = time.perf_counter()
    todo = []
    for record in records:
        if not record.image:
            report.without_image += 1
        elif has_ocr(record) and not force:
            report.cached += 1
        else:
            todo.append(record)
    by_id = {r.id: r for r in todo}
    jobs = [(r.id, str(lib.image_path(r)), settings) for r in todo]
    pending: list[Record] = []
    runner = executor or LocalExecutor(workers)
    for record_id, text, reason in runner.map(_ocr_job, jobs, desc="ocr", unit="fig"):
        if reason is not None:
            report.skipped.append({"item": record_id, "reason": reason})
            continue
        record = by_id[record_id]
        record.extra[OCR_TEXT] = text
        record.extra[OCR_META] = report.settings
        report.done += 1
        report.empty += not text
        pending.append(record)
        if len(pending) >= _CHUNK:
            lib.update_records(pending)
            crash_point("ocr.chunk_committed")
            pending = []
    if pending:
        lib.update_records(pending)
    report.seconds = time.perf_counter() - started
    atomic_write_json(lib.reports_dir() / "ocr.json", report.to_dict())
    lib.update_meta(ocr=report.settings)
    return report


def ocr_text(record: Record) -> str:
    """The record's OCR text ('' when it has none: no image, unreadable, or no words found)."""
    return record.extra.get(OCR_TEXT) or ""
