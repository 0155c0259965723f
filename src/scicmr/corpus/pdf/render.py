"""The one place PDF pages are rasterised (ingest's figure crops, the service's page view).

A PDF page can declare any size: a 1.9 KB file with a 200 x 14400 pt page asks for ~80
megapixels at a 1100-pixel view width and a 14400 x 14400 pt page for ~900 megapixels at
150 dpi — gigabytes of bitmap from a tiny upload. :func:`render_page` therefore caps the
pixels of every render at :data:`MAX_RENDER_PIXELS` by lowering the scale (the page comes out
at a lower resolution, never refused for its size alone), and returns the scale it used so
that callers map PDF points to pixels with the real factor. A page that cannot be rendered at
any useful size (an empty or absurdly thin page) raises :class:`PageTooLarge` with the reason.
"""

from __future__ import annotations

import math
from typing import Any

# Pixels of one rendered page, at most: ~60 MB from pdfium, ~80 MB as PIL stores it (measured
# ~120 MB of peak memory growth for a full-budget render). A letter page at 150 dpi is 2.1
# megapixels, A1 at 150 dpi ~15, so ordinary papers and posters render at the resolution asked for.
MAX_RENDER_PIXELS = 20_000_000
# The shortest side a render may shrink to before the page counts as unrenderable.
MIN_RENDER_SIDE = 8
_ROUNDING = 2.0


class PageTooLarge(ValueError):
    """A page whose render would not fit the pixel budget at any useful scale."""


def fit_scale(width_pt: float, height_pt: float, scale: float, max_pixels: int = MAX_RENDER_PIXELS) -> float:
    """``scale`` (pixels per point), lowered so the page is at most ``max_pixels`` pixels
    (and never more than :data:`MAX_RENDER_PIXELS`, whatever the caller asks)."""
    if not (math.isfinite(width_pt) and math.isfinite(height_pt)) or width_pt <= 0 or height_pt <= 0:
        raise PageTooLarge(f"the page has no usable size ({width_pt:g} x {height_pt:g} pt)")
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"render scale must be positive, got {scale!r}")
    budget = min(max_pixels, MAX_RENDER_PIXELS)
    if (width_pt * scale + _ROUNDING) * (height_pt * scale + _ROUNDING) > budget:
        # The largest scale with (w*s + r)(h*s + r) <= budget: pdfium rounds each side up, so
        # a margin of r pixels per side keeps the rendered bitmap inside the budget.
        a, b, c = width_pt * height_pt, _ROUNDING * (width_pt + height_pt), _ROUNDING ** 2 - budget
        scale = min(scale, (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a))
    if min(width_pt, height_pt) * scale < MIN_RENDER_SIDE:
        raise PageTooLarge(f"the page is {width_pt:g} x {height_pt:g} pt: within the {budget:,}-pixel render budget "
                           f"its short side would be under {MIN_RENDER_SIDE} pixels")
    return scale


def render_page(page: Any, scale: float, max_pixels: int = MAX_RENDER_PIXELS) -> tuple[Any, float]:
    """(RGB PIL image, the scale used) of a pypdfium2 ``page`` rendered at ``scale`` pixels per
    point, or lower when that would exceed ``max_pixels`` (see the module docstring).

    Raises :class:`PageTooLarge` for a page that cannot be rendered within the budget, and
    turns pdfium's MemoryError into one that says so.
    """
    width_pt, height_pt = page.get_size()
    used = fit_scale(float(width_pt), float(height_pt), scale, max_pixels)
    try:
        bitmap = page.render(scale=used, rev_byteorder=True)  # RGB order: PIL wraps the buffer, no conversion
        try:
            image = bitmap.to_pil()
            if image.mode != "RGB" or image.readonly:  # a view of pdfium's buffer, freed next: copy it
                image = image.convert("RGB")
        finally:
            bitmap.close()
    except MemoryError:
        raise PageTooLarge(f"the page ({width_pt:g} x {height_pt:g} pt) does not fit in memory at "
                           f"{width_pt * used:.0f} x {height_pt * used:.0f} pixels") from None
    return image, used


def render_region(page: Any, box: tuple[float, float, float, float], scale: float,
                  max_pixels: int = MAX_RENDER_PIXELS) -> tuple[Any, float]:
    """(RGB PIL image, the scale used) of the part ``box`` = ``(x0, top, x1, bottom)`` (points
    from the rendered page's top-left corner) of a pypdfium2 ``page``, rendered at ``scale``
    pixels per point, or lower when the region would exceed ``max_pixels``.

    Only the region is rasterised (pdfium clips the page), so a 300-dpi crop of one figure
    costs what the figure costs, not a whole page at 300 dpi. Raises :class:`PageTooLarge` for
    an empty or absurdly thin region.
    """
    width_pt, height_pt = (float(v) for v in page.get_size())
    x0, top = max(0.0, box[0]), max(0.0, box[1])
    x1, bottom = min(width_pt, box[2]), min(height_pt, box[3])
    used = fit_scale(x1 - x0, bottom - top, scale, max_pixels)
    # pdfium's crop is the margin cut off each side of the page: left, bottom, right, top.
    crop = (x0, height_pt - bottom, width_pt - x1, top)
    try:
        bitmap = page.render(scale=used, crop=crop, rev_byteorder=True)
        try:
            image = bitmap.to_pil()
            if image.mode != "RGB" or image.readonly:
                image = image.convert("RGB")
        finally:
            bitmap.close()
    except MemoryError:
        raise PageTooLarge(f"the region ({x1 - x0:g} x {bottom - top:g} pt) does not fit in memory") from None
    return image, used
