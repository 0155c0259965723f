"""An appendable table of rows on disk: record ids, array columns and JSON columns, in chunks.

Feature vectors, a model's shared-space vectors and their filter columns grow by appending: a
library of a million figures cannot rewrite a 2 GB ``vectors.npy`` to add one record. A
:class:`ChunkedTable` is a folder::

    table.json              the manifest: columns, chunks (in row order), deleted rows, meta
    c000001.ids.json        the record ids of chunk 1
    c000001.<column>.npy    one (rows, *shape) array per array column, read memory-mapped
    c000001.rows.json       one JSON value per row (only when the table has JSON rows)

**Commit rule.** An append writes its chunk files first (each atomically), then replaces
``table.json``; the manifest is the commit point, so a crash leaves either the table as it was
(the new files are leftovers nobody reads, removed by the next :meth:`compact`) or the table
with the whole chunk — never a half-visible chunk. A delete is a *tombstone*: the row positions
join ``deleted`` in the manifest; the rows are dropped for good by :meth:`compact`, which
writes the live rows as one chunk and commits a manifest naming only it. Chunk files are never
modified after they are written, so readers map them safely while a writer appends.

Writers of one table are serialised by an advisory lock on ``table.lock`` (several service
processes may write); readers take no lock.

Row *positions* count every stored row, deleted ones included, in chunk order: they stay
stable across appends and deletes (an index built over positions stays valid) and change only
at :meth:`compact`, whose :attr:`generation` and ``compactions`` count tell callers to rebuild.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scicmr._faults import crash_point
from scicmr._io import atomic_save_npy, atomic_write_json, read_json
from scicmr.errors import InputError, LibraryError

MANIFEST = "table.json"
TABLE_FORMAT = "scicmr-table-1"
_LOCK = "table.lock"
_CHUNK_FILE = re.compile(r"^c\d{6}\.[\w-]+\.(npy|json)$")


def is_table(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds a table (its manifest exists)."""
    return (Path(folder) / MANIFEST).is_file()


