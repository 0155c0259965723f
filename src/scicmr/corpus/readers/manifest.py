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
``doi``, ``url``       the paper's DOI and web page (kept in ``extra``; shown as a link)
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
from pathlib import Path
from typing import Any, Iterator

from scicmr.corpus.readers.base import ReadResult, decode_text
from scicmr.corpus.readers.rows import USEFUL_FIELDS, Row, RowReader, check_not_url_list, field_keys, read_rows
from scicmr.errors import InputError

MANIFEST_SUFFIXES = (".jsonl", ".json", ".csv")
_JSON_LIST_KEYS = ("records", "items", "rows", "data")


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
    check_not_url_list(path, [fields for _i, _d, fields, _e in rows[:100] if fields])
    state = RowReader(path.parent, Path(library_root), result, id_prefix=path.stem, source_name=path.name)
    read_rows(rows, state, progress=progress, desc=f"reading {path.name}")
    return result


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
    # JSON Lines end lines with "\n" only: str.splitlines would also cut at U+2028, \x1e and
    # other separators, which JSON allows raw inside a string.
    for lineno, line in enumerate(text.split("\n"), start=1):
        line = line.removesuffix("\r")
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
    """Rows of a CSV file with a header row (names as written: :func:`read_rows` matches them
    case-insensitively, as every source's).

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
    if not USEFUL_FIELDS & set(field_keys(header).values()):  # "Image_Path" is image, as in a table
        raise InputError(
            f"{path}: the CSV header has none of the columns image, images, title, caption, text, abstract "
            f"(found: {', '.join(header) or 'nothing'})",
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
        if len(cells) > len(header):
            yield (f"line {start}", str(start), None,
                   f"malformed CSV: {len(cells)} fields but the header has {len(header)} (an unquoted comma?)")
            continue
        yield f"line {start}", str(start), dict(zip(header, cells)), ""
