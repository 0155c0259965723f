"""Page layout from pdfplumber: text lines (with font size and weight), graphic objects, and
which lines are running body text.

Coordinates follow pdfplumber: PDF points, origin at the top-left of the page, boxes as
``(x0, top, x1, bottom)``.

A *line* is a run of words on one baseline; a row of words is cut where the horizontal gap
exceeds 1.5 em, so two columns never merge into one line. *Body* lines are the running text:
the dominant font size, long relative to their column, or continuing a paragraph of such lines
(the short last line of a paragraph starts where the paragraph's lines start). Body lines are
barriers when looking for a figure next to its caption; figure labels (tick labels, legends,
boxes in a diagram) are short or in a different size, so they can belong to a figure.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from statistics import median
from typing import Any, Sequence

Box = tuple[float, float, float, float]

#: A horizontal gap wider than this many font sizes splits a row of words (column gutter).
_GUTTER_EM = 1.5
#: A narrower gutter is found near the page's middle (within this many points), as an empty
#: band this many points either side of its centre that at least this many rows skip.
_GUTTER_SEARCH, _GUTTER_HALF, _GUTTER_MIN_ROWS = 40.0, 2.0, 8
#: Typographic ligatures (TeX fonts emit them) spelled out, so "ﬁgure" reads "figure".
LIGATURES = str.maketrans({"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"})


@dataclass
class Line:
    """One line of text: words joined by single spaces, its box, median font size and the most
    common font name; ``bold`` when that font's name says so; ``first_bold`` for the first word
    (a bold "Figure 3." label before a regular caption)."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    size: float
    font: str
    bold: bool = False
    first_bold: bool = False
    body: bool = False
    running: bool = False
    words: list[dict[str, Any]] = field(default_factory=list, repr=False)

    @property
    def box(self) -> Box:
        return (self.x0, self.top, self.x1, self.bottom)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.bottom - self.top


@dataclass
class PageLayout:
    """What one page holds: ``number`` (1-based), size, text lines in reading order, graphic
    boxes (raster images, rects, lines, curves) and the page's body font size."""

    number: int
    width: float
    height: float
    lines: list[Line]
    images: list[Box]
    drawings: list[Box]
    body_size: float
    n_chars: int
    #: top-left corner of the page's CropBox in these coordinates: renderers draw the CropBox,
    #: so a box is shifted by this much to land on the rendered bitmap.
    origin: tuple[float, float] = (0.0, 0.0)
    #: words set vertically (y-axis labels), read along their direction: :func:`vertical_words`
    vertical: list[dict[str, Any]] = field(default_factory=list)

    @property
    def graphics(self) -> list[Box]:
        return self.images + self.drawings

    def columns(self) -> int:
        """1 or 2: two when most body lines stay within one half of the page."""
        body = [ln for ln in self.lines if ln.body]
        if len(body) < 6:
            return 1
        mid = self.width / 2
        halves = sum(1 for ln in body if ln.x1 <= mid + 4 or ln.x0 >= mid - 4)
        return 2 if halves >= 0.75 * len(body) else 1


def is_bold(font: str) -> bool:
    name = font.split("+")[-1].lower()
    return any(tag in name for tag in ("bold", "black", "heavy", "semibold", "-bd", ",bd", "cmbx"))


def _page_gutter(rows: Sequence[Sequence[dict[str, Any]]], width: float) -> float | None:
    """The x of a column gutter narrower than :data:`_GUTTER_EM` (A&A's 11 pt gutter is ~1.1
    em), or None: a position near the page's middle where many rows have a word gap and few
    words lie across it. Justified one-column text never leaves such an empty vertical band."""
    start = int(width / 2 - _GUTTER_SEARCH)
    n = int(2 * _GUTTER_SEARCH) + 1
    crossing, covering = [0] * n, [0] * n

    def mark(counts: list[int], lo: float, hi: float) -> None:
        """+1 at every candidate x whose band [x - half, x + half] lies inside (lo, hi) for a
        gap, or touches [lo, hi] for a word."""
        first, last = max(0, math.ceil(lo - start)), min(n - 1, math.floor(hi - start))
        for i in range(first, last + 1):
            counts[i] += 1

    for row in rows:
        ordered = sorted(row, key=lambda w: w["x0"])
        for word in ordered:
            mark(covering, word["x0"] - _GUTTER_HALF, word["x1"] + _GUTTER_HALF)
        for left, right in zip(ordered, ordered[1:]):
            mark(crossing, left["x1"] + _GUTTER_HALF, right["x0"] - _GUTTER_HALF)
    best = max(range(n), key=lambda i: (crossing[i], -covering[i]))
    if crossing[best] >= _GUTTER_MIN_ROWS and crossing[best] >= 3 * covering[best]:
        return float(start + best)
    return None


