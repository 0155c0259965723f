"""Paper metadata: title, authors, abstract and year.

The PDF's document information comes first (``/Title``, ``/Author``, ``/CreationDate``) when
it looks like real metadata (not "untitled", "Microsoft Word - x.docx" or a file name). What is
missing is read from the first page's layout: the title is the largest-font text in the upper
half of the page (consecutive lines of that size joined); the authors are the next block below
it (split at commas, semicolons and "and", footnote marks dropped); the abstract is the text after
an "Abstract" (or "Summary", "摘要") heading up to the next heading or paragraph of a different
size; the year is a 19xx/20xx year printed in the first page's header or footer (top or bottom
15%: the publication year), else the metadata's CreationDate year (when the file was made),
else a year anywhere on the first page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from scicmr.corpus.pdf.captions import join_lines
from scicmr.corpus.pdf.layout import Line, PageLayout

_JUNK_TITLE = re.compile(r"^\(?(untitled|anonymous|unspecified|unknown|none|user|admin|document\d*|title)\)?$"
                         r"|^(microsoft word|about:|https?:)|^\S+\.[A-Za-z0-9]{1,5}$", re.I)
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20[0-4]\d)(?!\d)", re.ASCII)  # ASCII digits only: Record refuses others
_ABSTRACT = re.compile(r"^\s*(abstract|summary|摘\s*要)\s*[:.—–-]?\s*", re.I)
_AUTHOR_SPLIT = re.compile(r"\s*(?:,|;|\band\b|&|，|、)\s*")


@dataclass
class PaperMeta:
    """Paper-level fields put on every figure record; ``sources`` says where each came from
    ("metadata" or "layout")."""

    title: str = ""
    authors: list[str] = field(default_factory=list)
    abstract: str = ""
    year: str | None = None
    sources: dict[str, str] = field(default_factory=dict)


def _clean(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return re.sub(r"\s+", " ", str(value or "")).strip()


def from_info(info: dict[str, Any]) -> PaperMeta:
    """Metadata from the PDF document information dictionary (pdfplumber's ``pdf.metadata``)."""
    meta = PaperMeta()
    title = _clean(info.get("Title"))
    if title and not _JUNK_TITLE.match(title) and len(title) > 3:
        meta.title, meta.sources["title"] = title, "metadata"
    author = _clean(info.get("Author"))
    if author and not _JUNK_TITLE.match(author):
        meta.authors = [a for a in _AUTHOR_SPLIT.split(author) if a]
        meta.sources["authors"] = "metadata"
    for key in ("CreationDate", "ModDate"):
        # PDF dates look like "D:20210504120000+02'00'": the year is the first four digits.
        match = re.match(r"(?:D:)?((?:19|20)[0-9][0-9])", _clean(info.get(key)))
        if match:
            meta.year, meta.sources["year"] = match.group(1), "metadata"
            break
    return meta


def _title_lines(lines: Sequence[Line], height: float) -> list[Line]:
    upper = [ln for ln in lines if ln.top < height * 0.5 and len(ln.text.strip()) > 1]
    if not upper:
        return []
    biggest = max(ln.size for ln in upper)
    start = next(i for i, ln in enumerate(upper) if ln.size >= biggest - 0.3)
    block = [upper[start]]
    for ln in upper[start + 1:]:
        if abs(ln.size - biggest) <= 0.3 and ln.top - block[-1].bottom <= 0.8 * biggest:
            block.append(ln)
        elif ln.top > block[-1].bottom + 0.5:
            break
    return block


def _authors_after(lines: Sequence[Line], title: list[Line], body_size: float) -> list[str]:
    """Names on the line right under the title (same horizontal band, within 2.5 title sizes),
    when that line is not running text, a heading like "Abstract" or a sentence."""
    t0, t1 = min(ln.x0 for ln in title), max(ln.x1 for ln in title)
    after = [ln for ln in lines if ln.top >= title[-1].bottom - 0.5 and ln not in title
             and min(ln.x1, t1) - max(ln.x0, t0) > 0]
    if not after:
        return []
    centre = (t0 + t1) / 2
    # The author line is aligned with the title (same left edge, or centred like it); this
    # skips a second column's text that starts at the same height.
    aligned = [ln for ln in after if abs(ln.x0 - t0) <= 10 or abs((ln.x0 + ln.x1) / 2 - centre) <= 20]
    if not aligned:
        return []
    first = aligned[0]
    if (_ABSTRACT.match(first.text) or first.body or len(first.text) > 200
            or first.top - title[-1].bottom > 2.5 * title[-1].size or re.search(r"[.!?:]$", first.text)
            or re.match(r"^(\d+\.?\s+)?(introduction|background|keywords?)\b", first.text, re.I)):
        return []
    text = re.sub(r"[\d*†‡§¶∗,]+(?=\s*(,|$|\band\b))", "", first.text)  # footnote marks after names
    names = [n.strip(" *†‡§¶∗0123456789") for n in _AUTHOR_SPLIT.split(text)]
    names = [n for n in names if 2 <= len(n) <= 60 and not re.search(r"@|university|institute|department", n, re.I)]
    return names if 1 <= len(names) <= 30 else []


def _abstract(lines: Sequence[Line], body_size: float) -> str:
    for i, line in enumerate(lines):
        match = _ABSTRACT.match(line.text)
        if not match:
            continue
        texts = [line.text[match.end():]] if line.text[match.end():].strip() else []
        last = line
        for nxt in lines[i + 1:]:
            if nxt.top < last.bottom - 1 or min(nxt.x1, last.x1) - max(nxt.x0, last.x0) <= 0:
                continue
            gap = nxt.top - last.bottom
            heading = nxt.bold and len(nxt.text) < 60 and not last.bold
            if gap > 1.2 * nxt.size or heading or (texts and abs(nxt.size - last.size) > 0.6):
                if texts:
                    break
            texts.append(nxt.text)
            last = nxt
        return join_lines(texts)[:4000]
    return ""


def from_layout(first_page: PageLayout, meta: PaperMeta) -> PaperMeta:
    """Fill what ``meta`` lacks from the first page's layout (see module docstring)."""
    lines = first_page.lines
    title = _title_lines(lines, first_page.height)
    if not meta.title and title and first_page.body_size < title[0].size:
        meta.title = join_lines([ln.text for ln in title])
        meta.sources["title"] = "layout"
    if not meta.authors and title:
        meta.authors = _authors_after(lines, title, first_page.body_size)
        if meta.authors:
            meta.sources["authors"] = "layout"
    if not meta.abstract:
        meta.abstract = _abstract(lines, first_page.body_size)
        if meta.abstract:
            meta.sources["abstract"] = "layout"
    # The year printed in the first page's header or footer is the publication year; the
    # document's CreationDate is when the file was made (often a later re-export), so a
    # printed year wins and the metadata date is the fallback.
    edge = [ln.text for ln in lines if ln.top < 0.15 * first_page.height or ln.bottom > 0.85 * first_page.height]
    match = _YEAR.search(" ".join(edge))
    if match:
        meta.year, meta.sources["year"] = match.group(1), "layout"
    elif not meta.year:
        match = _YEAR.search(" ".join(ln.text for ln in lines))
        if match:
            meta.year, meta.sources["year"] = match.group(1), "layout"
    return meta
