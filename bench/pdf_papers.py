"""Generate a folder of PDF papers with figures and captions (scicmr's demo corpus, typeset).

Each demo paper becomes one PDF: title, authors, year, abstract, keywords, then its figures, each
followed by its caption paragraph ("Figure k: ..."). A ``manifest.jsonl`` beside the PDFs holds
the ground truth (figure id, paper, caption, image file) so a PDF ingest can be checked against
it, and so the same corpus can be ingested without the PDF reader.

    python bench/pdf_papers.py OUT_DIR --papers 200 --image-size 384 --seed 7
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from xml.sax.saxutils import escape

FONT = "DejaVuSans"


def _register_font() -> str:
    """A TTF with the demo vocabulary's symbols (Å, µ, superscript minus): matplotlib's DejaVu."""
    import matplotlib
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        path = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
        pdfmetrics.registerFont(TTFont(FONT, str(path)))
    return FONT


def write_paper_pdf(path: Path, paper: list[dict], image_root: Path, figure_width_inch: float = 4.0) -> None:
    """One PDF for the figure rows of one paper (they share title, abstract, authors)."""
    from PIL import Image as PILImage
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import inch
    from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer

    font = _register_font()
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=19, spaceAfter=8)
    body = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=12.5, spaceAfter=6)
    caption = ParagraphStyle("caption", parent=body, fontSize=9, leading=11.5)
    first = paper[0]
    story = [Paragraph(escape(first["title"]), title),
             Paragraph(escape(", ".join(first.get("authors", []))) + f" ({first.get('date', '')})", body),
             Paragraph("<b>Abstract.</b> " + escape(first.get("abstract", "")), body),
             Paragraph("<b>Keywords:</b> " + escape("; ".join(first.get("keywords", []))), body),
             Spacer(1, 8)]
    for row in paper:
        image_path = image_root / row["image"]
        with PILImage.open(image_path) as handle:
            width, height = handle.size
        draw_w = figure_width_inch * inch
        figure = Image(str(image_path), width=draw_w, height=draw_w * height / width)
        story.append(KeepTogether([figure, Spacer(1, 4), Paragraph(escape(row["caption"]), caption), Spacer(1, 10)]))
    SimpleDocTemplate(str(path), pagesize=A4, title=first["title"], author=", ".join(first.get("authors", [])),
                      leftMargin=0.9 * inch, rightMargin=0.9 * inch).build(story)


def make_pdf_corpus(out: Path, papers: int, image_size: int, seed: int) -> Path:
    """Render the demo corpus and typeset it as PDFs; returns the folder of PDFs."""
    from scicmr._progress import progress
    from scicmr.demo.corpus import generate_corpus

    out.mkdir(parents=True, exist_ok=True)
    source = out / "source"
    manifest = generate_corpus(source, n_papers=papers, seed=seed, image_size=image_size, progress=True)
    manifest = manifest if manifest.is_file() else source / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text(encoding="utf-8").splitlines() if line.strip()]
    by_paper: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_paper[row["group"]].append(row)
    pdf_dir = out / "pdfs"
    pdf_dir.mkdir(exist_ok=True)
    for group, paper in progress(sorted(by_paper.items()), total=len(by_paper), desc="typeset", unit="pdf"):
        write_paper_pdf(pdf_dir / f"{group}.pdf", paper, source)
    return pdf_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--papers", type=int, default=200)
    parser.add_argument("--image-size", type=int, default=384)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    pdf_dir = make_pdf_corpus(args.out, args.papers, args.image_size, args.seed)
    print(f"{len(list(pdf_dir.glob('*.pdf')))} PDFs in {pdf_dir}; ground truth in {args.out / 'source' / 'manifest.jsonl'}")


if __name__ == "__main__":
    main()
