"""The Record: one image–text item of a collection (a figure and its caption, a news photo
and its article, a row of a feature benchmark).

A paper with many figures gives many records that share ``group`` (the paper id); splits never
cut a group.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from scicmr.errors import InputError


@dataclass(frozen=True)
class Source:
    """Where a record came from: a file, optionally a page and a bbox (x0, y0, x1, y1, points)."""

    file: str | None = None
    page: int | None = None
    bbox: tuple[float, float, float, float] | None = None

    def __post_init__(self) -> None:
        # Checked here so that a bad value never reaches the library (JSON cannot hold inf,
        # the service cannot answer it) and a stored bad row is reported on reading.
        if self.file is not None:
            check_text(self.file, "source file")
        if self.page is not None and not (type(self.page) is int and self.page >= 0) and (
                isinstance(self.page, bool) or not isinstance(self.page, int) or self.page < 0):
            raise InputError(f"source page must be a whole number >= 0 or empty, got {_shown(self.page)}",
                             fix="give the page as a number such as 3, or leave it out")
        if self.bbox is not None:
            box = tuple(self.bbox)
            if len(box) != 4 or not all(type(v) is float and math.isfinite(v) or _is_finite_number(v) for v in box):
                raise InputError(f"source bbox must be 4 finite numbers (x0, y0, x1, y1), got {_shown(self.bbox)}",
                                 fix="give the bbox as 4 numbers, or leave it out")
            object.__setattr__(self, "bbox", tuple(float(v) for v in box))

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "page": self.page, "bbox": list(self.bbox) if self.bbox else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "Source":
        data = data or {}
        if not isinstance(data, dict):
            raise InputError(f"source must be an object with file, page and bbox, got {_shown(data)}")
        bbox = data.get("bbox")
        if bbox and not isinstance(bbox, (list, tuple)):
            raise InputError(f"source bbox must be 4 finite numbers (x0, y0, x1, y1), got {_shown(bbox)}")
        return cls(file=data.get("file"), page=data.get("page"), bbox=tuple(bbox) if bbox else None)


_KINDS = frozenset(("pair", "image", "text"))
_TEXT_FIELDS = ("title", "text", "context")
_LIST_FIELDS = ("keywords", "authors", "labels", "images")


@dataclass
class Record:
    """One retrievable item.

    Attributes:
        id: unique within the library (string).
        kind: ``"pair"`` (image + text), ``"image"`` or ``"text"`` when one side is missing.
        title: paper or article title.
        text: the text side: a caption, an abstract or an article body.
        keywords, authors, labels: lists of strings (labels drive label-based relevance).
        date: ISO date or year string (``"2021"``, ``"2021-05"``, ``"2021-05-04"``, ASCII digits
            only) or None; anything else is refused (:func:`parse_date`).
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
        """The one validation of a record, run by every reader, the service's write path and
        the library's decoding of stored rows: a record that passes can be stored as JSON in
        SQLite (UTF-8), served over HTTP and used by training; one that does not raises
        :class:`~scicmr.errors.InputError` naming the field (a reader skips the row with it)."""
        check_record_id(self.id)
        where = f"record {self.id!r}"
        if type(self.kind) is not str or self.kind not in _KINDS:
            raise InputError(f"{where}: kind must be pair, image or text, got {_shown(self.kind)}")
        for name in _TEXT_FIELDS:
            value = getattr(self, name)
            if type(value) is not str or _SURROGATE.search(value):
                check_text(value, name, where)  # raises, naming the problem
            # Only invisible characters (zero-width spaces, BOMs, blanks) count as no text.
            if value and not is_visible(value):
                setattr(self, name, "")
        for name in _LIST_FIELDS:
            setattr(self, name, check_text_list(getattr(self, name), name, where))
        if self.group is not None:
            check_text(self.group, "group", where)
        date = self.date
        if not (type(date) is str and len(date) == 4 and date.isascii() and date.isdigit() and date != "0000"):
            try:  # anything but a plain year goes through the full parser
                self.date = parse_date(date)
            except InputError as exc:
                raise InputError(f"{where}: {exc.problem}", fix=exc.fix) from None
        if type(self.source) is not Source and not isinstance(self.source, Source):
            raise InputError(f"{where}: source must be a Source, got {_shown(self.source)}")
        if type(self.extra) is not dict and not isinstance(self.extra, dict):
            raise InputError(f"{where}: extra must be an object, got {_shown(self.extra)}")
        if self.extra:
            check_json_value(self.extra, "extra", where)

    @property
    def year(self) -> int | None:
        """The year of ``date`` as an int, or None when absent or unparsable (never raises:
        a date stored by an older scicmr is not re-validated here)."""
        head = str(self.date).strip()[:4] if self.date else ""
        return int(head) if len(head) == 4 and head.isascii() and head.isdigit() else None

    @property
    def image(self) -> str | None:
        return self.images[0] if self.images else None

    @property
    def doi(self) -> str | None:
        """The paper's DOI (``"10.1234/abc"``), kept in ``extra["doi"]`` by the readers; None
        when absent or not a DOI (a library written before the readers checked it)."""
        try:
            return parse_doi(self.extra.get("doi"))
        except InputError:
            return None

    @property
    def url(self) -> str | None:
        """A web page of the item, only when it is an http(s) URL (a ``javascript:`` link must
        never reach a page), kept in ``extra["url"]`` by the readers."""
        try:
            return parse_url(self.extra.get("url"))
        except InputError:
            return None

    @property
    def doi_url(self) -> str | None:
        """The DOI as a resolver link, or None."""
        from urllib.parse import quote

        return f"https://doi.org/{quote(self.doi, safe='/:;()<>.-_')}" if self.doi else None

    @property
    def link(self) -> str | None:
        """Where a reader of the results can open the paper: ``url``, else the DOI resolver."""
        return self.url or self.doi_url

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
        if not isinstance(data, dict):
            raise InputError(f"a record must be a JSON object, got {type(data).__name__}")
        data = dict(data)
        data["source"] = Source.from_dict(data.get("source"))
        known = _field_names(cls)
        extra = {k: v for k, v in data.items() if k not in known}
        kwargs = {k: v for k, v in data.items() if k in known}
        if extra:
            stored = kwargs.get("extra", {})
            kwargs["extra"] = {**(stored if isinstance(stored, dict) else {}), **extra}
        return cls(**kwargs)


