"""Quarantine: move flagged images aside and mark their records; restore undoes it.

Nothing is deleted. ``LIB/quarantine/`` mirrors the library's relative paths
(``images/x.png`` -> ``quarantine/images/x.png``) and ``LIB/quarantine/journal.json`` lists
every quarantined record: its reasons, the files moved, duplicate-of. A quarantined record
keeps its image path and gains ``extra["quarantine"] = {"reasons": [...], "duplicate_of": ...}``;
the workflows' record selection (``paired_records``) skips such records, so encoding,
training, indexing and search no longer see them.

Crash safety: the journal (the plan) and an intent file are written atomically before any file
moves, each move is one ``os.replace`` (atomic on one file system), and the record marks are one
SQLite transaction. The journal's format and the moves live in :mod:`scicmr.corpus.journal`, so
``Library.open`` completes an operation a ``kill -9`` interrupted before anything reads the
records (the library never shows records pointing at moved images); re-running also completes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from scicmr.cleaning.report import CleaningReport
from scicmr.corpus import journal as _journal
from scicmr.corpus.library import Library

FOLDER = _journal.FOLDER
JOURNAL = _journal.JOURNAL


@dataclass
class QuarantineResult:
    records: list[str] = field(default_factory=list)  # ids marked (or restored)
    files: list[str] = field(default_factory=list)  # relative paths moved


def journal_path(lib: Library) -> Path:
    return _journal.journal_path(lib)


def read_journal(lib: Library) -> dict[str, dict]:
    return _journal.read_journal(lib)


def quarantine(lib: Library, report: CleaningReport) -> QuarantineResult:
    """Quarantine every flagged record of ``report`` that is in ``lib``."""
    journal = read_journal(lib)
    records = {r.id: r for r in lib.get_many([f.id for f in report.flags])} if report.flags else {}
    for flag in report.flags:
        record = records[flag.id]
        journal[flag.id] = {"reasons": sorted(flag.reasons), "duplicate_of": flag.duplicate_of,
                            "files": [record.image] if record.image else []}
    ids = [f.id for f in report.flags]
    _journal.begin(lib, "quarantine", ids, journal)  # the plan first: a crash after it is completed
    marked, moved = _journal.apply_quarantine(lib, ids)
    return QuarantineResult(records=marked, files=moved)


def restore(lib: Library, ids: list[str] | None = None) -> QuarantineResult:
    """Move quarantined images back and unmark their records (all, or only ``ids``)."""
    chosen = [i for i in read_journal(lib) if ids is None or i in ids]
    _journal.begin(lib, "restore", chosen)
    restored, moved = _journal.apply_restore(lib, chosen)
    return QuarantineResult(records=restored, files=moved)
