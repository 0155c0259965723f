"""Clean a library's images: scan, report, quarantine (or restore)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scicmr.cleaning import CleaningReport, cleaning_config, scan_images
from scicmr.cleaning.quarantine import QuarantineResult, quarantine, restore
from scicmr.corpus.library import Library
from scicmr.errors import InputError, LibraryError
from scicmr.workflow.library_data import as_library

REPORT_NAME = "cleaning.json"


def _cached_features(lib: Library):
    """(lookup ids -> vectors or None, the encoder that made them) from the library's image
    features, or (None, None) when it has none from a re-usable encoder."""
    from scicmr.workflow.encode import load_query_encoder

    entry = lib.meta.get("encoders", {}).get("image") or {}
    key = entry.get("key")
    if not key or entry.get("name") == "precomputed" or not lib.has_features(key):
        return None, None
    encoder = load_query_encoder(lib, "image")

    def lookup(ids: list[str]) -> np.ndarray | None:
        try:
            return lib.load_features(key, ids)
        except LibraryError:
            return None  # some images are not in the cache: encode them all afresh

    return lookup, encoder


def clean_library(
    lib: Library | str | Path,
    *,
    checks: Any = None,
    config: Any = None,
    dry_run: bool = False,
    encoder: Any = None,
) -> tuple[CleaningReport, QuarantineResult | None]:
    """Scan every not-yet-quarantined record's image, write ``reports/cleaning.json`` and,
    unless ``dry_run``, quarantine the flagged records.

    The anomaly checks use the library's cached image features (and their encoder) when they
    cover every image, else ``encoder`` (an Encoder, or a name or spec for
    :func:`scicmr.encoders.create_encoder`) or the config's encoder.
    """
    lib = as_library(lib)
    if isinstance(encoder, (str, dict)):
        from scicmr.encoders import create_encoder

        encoder = create_encoder(encoder)
    records = [r for r in lib.records() if r.image and not r.extra.get("quarantine")]
    if not records:
        raise InputError(f"{lib.root} has no images to clean", fix="ingest a source with images first")
    cached, cached_encoder = (None, None) if encoder is not None else _cached_features(lib)
    report = scan_images([(r.id, str(lib.image_path(r))) for r in records], config=cleaning_config(config),
                         checks=checks, encoder=encoder or cached_encoder, cached_features=cached)
    if {"outlier", "domain"} & set(report.checks):
        source = f"cached library features ({lib.meta['encoders']['image']['key']})" if cached else "encoded afresh"
        report.notes.append(f"anomaly features: {source}")
    report.notes.append("dry run: nothing moved" if dry_run else "flagged images moved to quarantine/")
    report.save(lib.reports_dir() / REPORT_NAME)
    return report, (None if dry_run else quarantine(lib, report))


def restore_library(lib: Library | str | Path, ids: list[str] | None = None) -> QuarantineResult:
    """Undo quarantine (all records, or only ``ids``)."""
    return restore(as_library(lib), ids)
