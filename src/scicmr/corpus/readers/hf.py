"""Hugging Face datasets saved with ``save_to_disk`` (``scicmr ingest hf:DIR``).

A ``Dataset`` folder holds ``state.json`` (its ``_data_files``: ``data-*.arrow``), the Arrow
files and ``dataset_info.json`` (the features); a ``DatasetDict`` folder holds
``dataset_dict.json`` (``{"splits": [...]}``) and one such folder per split, whose name becomes
the records' split (train/validation/test; a ``split`` column wins). The Arrow files are read with
pyarrow directly, so the ``datasets`` package is not needed.

Columns are named like the manifest's fields (see :mod:`scicmr.corpus.readers.table`): an
``Image`` feature (``{"bytes", "path"}``) or a path column for the image, ``caption``/``text``
for the text, any metadata. A ``ClassLabel`` column's numbers become its names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator

from scicmr.corpus.readers.base import ReadResult
from scicmr.corpus.readers.rows import Row, RowReader, read_rows
from scicmr.corpus.readers.table import (
    check_columns,
    first_rows,
    import_pyarrow,
    rows_from_batches,
)
from scicmr.errors import InputError

PREFIX = "hf:"


def is_saved_dataset(path: Path) -> bool:
    """True for a ``save_to_disk`` folder: a DatasetDict (``dataset_dict.json``) or a Dataset
    (a ``state.json`` listing its ``_data_files``; any other folder may hold a state.json)."""
    if not path.is_dir():
        return False
    if (path / "dataset_dict.json").is_file():
        return True
    try:
        state = json.loads((path / "state.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(state, dict) and "_data_files" in state


def read_hf_dataset(path: str | Path, library_root: str | Path, *, progress: bool = True) -> ReadResult:
    """Read a saved dataset into records; images go to ``library_root/images/<safe id>.<ext>``."""
    import_pyarrow()
    path = Path(str(path)[len(PREFIX):] if str(path).startswith(PREFIX) else path)
    if not is_saved_dataset(path):
        raise InputError(f"{path} is not a dataset saved with save_to_disk (no state.json or dataset_dict.json)",
                         fix="save it with dataset.save_to_disk(DIR) and pass hf:DIR")
    parts = [(split, folder, _checked_files(folder)) for split, folder in _splits(path)]  # all before any row
    result = ReadResult(notes={"dataset": path.name, "layout": "huggingface save_to_disk", "standard_split": False})
    state = RowReader(path, Path(library_root), result, id_prefix=path.name, source_name=path.name)
    read_rows(_all_rows(parts, state), state, progress=progress, desc=f"reading {path.name}")
    return result


def _splits(path: Path) -> list[tuple[str | None, Path]]:
    """``(split name or None, Dataset folder)`` for a Dataset or each split of a DatasetDict."""
    if not (path / "dataset_dict.json").is_file():
        return [(None, path)]
    splits = _json(path / "dataset_dict.json").get("splits") or []
    if not isinstance(splits, list) or not all(isinstance(s, str) and (path / s).is_dir() for s in splits):
        raise InputError(f"{path / 'dataset_dict.json'} lists splits {splits!r} that are not all folders here",
                         fix="save the DatasetDict again with save_to_disk")
    return [(name, path / name) for name in splits]


def _checked_files(folder: Path) -> list[Path]:
    """The Arrow files of one Dataset folder, after checking its columns (from the Arrow schema:
    an empty split has no record batch but names its columns) and its first rows."""
    files = _data_files(folder)
    if files:
        check_columns(_columns(files[0]), folder, first_rows(b for file in files for b in _arrow_batches(file)))
    return files


def _all_rows(parts: list[tuple[str | None, Path, list[Path]]], state: RowReader) -> Iterator[Row]:
    for split, folder, files in parts:
        state.folder = folder  # relative image paths are looked up beside the split's files
        batches = (batch for file in files for batch in _arrow_batches(file))
        yield from rows_from_batches(batches, item_prefix=f"{split} row" if split else "row",
                                     defaults={"split": split} if split else None,
                                     converters=_class_labels(folder), id_base=f"{split}-" if split else "")


def _data_files(folder: Path) -> list[Path]:
    state = _json(folder / "state.json")
    names = [entry.get("filename") for entry in state.get("_data_files", []) if isinstance(entry, dict)]
    files = [folder / name for name in names if isinstance(name, str)] or sorted(folder.glob("data-*.arrow"))
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise InputError(f"{folder}: data file(s) {', '.join(missing)} listed in state.json are missing",
                         fix="copy the whole saved dataset folder")
    return files


def _arrow_batches(file: Path, *, schema_only: bool = False) -> Iterator[Any]:
    """The record batches of a ``datasets`` Arrow file (the IPC stream format; the file format
    too); with ``schema_only``, its schema alone."""
    import pyarrow as pa

    try:
        with pa.memory_map(str(file)) as source:
            try:
                reader = pa.ipc.open_stream(source)
                batches = iter(reader)
            except pa.ArrowInvalid:
                source.seek(0)
                reader = pa.ipc.open_file(source)
                batches = (reader.get_batch(i) for i in range(reader.num_record_batches))
            yield from ([reader.schema] if schema_only else batches)
    except (OSError, pa.ArrowInvalid) as exc:
        raise InputError(f"{file} cannot be read as Arrow: {exc}", fix="save the dataset again with save_to_disk") \
            from None


def _columns(file: Path) -> list[str]:
    """The column names of an Arrow file, from its schema (a file of zero rows has them too)."""
    (schema,) = _arrow_batches(file, schema_only=True)
    return list(schema.names)


def _class_labels(folder: Path) -> dict[str, Callable[[Any], Any]]:
    """Converters from a ClassLabel column's numbers to its names (dataset_info.json's features)."""
    info = _json(folder / "dataset_info.json") if (folder / "dataset_info.json").is_file() else {}
    features = info.get("features") if isinstance(info.get("features"), dict) else {}
    converters = {}
    for column, feature in features.items():
        names = feature.get("names") if isinstance(feature, dict) and feature.get("_type") == "ClassLabel" else None
        if isinstance(names, list):
            converters[column] = lambda v, names=names: names[v] if isinstance(v, int) and 0 <= v < len(names) else v
    return converters


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} cannot be read: {exc}", fix="save the dataset again with save_to_disk") from None
    return data if isinstance(data, dict) else {}
