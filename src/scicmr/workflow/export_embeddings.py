"""Export a model's shared-space vectors in the clip-retrieval layout.

``OUT/img_emb/img_emb_{i}.npy`` and ``OUT/text_emb/text_emb_{i}.npy`` hold (m, k) float32
unit rows (shard ``i`` of at most ``shard_size`` rows), and ``OUT/metadata/metadata_{i}.parquet``
the same rows' records in the same order (id, caption, title, image path, year, labels,
authors, split, doi, url), as clip-retrieval's ``inference`` writes them: autofaiss,
``clip-retrieval index`` and pandas read the folder as it is. One row per paired record of
the library (quarantined ones left out), in library order; the vectors are the model's serving
table when it is current (what a search ranks), else projected from the stored features.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from scicmr._io import atomic_save_npy
from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.errors import InputError
from scicmr.index.base import normalise_rows
from scicmr.workflow.export import link_fields, parquet_bytes, require_parquet
from scicmr.workflow.library_data import as_library, paired_records, resolve_model_name
from scicmr.workflow.outputs import check_output_dir, write_output_bytes

DEFAULT_SHARD_SIZE = 1_000_000  # clip-retrieval's own default write batch is of this order
# Folder and file stem per modality, as clip-retrieval names them.
LAYOUT = {"image": "img_emb", "text": "text_emb"}
METADATA = "metadata"


def model_rows(lib: Library, model: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """(ids of the paired records, {"image": (n, k), "text": (n, k)} float32 unit vectors) under
    ``model``: its serving table when current, else projected from the stored features (the
    table is not written: an export only reads)."""
    from scicmr.workflow import serving
    from scicmr.workflow.index import model_version, shared_vectors

    table = serving.current_table(lib, model, model_version(lib, model))
    if table is not None:
        return table.ids(), {m: np.asarray(table.column(m), dtype=np.float32) for m in LAYOUT}
    ids = [r.id for r in paired_records(lib, None)]
    if not ids:
        return ids, {m: np.zeros((0, 0), dtype=np.float32) for m in LAYOUT}
    vectors = shared_vectors(lib, model, ids)
    return ids, {m: normalise_rows(np.ascontiguousarray(vectors[m], dtype=np.float32)) for m in LAYOUT}


def metadata_row(lib: Library, record: Record) -> dict[str, Any]:
    """One metadata row: clip-retrieval's ``caption`` and ``image_path`` plus scicmr's fields."""
    image = lib.image_path(record)
    return {"id": record.id, "caption": record.text, "title": record.title,
            "image_path": str(image) if image else None, "year": record.year,
            "labels": list(record.labels), "authors": list(record.authors),
            "split": record.extra.get("split"), **link_fields(record)}


def export_embeddings(lib: Library | str | Path, out: str | Path, model: str | None = None,
                      shard_size: int = DEFAULT_SHARD_SIZE) -> dict[str, Any]:
    """Write ``model``'s (default: the library's) shared-space vectors and metadata under
    ``out`` in the clip-retrieval layout (module docstring). Returns {"model", "rows", "dim",
    "shards", "out"}. ``out`` and pyarrow (the metadata is Parquet) are checked before any
    work; existing shards of the same names are replaced, each file atomically."""
    if isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1:
        raise InputError(f"the shard size must be a positive whole number, got {shard_size!r}",
                         fix="pass --shard-size 1000000 (or any count ≥ 1)")
    require_parquet()  # the metadata shards: before any vector shard is written
    root = check_output_dir(out, "embeddings folder")
    lib = as_library(lib)
    model = resolve_model_name(lib, model)
    ids, vectors = model_rows(lib, model)
    starts = list(range(0, len(ids), shard_size)) or [0]
    for shard, start in enumerate(starts):
        stop = start + shard_size
        for modality, name in LAYOUT.items():
            atomic_save_npy(root / name / f"{name}_{shard}.npy", np.ascontiguousarray(vectors[modality][start:stop]))
        rows = [metadata_row(lib, record) for record in lib.get_many(ids[start:stop])]
        target = root / METADATA / f"{METADATA}_{shard}.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_output_bytes(target, parquet_bytes(rows, ["id", "caption"]), os.fspath(target))
    _remove_stale_shards(root, len(starts))
    return {"model": model, "rows": len(ids), "dim": int(vectors["image"].shape[1]),
            "shards": len(starts), "out": str(root)}


def _remove_stale_shards(root: Path, shards: int) -> None:
    """Drop shards numbered ``shards`` and above left by an earlier, larger export into the
    same folder: a reader globbing ``img_emb_*.npy`` would otherwise mix two exports."""
    for name, suffix in [*((n, ".npy") for n in LAYOUT.values()), (METADATA, ".parquet")]:
        for path in (root / name).glob(f"{name}_*{suffix}"):
            number = path.name[len(name) + 1:-len(suffix)]
            if number.isdigit() and int(number) >= shards:
                path.unlink()
