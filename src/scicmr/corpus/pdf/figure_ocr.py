"""OCR of figure regions at ingest: the printed words of figures the PDF text layer says
nothing about (raster plots, micrographs with labels, vector figures whose text was turned
into outlines).

By default every figure is read: a born-digital figure's text layer is exact and free, but
OCR also reads what the layer misses (raster parts, text drawn as outlines), and on real
papers figure words from both together matched captions far better than either alone
(docs/hybrid.md). Where the layer holds no usable words (:func:`needs_ocr`) OCR's words
replace it; elsewhere they are kept beside it. Each region is rendered again from the PDF
at :data:`OCR_DPI` (tick labels of a figure rendered at 150 dpi are 5–8 px high, too small for
Tesseract; see docs/pdf.md "Figure words" for the measured difference), and read by Tesseract
(:func:`scicmr.corpus.ocr.ocr_image`'s preprocessing and cleaning).

Results are cached on disk (:func:`cache_dir`), keyed by the SHA-256 of the rendered crop's
pixels, the OCR settings and the Tesseract version, so re-ingesting the same PDFs does not
OCR again; an entry is written atomically and one that does not read back (torn, edited,
another key) counts as absent. Without Tesseract, ingest goes on: the figures keep no words
and the reader notes how to install it (:func:`unavailable_reason`).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scicmr._io import atomic_write_json
from scicmr.corpus import ocr as ocr_mod
from scicmr.errors import ScicmrError

#: ``auto``: every figure (the text layer and OCR each read what the other misses; both are
#: kept); ``missing``: only figures without usable text-layer words (faster); ``off``: none.
OCR_MODES = ("auto", "missing", "off")
#: Render resolution of a region read by OCR (see the module docstring).
OCR_DPI = 300
#: Pixels of one OCR crop, at most (a full-page figure at 300 dpi is ~8 megapixels): the
#: resolution is lowered to fit, which bounds Tesseract's time on huge figures.
MAX_OCR_PIXELS = 6_000_000
#: Seconds Tesseract may spend on one figure before it is given up (the figure keeps no words).
OCR_TIMEOUT_S = 30
#: Tesseract settings for figure regions: automatic page segmentation, no upscaling beyond
#: what a small crop needs to reach a 1600-px long side (at 300 dpi most figures are bigger).
INGEST_OCR = ocr_mod.OcrSettings(lang="eng", psm=3, target_side=1600, max_upscale=2.0)
INSTALL_HINT = "install it with `apt-get install tesseract-ocr` (scripts/setup.sh does it)"
#: A text layer whose characters are less than this share letters or digits is unreadable
#: (measured on the real-paper set: such boxes hold 2-27 %, the readable ones from ~45 % up).
MIN_WORDY_SHARE = 0.4
_CACHE_FORMAT = 1


class OcrFailed(RuntimeError):
    """Tesseract could not read one region (timeout, crash): that figure keeps no words."""


def needs_ocr(words: str) -> bool:
    """Whether a figure needs OCR: its box holds no text-layer word with two or more letters or
    digits in all ("0.5" has two, "(a)" one: a raster figure with nothing or only panel labels
    typeset over it, or a vector one whose text was drawn as outlines), or the text layer
    there is mostly not letters and digits (a font without a usable encoding: ``%#" &'()*+,"`` for "Tracing
    SFX V8"; under :data:`MIN_WORDY_SHARE` of its characters are letters or digits)."""
    if not any(sum(c.isalnum() for c in token) >= 2 for token in words.split()):
        return True
    chars = [c for c in words if not c.isspace()]
    return sum(c.isalnum() for c in chars) < MIN_WORDY_SHARE * len(chars)


def check_mode(mode: str) -> str:
    """``mode`` when it is one of :data:`OCR_MODES`; InputError naming them otherwise."""
    from scicmr.errors import InputError

    if mode not in OCR_MODES:
        raise InputError(f"unknown figure OCR mode {mode!r}", fix=f"choose one of: {', '.join(OCR_MODES)}")
    return mode


def unavailable_reason() -> str | None:
    """None when Tesseract (binary, English pack, pytesseract) can run here, else why not and
    how to fix it, as one line for an ingest note."""
    try:
        ocr_mod.require_tesseract(INGEST_OCR.lang)
    except ScicmrError as exc:
        return f"{exc.problem}; figures without text-layer words keep none. Fix: {exc.fix or INSTALL_HINT}"
    except Exception as exc:  # noqa: BLE001 -- a broken install (e.g. --list-langs fails)
        return f"Tesseract does not run ({type(exc).__name__}: {exc}); {INSTALL_HINT}"
    return None


def cache_dir() -> Path:
    """Where OCR results are cached: ``$SCICMR_CACHE_DIR/figure-ocr``, else
    ``$XDG_CACHE_HOME/scicmr/figure-ocr``, else ``~/.cache/scicmr/figure-ocr``."""
    root = os.environ.get("SCICMR_CACHE_DIR")
    if not root:
        xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        root = str(Path(xdg) / "scicmr")
    return Path(root) / "figure-ocr"


def cache_key(image: Any, settings: ocr_mod.OcrSettings, version: str) -> str:
    """SHA-256 over the crop's pixels (mode, size, bytes), the OCR settings and the Tesseract
    version: the same figure read the same way by the same Tesseract gives the same key."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": _CACHE_FORMAT, "settings": settings.to_dict(), "tesseract": version,
                              "mode": image.mode, "size": list(image.size)}, sort_keys=True).encode())
    digest.update(image.tobytes())
    return digest.hexdigest()


def _entry_path(key: str) -> Path:
    return cache_dir() / key[:2] / f"{key}.json"


def read_cached(key: str) -> str | None:
    """The cached text for ``key``; None when absent or unreadable (a damaged entry is a miss)."""
    try:
        entry = json.loads(_entry_path(key).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(entry, dict) or entry.get("key") != key or not isinstance(entry.get("text"), str):
        return None
    return entry["text"]


def write_cached(key: str, text: str) -> None:
    """Store ``text`` for ``key`` atomically; a cache that cannot be written is only slower."""
    try:
        atomic_write_json(_entry_path(key), {"key": key, "text": text})
    except OSError:
        pass


def run_tesseract(image: Any, settings: ocr_mod.OcrSettings) -> str:
    """Tesseract's cleaned reading of ``image`` (a PIL image), within :data:`OCR_TIMEOUT_S`.

    Raises:
        OcrFailed: Tesseract timed out or failed on this image.
    """
    import pytesseract

    prepared = ocr_mod.preprocess_for_ocr(image, settings)
    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # parallelism comes from the file workers
    try:
        raw = pytesseract.image_to_string(prepared, lang=settings.lang, config=f"--psm {settings.psm}",
                                          timeout=OCR_TIMEOUT_S)
    except (RuntimeError, pytesseract.TesseractError) as exc:
        raise OcrFailed(str(exc)[:160]) from None
    return ocr_mod.clean_ocr_text(raw)


def read_region(image: Any, settings: ocr_mod.OcrSettings = INGEST_OCR) -> tuple[str, bool]:
    """(words, came from the cache) for one rendered region: the cache first, else Tesseract
    (whose answer is then cached).

    Raises:
        OcrFailed: Tesseract failed on this region (nothing is cached).
    """
    key = cache_key(image, settings, ocr_mod.tesseract_version())
    cached = read_cached(key)
    if cached is not None:
        return cached, True
    text = run_tesseract(image, settings)
    write_cached(key, text)
    return text, False


@dataclass
class OcrOutcome:
    """What :func:`ocr_regions` did for one file: words by region name, the reason for each
    region that got none (render or Tesseract failure), how many came from the cache, and the
    seconds spent (rendering and reading)."""

    words: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    cached: int = 0
    seconds: float = 0.0


def ocr_regions(path: Path, page_boxes: dict[int, list[tuple[str, tuple]]], dpi: int = OCR_DPI,
                settings: ocr_mod.OcrSettings = INGEST_OCR) -> OcrOutcome:
    """OCR each (name, box) on each page of the PDF at ``path`` (boxes in points from the
    rendered page's top-left), each region rendered alone at ``dpi`` within
    :data:`MAX_OCR_PIXELS`. A region that cannot be rendered or read is a failure in the
    outcome, never an exception; the others still get their words.
    """
    import pypdfium2 as pdfium

    from scicmr.corpus.pdf.render import PageTooLarge, render_region

    out, start = OcrOutcome(), time.perf_counter()
    doc = pdfium.PdfDocument(str(path))
    try:
        for number, items in page_boxes.items():
            page = doc[number - 1]
            try:
                for name, box in items:
                    try:
                        image, _ = render_region(page, box, dpi / 72.0, MAX_OCR_PIXELS)
                        out.words[name], hit = read_region(image, settings)
                        out.cached += hit
                    except (PageTooLarge, OcrFailed) as exc:
                        out.failed[name] = str(exc)
            finally:
                page.close()
    finally:
        doc.close()
    out.seconds = time.perf_counter() - start
    return out
