"""The detail view's PDF page: rendered from a PDF inside the library with the figure's box
outlined; a source outside the allowed roots is never opened."""

from __future__ import annotations

import io

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("pypdfium2")
pytest.importorskip("reportlab")

from factories.service import build_library, client  # noqa: E402
from scicmr.corpus.library import Library  # noqa: E402
from scicmr.corpus.record import Source  # noqa: E402


def _pdf(path, pages=2):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=A4)
    for n in range(pages):
        c.drawString(72, 800, f"page {n + 1}")
        c.rect(100, 400, 200, 150, fill=1)
        c.showPage()
    c.save()


def test_page_of_a_pdf_figure_is_rendered_with_its_box(tmp_path):
    from PIL import Image

    library = build_library(tmp_path)
    _pdf(library / "pdfs" / "paper.pdf")
    _pdf(tmp_path / "outside" / "secret.pdf")
    lib = Library.open(library)
    inside, outside, bad_page = lib.get("climate-1"), lib.get("climate-2"), lib.get("climate-4")
    # A4 is 595 x 842 points; bbox is (x0, top, x1, bottom) from the top-left corner.
    inside.source = Source(file="pdfs/paper.pdf", page=2, bbox=(100.0, 292.0, 300.0, 442.0))
    outside.source = Source(file="../outside/secret.pdf", page=1)
    bad_page.source = Source(file="pdfs/paper.pdf", page=9)
    lib.add_records([inside, outside, bad_page], replace=True)
    with client(library) as api:
        detail = api.get("/api/records/climate-1").json()
        assert detail["page_url"] == "/api/records/climate-1/page" and detail["source"]["page"] == 2
        response = api.get(detail["page_url"])
        assert response.status_code == 200 and response.headers["content-type"] == "image/png"
        page = Image.open(io.BytesIO(response.content)).convert("RGB")
        scale = page.width / 595
        assert page.width == 1100
        # The outline is red; inside the box the drawn rectangle is black.
        assert page.getpixel((int(100 * scale) + 1, int(360 * scale))) == (220, 30, 30)
        assert page.getpixel((int(200 * scale), int(360 * scale))) == (0, 0, 0)
        assert api.get("/api/records/climate-2").json()["page_url"] is None
        assert api.get("/api/records/climate-2/page").status_code == 404
        assert "outside" in api.get("/api/records/climate-4/page").json()["error"]["problem"]
        hits = api.get("/api/search", params={"q": "rainfall", "k": 36, "label": "climate"}).json()["hits"]
        assert {h["id"]: h["page"] for h in hits}["climate-1"] == 2
