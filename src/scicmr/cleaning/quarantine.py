"""Quarantine: move flagged images aside and mark their records; restore undoes it.

Nothing is deleted. ``LIB/quarantine/`` mirrors the library's relative paths
(``images/x.png`` -> ``quarantine/images/x.png``) and ``LIB/quarantine/journal.json`` lists
every quarantined record: its reasons, the files moved, duplicate-of. A quarantined record
keeps its image path and gains ``extra["quarantine"] = {"reasons": [...], "duplicate_of": ...}``;
the workflows' record selection (``paired_records``) skips such records, so encoding,
training, indexing and search no longer see them.

Crash safety: the journal is written (atomically) before any file moves, each move is one
``os.replace`` (atomic on one file system), and the record marks are one SQLite transaction.
Both directions are idempotent, so re-running after a crash completes the work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from scicmr._faults import crash_point
from scicmr._io import atomic_write_json, read_json
from scicmr.cleaning.report import CleaningReport
from scicmr.corpus.library import Library

FOLDER = "quarantine"
JOURNAL = "journal.json"


@dataclass
class QuarantineResult:
    records: list[str] = field(default_factory=list)  # ids marked (or restored)
    files: list[str] = field(default_factory=list)  # relative paths moved


def journal_path(lib: Library) -> Path:
    return lib.root / FOLDER / JOURNAL


def read_journal(lib: Library) -> dict[str, dict]:
    path = journal_path(lib)
    return read_json(path) if path.exists() else {}


def _move(src: Path, dst: Path) -> bool:
    if not src.exists():
        return False  # already moved (a re-run) or never there (a missing file)
    dst.parent.mkdir(parents=True, exist_ok=True)
    os.replace(src, dst)
    return True


def quarantine(lib: Library, report: CleaningReport) -> QuarantineResult:
    """Quarantine every flagged record of ``report`` that is in ``lib``, and finish the work
    of an earlier run that was interrupted (journaled records not yet marked)."""
    journal = read_journal(lib)
    present = set(lib.ids())
    flagged = {f.id: f for f in report.flags}
    records = {r.id: r for r in lib.get_many(list(flagged))} if flagged else {}
    for flag in report.flags:
        record = records[flag.id]
        journal[flag.id] = {"reasons": sorted(flag.reasons), "duplicate_of": flag.duplicate_of,
                            "files": [record.image] if record.image else []}
    # A run killed after its journal was written left records whose files may have moved but
    # whose marks were never committed; the journal is the plan, so carry it out for them too.
    unfinished = [r for r in lib.get_many([i for i in journal if i in present and i not in flagged])
                  if "quarantine" not in r.extra]
    records.update({r.id: r for r in unfinished})
    atomic_write_json(journal_path(lib), journal)  # the plan first: a crash after it is resumable
    crash_point("clean.journal_written")
    result = QuarantineResult()
    for record_id in records:
        result.files += [rel for rel in journal[record_id]["files"] if _move(lib.root / rel, lib.root / FOLDER / rel)]
    crash_point("clean.files_moved")
    for record_id, record in records.items():
        record.extra["quarantine"] = {"reasons": journal[record_id]["reasons"],
                                      "duplicate_of": journal[record_id]["duplicate_of"]}
        result.records.append(record_id)
    lib.update_records(records.values())
    return result


def restore(lib: Library, ids: list[str] | None = None) -> QuarantineResult:
    """Move quarantined images back and unmark their records (all, or only ``ids``)."""
    journal = read_journal(lib)
    chosen = [i for i in journal if ids is None or i in ids]
    result = QuarantineResult()
    for record_id in chosen:
        for rel in journal[record_id]["files"]:
            if _move(lib.root / FOLDER / rel, lib.root / rel):
                result.files.append(rel)
    present = set(lib.ids())
    records = lib.get_many([i for i in chosen if i in present])
    for record in records:
        record.extra.pop("quarantine", None)
    lib.update_records(records)
    result.records = [r.id for r in records]
    atomic_write_json(journal_path(lib), {k: v for k, v in journal.items() if k not in chosen})
    return result
