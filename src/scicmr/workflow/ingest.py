"""Ingest a source (manifest, Parquet table, WebDataset shards, saved HF dataset, Wikipedia-layout folder,
.mat benchmark, PDF papers) into a library."""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scicmr._faults import crash_point
from scicmr._io import atomic_write_json
from scicmr.corpus import lifecycle
from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.corpus.splits import (
    carve_validation,
    duplicates_across_splits,
    group_split,
    merge_groups,
    repair_given_splits,
)
from scicmr.errors import InputError, LibraryError
from scicmr.parallel import Executor
from scicmr.workflow.library_data import small_split_warnings

_log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """What an ingest did: counts, per-split sizes, and every skipped item with its reason.

    The workflow's public result, JSON-shaped as ``reports/ingest.json`` and ``--json`` write it:
    ``skipped`` holds :meth:`~scicmr.corpus.readers.base.Skipped.to_dict` of each skipped item
    (``{"item", "reason"}``), ``notes`` the reader's notes.
    """

    library: Path
    kind: str
    added: int
    skipped: list[dict[str, str]] = field(default_factory=list)
    splits: dict[str, int] = field(default_factory=dict)
    features: list[str] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)
    split_repairs: list[dict[str, Any]] = field(default_factory=list)
    duplicates: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "library": str(self.library),
            "kind": self.kind,
            "added": self.added,
            "skipped": self.skipped,
            "splits": self.splits,
            "features": self.features,
            "notes": self.notes,
            "split_repairs": self.split_repairs,
            "duplicates": self.duplicates,
        }


def _parse_fractions(split: tuple[float, float, float] | str) -> tuple[float, float, float]:
    if isinstance(split, str):
        try:
            parts = tuple(float(p) for p in split.split(","))
        except ValueError:
            raise InputError(f"cannot read split fractions {split!r}", fix="write them like 0.8,0.1,0.1") from None
        if len(parts) != 3:
            raise InputError(f"split needs three fractions, got {split!r}", fix="write them like 0.8,0.1,0.1")
        return parts  # type: ignore[return-value]
    return tuple(split)  # type: ignore[return-value]


def ingest(
    source: str | Path,
    out: str | Path,
    *,
    overwrite: bool = False,
    split: tuple[float, float, float] | str = (0.8, 0.1, 0.1),
    validation_fraction: float = 0.1,
    seed: int = 0,
    name: str | None = None,
    reader_options: dict[str, Any] | None = None,
    executor: Executor | None = None,
) -> IngestReport:
    """Read ``source`` and build a library at ``out``, all or nothing.

    Splits: when the source defines train/test (a benchmark's standard split, a manifest's
    ``split`` column), it is kept — a group it cuts is moved whole and reported — and
    ``validation_fraction`` of train (whole groups) becomes validation; otherwise records are
    split by ``split`` fractions, groups kept whole. Exact duplicates (same image bytes, same
    normalised text) count as one group when ingest makes the split and are reported when the
    split is given. Unusable items are skipped and listed in the report (``reports/ingest.json``),
    never fatal. ``reader_options`` go to the reader (PDF sources: ``workers``, ``dpi``,
    ``max_pages``, ``max_mb``, ``figure_ocr`` "auto"/"off"). ``executor`` runs a PDF source's
    per-file parsing elsewhere (:class:`scicmr.parallel.RayExecutor`: Ray tasks, same records);
    None reads with ``workers`` local processes.

    Atomic: the library is built in a staging folder beside ``out`` and renamed into place only
    when complete (:mod:`scicmr.corpus.lifecycle`). On any failure — an error, an exception,
    Ctrl-C, ``kill -9`` — ``out`` is as it was: absent, or the old library with ``overwrite``.
    A staging folder left by a killed run is removed by the next ingest or open.
    """
    from scicmr.corpus.readers import scan_source, source_path
    from scicmr.workflow.outputs import check_output_dir

    if not source_path(source).exists():
        raise InputError(f"source {source} does not exist", fix="pass a manifest file, a dataset folder or a .mat folder")
    root = check_output_dir(out, "library folder")  # a file, a path under a file, read-only: error + fix
    if root.is_symlink() or root.name in ("", ".", ".."):
        root = root.resolve()  # swap the real folder, beside it
    lifecycle.recover_target(root)
    _check_target(root, overwrite)
    scan = scan_source(source)  # the kind, and a PDF folder's files: passed on, not looked up again
    staging, lock = lifecycle.new_staging(root)
    try:
        report = _build(staging, root, scan, name=name or root.name, split=split,
                        validation_fraction=validation_fraction, seed=seed, reader_options=reader_options,
                        executor=executor)
        lifecycle.install(staging, root, lock)
    except BaseException:
        lifecycle.discard_staging(staging, lock)
        raise
    return report


def _check_target(root: Path, overwrite: bool) -> None:
    """Refuse a target that holds a library (unless ``overwrite``) or anything that is not one."""
    if root.exists() and not root.is_dir():
        raise LibraryError(f"{root} exists and is not a folder", fix="choose another --out path")
    if (root / "library.json").exists():
        if not overwrite:
            raise LibraryError(
                f"{root} already holds a library",
                fix="choose another --out folder, or pass --overwrite to replace it (its features, models and "
                "indexes are replaced too; the old library stays until the new one is complete)",
            )
        return
    if root.is_dir() and any(p.name != lifecycle.LOCK for p in root.iterdir()):
        raise LibraryError(
            f"{root} is a folder that holds other files and no library",
            fix="choose a new or empty folder for --out (ingest replaces the whole folder)",
        )


