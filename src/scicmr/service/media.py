"""Files the service shows: figure images, thumbnails and rendered PDF pages.

Every path comes from a record or a URL and is resolved with :func:`resolve_inside`: the
result must be a regular file inside one of the allowed roots after symlinks and ``..`` are
resolved, so ``/files/../../etc/passwd`` or a record pointing outside the library yields
nothing. Thumbnails and page renders are cached in memory (bounded LRU), keyed by path and
modification time (plus page and size), so an edited file is re-rendered.

Rendering is the one costly thing an open read endpoint does, so it is bounded three ways:
every PDF page goes through :func:`scicmr.corpus.pdf.render_page` (a pixel budget, here the
smaller :data:`PAGE_VIEW_PIXELS`), at most :data:`RENDER_SLOTS` renders run at once (others
wait up to :data:`RENDER_WAIT_SECONDS`, then get 503 with Retry-After), and a render waiting
for a slot re-checks the cache, so parallel requests for one page render it once.
"""

from __future__ import annotations

import io
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Sequence

from scicmr.service.problems import ApiError

THUMBNAIL_SIDE = 320
PAGE_WIDTH = 1100
# Figures over this many pixels get no thumbnail (~100 MB decoded as RGBA); those over the second
# constant are shrunk before their RGB conversion.
THUMBNAIL_MAX_SOURCE_PIXELS = 25_000_000
_THUMBNAIL_DIRECT_PIXELS = 4_000_000
# Pixels of one page view at most (~12 MB of RGB): a 1100-pixel-wide view of a letter page is
# 1.6 megapixels; a page drawn absurdly tall is shown at a lower resolution instead.
PAGE_VIEW_PIXELS = 4_000_000
# Renders (thumbnails, pages) running at once, and how long a request waits for a slot.
RENDER_SLOTS = 2
RENDER_WAIT_SECONDS = 10.0
RETRY_AFTER_SECONDS = 5
_CACHE_BYTES = 64 * 2**20
# Library sub-folders /files/ may serve: images and rendered or copied PDFs, never the
# database, models or indexes.
SERVABLE_FOLDERS = ("images", "pages", "pdfs")


def resolve_inside(roots: Sequence[Path], relative: str | None) -> Path | None:
    """The regular file ``relative`` names under one of ``roots``, or None (missing, or it
    escapes every root)."""
    if not relative or "\x00" in relative:
        return None
    for root in roots:
        base = Path(root).resolve()
        try:
            candidate = (base / relative).resolve()
        except (OSError, RuntimeError):  # symlink loops
            continue
        if candidate.is_relative_to(base) and candidate.is_file():
            return candidate
    return None


class RenderCache:
    """A thread-safe LRU of rendered bytes, bounded by their total size, that also bounds how
    many renders run at once (``slots``; a request waits ``wait`` seconds for one, then 503)
    and renders a key once while requests for it wait (then read the cache)."""

    def __init__(self, max_bytes: int = _CACHE_BYTES, slots: int = RENDER_SLOTS, wait: float = RENDER_WAIT_SECONDS):
        self.max_bytes = max_bytes
        self.wait = wait
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(slots)
        self._pending: dict[tuple, threading.Lock] = {}  # keys being rendered now

    def _lookup(self, key: tuple) -> bytes | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        return None

    def get(self, key: tuple, render: Callable[[], bytes]) -> bytes:
        data = self._lookup(key)
        if data is not None:
            return data
        with self._lock:
            same_key = self._pending.setdefault(key, threading.Lock())
        deadline = time.monotonic() + self.wait
        if not same_key.acquire(timeout=self.wait):  # one render per key: the others wait for it
            raise _busy()
        try:
            data = self._lookup(key)  # rendered by the request this one waited behind
            if data is not None:
                return data
            if not self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise _busy()
            try:
                data = render()  # outside the cache lock: renders of different files run in parallel
            finally:
                self._slots.release()
            self._store(key, data)
            return data
        finally:
            with self._lock:
                if self._pending.get(key) is same_key:
                    del self._pending[key]
            same_key.release()

    def _store(self, key: tuple, data: bytes) -> None:
        with self._lock:
            if key not in self._items:
                self._items[key] = data
                self._size += len(data)
            while self._size > self.max_bytes and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)


