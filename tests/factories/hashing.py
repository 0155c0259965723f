"""Shared helpers of the cross-modal hashing tests: separable synthetic pairs and Hamming mAP."""

import numpy as np

from scicmr.evaluation.hashing_metrics import cross_modal_hamming_metrics


def class_pairs(n, seed, classes=4, dx=24, dy=16, spread=1.0):
    """Image/text pairs with class-dependent Gaussian features in both views.

    Returns X (n, dx) float32, Y (n, dy) float32, y (n,) int class ids. Class centres are shared
    by every split (fixed seed), the noise differs by ``seed``.
    """
    rng = np.random.default_rng(1000)
    centres_x, centres_y = 2.0 * rng.normal(size=(classes, dx)), 2.0 * rng.normal(size=(classes, dy))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = centres_x[y] + spread * rng.normal(size=(n, dx)) + 3.0
    Y = 5.0 * (centres_y[y] + spread * rng.normal(size=(n, dy)))
    return X.astype(np.float32), Y.astype(np.float32), y


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