# ---------------------------------------------------------------------------- validation
#: Characters a record id may not hold: ``/`` (ids are one segment of /api/records/{id}, and
#: a slash can be neither read nor deleted there) and control characters.
ID_FORBIDDEN = "/"
ID_RULE = ("a record id may hold letters, digits, spaces and any printable punctuation except '/', "
           "with no control characters, no leading or trailing spaces, and at most "
           "{max} characters")
MAX_ID_LENGTH = 512
_SURROGATE = re.compile("[\ud800-\udfff]")
_ID_BAD = re.compile("[/\x00-\x1f\x7f-\x9f]")  # ID_FORBIDDEN and control characters (category Cc)
_ISO_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")
# Characters that draw nothing although str.isspace() is false for them (Hangul fillers,
# the braille blank); format characters (zero-width space, joiners, BOM) are category Cf.
_INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def _shown(value: Any, limit: int = 60) -> str:
    """``repr`` of a user's value, shortened, safe to print even with lone surrogates."""
    text = ascii(value) if isinstance(value, str) and _SURROGATE.search(value) else repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def is_visible(text: str) -> bool:
    """True when ``text`` draws at least one character: whitespace, control, format
    (zero-width space U+200B, joiners, BOM) and filler characters alone count as empty."""
    for char in text:
        if char.isspace() or char in _INVISIBLE:
            continue
        # A lone surrogate (Cs) counts as visible: it is refused by check_text, not erased.
        if unicodedata.category(char) not in ("Cc", "Cf", "Zs", "Zl", "Zp", "Cn", "Co"):
            return True
    return False


def check_text(value: Any, name: str, where: str = "record") -> str:
    """``value`` when it is a string SQLite and JSON can store (UTF-8: no lone surrogate such as
    ``"\\ud800"``); InputError naming ``name`` otherwise."""
    if type(value) is str and not _SURROGATE.search(value):
        return value  # the fast path: loading a library validates every stored record
    if not isinstance(value, str):
        raise InputError(f"{where}: {name} must be text, got {type(value).__name__} {_shown(value)}",
                         fix=f"give {name} as a string")
    match = _SURROGATE.search(value)
    if match:
        raise InputError(f"{where}: {name} holds a lone surrogate {ascii(match.group())} at position "
                         f"{match.start()}, which is not valid Unicode text",
                         fix="fix the text encoding of the source (a broken \\uXXXX escape or a cut emoji)")
    return value


def check_text_list(value: Any, name: str, where: str = "record") -> list[str]:
    """``value`` as a list of valid strings (see :func:`check_text`); InputError otherwise."""
    if type(value) is list:
        try:
            joined = "".join(value)  # TypeError when an item is not a string
        except TypeError:
            joined = None
        if joined is not None and not _SURROGATE.search(joined):
            return value  # the fast path
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{where}: {name} must be a list of strings, got {type(value).__name__} {_shown(value)}",
                         fix=f"give {name} as a list of strings")
    return [check_text(item, name, where) for item in value]


def check_record_id(value: Any) -> str:
    """``value`` when it is a usable record id (see :data:`ID_RULE`); InputError saying which
    characters are allowed otherwise. Readers check ids before copying any file."""
    if type(value) is str and value == value.strip() and 0 < len(value) <= MAX_ID_LENGTH \
            and not _ID_BAD.search(value) and not _SURROGATE.search(value):
        return value  # the fast path
    rule = ID_RULE.format(max=MAX_ID_LENGTH)
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"record id must be a non-empty string, got {_shown(value)}", fix="give every row an id")
    check_text(value, "id", f"record id {_shown(value)}")
    bad = sorted(set(_ID_BAD.findall(value)))
    if bad:
        raise InputError(f"record id {_shown(value)} holds {', '.join(ascii(c) for c in bad)}; {rule}",
                         fix="rename the record (e.g. replace '/' by '-')")
    if value != value.strip() or len(value) > MAX_ID_LENGTH:
        raise InputError(f"record id {_shown(value)} is not allowed; {rule}", fix="rename the record")
    return value


