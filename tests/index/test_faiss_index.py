"""FAISS flat and HNSW indexes against the exact index (the oracle), the tie rule included.

Random float data compare ids as sets within tie groups (float32 sums round differently per
library); data with exact ties (integer entries, duplicated vectors) compare ids exactly.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("faiss")

from scicmr.errors import InputError, LibraryError, MissingDependencyError  # noqa: E402
from scicmr.index import create_index, load_index, recall_at_k_against  # noqa: E402
from scicmr.index.faiss_index import FaissFlatIndex, FaissHNSWIndex  # noqa: E402

TOL = 1e-6


def clustered(seed, n, d=32, q=100, clusters=20):
    """Seeded gaussian clusters: items and queries from the same mixture."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d)) * 3
    items = centres[rng.integers(clusters, size=n)] + rng.normal(size=(n, d))
    queries = centres[rng.integers(clusters, size=q)] + rng.normal(size=(q, d))
    ids = rng.permutation(5 * n)[:n].astype(np.int64)
    return items.astype(np.float32), ids, queries.astype(np.float32)


def assert_same_topk(want_scores, want_ids, got_scores, got_ids, true_scores, all_ids, tol=TOL):
    """Top-k agreement where ties may be broken differently.

    Scores must match position by position. Ids must match as sets within each tie group:
    everything scoring clearly above the k-th exact score is returned, and every returned id
    truly scores at least the k-th score (within ``tol``, relative to the score's size when
    that exceeds 1: float32 sums of large terms round differently per library).
    ``true_scores`` is (q, n) over ``all_ids``.
    """
    np.testing.assert_allclose(got_scores, want_scores, rtol=1e-5, atol=1e-5)
    lookup = {int(i): j for j, i in enumerate(all_ids)}
    for row in range(len(want_ids)):
        real = want_ids[row] >= 0
        np.testing.assert_array_equal(got_ids[row] >= 0, real)  # same padding
        kth = want_scores[row][real].min() if real.any() else np.inf
        row_tol = tol * max(1.0, abs(float(kth))) if real.any() else tol
        clear = set(want_ids[row][want_scores[row] > kth + row_tol].tolist())
        got = got_ids[row][got_ids[row] >= 0]
        assert len(set(got.tolist())) == len(got), "duplicate ids in one result row"
        assert clear <= set(got.tolist())
        assert all(true_scores[row, lookup[int(i)]] >= kth - row_tol for i in got)


def true_scores_of(index_kind_metric, vectors, queries):
    if index_kind_metric == "cosine":
        vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        queries = queries / np.linalg.norm(queries, axis=1, keepdims=True)
    return queries.astype(np.float64) @ vectors.astype(np.float64).T


# ---------------------------------------------------------------------------- flat
@pytest.mark.parametrize("metric", ["cosine", "ip"])
def test_flat_equals_exact_on_random_data(metric):
    vectors, ids, queries = clustered(0, n=1500)
    exact, flat = create_index("exact", 32, metric=metric), create_index("flat", 32, metric=metric)
    for index in (exact, flat):
        index.add(vectors, ids)
    want, got = exact.search(queries, 10), flat.search(queries, 10)
    assert got[0].dtype == np.float32 and got[1].dtype == np.int64
    assert_same_topk(*want, *got, true_scores_of(metric, vectors, queries), ids)


def test_flat_equals_exact_with_many_ties():
    rng = np.random.default_rng(1)
    vectors = rng.integers(-1, 2, size=(400, 4)).astype(np.float32)  # exact float sums, many ties
    queries = rng.integers(-1, 2, size=(30, 4)).astype(np.float32)
    ids = rng.permutation(2000)[:400].astype(np.int64)
    exact, flat = create_index("exact", 4, metric="ip"), create_index("flat", 4, metric="ip")
    for index in (exact, flat):
        index.add(vectors, ids)
    want, got = exact.search(queries, 25), flat.search(queries, 25)
    np.testing.assert_array_equal(got[0], want[0])  # integer scores: exact equality
    assert_same_topk(*want, *got, true_scores_of("ip", vectors, queries), ids)
    # Within the returned k, equal scores come back by ascending id, like the exact index.
    for scores_row, ids_row in zip(*got):
        for score in np.unique(scores_row):
            same = ids_row[scores_row == score]
            assert (np.diff(same) > 0).all()


