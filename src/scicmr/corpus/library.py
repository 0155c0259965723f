"""The library directory: everything for one collection on disk.

Layout::

    LIB/
      library.json            name, format version, default encoders, dataset notes
      records.sqlite          records (JSON per row), their order and split
      images/                 images copied into the library (paths in records are relative)
      features/<key>/         cached vectors: an appendable table (corpus/table.py), column
                              ``vectors`` (n, d) float32, the encoder config in its meta
      models/<name>/          trained methods and fitted encoders: config.json + weights
      indexes/<name>/         vector indexes
      reports/                ingest and evaluation reports

Records live in SQLite (each write is one transaction); every other file is written atomically
(temporary sibling, then rename), so a crash never leaves a torn library. ``scicmr ingest``
builds a whole library beside its target and swaps it in; ``LIB/.lock`` is the advisory lock
every process holds while it has the library open, and :meth:`Library.open` removes what dead
writers left only when no other process holds it (the rule: :mod:`scicmr.corpus.lifecycle`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import sqlite3
import warnings
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from scicmr._faults import crash_point
from scicmr._io import atomic_directory, atomic_write_json, read_json
from scicmr.corpus.record import Record
from scicmr.corpus.table import ChunkedTable, is_table
from scicmr.corpus.splits import SPLITS, carve_validation, group_split
from scicmr.errors import InputError, LibraryError

FORMAT_VERSION = 2  # 2: feature caches are chunked tables; 1 (scicmr 0.1): vectors.npy + ids.json
_DERIVED_FOLDERS = ("features", "encoders", "models", "indexes", "reports")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    position INTEGER NOT NULL,
    id TEXT PRIMARY KEY,
    split TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS records_position ON records(position);
"""
# One row counting committed changes to the records, bumped inside each writing transaction:
# derived data (a model's stored shared-space vectors) records the count it was made at, so
# a reader knows it is current without reading a million records.
_CHANGES = "CREATE TABLE IF NOT EXISTS changes (n INTEGER NOT NULL)"
# Ids deleted since the last `scicmr compact`: their feature rows are dropped then (a delete
# itself then costs its own rows, not a pass over every feature cache).
_DELETED = "CREATE TABLE IF NOT EXISTS deleted (id TEXT PRIMARY KEY)"


def config_key(prefix: str, config: dict[str, Any]) -> str:
    """A stable folder name for a configuration: ``prefix-<sha1 of canonical JSON>[:10]``."""
    digest = hashlib.sha1(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:10]
    return f"{prefix}-{digest}"


_IDS_PER_QUERY = 500


class UnreadableRecordError(InputError):
    """The record is stored but does not decode into a valid Record (see
    :class:`UnreadableRecordWarning`); raised when it is asked for by id."""


class UnreadableRecordWarning(UserWarning):
    """A stored row cannot be decoded into a valid Record (written by an older scicmr, edited by
    hand, or damaged); it is left out of what the library returns instead of failing the call."""


def _record_from_row(body: str, split: str | None) -> Record:
    """A record from its stored JSON body, with its split column in ``extra["split"]``.

    Raises InputError naming the problem when the stored row does not make a valid record.
    """
    try:
        data = json.loads(body)
    except (TypeError, ValueError, RecursionError) as exc:
        raise InputError(f"its stored JSON does not parse ({type(exc).__name__}: {exc})") from None
    try:
        record = Record.from_dict(data)
    except InputError:
        raise
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # e.g. an unknown field type
        raise InputError(f"its stored fields do not make a record ({type(exc).__name__}: {exc})") from None
    record.extra["split"] = split
    return record


def _decode_rows(rows: Iterable[tuple], root: Path, unreadable: dict[str, str] | None = None) -> list[Record]:
    """Records of ``(id, body, split)`` rows; a row that does not decode is left out with an
    :class:`UnreadableRecordWarning` naming its id and why (and noted in ``unreadable``), so one
    bad stored row never stops the library from being listed, opened or served."""
    records = []
    for record_id, body, split_name in rows:
        try:
            records.append(_record_from_row(body, split_name))
        except InputError as exc:
            reason = exc.problem
            if unreadable is not None:
                unreadable[record_id] = reason
            warnings.warn(f"record {record_id!r} in {root} is unreadable and left out: {reason}. Fix: delete "
                          "it (DELETE /api/records/{id} or Library.delete_records) and add it again with a "
                          "valid value", UnreadableRecordWarning, stacklevel=3)
    return records


