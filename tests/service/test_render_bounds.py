"""PDF page renders are bounded: a pixel budget shared by ingest and the service, a render
cache that renders one page once, a cap on renders running at once (503 + Retry-After), and a
refused page that names its reason."""

from __future__ import annotations

import io
import threading
import time

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("pypdfium2")

from factories.service import build_library, client  # noqa: E402
from scicmr.corpus.library import Library  # noqa: E402
from scicmr.corpus.pdf.render import MAX_RENDER_PIXELS, PageTooLarge, fit_scale, render_page  # noqa: E402
from scicmr.corpus.record import Source  # noqa: E402
from scicmr.service.media import PAGE_VIEW_PIXELS, RenderCache  # noqa: E402
from scicmr.service.problems import ApiError  # noqa: E402


def hostile_pdf(path, width_pt: float, height_pt: float) -> None:
    """A tiny PDF (~1-2 KB) with one page of the given size in points."""
    from reportlab.pdfgen import canvas

    path.parent.mkdir(parents=True, exist_ok=True)
    c = canvas.Canvas(str(path), pagesize=(width_pt, height_pt))
    c.rect(10, 10, width_pt / 2, height_pt / 2)
    c.showPage()
    c.save()


def test_fit_scale_caps_pixels_and_refuses_a_page_with_no_size():
    assert fit_scale(612, 792, 150 / 72) == 150 / 72  # an ordinary page keeps its resolution
    scale = fit_scale(14400, 14400, 150 / 72)
    assert (14400 * scale) ** 2 <= MAX_RENDER_PIXELS
    # A caller cannot ask for more than the shared budget.
    assert (200 * 14400) * fit_scale(200, 14400, 100.0, max_pixels=10 * MAX_RENDER_PIXELS) ** 2 <= MAX_RENDER_PIXELS
    with pytest.raises(PageTooLarge, match="no usable size"):
        fit_scale(0, 792, 2.0)


def test_huge_page_renders_within_the_budget(tmp_path):
    import pypdfium2

    hostile_pdf(tmp_path / "big.pdf", 14400, 14400)
    pdf = pypdfium2.PdfDocument(str(tmp_path / "big.pdf"))
    try:
        image, scale = render_page(pdf[0], 150 / 72)
    finally:
        pdf.close()
    assert image.width * image.height <= MAX_RENDER_PIXELS and scale < 150 / 72
    assert image.mode == "RGB"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = build_library(tmp_path_factory.mktemp("service-render"))
    hostile_pdf(root / "pdfs" / "tall.pdf", 200, 14400)
    lib = Library.open(root)
    record = lib.get("climate-1")
    record.source = Source(file="pdfs/tall.pdf", page=1, bbox=(10.0, 100.0, 100.0, 200.0))
    lib.add_records([record], replace=True)
    return root


def test_a_tall_page_is_served_within_the_view_budget(library):
    from PIL import Image

    with client(library) as api:
        started = time.perf_counter()
        response = api.get("/api/records/climate-1/page")
        assert response.status_code == 200, response.text
        assert time.perf_counter() - started < 20
    page = Image.open(io.BytesIO(response.content))
    assert page.width * page.height <= PAGE_VIEW_PIXELS
    assert page.height > 20 * page.width  # the whole page, narrower: not cropped


def test_parallel_requests_for_one_page_render_it_once(library, monkeypatch):
    import scicmr.corpus.pdf as pdf_package

    calls = []
    real = pdf_package.render_page

    def counting(*args, **kwargs):
        calls.append(1)
        time.sleep(0.2)  # long enough for the other requests to queue behind this one
        return real(*args, **kwargs)

    monkeypatch.setattr(pdf_package, "render_page", counting)
    with client(library) as api:
        results = []
        threads = [threading.Thread(target=lambda: results.append(api.get("/api/records/climate-1/page").status_code))
                   for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [200] * 4 and len(calls) == 1


def test_renders_beyond_the_slots_get_503_with_retry_after():
    cache = RenderCache(slots=1, wait=0.05)
    release = threading.Event()
    started = threading.Event()

    def slow() -> bytes:
        started.set()
        release.wait(5)
        return b"png"

    worker = threading.Thread(target=cache.get, args=(("a",), slow))
    worker.start()
    started.wait(5)
    try:
        with pytest.raises(ApiError) as refused:
            cache.get(("b",), lambda: b"other")
        assert refused.value.status_code == 503 and refused.value.headers["Retry-After"]
    finally:
        release.set()
        worker.join()
    assert cache.get(("b",), lambda: b"other") == b"other"  # the slot is free again


def test_a_page_that_cannot_be_rendered_says_why(library, monkeypatch):
    import scicmr.corpus.pdf as pdf_package

    def refuse(page, scale, max_pixels=0):
        raise PageTooLarge("the page is 1 x 14400 pt: too thin")

    monkeypatch.setattr(pdf_package, "render_page", refuse)
    with client(library) as api:
        response = api.get("/api/records/climate-1/page")
    assert response.status_code == 422
    assert "too thin" in response.json()["error"]["problem"]


def test_a_render_out_of_memory_is_named_as_such():
    """pdfium's MemoryError used to surface as 'corrupt or truncated PDF: MemoryError'."""

    class Page:
        def get_size(self):
            return 612.0, 792.0

        def render(self, **kwargs):
            raise MemoryError

    with pytest.raises(PageTooLarge, match="does not fit in memory"):
        render_page(Page(), 2.0)
