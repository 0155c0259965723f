"""Manifest reader: a JSONL, JSON or CSV file with one image–text item per row.

Fields (all optional, unknown fields are kept in ``Record.extra``):

==================  =====================================================================
``id``              record id; default ``"<manifest stem>-<n>"`` (n: line number, or item
                    number in a JSON list), so two manifests in one library do not collide
``image``/``images`` image path(s), absolute or relative to the manifest's folder (then to
                    its ``images/`` subfolder); a list or a ``;``-separated string
``title``           paper or article title
``caption``/``text``/``abstract``  the text side (the first non-empty one; the others are
                    kept in ``extra``)
``context``         sentences citing the figure (auxiliary text)
``keywords``, ``authors``, ``labels``/``label``  lists or ``;``-separated strings
``date``/``year``   ISO date or year
``group``/``paper`` group key (all figures of one paper); default: the id
``source_file``, ``page``, ``bbox``  provenance; bbox as 4 numbers or ``"x0,y0,x1,y1"``
==================  =====================================================================

Rows with a text side and no image become ``kind="text"`` records. Bad rows (malformed JSON
or CSV such as an unclosed quote, missing or undecodable image, empty text -- zero-width
characters alone count as empty --, duplicate or invalid id, a date that is not a year or ISO
date, text that is not valid Unicode, NaN/inf values) are reported as
:class:`~scicmr.corpus.readers.base.Skipped` and reading goes on. Every field goes through the
one :class:`~scicmr.corpus.record.Record` validation before any image is copied.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any, Iterator

from scicmr.corpus.readers.base import (
    ReaderSkip,
    ReadResult,
    build_record,
    checked_id,
    copy_image,
    decode_text,
    maybe_progress,
    safe_name,
    split_list,
)
from scicmr.corpus.record import Record, Source, check_json_value, is_visible, parse_date
from scicmr.errors import InputError

MANIFEST_SUFFIXES = (".jsonl", ".json", ".csv")
_TEXT_FIELDS = ("caption", "text", "abstract")
_KNOWN = {
    "id", "image", "images", "title", "caption", "text", "abstract", "context", "keywords",
    "authors", "date", "year", "labels", "label", "group", "paper", "source_file", "page", "bbox",
    "kind", "split",
}
_USEFUL_COLUMNS = {"image", "images", "title", "caption", "text", "abstract"}
_SPLIT_ALIASES = {"val": "validation", "valid": "validation", "dev": "validation", "training": "train",
                  "testing": "test"}
_JSON_LIST_KEYS = ("records", "items", "rows", "data")

# One manifest row as the reader sees it: (item name for reports, its line or item number,
# fields or None, error message when the row could not be parsed).
Row = tuple[str, str, "dict[str, Any] | None", str]


def read_manifest(path: str | Path, library_root: str | Path, *, progress: bool = True) -> ReadResult:
    """Read a manifest file into records; images are validated and copied into
    ``library_root/images/<safe id>.<ext>``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"manifest {path} does not exist or is not a file", fix="check the path")
    if path.suffix.lower() not in MANIFEST_SUFFIXES:
        raise InputError(
            f"{path} is not a manifest (expected .jsonl, .json or .csv, got {path.suffix or 'no suffix'!r})",
            fix="save the manifest as JSON Lines (one object per line) or CSV with a header row",
        )
    text, encoding = decode_text(path.read_bytes())
    result = ReadResult(notes={"dataset": path.stem, "layout": "manifest", "standard_split": False})
    if encoding != "utf-8-sig":
        result.quirk(path.name, "not UTF-8", f"decoded as {encoding}")
    rows = list(_csv_rows(text, path) if path.suffix.lower() == ".csv" else _json_rows(text, path))
    state = _State(path, Path(library_root), result)
    for item, default_id, fields, error in maybe_progress(rows, progress, desc=f"reading {path.name}"):
        if fields is None:
            result.skip(item, error)
            continue
        try:
            record = state.make_record(item, default_id, fields)
        except ReaderSkip as exc:
            result.skip(_report_name(fields, item), exc.reason)
            continue
        result.records.append(record)
    splits = [r.extra.get("split") for r in result.records]
    result.notes["standard_split"] = bool(splits) and all(splits) and "train" in splits and "test" in splits
    ignored = sorted({k for _i, _d, fields, _e in rows if fields for k in fields if k not in _KNOWN})
    if ignored:
        # Lets the caller explain an empty result ("no caption field; found s2_caption, …").
        result.notes["unrecognised_fields"] = ignored[:50]
    return result


