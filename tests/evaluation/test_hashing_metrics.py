"""Hashing metrics against slow loops and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from scicmr.errors import InputError
from scicmr.evaluation.hashing_metrics import (
    cross_modal_hamming_metrics,
    hamming_metrics,
    hamming_ranking_scores,
    precision_within_radius,
    radius_pr_curve,
    recall_within_radius,
)
from scicmr.evaluation.metrics import map_at_k, rank_candidates
from scicmr.hashing import hamming_distances, pack_codes
from scicmr.index import create_index


def slow_ap_at_k(distances_row, relevant_row, k):
    order = sorted(range(len(distances_row)), key=lambda j: (distances_row[j], j))[:k]
    hits, total = 0, 0.0
    for rank, j in enumerate(order, start=1):
        if relevant_row[j]:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


def slow_radius(distances, relevance, radius):
    precisions, recalls = [], []
    for d_row, r_row in zip(distances, relevance):
        inside = [j for j in range(len(d_row)) if d_row[j] <= radius]
        good = sum(1 for j in inside if r_row[j])
        precisions.append(good / len(inside) if inside else 0.0)
        recalls.append(good / sum(r_row) if sum(r_row) else 0.0)
    return float(np.mean(precisions)), float(np.mean(recalls))


def random_case(seed, q=9, n=40, bits=8):
    rng = np.random.default_rng(seed)
    query = pack_codes(rng.standard_normal((q, bits)))
    cand = pack_codes(rng.standard_normal((n, bits)))
    labels_q, labels_c = rng.integers(0, 3, q), rng.integers(0, 3, n)
    return query, cand, labels_q, labels_c


def test_hand_case():
    distances = np.array([[1, 0, 1, 2]])
    relevance = np.array([[True, False, False, True]])
    scores = hamming_ranking_scores(distances)
    # order: item 1 (d0), item 0 (d1, lower index wins the tie), item 2 (d1), item 3 (d2)
    assert rank_candidates(scores)[0].tolist() == [1, 0, 2, 3]
    assert map_at_k(scores, relevance, 4) == pytest.approx(0.5 * (1 / 2 + 2 / 4))
    assert map_at_k(scores, relevance, 2) == pytest.approx(0.5)
    d2 = np.array([[0, 2, 3], [3, 4, 5]])
    r2 = np.array([[1, 0, 1], [1, 1, 1]], dtype=bool)
    assert precision_within_radius(d2, r2, 2) == pytest.approx((1 / 2 + 0) / 2)
    assert recall_within_radius(d2, r2, 2) == pytest.approx((1 / 2 + 0) / 2)
    curve = radius_pr_curve(d2, r2, 5)
    assert curve["precision"][0] == pytest.approx(0.5) and curve["recall"][-1] == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_slow_loops(seed):
    query, cand, lq, lc = random_case(seed)
    distances = hamming_distances(query, cand)
    relevance = lq[:, None] == lc[None, :]
    got = hamming_metrics(query, cand, lq, lc, ks=(5, 17), radius=2)
    for k in (5, 17):
        want = np.mean([slow_ap_at_k(d, r, k) for d, r in zip(distances, relevance)])
        assert got[f"map@{k}"] == pytest.approx(want)
    assert got["map"] == pytest.approx(np.mean([slow_ap_at_k(d, r, 40) for d, r in zip(distances, relevance)]))
    p, r = slow_radius(distances, relevance, 2)
    assert got["precision@r2"] == pytest.approx(p) and got["recall@r2"] == pytest.approx(r)
    curve = radius_pr_curve(distances, relevance, 8)
    for radius in range(9):
        p, r = slow_radius(distances, relevance, radius)
        assert curve["precision"][radius] == pytest.approx(p) and curve["recall"][radius] == pytest.approx(r)
    assert (np.diff(curve["recall"]) >= 0).all() and curve["recall"][-1] == pytest.approx(1.0)


def test_ranking_matches_the_index_tie_rule():
    query, cand, _, _ = random_case(5, n=60, bits=8)
    index = create_index("hamming-exact", 8)
    index.add(cand, np.arange(len(cand)))
    _, ids = index.search_hamming(query, len(cand))
    np.testing.assert_array_equal(ids, rank_candidates(hamming_ranking_scores(hamming_distances(query, cand))))


def test_both_directions_and_bad_input():
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 4, 30)
    centres = rng.standard_normal((4, 32))
    image = pack_codes(centres[labels] + 0.3 * rng.standard_normal((30, 32)))
    text = pack_codes(centres[labels] + 0.3 * rng.standard_normal((30, 32)))
    both = cross_modal_hamming_metrics(image, text, labels, ks=(5,))
    assert set(both) == {"i2t", "t2i"}
    assert both["i2t"]["map@5"] > 0.9 and both["t2i"]["map@5"] > 0.9
    noise = pack_codes(rng.standard_normal((30, 32)))
    assert cross_modal_hamming_metrics(image, noise, labels, ks=(5,))["i2t"]["map"] < both["i2t"]["map"]
    with pytest.raises(InputError, match="radius"):
        precision_within_radius(np.zeros((1, 2), dtype=int), np.ones((1, 2), dtype=bool), -1)
    with pytest.raises(InputError, match="integer"):
        radius_pr_curve(np.zeros((1, 2)), np.ones((1, 2), dtype=bool), 4)
