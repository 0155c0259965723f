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

Rows with a text side and no image become ``kind="text"`` records. Bad rows (malformed JSON,
missing or undecodable image, empty text, duplicate id) are reported as
:class:`~scicmr.corpus.readers.base.Skipped` and reading goes on.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterator

from scicmr.corpus.readers.base import (
    ReaderSkip,
    ReadResult,
    copy_image,
    decode_text,
    maybe_progress,
    safe_name,
    split_list,
)
from scicmr.corpus.record import Record, Source
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
            result.skip(_row_name(fields, item), exc.reason)
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
    value = fields.get("id")
    return str(value).strip() if value not in (None, "") and str(value).strip() else item


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
    """Rows of a CSV file with a header row; header names are matched case-insensitively."""
    reader = csv.reader(io.StringIO(text, newline=""))
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
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield f"line {reader.line_num}", str(reader.line_num), None, f"malformed CSV: {exc}"
            continue
        lineno = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            yield (f"line {lineno}", str(lineno), None,
                   f"malformed CSV: {len(cells)} fields but the header has {len(columns)} (an unquoted comma?)")
            continue
        yield f"line {lineno}", str(lineno), dict(zip(columns, cells)), ""


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
        record_id = _row_name(fields, f"{self.manifest.stem}-{default_id}")
        if record_id in self.seen:
            raise ReaderSkip(f"duplicate id {record_id!r} (first used at {self.seen[record_id]}); row left out")
        title = _text(fields.get("title"))
        body, body_field = _first_text(fields)
        image_paths = split_list(fields.get("image")) + split_list(fields.get("images"))
        if not image_paths and not body and not title:
            raise ReaderSkip("row has neither an image nor text")
        if not body and not title:
            raise ReaderSkip("empty text: the row has no caption/text/abstract and no title")
        images = self._copy_images(record_id, list(dict.fromkeys(image_paths)))
        extra = {k: v for k, v in fields.items() if k not in _KNOWN and v not in (None, "")}
        extra.update({name: _text(fields.get(name)) for name in _TEXT_FIELDS
                      if name != body_field and _text(fields.get(name))})
        split = self._split(record_id, _text(fields.get("split")))
        if split:
            extra["split"] = split
        record = Record(
            id=record_id,
            kind="pair" if images else "text",
            title=title,
            text=body,
            keywords=split_list(fields.get("keywords")),
            authors=split_list(fields.get("authors")),
            date=_date(fields),
            labels=split_list(_present(fields, "labels", "label")),
            images=images,
            source=self._source(record_id, fields),
            group=_text(_present(fields, "group", "paper")) or record_id,
            context=_text(fields.get("context")),
            extra=extra,
        )
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
            page = int(float(page)) if page not in (None, "") else None
        except (TypeError, ValueError):
            self.result.quirk(record_id, "bad page", f"page {page!r} is not a number; left empty")
            page = None
        try:
            bbox = _bbox(bbox)
        except ValueError:
            self.result.quirk(record_id, "bad bbox", f"bbox {bbox!r} is not 4 numbers; left empty")
            bbox = None
        return Source(file=_text(fields.get("source_file")) or self.manifest.name, page=page, bbox=bbox)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(str(v).strip() for v in value if v is not None).strip()
    return str(value).strip()


def _present(fields: dict[str, Any], *names: str) -> Any:
    """The value of the first of ``names`` that is present and not empty."""
    for name in names:
        if fields.get(name) not in (None, "", []):
            return fields[name]
    return None


def _first_text(fields: dict[str, Any]) -> tuple[str, str | None]:
    for name in _TEXT_FIELDS:
        value = _text(fields.get(name))
        if value:
            return value, name
    return "", None


def _date(fields: dict[str, Any]) -> str | None:
    value = _present(fields, "date", "year")
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 2021.0 from a spreadsheet export
    text = str(value).strip()
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    return text or None


def _bbox(value: Any) -> tuple[float, float, float, float] | None:
    if value in (None, ""):
        return None
    parts = value if isinstance(value, (list, tuple)) else str(value).strip("[]() ").replace(";", ",").split(",")
    numbers = tuple(float(p) for p in parts)
    if len(numbers) != 4:
        raise ValueError("bbox needs 4 numbers")
    return numbers  # type: ignore[return-value]