def _row_name(fields: dict[str, Any], item: str) -> str:
    """The row's id as given (stripped), or ``item`` when it has none. Not validated here:
    :func:`checked_id` does that, and a report may show an invalid id."""
    value = fields.get("id")
    if isinstance(value, (dict, list)):
        return item
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    return str(value).strip() if value not in (None, "") and str(value).strip() else item


def _report_name(fields: dict[str, Any], item: str) -> str:
    """How a skipped row is named in the report: its id when that is printable text, else its
    line (with the id escaped), so the report itself can always be written as UTF-8."""
    name = _row_name(fields, item)
    if name == item or (name.isprintable() and name.encode("utf-8", "surrogatepass").decode("utf-8", "replace") == name):
        return name
    return f"{item} (id {_short(name)})"


# ---------------------------------------------------------------------------- parsing
def _json_rows(text: str, path: Path) -> Iterator[Row]:
    """Rows of a JSON document (a list, or an object holding one) or of JSON Lines."""
    stripped = text.strip()
    if path.suffix.lower() == ".json" and stripped:
        try:
            document = json.loads(stripped)
        except (ValueError, RecursionError):
            document = None  # maybe JSON Lines saved as .json: fall through to line parsing
        if document is not None:
            yield from _document_rows(document, path)
            return
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        item = f"line {lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield item, str(lineno), None, f"malformed JSON: {exc.msg} (column {exc.colno})"
            continue
        except (ValueError, RecursionError) as exc:  # e.g. absurdly deep nesting
            yield item, str(lineno), None, f"malformed JSON: {type(exc).__name__}: {exc}"
            continue
        if not isinstance(obj, dict):
            yield item, str(lineno), None, f"not a JSON object: got {type(obj).__name__}"
            continue
        yield item, str(lineno), obj, ""


def _document_rows(document: Any, path: Path) -> Iterator[Row]:
    if isinstance(document, dict):
        lists = [document[k] for k in _JSON_LIST_KEYS if isinstance(document.get(k), list)]
        document = lists[0] if lists else [document]
    if not isinstance(document, list):
        raise InputError(
            f"{path} holds a JSON {type(document).__name__}, not a list of objects",
            fix='write a list of objects ([{"id": ..., "image": ..., "caption": ...}, ...]) or JSON Lines',
        )
    for index, obj in enumerate(document, start=1):
        item = f"item {index}"
        if isinstance(obj, dict):
            yield item, str(index), obj, ""
        else:
            yield item, str(index), None, f"not a JSON object: got {type(obj).__name__}"


