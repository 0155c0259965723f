"""The quarantine journal on disk, and how an interrupted quarantine or restore is completed.

``LIB/quarantine/journal.json`` maps each quarantined record id to ``{"reasons", "duplicate_of",
"files"}`` (library-relative paths moved to ``LIB/quarantine/<same path>``). A quarantine or a
restore first writes its intent, ``LIB/quarantine/pending.json`` = ``{"op": "quarantine" |
"restore", "ids": [...]}`` (atomically, with the journal's plan), then moves the files (one
``os.replace`` each), commits the record marks (one SQLite transaction) and removes the intent.
Both steps are idempotent, so :func:`recover` — which ``Library.open`` calls when no other
process has the library open — completes the pending operation after a ``kill -9`` anywhere in
it: records never point at images that were moved away.

This lives in ``corpus`` (not ``cleaning``) because the library must repair itself on open
without importing the layers above it; ``scicmr.cleaning.quarantine`` decides *what* to
quarantine and calls :func:`apply_quarantine` / :func:`apply_restore`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from scicmr._faults import crash_point
from scicmr._io import atomic_write_json, read_json

if TYPE_CHECKING:
    from scicmr.corpus.library import Library

FOLDER = "quarantine"
JOURNAL = "journal.json"
PENDING = "pending.json"


def journal_path(lib: Library) -> Path:
    return lib.root / FOLDER / JOURNAL


def pending_path(lib: Library) -> Path:
    return lib.root / FOLDER / PENDING


def read_journal(lib: Library) -> dict[str, dict]:
    path = journal_path(lib)
    return read_json(path) if path.exists() else {}


def begin(lib: Library, op: str, ids: list[str], journal: dict[str, dict] | None = None) -> None:
    """Write the plan (``journal``, when given) and then the intent, before anything moves."""
    if journal is not None:
        atomic_write_json(journal_path(lib), journal)
    atomic_write_json(pending_path(lib), {"op": op, "ids": list(ids)})
    crash_point("clean.journal_written")


def _move(src: Path, dst: Path) -> bool:
    if not src.exists():
        return False  # already moved (a re-run) or never there (a missing file)
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)
    return True


def apply_quarantine(lib: Library, ids: list[str]) -> tuple[list[str], list[str]]:
    """Move the journal's files of ``ids`` aside and mark their records; (ids marked, files moved)."""
    journal = read_journal(lib)
    chosen = [i for i in ids if i in journal]
    moved = [rel for i in chosen for rel in journal[i]["files"] if _move(lib.root / rel, lib.root / FOLDER / rel)]
    crash_point("clean.files_moved")
    records = lib.get_many(chosen, skip_missing=True)
    for record in records:
        entry = journal[record.id]
        record.extra["quarantine"] = {"reasons": entry["reasons"], "duplicate_of": entry.get("duplicate_of")}
    lib.update_records(records)
    pending_path(lib).unlink(missing_ok=True)
    return [r.id for r in records], moved


def apply_restore(lib: Library, ids: list[str]) -> tuple[list[str], list[str]]:
    """Move the files of ``ids`` back, unmark their records and drop them from the journal."""
    journal = read_journal(lib)
    chosen = [i for i in ids if i in journal]
    moved = [rel for i in chosen for rel in journal[i]["files"] if _move(lib.root / FOLDER / rel, lib.root / rel)]
    crash_point("clean.files_moved")
    records = lib.get_many(chosen, skip_missing=True)
    for record in records:
        record.extra.pop("quarantine", None)
    lib.update_records(records)
    atomic_write_json(journal_path(lib), {k: v for k, v in journal.items() if k not in chosen})
    pending_path(lib).unlink(missing_ok=True)
    return [r.id for r in records], moved


def recover(lib: Library) -> str | None:
    """Complete a quarantine or restore that a crash interrupted; what was done, or None."""
    path = pending_path(lib)
    if not path.exists():
        return None
    pending = read_json(path)
    apply = apply_restore if pending.get("op") == "restore" else apply_quarantine
    done, _ = apply(lib, list(pending.get("ids", [])))
    return f"completed an interrupted {pending.get('op')} of {len(done)} record(s)"
