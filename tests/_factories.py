"""Small data factories used by the workflow and CLI tests (self-contained, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

FIELDS = {
    "astronomy": ("red", ["galaxy redshift spectrum", "stellar luminosity curve", "telescope photometry"]),
    "genomics": ("green", ["gene expression heat map", "sequencing read coverage", "protein folding assay"]),
    "climate": ("blue", ["ocean temperature anomaly", "rainfall trend by decade", "carbon flux measurement"]),
}


def write_image(path: Path, colour: str, seed: int, size: int = 48) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    channel = {"red": 0, "green": 1, "blue": 2}[colour]
    pixels = rng.integers(0, 60, size=(size, size, 3), dtype=np.uint8)
    pixels[..., channel] = rng.integers(160, 255, size=(size, size), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def make_manifest(folder: Path, per_field: int = 12, extra_rows: list[str] | None = None) -> Path:
    """A JSONL manifest of figure–caption pairs in three fields whose images differ by colour."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    lines = []
    for f, (field, (colour, phrases)) in enumerate(FIELDS.items()):
        for i in range(per_field):
            rid = f"{field}-{i}"
            write_image(images / f"{rid}.png", colour, seed=100 * f + i)
            lines.append(json.dumps({
                "id": rid, "image": f"images/{rid}.png", "title": f"Study {i} in {field}",
                "caption": f"Figure {i}: {phrases[i % 3]} for sample {i}", "labels": [field],
                "authors": [f"{field.title()} Author {i % 2}"], "date": str(2010 + i), "group": f"{field}-paper{i // 2}",
            }))
    lines.extend(extra_rows or [])
    path = folder / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
