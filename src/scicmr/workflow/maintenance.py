"""Keeping a library's files lean and current: ``scicmr compact`` and ``scicmr upgrade``.

Adds append chunks and deletes leave tombstones (:mod:`scicmr.corpus.table`), so a library
that takes many writes accumulates small chunks and dead rows. :func:`compact_library` rewrites
every feature cache (dropping the rows of records deleted since) and serving table as one
chunk of live rows (each table's manifest swap is
its commit point: a crash leaves it old or new) and rebuilds the built indexes whose row
positions changed. :func:`upgrade_library` (re-exported from :mod:`scicmr.corpus.upgrade`)
migrates an older on-disk format in place.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scicmr.corpus.library import Library
from scicmr.corpus.table import ChunkedTable, is_table
from scicmr.corpus.upgrade import UpgradeReport, upgrade_library
from scicmr.workflow.library_data import as_library

__all__ = ["UpgradeReport", "compact_library", "upgrade_library"]


def compact_library(lib: Library | str | Path) -> dict[str, Any]:
    """Compact every feature cache and model serving table; rebuild the built float indexes
    of the models whose tables were compacted. Holds the library's writer lock.

    Returns:
        ``{"tables": {name: {"rows": live rows, "dropped": dead rows, "chunks": before}},
        "reindexed": [models]}``; tables with nothing to do are left out.
    """
    from scicmr.workflow.index import build_index
    from scicmr.workflow.serving import serving_dir

    lib = as_library(lib)
    report: dict[str, Any] = {"tables": {}, "reindexed": []}
    with lib.writing():
        # Feature rows of deleted records are tombstoned here, not at each delete (a delete
        # then costs its own rows, not a pass over every cache).
        deleted = lib.deleted_since_compaction()
        lib.delete_features(deleted)
        folders = {f"features/{key}": lib.features_dir(key) for key in lib.feature_keys()}
        folders |= {f"models/{m}/serving": serving_dir(lib, m) for m in lib.models() if is_table(serving_dir(lib, m))}
        for name, folder in folders.items():
            table = ChunkedTable.open(folder)
            before = {"rows": len(table), "dropped": table.n_rows - len(table), "chunks": len(table.chunk_names())}
            if table.compact():
                report["tables"][name] = before
                model = name.split("/")[1] if name.startswith("models/") else None
                kind = lib.meta.get("indexes", {}).get(model) if model else None
                if kind and kind != "milvus":  # positions were renumbered: the index must follow
                    build_index(lib, model, kind)
                    report["reindexed"].append(model)
        lib.forget_deleted(deleted)  # last: a crash before it only means tombstoning them again
    return report
