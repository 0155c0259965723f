"""Read one PDF paper into figure–caption records (see the package docstring)."""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from scicmr._io import atomic_write_bytes
from scicmr.corpus.figure_text import FIGURE_TEXT, FIGURE_TEXT_SOURCE, OCR_TEXT
from scicmr.corpus.pdf.figure_ocr import OCR_DPI, check_mode, needs_ocr, ocr_regions, unavailable_reason
from scicmr.corpus.pdf.captions import (Caption, cited_numbers, document_vocabulary, find_captions,
                                        join_lines, split_sentences)
from scicmr.corpus.pdf.figures import Region, find_region, pad_box, page_parts
from scicmr.corpus.pdf.layout import LIGATURES, PageLayout, center_inside, mark_running, page_layout, typical_line_gaps
from scicmr.corpus.pdf.metadata import PaperMeta, from_info, from_layout
from scicmr.corpus.pdf.render import PageTooLarge, render_page
from scicmr.corpus.readers.base import ReaderSkip, ReadResult
from scicmr.corpus.record import Record, Source
from scicmr.errors import InputError

SCANNED = "scanned page without text layer; OCR it first"


@dataclass
class PdfSettings:
    """How PDFs are read: render resolution, the limits that skip huge files (raise them to
    read those), the padding around a figure crop (points), and figure OCR: ``ocr="auto"``
    reads every figure with Tesseract (cached; see :mod:`scicmr.corpus.pdf.figure_ocr`),
    rendered at ``ocr_dpi``; ``"missing"`` only the figures without text-layer words;
    ``"off"`` none."""

    dpi: int = 150
    max_pages: int = 200
    max_megabytes: float = 100.0
    pad: float = 2.0
    ocr: str = "auto"
    ocr_dpi: int = OCR_DPI

    def __post_init__(self) -> None:
        check_mode(self.ocr)
        if not isinstance(self.ocr_dpi, int) or not 72 <= self.ocr_dpi <= 600:
            raise InputError(f"figure OCR resolution must be 72..600 dpi, got {self.ocr_dpi!r}",
                             fix="use 300 (the default)")


@dataclass
class PdfResult(ReadResult):
    """What :func:`read_pdf` produced for one paper.

    A :class:`~scicmr.corpus.readers.base.ReadResult` (figure records; at most one
    :class:`~scicmr.corpus.readers.base.Skipped`, the file itself, when it was left out; quirks
    in ``notes``) plus what only one file has, which is why this type is kept: pages read,
    wall-clock and CPU seconds of this process (CPU time is what a busy machine does not
    inflate) and the paper's metadata. A folder's result keeps the numbers per file in
    ``notes["pdf_stats"]`` (:func:`scicmr.corpus.pdf.read_pdf_folder`).
    """

    pages: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    meta: PaperMeta | None = None
    ocr_figures: int = 0
    ocr_cached: int = 0
    ocr_seconds: float = 0.0


def _check_file(path: Path, settings: PdfSettings) -> None:
    if not path.is_file():
        raise ReaderSkip("file not found")
    size_mb = path.stat().st_size / 1e6
    if size_mb > settings.max_megabytes:
        raise ReaderSkip(f"file is {size_mb:.0f} MB, over the {settings.max_megabytes:g} MB limit; "
                         "raise it with --max-mb (PdfSettings.max_megabytes) to read it")
    with open(path, "rb") as handle:
        head = handle.read(1024)
    if b"%PDF-" not in head:
        shown = head[:16].decode("latin-1").encode("unicode_escape").decode("ascii")
        raise ReaderSkip(f"not a PDF (no %PDF- header; starts with {shown!r})")


def _open_error(exc: BaseException) -> str:
    """A reason for a file pdfplumber cannot open (walks the exception chain)."""
    chain, seen = [], exc
    while seen is not None and len(chain) < 5:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    text = " ".join(f"{type(e).__name__} {e}" for e in chain).lower()
    if "password" in text or "encrypt" in text:
        return "encrypted PDF (password required); decrypt it first (e.g. qpdf --decrypt)"
    return f"corrupt or truncated PDF: {type(exc).__name__}: {str(exc)[:160]}"


