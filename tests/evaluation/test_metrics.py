"""Retrieval metrics: hand-computed cases and a slow pure-Python reference on random data."""

from __future__ import annotations

import numpy as np
import pytest

from scicmr.errors import InputError
from scicmr.evaluation import metrics as M


# --------------------------------------------------------------------------- slow reference
def ref_order(row):
    """Candidate indices by descending score, ties by ascending index (plain Python sort)."""
    return sorted(range(len(row)), key=lambda j: (-float(row[j]), j))


def ref_ap(row, rel, k=None):
    order = ref_order(row)
    k = len(order) if k is None else min(k, len(order))
    found, total = 0, 0.0
    for r, j in enumerate(order[:k], start=1):
        if rel[j]:
            found += 1
            total += found / r
    return total / found if found else 0.0


def ref_precision(row, rel, k):
    top = ref_order(row)[: min(k, len(row))]
    return sum(bool(rel[j]) for j in top) / len(top)


def ref_recall(row, rel, k):
    top = ref_order(row)[: min(k, len(row))]
    all_relevant = sum(bool(x) for x in rel)
    return sum(bool(rel[j]) for j in top) / all_relevant if all_relevant else 0.0


def ref_rank(row, positive):
    return ref_order(row).index(positive) + 1


def ref_pr_curve(scores, relevance, points=11):
    levels = [i / (points - 1) for i in range(points)]
    curves = []
    for row, rel in zip(scores, relevance):
        all_relevant = sum(bool(x) for x in rel)
        if not all_relevant:
            continue
        precisions, recalls, found = [], [], 0
        for r, j in enumerate(ref_order(row), start=1):
            found += bool(rel[j])
            precisions.append(found / r)
            recalls.append(found / all_relevant)
        curves.append([max(p for p, rc in zip(precisions, recalls) if rc >= level - 1e-12) for level in levels])
    return np.mean(curves, axis=0) if curves else np.zeros(points)


def ref_label_metrics(scores, relevance, ks):
    out = {}
    for k in ks:
        out[f"map@{k}"] = np.mean([ref_ap(s, r, k) for s, r in zip(scores, relevance)])
    out["map"] = np.mean([ref_ap(s, r) for s, r in zip(scores, relevance)])
    for k in ks:
        out[f"precision@{k}"] = np.mean([ref_precision(s, r, k) for s, r in zip(scores, relevance)])
    for k in ks:
        out[f"recall@{k}"] = np.mean([ref_recall(s, r, k) for s, r in zip(scores, relevance)])
    return out


def ref_relevance(query_labels, candidate_labels):
    return np.array(
        [[any(a and b for a, b in zip(ql, cl)) for cl in candidate_labels] for ql in query_labels], dtype=bool
    )


def random_case(seed, q=17, n=23, classes=4):
    """Scores rounded to one decimal (many ties) and sparse multi-hot labels (some rows empty)."""
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random((q, n)), 1)
    query_labels = rng.random((q, classes)) < 0.3
    candidate_labels = rng.random((n, classes)) < 0.3
    return scores, query_labels, candidate_labels


# --------------------------------------------------------------------------- hand-computed
def test_ties_lower_index_wins():
    scores = np.array([[0.5, 0.9, 0.5, 0.5]])
    relevance = np.array([[0, 0, 1, 1]], dtype=bool)
    # ranking: 1 (0.9), then the tied 0, 2, 3 in index order -> relevance by rank 0, 0, 1, 1
    assert M.rank_candidates(scores).tolist() == [[1, 0, 2, 3]]
    # full AP = (1/2) * (P(3) + P(4)) = (1/3 + 2/4) / 2 = 5/12
    # (ties broken the other way, 1, 3, 2, 0 -> 0, 1, 1, 0, would give (1/2 + 2/3) / 2 = 7/12)
    assert M.map_at_k(scores, relevance) == pytest.approx(5 / 12)
    # top 2 holds no relevant item -> AP@2 = 0
    assert M.map_at_k(scores, relevance, 2) == 0.0
    # top 3 holds one relevant item at rank 3 -> AP@3 = P(3) / 1 = 1/3
    assert M.map_at_k(scores, relevance, 3) == pytest.approx(1 / 3)
    assert M.precision_at_k(scores, relevance, 3) == pytest.approx(1 / 3)  # 1 relevant / 3
    assert M.recall_at_k(scores, relevance, 3) == pytest.approx(1 / 2)  # 1 of 2 relevant


