"""OCR test data: figures with printed words, a library of them, and the Tesseract skip mark."""

from __future__ import annotations

from pathlib import Path

import pytest

from scicmr.corpus import ocr as ocr_module
from scicmr.corpus.library import Library

HAVE_TESSERACT = ocr_module.tesseract_path() is not None and "eng" in ocr_module.available_languages()
needs_tesseract = pytest.mark.skipif(
    not HAVE_TESSERACT, reason="Tesseract with the eng pack is not installed (apt-get install tesseract-ocr)")

WORDS = {
    "fig-a": "GALAXY SPECTRUM",
    "fig-b": "PROTEIN BINDING",
    "fig-c": "RAINFALL TREND",
}


def render_words(path: Path, words: str, size: tuple[int, int] = (200, 60)) -> None:
    """A small figure-like image: a box, a line, and ``words`` printed in a large font."""
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont

    font_path = Path(matplotlib.__file__).parent / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf"
    font = ImageFont.truetype(str(font_path), 14)
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((2, 2, size[0] - 3, size[1] - 3), outline=(90, 90, 200))
    draw.text((12, 8), words, fill="black", font=font)
    draw.line((12, 45, size[0] - 12, 35), fill=(200, 40, 40), width=2)
    image.save(path)


def make_text_library(root: Path) -> Library:
    """A library of three figures with printed words (and one record without an image)."""
    from scicmr.corpus.record import Record

    lib = Library.create(root)
    lib.images_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for i, (rid, words) in enumerate(WORDS.items()):
        render_words(lib.images_dir / f"{rid}.png", words)
        records.append(Record(id=rid, text=f"caption {i}: {words.lower()}", images=[f"images/{rid}.png"], group=rid))
    records.append(Record(id="text-only", kind="text", text="an abstract without a figure"))
    lib.add_records(records)
    lib.set_splits({"fig-a": "train", "fig-b": "train", "fig-c": "test", "text-only": "train"})
    return lib