def _csv_rows(text: str, path: Path) -> Iterator[Row]:
    """Rows of a CSV file with a header row; header names are matched case-insensitively.

    Quotes are parsed strictly: a quote that is never closed (or closed in the middle of a
    field) would otherwise swallow the following lines into one cell. Such a row is skipped
    with a reason naming its line, and reading resumes on the next line.
    """
    lines = text.splitlines(keepends=True)
    reader = csv.reader(iter(lines), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise InputError(f"{path}: the CSV header cannot be parsed: {exc}", fix="check the first line") from None
    columns = [name.strip().lower() for name in header]
    if not _USEFUL_COLUMNS & set(columns):
        raise InputError(
            f"{path}: the CSV header has none of the columns image, images, title, caption, text, abstract "
            f"(found: {', '.join(columns) or 'nothing'})",
            fix="the first row must name the columns, e.g. id,image,caption,keywords",
        )
    offset = 0  # lines before the current reader's first line
    consumed = reader.line_num
    while True:
        start = offset + consumed + 1  # the line the next row starts on
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield (f"line {start}", str(start), None,
                   f"malformed CSV: {exc} in the row starting on line {start} (an unclosed or stray quote \""
                   f"?); that line is left out and reading resumes on line {start + 1}")
            offset, consumed = start, 0  # re-read from the line after it: swallowed rows come back
            reader = csv.reader(iter(lines[start:]), strict=True)
            continue
        consumed = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            yield (f"line {start}", str(start), None,
                   f"malformed CSV: {len(cells)} fields but the header has {len(columns)} (an unquoted comma?)")
            continue
        yield f"line {start}", str(start), dict(zip(columns, cells)), ""


# ---------------------------------------------------------------------------- rows -> records
class _State:
    """Per-read bookkeeping: seen ids and image names already used in this read."""

    def __init__(self, manifest: Path, library_root: Path, result: ReadResult):
        self.manifest = manifest
        self.folder = manifest.parent
        self.library_root = library_root
        self.result = result
        self.seen: dict[str, str] = {}
        self.used_names: set[str] = set()

    def make_record(self, item: str, default_id: str, fields: dict[str, Any]) -> Record:
        """The record of one row, validated field by field before any image is copied;
        ReaderSkip with the reason when the row is unusable."""
        if isinstance(fields.get("id"), (dict, list, bool)):
            raise ReaderSkip(f"id must be text or a number, got a {type(fields['id']).__name__}")
        record_id = checked_id(_row_name(fields, f"{self.manifest.stem}-{default_id}"))
        if record_id in self.seen:
            raise ReaderSkip(f"duplicate id {record_id!r} (first used at {self.seen[record_id]}); row left out")
        title = _text(fields.get("title"), "title")
        body, body_field = _first_text(fields)
        image_paths = _list(fields, "image") + _list(fields, "images")
        if not image_paths and not body and not title:
            raise ReaderSkip("row has neither an image nor text")
        if not body and not title:
            raise ReaderSkip("empty text: the row has no caption/text/abstract and no title")
        extra = {k: v for k, v in fields.items() if k not in _KNOWN and v not in (None, "")}
        extra.update({name: _text(fields.get(name), name) for name in _TEXT_FIELDS
                      if name != body_field and _text(fields.get(name), name)})
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
        record.images = self._copy_images(record_id, list(dict.fromkeys(image_paths)))
        record.kind = "pair" if record.images else "text"
        self.seen[record_id] = item
        return record

    def _copy_images(self, record_id: str, paths: list[str]) -> list[str]:
        """Copy every usable image; the row is skipped only when none of them is usable."""
        copied, reasons = [], []
        for index, raw in enumerate(paths):
            try:
                src = self._resolve(raw)
                copied.append(copy_image(src, self.library_root, self._dest_name(record_id, index, src)))
            except ReaderSkip as exc:
                reasons.append(exc.reason)
        if reasons and not copied:
            raise ReaderSkip(reasons[0] if len(reasons) == 1 else "; ".join(reasons))
        for reason in reasons:
            self.result.quirk(record_id, "one of several images left out", reason)
        return copied

    def _resolve(self, raw: str) -> Path:
        if "://" in raw:
            raise ReaderSkip(f"remote image {raw!r} is not supported: download it and give a local path")
        candidate = Path(raw).expanduser()
        if candidate.is_absolute():
            if candidate.is_file():
                return candidate
            raise ReaderSkip(f"image file not found: {raw}")
        # Bare names often refer to an images/ folder beside the manifest (pairs.jsonl + images/).
        for path in (self.folder / candidate, self.folder / "images" / candidate):
            if path.is_file():
                return path
        raise ReaderSkip(f"image file not found: {raw} (looked in {self.folder} and {self.folder / 'images'})")

    def _dest_name(self, record_id: str, index: int, src: Path) -> str:
        stem = safe_name(record_id) + (f"-{index + 1}" if index else "")
        # Case-insensitive file systems would merge "A.png" and "a.png": make names unique.
        if stem.lower() in self.used_names:
            stem = safe_name(f"{record_id}\x00{index}")
        self.used_names.add(stem.lower())
        return stem + src.suffix.lower()

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
        return Source(file=_text(fields.get("source_file"), "source_file") or self.manifest.name, page=page, bbox=bbox)


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
    for name in _TEXT_FIELDS:
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
