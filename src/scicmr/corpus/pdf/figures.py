"""Find the figure region that belongs to a caption.

Starting at the caption, the region grows away from it (upwards for a caption below its
figure, downwards for one above) over *figure elements* — raster images, vector drawings
(rects, lines, curves) and text lines that are not running text (tick labels, legends, boxes
of a diagram) — as long as the next element is close (the first within 72 pt of the caption,
the next within 36 pt of the region so far) and no barrier intervenes. Barriers are body-text
lines, other captions, headings (text larger than the body size outside any graphic, bold or
starting where the body text starts) and
running heads and feet (:func:`~scicmr.corpus.pdf.layout.mark_running`).
Only elements in the caption's column take part: the caption's horizontal extent widened to
its column (the left or right half of a two-column page, or the full width when the caption
crosses the middle). Both directions are tried; the side with the smaller gap to the caption
wins, and a region already taken by another caption is not given twice.

All boxes are ``(x0, top, x1, bottom)`` in PDF points from the top-left of the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from scicmr.corpus.pdf.captions import Caption
from scicmr.corpus.pdf.layout import Box, PageLayout, center_inside, h_overlap, iou, union

FIRST_GAP = 72.0
NEXT_GAP = 36.0
MIN_SIZE = 24.0  # a region smaller than this (points) in either side is not a figure


@dataclass
class Region:
    """A figure region: its box, the caption's side ("below" = caption below the figure), the
    gap between region and caption, and what it was built from ("graphics" or "band")."""

    box: Box
    position: str
    gap: float
    kind: str = "graphics"


def column_range(caption: Caption, layout: PageLayout) -> tuple[float, float]:
    """The x-range of the caption's column (see module docstring)."""
    x0, _, x1, _ = caption.box
    mid = layout.width / 2
    if layout.columns() == 2:
        if x1 <= mid + 6:
            return (0.0, mid)
        if x0 >= mid - 6:
            return (mid, layout.width)
    return (0.0, layout.width)


def page_parts(layout: PageLayout, captions: Sequence[Caption]) -> tuple[list[Box], list[Box]]:
    """(figure elements, barriers) of a page; compute once per page and pass to
    :func:`find_region`."""
    caption_lines = {id(ln) for cap in captions for ln in cap.lines}
    graphics = layout.graphics
    elements = list(graphics)
    barriers = [cap.box for cap in captions]
    body_lefts = [ln.x0 for ln in layout.lines if ln.body]
    boxes = np.asarray(graphics, dtype=np.float64).reshape(-1, 4)
    for line in layout.lines:
        if id(line) in caption_lines:
            continue
        cx, cy = (line.x0 + line.x1) / 2, (line.top + line.bottom) / 2
        # Vectorised "centre inside any graphic (2 pt slack)": pages can hold 10^4 drawings.
        in_graphic = bool(np.any((boxes[:, 0] - 2 <= cx) & (cx <= boxes[:, 2] + 2)
                                 & (boxes[:, 1] - 2 <= cy) & (cy <= boxes[:, 3] + 2)))
        # Section headings are bold or start where the body text starts; a plot's title is
        # centred over the plot in a regular weight, so it can belong to the figure.
        aligned = any(abs(x - line.x0) <= 1.5 * layout.body_size for x in body_lefts)
        heading = line.size > layout.body_size + 1.5 and not in_graphic and (line.bold or aligned)
        if (line.body and not in_graphic) or heading or line.running:
            barriers.append(line.box)
        else:
            elements.append(line.box)
    return elements, barriers


def _grow(caption: Box, direction: int, cols: tuple[float, float], elements: Sequence[Box],
          barriers: Sequence[Box]) -> tuple[Box | None, float]:
    """Grow a region from the caption; direction -1 = upwards, +1 = downwards."""
    lo, hi = cols
    mine = [e for e in elements if h_overlap(e, lo, hi) > 0 and (lo - 2 <= (e[0] + e[2]) / 2 <= hi + 2)]
    walls = [b for b in barriers if h_overlap(b, lo, hi) > 1 and b != caption]
    if direction < 0:
        edge = caption[1]
        limit = max((b[3] for b in walls if b[3] <= edge + 1), default=0.0)
        cands = sorted((e for e in mine if e[3] <= edge + 2 and e[1] >= limit - 1), key=lambda e: -e[3])
        dist = lambda e, edge: edge - e[3]  # noqa: E731 -- gap from the region's edge
    else:
        edge = caption[3]
        limit = min((b[1] for b in walls if b[1] >= edge - 1), default=float("inf"))
        cands = sorted((e for e in mine if e[1] >= edge - 2 and e[3] <= limit + 1), key=lambda e: e[1])
        dist = lambda e, edge: e[1] - edge  # noqa: E731
    taken: list[Box] = []
    first_gap = 0.0
    for element in cands:
        gap = dist(element, edge)
        if gap > (NEXT_GAP if taken else FIRST_GAP):
            break
        if not taken:
            first_gap = max(gap, 0.0)
        taken.append(element)
        edge = min(edge, element[1]) if direction < 0 else max(edge, element[3])
    if not taken:
        return None, float("inf")
    return union(taken), first_gap


def find_region(caption: Caption, layout: PageLayout, captions: Sequence[Caption],
                claimed: Sequence[Box] = (), parts: tuple[list[Box], list[Box]] | None = None) -> Region | None:
    """The figure region of ``caption`` on its page, or None when nothing figure-like is next
    to it. ``captions``: all captions of the page; ``claimed``: regions other captions took;
    ``parts``: :func:`page_parts` of the page when already computed."""
    elements, barriers = parts if parts is not None else page_parts(layout, captions)
    cols = column_range(caption, layout)
    options: list[Region] = []
    for direction, position in ((-1, "below"), (1, "above")):
        box, gap = _grow(caption.box, direction, cols, elements, barriers)
        if box is None or not _figure_like(box, layout):
            continue
        if any(iou(box, other) > 0.5 for other in claimed):
            continue
        options.append(Region(box=box, position=position, gap=gap))
    if not options:
        return None
    # Prefer the side with graphics closest to the caption; captions below figures are the
    # common convention, so they win a tie.
    return min(options, key=lambda r: (round(r.gap / 4.0), r.position != "below"))


def _figure_like(box: Box, layout: PageLayout) -> bool:
    """A region must be a few lines tall and wide and contain at least one graphic object."""
    if box[2] - box[0] < MIN_SIZE or box[3] - box[1] < MIN_SIZE:
        return False
    return any(center_inside(g, box, pad=1.0) for g in layout.graphics)


def pad_box(box: Box, layout: PageLayout, pad: float = 2.0) -> Box:
    """``box`` widened by ``pad`` points, clipped to the page."""
    return (max(0.0, box[0] - pad), max(0.0, box[1] - pad),
            min(layout.width, box[2] + pad), min(layout.height, box[3] + pad))
