"""Shared helpers of the cross-modal hashing tests: Hamming mAP, chance level, tiny images.

The synthetic pairs are :func:`factories.data.class_splits` (with the hashing tests' dimensions)."""

import numpy as np

from scicmr.evaluation.hashing_metrics import cross_modal_hamming_metrics


def hamming_map(model, X, Y, y):
    """(i2t, t2i) full mAP of Hamming ranking (ties by index) with class relevance."""
    result = cross_modal_hamming_metrics(model.codes_image(X), model.codes_text(Y), y)
    return result["i2t"]["map"], result["t2i"]["map"]


def chance_map(y):
    """The mAP a random ranking scores on average: the mean share of relevant candidates."""
    counts = np.bincount(y)
    return float((counts[y] / len(y)).mean())


def tiny_images(y, seed, size=8):
    """(n, 3·size·size) float32 flattened images: class c lights channel c % 3 in one quadrant
    pattern (c // 3 picks the quadrant), plus pixel noise."""
    rng = np.random.default_rng(seed)
    images = 0.3 * rng.normal(size=(len(y), 3, size, size))
    half = size // 2
    for i, c in enumerate(y):
        row, col = divmod(int(c) // 3 % 4, 2)
        images[i, int(c) % 3, row * half:(row + 1) * half, col * half:(col + 1) * half] += 1.5
    return images.reshape(len(y), -1).astype(np.float32)