def test_flat_keeps_the_smallest_ids_among_identical_vectors():
    # 20 identical vectors under ids 19..0: every score ties, so the top 5 are ids 0..4.
    vectors = np.ones((20, 8), dtype=np.float32)
    ids = np.arange(19, -1, -1)
    for kind in ("exact", "flat", "hnsw"):
        index = create_index(kind, 8)
        index.add(vectors, ids)
        _, got = index.search(np.ones((3, 8), np.float32), 5)
        np.testing.assert_array_equal(got, np.tile(np.arange(5), (3, 1)), err_msg=kind)


def tie_heavy(seed, n, q, d=16, patterns=9):
    """±1 vectors from a few patterns, ids not in storage order: many ties, all sums exact.

    Every norm is sqrt(16) = 4, so cosine-normalised entries are ±0.25 and every score (ip
    or cosine) is exact in float32 whatever the summation order: ties are true ties in
    every library.
    """
    rng = np.random.default_rng(seed)
    base = rng.choice([-1.0, 1.0], size=(patterns, d))
    vectors = base[rng.integers(patterns, size=n)].astype(np.float32)
    queries = rng.choice([-1.0, 1.0], size=(q, d)).astype(np.float32)
    return vectors, rng.permutation(10 * n)[:n].astype(np.int64), queries


@pytest.mark.parametrize("metric", ["ip", "cosine"])
@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_every_kind_follows_the_tie_rule_of_exact(kind, metric):
    # Small enough that HNSW with a wide ef_search visits everything: then it too must agree exactly.
    vectors, ids, queries = tie_heavy(5, n=300, q=40)
    exact = create_index("exact", 16, metric=metric)
    fast = create_index(kind, 16, metric=metric, **({"ef_search": 400} if kind == "hnsw" else {}))
    for index in (exact, fast):
        index.add(vectors, ids)
    for k in (1, 5, 37, 300, 310):
        (want_scores, want_ids), (got_scores, got_ids) = exact.search(queries, k), fast.search(queries, k)
        np.testing.assert_array_equal(got_ids, want_ids, err_msg=f"{kind} k={k}")
        np.testing.assert_array_equal(got_scores, want_scores)


def test_flat_remove_and_padding():
    vectors, ids, queries = clustered(2, n=40, q=10)
    exact, flat = create_index("exact", 32), create_index("flat", 32)
    for index in (exact, flat):
        index.add(vectors, ids)
        assert index.remove(ids[5:]) == 35
    want, got = exact.search(queries, 8), flat.search(queries, 8)
    assert (got[1][:, 5:] == -1).all() and np.isneginf(got[0][:, 5:]).all()
    assert_same_topk(*want, *got, true_scores_of("cosine", vectors[:5], queries), ids[:5])
    assert set(flat.ids.tolist()) == set(ids[:5].tolist())
    with pytest.raises(InputError, match="not in the index"):
        flat.remove([ids[20]])


def test_flat_empty_index_pads():
    scores, ids = create_index("flat", 3).search(np.ones((2, 3), np.float32), 3)
    assert (ids == -1).all() and np.isneginf(scores).all()