def _layouts(path: Path, settings: PdfSettings) -> tuple[list[PageLayout], dict[str, Any], int]:
    import pdfplumber

    try:
        pdf = pdfplumber.open(path)
    except Exception as exc:  # noqa: BLE001 -- pdfminer raises many types for bad files
        raise ReaderSkip(_open_error(exc)) from None
    with pdf:
        try:
            n_pages = len(pdf.pages)
        except Exception as exc:  # noqa: BLE001
            raise ReaderSkip(_open_error(exc)) from None
        if n_pages == 0:
            raise ReaderSkip("corrupt or truncated PDF: no pages")
        if n_pages > settings.max_pages:
            raise ReaderSkip(f"{n_pages} pages, over the {settings.max_pages}-page limit; raise it with "
                             "--max-pages (PdfSettings.max_pages) to read it")
        layouts = []
        for number, page in enumerate(pdf.pages, start=1):
            try:
                layouts.append(page_layout(page, number))
            except Exception as exc:  # noqa: BLE001
                if not layouts and number == n_pages:
                    raise ReaderSkip(_open_error(exc)) from None
                layouts.append(PageLayout(number, float(page.width), float(page.height), [], [], [], 10.0, 0))
        info = dict(pdf.metadata or {})
    return layouts, info, n_pages


def _body_sentences(layouts: Sequence[PageLayout], captions: Sequence[Caption],
                    regions: dict[int, list[Region]], vocabulary: set[str]) -> list[str]:
    """Running text in reading order (column by column), minus captions and figure text."""
    caption_lines = {id(ln) for cap in captions for ln in cap.lines}
    texts: list[str] = []
    for layout in layouts:
        boxes = [r.box for r in regions.get(layout.number, [])]
        keep = [ln for ln in layout.lines if id(ln) not in caption_lines and not ln.running
                and not any(center_inside(ln.box, b) for b in boxes)]
        if layout.columns() == 2:
            mid = layout.width / 2
            keep = sorted(keep, key=lambda ln: (ln.x0 >= mid - 4, ln.top))
        texts.append(join_lines([ln.text for ln in keep], vocabulary))
    return split_sentences(" ".join(texts))


def _render(path: Path, page_boxes: dict[int, list[tuple[str, tuple]]], dpi: int) -> dict[str, bytes]:
    """PNG bytes for each (name, box) on each page, rendered once per page with pypdfium2 within
    the shared pixel budget (:func:`~scicmr.corpus.pdf.render.render_page`)."""
    import pypdfium2 as pdfium

    out: dict[str, bytes] = {}
    doc = pdfium.PdfDocument(str(path))
    try:
        for number, items in page_boxes.items():
            page = doc[number - 1]
            try:
                image, scale = render_page(page, dpi / 72.0)  # pixel budget: huge pages come out coarser
            except PageTooLarge as exc:
                raise ReaderSkip(f"cannot render page {number}: {exc}") from None
            for name, box in items:
                # The size comes from the box's extent, not from two rounded edges, so a
                # region has the same pixel size wherever it sits on the page.
                left, top = int(round(box[0] * scale)), int(round(box[1] * scale))
                width, height = int(round((box[2] - box[0]) * scale)), int(round((box[3] - box[1]) * scale))
                crop = image.crop((left, top, left + max(width, 1), top + max(height, 1)))
                buffer = io.BytesIO()
                crop.save(buffer, format="PNG", optimize=False)
                out[name] = buffer.getvalue()
            page.close()
    finally:
        doc.close()
    return out


def _overlap(inner: tuple, outer: tuple) -> float:
    """The share of ``outer``'s area that ``inner`` covers (0..1)."""
    w = min(inner[2], outer[2]) - max(inner[0], outer[0])
    h = min(inner[3], outer[3]) - max(inner[1], outer[1])
    area = max((outer[2] - outer[0]) * (outer[3] - outer[1]), 1e-6)
    return max(w, 0.0) * max(h, 0.0) / area


def _figure_words(layout: PageLayout, box: tuple, caption: Caption) -> str:
    """Words of the text layer inside the figure's ``box`` (not the caption's), line by line in
    reading order, then the words set vertically (axis labels, read along their direction in
    place of pdfplumber's letter-by-letter split): the figure's own printed words, exact for
    a born-digital figure."""
    caption_lines = {id(ln) for ln in caption.lines}
    vertical = [w for w in layout.vertical if center_inside(_word_box(w), box)]
    words = []
    for line in layout.lines:
        if id(line) in caption_lines or line.running:
            continue
        for word in line.words or [{"text": line.text, "x0": line.x0, "top": line.top,
                                    "x1": line.x1, "bottom": line.bottom}]:
            inside = center_inside(_word_box(word), box)
            if inside and not (word.get("upright") is False and _within_any(word, vertical)):
                words.append(str(word["text"]).translate(LIGATURES))
    words.extend(str(w["text"]) for w in vertical)
    return " ".join(" ".join(words).split())


def _word_box(word: dict[str, Any]) -> tuple[float, float, float, float]:
    return (word["x0"], word["top"], word["x1"], word["bottom"])