def test_ap_per_query_and_mean():
    scores = np.array([[0.9, 0.8, 0.7, 0.6], [0.1, 0.2, 0.3, 0.4]])
    relevance = np.array([[1, 0, 1, 0], [1, 0, 0, 0]], dtype=bool)
    # query 0: ranking 0,1,2,3 -> rel 1,0,1,0 -> AP = (1/1 + 2/3) / 2 = 5/6
    # query 1: ranking 3,2,1,0 -> rel 0,0,0,1 -> AP = (1/4) / 1 = 1/4
    ap = M.average_precision_at_k(scores, relevance)
    assert ap.dtype == np.float64 and ap.shape == (2,)
    np.testing.assert_allclose(ap, [5 / 6, 1 / 4])
    assert M.map_at_k(scores, relevance) == pytest.approx((5 / 6 + 1 / 4) / 2)
    # AP@2: query 0 -> rel 1,0 -> 1/1 = 1; query 1 -> none in the top 2 -> 0
    np.testing.assert_allclose(M.average_precision_at_k(scores, relevance, 2), [1.0, 0.0])


def test_query_without_relevant_items_scores_zero():
    scores = np.array([[0.3, 0.2, 0.1], [0.3, 0.2, 0.1]])
    relevance = np.array([[0, 0, 0], [1, 1, 1]], dtype=bool)
    # query 0 has nothing relevant: AP 0, precision 0, recall 0 (documented rule)
    # query 1 has everything relevant: AP 1, precision@2 1, recall@2 2/3
    np.testing.assert_allclose(M.average_precision_at_k(scores, relevance), [0.0, 1.0])
    assert M.precision_at_k(scores, relevance, 2) == pytest.approx((0 + 1) / 2)
    assert M.recall_at_k(scores, relevance, 2) == pytest.approx((0 + 2 / 3) / 2)


def test_k_larger_than_n_is_clamped():
    scores = np.array([[0.9, 0.8, 0.7, 0.6]])
    relevance = np.array([[0, 1, 0, 1]], dtype=bool)
    # full AP = (1/2 + 2/4) / 2 = 1/2, and k = 10 > n = 4 means the whole ranking
    assert M.map_at_k(scores, relevance, 10) == pytest.approx(0.5)
    assert M.map_at_k(scores, relevance, 10) == M.map_at_k(scores, relevance)
    assert M.precision_at_k(scores, relevance, 10) == pytest.approx(2 / 4)  # divides by min(k, n)
    assert M.recall_at_k(scores, relevance, 10) == pytest.approx(1.0)


def test_multi_label_relevance():
    query = np.array([[1, 0, 1], [0, 0, 0]])
    candidates = np.array([[0, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 0]])
    # query 0 holds labels {0, 2}: shares 2 with cand 0, 0 with cand 2; nothing with 1 and 3.
    # query 1 has no label: relevant to nothing.
    expected = [[True, False, True, False], [False, False, False, False]]
    assert M.label_relevance(query, candidates).tolist() == expected
    # class-id vectors: equal ids are relevant
    assert M.label_relevance(np.array([2, 0]), np.array([0, 2, 2])).tolist() == [[False, True, True], [True, False, False]]
    with pytest.raises(InputError):
        M.label_relevance(np.array([1, 0]), candidates)
    with pytest.raises(InputError):
        M.label_relevance(query, candidates[:, :2])


