"""Rows of fields -> records: the one row reader of every tabular source.

A manifest line, a table row (Parquet, CSV), a WebDataset sample and a saved Hugging Face
dataset row are all a dict of fields named like the manifest's (see
:mod:`scicmr.corpus.readers.manifest`); :func:`read_rows` turns them into records the same way,
so the same item gives the same record whatever file it came in.

An image field holds a path (relative to the source's folder, then to its ``images/``
subfolder), raw bytes, or a Hugging Face ``Image`` value (``{"bytes": ..., "path": ...}``).
A ``doi`` and a ``url`` (http/https) are kept in ``Record.extra`` (``Record.doi``,
``Record.url``, ``Record.link``); a malformed one is reported as a quirk and left out.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable

from scicmr.corpus.readers.base import (
    IMAGE_EXTENSIONS,
    ReaderSkip,
    ReadResult,
    build_record,
    checked_id,
    copy_image,
    maybe_progress,
    safe_name,
    split_list,
    store_image_bytes,
)
from scicmr.corpus.record import Record, Source, check_json_value, is_visible, parse_date, parse_doi, parse_url
from scicmr.errors import InputError

TEXT_FIELDS = ("caption", "text", "abstract")
#: A source needs one of these fields (columns) for any row to become a record.
USEFUL_FIELDS = frozenset({"image", "images", "title", "caption", "text", "abstract"})
KNOWN_FIELDS = frozenset({
    "id", "image", "images", "title", "caption", "text", "abstract", "context", "keywords",
    "authors", "date", "year", "labels", "label", "group", "paper", "source_file", "page", "bbox",
    "kind", "split", "doi", "url",
})
_SPLIT_ALIASES = {"val": "validation", "valid": "validation", "dev": "validation", "training": "train",
                  "testing": "test"}
#: What to do with an image URL: scicmr never downloads; img2dataset does it well.
IMG2DATASET_FIX = ("download the images first with img2dataset (pip install img2dataset; img2dataset --url_list "
                   "LIST --input_format parquet|csv|jsonl --url_col url --caption_col caption --output_format "
                   "webdataset --output_folder shards), then run: scicmr ingest shards/")

#: Other names of the image column of a table (WebDataset members, HF imagefolder metadata).
IMAGE_ALIASES = {"image_path": "image", "img": "image", "jpg": "image", "png": "image", "file_name": "image"}

# One row as a reader sees it: (item name for reports, default id, fields or None, error
# message when the row could not be parsed).
Row = tuple[str, str, "dict[str, Any] | None", str]


def field_keys(columns: list[str]) -> dict[str, str]:
    """Each table column's field name: lower-cased, an image alias renamed to ``image`` unless
    the table also has a real ``image`` column (then it stays an extra field)."""
    lower = {name: name.strip().lower() for name in columns}
    has_image = bool({"image", "images"} & set(lower.values()))
    return {name: (key if has_image else IMAGE_ALIASES.get(key, key)) for name, key in lower.items()}


def normalised_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """A row's fields under their field names (:func:`field_keys`: lower-cased, image aliases
    resolved): the one place where the keys of every tabular source are normalised, so a JSON
    line, a CSV row and a table row with the same cells give the same record. When two keys
    name one field, the one holding a value wins (else the last)."""
    keys = field_keys(list(fields))
    out: dict[str, Any] = {}
    for name, value in fields.items():
        key = keys[name]
        if value is None and out.get(key) is not None:
            continue
        out[key] = value
    return out


def check_not_url_list(source: Path, rows: list[dict[str, Any]]) -> None:
    """InputError naming img2dataset when ``rows`` (fields of the first rows, as read) have no
    image but a ``url`` that mostly points at image files: an img2dataset URL list, not a
    library source."""
    rows = [normalised_fields(row) for row in rows]
    if any(row.get("image") or row.get("images") for row in rows):
        return
    urls = [str(row["url"]).split("?")[0].lower() for row in rows if isinstance(row.get("url"), str) and row["url"]]
    if urls and sum(u.startswith(("http://", "https://")) and u.endswith(tuple(IMAGE_EXTENSIONS)) for u in urls) * 2 > len(urls):
        raise InputError(f"{source}: the url field holds image addresses and scicmr does not download images",
                         fix=IMG2DATASET_FIX.replace("LIST", str(source)))


def read_rows(rows: Iterable[Row], state: "RowReader", *, progress: bool, desc: str, total: int | None = None) -> None:
    """Turn ``rows`` into records appended to ``state.result``; bad rows become skips. Field
    names are normalised here (:func:`normalised_fields`), whatever the source. Sets the
    ``standard_split`` and ``unrecognised_fields`` notes."""
    result = state.result
    unknown: set[str] = set()
    for item, default_id, fields, error in maybe_progress(rows, progress, total=total, desc=desc):
        if fields is None:
            result.skip(item, error)
            continue
        fields = normalised_fields(fields)
        unknown.update(k for k in fields if k not in KNOWN_FIELDS)
        try:
            record = state.make_record(item, default_id, fields)
        except ReaderSkip as exc:
            result.skip(report_name(fields, item), exc.reason)
            continue
        result.records.append(record)
    splits = [r.extra.get("split") for r in result.records]
    result.notes["standard_split"] = bool(splits) and all(splits) and "train" in splits and "test" in splits
    if unknown:
        # Lets the caller explain an empty result ("no caption field; found s2_caption, …").
        result.notes["unrecognised_fields"] = sorted(unknown)[:50]


def row_name(fields: dict[str, Any], item: str) -> str:
    """The row's id as given (stripped), or ``item`` when it has none. Not validated here:
    :func:`checked_id` does that, and a report may show an invalid id."""
    value = fields.get("id")
    if isinstance(value, (dict, list)):
        return item
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    return str(value).strip() if value not in (None, "") and str(value).strip() else item


def report_name(fields: dict[str, Any], item: str) -> str:
    """How a skipped row is named in the report: its id when that is printable text, else its
    line (with the id escaped), so the report itself can always be written as UTF-8."""
    name = row_name(fields, item)
    if name == item or (name.isprintable() and name.encode("utf-8", "surrogatepass").decode("utf-8", "replace") == name):
        return name
    return f"{item} (id {_short(name)})"

class RowReader:
    """Per-read bookkeeping: seen ids and image names already used in this read.

    ``folder``: where relative image paths are looked up; ``id_prefix``: default ids are
    ``"<id_prefix>-<default id>"`` (``None``: the default id alone); ``source_name``: the
    records' ``source.file`` when a row gives no ``source_file``."""

    def __init__(self, folder: Path, library_root: Path, result: ReadResult, *, id_prefix: str | None,
                 source_name: str):
        self.folder = Path(folder)
        self.id_prefix = id_prefix
        self.source_name = source_name
        self.library_root = Path(library_root)
        self.result = result
        self.seen: dict[str, str] = {}
        self.used_names: set[str] = set()

    def make_record(self, item: str, default_id: str, fields: dict[str, Any]) -> Record:
        """The record of one row, validated field by field before any image is copied;
        ReaderSkip with the reason when the row is unusable."""
        if isinstance(fields.get("id"), (dict, list, bool)):
            raise ReaderSkip(f"id must be text or a number, got a {type(fields['id']).__name__}")
        fallback = f"{self.id_prefix}-{default_id}" if self.id_prefix is not None else default_id
        record_id = checked_id(row_name(fields, fallback))
        if record_id in self.seen:
            raise ReaderSkip(f"duplicate id {record_id!r} (first used at {self.seen[record_id]}); row left out")
        title = _text(fields.get("title"), "title")
        body, body_field = _first_text(fields)
        images = _image_values(fields, "image") + _image_values(fields, "images")
        if not images and not body and not title:
            raise ReaderSkip("row has neither an image nor text")
        if not body and not title:
            raise ReaderSkip("empty text: the row has no caption/text/abstract and no title")
        extra = {k: v for k, v in fields.items() if k not in KNOWN_FIELDS and v not in (None, "")}
        extra.update({name: _text(fields.get(name), name) for name in TEXT_FIELDS
                      if name != body_field and _text(fields.get(name), name)})
        extra.update(self._links(record_id, fields))
        split = self._split(record_id, _text(fields.get("split"), "split"))
        if split:
            extra["split"] = split
        try:
            date = parse_date(_present(fields, "date", "year"))
            check_json_value(extra, "unknown fields", f"row {record_id!r}")
        except InputError as exc:
            raise ReaderSkip(exc.problem) from None
        record = build_record(
            id=record_id,
            kind="text",
            title=title,
            text=body,
            keywords=_list(fields, "keywords"),
            authors=_list(fields, "authors"),
            date=date,
            labels=split_list(_present(fields, "labels", "label")),
            images=[],
            source=self._source(record_id, fields),
            group=_text(_present(fields, "group", "paper"), "group") or record_id,
            context=_text(fields.get("context"), "context"),
            extra=extra,
        )
        # Every field passed validation: only now are files written. Copied paths are ours.
        record.images = self._copy_images(record_id, _unique(images))
        record.kind = "pair" if record.images else "text"
        self.seen[record_id] = item
        return record

    def _links(self, record_id: str, fields: dict[str, Any]) -> dict[str, str]:
        """``doi`` and ``url`` normalised; a malformed one is reported and left out (the row is kept)."""
        links = {}
        for name, parse in (("doi", parse_doi), ("url", parse_url)):
            try:
                value = parse(fields.get(name) if fields.get(name) not in ("",) else None)
            except InputError as exc:
                self.result.quirk(record_id, f"bad {name}", f"{exc.problem}; left out")
                continue
            if value:
                links[name] = value
        return links

    def _copy_images(self, record_id: str, values: list[Any]) -> list[str]:
        """Copy every usable image (a path or bytes); the row is skipped only when none of them is usable."""
        copied, reasons = [], []
        for index, value in enumerate(values):
            try:
                if isinstance(value, bytes):
                    copied.append(store_image_bytes(value, self.library_root, self._dest_name(record_id, index, "")))
                else:
                    src = self._resolve(value)
                    copied.append(copy_image(src, self.library_root, self._dest_name(record_id, index, src.suffix)))
            except ReaderSkip as exc:
                reasons.append(exc.reason)
        if reasons and not copied:
            raise ReaderSkip(reasons[0] if len(reasons) == 1 else "; ".join(reasons))
        for reason in reasons:
            self.result.quirk(record_id, "one of several images left out", reason)
        return copied

    def _resolve(self, raw: str) -> Path:
        if raw.lower().startswith(("http://", "https://")):
            raise ReaderSkip(f"remote image {_short(raw)} is a URL and scicmr does not download images: {IMG2DATASET_FIX}")
        if "://" in raw:
            raise ReaderSkip(f"remote image {raw!r} is not supported: download it and give a local path")
        candidate = Path(raw).expanduser()
        if candidate.is_absolute():
            if candidate.is_file():
                return candidate
            raise ReaderSkip(f"image file not found: {raw}")
        # Bare names often refer to an images/ folder beside the source (pairs.jsonl + images/).
        for path in (self.folder / candidate, self.folder / "images" / candidate):
            if path.is_file():
                return path
        raise ReaderSkip(f"image file not found: {raw} (looked in {self.folder} and {self.folder / 'images'})")

    def _dest_name(self, record_id: str, index: int, suffix: str) -> str:
        """The image's name under ``images/``: the safe id and ``suffix`` ("" for bytes: the
        decoded format's is added)."""
        stem = safe_name(record_id) + (f"-{index + 1}" if index else "")
        # Case-insensitive file systems would merge "A.png" and "a.png": make names unique.
        if stem.lower() in self.used_names:
            stem = safe_name(f"{record_id}\x00{index}")
        self.used_names.add(stem.lower())
        return stem + suffix.lower()

    def _split(self, record_id: str, value: str) -> str | None:
        """A given split name normalised to train/validation/test; others are reported and dropped."""
        if not value:
            return None
        name = _SPLIT_ALIASES.get(value.lower(), value.lower())
        if name in ("train", "validation", "test"):
            return name
        self.result.quirk(record_id, "unknown split", f"split {value!r} is not train/validation/test; ignored")
        return None

    def _source(self, record_id: str, fields: dict[str, Any]) -> Source:
        page, bbox = fields.get("page"), fields.get("bbox")
        try:
            page = _page(page)
        except ValueError:
            self.result.quirk(record_id, "bad page", f"page {_short(page)} is not a whole number >= 0; left empty")
            page = None
        try:
            bbox = _bbox(bbox)
        except (TypeError, ValueError):
            self.result.quirk(record_id, "bad bbox", f"bbox {_short(bbox)} is not 4 finite numbers; left empty")
            bbox = None
        return Source(file=_text(fields.get("source_file"), "source_file") or self.source_name, page=page, bbox=bbox)


