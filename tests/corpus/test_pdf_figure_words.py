"""Figure words at PDF ingest: the text layer inside a vector figure, OCR of a raster figure
(cached, optional, and harmless when Tesseract is missing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factories.ocr import needs_tesseract
from factories.pdf import Fig, body, make_paper, words_png

pytest.importorskip("pdfplumber")
pytest.importorskip("pypdfium2")

from scicmr.corpus import ocr as ocr_module  # noqa: E402
from scicmr.corpus.figure_text import figure_words, figure_words_source  # noqa: E402
from scicmr.corpus.pdf import PdfSettings, figure_ocr, read_pdf, read_pdf_folder  # noqa: E402
from scicmr.errors import InputError  # noqa: E402

VECTOR_CAPTION = "Figure 1: Bar heights of the samples with a fitted curve."
RASTER_CAPTION = "Figure 2: Spectrum of the galaxy."


def _paper(path: Path) -> None:
    make_paper(path, [body(3, cite="As shown in Figure 1, the bars rise."),
                      Fig("1", VECTOR_CAPTION, "vector", height=110), body(2),
                      Fig("2", RASTER_CAPTION, "raster", height=130,
                          png=words_png(["GALAXY SPECTRUM", "Wavelength"])), body(2)])


@pytest.fixture()
def fake_tesseract(monkeypatch, tmp_path):
    """Tesseract replaced by a counter that 'reads' FAKE WORDS (the cache logic without the
    binary), with a cache folder of this test's own."""
    calls = []
    monkeypatch.setenv("SCICMR_CACHE_DIR", str(tmp_path / "cache"))

    def fake(image, settings):
        calls.append(image.size)
        return "FAKE WORDS"

    monkeypatch.setattr(figure_ocr, "run_tesseract", fake)
    monkeypatch.setattr(figure_ocr, "unavailable_reason", lambda: None)
    monkeypatch.setattr("scicmr.corpus.pdf.reader.unavailable_reason", lambda: None)
    monkeypatch.setattr(ocr_module, "tesseract_version", lambda: "test-5.0")
    return calls


def _records(result):
    return {r.extra["figure"]: r for r in result.records}


def test_vector_figure_words_come_from_the_text_layer_without_the_caption(tmp_path: Path, fake_tesseract):
    _paper(tmp_path / "p.pdf")
    figs = _records(read_pdf(tmp_path / "p.pdf", tmp_path / "img"))
    vector = figs["1"]
    assert vector.extra["figure_text"].split() == ["y", "0.0", "0.5", "1.0", "1.5"]
    assert vector.extra["figure_text_source"] == "text-layer" and vector.extra["raster"] is False
    assert not {"Bar", "heights", "fitted", "Figure"} & set(figure_words(vector).split())
    # Every figure is read by OCR too: beside a usable text layer its words are kept apart and
    # figure_words gives both; where the layer has none they become the figure's text.
    assert len(fake_tesseract) == 2
    assert vector.extra["ocr_text"] == "FAKE WORDS" and figure_words_source(vector) == "text-layer+ocr"
    assert figure_words(vector).split() == ["y", "0.0", "0.5", "1.0", "1.5", "FAKE", "WORDS"]
    assert figs["2"].extra["figure_text"] == "FAKE WORDS" and figs["2"].extra["figure_text_source"] == "ocr"
    assert "ocr_text" not in figs["2"].extra and figure_words_source(figs["2"]) == "ocr"
    assert figs["2"].extra["raster"] is True


def test_ocr_missing_reads_only_figures_without_text_layer_words(tmp_path: Path, fake_tesseract):
    _paper(tmp_path / "p.pdf")
    figs = _records(read_pdf(tmp_path / "p.pdf", tmp_path / "img", settings=PdfSettings(ocr="missing")))
    assert len(fake_tesseract) == 1
    assert "ocr_text" not in figs["1"].extra and figs["2"].extra["figure_text_source"] == "ocr"


def test_second_ingest_reads_the_cache_and_a_corrupt_entry_is_a_miss(tmp_path: Path, fake_tesseract):
    _paper(tmp_path / "p.pdf")
    first = read_pdf(tmp_path / "p.pdf", tmp_path / "img1")
    assert (first.ocr_figures, first.ocr_cached, len(fake_tesseract)) == (2, 0, 2)
    second = read_pdf(tmp_path / "p.pdf", tmp_path / "img2")
    assert (second.ocr_figures, second.ocr_cached, len(fake_tesseract)) == (2, 2, 2)
    assert _records(second)["2"].extra["figure_text"] == "FAKE WORDS"
    entries = list(figure_ocr.cache_dir().rglob("*.json"))
    assert len(entries) == 2 and entries[0].parent.parent == tmp_path / "cache" / "figure-ocr"
    for damage in (b'{"key": "torn', b"[1, 2]", json.dumps({"key": "other", "text": "X"}).encode()):
        for entry in entries:
            entry.write_bytes(damage)
        again = read_pdf(tmp_path / "p.pdf", tmp_path / "img3")
        assert again.ocr_cached == 0 and _records(again)["2"].extra["figure_text"] == "FAKE WORDS"
    assert len(fake_tesseract) == 8
    assert all(json.loads(e.read_text())["text"] == "FAKE WORDS" for e in entries)  # rewritten whole