def _within_any(word: dict[str, Any], others: Sequence[dict[str, Any]]) -> bool:
    """Whether ``word``'s centre lies in one of ``others``' boxes (1 pt slack)."""
    return any(center_inside(_word_box(word), _word_box(o), pad=1.0) for o in others)


def _column_of(caption: Caption, layouts: Sequence[PageLayout]) -> int:
    """0 or 1: the caption's column on a two-column page (reading order), else 0."""
    layout = layouts[caption.page - 1]
    return int(layout.columns() == 2 and caption.box[0] >= layout.width / 2 - 6)


def _unique_ids(paper_id: str, captions: Sequence[Caption]) -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for cap in captions:
        base = f"{paper_id}-fig{re.sub(r'[^0-9A-Za-z]', '', cap.number)}"
        seen[base] = seen.get(base, 0) + 1
        ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return ids


def read_pdf(path: str | Path, image_dir: str | Path, *, paper_id: str | None = None,
             relative_to: str | Path | None = None, source_name: str | None = None,
             settings: PdfSettings | None = None) -> PdfResult:
    """Read one PDF paper into figure–caption records.

    Args:
        path: the PDF file.
        image_dir: where figure PNGs are written (``<record id>.png``, atomically).
        paper_id: the records' ``group`` and id prefix (default: the file stem).
        relative_to: record image paths are relative to this folder (a library root);
            absolute when None.
        source_name: what ``Source.file`` says (default: the path as given).
        settings: :class:`PdfSettings` (dpi, limits).

    Returns:
        :class:`PdfResult`. An unusable file (encrypted, corrupt, not a PDF, scanned, too big,
        no figures) is one :class:`~scicmr.corpus.readers.base.Skipped` in ``skipped``, leaves
        ``records`` empty and writes no image; nothing is raised.
    """
    settings = settings or PdfSettings()
    path = Path(path)
    paper_id = paper_id or path.stem
    start, cpu_start = time.perf_counter(), time.process_time()
    result = PdfResult()
    try:
        _read_into(result, path, Path(image_dir), paper_id, relative_to, source_name or str(path), settings)
    except ReaderSkip as skip:
        result.records = []
        result.skip(source_name or str(path), skip.reason)
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = time.process_time() - cpu_start
    return result


def _read_into(result: PdfResult, path: Path, image_dir: Path, paper_id: str,
               relative_to: str | Path | None, source_name: str, settings: PdfSettings) -> None:
    _check_file(path, settings)
    layouts, info, result.pages = _layouts(path, settings)
    if sum(layout.n_chars for layout in layouts) == 0:
        raise ReaderSkip(SCANNED if any(layout.images for layout in layouts) else "no text layer and no figures")
    for layout in layouts:
        if layout.n_chars == 0 and layout.images:
            result.quirk(f"{source_name} page {layout.number}", SCANNED)
    mark_running(layouts)
    vocabulary = document_vocabulary(ln.text for layout in layouts for ln in layout.lines)
    gaps = typical_line_gaps(layouts)
    meta = from_layout(layouts[0], from_info(info))
    result.meta = meta
    found: list[tuple[Caption, Region]] = []
    all_captions: list[Caption] = []
    regions: dict[int, list[Region]] = {}
    for layout in layouts:
        captions = find_captions(layout.lines, layout.number, vocabulary, gaps)
        all_captions.extend(captions)
        parts = page_parts(layout, captions) if captions else None
        for cap in captions:
            region = find_region(cap, layout, captions, [r.box for r in regions.get(layout.number, [])], parts)
            if region is None:
                result.quirk(f"{source_name} page {layout.number}",
                             f"caption '{cap.label}' has no figure next to it; left out", cap.text[:80])
                continue
            region.box = pad_box(region.box, layout, settings.pad)
            regions.setdefault(layout.number, []).append(region)
            found.append((cap, region))
    if not found:
        raise ReaderSkip("no captioned figures found")
    found.sort(key=lambda pair: (pair[0].page, _column_of(pair[0], layouts), pair[0].box[1]))
    sentences = _body_sentences(layouts, all_captions, regions, vocabulary)
    _write_records(result, path, image_dir, paper_id, relative_to, source_name, settings, found, sentences, meta,
                   layouts)


