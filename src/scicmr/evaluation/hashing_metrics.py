"""Retrieval metrics of binary codes: Hamming ranking, Hamming radius and the PR curve over radii.

Conventions (on top of those of :mod:`scicmr.evaluation.metrics`):

- Codes are packed (n, ceil(bits / 8)) uint8 (:func:`scicmr.hashing.pack_codes`); distances
  are (q, n) int Hamming distances (:func:`scicmr.hashing.hamming_distances`).
- **Hamming ranking**: ascending distance, ties by ascending candidate index — the tie rule of
  the Hamming indexes (:mod:`scicmr.index.hamming`) with ids = candidate positions. It is the
  score ranking of ``metrics`` applied to ``-distance``, so ``map@k`` here is exactly the
  seeds' AP@k of DESIGN.md under that order.
- **Hamming radius r** (lookup protocol): the items retrieved for a query are those with
  distance <= r. Precision within r = relevant retrieved / retrieved; a query that retrieves
  nothing has precision 0 and still counts in the mean (the usual deep-hashing convention:
  an empty hash bucket is a failed lookup, not a skipped query). Recall within r = relevant
  retrieved / all relevant; queries without any relevant candidate have recall 0.
- **PR curve over radius** r = 0..bits: mean precision and mean recall within r, as above.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from scicmr.errors import InputError
from scicmr.evaluation.metrics import _check_relevance, check_ks, label_relevance, map_at_k, precision_at_k, recall_at_k
from scicmr.hashing.codes import hamming_distances


def _check_distances(distances: np.ndarray) -> np.ndarray:
    distances = np.asarray(distances)
    if distances.ndim != 2 or 0 in distances.shape or distances.dtype.kind not in "iu":
        raise InputError(
            f"distances must be a non-empty 2-D integer (queries, candidates) matrix, got {distances.dtype} "
            f"{distances.shape}",
            fix="compute them with scicmr.hashing.hamming_distances(query_codes, candidate_codes)",
        )
    return distances.astype(np.int64, copy=False)


def _check_radius(radius: int) -> int:
    if isinstance(radius, bool) or not isinstance(radius, (int, np.integer)) or radius < 0:
        raise InputError(f"radius must be an integer >= 0, got {radius!r}", fix="use e.g. radius=2")
    return int(radius)


def hamming_ranking_scores(distances: np.ndarray) -> np.ndarray:
    """(q, n) float64 ``-distance``: the scores whose stable ranking is the Hamming ranking."""
    return -_check_distances(distances).astype(np.float64)


def radius_counts(distances: np.ndarray, relevance: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per query (q,) int64: retrieved within ``radius``, relevant among them, all relevant."""
    distances = _check_distances(distances)
    relevance = _check_relevance(relevance, distances.shape)
    inside = distances <= _check_radius(radius)
    return inside.sum(axis=1), (inside & relevance).sum(axis=1), relevance.sum(axis=1)


def _mean_ratio(numerator: np.ndarray, denominator: np.ndarray) -> float:
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return float(out.mean())


def precision_within_radius(distances: np.ndarray, relevance: np.ndarray, radius: int = 2) -> float:
    """Mean over queries of relevant / retrieved among items within ``radius`` (0 when none)."""
    retrieved, hits, _ = radius_counts(distances, relevance, radius)
    return _mean_ratio(hits, retrieved)


def recall_within_radius(distances: np.ndarray, relevance: np.ndarray, radius: int = 2) -> float:
    """Mean over queries of relevant within ``radius`` / all relevant (0 when none)."""
    _, hits, total = radius_counts(distances, relevance, radius)
    return _mean_ratio(hits, total)


def radius_pr_curve(distances: np.ndarray, relevance: np.ndarray, n_bits: int) -> dict[str, np.ndarray]:
    """Precision and recall within every radius r = 0..n_bits.

    Returns:
        {"radius": (bits+1,) int64, "precision": (bits+1,) float64, "recall": (bits+1,) float64}.
    """
    distances = _check_distances(distances)
    relevance = _check_relevance(relevance, distances.shape)
    if distances.max() > n_bits:
        raise InputError(f"a distance of {int(distances.max())} exceeds n_bits={n_bits}", fix="pass the code length")
    radii = np.arange(int(n_bits) + 1)
    # Histogram per query of all and of relevant items by distance, then cumulative sums over r.
    q = len(distances)
    offsets = (np.arange(q)[:, None] * len(radii) + distances).ravel()
    everything = np.bincount(offsets, minlength=q * len(radii)).reshape(q, -1).cumsum(axis=1)
    relevant = np.bincount(offsets, weights=relevance.ravel(), minlength=q * len(radii)).reshape(q, -1).cumsum(axis=1)
    total = relevance.sum(axis=1)[:, None]
    precision = np.divide(relevant, everything, out=np.zeros_like(relevant), where=everything > 0).mean(axis=0)
    recall = np.divide(relevant, total, out=np.zeros_like(relevant), where=total > 0).mean(axis=0)
    return {"radius": radii, "precision": precision, "recall": recall}


def hamming_metrics(
    query_codes: np.ndarray,
    candidate_codes: np.ndarray,
    query_labels: np.ndarray,
    candidate_labels: np.ndarray,
    ks: Sequence[int] = (5, 50),
    radius: int = 2,
) -> dict[str, float]:
    """One direction's metrics by Hamming ranking and lookup.

    Args:
        query_codes: (q, bytes) uint8; candidate_codes: (n, bytes) uint8.
        query_labels, candidate_labels: (q,) / (n,) class ids or (q, C) / (n, C) multi-hot.
        ks: cut-offs for map@k, precision@k and recall@k.
        radius: the lookup radius (2 in the deep-hashing papers).

    Returns:
        {"map@k"…, "map", "precision@k"…, "recall@k"…, "precision@r<radius>", "recall@r<radius>"}.
    """
    distances = hamming_distances(query_codes, candidate_codes)
    relevance = label_relevance(query_labels, candidate_labels)
    scores = hamming_ranking_scores(distances)
    out: dict[str, float] = {}
    for k in check_ks(ks):
        out[f"map@{k}"] = map_at_k(scores, relevance, k)
    out["map"] = map_at_k(scores, relevance)
    for k in check_ks(ks):
        out[f"precision@{k}"] = precision_at_k(scores, relevance, k)
        out[f"recall@{k}"] = recall_at_k(scores, relevance, k)
    out[f"precision@r{radius}"] = precision_within_radius(distances, relevance, radius)
    out[f"recall@r{radius}"] = recall_within_radius(distances, relevance, radius)
    return out


def cross_modal_hamming_metrics(
    image_codes: np.ndarray, text_codes: np.ndarray, labels: np.ndarray, ks: Sequence[int] = (5, 50), radius: int = 2
) -> dict[str, dict[str, float]]:
    """Both directions on paired rows: ``{"i2t": …, "t2i": …}`` (image queries against text
    candidates and back), each as :func:`hamming_metrics`; ``labels`` (n,) or (n, C)."""
    return {
        "i2t": hamming_metrics(image_codes, text_codes, labels, labels, ks, radius),
        "t2i": hamming_metrics(text_codes, image_codes, labels, labels, ks, radius),
    }