class ChunkedTable:
    """An appendable, memory-mapped table (the layout and commit rule: module docstring).

    Open with :meth:`open`, make with :meth:`create`. The object is a view of the manifest it
    read; :meth:`refresh` re-reads it (another process may have appended).

    Args of :meth:`create`:
        columns: array column name -> (dtype, per-row shape), e.g. ``{"vectors": ("float32", (512,))}``
            or ``{"year": ("int64", ())}``.
        json_rows: whether rows carry one JSON value each (filter fields such as labels).
        meta: free JSON metadata (an encoder's config, the model version vectors came from).
    """

    def __init__(self, folder: Path, manifest: dict[str, Any]):
        self.folder = folder
        self._manifest = manifest
        self._cache: dict[str, Any] = {}

    # ------------------------------------------------------------------ opening
    @classmethod
    def create(cls, folder: str | os.PathLike, columns: dict[str, tuple[str, Sequence[int]]], *,
               json_rows: bool = False, meta: dict[str, Any] | None = None) -> "ChunkedTable":
        """An empty table at ``folder``, replacing any table there (its chunks are removed after
        the new manifest commits)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": TABLE_FORMAT,
            "columns": {name: {"dtype": np.dtype(dtype).str, "shape": [int(s) for s in shape]}
                        for name, (dtype, shape) in columns.items()},
            "json_rows": bool(json_rows), "chunks": [], "deleted": [], "next_chunk": 1,
            "generation": 0, "compactions": 0, "meta": dict(meta or {}),
        }
        table = cls(folder, manifest)
        with table._locked():
            try:
                old = _read_manifest(folder) if is_table(folder) else {}
            except LibraryError:
                old = {}  # a damaged table is being replaced: its chunks are swept below
            # Counters go on from the old table's, so a reader's (generation, compactions) never repeats.
            manifest["next_chunk"] = int(old.get("next_chunk", 1))
            manifest["generation"] = int(old.get("generation", 0)) + 1
            manifest["compactions"] = int(old.get("compactions", 0)) + 1
            table._commit(manifest)
            table._remove_unreferenced()
        return table

    @classmethod
    def open(cls, folder: str | os.PathLike) -> "ChunkedTable":
        """Open the table at ``folder``; LibraryError naming the problem when it is damaged."""
        folder = Path(folder)
        return cls(folder, _read_manifest(folder))

    def refresh(self) -> "ChunkedTable":
        """This table as its manifest on disk says now (a new object; this one is unchanged)."""
        return ChunkedTable.open(self.folder)

    # ------------------------------------------------------------------ what it holds
    @property
    def meta(self) -> dict[str, Any]:
        return dict(self._manifest["meta"])

    @property
    def generation(self) -> int:
        """Counts commits: any append, delete, compaction or meta change raises it."""
        return int(self._manifest["generation"])

    @property
    def compactions(self) -> int:
        """Counts rewrites that renumber row positions (compact, or a replaced table)."""
        return int(self._manifest["compactions"])

    @property
    def columns(self) -> dict[str, tuple[np.dtype, tuple[int, ...]]]:
        return {name: (np.dtype(c["dtype"]), tuple(c["shape"])) for name, c in self._manifest["columns"].items()}

    @property
    def n_rows(self) -> int:
        """Stored rows, deleted ones included (the range of row positions)."""
        return sum(int(c["rows"]) for c in self._manifest["chunks"])

    def __len__(self) -> int:
        return self.n_rows - len(self._manifest["deleted"])

    @property
    def deleted_rows(self) -> np.ndarray:
        """(m,) int64 positions of deleted rows, ascending."""
        return np.asarray(sorted(self._manifest["deleted"]), dtype=np.int64)

    def live_mask(self) -> np.ndarray:
        """(n_rows,) bool: True for rows not deleted."""
        mask = np.ones(self.n_rows, dtype=bool)
        mask[self.deleted_rows] = False
        return mask

    def chunk_names(self) -> list[str]:
        return [c["name"] for c in self._manifest["chunks"]]

    # ------------------------------------------------------------------ reading
    def all_ids(self) -> list[str]:
        """The ids of every stored row, by position (deleted rows included)."""
        if "ids" not in self._cache:
            ids: list[str] = []
            for chunk in self._manifest["chunks"]:
                ids.extend(self._read_chunk_json(chunk, "ids"))
            self._cache["ids"] = ids
        return self._cache["ids"]

    def ids(self) -> list[str]:
        """The ids of the live rows, by position."""
        ids = self.all_ids()
        if not self._manifest["deleted"]:
            return list(ids)
        dead = set(self._manifest["deleted"])
        return [rid for p, rid in enumerate(ids) if p not in dead]

    def blocks(self, column: str) -> list[np.ndarray]:
        """The chunks of ``column`` as read-only memory maps, by position (deleted rows included)."""
        self._check_column(column)
        key = f"blocks:{column}"
        if key not in self._cache:
            self._cache[key] = [self._map(chunk, column) for chunk in self._manifest["chunks"]]
        return self._cache[key]

    def all_rows(self, column: str) -> np.ndarray:
        """``column`` over every stored row, (n_rows, *shape): the memory map itself when the
        table is one chunk (nothing is copied), else the chunks concatenated."""
        blocks = self.blocks(column)
        if len(blocks) == 1:
            return blocks[0]
        dtype, shape = self.columns[column]
        return np.concatenate(blocks) if blocks else np.zeros((0, *shape), dtype=dtype)

    def column(self, column: str) -> np.ndarray:
        """``column`` over the live rows (a memory map when nothing needs dropping or joining)."""
        rows = self.all_rows(column)
        return rows if not self._manifest["deleted"] else rows[self.live_mask()]

    def json_rows(self) -> list[Any]:
        """The JSON value of every stored row, by position (deleted rows included)."""
        if not self._manifest["json_rows"]:
            return [None] * self.n_rows
        values: list[Any] = []
        for chunk in self._manifest["chunks"]:
            values.extend(self._read_chunk_json(chunk, "rows"))
        return values

    def take(self, column: str, ids: Sequence[str]) -> np.ndarray:
        """``column`` rows of ``ids`` in that order (live rows); LibraryError naming the missing."""
        position = self.positions()
        missing = [i for i in ids if i not in position]
        if missing:
            raise LibraryError(f"{self.folder} lacks {len(missing)} row(s), e.g. {missing[:3]}",
                               fix="re-encode or rebuild it (the command that made it, with --force)")
        rows = np.fromiter((position[i] for i in ids), dtype=np.int64, count=len(ids))
        return self.all_rows(column)[rows]

    def positions(self) -> dict[str, int]:
        """id -> position of its live row (the last one when an id was appended twice)."""
        if "positions" not in self._cache:
            dead = set(self._manifest["deleted"])
            self._cache["positions"] = {rid: p for p, rid in enumerate(self.all_ids()) if p not in dead}
        return self._cache["positions"]

    # ------------------------------------------------------------------ writing
    def append(self, ids: Sequence[str], arrays: dict[str, np.ndarray], json_rows: Sequence[Any] | None = None,
               meta: dict[str, Any] | None = None) -> None:
        """Append rows as one new chunk (the commit rule: module docstring); ``meta`` changes
        commit with it. An empty append commits only ``meta``."""
        ids = [str(i) for i in ids]
        arrays = self._checked_arrays(len(ids), arrays)
        if self._manifest["json_rows"] != (json_rows is not None) or (json_rows is not None and len(json_rows) != len(ids)):
            raise InputError(f"{self.folder}: one JSON value per row is {'required' if self._manifest['json_rows'] else 'not stored'}",
                             fix="pass json_rows with one value per id" if self._manifest["json_rows"] else "drop json_rows")
        if not ids and not meta:
            return
        with self._locked():
            manifest = _read_manifest(self.folder)
            if ids:
                name = f"c{int(manifest['next_chunk']):06d}"
                self._write_chunk(name, ids, arrays, json_rows)
                crash_point("table.chunk_written")
                manifest["chunks"].append({"name": name, "rows": len(ids)})
                manifest["next_chunk"] = int(manifest["next_chunk"]) + 1
            manifest["meta"].update(meta or {})
            manifest["generation"] = int(manifest["generation"]) + 1
            self._commit(manifest)

    def delete(self, ids: Sequence[str], meta: dict[str, Any] | None = None) -> int:
        """Tombstone the live rows of ``ids`` (every one, when an id was appended twice;
        ``meta`` changes commit with it); returns how many rows were deleted."""
        with self._locked():
            current = ChunkedTable.open(self.folder)
            wanted = {str(i) for i in ids}
            dead = set(current._manifest["deleted"])
            rows = [p for p, rid in enumerate(current.all_ids()) if rid in wanted and p not in dead] if wanted else []
            if not rows and not meta:
                return 0
            manifest = current._manifest
            manifest["meta"].update(meta or {})
            manifest["deleted"] = sorted(set(manifest["deleted"]) | set(rows))
            manifest["generation"] = int(manifest["generation"]) + 1
            self._commit(manifest)
            return len(rows)

    def delete_positions(self, rows: Sequence[int], meta: dict[str, Any] | None = None) -> int:
        """Tombstone rows by position (what a reader of this table holds: no id lookup, so a
        delete costs its rows, not the table); ``meta`` changes commit with it. Returns how
        many rows were newly deleted."""
        with self._locked():
            manifest = _read_manifest(self.folder)
            n_rows = sum(int(c["rows"]) for c in manifest["chunks"])
            bad = [r for r in rows if not 0 <= int(r) < n_rows]
            if bad:
                raise InputError(f"{self.folder}: row positions {bad[:3]} are outside 0..{n_rows - 1}",
                                 fix="take positions from this table (they change at compact)")
            dead = set(manifest["deleted"])
            fresh = {int(r) for r in rows} - dead
            if not fresh and not meta:
                return 0
            manifest["meta"].update(meta or {})
            manifest["deleted"] = sorted(dead | fresh)
            manifest["generation"] = int(manifest["generation"]) + 1
            self._commit(manifest)
            return len(fresh)

    def update_meta(self, **changes: Any) -> None:
        with self._locked():
            manifest = _read_manifest(self.folder)
            manifest["meta"].update(changes)
            manifest["generation"] = int(manifest["generation"]) + 1
            self._commit(manifest)

    def compact(self) -> bool:
        """Rewrite the live rows as one chunk, dropping tombstones and leftovers of crashed
        appends; False when there was nothing to do. Row positions change (compactions + 1).
        An id with several live rows keeps only its last (the one :meth:`positions` reads)."""
        with self._locked():
            current = ChunkedTable.open(self.folder)
            manifest = current._manifest
            if len(manifest["chunks"]) <= 1 and not manifest["deleted"]:
                current._remove_unreferenced()
                return False
            live = np.zeros(current.n_rows, dtype=bool)  # the last live row of each id
            live[np.fromiter(current.positions().values(), dtype=np.int64)] = True
            name = f"c{int(manifest['next_chunk']):06d}"
            ids = [rid for rid, keep in zip(current.all_ids(), live) if keep]
            arrays = {c: current.all_rows(c)[live] for c in current.columns}
            rows = [v for v, keep in zip(current.json_rows(), live) if keep] if manifest["json_rows"] else None
            self._write_chunk(name, ids, arrays, rows)
            crash_point("table.compact_written")
            manifest.update(chunks=[{"name": name, "rows": len(ids)}] if ids else [], deleted=[],
                            next_chunk=int(manifest["next_chunk"]) + 1,
                            generation=int(manifest["generation"]) + 1,
                            compactions=int(manifest["compactions"]) + 1)
            self._commit(manifest)
            self._remove_unreferenced()
            return True

    # ------------------------------------------------------------------ internals
    def _commit(self, manifest: dict[str, Any]) -> None:
        atomic_write_json(self.folder / MANIFEST, manifest)
        self._manifest = manifest
        self._cache = {}

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / _LOCK, "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _checked_arrays(self, n: int, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if set(arrays) != set(self.columns):
            raise InputError(f"{self.folder}: columns {sorted(arrays)} given, the table holds {sorted(self.columns)}",
                             fix="pass one array per column")
        checked = {}
        for name, (dtype, shape) in self.columns.items():
            array = np.ascontiguousarray(arrays[name], dtype=dtype)
            if array.shape != (n, *shape):
                raise InputError(f"{self.folder}: column {name!r} must be {(n, *shape)}, got {array.shape}",
                                 fix="pass one row per id with the table's width")
            checked[name] = array
        return checked

    def _write_chunk(self, name: str, ids: list[str], arrays: dict[str, np.ndarray], rows: Sequence[Any] | None) -> None:
        for column, array in arrays.items():
            atomic_save_npy(self.folder / f"{name}.{column}.npy", array)
        if rows is not None:
            atomic_write_json(self.folder / f"{name}.rows.json", list(rows))
        atomic_write_json(self.folder / f"{name}.ids.json", ids)

    def _map(self, chunk: dict[str, Any], column: str) -> np.ndarray:
        path = self.folder / f"{chunk['name']}.{column}.npy"
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise _damaged(self.folder, f"{path.name} is unreadable ({exc})") from None
        dtype, shape = self.columns[column]
        if array.shape != (int(chunk["rows"]), *shape) or array.dtype != dtype:
            raise _damaged(self.folder, f"{path.name} holds {array.shape} {array.dtype}, the manifest says "
                                        f"{(int(chunk['rows']), *shape)} {dtype}")
        return array

    def _read_chunk_json(self, chunk: dict[str, Any], part: str) -> list[Any]:
        path = self.folder / f"{chunk['name']}.{part}.json"
        try:
            values = read_json(path)
        except (OSError, ValueError) as exc:
            raise _damaged(self.folder, f"{path.name} is unreadable ({exc})") from None
        if not isinstance(values, list) or len(values) != int(chunk["rows"]):
            raise _damaged(self.folder, f"{path.name} does not hold {chunk['rows']} rows")
        return values

    def _check_column(self, column: str) -> None:
        if column not in self.columns:
            raise InputError(f"{self.folder} has no column {column!r}", fix=f"use one of {sorted(self.columns)}")

    def _remove_unreferenced(self) -> None:
        """Delete chunk files the manifest does not name (compacted, or left by a crash)."""
        keep = set(self.chunk_names())
        for path in self.folder.iterdir():
            if _CHUNK_FILE.match(path.name) and path.name.split(".")[0] not in keep:
                path.unlink(missing_ok=True)
            elif path.name.startswith(".") and path.name.endswith(".tmp"):
                if path.is_file():
                    path.unlink(missing_ok=True)
                else:
                    shutil.rmtree(path, ignore_errors=True)


class DamagedTableError(LibraryError):
    """A table's manifest or chunk files are unreadable or disagree (derived data: rebuild it)."""


def _damaged(folder: Path, what: str) -> DamagedTableError:
    return DamagedTableError(f"the table {folder} is damaged: {what}",
                        fix="rebuild it with the command that made it (e.g. `scicmr encode LIB --force`, `scicmr index LIB`)")


def _read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    try:
        manifest = read_json(path)
    except FileNotFoundError:
        raise LibraryError(f"{folder} is not a table (no {MANIFEST})",
                           fix="rebuild it with the command that made it") from None
    except (OSError, ValueError) as exc:
        raise _damaged(folder, f"{MANIFEST} is unreadable ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != TABLE_FORMAT:
        raise _damaged(folder, f"{MANIFEST} is not a {TABLE_FORMAT} manifest")
    return manifest