def test_pair_ranks_with_ties():
    row = [0.3, 0.7, 0.7, 0.7]
    scores = np.array([row] * 4)
    positive = np.array([2, 1, 3, 0])
    # ranking of each row: 1, 2, 3 (tied, index order), then 0
    # positive 2 -> rank 2, 1 -> rank 1, 3 -> rank 3, 0 -> rank 4
    assert M.pair_ranks(scores, positive).tolist() == [2, 1, 3, 4]
    assert M.mrr(scores, positive) == pytest.approx((1 / 2 + 1 + 1 / 3 + 1 / 4) / 4)
    assert M.hits_at_k(scores, positive, 1) == pytest.approx(1 / 4)
    assert M.hits_at_k(scores, positive, 3) == pytest.approx(3 / 4)
    assert M.hits_at_k(scores, positive, 10) == 1.0


def test_precision_recall_curve_hand_case():
    scores = np.array([[0.4, 0.3, 0.2, 0.1], [0.1, 0.2, 0.3, 0.4]])
    relevance = np.array([[1, 0, 1, 0], [0, 0, 0, 0]], dtype=bool)
    # query 0, rel by rank 1,0,1,0: precision 1, 1/2, 2/3, 1/2; recall 1/2, 1/2, 1, 1.
    # interpolated precision: levels <= 0.5 -> max(1, 1/2, 2/3, 1/2) = 1; levels > 0.5 -> 2/3.
    # query 1 has nothing relevant and is left out of the average.
    levels, precision = M.precision_recall_curve(scores, relevance)
    np.testing.assert_allclose(levels, np.linspace(0, 1, 11))
    np.testing.assert_allclose(precision, [1.0] * 6 + [2 / 3] * 5)
    _, none = M.precision_recall_curve(scores, np.zeros_like(relevance))
    np.testing.assert_array_equal(none, np.zeros(11))


def test_cosine_scores_zero_vectors_and_large_values():
    queries = np.array([[3.0, 4.0], [0.0, 0.0], [1e30, 0.0]])
    candidates = np.array([[1.0, 0.0], [0.0, 0.0], [-4.0, 3.0]])
    scores = M.cosine_scores(queries, candidates)
    assert scores.dtype == np.float32 and np.isfinite(scores).all()
    # (3,4)/5 . (1,0) = 0.6; (3,4)/5 . (-4,3)/5 = 0; zero vectors give 0; 1e30 does not overflow
    np.testing.assert_allclose(scores, [[0.6, 0, 0], [0, 0, 0], [1, 0, -0.8]], atol=1e-6)


# --------------------------------------------------------------------------- fast vs reference
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_label_metrics_match_reference(seed):
    scores, query_labels, candidate_labels = random_case(seed)
    relevance = M.label_relevance(query_labels, candidate_labels)
    np.testing.assert_array_equal(relevance, ref_relevance(query_labels, candidate_labels))
    ks = (1, 5, 20, 50)  # 50 > n = 23 checks the clamp
    expected = ref_label_metrics(scores, relevance, ks)
    for chunk in (None, 1, 4):
        got = M.score_metrics(scores, relevance, ks=ks, chunk=chunk)
        assert list(got) == list(expected)
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, abs=1e-12), key
            assert isinstance(got[key], float)
    for k in ks:
        assert M.map_at_k(scores, relevance, k) == pytest.approx(expected[f"map@{k}"], abs=1e-12)
        assert M.precision_at_k(scores, relevance, k) == pytest.approx(expected[f"precision@{k}"], abs=1e-12)
        assert M.recall_at_k(scores, relevance, k) == pytest.approx(expected[f"recall@{k}"], abs=1e-12)
    assert M.map_at_k(scores, relevance) == pytest.approx(expected["map"], abs=1e-12)
    order = M.rank_candidates(scores)
    assert order.dtype == np.int64
    assert order.tolist() == [ref_order(row) for row in scores]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_pair_metrics_match_reference(seed):
    scores, _, _ = random_case(seed, q=19, n=25)
    positive = np.random.default_rng(seed + 100).integers(0, 25, size=19)
    ranks = [ref_rank(row, p) for row, p in zip(scores, positive)]
    assert M.pair_ranks(scores, positive).tolist() == ranks
    assert M.pair_ranks(scores, positive, chunk=3).tolist() == ranks
    got = M.score_metrics(scores, positive_index=positive, chunk=5)
    assert got["mrr"] == pytest.approx(np.mean([1 / r for r in ranks]), abs=1e-12)
    assert M.mrr(scores, positive) == pytest.approx(got["mrr"], abs=1e-12)
    for k in (1, 3, 10):
        expected = np.mean([r <= k for r in ranks])
        assert got[f"hits@{k}"] == pytest.approx(expected, abs=1e-12)
        assert M.hits_at_k(scores, positive, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pr_curve_matches_reference(seed):
    scores, query_labels, candidate_labels = random_case(seed)
    relevance = M.label_relevance(query_labels, candidate_labels)
    for chunk in (None, 2):
        _, precision = M.precision_recall_curve(scores, relevance, chunk=chunk)
        np.testing.assert_allclose(precision, ref_pr_curve(scores, relevance), atol=1e-12)


# --------------------------------------------------------------------------- vectors and chunks
def integer_vectors(seed, n, d=3):
    # Small integers: dot products are exact in any summation order, and many cosines tie.
    return np.random.default_rng(seed).integers(-2, 3, size=(n, d)).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1])
