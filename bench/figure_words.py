"""Word recall and precision of each source of a figure's printed words, against a
hand-checked sample (``bench/figure_words_truth.json``: record id -> the words a person read
in the figure image).

Sources, each read for every figure of the sample:

- ``text-layer``: the words of the PDF text layer inside the figure box (what ingest stores);
- ``ocr-300``: Tesseract on the region re-rendered from the PDF at 300 dpi (ingest's OCR,
  ``scicmr.corpus.pdf.figure_ocr``);
- ``ocr-300-raw``: the same 300-dpi region without upscaling;
- ``ocr-150``: Tesseract on the stored 150-dpi crop, upscaled as ``scicmr ocr`` does
  (long side to 1600 px, at most 4x);
- ``ocr-150-raw``: Tesseract on the 150-dpi crop as it is (no upscaling);
- ``ingest``: what ingest stores: the text layer, or OCR at 300 dpi for the figures that
  need it (:func:`scicmr.corpus.pdf.figure_ocr.needs_ocr`).

Figures are grouped as ingest treats them: ``text layer`` (its words are kept) and ``ocr``
(read by OCR at ingest).

Tokens: lower-case alphanumeric runs of two or more characters, distinct per figure.
Recall = shared tokens / truth tokens, precision = shared tokens / read tokens, both summed
over the figures of a group (micro average). OCR runs uncached here (the cache would hide
nothing, but the timing column is the real Tesseract time).

    PYTHONPATH=src python bench/figure_words.py LIBRARY PDF_DIR [--truth bench/figure_words_truth.json]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> set[str]:
    """Distinct lower-case alphanumeric tokens of length >= 2."""
    return {t for t in TOKEN.findall(text.lower()) if len(t) >= 2}


def _origin(pdf: Path, page_number: int) -> tuple[float, float]:
    """The crop box offset pdfplumber (and so the record's bbox) measures from."""
    import pdfplumber

    with pdfplumber.open(pdf) as doc:
        page = doc.pages[page_number - 1]
        return float(page.cropbox[0]) - float(page.mediabox[0]), float(page.cropbox[1]) - float(page.mediabox[1])


def region_image(pdf: Path, page_number: int, bbox: tuple, dpi: int):
    """The record's figure region rendered alone from the PDF at ``dpi``."""
    import pypdfium2 as pdfium

    from scicmr.corpus.pdf.figure_ocr import MAX_OCR_PIXELS
    from scicmr.corpus.pdf.render import render_region

    dx, dy = _origin(pdf, page_number)
    box = (bbox[0] - dx, bbox[1] - dy, bbox[2] - dx, bbox[3] - dy)
    doc = pdfium.PdfDocument(str(pdf))
    try:
        page = doc[page_number - 1]
        image, _ = render_region(page, box, dpi / 72.0, MAX_OCR_PIXELS)
        page.close()
    finally:
        doc.close()
    return image


def read_sources(record, lib, pdf_dir: Path, truth: dict) -> tuple[dict[str, str], dict[str, float]]:
    """(text by source, Tesseract seconds by OCR source) for one record; OCR reads the region
    the truth was written for (``truth["page"]``, ``truth["bbox"]``)."""
    from scicmr.corpus.ocr import OcrSettings
    from scicmr.corpus.pdf.figure_ocr import INGEST_OCR, OCR_DPI, needs_ocr, run_tesseract

    layer = record.extra.get("figure_text", "") if record.extra.get("figure_text_source") == "text-layer" else ""
    page, bbox = truth["page"], tuple(truth["bbox"])
    if (record.source.page, tuple(record.source.bbox)) != (page, bbox):
        print(f"note: {record.id}: the library's box {record.source.bbox} differs from the annotated {bbox}")
    crop = region_image(pdf_dir / record.source.file, page, bbox, 150)  # what ingest stores at 150 dpi
    region = region_image(pdf_dir / record.source.file, page, bbox, OCR_DPI)
    images = {"ocr-300": (region, INGEST_OCR),
              "ocr-300-raw": (region, OcrSettings(max_upscale=1.0)),
              "ocr-150": (crop, OcrSettings()),
              "ocr-150-raw": (crop, OcrSettings(max_upscale=1.0))}
    texts, seconds = {"text-layer": layer}, {}
    for name, (image, settings) in images.items():
        start = time.perf_counter()
        texts[name] = run_tesseract(image, settings)
        seconds[name] = time.perf_counter() - start
    texts["ingest"] = texts["ocr-300"] if needs_ocr(layer) else layer
    return texts, seconds


def score(rows: list[tuple[set[str], set[str]]]) -> tuple[float, float, int]:
    """(recall, precision, figures) of (truth, read) token sets, micro-averaged."""
    shared = sum(len(t & r) for t, r in rows)
    truth = sum(len(t) for t, _ in rows)
    read = sum(len(r) for _, r in rows)
    return shared / max(truth, 1), shared / max(read, 1), len(rows)


def main(argv: list[str] | None = None) -> int:
    from scicmr.corpus.library import Library
    from scicmr.corpus.pdf.figure_ocr import needs_ocr

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("library", type=Path, help="a library ingested from PDF_DIR")
    parser.add_argument("pdfs", type=Path)
    parser.add_argument("--truth", type=Path, default=HERE / "figure_words_truth.json")
    parser.add_argument("--json", type=Path, help="write every figure's tokens per source here")
    args = parser.parse_args(argv)
    truth = json.loads(args.truth.read_text())["figures"]
    lib = Library.open(args.library)
    records = {r.id: r for r in lib.get_many(sorted(truth))}
    sources = ["text-layer", "ocr-300", "ocr-300-raw", "ocr-150", "ocr-150-raw", "ingest"]
    groups: dict[str, dict[str, list]] = {}
    timing: dict[str, list[float]] = {}
    dump = {}
    for rid, entry in sorted(truth.items()):
        record = records[rid]
        texts, seconds = read_sources(record, lib, args.pdfs, entry)
        for name, value in seconds.items():
            timing.setdefault(name, []).append(value)
        kind = "ocr" if needs_ocr(texts["text-layer"]) else "text layer"
        want = tokens(" ".join(entry["words"]))
        dump[rid] = {"kind": kind, "truth": sorted(want), **{s: sorted(tokens(texts[s])) for s in sources}}
        for group in (kind, "all"):
            for source in sources:
                groups.setdefault(group, {}).setdefault(source, []).append((want, tokens(texts[source])))
    print(f"{'figures':<22} {'source':<12} {'n':>3} {'recall':>7} {'precision':>9}")
    for group in ("text layer", "ocr", "all"):
        for source in sources:
            recall, precision, n = score(groups.get(group, {}).get(source, []))
            print(f"{group:<22} {source:<12} {n:>3} {recall:>7.3f} {precision:>9.3f}")
    for name, values in timing.items():
        print(f"Tesseract seconds per figure, {name}: mean {sum(values) / len(values):.2f}, max {max(values):.2f}")
    if args.json:
        args.json.write_text(json.dumps(dump, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
