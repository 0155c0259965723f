"""Fusing the scores of several retrieval channels into one ranking.

A *channel* gives every candidate a score for each query: a (q, n) matrix (BM25, a dense text
cosine, a learned cross-modal cosine). Two strategies combine them, each with one weight per
channel:

- :class:`LinearFusion` — ``Σ_c w_c · z_c`` where ``z_c`` is channel c's scores standardised per
  query over the candidates (mean 0, standard deviation 1; a constant row becomes 0), so
  channels on different scales (BM25 vs cosine) mix by their weights alone;
- :class:`RankFusion` — reciprocal-rank fusion, ``Σ_c w_c / (k + rank_c)`` with 1-based ranks
  (ties share the best rank), which ignores score scales altogether.

:func:`fit_fusion` picks a strategy's weights on validation queries: every point of a simplex
grid is scored by mean reciprocal rank of the relevant candidate and the best is kept (ties:
the earlier grid point, which favours fewer channels). The grid is small (a few hundred points
for four channels), so the search is exact rather than a gradient fit that could overfit a
few hundred validation pairs.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from scicmr.errors import InputError

STRATEGIES = ("linear", "rrf")


def standardise_rows(scores: np.ndarray) -> np.ndarray:
    """(q, n) scores → per-row z-scores (float32) over the row's known (finite) entries; NaN
    (a channel that has nothing to say about that candidate) stays NaN; rows without spread
    become 0."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape[1] == 0:
        return scores.astype(np.float32)
    known = np.isfinite(scores)
    count = known.sum(axis=1, keepdims=True)
    filled = np.where(known, scores, 0.0)
    mean = filled.sum(axis=1, keepdims=True) / np.maximum(count, 1)
    spread = np.sqrt(np.where(known, (filled - mean) ** 2, 0.0).sum(axis=1, keepdims=True) / np.maximum(count, 1))
    z = np.divide(filled - mean, spread, out=np.zeros_like(filled), where=spread > 1e-12)
    return np.where(known, z, np.nan).astype(np.float32)


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """(q, n) scores → (q, n) float32 1-based ranks, best first; equal scores share the best
    rank; NaN entries stay NaN (they take no rank)."""
    from scipy.stats import rankdata

    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return np.zeros(scores.shape, np.float32)
    ranks = rankdata(np.where(np.isfinite(scores), -scores, np.inf), method="min", axis=1).astype(np.float32)
    return np.where(np.isfinite(scores), ranks, np.nan)