def test_cache_key_follows_pixels_settings_and_version():
    from PIL import Image

    a, b = Image.new("RGB", (20, 10), "white"), Image.new("RGB", (20, 10), "black")
    base = figure_ocr.cache_key(a, figure_ocr.INGEST_OCR, "5.3")
    assert base == figure_ocr.cache_key(a.copy(), figure_ocr.INGEST_OCR, "5.3")
    assert base != figure_ocr.cache_key(b, figure_ocr.INGEST_OCR, "5.3")
    assert base != figure_ocr.cache_key(a, figure_ocr.INGEST_OCR, "5.4")
    assert base != figure_ocr.cache_key(a, ocr_module.OcrSettings(psm=11), "5.3")


def test_ocr_off_reads_no_figure(tmp_path: Path, fake_tesseract):
    _paper(tmp_path / "p.pdf")
    figs = _records(read_pdf(tmp_path / "p.pdf", tmp_path / "img", settings=PdfSettings(ocr="off")))
    assert fake_tesseract == []
    assert figs["2"].extra["figure_text"] == "" and figs["2"].extra["figure_text_source"] is None
    with pytest.raises(InputError, match="figure OCR mode"):
        PdfSettings(ocr="always")


def test_without_tesseract_ingest_works_and_says_how_to_install_it(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(ocr_module, "tesseract_path", lambda: None)
    folder = tmp_path / "papers"
    folder.mkdir()
    _paper(folder / "a.pdf")
    _paper(folder / "b.pdf")
    result = read_pdf_folder(folder, tmp_path / "img", workers=1, show_progress=False)
    assert len(result.records) == 4 and result.skipped == []
    assert [r.extra["figure_text_source"] for r in result.records] == ["text-layer", None] * 2
    notes = [q for q in result.quirks if "figure OCR unavailable" in q["quirk"]]
    assert len(notes) == 1, result.quirks  # once for the folder, not once per file
    assert "2 figures" in notes[0]["quirk"] and "apt-get install tesseract-ocr" in notes[0]["detail"]
    single = read_pdf(folder / "a.pdf", tmp_path / "img1")
    assert any("apt-get install tesseract-ocr" in q["quirk"] for q in single.quirks)


def test_a_region_tesseract_fails_on_keeps_no_words_and_the_paper(tmp_path: Path, fake_tesseract, monkeypatch):
    def failing(image, settings):
        raise figure_ocr.OcrFailed("Tesseract process timeout")

    monkeypatch.setattr(figure_ocr, "run_tesseract", failing)
    _paper(tmp_path / "p.pdf")
    result = read_pdf(tmp_path / "p.pdf", tmp_path / "img")
    assert len(result.records) == 2 and _records(result)["2"].extra["figure_text"] == ""
    assert any(q["quirk"].startswith("figure OCR failed") and "timeout" in q["detail"] for q in result.quirks)


def test_region_render_matches_the_page_render(tmp_path: Path):
    import numpy as np
    import pypdfium2 as pdfium

    from scicmr.corpus.pdf import render_page
    from scicmr.corpus.pdf.render import render_region

    _paper(tmp_path / "p.pdf")
    box = (100.0, 300.0, 400.0, 500.0)
    doc = pdfium.PdfDocument(str(tmp_path / "p.pdf"))
    try:
        page = doc[0]
        region, scale = render_region(page, box, 2.0)
        full, _ = render_page(page, 2.0)
        page.close()
    finally:
        doc.close()
    assert scale == 2.0 and region.size == (600, 400)
    crop = full.crop((200, 600, 800, 1000))
    diff = np.abs(np.asarray(region, dtype=int) - np.asarray(crop, dtype=int))
    assert diff.mean() < 2.0


@needs_tesseract
def test_raster_figure_gets_its_printed_words_by_ocr(tmp_path: Path):
    _paper(tmp_path / "p.pdf")
    result = read_pdf(tmp_path / "p.pdf", tmp_path / "img")
    raster = _records(result)["2"]
    assert figure_words_source(raster) == "ocr"
    assert {"galaxy", "spectrum", "wavelength"} <= set(figure_words(raster).lower().split())


@pytest.mark.parametrize(("words", "needed"), [
    ("", True), ("(a) (b)", True), ("a b c", True),            # nothing, or only panel letters
    ('%#" &\'()*+," %!" -./" 01" $#"', True),                  # a font without a usable encoding
    ("Mean UNet + Locks 99% 1500", False), ("-69.7% -34.4%", False), ("x0.5", False), ("y 0.0 0.5", False),
])
def test_which_figures_need_ocr(words: str, needed: bool):
    assert figure_ocr.needs_ocr(words) is needed


def test_vertical_axis_labels_are_read_along_their_direction(tmp_path: Path):
    """A y-axis label set bottom to top (and one top to bottom) comes out as its words, not as
    pdfplumber's letter-by-letter split."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(tmp_path / "v.pdf"), pagesize=(612, 792), invariant=1)
    c.setFont("Times-Roman", 10)
    c.drawString(72, 720, "We measured the population of every sample on each day of the season.")
    c.rect(150, 450, 300, 200, stroke=1, fill=0)
    c.setFont("Helvetica", 9)
    c.drawString(280, 440, "Generation")
    for angle, x, text in ((90, 140, "Population size"), (-90, 462, "Host density")):
        c.saveState()
        c.translate(x, 550)
        c.rotate(angle)
        c.drawCentredString(0, 0, text)
        c.restoreState()
    c.setFont("Times-Roman", 9)
    c.drawString(150, 420, "Figure 1: Population size over the generations.")
    c.save()
    record = read_pdf(tmp_path / "v.pdf", tmp_path / "img", settings=PdfSettings(ocr="off")).records[0]
    words = figure_words(record).split()
    assert words[0] == "Generation"
    assert "Population size" in figure_words(record) and "Host density" in figure_words(record)
    assert len(words) == 5