def _row_lines(words: Sequence[dict[str, Any]], width: float | None = None) -> list[list[dict[str, Any]]]:
    """Group words into rows sharing a baseline, then cut rows at gutters: gaps wider than
    :data:`_GUTTER_EM` font sizes, and the page's narrow gutter (:func:`_page_gutter`) when
    ``width`` is given."""
    rows: list[list[dict[str, Any]]] = []
    for word in sorted(words, key=lambda w: (round(w["bottom"], 0), w["x0"])):
        size = float(word.get("size") or (word["bottom"] - word["top"]) or 1.0)
        for row in rows:
            ref = row[0]
            if abs(ref["bottom"] - word["bottom"]) <= 0.35 * size and abs(ref["top"] - word["top"]) <= 0.6 * size:
                row.append(word)
                break
        else:
            rows.append([word])
    gutter = _page_gutter(rows, width) if width else None
    pieces: list[list[dict[str, Any]]] = []
    for row in rows:
        row.sort(key=lambda w: w["x0"])
        current = [row[0]]
        for word in row[1:]:
            size = float(word.get("size") or 1.0)
            split = gutter is not None and current[-1]["x1"] <= gutter - _GUTTER_HALF and word["x0"] >= gutter + _GUTTER_HALF
            if split or word["x0"] - current[-1]["x1"] > _GUTTER_EM * size:
                pieces.append(current)
                current = []
            current.append(word)
        pieces.append(current)
    return pieces