def weighted_parts(prepared: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> dict[str, np.ndarray]:
    """Each channel's contribution (q, n) to the fused score, from its prepared scores (z-scores
    or reciprocal ranks, NaN where the channel knows nothing of a candidate).

    Where some weighted channels are missing for a candidate (a figure with no printed words
    has no lexical or dense score), the weights of the channels it has are scaled up to the
    same total, so it competes on the evidence it has instead of scoring zero on what it
    lacks; where every weighted channel is missing, the channels it has count equally. The
    contributions of one (query, candidate) sum to its fused score.
    """
    names = [n for n in prepared]
    if not names:
        return {}
    total = sum(max(float(weights.get(n, 0.0)), 0.0) for n in names)
    shape = next(iter(prepared.values())).shape
    weight_sum, any_sum = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    for name in names:
        known = np.isfinite(prepared[name])
        weight_sum += known * float(weights.get(name, 0.0))
        any_sum += known
    fallback = weight_sum <= 1e-12
    parts = {}
    for name in names:
        values = np.nan_to_num(prepared[name], nan=0.0)
        known = np.isfinite(prepared[name])
        scaled = float(weights.get(name, 0.0)) * total / np.maximum(weight_sum, 1e-12)
        equal = known / np.maximum(any_sum, 1.0)
        share = np.where(fallback, equal, scaled * known)
        if share.any():
            parts[name] = (share * values).astype(np.float32)
    return parts


@dataclass
class LinearFusion:
    """Weighted sum of per-query standardised channel scores."""

    weights: dict[str, float] = field(default_factory=dict)
    kind: str = "linear"

    @staticmethod
    def prepare(scores: np.ndarray) -> np.ndarray:
        return standardise_rows(scores)

    def parts(self, channels: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each channel's contribution (q, n): what a hit's explanation shows (:func:`weighted_parts`)."""
        return weighted_parts({n: self.prepare(m) for n, m in channels.items()}, self.weights)

    def combine(self, channels: Mapping[str, np.ndarray]) -> np.ndarray:
        """(q, n) fused scores of the channels (each (q, n)); channels without a weight count 0."""
        return _sum(self.parts(channels), channels)


@dataclass
class RankFusion:
    """Weighted reciprocal-rank fusion; ``k`` damps the top ranks (60 in the original paper)."""

    weights: dict[str, float] = field(default_factory=dict)
    k: float = 60.0
    kind: str = "rrf"

    def prepare(self, scores: np.ndarray) -> np.ndarray:
        return 1.0 / (self.k + ranks_of(scores))

    def parts(self, channels: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return weighted_parts({n: self.prepare(m) for n, m in channels.items()}, self.weights)

    def combine(self, channels: Mapping[str, np.ndarray]) -> np.ndarray:
        return _sum(self.parts(channels), channels)


def _sum(parts: dict[str, np.ndarray], channels: Mapping[str, np.ndarray]) -> np.ndarray:
    if not channels:
        raise InputError("no channel scores to fuse")
    shape = next(iter(channels.values())).shape
    total = np.zeros(shape, dtype=np.float32)
    for part in parts.values():
        total += part
    return total


def make_fusion(kind: str, weights: Mapping[str, float]) -> LinearFusion | RankFusion:
    """A fusion strategy by name (``linear`` or ``rrf``) with ``weights``."""
    if kind not in STRATEGIES:
        raise InputError(f"unknown fusion {kind!r}", fix=f"choose one of: {', '.join(STRATEGIES)}")
    weights = {str(k): float(v) for k, v in weights.items()}
    return LinearFusion(weights) if kind == "linear" else RankFusion(weights)


def weight_grid(names: Sequence[str], steps: int = 10) -> list[dict[str, float]]:
    """Every weighting of ``names`` on the simplex with resolution 1/``steps``, sparse ones first
    (one channel alone, then pairs, ...)."""
    names = list(names)
    points = []
    for counts in itertools.product(range(steps + 1), repeat=len(names)):
        if sum(counts) == steps:
            points.append({n: c / steps for n, c in zip(names, counts)})
    return sorted(points, key=lambda w: sum(1 for v in w.values() if v > 0))


def fit_fusion(channels: Mapping[str, np.ndarray], positive: np.ndarray, kind: str = "linear",
               steps: int = 10) -> tuple[LinearFusion | RankFusion, float]:
    """The weights of fusion ``kind`` that maximise validation MRR.

    Args:
        channels: name → (q, n) validation scores of each channel.
        positive: (q,) int index of each query's relevant candidate.
        kind: ``linear`` or ``rrf``.
        steps: grid resolution (weights are multiples of 1/steps summing to 1).

    Returns:
        (the fitted strategy, its validation MRR). Ranks of the same pair rule as
        :func:`scicmr.evaluation.metrics.mrr` (ties resolved by candidate order).
    """
    from scicmr.evaluation.metrics import mrr

    if not channels:
        raise InputError("fit_fusion needs at least one channel")
    positive = np.asarray(positive, dtype=np.int64)
    names = sorted(channels)
    # Standardise / rank each channel once; every grid point is then a weighted sum.
    strategy = make_fusion(kind, {})
    prepared = {n: strategy.prepare(channels[n]) for n in names}
    best, best_score = None, -1.0
    for weights in weight_grid(names, steps):
        fused = _sum(weighted_parts(prepared, weights), prepared)
        score = mrr(fused, positive)
        if score > best_score + 1e-12:
            best, best_score = weights, score
    return make_fusion(kind, best), best_score
