"""Anomalous images, two ways, both on CNN image features (n, d) float32.

1. :func:`knn_outlier_scores` + :func:`outlier_mask`: the mean cosine distance of an image to
   its k nearest neighbours. An image unlike every other image of the collection scores high.
   The threshold is the larger of the (1 - contamination) quantile of the scores (so at most a
   ``contamination`` share is flagged, the usual meaning of the parameter) and
   median + z * 1.4826 * MAD (a robust z-score, so a clean collection does not lose its top
   quantile for nothing).

2. :func:`in_domain_probability`: the seed's "cleaning model for anomaly image data": a
   classifier that "enlarges the input data" (augmentation), "categorizes" images and
   "compares thresholds to eliminate erroneous images". Our reading: a binary classifier on
   frozen CNN features (EfficientNet-Lite0 stands in for the improved ResNet; the head is a
   logistic regression, the part trained here) separates the collection's images (in-domain,
   plus augmented views: horizontal flip and a 90 % centre crop) from a generated generic
   out-of-domain set (:mod:`.outofdomain`). An image is flagged when its in-domain probability
   is below a threshold. The collection itself may hold anomalies, so probabilities are
   *out of fold*: each image is scored by a classifier trained on the other folds (its own
   augmented views left out too), never by one that saw it labelled in-domain.
"""

from __future__ import annotations

import numpy as np

from scicmr.errors import InputError


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


def knn_outlier_scores(features: np.ndarray, k: int = 5) -> np.ndarray:
    """(n,) mean cosine distance (1 - cos) to the ``k`` nearest other rows of (n, d) features."""
    n = len(features)
    if n < 2:
        return np.zeros(n)
    unit = _unit(features)
    distances = 1.0 - unit @ unit.T
    np.fill_diagonal(distances, np.inf)
    k = min(k, n - 1)
    return np.sort(distances, axis=1)[:, :k].mean(axis=1)


def outlier_mask(scores: np.ndarray, contamination: float, z: float) -> tuple[np.ndarray, float]:
    """(n,) bool flags and the threshold: score > max(quantile(1 - contamination),
    median + z * 1.4826 * MAD)."""
    scores = np.asarray(scores, dtype=np.float64)
    if len(scores) == 0:
        return np.zeros(0, dtype=bool), float("inf")
    median = float(np.median(scores))
    sigma = 1.4826 * float(np.median(np.abs(scores - median)))
    threshold = max(float(np.quantile(scores, 1.0 - contamination)), median + z * sigma)
    return scores > threshold, threshold


def in_domain_probability(
    inside: np.ndarray,
    outside: np.ndarray,
    augmented: np.ndarray | None = None,
    *,
    folds: int = 5,
    seed: int = 0,
    C: float = 1.0,
) -> np.ndarray:
    """Out-of-fold P(in-domain) of each row of ``inside``.

    Args:
        inside: (n, d) features of the collection's images.
        outside: (m, d) features of the generated out-of-domain images (negatives, every fold).
        augmented: (n, a, d) features of ``a`` augmented views per inside image, or None.
        folds: cross-fitting folds (capped at n).
    Returns:
        (n,) float64 probabilities from a class-balanced logistic regression on standardised
        features; row i comes from the model that did not train on image i or its views.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    n = len(inside)
    if n < 2 or len(outside) < 2:
        raise InputError(f"the domain classifier needs at least 2 images per class, got {n} and {len(outside)}",
                         fix="clean a larger collection, or leave out the 'domain' check")
    folds = min(folds, n)
    assignment = np.random.default_rng(seed).permutation(n) % folds
    probability = np.empty(n)
    for fold in range(folds):
        train = assignment != fold
        positives = [inside[train]]
        if augmented is not None and augmented.shape[1] > 0:
            positives.append(augmented[train].reshape(-1, inside.shape[1]))
        x = np.concatenate(positives + [outside])
        y = np.concatenate([np.ones(sum(len(p) for p in positives)), np.zeros(len(outside))])
        model = make_pipeline(StandardScaler(), LogisticRegression(C=C, class_weight="balanced", max_iter=2000))
        model.fit(x, y)
        probability[~train] = model.predict_proba(inside[~train])[:, 1]
    return probability


def augmented_views(image, count: int) -> list:
    """``count`` augmented views of an RGB PIL image: flip, 90 % centre crop, then both."""
    from PIL import ImageOps

    w, h = image.size
    crop = image.crop((round(0.05 * w), round(0.05 * h), round(0.95 * w), round(0.95 * h)))
    views = [ImageOps.mirror(image), crop, ImageOps.mirror(crop)]
    return [views[i % len(views)] for i in range(count)]