def _words_of_figures(result: PdfResult, path: Path, source_name: str, settings: PdfSettings,
                      figures: list[tuple[str, Caption, Region, tuple]],
                      layouts: Sequence[PageLayout]) -> dict[str, list]:
    """[words, source, raster, ocr words] for each figure ``(id, caption, region, render box)``:
    the text layer's words inside the box; OCR of the region (every figure with
    ``settings.ocr == "auto"``, those without any real word there with ``"missing"``:
    :func:`~scicmr.corpus.pdf.figure_ocr.needs_ocr`). OCR's words replace an unusable layer and
    are kept beside a usable one (``ocr words``). Missing Tesseract and unreadable regions are
    quirks, never failures: those figures keep what the layer had."""
    texts: dict[str, list] = {}
    wanted: dict[int, list[tuple[str, tuple]]] = {}
    for rid, cap, region, render_box in figures:
        layout = layouts[cap.page - 1]
        words = _figure_words(layout, region.box, cap)
        raster = any(_overlap(img, region.box) > 0.3 for img in layout.images)
        texts[rid] = [words, "text-layer" if words else None, raster, ""]
        if settings.ocr == "auto" or (settings.ocr == "missing" and needs_ocr(words)):
            wanted.setdefault(cap.page, []).append((rid, render_box))
    if not wanted:
        return texts
    reason = unavailable_reason()
    if reason:
        result.quirk(source_name, f"figure OCR unavailable: {reason}")
        return texts
    try:
        outcome = ocr_regions(path, wanted, settings.ocr_dpi)
    except Exception as exc:  # noqa: BLE001 -- words are a bonus: never lose the paper for them
        result.quirk(source_name, "figure OCR failed; its figures keep no words", f"{type(exc).__name__}: {exc}"[:200])
        return texts
    result.ocr_figures = sum(len(items) for items in wanted.values())
    result.ocr_cached, result.ocr_seconds = outcome.cached, outcome.seconds
    for rid, text in outcome.words.items():
        if text and needs_ocr(texts[rid][0]):  # the layer had panel labels or unreadable text there
            texts[rid][:2] = [text, "ocr"]
        elif text:
            texts[rid][3] = text
    for rid, why in outcome.failed.items():
        result.quirk(f"{source_name} {rid}", "figure OCR failed; the figure keeps no words", why)
    return texts


def _write_records(result: PdfResult, path: Path, image_dir: Path, paper_id: str,
                   relative_to: str | Path | None, source_name: str, settings: PdfSettings,
                   found: list[tuple[Caption, Region]], sentences: list[str], meta: PaperMeta,
                   layouts: Sequence[PageLayout]) -> None:
    ids = _unique_ids(paper_id, [cap for cap, _ in found])
    page_boxes: dict[int, list[tuple[str, tuple]]] = {}
    for rid, (cap, region) in zip(ids, found):
        dx, dy = layouts[cap.page - 1].origin
        box = (region.box[0] - dx, region.box[1] - dy, region.box[2] - dx, region.box[3] - dy)
        page_boxes.setdefault(cap.page, []).append((rid, box))
    try:
        pngs = _render(path, page_boxes, settings.dpi)
    except ReaderSkip:
        raise
    except Exception as exc:  # noqa: BLE001 -- pdfium errors: the file cannot be rendered
        raise ReaderSkip(f"cannot render pages: {_open_error(exc)}") from None
    render_boxes = {rid: box for items in page_boxes.values() for rid, box in items}
    texts = _words_of_figures(result, path, source_name, settings,
                              [(rid, cap, region, render_boxes[rid]) for rid, (cap, region) in zip(ids, found)],
                              layouts)
    written: list[Path] = []
    try:
        for rid, (cap, region) in zip(ids, found):
            target = image_dir / f"{rid}.png"
            atomic_write_bytes(target, pngs[rid])
            written.append(target)
            image_ref = target.relative_to(relative_to).as_posix() if relative_to else str(target)
            context = list(dict.fromkeys(s for s in sentences if cap.number in cited_numbers(s)))
            words, source, raster, ocr_words = texts[rid]
            result.records.append(Record(
                id=rid, kind="pair", title=meta.title, text=cap.text, authors=list(meta.authors),
                date=meta.year, images=[image_ref],
                source=Source(file=source_name, page=cap.page, bbox=tuple(round(v, 2) for v in region.box)),
                group=paper_id, context=" ".join(context)[:4000],
                extra={"paper": paper_id, "label": cap.label, "figure": cap.number, "caption_position": region.position,
                       "region": region.kind, "abstract": meta.abstract, "caption_bbox": [round(v, 2) for v in cap.box],
                       FIGURE_TEXT: words, FIGURE_TEXT_SOURCE: source, "raster": raster,
                       **({OCR_TEXT: ocr_words} if ocr_words else {})},
            ))
    except BaseException:
        for target in written:  # leave no half-written paper behind
            target.unlink(missing_ok=True)
        raise
