"""Rebuild figure–caption papers as PDFs for the PDF-extraction benchmark.

``../shared/data/jose_jats_figures`` holds, for 8 open-access JOSE papers, each figure's
image (the publisher's graphic, rendered to PNG) and its exact JATS caption — but not the
papers' PDFs. So the benchmark typesets each paper again, with its real title, real figure
images and exact captions, and deterministic body text that cites the figures the ways papers
do ("as shown in Figure 2", "(Figs. 1 and 2)", "Figure 3a"). Three producers and layouts, none
known to the reader:

- ``chromium-1col``: HTML printed to PDF by headless Chromium (Skia/PDF), one column, centred
  figure, caption below as "Figure N: …" (the Open Journals layout);
- ``chromium-2col``: Chromium, two CSS columns, bold "Fig. N." labels, the caption above the
  figure for every even-numbered figure, justified text with automatic hyphenation;
- ``chromium-samefont``: Chromium, one column, the caption in the body font and size, left
  aligned, with only 5 pt between it and the next paragraph (no font change ends the caption);
- ``reportlab-1col``: reportlab's platypus flow layout (DejaVu Serif), justified paragraphs,
  caption below as "Figure N. …".

Every page carries a running header (journal name) and footer (citation line and page
number), as published papers do.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Sequence

LAYOUTS = ("chromium-1col", "chromium-2col", "chromium-samefont", "reportlab-1col")

_PHRASES = (
    "As shown in Figure {n}, {kw} is central to the design.",
    "Figure {n} illustrates how {kw} fits into the workflow.",
    "The result for {kw} is summarised in the figure below (see Fig. {n}).",
    "We refer to Figure {n}a for the details of {kw}.",
)
_FILLER = (
    "The software is open source and can be installed with a standard package manager.",
    "Learners work through the material at their own pace and with the help of short exercises.",
    "The examples were chosen to cover typical questions that arise in practice.",
    "Instructors can adapt each part of the material to the time available in a course.",
    "Feedback from earlier cohorts led to several improvements of the exercises.",
    "All code that produced the figures is part of the accompanying repository.",
)


def paper_text(title: str, keywords: Sequence[str], numbers: Sequence[int]) -> tuple[str, list[tuple[int, list[str]]]]:
    """(summary, [(figure number, paragraph sentences)]): deterministic body text; the first
    sentence of each figure's paragraph cites it, and the last figure is also cited together
    with the first ("(Figs. 1 and 3)")."""
    kws = list(keywords) or ["the method"]
    summary = (f"This paper presents {title.rstrip('.')}. It touches on " + ", ".join(kws) + ". "
               + " ".join(_FILLER[:3]))
    paragraphs = []
    for i, n in enumerate(numbers):
        kw = kws[i % len(kws)]
        sentences = [_PHRASES[i % len(_PHRASES)].format(n=n, kw=kw)]
        sentences += [_FILLER[(i + k) % len(_FILLER)] for k in range(1, 5)]
        if i == len(numbers) - 1 and len(numbers) > 1:
            sentences.append(f"Both views are complementary (Figs. {numbers[0]} and {n}).")
        paragraphs.append((n, sentences))
    return summary, paragraphs


def citing_sentences(paragraphs: list[tuple[int, list[str]]]) -> dict[int, list[str]]:
    """The sentences that cite each figure (the benchmark's context ground truth)."""
    out: dict[int, list[str]] = {}
    for n, sentences in paragraphs:
        out.setdefault(n, []).append(sentences[0])
        if sentences[-1].startswith("Both views"):
            first = paragraphs[0][0]
            out.setdefault(first, []).append(sentences[-1])
            out[n].append(sentences[-1])
    return out


_CSS = {
    "chromium-1col": """body{font-family:'DejaVu Serif',serif;font-size:10pt;line-height:1.35;margin:0}
h1{font-family:'DejaVu Sans',sans-serif;font-size:18pt} h2{font-family:'DejaVu Sans';font-size:12pt}
figure{margin:14pt 0;text-align:center;break-inside:avoid} figure img{max-width:80%;max-height:330pt}
figcaption{font-size:9pt;margin-top:6pt}""",
    "chromium-2col": """body{font-family:'DejaVu Serif',serif;font-size:9pt;line-height:1.3;margin:0}
h1{font-family:'DejaVu Sans',sans-serif;font-size:16pt;column-span:all} .cols{column-count:2;column-gap:18pt}
p{text-align:justify;hyphens:auto} h2{font-size:10.5pt}
figure{margin:10pt 0;break-inside:avoid} figure img{width:100%;max-height:260pt;object-fit:contain}
figcaption{font-size:8pt;margin:4pt 0}""",
    "chromium-samefont": """body{font-family:'DejaVu Serif',serif;font-size:10pt;line-height:1.3;margin:0}
h1{font-size:17pt} p{margin:0 0 5pt 0} figure{margin:10pt 0 0 0;break-inside:avoid}
figure img{max-width:70%;max-height:300pt;display:block;margin:auto} figcaption{margin:4pt 0 5pt 0}""",
}
HEADER = "Journal of Open Source Education · rebuilt for the scicmr benchmark"


def footer(title: str) -> str:
    return f"{title[:60]}. Journal of Open Source Education (rebuilt)."


def build_html(layout: str, title: str, summary: str, paragraphs, figures: dict[int, tuple[Path, str]]) -> str:
    """An HTML page for a Chromium layout; ``figures[n] = (image path, caption)``."""
    two = layout == "chromium-2col"
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><style>{_CSS[layout]}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>", "<div class='cols'>" if two else "",
             "<h2>Summary</h2>", f"<p>{html.escape(summary)}</p>", "<h2>Figures</h2>"]
    for n, sentences in paragraphs:
        parts.append(f"<p>{html.escape(' '.join(sentences))}</p>")
        image, caption = figures[n]
        label = f"<b>Fig. {n}.</b> " if two else f"Figure {n}: "
        cap = f"<figcaption>{label}{html.escape(caption)}</figcaption>"
        img = f"<img src='{image.resolve().as_uri()}'>"
        above = two and n % 2 == 0
        parts.append(f"<figure>{cap + img if above else img + cap}</figure>")
    parts.append(f"<p>{html.escape(' '.join(_FILLER))}</p>")
    parts.append("</div></body></html>" if two else "</body></html>")
    return "\n".join(parts)