# ---------------------------------------------------------------------------- hnsw
def test_hnsw_recall_at_10_against_exact():
    vectors, ids, queries = clustered(3, n=3000, q=200)
    exact = create_index("exact", 32)
    hnsw = create_index("hnsw", 32, M=16, ef_construction=100, ef_search=64)
    for index in (exact, hnsw):
        index.add(vectors, ids)
    (_, want_ids), (got_scores, got_ids) = exact.search(queries, 10), hnsw.search(queries, 10)
    assert recall_at_k_against(want_ids, got_ids, 10) >= 0.95
    # Whatever HNSW returns carries its true score, in descending order.
    true = true_scores_of("cosine", vectors, queries)
    column = {int(i): j for j, i in enumerate(ids)}
    for row in range(len(queries)):
        expected = [true[row, column[int(i)]] for i in got_ids[row]]
        np.testing.assert_allclose(got_scores[row], expected, atol=1e-5)
    assert (np.diff(got_scores, axis=1) <= 0).all()


def test_hnsw_params_and_remove():
    index = create_index("hnsw", 8)
    assert index.params == {"M": 32, "ef_construction": 200, "ef_search": 128}
    index.add(np.eye(8, dtype=np.float32), np.arange(8))
    with pytest.raises(InputError, match="rebuild"):
        index.remove([1])
    index.ef_search = 16
    assert index.ef_search == 16 and index.params["ef_search"] == 16
    with pytest.raises(InputError, match="ef_search"):
        index.ef_search = 0
    with pytest.raises(InputError, match="M must be"):
        create_index("hnsw", 8, M=1)
    with pytest.raises(InputError, match="no parameter"):
        create_index("flat", 8, M=16)


# ---------------------------------------------------------------------------- persistence
@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_save_load_identity(tmp_path, kind):
    vectors, ids, queries = clustered(4, n=600, q=40)
    index = create_index(kind, 32, ef_search=40) if kind == "hnsw" else create_index(kind, 32)
    index.add(vectors, ids)
    if kind == "flat":
        index.remove(ids[:50])
    index.save(tmp_path / kind)
    loaded = load_index(tmp_path / kind)
    assert type(loaded) is type(index) and loaded.params == index.params and len(loaded) == len(index)
    np.testing.assert_array_equal(np.sort(loaded.ids), np.sort(index.ids))
    for got, want in zip(loaded.search(queries, 10), index.search(queries, 10)):
        np.testing.assert_array_equal(got, want)
    if kind == "hnsw":  # ef_search is restored, and can still be changed after load
        assert loaded.ef_search == 40
        loaded.ef_search = 200
        index.ef_search = 200
        for got, want in zip(loaded.search(queries, 10), index.search(queries, 10)):
            np.testing.assert_array_equal(got, want)


def test_load_wrong_kind_and_damaged(tmp_path):
    index = create_index("flat", 4)
    index.add(np.eye(4, dtype=np.float32), np.arange(4))
    index.save(tmp_path / "flat")
    with pytest.raises(InputError, match="holds a 'flat' index"):
        FaissHNSWIndex.load(tmp_path / "flat")
    (tmp_path / "flat" / "index.faiss").write_bytes(b"not an index")
    with pytest.raises(LibraryError, match="not a readable FAISS index"):
        load_index(tmp_path / "flat")


def test_faiss_errors_match_exact():
    index = create_index("flat", 4)
    index.add(np.eye(4, dtype=np.float32), np.arange(4))
    with pytest.raises(InputError, match="already in the index"):
        index.add(np.eye(4, dtype=np.float32)[:1], [2])
    with pytest.raises(InputError, match="dimension 3 but the index has dimension 4"):
        index.search(np.ones((1, 3), np.float32), 2)
    with pytest.raises(InputError, match="k must be"):
        index.search(np.ones((1, 4), np.float32), 0)


def test_missing_faiss_raises_missing_dependency(monkeypatch):
    monkeypatch.setitem(sys.modules, "faiss", None)  # makes `import faiss` fail
    with pytest.raises(MissingDependencyError, match="faiss-cpu"):
        create_index("flat", 4)
    with pytest.raises(MissingDependencyError):
        FaissFlatIndex(4)
