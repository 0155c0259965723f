"""The metrics the image–text and IR literature report beside scicmr's mAP / MRR / hits@k.

Pair protocol (query i's own pair is the only relevant candidate), from the 1-based rank of
that pair (:func:`scicmr.evaluation.metrics.pair_ranks`): ``R@k`` (recall at k, in percent, as
VSE++, SCAN, CLIP and LAVIS name and scale it: hits@k × 100), ``MedR`` (median rank; lower is
better), ``MeanR`` and ``rsum`` (R@1 + R@5 + R@10 of both directions, out of 600).

``MedR`` follows the image–text literature's evaluation code (VSE++, SCAN:
``floor(median(0-based ranks)) + 1``), i.e. the median of the 1-based ranks rounded down: a
whole rank even when an even number of queries puts the median between two ranks (ranks 1, 2
→ MedR 1, not 1.5; ranks 1, 2, 5, 9 → 3, not 3.5).

Label relevance (a candidate is relevant when it shares a label): ``ndcg@k`` with binary gains,
DCG@k = Σ_{r ≤ k} rel_r / log2(r + 1) over the ranking (descending score, ties by index, as
every scicmr metric ranks), normalised by the DCG of an ideal ranking; 0 for a query without a
relevant candidate.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from scicmr.errors import InputError
from scicmr.evaluation.metrics import check_k, check_ks, rank_candidates

RECALL_KS = (1, 5, 10)


def _ranks(ranks) -> np.ndarray:
    ranks = np.asarray(ranks)
    if ranks.ndim != 1 or ranks.size == 0 or not np.issubdtype(ranks.dtype, np.integer) or ranks.min() < 1:
        raise InputError("ranks must be a non-empty (q,) array of 1-based integer ranks",
                         fix="pass scicmr.evaluation.metrics.pair_ranks(scores, positive_index)")
    return ranks.astype(np.int64)


def recall_metrics(ranks, ks: Sequence[int] = RECALL_KS) -> dict[str, float]:
    """{"R@k": percent of queries whose pair ranks ≤ k, "MedR" (floor of the median rank, as
    VSE++ / SCAN compute it: module docstring), "MeanR"} of (q,) 1-based ranks."""
    ranks = _ranks(ranks)
    result = {f"R@{k}": float(100.0 * np.mean(ranks <= k)) for k in check_ks(ks)}
    result["MedR"] = float(np.floor(np.median(ranks)))
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
    k = scores.shape[1] if k is None else check_k(k)
    return ndcg_of_order(rank_candidates(scores), relevance, (k,))[k]


def ndcg_of_order(order: np.ndarray, relevance: np.ndarray, ks: Sequence[int]) -> dict[int, np.ndarray]:
    """{k: (q,) nDCG@k} from ``order`` ((q, m) candidate indices best first, m ≥ max(ks) or
    all n: :func:`~scicmr.evaluation.metrics.rank_candidates`, cut) and (q, n) bool
    ``relevance``: one ranking serves every k."""
    relevance = np.asarray(relevance, dtype=bool)
    q, n = relevance.shape
    ks = check_ks(ks, required=True, fix="pass e.g. ks=(10,)")
    depth = min(max(ks), n)
    if order.shape[1] < depth:
        raise InputError(f"the ranking holds {order.shape[1]} candidates per query, nDCG@{depth} needs {depth}")
    discounts = 1.0 / np.log2(np.arange(2, depth + 2, dtype=np.float64))  # rank r → 1 / log2(r + 1)
    gains = np.take_along_axis(relevance, order[:, :depth], axis=1).astype(np.float64)
    dcg = np.cumsum(gains * discounts, axis=1)  # dcg[:, r - 1] = DCG@r
    ideal_curve = np.concatenate([[0.0], np.cumsum(discounts)])
    relevant = relevance.sum(axis=1)
    result = {}
    for k in ks:
        k_eff = min(k, n)
        ideal = ideal_curve[np.minimum(relevant, k_eff)]
        result[k] = np.divide(dcg[:, k_eff - 1], ideal, out=np.zeros(q), where=ideal > 0)
    return result