def _busy() -> ApiError:
    return ApiError(503, f"the server is busy rendering ({RENDER_SLOTS} renders at once); try again shortly",
                    fix=f"retry after {RETRY_AFTER_SECONDS} seconds", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _cache_key(path: Path, *extra) -> tuple:
    return (str(path), path.stat().st_mtime_ns, *extra)


def render_thumbnail(path: Path, cache: RenderCache, side: int = THUMBNAIL_SIDE,
                     max_pixels: int = THUMBNAIL_MAX_SOURCE_PIXELS) -> bytes:
    """JPEG bytes of ``path`` fitted into ``side`` x ``side`` (figures on white).

    The header is read first: a figure over ``max_pixels`` is refused (422) rather than
    decoded on an open endpoint, and a large one is shrunk in its own mode before the
    conversion to RGB, so the decode is the only full-size copy.
    """

    def render() -> bytes:
        from PIL import Image

        from scicmr.corpus.images import load_image

        try:
            with Image.open(path) as probe:
                width, height = probe.size
        except Image.DecompressionBombError:
            width = height = max_pixels + 1
        except Exception:  # noqa: BLE001 -- not an image: load_image names the problem
            width = height = 0
        if width * height > max_pixels:
            raise ApiError(422, f"the figure is {width}x{height} pixels, too large to make a thumbnail of "
                                f"(the limit is {max_pixels:,} pixels)", fix="fetch the figure itself")
        image = load_image(path) if width * height <= _THUMBNAIL_DIRECT_PIXELS else _shrunk(path, side)
        image.thumbnail((side, side))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=82, optimize=True)
        return out.getvalue()

    return cache.get(_cache_key(path, "thumb", side), render)


def _shrunk(path: Path, side: int):
    """A large image decoded and shrunk in place to about ``2 * side`` before the RGB
    conversion (no second full-size copy)."""
    from PIL import Image

    from scicmr.corpus.images import load_image

    try:
        with Image.open(path) as handle:
            handle.draft("RGB", (2 * side, 2 * side))  # JPEG: decode at a fraction of the size
            handle.load()
            image = handle.convert("RGBA") if handle.mode == "P" else handle
            if image.mode in ("1", "L", "LA", "RGB", "RGBA", "CMYK"):
                image.thumbnail((2 * side, 2 * side))
            small = image.copy()  # small now; outlives the closed file
    except Exception as exc:  # noqa: BLE001 -- PIL raises several types for damaged files
        raise ApiError(422, f"the figure cannot be decoded ({type(exc).__name__}: {exc})",
                       fix="replace the image file in the library") from None
    return load_image(small)


def render_pdf_page(path: Path, page: int, bbox: Sequence[float] | None, cache: RenderCache,
                    width: int = PAGE_WIDTH) -> bytes:
    """PNG of 1-based ``page`` of the PDF at ``path``, ``width`` pixels wide, with the figure's
    ``bbox`` (x0, top, x1, bottom in PDF points from the top-left corner) outlined in red; a
    page too tall for :data:`PAGE_VIEW_PIXELS` at that width comes out narrower.

    Raises IndexError for a page the PDF does not have,
    :class:`~scicmr.corpus.pdf.PageTooLarge` for a page that cannot be rendered within the
    budget, and pdfium's errors for an unreadable PDF.
    """

    def render() -> bytes:
        import pypdfium2
        from PIL import ImageDraw

        from scicmr.corpus.pdf import render_page

        pdf = pypdfium2.PdfDocument(str(path))
        try:
            if not 1 <= page <= len(pdf):
                raise IndexError(f"page {page} is outside 1..{len(pdf)}")
            handle = pdf[page - 1]
            image, scale = render_page(handle, width / max(handle.get_width(), 1e-6), PAGE_VIEW_PIXELS)
        finally:
            pdf.close()
        if bbox and len(bbox) == 4:
            x0, top, x1, bottom = (v * scale for v in bbox)
            ImageDraw.Draw(image).rectangle([x0, top, x1, bottom], outline=(220, 30, 30), width=4)
        out = io.BytesIO()
        image.save(out, "PNG", optimize=True)
        return out.getvalue()

    return cache.get(_cache_key(path, "page", page, tuple(bbox or ()), width), render)


MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
               ".gif": "image/gif", ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff",
               ".pdf": "application/pdf"}


def media_type(path: Path) -> str:
    return MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