def _build(staging: Path, root: Path, scan: Any, *, name: str, split: tuple[float, float, float] | str,
           validation_fraction: float, seed: int, reader_options: dict[str, Any] | None,
           executor: Executor | None = None) -> IngestReport:
    """Read the source into a complete library in ``staging``; the report names ``root``."""
    from scicmr.corpus.readers import read_source

    lib = Library.create(staging, name=name)
    result = read_source(scan, staging, executor=executor, **(reader_options or {}))
    if not result.records:
        listed = "".join(f"\n  - {s.item}: {s.reason}" for s in result.skipped[:10])
        raise InputError(
            f"no usable records in {scan.path} ({len(result.skipped)} skipped){listed}",
            fix="see the reasons listed above; fix the source and ingest again",
        )
    fractions = None if _has_fixed_split(result.records) else _parse_fractions(split)
    repairs, duplicates = _assign_splits(staging, result.records, fractions, validation_fraction, seed)
    lib.add_records(result.records)  # records and their splits: one transaction
    crash_point("ingest.records_committed")
    feature_names: dict[str, list[str]] = {}
    for block in result.features:
        key = f"{block.modality}-{block.name}"
        lib.save_features(key, block.ids, block.vectors, {"name": "precomputed", "feature": block.name, **block.config})
        feature_names.setdefault(block.modality, []).append(key)
    _note_findings(result, repairs, duplicates)
    defaults = result.notes.get("default_features", {})
    encoders = {m: {"name": "precomputed", "key": f"{m}-{n}"} for m, n in defaults.items()}
    lib.update_meta(source={"path": str(Path(scan.path).resolve()), "kind": scan.kind}, encoders=encoders,
                    notes={k: v for k, v in result.notes.items() if k != "default_features"},
                    splits={"fractions": list(fractions or (0.8, 0.1, 0.1)), "seed": seed,
                            "validation_from_train": None if fractions else validation_fraction})
    report = IngestReport(
        library=root, kind=scan.kind, added=len(result.records), skipped=[s.to_dict() for s in result.skipped],
        splits=lib.split_counts(), features=sorted(k for keys in feature_names.values() for k in keys),
        notes=result.notes, split_repairs=repairs, duplicates=duplicates,
    )
    atomic_write_json(lib.reports_dir() / "ingest.json", report.to_dict())
    crash_point("ingest.staging_written")
    for message in small_split_warnings(report.splits):
        _log.warning(message)
    return report


def _has_fixed_split(records: list[Record]) -> bool:
    return any(r.extra.get("split") for r in records)


def _assign_splits(staging: Path, records: list[Record], fractions: tuple[float, float, float] | None,
                   validation_fraction: float, seed: int) -> tuple[list[dict], dict[str, Any]]:
    """Set ``extra["split"]`` of every record (groups whole, duplicates together); returns the
    repairs of a given split and the duplicates it puts in different splits."""
    ids = [r.id for r in records]
    images = [_image_digest(staging, r) for r in records]
    texts = [_text_key(r) for r in records]
    keys = merge_groups([r.group_key for r in records], images, texts)
    repairs: list[dict] = []
    if fractions is not None:
        names = group_split(keys, fractions, seed=seed)
    else:
        given, repairs = repair_given_splits([r.group_key for r in records],
                                             [r.extra.get("split") for r in records], ids)
        names = carve_validation(keys, [s or "train" for s in given], validation_fraction, seed=seed)
    for record, name in zip(records, names):
        record.extra["split"] = name
    duplicates = {}
    for what, values in (("images", images), ("texts", texts)):
        sets = duplicates_across_splits(values, names, ids)
        duplicates[what] = {"count": len(sets), "sets": [{"ids": d["ids"], "splits": d["splits"]} for d in sets]}
    return repairs, duplicates


def _image_digest(root: Path, record: Record) -> str | None:
    """SHA-256 of the record's image file bytes (None without an image)."""
    if not record.image or not (root / record.image).is_file():
        return None
    return hashlib.sha256((root / record.image).read_bytes()).hexdigest()


def _text_key(record: Record) -> str | None:
    """The record's text normalised for exact-duplicate detection (Unicode NFKC, case-folded,
    whitespace collapsed); None when it has no text."""
    text = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", record.full_text() or "")).strip().casefold()
    return text or None


def _note_findings(result: Any, repairs: list[dict], duplicates: dict[str, Any]) -> None:
    """Add split repairs and cross-split duplicates to the reader's quirks (printed by the CLI):
    one line per repaired group (the first 20), one summary line per duplicate kind."""
    for repair in repairs[:20]:
        result.quirk(repair["group"], "split cut a group",
                     f"moved {len(repair['moved'])} record(s) to {repair['moved_to']} "
                     f"(given {repair['given']}): {', '.join(repair['moved'][:5])}")
    if len(repairs) > 20:
        result.quirk(f"{len(repairs) - 20} more groups", "split cut a group", "all listed in reports/ingest.json")
    for what, found in duplicates.items():
        if found["count"]:
            first = "; ".join(" = ".join(d["ids"][:3]) for d in found["sets"][:3])
            result.quirk(first, f"duplicate {what} across splits",
                         f"{found['count']} set(s) of identical {what} in different splits (the given split is kept; "
                         "all listed under duplicates in reports/ingest.json)")


def source_kinds() -> dict[str, str]:
    """What :func:`ingest` reads: source kind → one line describing it (``scicmr ingest --help``)."""
    from scicmr.corpus.readers import SOURCE_KINDS

    return dict(SOURCE_KINDS)
