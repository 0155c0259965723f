"""Build small PDF papers with reportlab for the PDF-ingestion tests (no files from elsewhere).

A paper is a list of blocks laid out top to bottom in one or two columns: paragraphs of body
text and figures (a raster PNG made with PIL, or vector drawing made of rects, lines and a
curve, with a few text labels) with their caption above or below. The builder returns where
every figure was drawn, ``{number: (page, (x0, top, x1, bottom))}`` in points from the page's
top-left, so tests can compare the reader's boxes with the truth.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PAGE_W, PAGE_H = 612.0, 792.0
MARGIN = 54.0
GUTTER = 18.0


@dataclass
class Fig:
    number: str
    caption: str                  # full caption text including its label, e.g. "Figure 1: A plot."
    kind: str = "vector"          # "vector" or "raster"
    position: str = "below"       # caption "below" or "above" the figure
    height: float = 150.0
    label_font: str | None = None  # e.g. "Helvetica-Bold": draw the label in this font
    caption_font: str = "Times-Roman"
    caption_size: float = 9.0
    caption_gap: float = 10.0      # space between a caption below the figure and what follows
    span: bool = False             # two columns: a full-width figure at the top of a new page
    png: bytes | None = None       # a raster figure's image (default: seeded noise, raster_png)


def raster_png(seed: int, size: tuple[int, int] = (240, 160)) -> bytes:
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
    pixels[: size[1] // 2, :, 0] = 220
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


class _Writer:
    def __init__(self, canvas, columns: int, running: str = ""):
        self.c = canvas
        self.running = running
        self.columns = columns
        self.col = 0
        self.page = 1
        self.y = PAGE_H - MARGIN  # reportlab y grows upwards
        self.width = (PAGE_W - 2 * MARGIN - (GUTTER if columns == 2 else 0)) / columns

    @property
    def x(self) -> float:
        return MARGIN + self.col * (self.width + GUTTER)

    def need(self, height: float) -> None:
        if self.y - height >= MARGIN:
            return
        if self.columns == 2 and self.col == 0:
            self.col, self.y = 1, self.top
            return
        self.c.showPage()
        self.page += 1
        self.col, self.y = 0, PAGE_H - MARGIN
        self.top = self.y
        self.head()

    def head(self) -> None:
        """A running head and foot (with the page number), as journals print them."""
        if self.running:
            self.c.setFont("Helvetica", 7)
            self.c.drawString(MARGIN, PAGE_H - 36, self.running)
            self.c.drawString(MARGIN, 30, f"{self.running}, page {self.page}")

    def text(self, text: str, font: str = "Times-Roman", size: float = 10.0, leading: float = 12.0,
             gap_after: float = 8.0, first_font: str | None = None) -> None:
        """Write ``text`` wrapped to the column; ``gap_after`` points follow the paragraph."""
        from reportlab.lib.utils import simpleSplit

        lines = simpleSplit(text, font, size, self.width)
        for i, line in enumerate(lines):
            self.need(leading)
            self.y -= leading
            if i == 0 and first_font:
                label, _, rest = line.partition(" ")
                label2, _, rest2 = rest.partition(" ")
                head = f"{label} {label2}"
                self.c.setFont(first_font, size)
                self.c.drawString(self.x, self.y, head)
                self.c.setFont(font, size)
                self.c.drawString(self.x + self.c.stringWidth(head + " ", first_font, size), self.y, rest2)
            else:
                self.c.setFont(font, size)
                self.c.drawString(self.x, self.y, line)
        self.y -= gap_after

    def figure(self, fig: Fig, seed: int) -> tuple[int, tuple[float, float, float, float]]:
        from reportlab.lib.utils import ImageReader, simpleSplit

        if fig.span and self.columns == 2:
            return self._spanning(fig, seed)
        cap_h = 11.0 * len(simpleSplit(fig.caption, fig.caption_font, fig.caption_size, self.width)) + 16
        self.need(fig.height + cap_h + 10)
        if fig.position == "above":
            self.text(fig.caption, font=fig.caption_font, size=fig.caption_size, leading=fig.caption_size + 2,
                      gap_after=6, first_font=fig.label_font)
        w = self.width * 0.8
        x0, top = self.x + (self.width - w) / 2, self.y
        bottom = top - fig.height
        if fig.kind == "raster":
            self.c.drawImage(ImageReader(io.BytesIO(fig.png or raster_png(seed))), x0, bottom, w, fig.height)
        else:
            self._vector(x0, bottom, w, fig.height)
        self.y = bottom - 8
        if fig.position == "below":
            self.text(fig.caption, font=fig.caption_font, size=fig.caption_size, leading=fig.caption_size + 2,
                      gap_after=fig.caption_gap, first_font=fig.label_font)
        else:
            self.y -= 6
        return self.page, (x0, PAGE_H - top, x0 + w, PAGE_H - bottom)

    def _spanning(self, fig: Fig, seed: int) -> tuple[int, tuple[float, float, float, float]]:
        self.y = MARGIN - 1
        self.col = 1
        self.need(PAGE_H)  # start a new page
        self.columns, self.width = 1, PAGE_W - 2 * MARGIN
        page, box = self.figure(Fig(**{**fig.__dict__, "span": False}), seed)
        self.columns, self.width = 2, (PAGE_W - 2 * MARGIN - GUTTER) / 2
        self.top = self.y
        return page, box

    def _vector(self, x0: float, y0: float, w: float, h: float) -> None:
        c = self.c
        c.setLineWidth(0.8)
        c.rect(x0, y0, w, h, stroke=1, fill=0)                      # the frame sets the extent
        c.setFillColorRGB(0.2, 0.4, 0.8)
        for i in range(5):                                         # bars
            c.rect(x0 + 20 + i * (w - 40) / 5, y0 + 18, (w - 40) / 8, (h - 40) * (i + 1) / 6, stroke=0, fill=1)
        c.setFillColorRGB(0, 0, 0)
        c.line(x0 + 15, y0 + 15, x0 + w - 10, y0 + 15)             # axes
        c.line(x0 + 15, y0 + 15, x0 + 15, y0 + h - 10)
        path = c.beginPath()
        path.moveTo(x0 + 15, y0 + 20)
        path.curveTo(x0 + w / 3, y0 + h - 20, x0 + w / 2, y0 + 10, x0 + w - 15, y0 + h - 25)
        c.drawPath(path, stroke=1, fill=0)
        c.setFont("Helvetica", 6)
        for i in range(4):                                         # tick labels
            c.drawString(x0 + 20 + i * (w - 40) / 4, y0 + 5, f"{i * 0.5:.1f}")
        c.drawString(x0 + 2, y0 + h / 2, "y")


def make_paper(path: Path, blocks: list, *, columns: int = 1, title: str = "", authors: str = "",
               abstract: str = "", info_title: str | None = None, year: str | None = None,
               encrypt: str | None = None, running: str = "", cropbox: tuple | None = None) -> dict[str, tuple[int, tuple[float, float, float, float]]]:
    """Write a paper; ``blocks`` holds body paragraphs (str) and :class:`Fig` objects."""
    from reportlab.pdfgen import canvas

    kwargs = {}
    if encrypt:
        from reportlab.lib import pdfencrypt

        kwargs["encrypt"] = pdfencrypt.StandardEncryption(encrypt, ownerPassword=encrypt + "-owner", strength=128)
    c = canvas.Canvas(str(path), pagesize=(PAGE_W, PAGE_H), invariant=1, **kwargs)
    if cropbox:
        c.setCropBox(cropbox)  # (x0, y0, x1, y1) of every page, PDF coordinates
    if info_title is not None:
        c.setTitle(info_title)
    if year:
        c.setCreator(f"factory {year}")
    writer = _Writer(c, 1, running)
    writer.head()
    if title:
        writer.text(title, font="Helvetica-Bold", size=17, leading=21, gap_after=6)
    if authors:
        writer.text(authors, font="Helvetica", size=11, leading=14, gap_after=10)
    if abstract:
        writer.text("Abstract", font="Helvetica-Bold", size=10, leading=12, gap_after=2)
        writer.text(abstract, gap_after=14)
    if year:
        c.setFont("Helvetica", 8)
        c.drawString(MARGIN, PAGE_H - 30, f"Journal of Tests, vol. 3, {year}")
    writer.columns = columns
    writer.width = (PAGE_W - 2 * MARGIN - (GUTTER if columns == 2 else 0)) / columns
    writer.top = writer.y
    truth = {}
    for i, block in enumerate(blocks):
        if isinstance(block, Fig):
            truth[block.number] = writer.figure(block, seed=i)
        elif isinstance(block, tuple):  # (text, font), e.g. Chinese text in "STSong-Light"
            writer.text(block[0], font=block[1])
        else:
            writer.text(block)
    c.save()
    return truth


def chinese_font() -> str:
    """Register reportlab's built-in Chinese CID font (not embedded; text extraction works)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    return "STSong-Light"