_DOI = re.compile(r"10\.[0-9]+(?:\.[0-9]+)*/\S+")
_DOI_PREFIXES = ("https://doi.org/", "http://doi.org/", "https://dx.doi.org/", "http://dx.doi.org/", "doi:")


def parse_doi(value: Any) -> str | None:
    """A DOI as ``"10.NNNN/suffix"`` (resolver URLs and ``doi:`` prefixes removed), or None
    when empty; InputError when it is not a DOI."""
    if value is None:
        return None
    text = check_text(value, "doi").strip() if isinstance(value, str) else None
    if text is None:
        raise InputError(f"doi must be text such as '10.1000/xyz123', got {type(value).__name__} {_shown(value)}",
                         fix="give the DOI as text")
    for prefix in _DOI_PREFIXES:
        if text.lower().startswith(prefix):
            text = text[len(prefix):].strip()
            break
    if not text:
        return None
    if not _DOI.fullmatch(text):
        raise InputError(f"doi {_shown(value)} is not a DOI", fix="give it as 10.NNNN/suffix or https://doi.org/10.NNNN/suffix")
    return text


def parse_url(value: Any) -> str | None:
    """An http(s) URL with a host, stripped, or None when empty; InputError otherwise (a
    ``javascript:`` or relative link must never reach the web page as a link)."""
    from urllib.parse import urlsplit

    if value is None:
        return None
    if not isinstance(value, str):
        raise InputError(f"url must be text, got {type(value).__name__} {_shown(value)}", fix="give the URL as text")
    text = check_text(value, "url").strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise InputError(f"url {_shown(value)} is not an http(s) address",
                         fix="give a full address such as https://example.org/paper, or leave it out")
    return text


def parse_date(value: Any) -> str | None:
    """The one date parser: ``value`` as a canonical date string, or None when empty.

    Accepted: a year of 4 ASCII digits (``"2021"``, the int ``2021`` or the float ``2021.0`` a
    spreadsheet writes) and ISO dates ``"2021-05"`` / ``"2021-05-04"`` (a real calendar date;
    an ISO date-time keeps its date part). Anything else, e.g. superscript or full-width digits
    that ``str.isdigit()`` accepts, raises InputError saying what is accepted.
    """
    if value is None:
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise InputError(f"date must be text such as '2021' or '2021-05-04', got {type(value).__name__} "
                         f"{_shown(value)}", fix="give the date as YYYY, YYYY-MM or YYYY-MM-DD")
    text = value.strip()
    if not text:
        return None
    if text.endswith(".0") and text[:-2].isascii() and text[:-2].isdigit():
        text = text[:-2]  # "2021.0" from a spreadsheet export
    if "T" in text[10:11]:
        text = text[:10]  # "2021-05-04T12:00:00": the date part
    match = _ISO_DATE.fullmatch(text)
    if match:
        year, month, day = match.groups()
        try:
            datetime.date(int(year), int(month or 1), int(day or 1))
        except ValueError:
            match = None
    if not match or text.startswith("0000"):
        raise InputError(f"date {_shown(value)} is not a year or an ISO date",
                         fix="give the date as YYYY, YYYY-MM or YYYY-MM-DD with ASCII digits 0-9")
    return text


def check_json_value(value: Any, name: str, where: str = "record") -> None:
    """InputError when ``value`` (a JSON-like tree) holds something the library cannot store and
    serve: a lone surrogate, a non-finite number (NaN/inf), or a non-JSON type. Iterative, so a
    deeply nested object cannot exhaust the stack."""
    if type(value) is dict and all(_plain(v) for v in value.values()) \
            and not _SURROGATE.search("".join(value)):
        return  # the fast path: a flat object of text, numbers and lists of numbers
    stack = [(value, name)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            check_text(item, path, where)
        elif isinstance(item, bool) or item is None or isinstance(item, int):
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InputError(f"{where}: {path} is {item!r}, which JSON cannot hold",
                                 fix="give a finite number or leave the field out")
        elif isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise InputError(f"{where}: {path} has a non-text key {_shown(key)}")
                check_text(key, f"a key of {path}", where)
                stack.append((sub, f"{path}.{key}"))
        elif isinstance(item, (list, tuple)):
            stack.extend((sub, f"{path}[{i}]") for i, sub in enumerate(item))
        else:
            raise InputError(f"{where}: {path} holds a {type(item).__name__}, not a JSON value")


def _plain(value: Any) -> bool:
    """True for a value that is certainly storable without walking it (fast path only)."""
    kind = type(value)
    if kind is str:
        return not _SURROGATE.search(value)
    if kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is list:
        return all((type(v) is int or (type(v) is float and math.isfinite(v))) for v in value)
    return False


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