def build_chromium(jobs: list[tuple[str, Path, Path, str]]) -> None:
    """Print each (layout, html file, pdf path, title) with one headless Chromium."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        style = "font-size:7pt;font-family:'DejaVu Sans';width:100%;margin:0 0.9in;"
        for _, html_file, pdf, title in jobs:
            page.goto(html_file.resolve().as_uri(), wait_until="load")
            page.pdf(path=str(pdf), format="Letter", display_header_footer=True,
                     header_template=f"<div style=\"{style}\">{html.escape(HEADER)}</div>",
                     footer_template=f"<div style=\"{style}\">{html.escape(footer(title))} "
                                     "<span class='pageNumber'></span></div>",
                     margin={"top": "0.8in", "bottom": "0.8in", "left": "0.9in", "right": "0.9in"})
        browser.close()


def build_reportlab(pdf: Path, title: str, summary: str, paragraphs, figures: dict[int, tuple[Path, str]]) -> None:
    """The ``reportlab-1col`` layout with platypus flowables."""
    from PIL import Image as PILImage
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer

    fonts = Path("/usr/share/fonts/truetype/dejavu")
    pdfmetrics.registerFont(TTFont("DejaVuSerif", str(fonts / "DejaVuSerif.ttf")))
    pdfmetrics.registerFont(TTFont("DejaVuSans-Bold", str(fonts / "DejaVuSans-Bold.ttf")))
    body = ParagraphStyle("body", fontName="DejaVuSerif", fontSize=10, leading=13, alignment=TA_JUSTIFY, spaceAfter=6)
    head = ParagraphStyle("head", fontName="DejaVuSans-Bold", fontSize=17, leading=21, spaceAfter=12)
    cap = ParagraphStyle("cap", fontName="DejaVuSerif", fontSize=8.5, leading=10.5, alignment=TA_CENTER, spaceBefore=4, spaceAfter=10)
    doc = SimpleDocTemplate(str(pdf), pagesize=letter, leftMargin=65, rightMargin=65, topMargin=60, bottomMargin=60)
    story = [Paragraph(html.escape(title), head), Paragraph(html.escape(summary), body)]
    for n, sentences in paragraphs:
        story.append(Paragraph(html.escape(" ".join(sentences)), body))
        image, caption = figures[n]
        with PILImage.open(image) as im:
            w, h = im.size
        scale = min(doc.width * 0.85 / w, 300 / h)
        story.append(KeepTogether([Spacer(1, 6), Image(str(image), w * scale, h * scale),
                                   Paragraph(html.escape(f"Figure {n}. {caption}"), cap)]))
    story.append(Paragraph(html.escape(" ".join(_FILLER)), body))

    def running(canvas, document):
        canvas.saveState()
        canvas.setFont("DejaVuSerif", 7)
        canvas.drawString(65, letter[1] - 40, HEADER)
        canvas.drawString(65, 35, f"{footer(title)} {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=running, onLaterPages=running)
