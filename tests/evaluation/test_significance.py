"""Paired randomisation and bootstrap tests against exact enumeration and slow references;
mean ± std over seeds."""

from __future__ import annotations

import itertools
import statistics

import numpy as np
import pytest

from scicmr.errors import InputError
from scicmr.evaluation.significance import aggregate_runs, mean_std, paired_bootstrap, paired_randomization_test


def _exact_sign_flip_p(a, b):
    """Every one of the 2^q sign patterns, by hand."""
    diff = [x - y for x, y in zip(a, b)]
    observed = abs(sum(diff) / len(diff))
    patterns = list(itertools.product((1, -1), repeat=len(diff)))
    extreme = sum(abs(sum(s * d for s, d in zip(signs, diff)) / len(diff)) >= observed - 1e-12 for signs in patterns)
    return extreme / len(patterns)


@pytest.mark.parametrize("seed", [0, 3])
def test_randomisation_p_value_approaches_the_exact_one(seed):
    rng = np.random.default_rng(seed)
    a = rng.random(10)
    b = a - rng.normal(0.05, 0.1, 10)
    exact = _exact_sign_flip_p(a, b)
    got = paired_randomization_test(a, b, n_resamples=20_000, seed=1)
    assert abs(got["p_value"] - exact) < 0.02
    assert got["mean_diff"] == pytest.approx(float(np.mean(a - b)))
    assert got == paired_randomization_test(a, b, n_resamples=20_000, seed=1)  # seeded: reproducible


def test_identical_methods_are_not_different_and_a_clear_win_is():
    a = np.linspace(0, 1, 40)
    assert paired_randomization_test(a, a, n_resamples=500)["p_value"] == 1.0
    assert paired_bootstrap(a, a, n_resamples=500)["p_value"] == 1.0
    better = a + 0.2 + 0.01 * np.sin(np.arange(40))
    assert paired_randomization_test(better, a, n_resamples=2000)["p_value"] < 0.01
    boot = paired_bootstrap(better, a, n_resamples=2000)
    assert boot["p_value"] < 0.01 and 0 < boot["low"] <= boot["mean_diff"] <= boot["high"]


def test_bootstrap_interval_matches_a_slow_reference():
    rng = np.random.default_rng(5)
    a, b = rng.random(15), rng.random(15)
    got = paired_bootstrap(a, b, n_resamples=3000, seed=9, confidence=0.9)
    # Same generator, same draws, one resample at a time.
    ref_rng, diff, means = np.random.default_rng(9), a - b, []
    for start in range(0, 3000, 1024):
        picks = ref_rng.integers(0, 15, size=(min(1024, 3000 - start), 15))
        means.extend(sum(diff[j] for j in row) / 15 for row in picks)
    means.sort()
    assert got["low"] == pytest.approx(np.quantile(means, 0.05)) and got["high"] == pytest.approx(np.quantile(means, 0.95))


def test_unpaired_input_is_refused():
    with pytest.raises(InputError, match="same length"):
        paired_randomization_test([1.0, 2.0], [1.0])
    with pytest.raises(InputError, match="n_resamples"):
        paired_bootstrap([1.0], [1.0], n_resamples=0)


def test_mean_std_and_aggregate_runs():
    assert mean_std([1.0, 2.0, 4.0]) == {"mean": pytest.approx(7 / 3), "std": pytest.approx(statistics.stdev([1, 2, 4])), "n": 3}
    assert mean_std([0.5]) == {"mean": 0.5, "std": 0.0, "n": 1}
    runs = [{"i2t": {"map": 0.5, "note": "x"}, "seconds": 1.0, "only_first": 3},
            {"i2t": {"map": 0.7, "note": "y"}, "seconds": 3.0}]
    got = aggregate_runs(runs)
    assert set(got) == {"i2t", "seconds"} and set(got["i2t"]) == {"map"}
    assert got["i2t"]["map"]["mean"] == pytest.approx(0.6) and got["seconds"]["std"] == pytest.approx(statistics.stdev([1, 3]))
