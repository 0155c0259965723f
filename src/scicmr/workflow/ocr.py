"""Read the text printed in a library's figures (Tesseract) and store it with the records."""

from __future__ import annotations

from pathlib import Path

from scicmr.corpus.library import Library
from scicmr.corpus.ocr import OcrSettings
from scicmr.corpus.ocr_library import OcrReport, ocr_library
from scicmr.parallel import Executor


def ocr_figures(
    lib: Library | str | Path,
    *,
    lang: str = "auto",
    workers: int | None = None,
    force: bool = False,
    psm: int = 3,
    binarize: str = "none",
    executor: Executor | None = None,
) -> OcrReport:
    """OCR every record's figure and store the cleaned text in ``record.extra["ocr_text"]``.

    Resumable: figures already read are skipped unless ``force``. ``lang`` is ``eng``,
    ``chi_sim``, ``eng+chi_sim`` or ``auto`` (Chinese for mostly-Chinese libraries); ``psm`` is
    Tesseract's page segmentation mode, ``binarize`` ``"none"`` or ``"otsu"``. Corrupt images
    are reported in the returned report (and ``reports/ocr.json``) and skipped. ``executor``:
    where figures are read (:class:`scicmr.parallel.RayExecutor` for Ray; None: ``workers``
    local processes); the stored texts are the same.
    """
    settings = OcrSettings(psm=psm, binarize=binarize)
    return ocr_library(lib, lang=lang, workers=workers, force=force, settings=settings, executor=executor)
