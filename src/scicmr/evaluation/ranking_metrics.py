"""The metrics the image–text and IR literature report beside scicmr's mAP / MRR / hits@k.

Pair protocol (query i's own pair is the only relevant candidate), from the 1-based rank of
that pair (:func:`scicmr.evaluation.metrics.pair_ranks`): ``R@k`` (recall at k, in percent, as
VSE++, SCAN, CLIP and LAVIS name and scale it: hits@k × 100), ``MedR`` (median rank; lower is
better), ``MeanR`` and ``rsum`` (R@1 + R@5 + R@10 of both directions, out of 600).

Label relevance (a candidate is relevant when it shares a label): ``ndcg@k`` with binary gains,
DCG@k = Σ_{r ≤ k} rel_r / log2(r + 1) over the ranking (descending score, ties by index, as
every scicmr metric ranks), normalised by the DCG of an ideal ranking; 0 for a query without a
relevant candidate.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from scicmr.errors import InputError
from scicmr.evaluation.metrics import rank_candidates

RECALL_KS = (1, 5, 10)


def _ranks(ranks) -> np.ndarray:
    ranks = np.asarray(ranks)
    if ranks.ndim != 1 or ranks.size == 0 or not np.issubdtype(ranks.dtype, np.integer) or ranks.min() < 1:
        raise InputError("ranks must be a non-empty (q,) array of 1-based integer ranks",
                         fix="pass scicmr.evaluation.metrics.pair_ranks(scores, positive_index)")
    return ranks.astype(np.int64)


def recall_metrics(ranks, ks: Sequence[int] = RECALL_KS) -> dict[str, float]:
    """{"R@k": percent of queries whose pair ranks ≤ k, "MedR", "MeanR"} of (q,) 1-based ranks."""
    ranks = _ranks(ranks)
    result = {f"R@{int(k)}": float(100.0 * np.mean(ranks <= int(k))) for k in ks}
    result["MedR"] = float(np.median(ranks))
    result["MeanR"] = float(np.mean(ranks))
    return result


def rsum(i2t: dict[str, float], t2i: dict[str, float], ks: Sequence[int] = RECALL_KS) -> float:
    """R@1 + R@5 + R@10 of both directions (:func:`recall_metrics` dicts), out of 600."""
    return float(sum(direction[f"R@{k}"] for direction in (i2t, t2i) for k in ks))


def ndcg_at_k(scores, relevance, k: int | None = None) -> np.ndarray:
    """(q,) float64 nDCG@k with binary gains of a (q, n) score matrix against (q, n) bool
    ``relevance`` (k=None: the full ranking); 0 for queries with no relevant candidate."""
    scores = np.asarray(scores)
    relevance = np.asarray(relevance, dtype=bool)
    if scores.ndim != 2 or relevance.shape != scores.shape:
        raise InputError(f"scores {scores.shape} and relevance {relevance.shape} must be the same (q, n) shape")
    q, n = scores.shape
    k = n if k is None else int(k)
    if k < 1:
        raise InputError(f"k must be ≥ 1, got {k}", fix="pass e.g. ks=(10,)")
    k = min(k, n)
    discounts = 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))  # rank r → 1 / log2(r + 1)
    order = rank_candidates(scores)[:, :k]
    gains = np.take_along_axis(relevance, order, axis=1)
    dcg = gains @ discounts
    ideal_count = np.minimum(relevance.sum(axis=1), k)
    ideal = np.concatenate([[0.0], np.cumsum(discounts)])[ideal_count]
    return np.divide(dcg, ideal, out=np.zeros(q), where=ideal > 0)
