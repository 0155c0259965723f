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
    """(q, n) scores → per-row z-scores (float32); rows without spread become all 0."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape[1] == 0:
        return scores.astype(np.float32)
    spread = scores.std(axis=1, keepdims=True)
    centred = scores - scores.mean(axis=1, keepdims=True)
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 1e-12).astype(np.float32)


def ranks_of(scores: np.ndarray) -> np.ndarray:
    """(q, n) scores → (q, n) float32 1-based ranks, best first; equal scores share the best rank."""
    from scipy.stats import rankdata

    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return np.zeros(scores.shape, np.float32)
    return rankdata(-scores, method="min", axis=1).astype(np.float32)


@dataclass
class LinearFusion:
    """Weighted sum of per-query standardised channel scores."""

    weights: dict[str, float] = field(default_factory=dict)
    kind: str = "linear"

    def parts(self, channels: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each weighted channel's contribution (q, n): what a hit's explanation shows."""
        return {name: self.weights[name] * standardise_rows(channels[name])
                for name in self.weights if self.weights[name] and name in channels}

    def combine(self, channels: Mapping[str, np.ndarray]) -> np.ndarray:
        """(q, n) fused scores of the channels (each (q, n)); missing channels count 0."""
        return _sum(self.parts(channels), channels)


@dataclass
class RankFusion:
    """Weighted reciprocal-rank fusion; ``k`` damps the top ranks (60 in the original paper)."""

    weights: dict[str, float] = field(default_factory=dict)
    k: float = 60.0
    kind: str = "rrf"

    def parts(self, channels: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {name: self.weights[name] / (self.k + ranks_of(channels[name]))
                for name in self.weights if self.weights[name] and name in channels}

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
    prepared = {n: make_fusion(kind, {n: 1.0}).parts(channels)[n] for n in names}
    best, best_score = None, -1.0
    for weights in weight_grid(names, steps):
        fused = sum(w * prepared[n] for n, w in weights.items() if w)
        score = mrr(fused, positive)
        if score > best_score + 1e-12:
            best, best_score = weights, score
    return make_fusion(kind, best), best_score