def test_retrieval_metrics_chunked_equals_unchunked(seed, monkeypatch):
    queries, candidates = integer_vectors(seed, 40), integer_vectors(seed + 7, 60)
    rng = np.random.default_rng(seed)
    query_labels, candidate_labels = rng.random((40, 5)) < 0.3, rng.random((60, 5)) < 0.3
    whole = M.retrieval_metrics(queries, candidates, query_labels, candidate_labels, pair=True, chunk=None)
    for chunk in (1, 7, 40, 1000):
        got = M.retrieval_metrics(queries, candidates, query_labels, candidate_labels, pair=True, chunk=chunk)
        assert got == whole
    # the cell cap splits rows too (here: 2 queries per chunk)
    monkeypatch.setattr(M, "_MAX_CELLS", 120)
    assert M.retrieval_metrics(queries, candidates, query_labels, candidate_labels, pair=True) == whole
    # and the vector path agrees with the precomputed-score path
    scores = M.cosine_scores(queries, candidates)
    relevance = M.label_relevance(query_labels, candidate_labels)
    assert M.score_metrics(scores, relevance, positive_index=np.arange(40)) == whole
    expected = ref_label_metrics(scores, relevance, (5, 20, 50))
    for key, value in expected.items():
        assert whole[key] == pytest.approx(value, abs=1e-12), key


def test_retrieval_metrics_keys():
    queries, candidates = integer_vectors(3, 8), integer_vectors(4, 8)
    labels = np.arange(8) % 3
    labelled = M.retrieval_metrics(queries, candidates, labels, labels)
    assert list(labelled) == [
        "map@5", "map@20", "map@50", "map",
        "precision@5", "precision@20", "precision@50",
        "recall@5", "recall@20", "recall@50",
    ]
    paired = M.retrieval_metrics(queries, candidates, pair=True)
    assert list(paired) == ["mrr", "hits@1", "hits@3", "hits@10"]
    with pytest.raises(InputError):
        M.retrieval_metrics(queries, candidates)  # no ground truth
    with pytest.raises(InputError):
        M.retrieval_metrics(queries, candidates, labels, None)
    with pytest.raises(InputError):
        M.retrieval_metrics(queries, candidates[:, :2], pair=True)
    with pytest.raises(InputError):
        M.retrieval_metrics(queries, candidates[:5], pair=True)  # more queries than candidates


