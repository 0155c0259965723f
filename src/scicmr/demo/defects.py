"""A library of clean demo figures with planted image defects: the acceptance set of cleaning.

:func:`plant_defects` renders ``n_clean`` figures of the demo corpus (matplotlib, via
:mod:`scicmr.demo.figures`), then adds one record per planted defect, after the clean ones in
library order (so a copy's canonical original is the earlier, clean record):

=================  =======================================================  ==================
id                 what                                                     expected reason
=================  =======================================================  ==================
defect-truncated   a figure's PNG cut at 60 % of its bytes                  corrupt
defect-random      random bytes named .png                                  corrupt
defect-blank       pure white 256 x 256                                     blank
defect-uniform     light grey with pixel noise (sigma 6)                    blank
defect-tiny        a figure shrunk to 8 x 8                                 too_small
defect-strip       a figure band stretched to 1000 x 50 (20:1)              extreme_aspect
defect-copy        byte copy of the first clean figure                      exact_duplicate
defect-near        the second figure cropped 3 %, scaled 0.7, JPEG q=60     near_duplicate
defect-texture     a random multi-scale colour texture (not a figure)       outlier / out_of_domain
=================  =======================================================  ==================
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scicmr._io import atomic_write_bytes
from scicmr.corpus.library import Library
from scicmr.corpus.record import Record

EXPECTED = {
    "defect-truncated": {"corrupt"},
    "defect-random": {"corrupt"},
    "defect-blank": {"blank"},
    "defect-uniform": {"blank"},
    "defect-tiny": {"too_small"},
    "defect-strip": {"extreme_aspect"},
    "defect-copy": {"exact_duplicate"},
    "defect-near": {"near_duplicate"},
    "defect-texture": {"outlier", "out_of_domain"},  # either model may catch it
}


@dataclass
class DefectSet:
    library: Library
    clean_ids: list[str]
    expected: dict[str, set[str]]  # planted id -> acceptable reasons
    duplicate_of: dict[str, str]  # planted copy -> its original


def _png(pixels: np.ndarray) -> bytes:
    from scicmr.demo.figures import png_bytes

    return png_bytes(np.ascontiguousarray(pixels.astype(np.uint8)))


def random_texture(rng: np.random.Generator, side: int = 256) -> np.ndarray:
    """(side, side, 3) uint8: sums of blurred colour noise at three scales (a random texture)."""
    from scipy.ndimage import gaussian_filter

    img = sum(gaussian_filter(rng.normal(0, 1, (side, side, 3)), (s, s, 0)) * s for s in (1, 4, 12))
    img = (img - img.min()) / (img.max() - img.min())
    return (img * 255).astype(np.uint8)


def _defect_bytes(figures: list[np.ndarray], spare: np.ndarray, rng: np.random.Generator) -> dict[str, bytes]:
    from PIL import Image

    def encode(image, fmt="PNG", **kw) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, format=fmt, **kw)
        return buffer.getvalue()

    spare_png = _png(spare)
    side = figures[0].shape[0]
    first, second = Image.fromarray(figures[0]), Image.fromarray(figures[1])
    c = round(0.03 * side)
    near = second.crop((c, c, side - c, side - c)).resize((round(side * 0.7),) * 2, Image.BICUBIC)
    band = Image.fromarray(figures[2][side // 3 : side // 3 + side // 8])
    noisy = np.clip(235 + rng.normal(0, 6, (side, side, 3)), 0, 255)
    return {
        "defect-truncated.png": spare_png[: int(len(spare_png) * 0.6)],
        "defect-random.png": rng.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
        "defect-blank.png": _png(np.full((side, side, 3), 255)),
        "defect-uniform.png": _png(noisy),
        "defect-tiny.png": encode(first.resize((8, 8), Image.BOX)),
        "defect-strip.png": encode(band.resize((1000, 50), Image.BICUBIC)),
        "defect-copy.png": _png(figures[0]),
        "defect-near.jpg": encode(near, "JPEG", quality=60),
        "defect-texture.png": _png(random_texture(rng, side)),
    }


def plant_defects(out: str | Path, *, n_clean: int = 24, seed: int = 0, image_size: int = 256) -> DefectSet:
    """Build a library at ``out`` with ``n_clean`` clean figures plus the planted defects."""
    from scicmr.demo.corpus import plan_corpus
    from scicmr.demo.figures import FigureRenderer

    plan = plan_corpus(n_papers=max(4, n_clean // 2 + 2), figures_per_paper=(2, 4), seed=seed)[: n_clean + 1]
    with FigureRenderer(image_size) as renderer:
        pixels = [renderer.render(item.spec) for item in plan]
    lib = Library.create(out, name="defects", overwrite=True)
    records = []
    for item, image in zip(plan[:n_clean], pixels):
        rel = f"images/{item.record['id']}.png"
        atomic_write_bytes(lib.root / rel, _png(image))
        records.append(Record(id=item.record["id"], title=item.record["title"], text=item.record["caption"],
                              labels=item.record["labels"], images=[rel], group=item.record["group"]))
    for name, data in _defect_bytes(pixels[:n_clean], pixels[n_clean], np.random.default_rng(seed)).items():
        rel = f"images/{name}"
        atomic_write_bytes(lib.root / rel, data)
        records.append(Record(id=Path(name).stem, title="planted defect", text=f"planted defect {name}", images=[rel]))
    lib.add_records(records)
    lib.assign_splits(seed=seed)
    clean = [r.id for r in records[:n_clean]]
    return DefectSet(lib, clean, {k: set(v) for k, v in EXPECTED.items()},
                     {"defect-copy": clean[0], "defect-near": clean[1]})
