"""The same image–text items written as a manifest, a Parquet table, WebDataset shards and a
Hugging Face dataset saved to disk (built the way ``save_to_disk`` lays it out), so tests can
check that every reader gives the same records."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

ITEMS: list[dict[str, Any]] = [
    {"id": "fig-1", "caption": "heat map of gene expression", "title": "Genes", "authors": ["Ada", "Bob"],
     "date": "2021-05-04", "labels": ["biology"], "doi": "10.1000/genes", "url": "https://example.org/genes",
     "group": "paper-1"},
    {"id": "fig-2", "caption": "rainfall trend by decade", "title": "Rain", "authors": ["Cy"], "date": "2019",
     "labels": ["climate", "water"], "group": "paper-2"},
    {"id": "fig-3", "caption": "TEM image of graphene", "title": "Carbon", "authors": [], "date": "2020",
     "labels": ["materials"], "doi": "10.5555/carbon", "group": "paper-2", "instrument": "TEM"},
]
FORMATS = {"png": "PNG", "jpg": "JPEG"}


def image_bytes(seed: int, fmt: str = "png", size: int = 24) -> bytes:
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 255, size=(size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format=FORMATS[fmt])
    return out.getvalue()


def _ext(index: int) -> str:
    return "jpg" if index % 2 else "png"  # both formats travel


def write_manifest(folder: Path) -> Path:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    lines = []
    for i, item in enumerate(ITEMS):
        name = f"{item['id']}.{_ext(i)}"
        (folder / "images" / name).write_bytes(image_bytes(i, _ext(i)))
        lines.append(json.dumps({**item, "image": name}))
    path = folder / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_parquet(folder: Path, *, as_bytes: bool, extra_rows: list[dict] | None = None) -> Path:
    """A Parquet table of ITEMS: the image as bytes, or as a path relative to the table."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, item in enumerate(ITEMS):
        data = image_bytes(i, _ext(i))
        if as_bytes:
            image: Any = data
        else:
            (folder / "pics").mkdir(exist_ok=True)
            (folder / "pics" / f"{item['id']}.{_ext(i)}").write_bytes(data)
            image = f"pics/{item['id']}.{_ext(i)}"
        rows.append({**{k: v for k, v in item.items() if k != "caption"}, "Image": image, "Caption": item["caption"]})
    rows += extra_rows or []
    path = folder / "table.parquet"
    pd.DataFrame(rows).to_parquet(path)
    return path


def write_shards(folder: Path, per_shard: int = 2) -> Path:
    """img2dataset-style shards: 00000.tar, 00001.tar ... with KEY.jpg|png + KEY.txt + KEY.json."""
    folder.mkdir(parents=True, exist_ok=True)
    for start in range(0, len(ITEMS), per_shard):
        with tarfile.open(folder / f"{start // per_shard:05d}.tar", "w") as tar:
            for i in range(start, min(start + per_shard, len(ITEMS))):
                item = ITEMS[i]
                key = f"{start // per_shard:05d}{i:04d}"
                meta = {k: v for k, v in item.items() if k != "caption"}
                meta.update({"key": key, "status": "success", "width": 24, "height": 24, "caption": item["caption"]})
                for name, data in ((f"{key}.{_ext(i)}", image_bytes(i, _ext(i))),
                                   (f"{key}.txt", item["caption"].encode()),
                                   (f"{key}.json", json.dumps(meta).encode())):
                    info = tarfile.TarInfo(name)
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
    return folder


def write_saved_dataset(folder: Path, splits: dict[str, list[int]] | None = None) -> Path:
    """A folder as ``Dataset.save_to_disk`` (or, with ``splits``, ``DatasetDict.save_to_disk``)
    writes it: ``data-00000-of-00001.arrow`` (Arrow IPC stream), ``dataset_info.json`` with the
    features (an ``Image`` feature stored as ``{"bytes", "path"}``, a ``ClassLabel``) and ``state.json``."""
    if splits:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "dataset_dict.json").write_text(json.dumps({"splits": list(splits)}))
        for name, indices in splits.items():
            _write_split(folder / name, indices)
        return folder
    _write_split(folder, list(range(len(ITEMS))))
    return folder


def _write_split(folder: Path, indices: list[int]) -> None:
    import pyarrow as pa

    names = sorted({label for item in ITEMS for label in item["labels"]})
    folder.mkdir(parents=True, exist_ok=True)
    columns: dict[str, list] = {"image": [], "caption": [], "id": [], "title": [], "authors": [], "date": [],
                                "labels": [], "doi": [], "url": [], "group": [], "instrument": [], "first_label": []}
    for i in indices:
        item = ITEMS[i]
        columns["image"].append({"bytes": image_bytes(i, _ext(i)), "path": f"{item['id']}.{_ext(i)}"})
        for key in ("caption", "id", "title", "authors", "date", "labels", "doi", "url", "group", "instrument"):
            columns[key].append(item.get(key))
        columns["first_label"].append(names.index(item["labels"][0]))
    features = {"image": {"_type": "Image"}, "authors": {"feature": {"dtype": "string", "_type": "Value"},
                                                         "_type": "Sequence"},
                "labels": {"feature": {"dtype": "string", "_type": "Value"}, "_type": "Sequence"},
                "first_label": {"names": names, "_type": "ClassLabel"}}
    features.update({k: {"dtype": "string", "_type": "Value"} for k in columns if k not in features})
    table = pa.table({k: v for k, v in columns.items()}).cast(pa.schema([
        pa.field("image", pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
        *[pa.field(k, pa.string()) for k in ("caption", "id", "title")],
        pa.field("authors", pa.list_(pa.string())), pa.field("date", pa.string()),
        pa.field("labels", pa.list_(pa.string())), *[pa.field(k, pa.string()) for k in ("doi", "url", "group", "instrument")],
        pa.field("first_label", pa.int64()),
    ]))
    table = table.replace_schema_metadata({"huggingface": json.dumps({"info": {"features": features}})})
    with pa.OSFile(str(folder / "data-00000-of-00001.arrow"), "wb") as sink, \
            pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=2)
    (folder / "dataset_info.json").write_text(json.dumps({"citation": "", "description": "", "features": features}))
    (folder / "state.json").write_text(json.dumps({
        "_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_fingerprint": "0123456789abcdef",
        "_format_columns": None, "_format_kwargs": {}, "_format_type": None, "_output_all_columns": False,
        "_split": None}))


def comparable(records) -> list[dict]:
    """Records as dicts without what legitimately differs between source formats: the source
    file name (the manifest's, the table's, the shard's)."""
    out = []
    for record in records:
        data = record.to_dict()
        data["source"] = {k: v for k, v in data["source"].items() if k != "file"}
        out.append(data)
    return out
