"""Ingest a source (manifest, Wikipedia-layout folder, .mat benchmark, PDF papers) into a library."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scicmr._io import atomic_write_json
from scicmr.corpus.library import Library
from scicmr.errors import InputError


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

    def to_dict(self) -> dict[str, Any]:
        return {
            "library": str(self.library),
            "kind": self.kind,
            "added": self.added,
            "skipped": self.skipped,
            "splits": self.splits,
            "features": self.features,
            "notes": self.notes,
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
) -> IngestReport:
    """Read ``source`` and build a library at ``out``.

    Splits: when the source defines train/test (a benchmark's standard split), it is kept and
    ``validation_fraction`` of train (whole groups) becomes validation; otherwise records are
    split by ``split`` fractions, groups kept whole. Unusable items are skipped and listed in
    the report (``reports/ingest.json``), never fatal. ``reader_options`` go to the reader
    (PDF sources: ``workers``, ``dpi``, ``max_pages``, ``max_mb``).
    """
    from scicmr.corpus.readers import read_source, scan_source

    source = Path(source)
    if not source.exists():
        raise InputError(f"source {source} does not exist", fix="pass a manifest file, a dataset folder or a .mat folder")
    scan = scan_source(source)  # the kind, and a PDF folder's files: passed on, not looked up again
    kind = scan.kind
    lib = Library.create(out, name=name, overwrite=overwrite)
    result = read_source(scan, lib.root, **(reader_options or {}))
    if not result.records:
        listed = "".join(f"\n  - {s.item}: {s.reason}" for s in result.skipped[:10])
        raise InputError(
            f"no usable records in {source} ({len(result.skipped)} skipped){listed}",
            fix="see the reasons listed above; fix the source and ingest again",
        )
    lib.add_records(result.records)
    feature_names = {}
    for block in result.features:
        key = f"{block.modality}-{block.name}"
        lib.save_features(key, block.ids, block.vectors, {"name": "precomputed", "feature": block.name, **block.config})
        feature_names.setdefault(block.modality, []).append(key)
    has_fixed_split = any(r.extra.get("split") for r in result.records)
    if has_fixed_split:
        splits = lib.assign_splits(validation_from_train=validation_fraction, seed=seed)
    else:
        splits = lib.assign_splits(_parse_fractions(split), seed=seed)
    defaults = result.notes.get("default_features", {})
    encoders = {m: {"name": "precomputed", "key": f"{m}-{n}"} for m, n in defaults.items()}
    lib.update_meta(source={"path": str(source.resolve()), "kind": kind}, encoders=encoders,
                    notes={k: v for k, v in result.notes.items() if k != "default_features"})
    report = IngestReport(
        library=lib.root,
        kind=kind,
        added=len(result.records),
        skipped=[s.to_dict() for s in result.skipped],
        splits=splits,
        features=sorted(k for keys in feature_names.values() for k in keys),
        notes=result.notes,
    )
    atomic_write_json(lib.reports_dir() / "ingest.json", report.to_dict())
    return report