def scanned_pdf(path: Path, pages: int = 1) -> None:
    """Pages that are only a full-page raster image (a scan without a text layer)."""
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(PAGE_W, PAGE_H), invariant=1)
    for i in range(pages):
        c.drawImage(ImageReader(io.BytesIO(raster_png(i, (300, 390)))), 20, 20, PAGE_W - 40, PAGE_H - 40)
        c.showPage()
    c.save()


def body(n: int, topic: str = "the measurement", cite: str = "") -> str:
    """A deterministic paragraph of ``n`` plain sentences, with ``cite`` as its second sentence."""
    base = [f"We describe {topic} in detail and compare it with earlier work on the same question.",
            "The procedure was repeated on three independent samples prepared on different days.",
            "Each run produced a consistent series of values within the stated uncertainty.",
            "These observations agree with the model outlined in the previous section of the paper."]
    sentences = [base[k % len(base)] for k in range(n)]
    if cite:
        sentences.insert(1, cite)
    return " ".join(sentences)


def matplotlib_page(path: Path, fonttype: int = 42) -> tuple[float, float, float, float]:
    """A one-page paper drawn entirely by matplotlib's PDF backend: body text, a vector plot
    (axes, two curves, legend, tick labels, axis labels, a title) and a two-line caption below
    it. Returns the plot's tight box (points, top-left origin). ``fonttype`` 3 embeds Type 3
    fonts (matplotlib's default), 42 TrueType."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    width, height = 8.5, 11.0
    with plt.rc_context({"pdf.fonttype": fonttype}):
        fig = plt.figure(figsize=(width, height))
        text = ("The spectra are summarised below. As shown in Figure 1, the intensity grows with the "
                "temperature and saturates above the transition. The curves were measured twice. ")
        for top, repeat in ((0.92, 2), (0.33, 3)):
            for k, line in enumerate(textwrap.wrap(text * repeat, 95)):
                fig.text(0.1, top - 0.017 * k, line, fontsize=10, family="DejaVu Serif")
        ax = fig.add_axes([0.18, 0.45, 0.7, 0.28])
        x = np.linspace(0, 10, 100)
        ax.plot(x, np.sin(x), label="sine")
        ax.plot(x, np.cos(x), label="cosine")
        ax.set_xlabel("temperature (K)")
        ax.set_ylabel("intensity (a.u.)")
        ax.set_title("Spectra of two samples")
        ax.legend()
        fig.text(0.1, 0.38, "Figure 1: Intensity against temperature for the two model curves, with the",
                 fontsize=9, family="DejaVu Serif")
        fig.text(0.1, 0.365, "saturation region marked.", fontsize=9, family="DejaVu Serif")
        fig.canvas.draw()
        box = ax.get_tightbbox(fig.canvas.get_renderer()).transformed(fig.dpi_scale_trans.inverted())
        fig.savefig(path)
        plt.close(fig)
    return (box.x0 * 72, (height - box.y1) * 72, box.x1 * 72, (height - box.y0) * 72)


def words_png(lines: list[str], size: tuple[int, int] = (900, 420)) -> bytes:
    """A raster figure with printed words (a PNG, no text layer): a framed plot with a curve
    and ``lines`` of text in a large DejaVu Sans, as a scanned or pasted-in chart has them."""
    from pathlib import Path as _Path

    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    font_path = _Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    font = ImageFont.truetype(str(font_path), 40)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((4, 4, size[0] - 5, size[1] - 5), outline=(60, 60, 160), width=3)
    for i, line in enumerate(lines):
        draw.text((40, 30 + 60 * i), line, fill="black", font=font)
    draw.line((40, size[1] - 40, size[0] - 40, size[1] - 140), fill=(200, 40, 40), width=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
