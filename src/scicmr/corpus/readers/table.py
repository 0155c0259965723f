"""Table reader: a Parquet file with one image–text item per row (``scicmr ingest table.parquet``).

Columns are named like the manifest's fields (:mod:`scicmr.corpus.readers.manifest`; names are
matched case-insensitively): an image column holding a path (relative to the table's folder,
then to its ``images/`` subfolder), raw bytes or a Hugging Face ``Image`` struct
(``{"bytes", "path"}``); a text column (``caption``, ``text`` or ``abstract``); any metadata
(``title``, ``authors``, ``date``, ``labels``, ``doi``, ``url``, ``group``, ``id``, ``split`` ...);
other columns are kept in ``Record.extra``. The image column may also be called ``image_path``,
``img``, ``jpg``, ``png`` or ``file_name``. CSV tables are read by the manifest reader.

Bad rows are skipped with their reason, as the manifest reader does. Missing cells (null,
NaN) count as absent; dates and timestamps become ISO dates. Parquet is read in record batches
with pyarrow (the ``tables`` extra), imported only when a table is read.
"""

from __future__ import annotations

import datetime
import decimal
import math
from pathlib import Path
from typing import Any, Iterable, Iterator

from scicmr.corpus.readers.base import ReadResult
from scicmr.corpus.readers.rows import USEFUL_FIELDS, Row, RowReader, check_not_url_list, field_keys, read_rows
from scicmr.errors import InputError

TABLE_SUFFIXES = (".parquet", ".pq")
_BATCH_ROWS = 1024
#: How many first rows tell an img2dataset URL list.
URL_SAMPLE_ROWS = 100


def import_pyarrow():
    """pyarrow, or InputError naming the extra to install."""
    try:
        import pyarrow  # noqa: F401 -- checked here, used by the callers' submodule imports
    except ImportError:
        raise InputError("reading Parquet tables and saved Hugging Face datasets needs pyarrow",
                         fix="pip install 'scicmr[tables]'") from None
    return pyarrow


def read_table(path: str | Path, library_root: str | Path, *, progress: bool = True) -> ReadResult:
    """Read a Parquet table into records; images are validated and copied into
    ``library_root/images/<safe id>.<ext>``."""
    import_pyarrow()
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise InputError(f"table {path} does not exist or is not a file", fix="check the path")
    try:
        table = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 -- pyarrow raises several types for a bad file
        raise InputError(f"{path} cannot be read as Parquet: {type(exc).__name__}: {exc}",
                         fix="check that the file is a complete Parquet file (pandas: df.to_parquet(path))") from None
    check_columns(table.schema_arrow.names, path, first_rows(table.iter_batches(batch_size=URL_SAMPLE_ROWS)))
    result = ReadResult(notes={"dataset": path.stem, "layout": "parquet table", "standard_split": False})
    state = RowReader(path.parent, Path(library_root), result, id_prefix=path.stem, source_name=path.name)
    rows = rows_from_batches(table.iter_batches(batch_size=_BATCH_ROWS))
    read_rows(rows, state, progress=progress, desc=f"reading {path.name}", total=table.metadata.num_rows)
    return result


def first_rows(batches: Iterable[Any], n: int = URL_SAMPLE_ROWS) -> list[dict[str, Any]]:
    """The first ``n`` rows of pyarrow record batches, as dicts (only those are converted)."""
    rows: list[dict[str, Any]] = []
    for batch in batches:
        rows += batch.slice(0, n - len(rows)).to_pylist()
        if len(rows) >= n:
            break
    return rows


def check_columns(columns: list[str], path: Path, sample: list[dict[str, Any]]) -> None:
    """InputError when no column can give a record: none of image/caption/text/title/...; a
    table whose first rows (``sample``, :func:`first_rows`) have only a ``url`` of image files
    (an img2dataset URL list) gets the img2dataset fix."""
    names = set(field_keys(columns).values())
    check_not_url_list(path, sample)
    if not names & USEFUL_FIELDS:
        raise InputError(
            f"{path}: no column is named image, images, title, caption, text or abstract "
            f"(found: {', '.join(columns[:20]) or 'nothing'})",
            fix="rename the columns, e.g. image (path or bytes), caption, title, authors, date, labels, doi, url",
        )


def rows_from_batches(batches: Iterable[Any], *, item_prefix: str = "row", start: int = 1, id_base: str = "",
                      defaults: dict[str, Any] | None = None,
                      converters: dict[str, Any] | None = None) -> Iterator[Row]:
    """Rows of pyarrow record batches: the columns as named (:func:`read_rows` normalises
    them), cells made plain (:func:`plain_cell`; a missing one is None, as a JSON null);
    ``defaults`` fill absent fields (a split name), and ``converters`` map a column's cells (a
    ClassLabel's index to its name). A row's default id is ``id_base`` and its number."""
    number = start
    for batch in batches:
        keys = field_keys(batch.schema.names)  # which columns are image columns (bytes kept)
        for raw in batch.to_pylist():
            fields: dict[str, Any] = dict(defaults or {})
            for name, value in raw.items():
                if converters and name in converters:
                    value = converters[name](value)
                value = plain_cell(value, image=keys[name] in ("image", "images"))
                if value is not None or name not in fields:
                    fields[name] = value
            yield f"{item_prefix} {number}", f"{id_base}{number}", fields, ""
            number += 1


def plain_cell(value: Any, *, image: bool = False) -> Any:
    """A table cell as a manifest value: None for null and NaN, ISO text for dates and times,
    floats for decimals; bytes only in an image column (elsewhere dropped: no JSON for them)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, (datetime.datetime, datetime.date)):
        return (value.date() if isinstance(value, datetime.datetime) else value).isoformat()
    if isinstance(value, (datetime.time, datetime.timedelta)):
        return str(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value) if image else None
    if isinstance(value, dict):
        if image:
            return value
        return {str(k): plain_cell(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_cell(v, image=image) for v in value]
    return value