def vertical_words(chars: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Words of text turned by 90 degrees either way (a plot's y-axis label), each
    ``{"text", "x0", "top", "x1", "bottom"}``, its letters in reading order.

    pdfplumber reads such text top to bottom and splits it into letters ("e z i s no" for
    "Population size", set bottom to top); here the letters of one vertical line (same x,
    same turn) are ordered along the text's own direction and cut into words at gaps wider
    than a quarter of the font size (the letter's width across the line) or at spaces.
    """
    columns: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for char in chars:
        a, b = char["matrix"][0], char["matrix"][1]
        if char.get("upright", True) or abs(a) > 1e-3 * abs(b):  # upright, or turned by another angle
            continue
        turn = 1 if b > 0 else -1  # +1: reads bottom to top, -1: top to bottom
        key = (turn, round(char["x0"] / 2))
        columns.setdefault(key, []).append(char)
    words: list[dict[str, Any]] = []
    for (turn, _), column in sorted(columns.items()):
        column.sort(key=lambda c: turn * c["y0"])
        current: list[dict[str, Any]] = []
        for char in column:
            gap = (char["y0"] - current[-1]["y1"]) if turn > 0 and current else \
                  (current[-1]["y0"] - char["y1"]) if current else 0.0
            if current and (gap > 0.25 * char["width"] or not char["text"].strip()):
                words.append(_vertical_word(current))
                current = []
            if char["text"].strip():
                current.append(char)
        if current:
            words.append(_vertical_word(current))
    return words


def _vertical_word(chars: list[dict[str, Any]]) -> dict[str, Any]:
    return {"text": "".join(c["text"] for c in chars).translate(LIGATURES), "upright": False,
            "x0": min(c["x0"] for c in chars), "top": min(c["top"] for c in chars),
            "x1": max(c["x1"] for c in chars), "bottom": max(c["bottom"] for c in chars)}


def _make_line(words: list[dict[str, Any]]) -> Line:
    sizes = [float(w.get("size") or 0.0) for w in words]
    fonts = Counter(str(w.get("fontname", "")) for w in words for _ in range(len(w["text"])))
    font = fonts.most_common(1)[0][0] if fonts else ""
    return Line(
        text=" ".join(w["text"] for w in words).translate(LIGATURES),
        x0=min(w["x0"] for w in words), top=min(w["top"] for w in words),
        x1=max(w["x1"] for w in words), bottom=max(w["bottom"] for w in words),
        size=float(median(sizes)) if sizes else 0.0, font=font, bold=is_bold(font),
        first_bold=is_bold(str(words[0].get("fontname", ""))), words=list(words),
    )


def _graphic_boxes(page: Any) -> tuple[list[Box], list[Box]]:
    """Raster image boxes and vector drawing boxes, minus invisible and page-sized objects."""
    area = float(page.width * page.height)
    images: list[Box] = []
    for obj in page.images:
        box = _clip((obj["x0"], obj["top"], obj["x1"], obj["bottom"]), page)
        if box and (box[2] - box[0]) * (box[3] - box[1]) < 0.95 * area and min(box[2] - box[0], box[3] - box[1]) > 2:
            images.append(box)
    drawings: list[Box] = []
    for obj in list(page.rects) + list(page.lines) + list(page.curves):
        if not (obj.get("stroke") or obj.get("fill")):
            continue  # clipping paths and invisible rectangles
        box = _clip((obj["x0"], obj["top"], obj["x1"], obj["bottom"]), page)
        if not box:
            continue
        w, h = box[2] - box[0], box[3] - box[1]
        if w * h > 0.8 * area or max(w, h) < 1.0:
            continue  # page backgrounds and specks
        drawings.append(box)
    return images, _coarsen(drawings)


def _coarsen(boxes: list[Box], limit: int = 2000, cell: float = 6.0) -> list[Box]:
    """Merge small drawings (scatter markers, hatching) that share a ``cell``-point grid cell,
    so a plot of 10^5 points costs what a few thousand boxes cost. Large drawings are kept."""
    if len(boxes) <= limit:
        return boxes
    cells: dict[tuple[int, int], Box] = {}
    big: list[Box] = []
    for box in boxes:
        if box[2] - box[0] > cell or box[3] - box[1] > cell:
            big.append(box)
            continue
        key = (int(box[0] // cell), int(box[1] // cell))
        old = cells.get(key)
        cells[key] = box if old is None else (min(old[0], box[0]), min(old[1], box[1]), max(old[2], box[2]), max(old[3], box[3]))
    return big + list(cells.values())


def _clip(box: Box, page: Any) -> Box | None:
    x0, top = max(0.0, float(box[0])), max(0.0, float(box[1]))
    x1, bottom = min(float(page.width), float(box[2])), min(float(page.height), float(box[3]))
    return (x0, top, x1, bottom) if x1 >= x0 and bottom >= top and (x1 > x0 or bottom > top) else None


def page_layout(page: Any, number: int) -> PageLayout:
    """Read one pdfplumber page into a :class:`PageLayout` (lines sorted top to bottom)."""
    words = page.extract_words(x_tolerance=1.5, y_tolerance=2, keep_blank_chars=False,
                               use_text_flow=False, extra_attrs=["size", "fontname"])
    lines = [_make_line(w) for w in _row_lines(words, float(page.width)) if w]
    lines.sort(key=lambda ln: (ln.top, ln.x0))
    images, drawings = _graphic_boxes(page)
    chars = Counter()
    for line in lines:
        chars[round(line.size * 2) / 2] += len(line.text)
    body_size = chars.most_common(1)[0][0] if chars else 10.0
    origin = (float(page.cropbox[0]) - float(page.mediabox[0]), float(page.cropbox[1]) - float(page.mediabox[1]))
    layout = PageLayout(number, float(page.width), float(page.height), lines, images, drawings,
                        body_size, sum(chars.values()), origin, vertical_words(page.chars))
    mark_body(layout)
    return layout


def center_inside(box: Box, container: Box, pad: float = 0.5) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return container[0] - pad <= cx <= container[2] + pad and container[1] - pad <= cy <= container[3] + pad


def mark_body(layout: PageLayout) -> None:
    """Set ``Line.body`` on running-text lines (see the module docstring)."""
    same = [ln.width for ln in layout.lines if abs(ln.size - layout.body_size) <= 0.6]
    col_width = sorted(same)[int(0.9 * (len(same) - 1))] if same else layout.width / 2
    for line in layout.lines:
        inside_image = any(center_inside(line.box, img) for img in layout.images)
        same_size = abs(line.size - layout.body_size) <= 0.6
        long_line = line.width >= 0.6 * col_width and len(line.text) >= 25
        # A one-line paragraph: a full sentence in the body font (figure labels rarely are).
        sentence = len(line.text) >= 12 and line.text.rstrip().endswith((".", "。", "!", "?", "！", "？"))
        line.body = not inside_image and same_size and (long_line or sentence)
    # A short line continuing a paragraph (its last line, or its first when indented) is body.
    for _ in range(2):
        for i, line in enumerate(layout.lines):
            if line.body or abs(line.size - layout.body_size) > 0.6:
                continue
            for other in layout.lines[max(0, i - 3): i + 4]:
                if other is line or not other.body:
                    continue
                gap = max(other.top - line.bottom, line.top - other.bottom)
                aligned = abs(other.x0 - line.x0) <= 2.0 or (
                    line.bottom <= other.top + 1 and 0 <= line.x0 - other.x0 <= 2.5 * line.size)
                if -1 <= gap <= 0.6 * line.size and aligned:
                    line.body = True
                    break


def mark_running(layouts: Sequence[PageLayout], band: float = 0.12, edge: float = 0.07) -> None:
    """Set ``Line.running`` on running heads and feet: lines in the top or bottom ``band`` of
    the page whose text (digits ignored) recurs on another page, and any line in the outer
    ``edge`` of the page outside graphics (a one-page paper's header and page number)."""
    def key(line: Line) -> str:
        return re.sub(r"\d+", "#", line.text.strip().lower())

    counts: Counter[str] = Counter()
    for layout in layouts:
        seen = {key(ln) for ln in layout.lines if _in_band(ln, layout, band)}
        counts.update(seen)
    for layout in layouts:
        for line in layout.lines:
            repeated = _in_band(line, layout, band) and counts[key(line)] >= 2
            outer = _in_band(line, layout, edge) and not any(center_inside(line.box, g, 1.0) for g in layout.graphics)
            line.running = repeated or outer
            line.body = line.body and not line.running


def _in_band(line: Line, layout: PageLayout, band: float) -> bool:
    return line.bottom <= band * layout.height or line.top >= (1 - band) * layout.height


def typical_line_gaps(layouts: Sequence[PageLayout]) -> dict[float, float]:
    """Font size (rounded to 0.5 pt) → median vertical gap between consecutive lines of that
    size that overlap horizontally (within a paragraph the gap is the leading minus the
    glyph height; paragraph breaks are rarer, so the median is the within-paragraph gap)."""
    samples: dict[float, list[float]] = {}
    for layout in layouts:
        lines = layout.lines
        for i, line in enumerate(lines):
            for nxt in lines[i + 1: i + 6]:
                if nxt.top < line.bottom - 1 or min(nxt.x1, line.x1) - max(nxt.x0, line.x0) <= 0:
                    continue
                gap = nxt.top - line.bottom
                if abs(nxt.size - line.size) <= 0.3 and gap <= 1.2 * line.size:
                    samples.setdefault(round(line.size * 2) / 2, []).append(gap)
                break
    return {size: float(median(gaps)) for size, gaps in samples.items() if len(gaps) >= 3}


def union(boxes: Sequence[Box]) -> Box:
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def h_overlap(a: Box, x0: float, x1: float) -> float:
    return min(a[2], x1) - max(a[0], x0)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (0 when disjoint)."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    total = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / total if total > 0 else 0.0
