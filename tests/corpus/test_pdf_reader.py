"""PDF reader on papers generated with reportlab: figure boxes, captions, pages, context, metadata."""

from __future__ import annotations

from pathlib import Path

import pytest

from factories.pdf import Fig, body, chinese_font, make_paper

pytest.importorskip("pdfplumber")
pytest.importorskip("pypdfium2")

from scicmr.corpus.pdf import read_pdf  # noqa: E402
from scicmr.corpus.pdf.layout import iou  # noqa: E402

CAP1 = ("Figure 1: Bar heights of the five samples with a fitted curve drawn over them, for a comparison "
        "with the prediction of the model described in the second section of this paper.")
CAP2 = "Fig. 2. A raster photograph of the sample holder."
CAP3 = "FIG. 3 | Calibration curve of the detector."


def _by_figure(result):
    return {r.extra["figure"]: r for r in result.records}


def _check_boxes(result, truth):
    for number, (page, box) in truth.items():
        rec = _by_figure(result)[number]
        assert rec.source.page == page, number
        assert iou(rec.source.bbox, box) > 0.7, (number, rec.source.bbox, box)


def test_one_column_raster_vector_captions_above_below_and_pages(tmp_path: Path):
    blocks = [body(5, cite="As shown in Figure 1, the signal rises with temperature."),
              Fig("1", CAP1, "vector"),
              body(4, cite="The holder is pictured in Fig. 2 (and in Figs. 2 and 3 together)."),
              Fig("2", CAP2, "raster", position="above"),
              body(30), Fig("3", CAP3, "vector", position="above", height=120), body(3)]
    truth = make_paper(tmp_path / "paper.pdf", blocks, title="Measuring Test Figures in Generated Papers",
                       authors="Ada Lovelace, Alan Turing and Grace Hopper", abstract=body(3), year="2021")
    result = read_pdf(tmp_path / "paper.pdf", tmp_path / "img", relative_to=tmp_path)
    assert result.skipped == []
    assert [r.id for r in result.records] == ["paper-fig1", "paper-fig2", "paper-fig3"]
    figs = _by_figure(result)
    # Captions: exact text without the label, multi-line joined with single spaces.
    assert figs["1"].text == CAP1.split(": ", 1)[1]
    assert figs["2"].text == "A raster photograph of the sample holder."
    assert figs["3"].text == "Calibration curve of the detector."
    assert [figs[n].extra["caption_position"] for n in "123"] == ["below", "above", "above"]
    assert figs["3"].source.page == 2
    _check_boxes(result, truth)
    assert figs["1"].context == ("As shown in Figure 1, the signal rises with temperature.")
    assert figs["2"].context == "The holder is pictured in Fig. 2 (and in Figs. 2 and 3 together)."
    assert figs["3"].context == figs["2"].context
    for rec in result.records:
        assert rec.group == "paper" and rec.kind == "pair"
        assert rec.title == "Measuring Test Figures in Generated Papers"
        assert rec.authors == ["Ada Lovelace", "Alan Turing", "Grace Hopper"]
        assert rec.date == "2021"
        assert rec.extra["abstract"].startswith("We describe the measurement")
        assert (tmp_path / rec.image).is_file() and rec.image.startswith("img/")


