"""Migrate a library written by an older scicmr to the current on-disk format, in place.

Format 1 (scicmr 0.1) kept each feature cache as one ``vectors.npy`` beside ``ids.json`` and
``config.json``; format 2 keeps it as an appendable :class:`~scicmr.corpus.table.ChunkedTable`.
:func:`upgrade_library` converts each cache (one atomic folder swap each: a crash leaves every
cache either old or new, and the old layout is recognised and converted on the next run), then
writes the new ``format_version`` into ``library.json`` last — the commit point. Running it
again on an upgraded library does nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from scicmr._faults import crash_point
from scicmr._io import atomic_write_json, read_json
from scicmr.corpus.library import FORMAT_VERSION, Library
from scicmr.corpus.table import is_table
from scicmr.errors import LibraryError


@dataclass
class UpgradeReport:
    """What :func:`upgrade_library` did: the format before and after, caches converted."""

    root: Path
    from_version: int
    to_version: int
    converted: list[str] = field(default_factory=list)
    dropped: dict[str, str] = field(default_factory=dict)  # cache key -> why it was unusable

    def to_dict(self) -> dict:
        return {"library": str(self.root), "from_version": self.from_version, "to_version": self.to_version,
                "converted": self.converted, "dropped": self.dropped}


def upgrade_library(root: str | Path) -> UpgradeReport:
    """Bring the library at ``root`` to :data:`FORMAT_VERSION` (module docstring)."""
    root = Path(root)
    meta_path = root / "library.json"
    if not meta_path.is_file():
        raise LibraryError(f"{root} is not a scicmr library (no library.json)",
                           fix="pass the folder `scicmr ingest` made")
    try:
        meta = read_json(meta_path)
    except (OSError, ValueError) as exc:
        raise LibraryError(f"{meta_path} is damaged ({exc})", fix="restore it from a backup") from None
    version = meta.get("format_version")
    if version == FORMAT_VERSION:
        return UpgradeReport(root, version, version)
    if version != 1:
        raise LibraryError(f"{root} has library format {version!r}; this scicmr upgrades format 1 to {FORMAT_VERSION}",
                           fix="open it with the scicmr release that wrote it")
    report = UpgradeReport(root, 1, FORMAT_VERSION)
    lib = Library(root)  # not Library.open: it refuses the old format
    features = root / "features"
    for folder in sorted(features.iterdir()) if features.is_dir() else []:
        if folder.name.startswith(".") or not folder.is_dir() or is_table(folder):
            continue
        problem = _convert_cache(lib, folder)
        if problem:
            report.dropped[folder.name] = problem
        else:
            report.converted.append(folder.name)
        crash_point("upgrade.cache_converted")
    meta["format_version"] = FORMAT_VERSION
    atomic_write_json(meta_path, meta)
    return report


def _convert_cache(lib: Library, folder: Path) -> str | None:
    """Rewrite one format-1 cache as a table; the reason when it is unusable (then it is
    removed: ``scicmr encode`` writes it again)."""
    import shutil

    try:
        vectors = np.load(folder / "vectors.npy", allow_pickle=False)
        ids = read_json(folder / "ids.json")
        config = read_json(folder / "config.json") if (folder / "config.json").is_file() else {}
        if vectors.ndim != 2 or not isinstance(ids, list) or len(ids) < len(vectors):
            raise ValueError(f"{vectors.shape} vectors for {len(ids) if isinstance(ids, list) else '?'} ids")
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        shutil.rmtree(folder, ignore_errors=True)
        return f"{type(exc).__name__}: {exc}"
    # ids.json was written before vectors.npy: ids past the last row never got vectors.
    lib.save_features(folder.name, [str(i) for i in ids[: len(vectors)]], vectors, config)
    return None