def _short(value: Any, limit: int = 60) -> str:
    text = ascii(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _text(value: Any, name: str) -> str:
    """A text field as a stripped string ("" when absent or only invisible characters such
    as zero-width spaces); ReaderSkip when it is a JSON object (no sensible text)."""
    if value is None:
        return ""
    if isinstance(value, dict):
        raise ReaderSkip(f"field {name!r} must be text, got a JSON object")
    if isinstance(value, (list, tuple)):
        if any(isinstance(v, (dict, list)) for v in value):
            raise ReaderSkip(f"field {name!r} must be text or a list of strings, got nested objects")
        text = " ".join(str(v).strip() for v in value if v is not None).strip()
    else:
        text = str(value).strip()
    return text if is_visible(text) else ""


def _image_values(fields: dict[str, Any], name: str) -> list[Any]:
    """The images of a field: paths (a list or a ``;``-separated string) or bytes; a Hugging
    Face ``Image`` value (``{"bytes", "path"}``) gives its bytes, else its path."""
    value = fields.get(name)
    items = value if isinstance(value, (list, tuple)) else [value]
    out: list[Any] = []
    for item in items:
        if isinstance(item, dict) and set(item) <= {"bytes", "path"}:
            item = item.get("bytes") or item.get("path")
        if isinstance(item, (bytes, bytearray, memoryview)):
            item = bytes(item)
            # A binary column may hold an address as bytes (a mixed column written by pandas).
            out.append(item.decode("ascii", "replace") if item[:8].lower().startswith((b"http://", b"https://"))
                       and len(item) < 4096 else item)
        elif isinstance(item, (dict, list, tuple)):
            raise ReaderSkip(f"field {name!r} must be image paths or image bytes, got nested objects")
        elif item is not None and not (isinstance(item, float) and math.isnan(item)):
            out.extend(part for part in split_list(item) if is_visible(part))
    return out


def _unique(values: list[Any]) -> list[Any]:
    """``values`` without repeats, in order (paths and bytes are both hashable)."""
    return list(dict.fromkeys(values))


def _list(fields: dict[str, Any], name: str) -> list[str]:
    """``split_list`` of a field; ReaderSkip when it holds JSON objects (not a list of strings)."""
    value = fields.get(name)
    if isinstance(value, dict) or (isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list)) for v in value)):
        raise ReaderSkip(f"field {name!r} must be a list of strings or a ';'-separated string, got nested objects")
    return [item for item in split_list(value) if is_visible(item)]