def test_cross_modal_directions_are_not_swapped():
    images = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    texts = np.array([[1.0, 0.0], [0.8, 0.6], [-1.0, 0.0]])
    # i2t, image queries: I0 scores texts (1, .8, -1) -> T0 first; I1 (0, .6, 0) -> T1 first;
    #   I2 (-1, -.8, 1) -> T2 first. Every pair at rank 1: mrr 1, hits@1 1.
    # t2i, text queries: T0 scores images (1, 0, -1) -> I0 first; T1 (.8, .6, -.8) -> I0 first,
    #   I1 second; T2 (-1, 0, 1) -> I2 first. Ranks 1, 2, 1: mrr (1 + 1/2 + 1) / 3, hits@1 2/3.
    result = M.cross_modal_metrics(images, texts)
    assert set(result) == {"i2t", "t2i"}
    assert result["i2t"]["mrr"] == pytest.approx(1.0)
    assert result["i2t"]["hits@1"] == pytest.approx(1.0)
    assert result["t2i"]["mrr"] == pytest.approx(2.5 / 3)
    assert result["t2i"]["hits@1"] == pytest.approx(2 / 3)
    # with labels the default is the label protocol; pair=True adds the pair metrics
    labels = np.array([[1, 0], [0, 1], [1, 1]])
    labelled = M.cross_modal_metrics(images, texts, labels)
    assert "map" in labelled["i2t"] and "mrr" not in labelled["i2t"]
    both = M.cross_modal_metrics(images, texts, labels, pair=True)
    assert both["t2i"]["mrr"] == pytest.approx(2.5 / 3)
    assert both["t2i"]["map"] == labelled["t2i"]["map"]
    with pytest.raises(InputError):
        M.cross_modal_metrics(images, texts[:2])


def test_bad_inputs_raise_input_error():
    scores = np.array([[0.1, 0.2]])
    relevance = np.array([[True, False]])
    with pytest.raises(InputError):
        M.map_at_k(scores, relevance, 0)
    with pytest.raises(InputError):
        M.map_at_k(np.array([[np.nan, 0.1]]), relevance)
    with pytest.raises(InputError):
        M.map_at_k(scores, relevance[:, :1])
    with pytest.raises(InputError):
        M.pair_ranks(scores, np.array([2]))
    with pytest.raises(InputError):
        M.pair_ranks(scores, np.array([0.5]))
    with pytest.raises(InputError):
        M.score_metrics(scores)
    with pytest.raises(InputError):
        M.rank_candidates(np.zeros((0, 3)))
    with pytest.raises(InputError):
        M.cosine_scores(np.ones((2, 3)), np.ones((2, 4)))


# --------------------------------------------------------------------------- model selection score
def exact_orders(queries, candidates):
    """Each query's candidate order by exact cosine, ties by ascending index. The float inputs
    are exact binary fractions, so Fractions give the true order: cos(q, c) ranks as
    sign(q·c) (q·c)² / (‖q‖² ‖c‖²) (0 for a zero vector), and equal cosines are real ties,
    whatever floating point would have made of them."""
    from fractions import Fraction

    def rows(vectors):
        exact = [[Fraction(float(v)) for v in row] for row in vectors]
        return [(row, sum(v * v for v in row)) for row in exact]

    def key(q, c):
        (qv, qq), (cv, cc) = q, c
        if qq == 0 or cc == 0:
            return Fraction(0)
        dot = sum(a * b for a, b in zip(qv, cv))
        return ((dot > 0) - (dot < 0)) * dot * dot / (qq * cc)

    query_rows, candidate_rows = rows(queries), rows(candidates)
    orders = []
    for q in query_rows:
        keys = [key(q, c) for c in candidate_rows]
        orders.append(sorted(range(len(keys)), key=lambda j: (-keys[j], j)))
    return orders


def exact_map(orders, relevance):
    from fractions import Fraction

    aps = []
    for order, rel in zip(orders, relevance):
        found, total = 0, Fraction(0)
        for r, j in enumerate(order, start=1):
            if rel[j]:
                found += 1
                total += Fraction(found, r)
        aps.append(total / found if found else Fraction(0))
    return sum(aps) / len(aps)


def exact_mrr(orders):
    from fractions import Fraction

    return sum(Fraction(1, order.index(i) + 1) for i, order in enumerate(orders)) / len(orders)


