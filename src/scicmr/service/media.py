"""Files the service shows: figure images, thumbnails and rendered PDF pages.

Every path comes from a record or a URL and is resolved with :func:`resolve_inside`: the
result must be a regular file inside one of the allowed roots after symlinks and ``..`` are
resolved, so ``/files/../../etc/passwd`` or a record pointing outside the library yields
nothing. Thumbnails and page renders are cached in memory (bounded LRU), keyed by path and
modification time, so an edited file is re-rendered.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Sequence

THUMBNAIL_SIDE = 320
PAGE_WIDTH = 1100
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
    """A thread-safe LRU of rendered bytes, bounded by their total size."""

    def __init__(self, max_bytes: int = _CACHE_BYTES):
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: tuple, render: Callable[[], bytes]) -> bytes:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        data = render()  # outside the lock: renders of different files run in parallel
        with self._lock:
            if key not in self._items:
                self._items[key] = data
                self._size += len(data)
            while self._size > self.max_bytes and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)
        return data


def _cache_key(path: Path, *extra) -> tuple:
    return (str(path), path.stat().st_mtime_ns, *extra)


def render_thumbnail(path: Path, cache: RenderCache, side: int = THUMBNAIL_SIDE) -> bytes:
    """JPEG bytes of ``path`` fitted into ``side`` x ``side`` (figures on white)."""

    def render() -> bytes:
        from scicmr.corpus.images import load_image

        image = load_image(path)
        image.thumbnail((side, side))
        out = io.BytesIO()
        image.save(out, "JPEG", quality=82, optimize=True)
        return out.getvalue()

    return cache.get(_cache_key(path, "thumb", side), render)


def render_pdf_page(path: Path, page: int, bbox: Sequence[float] | None, cache: RenderCache,
                    width: int = PAGE_WIDTH) -> bytes:
    """PNG of 1-based ``page`` of the PDF at ``path``, ``width`` pixels wide, with the figure's
    ``bbox`` (x0, top, x1, bottom in PDF points from the top-left corner) outlined in red.

    Raises IndexError for a page the PDF does not have, ValueError for an unreadable PDF.
    """

    def render() -> bytes:
        import pypdfium2
        from PIL import ImageDraw

        pdf = pypdfium2.PdfDocument(str(path))
        try:
            if not 1 <= page <= len(pdf):
                raise IndexError(f"page {page} is outside 1..{len(pdf)}")
            handle = pdf[page - 1]
            scale = width / handle.get_width()
            image = handle.render(scale=scale).to_pil().convert("RGB")
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
