"""Hostile inputs stay inside a memory bound: page renders of absurd PDF pages (ingest's and the
service's) and decodes of decompression-bomb / huge-header images.

Each case runs in a fresh subprocess that imports what it needs and warms up first, then
measures the growth of its peak resident memory (``resource.getrusage(...).ru_maxrss``) across
the one hostile operation. The bound, :data:`MAX_GROWTH_MB`, is a correctness bound (before the
fixes a 200 x 14400 pt page took 4 GB to show), not a speed figure; :data:`TIMEOUT_S` makes a
hang fail clearly instead of stalling the suite.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

pytest.importorskip("pypdfium2")
pytest.importorskip("fastapi")

MAX_GROWTH_MB = 300
TIMEOUT_S = 120

_RUNNER = r'''
import json, resource, sys
from pathlib import Path

case, path = sys.argv[1], Path(sys.argv[2])
import pypdfium2
from PIL import Image
from scicmr.corpus.pdf import MAX_RENDER_PIXELS, render_page
from scicmr.service.media import PAGE_VIEW_PIXELS, RenderCache, render_pdf_page, render_thumbnail
from scicmr.service.problems import ApiError
from scicmr.service.uploads import check_stored_image, decode_query_image

def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

# Warm-up: load pdfium, PIL's codecs and numpy's buffers with a normal-size render and decode.
warm = Path(sys.argv[3])
render_pdf_page(warm, 1, None, RenderCache())
Image.open(warm.with_suffix(".png")).convert("RGB")
before = peak_mb()
outcome = {}
if case in ("page_view_tall", "page_view_huge"):
    import io
    data = render_pdf_page(path, 1, (10, 10, 100, 100), RenderCache())
    w, h = Image.open(io.BytesIO(data)).size
    outcome = {"ok": True, "pixels": w * h, "budget": PAGE_VIEW_PIXELS}
elif case == "ingest_render_huge":
    pdf = pypdfium2.PdfDocument(str(path))
    image, scale = render_page(pdf[0], 150 / 72)
    outcome = {"ok": True, "pixels": image.width * image.height, "budget": MAX_RENDER_PIXELS}
    del image
    pdf.close()
elif case == "thumbnail":
    cache = RenderCache()
    try:
        render_thumbnail(path, cache)
        outcome = {"ok": True}
    except ApiError as exc:
        outcome = {"ok": False, "status": exc.status_code, "problem": exc.problem}
else:
    data = path.read_bytes()
    check = decode_query_image if case.startswith("upload") else check_stored_image
    try:
        check(data, 40_000_000, "the upload")
        outcome = {"ok": True}
    except ApiError as exc:
        outcome = {"ok": False, "status": exc.status_code, "problem": exc.problem}
outcome["growth_mb"] = peak_mb() - before
print(json.dumps(outcome))
'''


def _pdf(path: Path, width_pt: float, height_pt: float) -> Path:
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), pagesize=(width_pt, height_pt))
    c.rect(10, 10, width_pt / 2, height_pt / 2, fill=1)
    c.showPage()
    c.save()
    return path


def _png(path: Path, width: int, height: int, rows: int | None = None, rgba: bool = False) -> Path:
    """A grayscale (or RGBA) PNG of zeros, ``width`` x ``height`` declared; only ``rows`` rows
    of data (all when None): a few hundred KB that decode to width*height bytes or more."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    compressor = zlib.compressobj(9)
    row = b"\0" * (width * (4 if rgba else 1) + 1)
    body = []
    remaining = height if rows is None else rows
    while remaining:
        n = min(remaining, 256)
        body.append(compressor.compress(row * n))
        remaining -= n
    body.append(compressor.flush())
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 6 if rgba else 0, 0, 0, 0))
                     + chunk(b"IDAT", b"".join(body)) + chunk(b"IEND", b""))
    return path


def _measure(case: str, path: Path, tmp_path: Path) -> dict:
    warm = _pdf(tmp_path / "warm.pdf", 612, 792)
    from PIL import Image

    Image.new("RGB", (640, 480), "white").save(warm.with_suffix(".png"))
    try:
        result = subprocess.run([sys.executable, "-c", _RUNNER, case, str(path), str(warm)], capture_output=True,
                                text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{case}: no answer within {TIMEOUT_S} s (a hostile input must fail fast, not hang)")
    assert result.returncode == 0, f"{case}: the subprocess failed\n{result.stderr[-2000:]}"
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["growth_mb"] < MAX_GROWTH_MB, f"{case}: peak memory grew {outcome['growth_mb']:.0f} MB"
    return outcome


@pytest.mark.parametrize(("case", "size"), [("page_view_tall", (200, 14400)), ("page_view_huge", (14400, 14400)),
                                            ("ingest_render_huge", (14400, 14400))])
def test_hostile_pdf_pages_render_within_the_bound(tmp_path, case, size):
    outcome = _measure(case, _pdf(tmp_path / "hostile.pdf", *size), tmp_path)
    assert outcome["ok"] and outcome["pixels"] <= outcome["budget"]


@pytest.mark.parametrize(("case", "size", "rows"), [
    ("upload_bomb", (20000, 20000), None),          # 400 megapixels in ~400 KB: PIL's bomb error
    ("upload_huge_header", (65535, 65535), 1),      # a header that claims 4.3 gigapixels
    ("upload_over_limit", (8000, 8000), None),      # 64 MP: under PIL's limit, over the service's 40 MP
    ("stored_bomb", (20000, 20000), None),
    ("stored_over_limit", (8000, 8000), None),
])
def test_hostile_images_are_refused_before_decoding(tmp_path, case, size, rows):
    outcome = _measure(case, _png(tmp_path / "hostile.png", *size, rows=rows), tmp_path)
    assert not outcome["ok"] and outcome["status"] == 413, outcome
    assert "pixels" in outcome["problem"]


def test_a_huge_library_image_gets_no_thumbnail(tmp_path):
    """A library file is trusted more than an upload, but its thumbnail is made on an open
    endpoint: a 64-megapixel figure is refused by its header, not decoded."""
    outcome = _measure("thumbnail", _png(tmp_path / "big.png", 8000, 8000), tmp_path)
    assert not outcome["ok"] and outcome["status"] == 422 and "too large" in outcome["problem"]


def test_a_large_transparent_library_image_is_thumbnailed_within_the_bound(tmp_path):
    """25 megapixels of RGBA (100 MB decoded) is at the limit: shrunk before compositing."""
    outcome = _measure("thumbnail", _png(tmp_path / "large.png", 5000, 5000, rgba=True), tmp_path)
    assert outcome["ok"], outcome