def test_crop_size_follows_dpi_and_box(tmp_path: Path):
    from PIL import Image

    truth = make_paper(tmp_path / "p.pdf", [body(2), Fig("1", "Figure 1: A plot.", "raster"), body(2)])
    from scicmr.corpus.pdf import PdfSettings

    result = read_pdf(tmp_path / "p.pdf", tmp_path / "img", settings=PdfSettings(dpi=144))
    rec = result.records[0]
    x0, top, x1, bottom = rec.source.bbox
    with Image.open(rec.image) as im:
        assert abs(im.width - (x1 - x0) * 2) <= 2 and abs(im.height - (bottom - top) * 2) <= 2
        # The drawn raster's top half is red (R = 220): the crop shows it.
        r, g, b = im.convert("RGB").getpixel((im.width // 2, im.height // 4))
        assert r > 200
    assert iou(rec.source.bbox, truth["1"][1]) > 0.8


def test_two_columns_keep_captions_with_their_column(tmp_path: Path):
    blocks = [body(6, cite="Panel a of Figure 1a is discussed first."),
              Fig("1", "Fig. 1. Left column vector plot of the measured intensity against time for every sample.", "vector", height=120),
              body(12), Fig("2", "Fig. 2. Right column photograph.", "raster", position="above", height=110),
              body(8, cite="Both panels (Figs. 1–2) agree.")]
    blocks += [Fig("3", "Fig. 3. A figure across both columns at the top of the page, with a caption that is "
                        "long enough to need two lines at the full width of the page.", "vector", height=140, span=True),
               body(20, cite="The wide plot (Fig. 3) spans the page.")]
    truth = make_paper(tmp_path / "two.pdf", blocks, columns=2, title="Two Column Paper About Detectors")
    result = read_pdf(tmp_path / "two.pdf", tmp_path / "img")
    assert result.skipped == []
    figs = _by_figure(result)
    assert set(figs) == {"1", "2", "3"}
    assert figs["3"].source.page == 2 and figs["3"].text.endswith("at the full width of the page.")
    assert figs["3"].context == "The wide plot (Fig. 3) spans the page."
    assert figs["1"].text == "Left column vector plot of the measured intensity against time for every sample."
    _check_boxes(result, truth)
    assert figs["1"].source.bbox[2] < 306 < figs["2"].source.bbox[0]
    assert "Panel a of Figure 1a is discussed first." in figs["1"].context
    assert "Both panels (Figs. 1–2) agree." in figs["2"].context


def test_bold_label_without_delimiter_and_body_sentence_is_not_a_caption(tmp_path: Path):
    blocks = ["Figure 1 shows nothing here; this sentence starts a paragraph and is body text. " + body(3),
              Fig("1", "Figure 1 Results of the survey of all participants.", "raster", label_font="Times-Bold"),
              body(3)]
    make_paper(tmp_path / "b.pdf", blocks)
    result = read_pdf(tmp_path / "b.pdf", tmp_path / "img")
    assert [(r.extra["label"], r.text) for r in result.records] == [("Figure 1", "Results of the survey of all participants.")]
    assert result.records[0].context.startswith("Figure 1 shows nothing here")


def test_repeated_numbers_get_unique_ids(tmp_path: Path):
    blocks = [body(2), Fig("1", "Figure 1: First.", "raster", height=90), body(2),
              Fig("1b", "Figure 1: Again the first, in an appendix.", "vector", height=90), body(2)]
    make_paper(tmp_path / "dup.pdf", blocks)
    ids = [r.id for r in read_pdf(tmp_path / "dup.pdf", tmp_path / "img").records]
    assert ids == ["dup-fig1", "dup-fig1-2"]


def test_chinese_caption_and_citation(tmp_path: Path):
    font = chinese_font()
    blocks = [("如图3所示，温度升高时信号增强。这一结果与模型一致。", font),
              Fig("3", "图 3：实验装置的示意图", "raster", caption_font=font, height=100),
              ("图3 表示样品架的布置。", font)]
    make_paper(tmp_path / "zh.pdf", blocks)
    result = read_pdf(tmp_path / "zh.pdf", tmp_path / "img")
    assert [(r.extra["label"], r.text) for r in result.records] == [("图 3", "实验装置的示意图")]
    assert result.records[0].context.startswith("如图3所示，温度升高时信号增强。")


def test_metadata_title_first_and_junk_metadata_ignored(tmp_path: Path):
    blocks = [body(2), Fig("1", "Figure 1: A plot.", "vector", height=80)]
    make_paper(tmp_path / "a.pdf", blocks, title="Layout Title On The Page", info_title="Metadata Title")
    make_paper(tmp_path / "b.pdf", blocks, title="Layout Title On The Page", info_title="draft_v3.docx")
    assert read_pdf(tmp_path / "a.pdf", tmp_path / "i").records[0].title == "Metadata Title"
    rec = read_pdf(tmp_path / "b.pdf", tmp_path / "j").records[0]
    assert rec.title == "Layout Title On The Page" and rec.authors == []


def test_running_heads_stay_out_of_figures_and_context(tmp_path: Path):
    # The second figure sits at the top of page 2, right under the running head.
    blocks = [body(3, cite="Figure 1 is the first plot."), Fig("1", "Figure 1: First plot.", "vector", height=100),
              body(44), Fig("2", "Figure 2: Top of the second page.", "raster", height=120), body(3)]
    running = "Journal of Generated Tests 12 (2024) 1-9"
    truth = make_paper(tmp_path / "run.pdf", blocks, running=running)
    result = read_pdf(tmp_path / "run.pdf", tmp_path / "img")
    assert truth["2"][0] == 2 and truth["2"][1][1] < 80  # the case under test: top of page 2
    _check_boxes(result, truth)
    top = _by_figure(result)["2"].source.bbox[1]
    assert top >= truth["2"][1][1] - 3  # the region does not reach up into the running head
    assert all("Journal of Generated Tests" not in r.context for r in result.records)
    assert result.records[0].date == "2024"


def test_caption_in_body_font_ends_at_the_paragraph(tmp_path: Path):
    # Same font and size as the body and only 2 pt before the next paragraph: the caption
    # ends because its last sentence stops although the next word would have fitted.
    cap = "Figure 1: A caption written in the body font. It has two sentences."
    blocks = [body(3), Fig("1", cap, "raster", caption_size=10, caption_gap=2), body(4), body(4)]
    make_paper(tmp_path / "same.pdf", blocks)
    rec = read_pdf(tmp_path / "same.pdf", tmp_path / "img").records[0]
    assert rec.text == "A caption written in the body font. It has two sentences."


@pytest.mark.parametrize("fonttype", [42, 3])
def test_matplotlib_vector_figure_with_its_labels(tmp_path: Path, fonttype: int):
    from factories.pdf import matplotlib_page

    truth = matplotlib_page(tmp_path / "mpl.pdf", fonttype)
    result = read_pdf(tmp_path / "mpl.pdf", tmp_path / "img")
    [rec] = result.records
    assert rec.text == "Intensity against temperature for the two model curves, with the saturation region marked."
    assert iou(rec.source.bbox, truth) > 0.9  # tick labels, axis labels, legend and title included
    # The repeated citing sentence appears once in the context.
    assert rec.context == "As shown in Figure 1, the intensity grows with the temperature and saturates above the transition."


def test_crop_box_offset_keeps_crops_on_the_figure(tmp_path: Path):
    import numpy as np
    from PIL import Image

    blocks = [body(4), Fig("1", "Figure 1: A photograph.", "raster", height=120), body(3)]
    make_paper(tmp_path / "plain.pdf", blocks)
    make_paper(tmp_path / "cropped.pdf", blocks, cropbox=(30, 20, 590, 780))
    plain = read_pdf(tmp_path / "plain.pdf", tmp_path / "a").records[0]
    cropped = read_pdf(tmp_path / "cropped.pdf", tmp_path / "b").records[0]
    assert cropped.source.bbox == plain.source.bbox
    with Image.open(plain.image) as a, Image.open(cropped.image) as b:
        assert a.size == b.size
        diff = np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).mean()
    assert diff < 2.0


def test_many_small_drawings_are_merged_without_changing_the_region(tmp_path: Path, monkeypatch):
    import numpy as np
    from reportlab.pdfgen import canvas

    import scicmr.corpus.pdf.layout as layout

    c = canvas.Canvas(str(tmp_path / "dots.pdf"), pagesize=(612, 792), invariant=1)
    c.setFont("Times-Roman", 10)
    for k in range(8):
        c.drawString(72, 740 - 12 * k, "Body text of the paper runs across the whole column of the page here.")
    rng = np.random.default_rng(0)
    for x, y in rng.uniform(0, 1, size=(3000, 2)):
        c.rect(150 + 300 * x, 400 + 200 * y, 1.5, 1.5, stroke=0, fill=1)  # scatter markers
    c.setFont("Times-Roman", 9)
    c.drawString(72, 385, "Figure 1: Three thousand markers.")
    c.save()
    fast = read_pdf(tmp_path / "dots.pdf", tmp_path / "a").records[0]
    coarsen = layout._coarsen
    monkeypatch.setattr(layout, "_coarsen", lambda boxes, **_: boxes)  # the reference: every box kept
    slow = read_pdf(tmp_path / "dots.pdf", tmp_path / "b").records[0]
    assert fast.source.bbox == slow.source.bbox
    assert iou(fast.source.bbox, (150, 792 - 601.5, 451.5, 792 - 400)) > 0.9
    boxes = [(float(i % 50), float(i // 50), i % 50 + 1.0, i // 50 + 1.0) for i in range(2500)]
    merged = coarsen(boxes)
    assert len(merged) < 200 and layout.union(merged) == layout.union(boxes)


def _justified(c, text: str, x0: float, width: float, y: float, font: str = "Times-Roman", size: float = 10) -> None:
    """Draw ``text`` on one line stretched to ``width`` (word gaps widened), as journals set
    body text, so a column's lines end exactly at its edge."""
    words = text.split()
    widths = [c.stringWidth(w, font, size) for w in words]
    gap = (width - sum(widths)) / max(len(words) - 1, 1)
    c.setFont(font, size)
    x = x0
    for word, w in zip(words, widths):
        c.drawString(x, y, word)
        x += w + gap


def _narrow_gutter_page(path: Path, caption: list[str]) -> tuple[float, float, float, float]:
    """One page, two justified columns 11 pt apart (A&A's gutter); a vector figure with
    ``caption`` lines under it in the left column, body text beside it in the right one.
    Returns the figure's box (top-left origin)."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(612, 792), invariant=1)
    col_w, left, right = 245.5, 55.0, 55.0 + 245.5 + 11.0
    line = "the detector response was measured again on every sample with the same settings and"
    for k in range(60):
        _justified(c, line, right, col_w, 740 - 12 * k)
    for k in range(8):
        _justified(c, line, left, col_w, 740 - 12 * k)
    fig = (left + 20, 792 - 640, left + col_w - 20, 792 - 490)  # x0, top, x1, bottom
    c.rect(fig[0], 490, fig[2] - fig[0], 150, stroke=1, fill=0)
    c.line(fig[0] + 10, 500, fig[2] - 10, 620)
    for k, text in enumerate(caption):
        _justified(c, text, left, col_w, 476 - 12 * k, size=9)
    for k in range(12):
        _justified(c, line, left, col_w, 400 - 12 * k)
    c.save()
    return fig


def test_narrow_gutter_keeps_two_columns_apart(tmp_path: Path):
    """An 11-pt gutter (A&A) is narrower than the 1.5-em word-gap rule: the page's gutter is
    found from the empty band in the middle, so the caption stays in its column and finds
    the figure above it."""
    caption = ["Fig. 1. Count spectrum of the detector integrated over the whole",
               "observation time for every one of the samples measured here."]
    box = _narrow_gutter_page(tmp_path / "narrow.pdf", caption)
    result = read_pdf(tmp_path / "narrow.pdf", tmp_path / "img")
    assert [r.extra["figure"] for r in result.records] == ["1"], result.quirks
    record = result.records[0]
    assert record.text == " ".join(caption).removeprefix("Fig. 1. ")
    assert iou(record.source.bbox, box) > 0.7 and record.source.bbox[2] < 306


def test_one_column_page_has_no_gutter(tmp_path: Path):
    from scicmr.corpus.pdf.layout import page_layout

    make_paper(tmp_path / "one.pdf", [body(60)])
    import pdfplumber

    with pdfplumber.open(tmp_path / "one.pdf") as pdf:
        layout = page_layout(pdf.pages[0], 1)
    body_lines = [ln for ln in layout.lines if ln.body]
    assert layout.columns() == 1 and len(body_lines) > 20
    assert all(ln.x1 - ln.x0 > 300 for ln in body_lines[:-1] if not ln.text.endswith("."))