def _page(value: Any) -> int | None:
    """A page number from an int, an integral finite float or a string of ASCII digits;
    ValueError otherwise ("inf", 1e999, "３", -1, 2.5, true)."""
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError("a boolean is not a page")
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(".0"):
            text = text[:-2]
        if not (text.isascii() and text.isdigit()) or len(text) > 9:
            raise ValueError(f"page {value!r} is not a whole number")
        return int(text)
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and 0 <= value < 10**9:
        return value
    raise ValueError(f"page {value!r} is not a whole number >= 0")


def _present(fields: dict[str, Any], *names: str) -> Any:
    """The value of the first of ``names`` that is present and not empty."""
    for name in names:
        if fields.get(name) not in (None, "", []):
            return fields[name]
    return None


def _first_text(fields: dict[str, Any]) -> tuple[str, str | None]:
    for name in TEXT_FIELDS:
        value = _text(fields.get(name), name)
        if value:
            return value, name
    return "", None


def _bbox(value: Any) -> tuple[float, float, float, float] | None:
    if value in (None, ""):
        return None
    parts = value if isinstance(value, (list, tuple)) else str(value).strip("[]() ").replace(";", ",").split(",")
    if len(parts) != 4 or any(isinstance(p, (bool, dict, list)) for p in parts):
        raise ValueError("bbox needs 4 numbers")
    numbers = tuple(float(p) for p in parts)
    if not all(math.isfinite(n) for n in numbers):
        raise ValueError("bbox needs 4 finite numbers")
    return numbers  # type: ignore[return-value]
