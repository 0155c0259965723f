"""Is method A better than method B on the same queries? Paired tests over per-query scores,
and mean ± std over seeds.

Both tests take (q,) per-query values of two methods on the *same* queries in the same order
(reciprocal ranks, AP, nDCG, hits): the pairing removes the variance of query difficulty,
which is why the IR literature (Smucker, Allan & Carterette 2007) prefers them to comparing
two means. Resampling is seeded, so a report is reproducible.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Sequence

import numpy as np

from scicmr.errors import InputError

_BATCH = 1024  # resamples drawn at a time: (batch, q) stays small for any query count


def _paired(a, b) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.size == 0:
        raise InputError(f"paired scores must be two non-empty (q,) arrays of the same length, got {a.shape} and {b.shape}",
                         fix="pass both methods' per-query scores on the same queries, in the same order")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise InputError("paired scores must be finite numbers")
    return a - b


def _check_resamples(n_resamples: int) -> int:
    if isinstance(n_resamples, bool) or int(n_resamples) != n_resamples or n_resamples < 1:
        raise InputError(f"n_resamples must be a positive whole number, got {n_resamples!r}", fix="pass e.g. 10000")
    return int(n_resamples)


def paired_randomization_test(a, b, *, n_resamples: int = 10_000, seed: int = 0) -> dict[str, float]:
    """Two-sided paired randomisation (sign-flip permutation) test of mean(a - b) = 0.

    Under the null each query's difference is as likely to have either sign; the p-value is
    (1 + #{resamples with |mean| ≥ |observed mean|}) / (1 + n_resamples) — never 0, and exact in
    expectation. Returns {"mean_diff", "p_value", "n_queries", "n_resamples"}.
    """
    diff = _paired(a, b)
    n_resamples = _check_resamples(n_resamples)
    observed = abs(diff.mean())
    tolerance = 1e-12 * max(1.0, float(np.abs(diff).max()))  # equal means must count as "as extreme"
    rng = np.random.default_rng(seed)
    extreme, left = 0, n_resamples
    while left:
        batch = min(left, _BATCH)
        signs = rng.integers(0, 2, size=(batch, diff.size), dtype=np.int8) * 2 - 1
        extreme += int(np.count_nonzero(np.abs(signs @ diff) / diff.size >= observed - tolerance))
        left -= batch
    return {"mean_diff": float(diff.mean()), "p_value": (1 + extreme) / (1 + n_resamples),
            "n_queries": int(diff.size), "n_resamples": n_resamples}


def paired_bootstrap(a, b, *, n_resamples: int = 10_000, confidence: float = 0.95, seed: int = 0) -> dict[str, float]:
    """Paired bootstrap of mean(a - b): queries resampled with replacement.

    Returns {"mean_diff", "low", "high" (the percentile interval at ``confidence``), "p_value"
    (two-sided: twice the smaller share of resampled means on either side of 0, at most 1),
    "n_queries", "n_resamples"}.
    """
    diff = _paired(a, b)
    n_resamples = _check_resamples(n_resamples)
    if not 0 < confidence < 1:
        raise InputError(f"confidence must lie between 0 and 1, got {confidence}", fix="pass e.g. 0.95")
    rng = np.random.default_rng(seed)
    means = np.concatenate([diff[rng.integers(0, diff.size, size=(min(_BATCH, n_resamples - start), diff.size))].mean(axis=1)
                            for start in range(0, n_resamples, _BATCH)])
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    side = min(np.count_nonzero(means <= 0), np.count_nonzero(means >= 0))
    return {"mean_diff": float(diff.mean()), "low": float(low), "high": float(high),
            "p_value": float(min(1.0, 2 * (side + 1) / (n_resamples + 1))),
            "n_queries": int(diff.size), "n_resamples": n_resamples}


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """{"mean", "std" (sample standard deviation, ddof=1; 0 for one value), "n"} of ``values``."""
    values = [float(v) for v in values]
    if not values:
        raise InputError("no values to aggregate", fix="run at least one seed")
    mean = math.fsum(values) / len(values)
    std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return {"mean": mean, "std": std, "n": len(values)}


def aggregate_runs(documents: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Mean ± std over runs (seeds) of every number the documents share, same nesting: a leaf
    becomes a :func:`mean_std` dict; a key missing from some run, or not a number, is left out."""
    documents = list(documents)
    if not documents:
        raise InputError("no runs to aggregate", fix="run at least one seed")
    result: dict[str, Any] = {}
    for key, first in documents[0].items():
        values = [d.get(key) for d in documents]
        if isinstance(first, dict) and all(isinstance(v, dict) for v in values):
            nested = aggregate_runs(values)
            if nested:
                result[key] = nested
        elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            result[key] = mean_std(values)
    return result