class Library:
    """A collection on disk. Create with :meth:`create`, open with :meth:`open`."""

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._db_path = self.root / "records.sqlite"

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def create(cls, root: str | Path, *, name: str | None = None, overwrite: bool = False) -> "Library":
        """Make a new, empty library at ``root``.

        Raises LibraryError when ``root`` already holds a library and ``overwrite`` is false.
        """
        root = Path(root)
        if (root / "library.json").exists() and not overwrite:
            raise LibraryError(
                f"{root} already holds a library",
                fix="choose another --out folder, or pass --overwrite to replace its records "
                "(its features, models and indexes are dropped too)",
            )
        if root.exists() and not root.is_dir():
            raise LibraryError(f"{root} exists and is not a folder", fix="choose another --out path")
        root.mkdir(parents=True, exist_ok=True)
        from scicmr.corpus import lifecycle

        if lifecycle.hold_open(root):  # held (shared) while this process writes: no one cleans under it
            lifecycle.share(root)
        lib = cls(root)
        if overwrite:
            # Derived data would silently describe the old records: drop it with them.
            for folder in _DERIVED_FOLDERS:
                shutil.rmtree(root / folder, ignore_errors=True)
        with lib._connect() as conn:
            conn.executescript(_SCHEMA)
            if overwrite:
                conn.execute("DELETE FROM records")
                lib._bump(conn)
        atomic_write_json(
            root / "library.json",
            {"format_version": FORMAT_VERSION, "name": name or root.name, "encoders": {}, "notes": {}},
        )
        return lib

    @classmethod
    def open(cls, root: str | Path) -> "Library":
        """Open an existing library; LibraryError with the fix when ``root`` is not one.

        Opening also repairs what dead writers left (:mod:`scicmr.corpus.lifecycle`): an ingest
        swap interrupted between its two renames is finished or undone, and at this process's
        first open, when no other process has the library open, temporary leftovers are
        removed and an interrupted quarantine or restore is completed
        (:func:`scicmr.corpus.journal.recover`).
        """
        from scicmr.corpus import lifecycle

        root = Path(root)
        if not (root / "library.json").exists():
            lifecycle.recover_target(root)
        if not (root / "library.json").exists() or not (root / "records.sqlite").exists():
            raise LibraryError(
                f"{root} is not a scicmr library (no library.json / records.sqlite)",
                fix=f"create one with `scicmr ingest SOURCE --out {root}`",
            )
        lib = cls(root)
        lib._check_database()
        version = lib.meta.get("format_version")
        if version != FORMAT_VERSION:
            if isinstance(version, int) and version < FORMAT_VERSION:
                raise LibraryError(f"{root} has library format {version}, older than this scicmr's {FORMAT_VERSION}",
                                   fix=f"migrate it in place (crash-safe): `scicmr upgrade {root}`")
            raise LibraryError(f"{root} has library format {version}, this scicmr reads {FORMAT_VERSION}",
                               fix="open it with the scicmr release that wrote it, or upgrade scicmr")
        if lifecycle.hold_open(root):  # sole user of the library: nothing is being written
            try:
                lifecycle.recover_target(root)
                lifecycle.remove_leftovers(root)
                from scicmr.corpus.journal import recover

                recover(lib)
            finally:
                lifecycle.share(root)
        return lib

    def _check_database(self) -> None:
        """LibraryError naming the fix when records.sqlite is not a readable records database."""
        try:
            with contextlib.closing(self._connect()) as conn:
                conn.execute("SELECT count(*) FROM records").fetchone()
        except sqlite3.DatabaseError as exc:
            raise LibraryError(
                f"{self._db_path} is damaged or not a scicmr records database ({exc})",
                fix=f"restore it from a backup, or rebuild: `scicmr ingest SOURCE --out {self.root} --overwrite`",
            ) from None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._db_path)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    @contextlib.contextmanager
    def writing(self):
        """Hold the library's writer lock (``.write.lock``): one writing process at a time
        across processes (several service workers may take writes)."""
        import fcntl

        with open(self.root / ".write.lock", "a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield self
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # ------------------------------------------------------------------ metadata
    @property
    def meta(self) -> dict[str, Any]:
        return _read_stored_json(self.root / "library.json", dict, f"`scicmr ingest SOURCE --out {self.root} --overwrite`")

    def update_meta(self, **changes: Any) -> dict[str, Any]:
        """Merge ``changes`` into library.json (top-level keys; dicts are merged one level)."""
        meta = self.meta
        for key, value in changes.items():
            if isinstance(value, dict) and isinstance(meta.get(key), dict):
                meta[key] = {**meta[key], **value}
            else:
                meta[key] = value
        atomic_write_json(self.root / "library.json", meta)
        return meta

    @property
    def name(self) -> str:
        return self.meta.get("name", self.root.name)

    # ------------------------------------------------------------------ records
    def add_records(self, records: Iterable[Record], *, replace: bool = False) -> int:
        """Append records in one transaction; returns how many were added.

        A duplicate id raises InputError (nothing is written) unless ``replace`` is true. An id
        deleted since the last compaction and added again gets a new record: the feature rows
        of the deleted one are tombstoned first, so encoding computes the new record's.
        """
        records = list(records)
        self._drop_deleted_features([r.id for r in records])
        with self._connect() as conn:
            start = conn.execute("SELECT COALESCE(MAX(position) + 1, 0) FROM records").fetchone()[0]
            verb = "INSERT OR REPLACE" if replace else "INSERT"
            try:
                conn.executemany(
                    f"{verb} INTO records(position, id, split, body) VALUES (?, ?, ?, ?)",
                    [
                        (start + offset, r.id, r.extra.get("split"), json.dumps(r.to_dict(), ensure_ascii=False))
                        for offset, r in enumerate(records)
                    ],
                )
                conn.execute(_DELETED)
                conn.executemany("DELETE FROM deleted WHERE id = ?", [(r.id,) for r in records])
                self._bump(conn)
            except sqlite3.IntegrityError as exc:
                raise InputError(
                    f"duplicate record id while adding to {self.root}: {exc}",
                    fix="record ids must be unique; rename the duplicates in the source",
                ) from None
        return len(records)

    def update_records(self, records: Iterable[Record]) -> int:
        """Rewrite the bodies of existing records in one transaction (position and split kept).

        An unknown id raises InputError and nothing is written.
        """
        rows = []
        for r in records:
            body = r.to_dict()
            body["extra"] = {k: v for k, v in body["extra"].items() if k != "split"}  # the column holds it
            rows.append((json.dumps(body, ensure_ascii=False), r.id))
        with self._connect() as conn:
            known = {row[0] for row in conn.execute("SELECT id FROM records")}
            missing = [i for _, i in rows if i not in known]
            if missing:
                raise InputError(f"cannot update records missing from {self.root}: {missing[:3]}",
                                 fix="add them with add_records first")
            conn.executemany("UPDATE records SET body = ? WHERE id = ?", rows)
            self._bump(conn)
        return len(rows)

    def delete_records(self, ids: Sequence[str]) -> int:
        with self._connect() as conn:
            cur = conn.executemany("DELETE FROM records WHERE id = ?", [(i,) for i in ids])
            conn.execute(_DELETED)
            conn.executemany("INSERT OR IGNORE INTO deleted(id) VALUES (?)", [(i,) for i in ids])
            self._bump(conn)
            return cur.rowcount

    def deleted_since_compaction(self) -> list[str]:
        """Ids deleted since :meth:`forget_deleted` last ran (their feature rows still stored)."""
        with contextlib.closing(self._connect()) as conn:
            try:
                return [row[0] for row in conn.execute("SELECT id FROM deleted ORDER BY id")]
            except sqlite3.OperationalError:  # no table: nothing deleted since it was introduced
                return []

    def forget_deleted(self, ids: Sequence[str]) -> None:
        """Clear ``ids`` from the deleted list (their feature rows were dropped)."""
        with self._connect() as conn:
            conn.execute(_DELETED)
            conn.executemany("DELETE FROM deleted WHERE id = ?", [(i,) for i in ids])

    def _drop_deleted_features(self, ids: Sequence[str]) -> None:
        """Tombstone, in every feature cache, the rows of those ``ids`` that were deleted since
        the last compaction, and clear them from the deleted list: the ids are being reused by
        new records, whose vectors those rows are not. Compaction's path (:meth:`delete_features`,
        :meth:`forget_deleted`), taken early for these ids; costs one query when none is reused."""
        wanted = list(dict.fromkeys(ids))
        reused: list[str] = []
        with contextlib.closing(self._connect()) as conn:
            try:
                for start in range(0, len(wanted), _IDS_PER_QUERY):
                    chunk = wanted[start:start + _IDS_PER_QUERY]
                    marks = ",".join("?" * len(chunk))
                    reused += [row[0] for row in conn.execute(f"SELECT id FROM deleted WHERE id IN ({marks})", chunk)]
            except sqlite3.OperationalError:  # no table: nothing deleted since it was introduced
                return
        if reused:
            self.delete_features(reused)
            self.forget_deleted(reused)  # last: a crash before it only means tombstoning them again

    def __len__(self) -> int:
        with self._connect() as conn:
            return conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]

    @staticmethod
    def _bump(conn: sqlite3.Connection) -> None:
        """Count one change to the records (inside the caller's transaction)."""
        conn.execute(_CHANGES)
        if conn.execute("UPDATE changes SET n = n + 1").rowcount == 0:
            conn.execute("INSERT INTO changes(n) VALUES (1)")

    def records_generation(self) -> int:
        """How many committed writes changed the records (0 for a library never written since
        the counter was introduced): equal numbers mean identical records."""
        with contextlib.closing(self._connect()) as conn:
            try:
                row = conn.execute("SELECT n FROM changes").fetchone()
            except sqlite3.OperationalError:  # no table yet
                return 0
        return int(row[0]) if row else 0

    def _rows(self, split: str | None, columns: str) -> list[tuple]:
        self._check_split(split)
        with self._connect() as conn:
            if split is None:
                return conn.execute(f"SELECT {columns} FROM records ORDER BY position").fetchall()
            return conn.execute(
                f"SELECT {columns} FROM records WHERE split = ? ORDER BY position", (split,)
            ).fetchall()

    def records(self, split: str | None = None) -> list[Record]:
        """Records in library order, optionally of one split. A stored row that does not make a
        valid record is left out with an :class:`UnreadableRecordWarning`
        (:meth:`unreadable_records` lists them)."""
        return _decode_rows(self._rows(split, "id, body, split"), self.root)

    def unreadable_records(self) -> dict[str, str]:
        """``{id: reason}`` of the stored rows that do not decode into a valid record; they are
        left out of :meth:`records` and :meth:`get_many` (delete and re-add them to repair)."""
        unreadable: dict[str, str] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UnreadableRecordWarning)
            _decode_rows(self._rows(None, "id, body, split"), self.root, unreadable)
        return unreadable

    def ids(self, split: str | None = None) -> list[str]:
        return [row[0] for row in self._rows(split, "id")]

    def get(self, record_id: str) -> Record:
        return self.get_many([record_id])[0]

    def get_many(self, record_ids: Sequence[str], skip_missing: bool = False) -> list[Record]:
        """Records of ``record_ids`` in that order, read by id (not by scanning the table).

        A missing id raises InputError, or is left out with ``skip_missing`` (e.g. a record
        deleted after a search snapshot was taken). A stored row that does not decode is
        treated the same way, with the reason in the error (or an
        :class:`UnreadableRecordWarning` when skipped).
        """
        wanted = list(dict.fromkeys(record_ids))
        unreadable: dict[str, str] = {}
        rows = []
        with self._connect() as conn:
            # Chunks stay under SQLite's limit on bound variables.
            for start in range(0, len(wanted), _IDS_PER_QUERY):
                chunk = wanted[start:start + _IDS_PER_QUERY]
                marks = ",".join("?" * len(chunk))
                rows += conn.execute(f"SELECT id, body, split FROM records WHERE id IN ({marks})", chunk).fetchall()
        if skip_missing:
            by_id = {r.id: r for r in _decode_rows(rows, self.root, unreadable)}
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UnreadableRecordWarning)  # raised below instead
                by_id = {r.id: r for r in _decode_rows(rows, self.root, unreadable)}
        bad = [i for i in wanted if i in unreadable]
        if bad and not skip_missing:
            raise UnreadableRecordError(f"record {bad[0]!r} in {self.root} is stored but unreadable: "
                                        f"{unreadable[bad[0]]}", fix="delete it and add it again with valid values")
        missing = [i for i in wanted if i not in by_id]
        if missing and not skip_missing:
            if len(record_ids) == 1:
                raise InputError(f"no record with id {record_ids[0]!r} in {self.root}")
            raise InputError(f"no records with ids {missing[:3]} in {self.root}")
        return [by_id[i] for i in record_ids if i in by_id]

    def image_path(self, record: Record) -> Path | None:
        """Absolute path of the record's first image (None for text-only records)."""
        return self.root / record.image if record.image else None

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    # ------------------------------------------------------------------ splits
    @staticmethod
    def _check_split(split: str | None) -> None:
        if split is not None and split not in SPLITS:
            raise InputError(f"unknown split {split!r}", fix=f"use one of {', '.join(SPLITS)}")

    def set_splits(self, assignment: dict[str, str]) -> None:
        """Store ``{record id: split}`` in one transaction."""
        for split in set(assignment.values()):
            self._check_split(split)
        with self._connect() as conn:
            conn.executemany("UPDATE records SET split = ? WHERE id = ?", [(s, i) for i, s in assignment.items()])
            self._bump(conn)

    def assign_splits(
        self,
        fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
        *,
        seed: int = 0,
        validation_from_train: float | None = None,
    ) -> dict[str, int]:
        """Split the library, keeping groups whole.

        With ``validation_from_train`` set, records that already carry a train/test split (a
        benchmark's standard split) keep it and validation is carved from train; otherwise all
        records are split by ``fractions``. Returns the count per split.
        """
        records = self.records()
        keys = [r.group_key for r in records]
        if validation_from_train is not None:
            current = [r.extra.get("split") or "train" for r in records]
            names = carve_validation(keys, current, validation_from_train, seed=seed)
        else:
            names = group_split(keys, fractions, seed=seed)
        self.set_splits({r.id: s for r, s in zip(records, names)})
        self.update_meta(splits={"fractions": list(fractions), "seed": seed,
                                 "validation_from_train": validation_from_train})
        return self.split_counts()

    def split_counts(self) -> dict[str, int]:
        with self._connect() as conn:
            rows = conn.execute("SELECT COALESCE(split, 'none'), COUNT(*) FROM records GROUP BY split").fetchall()
        return {name: count for name, count in rows}

    # ------------------------------------------------------------------ labels
    def label_vocabulary(self) -> list[str]:
        """Sorted label names over the whole library."""
        return sorted({label for r in self.records() for label in r.labels})

    def label_matrix(self, records: Sequence[Record], vocabulary: Sequence[str] | None = None) -> np.ndarray:
        """(n, C) float32 multi-hot label matrix of ``records`` over ``vocabulary``."""
        vocabulary = list(vocabulary) if vocabulary is not None else self.label_vocabulary()
        column = {name: j for j, name in enumerate(vocabulary)}
        matrix = np.zeros((len(records), len(vocabulary)), dtype=np.float32)
        for i, record in enumerate(records):
            for label in record.labels:
                if label in column:
                    matrix[i, column[label]] = 1.0
        return matrix

    # ------------------------------------------------------------------ feature cache
    def features_dir(self, key: str) -> Path:
        return self.root / "features" / key

    def feature_table(self, key: str) -> ChunkedTable:
        """The table of cached vectors under ``key`` (column ``vectors``, (n, d) float32)."""
        if not is_table(self.features_dir(key)):
            raise LibraryError(f"no cached features {key!r} in {self.root}", fix=f"run `scicmr encode {self.root}`")
        return ChunkedTable.open(self.features_dir(key))

    def has_features(self, key: str, ids: Sequence[str] | None = None) -> bool:
        """Whether features under ``key`` are cached (for every one of ``ids`` when given:
        records added or restored since the cache was written make it incomplete)."""
        try:
            table = self.feature_table(key)
            table.blocks("vectors")  # maps each chunk: a truncated file fails here
            stored = table.positions()  # reads each chunk's ids: a torn list fails here
            return ids is None or set(ids) <= stored.keys()
        except LibraryError:
            return False  # a damaged cache is an absent one: encode writes it again

    def save_features(self, key: str, ids: Sequence[str], vectors: np.ndarray, config: dict[str, Any]) -> Path:
        """Cache ``vectors`` ((n, d) float32, row i for ``ids[i]``) under ``key``, replacing
        what was there (the new manifest is the commit point: readers see old or new)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(ids):
            raise ValueError(f"features must be (n, d) with n = len(ids); got {vectors.shape} for {len(ids)} ids")
        folder = self.features_dir(key)
        staged = ChunkedTable.create(folder.with_name(f".{key}.new"), {"vectors": ("float32", vectors.shape[1:])},
                                     meta={"config": config})
        staged.append(list(ids), {"vectors": vectors})
        crash_point("features.ids_written")
        # The whole folder is swapped: a cache of another width replaces the old one cleanly.
        with atomic_directory(folder) as tmp:
            tmp.rmdir()
            staged.folder.rename(tmp)
        return folder

    def append_features(self, key: str, ids: Sequence[str], vectors: np.ndarray) -> None:
        """Append (m, d) feature rows of new records ``ids`` to the cache ``key``: only the new
        rows are written (one chunk), the old ones are untouched. The rows of an id deleted
        since the last compaction belong to the deleted record: they are tombstoned in every
        cache first (the service appends a new record's rows before it adds the record)."""
        table = self.feature_table(key)
        self._drop_deleted_features(ids)
        table.append(list(ids), {"vectors": np.asarray(vectors, dtype=np.float32)})

    def load_features(self, key: str, ids: Sequence[str] | None = None) -> np.ndarray:
        """Cached vectors under ``key``, rows in the order of ``ids`` (all live rows when None;
        then a read-only memory map when the cache is one chunk)."""
        table = self.feature_table(key)
        if ids is None:
            table.all_ids()  # a torn id list makes the rows meaningless: fail now, not later
            return table.column("vectors")
        try:
            return table.take("vectors", ids)
        except LibraryError as exc:
            raise LibraryError(f"cached features {key!r} lack some records: {exc.problem}",
                               fix=f"re-encode: `scicmr encode {self.root} --force`") from None

    def delete_features(self, ids: Sequence[str]) -> None:
        """Tombstone the rows of ``ids`` in every feature cache (dropped by :meth:`compact`)."""
        for key in self.feature_keys():
            self.feature_table(key).delete(ids)

    def feature_config(self, key: str) -> dict[str, Any]:
        return self.feature_table(key).meta.get("config", {})

    def feature_keys(self) -> list[str]:
        base = self.root / "features"
        return sorted(p.name for p in base.iterdir() if not p.name.startswith(".") and is_table(p)) if base.exists() else []

    # ------------------------------------------------------------------ models and indexes
    def model_dir(self, name: str) -> Path:
        return self.root / "models" / name

    def models(self) -> list[str]:
        base = self.root / "models"
        return sorted(p.name for p in base.iterdir() if (p / "config.json").exists()) if base.exists() else []

    def index_dir(self, name: str) -> Path:
        return self.root / "indexes" / name

    def reports_dir(self) -> Path:
        return self.root / "reports"


def _read_stored_json(path: Path, kind: type, rebuild: str):
    """A JSON file the library wrote, as ``kind`` (dict or list); LibraryError naming ``rebuild``
    when it is missing, unreadable, not JSON or of another shape (a damaged library is
    reported, never a traceback)."""
    try:
        value = read_json(path)
    except FileNotFoundError:
        raise LibraryError(f"{path} is missing", fix=f"rebuild it: {rebuild}") from None
    except (OSError, ValueError) as exc:
        raise LibraryError(f"{path} is damaged ({exc})", fix=f"rebuild it: {rebuild}") from None
    if not isinstance(value, kind):
        raise LibraryError(f"{path} is damaged (a JSON {type(value).__name__}, not a {kind.__name__})",
                           fix=f"rebuild it: {rebuild}")
    return value