def tie_case(kind, seed, n=37, d=24):
    """(images, texts, multi-hot labels): float32 Gaussians (no ties), one-hot rows and ±1
    sign vectors (Hamming ties; 24 bits is not a power of 4, which once broke exact ties),
    each with some zero rows and some unlabelled rows."""
    rng = np.random.default_rng(seed)
    if kind == "gaussian":
        a, b = rng.normal(size=(n, d)).astype(np.float32), rng.normal(size=(n, d)).astype(np.float32)
    elif kind == "one-hot":
        a, b = np.eye(d)[rng.integers(0, 4, n)], np.eye(d)[rng.integers(0, 4, n)]
    else:
        a, b = np.where(rng.random((n, d)) < 0.5, 1.0, -1.0), np.where(rng.random((n, d)) < 0.5, 1.0, -1.0)
    a[rng.random(n) < 0.1] = 0
    b[rng.random(n) < 0.1] = 0
    return a, b, (rng.random((n, 3)) < 0.4).astype(np.float32)


@pytest.mark.parametrize("kind", ["gaussian", "one-hot", "signs"])
@pytest.mark.parametrize("seed", [0, 1])
def test_cross_modal_score_matches_exact_reference(kind, seed):
    # The early-stopping score: ½ (i2t + t2i) full map with labels, ½ (i2t + t2i) pair mrr
    # without, against exact rational arithmetic (ties by index); equal to the reported metrics.
    images, texts, labels = tie_case(kind, seed)
    relevance = ref_relevance(labels, labels)
    i2t, t2i = exact_orders(images, texts), exact_orders(texts, images)
    expected_map = (exact_map(i2t, relevance) + exact_map(t2i, relevance)) / 2
    assert M.cross_modal_score(images, texts, labels) == pytest.approx(float(expected_map), abs=1e-12)
    assert M.cross_modal_score(images, texts) == pytest.approx(float((exact_mrr(i2t) + exact_mrr(t2i)) / 2), abs=1e-12)
    for dtype in (np.float32, np.float64):
        reported = M.cross_modal_metrics(images, texts, labels, ks=(), dtype=dtype)
        assert reported["i2t"]["map"] == pytest.approx(float(exact_map(i2t, relevance)), abs=1e-12)


@pytest.mark.parametrize("bits", [12, 24, 32, 48])
def test_sign_vector_cosine_ties_are_hamming_ties(bits):
    # cos = 1 - 2·hamming / bits for every pair, with equal distances scoring exactly equal,
    # whatever the number of bits (float64 unit rows made 24- or 32-bit ties differ by an ulp).
    rng = np.random.default_rng(bits)
    a, b = np.where(rng.random((30, bits)) < 0.5, 1.0, -1.0), np.where(rng.random((50, bits)) < 0.5, 1.0, -1.0)
    hamming = (bits - a @ b.T) / 2
    for dtype in (np.float32, np.float64):
        scores = M.cosine_scores(a, b, dtype=dtype)
        assert scores.dtype == dtype
        for row, distances in zip(scores, hamming):
            for distance in np.unique(distances):
                assert len(np.unique(row[distances == distance])) == 1
        np.testing.assert_array_equal(M.rank_candidates(scores), M.rank_candidates(-hamming))


def test_cross_modal_score_float64_separates_near_ties():
    # Two texts whose cosines with the image differ by ~1e-9: float32 rounds them to a tie
    # (index order wins), float64 keeps the better one first.
    images = np.array([[1.0, 0.0]])
    texts = np.array([[1.0, 2e-5], [1.0, 1e-5]])
    assert M.mrr(M.cosine_scores(images, texts), np.array([1])) == 0.5  # float32: tied, index 0 first
    assert M.mrr(M.cosine_scores(images, texts, dtype=np.float64), np.array([1])) == 1.0


def test_cross_modal_score_of_diverged_vectors_is_minus_infinity():
    # A network that diverged to NaN must never be kept as the best epoch.
    good = np.eye(3)
    assert M.cross_modal_score(good, good) == 1.0
    assert M.cross_modal_score(good * np.nan, good) == float("-inf")
    assert M.cross_modal_score(good, np.where(good > 0, np.inf, 0.0), np.eye(3)) == float("-inf")
    with pytest.raises(InputError):
        M.cosine_scores(good, good, dtype=np.int64)
