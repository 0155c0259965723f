"""Small data factories and shared assertions used by the tests (self-contained, no network).

- :func:`make_manifest`, :func:`write_image`: a tiny on-disk figure–caption corpus (workflow,
  CLI tests).
- :func:`class_pairs`, :func:`class_splits`: seeded, separable image/text feature pairs for the
  method tests; :func:`split_maps`, :func:`assert_far_above_chance` and
  :func:`assert_reloads_identically` are the checks every method's test file runs on them.
"""

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


def make_manifest(folder: Path, per_field: int = 12, extra_rows: list[str] | None = None, *,
                  labels: bool = True) -> Path:
    """A JSONL manifest of figure–caption pairs in three fields whose images differ by colour
    (``labels=False``: no ``labels`` field, so evaluation falls back to the pair protocol)."""
    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    lines = []
    for f, (field, (colour, phrases)) in enumerate(FIELDS.items()):
        for i in range(per_field):
            rid = f"{field}-{i}"
            write_image(images / f"{rid}.png", colour, seed=100 * f + i)
            row = {
                "id": rid, "image": f"images/{rid}.png", "title": f"Study {i} in {field}",
                "caption": f"Figure {i}: {phrases[i % 3]} for sample {i}", "labels": [field],
                "authors": [f"{field.title()} Author {i % 2}"], "date": str(2010 + i), "group": f"{field}-paper{i // 2}",
            }
            if not labels:
                del row["labels"]
            lines.append(json.dumps(row))
    lines.extend(extra_rows or [])
    path = folder / "manifest.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- synthetic cross-modal features for the method tests


def class_pairs(n, seed, classes=4, dx=20, dy=12, spread=1.0, x_offset=5.0, y_scale=10.0):
    """Image/text pairs whose features are class-dependent Gaussians in both views.

    The class centres are the same for every ``seed`` (so train / val / test splits share
    them); the views differ in offset and scale (``x_offset``, ``y_scale``), so a method that
    does not standardise its inputs is put to the test. Returns X (n, dx) float32, Y (n, dy)
    float32, y (n,) int class ids.
    """
    rng = np.random.default_rng(1000)  # class centres are shared by every split
    centres_x, centres_y = 2.0 * rng.normal(size=(classes, dx)), 2.0 * rng.normal(size=(classes, dy))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = centres_x[y] + spread * rng.normal(size=(n, dx)) + x_offset
    Y = y_scale * (centres_y[y] + spread * rng.normal(size=(n, dy)))
    return X.astype(np.float32), Y.astype(np.float32), y


def class_splits(**kwargs):
    """{"train": 400, "val": 100, "test": 200 pairs} of :func:`class_pairs` (seeds 1, 2, 3)."""
    return {"train": class_pairs(400, 1, **kwargs), "val": class_pairs(100, 2, **kwargs),
            "test": class_pairs(200, 3, **kwargs)}


def split_maps(model, split):
    """(i2t, t2i) full-ranking mAP of a fitted method on a (X, Y, y) split, relevance = same
    class, float64 cosines (as the methods' validation scores)."""
    from scicmr.evaluation.metrics import cross_modal_metrics

    X, Y, y = split[:3]
    result = cross_modal_metrics(model.transform_image(X), model.transform_text(Y), y, ks=(), dtype=np.float64)
    return result["i2t"]["map"], result["t2i"]["map"]


def assert_far_above_chance(model, split, floor=0.8, dim=None):
    """Both directions' mAP on ``split`` above ``floor`` (chance is about 0.25 with 4 balanced
    classes) and the image vectors (n, dim) float32 unit rows (cosine retrieval)."""
    i2t, t2i = split_maps(model, split)
    assert i2t > floor and t2i > floor, (i2t, t2i)
    img = model.transform_image(split[0])
    assert img.dtype == np.float32 and img.shape == (len(split[0]), dim if dim is not None else img.shape[1])
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1.0, atol=1e-5)
    return i2t, t2i


def assert_reloads_identically(model, directory, X, Y, side=None):
    """Save ``model`` to ``directory``, load it through the registry: same class, bit-identical
    image and text vectors for (X, Y) (and ``side`` features), same history and best epoch.
    Returns the loaded model for the method's own checks."""
    from scicmr.methods import load_method

    side = side or {}
    model.save(directory)
    loaded = load_method(directory)
    assert type(loaded) is type(model)
    assert np.array_equal(loaded.transform_image(X, **side), model.transform_image(X, **side))
    assert np.array_equal(loaded.transform_text(Y, **side), model.transform_text(Y, **side))
    assert loaded.history_ == model.history_ and loaded.best_epoch_ == model.best_epoch_
    return loaded


def assert_seeded_and_rng_isolated(cls, params, X, Y, labels=None):
    """``cls(**params)`` fitted twice on (X, Y, labels) gives bit-identical vectors and with
    ``seed + 1`` different ones; fitting leaves torch's global RNG where it was."""
    import torch

    def vectors(seed_shift=0):
        model = cls(**{**params, "seed": params.get("seed", 0) + seed_shift}).fit(X, Y, labels)
        return np.concatenate([model.transform_image(X[:20]), model.transform_text(Y[:20])])

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = vectors()
    assert torch.equal(torch.rand(3), expected)
    assert np.array_equal(first, vectors())
    assert not np.array_equal(first, vectors(1))
