"""The Record: one image–text item of a collection (a figure and its caption, a news photo
and its article, a row of a feature benchmark).

A paper with many figures gives many records that share ``group`` (the paper id); splits never
cut a group.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from scicmr.errors import InputError


@dataclass(frozen=True)
class Source:
    """Where a record came from: a file, optionally a page and a bbox (x0, y0, x1, y1, points)."""

    file: str | None = None
    page: int | None = None
    bbox: tuple[float, float, float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "page": self.page, "bbox": list(self.bbox) if self.bbox else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Source":
        data = data or {}
        bbox = data.get("bbox")
        return cls(file=data.get("file"), page=data.get("page"), bbox=tuple(bbox) if bbox else None)


@dataclass
class Record:
    """One retrievable item.

    Attributes:
        id: unique within the library (string).
        kind: ``"pair"`` (image + text), ``"image"`` or ``"text"`` when one side is missing.
        title: paper or article title.
        text: the text side: a caption, an abstract or an article body.
        keywords, authors, labels: lists of strings (labels drive label-based relevance).
        date: ISO date or year string (``"2021"``, ``"2021-05-04"``) or None.
        images: image paths relative to the library root (the first one is the record's image).
        source: provenance (file, page, bbox).
        group: records sharing a group stay in one split (all figures of one paper).
        context: extra text that cites the figure (body sentences), used as auxiliary text.
        extra: free-form metadata kept through save/load.
    """

    id: str
    kind: str = "pair"
    title: str = ""
    text: str = ""
    keywords: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    date: str | None = None
    labels: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    source: Source = field(default_factory=Source)
    group: str | None = None
    context: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise InputError(f"record id must be a non-empty string, got {self.id!r}", fix="give every row an id")
        if self.kind not in ("pair", "image", "text"):
            raise InputError(f"record {self.id}: kind must be pair, image or text, got {self.kind!r}")

    @property
    def year(self) -> int | None:
        """The year of ``date`` as an int, or None when absent or unparsable."""
        if not self.date:
            return None
        head = str(self.date).strip()[:4]
        return int(head) if head.isdigit() else None

    @property
    def image(self) -> str | None:
        return self.images[0] if self.images else None

    @property
    def group_key(self) -> str:
        return self.group or self.id

    def full_text(self) -> str:
        """Text used by text encoders: title, text and keywords joined."""
        parts = [self.title, self.text, " ".join(self.keywords)]
        return "\n".join(p for p in parts if p and p.strip())

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["source"] = self.source.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Record":
        data = dict(data)
        data["source"] = Source.from_dict(data.get("source"))
        known = _field_names(cls)
        extra = {k: v for k, v in data.items() if k not in known}
        kwargs = {k: v for k, v in data.items() if k in known}
        if extra:
            kwargs["extra"] = {**kwargs.get("extra", {}), **extra}
        return cls(**kwargs)


@functools.lru_cache(maxsize=None)
def _field_names(cls: type) -> frozenset[str]:
    # dataclasses.fields() is slow enough to dominate loading 100k records; it never changes.
    return frozenset(f.name for f in dataclasses.fields(cls))


_CJK = re.compile(r"[\u4e00-\u9fff]")


def mostly_chinese(records: list[Record], sample: int = 200) -> bool:
    """True when more than half of the first ``sample`` records' texts contain Chinese
    characters (picks Chinese-aware defaults: jieba TF-IDF, chi_sim OCR)."""
    texts = [r.full_text() for r in records[:sample]]
    return sum(bool(_CJK.search(t)) for t in texts) / max(len(texts), 1) > 0.5
