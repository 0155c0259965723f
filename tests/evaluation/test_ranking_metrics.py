"""R@k, MedR, rsum and nDCG@k against slow, obvious reference implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scicmr.errors import InputError
from scicmr.evaluation.metrics import hits_at_k, pair_ranks
from scicmr.evaluation.ranking_metrics import ndcg_at_k, recall_metrics, rsum


def _slow_rank(row, target):
    """1-based rank of ``target``: sort by (-score, index), find it."""
    order = sorted(range(len(row)), key=lambda j: (-row[j], j))
    return order.index(target) + 1


def _slow_ndcg(row, rel, k):
    order = sorted(range(len(row)), key=lambda j: (-row[j], j))[:k]
    dcg = sum(1.0 / math.log2(r + 2) for r, j in enumerate(order) if rel[j])
    ideal = sum(1.0 / math.log2(r + 2) for r in range(min(k, int(sum(rel)))))
    return dcg / ideal if ideal else 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recall_and_median_rank_match_the_reference(seed):
    rng = np.random.default_rng(seed)
    scores = rng.integers(0, 4, size=(13, 17)).astype(np.float32)  # many ties
    positive = rng.integers(0, 17, size=13)
    ranks = pair_ranks(scores, positive)
    slow = [_slow_rank(list(scores[i]), positive[i]) for i in range(13)]
    assert ranks.tolist() == slow
    got = recall_metrics(ranks, ks=(1, 5, 10))
    for k in (1, 5, 10):
        assert got[f"R@{k}"] == pytest.approx(100 * sum(r <= k for r in slow) / 13)
        assert got[f"R@{k}"] == pytest.approx(100 * hits_at_k(scores, positive, k))
    middle = sorted(slow)
    assert got["MedR"] == middle[6] and got["MeanR"] == pytest.approx(sum(slow) / 13)


def test_median_rank_is_floored_as_vse_and_scan_compute_it_and_rsum_adds_six_recalls():
    assert recall_metrics(np.array([1, 2, 4, 9]))["MedR"] == 3.0  # midpoint 3
    assert recall_metrics(np.array([1, 2, 5, 9]))["MedR"] == 3.0  # midpoint 3.5, floored
    assert recall_metrics(np.array([2, 1]))["MedR"] == 1.0  # not 1.5
    zero_based = np.array([0, 1, 4, 8])  # VSE++ / SCAN: np.floor(np.median(ranks)) + 1 over 0-based ranks
    assert recall_metrics(zero_based + 1)["MedR"] == np.floor(np.median(zero_based)) + 1
    i2t, t2i = recall_metrics(np.array([1, 6, 11])), recall_metrics(np.array([1, 1, 2]))
    assert rsum(i2t, t2i) == pytest.approx(100 * (1 / 3 + 1 / 3 + 2 / 3) + 100 * (2 / 3 + 1 + 1))
    assert rsum(recall_metrics(np.ones(5, dtype=int)), recall_metrics(np.ones(5, dtype=int))) == 600.0


@pytest.mark.parametrize("k", [1, 3, 5, None, 50])
def test_ndcg_matches_the_reference(k):
    rng = np.random.default_rng(7)
    scores = rng.integers(0, 5, size=(9, 11)).astype(np.float64)
    relevance = rng.random((9, 11)) < 0.3
    relevance[0] = False  # a query with nothing relevant scores 0
    got = ndcg_at_k(scores, relevance, k)
    kk = 11 if k is None else min(k, 11)
    want = [_slow_ndcg(list(scores[i]), list(relevance[i]), kk) for i in range(9)]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert got[0] == 0.0 and ((got >= 0) & (got <= 1 + 1e-12)).all()


def test_a_perfect_ranking_has_ndcg_one():
    relevance = np.array([[True, True, False, False]])
    assert ndcg_at_k(np.array([[4.0, 3.0, 2.0, 1.0]]), relevance, 2)[0] == pytest.approx(1.0)
    assert ndcg_at_k(np.array([[1.0, 2.0, 3.0, 4.0]]), relevance, 2)[0] == 0.0


def test_bad_ranks_and_shapes_are_refused():
    with pytest.raises(InputError, match="1-based"):
        recall_metrics(np.array([0, 1]))
    with pytest.raises(InputError, match="same"):
        ndcg_at_k(np.zeros((2, 3)), np.zeros((3, 2), dtype=bool), 1)


def test_one_ranking_serves_every_cut():
    from scicmr.evaluation.metrics import rank_candidates
    from scicmr.evaluation.ranking_metrics import ndcg_of_order

    rng = np.random.default_rng(3)
    scores, relevance = rng.random((6, 9)), rng.random((6, 9)) < 0.4
    got = ndcg_of_order(rank_candidates(scores), relevance, (1, 4, 9, 20))
    for k in (1, 4, 9, 20):
        want = [_slow_ndcg(list(scores[i]), list(relevance[i]), min(k, 9)) for i in range(6)]
        np.testing.assert_allclose(got[k], want, rtol=1e-12)
    with pytest.raises(InputError, match="needs"):
        ndcg_of_order(rank_candidates(scores)[:, :3], relevance, (5,))


@pytest.mark.parametrize("ks", [(), (0,), (5, -1), (2.5,), (True,), 5])
def test_bad_cut_offs_are_refused_by_the_shared_k_checks(ks):
    from scicmr.evaluation.metrics import rank_candidates
    from scicmr.evaluation.ranking_metrics import ndcg_of_order

    scores, relevance = np.eye(3), np.eye(3, dtype=bool)
    with pytest.raises(InputError, match="ks"):
        ndcg_of_order(rank_candidates(scores), relevance, ks)
    if ks != ():  # no R@k asked is allowed: MedR and MeanR alone
        with pytest.raises(InputError, match="ks"):
            recall_metrics(np.array([1, 2]), ks)
    assert set(recall_metrics(np.array([1, 2]), ())) == {"MedR", "MeanR"}


@pytest.mark.parametrize("k", [0, -2, 1.5])
def test_a_bad_ndcg_cut_off_is_refused(k):
    with pytest.raises(InputError, match="positive integer"):
        ndcg_at_k(np.eye(3), np.eye(3, dtype=bool), k)
