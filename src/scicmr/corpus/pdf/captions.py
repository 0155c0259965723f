"""Figure captions and the body sentences that cite them.

A caption starts with a label — "Figure 3:", "Fig. 3.", "FIG. 3", "Figure S2 |", "图3", "图 3" —
at the start of a text block (a paragraph gap above it, or the previous line ends a sentence),
followed by a delimiter (``: . | — –``) or a bold label. Chinese labels ("图 3 实验装置") need no
delimiter, as is the convention there. A sentence in the body that starts a line with "Figure 3
shows" is not a caption: no delimiter, same font.

The caption block is the starting line plus the following lines of the same paragraph: each
next line overlaps the previous one horizontally, has the same font size (±0.6 pt) and follows
it with the usual line gap of that size (+0.3 em); a new caption label, a larger gap, a font
size change, or a sentence ending well before the column's right edge ends it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

from scicmr.corpus.pdf.layout import Box, Line, union

_LATIN = r"(?:Supplementary\s+|Extended\s+Data\s+)?(?:Figure|FIGURE|Fig\.?|FIG\.?|Figs?\b)"
CAPTION_RE = re.compile(
    rf"^\s*(?P<label>(?:{_LATIN})\s*(?P<num>S?\d+)(?P<panel>[a-z])?|图\s*(?P<znum>S?\d+))"
    r"\s*(?P<delim>[:.|：。—–]|-\s|\s-\s)?\s*"
)
#: Citations in body text: "Figure 3", "Fig. 3a", "Figs. 2 and 3", "Figures 2–4", "图 3".
REFERENCE_RE = re.compile(
    r"(?:\b(?:Figures?|Figs?\.?|FIGS?\.?)\s*|图\s*)(?P<first>S?\d+)[a-z]?"
    r"(?P<more>(?:\s*(?:,|and|&|–|—|-|to|和|、)\s*(?:S?\d+)[a-z]?)*)"
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[\"'“\u4e00-\u9fff])|(?<=[。！？])")
_ABBREVIATION_END = re.compile(r"(?:\b(?:Fig|Figs|Eq|Eqs|Ref|Refs|Sec|et al|e\.g|i\.e|cf|vs|No)\.)$")


@dataclass
class Caption:
    """A detected caption: ``label`` ("Figure 3"), ``number`` ("3", "S2"), ``text`` without the
    label, the lines it spans and its box; ``page`` is 1-based."""

    label: str
    number: str
    text: str
    lines: list[Line]
    page: int

    @property
    def box(self) -> Box:
        return union([ln.box for ln in self.lines])


def caption_start(line: Line) -> re.Match[str] | None:
    """The label match when ``line`` opens with a caption label that qualifies (see module doc)."""
    match = CAPTION_RE.match(line.text)
    if not match:
        return None
    rest = line.text[match.end():]
    if match.group("znum"):
        return match
    if match.group("delim"):
        # "Fig. 3. The ..." qualifies; "Fig. 3.5 shows" (a section-like number) does not.
        return None if re.match(r"^\d", rest) else match
    if line.first_bold and not line.bold:
        return match
    return None


def _starts_block(lines: Sequence[Line], i: int) -> bool:
    """True when line i is not the continuation of the paragraph above it."""
    line = lines[i]
    for prev in reversed(lines[:i]):
        if prev.bottom > line.top + 1 or min(prev.x1, line.x1) - max(prev.x0, line.x0) <= 0:
            continue  # same row (another column) or no horizontal overlap
        gap = line.top - prev.bottom
        if gap > 0.8 * line.size or abs(prev.size - line.size) > 0.6:
            return True
        if prev.width < 0.6 * line.width:
            return True  # a short line right above (an axis label of the figure) is no paragraph
        return prev.text.rstrip().endswith((".", ":", "。", "!", "?")) and not _ABBREVIATION_END.search(prev.text.rstrip())
    return True


def _column_edges(lines: Sequence[Line], first: Line) -> tuple[float, float]:
    """Left and right edge of the text column a caption line sits in (from body lines)."""
    body = [ln for ln in lines if ln.body and min(ln.x1, first.x1) - max(ln.x0, first.x0) > 0]
    if not body:
        return first.x0, first.x1
    return min(ln.x0 for ln in body), max(ln.x1 for ln in body)


def _ends_paragraph(last: Line, nxt: Line, gap: float, edges: tuple[float, float],
                    typical_gap: dict[float, float] | None) -> bool:
    """True when ``nxt`` does not continue the paragraph whose current last line is ``last``."""
    if abs(nxt.size - last.size) > 0.6 or caption_start(nxt):
        return True
    usual = (typical_gap or {}).get(round(last.size * 2) / 2)
    limit = usual + max(0.3 * last.size, 1.5) if usual is not None else 0.6 * max(last.size, 1.0) + 0.25 * last.height
    if gap > limit:
        return True
    # A line that ends a sentence although the next word would have fitted on it ends its
    # paragraph (a wrapped line is full up to the width of the word that did not fit).
    left, right = edges
    first_word = nxt.words[0]["x1"] - nxt.words[0]["x0"] if nxt.words else 0.5 * nxt.width
    room = (right - left) - last.width
    fits = room > first_word + 0.6 * last.size
    return fits and last.text.rstrip().endswith((".", "!", "?", "。", "！", "？"))


def find_captions(lines: Sequence[Line], page: int, vocabulary: set[str] | None = None,
                  typical_gap: dict[float, float] | None = None) -> list[Caption]:
    """Every caption on a page (``lines`` in top-to-bottom order). ``typical_gap`` maps a font
    size (rounded to 0.5 pt) to the usual gap between lines of one paragraph in that size
    (:func:`scicmr.corpus.pdf.layout.typical_line_gaps`); without it a fixed share of the size
    is used."""
    captions: list[Caption] = []
    used: set[int] = set()
    for i, line in enumerate(lines):
        if i in used:
            continue
        match = caption_start(line)
        if match is None or not _starts_block(lines, i):
            continue
        block = [line]
        used.add(i)
        edges = _column_edges(lines, line)
        for j in range(i + 1, len(lines)):
            nxt, last = lines[j], block[-1]
            if nxt.top < last.bottom - 1 or j in used:
                continue  # same row in another column
            if min(nxt.x1, last.x1) - max(nxt.x0, last.x0) <= 0:
                continue  # another column
            if _ends_paragraph(last, nxt, nxt.top - last.bottom, edges, typical_gap):
                break
            block.append(nxt)
            used.add(j)
        number = match.group("num") or match.group("znum")
        label = re.sub(r"\s+", " ", match.group("label")).strip()
        text = join_lines([ln.text for ln in block], vocabulary)[match.end():].strip()
        captions.append(Caption(label=label, number=number, text=text, lines=block, page=page))
    return captions


def join_lines(texts: Sequence[str], vocabulary: set[str] | None = None) -> str:
    """Join text lines with spaces, undoing end-of-line hyphenation.

    "retrie-" + "val" becomes "retrieval" unless the hyphenated compound ("cross-modal") occurs
    elsewhere in the document (``vocabulary``: lower-case words seen in it) and the joined form
    does not; a hyphen before a capital or a digit is always kept ("Fourier-Bessel", "S-2").
    """
    out = ""
    for text in texts:
        text = text.strip()
        if not out:
            out = text
            continue
        hyphen = re.search(r"([^\W\d_]+)[-\u00ad]$", out)  # letters before the hyphen: "90-" stays
        head = re.match(r"([^\W\d_]+)", text)
        if hyphen and head and text[0].islower():
            left, right = hyphen.group(1), head.group(1)
            joined, compound = (left + right).lower(), f"{left}-{right}".lower()
            keep = vocabulary is not None and compound in vocabulary and joined not in vocabulary
            out = out[:-1] + ("-" if keep and out[-1] == "-" else "") + text
        elif re.search(r"\S-$", out):
            out = out + text  # "Fourier-" + "Bessel", "90-" + "minute": the hyphen stays, no space
        else:
            out = f"{out} {text}"
    return out


def document_vocabulary(texts: Iterable[str]) -> set[str]:
    """Lower-case words (hyphenated compounds included) of a document, for :func:`join_lines`."""
    words: set[str] = set()
    for text in texts:
        words.update(w.lower() for w in re.findall(r"[^\W\d_]+(?:-[^\W\d_]+)*", text))
        for line_word in re.findall(r"[^\W\d_]+-[^\W\d_]+", text):
            words.update(part.lower() for part in line_word.split("-"))
    return words


def split_sentences(text: str) -> list[str]:
    """Sentences of running text; abbreviations like "Fig." and "et al." do not end one."""
    pieces = [p for p in _SENTENCE_END.split(text) if p and p.strip()]
    sentences: list[str] = []
    for piece in pieces:
        if sentences and _ABBREVIATION_END.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece.strip()}"
        else:
            sentences.append(piece.strip())
    return sentences


def cited_numbers(sentence: str) -> set[str]:
    """Figure numbers a sentence cites: "Figs. 2 and 3" → {"2", "3"}; "Figures 2–4" → {2, 3, 4}."""
    found: set[str] = set()
    for match in REFERENCE_RE.finditer(sentence):
        first = match.group("first")
        found.add(first)
        previous = first
        for sep, num in re.findall(r"\s*(,|and|&|–|—|-|to|和|、)\s*(S?\d+)", match.group("more")):
            if sep in ("–", "—", "-", "to") and previous.isdigit() and num.isdigit() and int(num) - int(previous) < 50:
                found.update(str(k) for k in range(int(previous), int(num) + 1))
            found.add(num)
            previous = num
    return found


def normalise_caption(text: str) -> str:
    """The comparison form used by the benchmark: NFKC (ligatures, full-width forms), Unicode
    dashes and quotes mapped to ASCII, soft hyphens dropped, whitespace collapsed, and hyphens
    between letters removed together with spaces around them ("cross- modal", "cross-modal"
    and "crossmodal" all compare equal)."""
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "")
    text = text.translate(str.maketrans({"‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "−": "-",
                                         "‘": "'", "’": "'", "“": '"', "”": '"'}))
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"(?<=[^\W\d_])\s*-\s*(?=[^\W\d_])", "", text)
