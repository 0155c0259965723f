"""Score fusion strategies and their validation fit."""

from __future__ import annotations

import numpy as np
import pytest

from scicmr.errors import InputError
from scicmr.index.fusion import (LinearFusion, RankFusion, fit_fusion, make_fusion, ranks_of, standardise_rows,
                                 weight_grid)


def test_standardise_rows_and_constant_rows():
    z = standardise_rows(np.array([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]]))
    np.testing.assert_allclose(z[0], [-1.2247449, 0.0, 1.2247449], rtol=1e-5)
    assert not z[1].any()


def test_ranks_share_the_best_rank_on_ties():
    np.testing.assert_array_equal(ranks_of(np.array([[0.2, 0.9, 0.2, 0.5]])), [[3, 1, 3, 2]])


def test_linear_and_rank_fusion_against_a_loop_reference():
    rng = np.random.default_rng(0)
    channels = {"a": rng.normal(size=(4, 7)), "b": rng.normal(size=(4, 7)) * 100}
    weights = {"a": 0.3, "b": 0.7}
    linear = LinearFusion(weights).combine(channels)
    rrf = RankFusion(weights, k=60).combine(channels)
    for q in range(4):
        for c in range(7):
            want = sum(w * (channels[n][q, c] - channels[n][q].mean()) / channels[n][q].std() for n, w in weights.items())
            assert linear[q, c] == pytest.approx(want, abs=1e-4)
            ranks = {n: 1 + np.sum(channels[n][q] > channels[n][q, c]) for n in weights}
            assert rrf[q, c] == pytest.approx(sum(w / (60 + ranks[n]) for n, w in weights.items()), rel=1e-5)


def test_fit_puts_the_weight_on_the_informative_channel():
    rng = np.random.default_rng(1)
    n = 40
    truth = np.eye(n) * 3 + rng.normal(size=(n, n))  # relevant candidate on the diagonal
    noise = rng.normal(size=(n, n))
    for kind in ("linear", "rrf"):
        fusion, score = fit_fusion({"good": truth, "noise": noise}, np.arange(n), kind)
        assert fusion.weights["good"] >= 0.7, fusion.weights
        assert score > 0.5
        assert fusion.kind == kind


def test_complementary_channels_beat_each_alone():
    rng = np.random.default_rng(2)
    n = 60
    a = rng.normal(size=(n, n)) + np.eye(n) * 1.5
    b = rng.normal(size=(n, n)) + np.eye(n) * 1.5
    from scicmr.evaluation.metrics import mrr

    fusion, score = fit_fusion({"a": a, "b": b}, np.arange(n), "linear")
    assert 0 < fusion.weights["a"] < 1
    assert score > max(mrr(a, np.arange(n)), mrr(b, np.arange(n)))


def test_grid_and_bad_names():
    grid = weight_grid(["x", "y", "z"], steps=4)
    assert len(grid) == 15 and all(abs(sum(w.values()) - 1) < 1e-9 for w in grid)
    assert sum(1 for v in grid[0].values() if v) == 1  # sparse weightings first
    with pytest.raises(InputError, match="unknown fusion"):
        make_fusion("max", {"x": 1})
    with pytest.raises(InputError):
        fit_fusion({}, np.arange(3))
