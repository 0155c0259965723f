"""Exact index against a slow, obviously-correct loop; contract checks shared by every kind."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from scicmr.errors import InputError, LibraryError
from scicmr.index import create_index, load_index, recall_at_k_against
from scicmr.index.exact import ExactIndex, top_k_rows


def reference_search(vectors, ids, queries, k, metric="ip"):
    """Python loop: score every item in float64, sort by (-score, id), keep k, pad."""
    vectors = np.asarray(vectors, dtype=np.float64)
    queries = np.asarray(queries, dtype=np.float64)
    if metric == "cosine":
        vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-300)
        queries = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-300)
    out_scores = np.full((len(queries), k), -np.inf)
    out_ids = np.full((len(queries), k), -1, dtype=np.int64)
    for qi, query in enumerate(queries):
        pairs = []
        for vector, item_id in zip(vectors, ids):
            pairs.append((float(sum(a * b for a, b in zip(query, vector))), int(item_id)))
        pairs.sort(key=lambda pair: (-pair[0], pair[1]))
        for j, (score, item_id) in enumerate(pairs[:k]):
            out_scores[qi, j] = score
            out_ids[qi, j] = item_id
    return out_scores, out_ids


def integer_data(seed, n, d=4, q=20):
    """Vectors with entries in {-1, 0, 1}: float32 dot products are exact and ties abound."""
    rng = np.random.default_rng(seed)
    vectors = rng.integers(-1, 2, size=(n, d)).astype(np.float32)
    queries = rng.integers(-1, 2, size=(q, d)).astype(np.float32)
    ids = rng.permutation(10 * n)[:n].astype(np.int64)  # ids not in storage order
    return vectors, ids, queries


# ---------------------------------------------------------------------------- exact vs loop
@pytest.mark.parametrize("k", [1, 3, 17, 60, 60 + 25])
@pytest.mark.parametrize("block_mb", [64, 1e-6])  # 1e-6 forces one query per block
def test_exact_matches_loop_with_many_ties(k, block_mb):
    vectors, ids, queries = integer_data(0, n=60)
    index = create_index("exact", 4, metric="ip", block_mb=block_mb)
    index.add(vectors, ids)
    scores, got_ids = index.search(queries, k)
    ref_scores, ref_ids = reference_search(vectors, ids, queries, k)
    assert scores.dtype == np.float32 and got_ids.dtype == np.int64
    assert scores.shape == got_ids.shape == (len(queries), k)
    np.testing.assert_array_equal(got_ids, ref_ids)
    np.testing.assert_array_equal(scores, ref_scores.astype(np.float32))


def test_ties_cut_by_the_partition_keep_smallest_ids():
    # Every score ties: the answer must be the k smallest ids whatever argpartition picks.
    ids = np.array([90, 10, 70, 30, 50, 20, 80, 60, 40, 0], dtype=np.int64)
    scores = np.ones((3, len(ids)), dtype=np.float32)
    scores[1, 4] = 2.0  # one clear winner, then ties
    scores[2] = np.array([3, 1, 1, 2, 1, 1, 0, 1, 1, 1], dtype=np.float32)
    top_scores, top_ids = top_k_rows(scores, ids, 4)
    np.testing.assert_array_equal(top_ids[0], [0, 10, 20, 30])
    np.testing.assert_array_equal(top_ids[1], [50, 0, 10, 20])
    np.testing.assert_array_equal(top_ids[2], [90, 30, 0, 10])
    np.testing.assert_array_equal(top_scores[2], [3, 2, 1, 1])


def test_padding_when_fewer_items_than_k():
    vectors, ids, queries = integer_data(1, n=5, q=3)
    index = create_index("exact", 4, metric="ip")
    index.add(vectors, ids)
    scores, got_ids = index.search(queries, 8)
    ref_scores, ref_ids = reference_search(vectors, ids, queries, 8)
    np.testing.assert_array_equal(got_ids, ref_ids)
    assert (got_ids[:, 5:] == -1).all() and np.isneginf(scores[:, 5:]).all()
    np.testing.assert_array_equal(scores[:, :5], ref_scores[:, :5].astype(np.float32))


def test_empty_index_and_empty_queries():
    index = create_index("exact", 3)
    scores, ids = index.search(np.ones((2, 3), np.float32), 4)
    assert (ids == -1).all() and np.isneginf(scores).all() and scores.shape == (2, 4)
    index.add(np.ones((2, 3), np.float32), [0, 1])
    scores, ids = index.search(np.empty((0, 3), np.float32), 4)
    assert scores.shape == ids.shape == (0, 4)


def test_cosine_normalises_vectors_and_queries():
    rng = np.random.default_rng(2)
    base = rng.normal(size=(200, 8))
    vectors = (base * rng.uniform(0.01, 100.0, size=(200, 1))).astype(np.float32)  # wild norms
    queries = (rng.normal(size=(15, 8)) * 50).astype(np.float32)
    ids = np.arange(200, dtype=np.int64)
    index = create_index("exact", 8)  # cosine is the default
    index.add(vectors, ids)
    scores, got_ids = index.search(queries, 10)
    ref_scores, ref_ids = reference_search(vectors, ids, queries, 11, metric="cosine")
    np.testing.assert_allclose(scores, ref_scores[:, :10], atol=1e-5)
    assert np.all(scores <= 1.0 + 1e-5)
    # This seed has no near-ties (the 11th item included), so the ids must agree exactly.
    assert np.abs(np.diff(ref_scores, axis=1)).min() > 1e-5
    np.testing.assert_array_equal(got_ids, ref_ids[:, :10])


def test_cosine_zero_vector_scores_zero_not_nan():
    index = create_index("exact", 3)
    index.add(np.array([[0, 0, 0], [1, 0, 0]], np.float32), [7, 8])
    scores, ids = index.search(np.array([[-1, 0, 0], [0, 0, 0]], np.float32), 2)
    assert np.isfinite(scores).all()
    np.testing.assert_array_equal(ids, [[7, 8], [7, 8]])  # second row: both 0, ties by id
    np.testing.assert_array_equal(scores, [[0, -1], [0, 0]])


def test_incremental_adds_equal_one_add():
    vectors, ids, queries = integer_data(3, n=300)
    whole = create_index("exact", 4, metric="ip")
    whole.add(vectors, ids)
    pieces = create_index("exact", 4, metric="ip")
    for start in range(0, 300, 7):  # many small adds exercise buffer growth
        pieces.add(vectors[start : start + 7], ids[start : start + 7])
    assert len(pieces) == 300
    for got, want in zip(pieces.search(queries, 20), whole.search(queries, 20)):
        np.testing.assert_array_equal(got, want)


def test_remove_matches_loop_on_remaining_items():
    vectors, ids, queries = integer_data(4, n=80)
    index = create_index("exact", 4, metric="ip")
    index.add(vectors, ids)
    gone = ids[::3]
    assert index.remove(gone) == len(gone)
    keep = ~np.isin(ids, gone)
    assert len(index) == keep.sum() and set(index.ids) == set(ids[keep])
    ref_scores, ref_ids = reference_search(vectors[keep], ids[keep], queries, 12)
    scores, got_ids = index.search(queries, 12)
    np.testing.assert_array_equal(got_ids, ref_ids)
    np.testing.assert_array_equal(scores, ref_scores.astype(np.float32))
    index.add(vectors[:1], gone[:1])  # a removed id can be used again
    assert len(index) == keep.sum() + 1


def test_remove_unknown_id_removes_nothing():
    index = create_index("exact", 2)
    index.add(np.eye(2, dtype=np.float32), [1, 2])
    with pytest.raises(InputError, match="not in the index"):
        index.remove([2, 99])
    assert len(index) == 2


# ---------------------------------------------------------------------------- persistence
def test_save_load_identity(tmp_path):
    vectors, ids, queries = integer_data(5, n=120)
    index = create_index("exact", 4, metric="cosine", block_mb=1)
    index.add(vectors, ids)
    index.remove(ids[:10])
    index.save(tmp_path / "idx")
    loaded = load_index(tmp_path / "idx")
    assert isinstance(loaded, ExactIndex)
    assert (loaded.dim, loaded.metric, loaded.params, len(loaded)) == (4, "cosine", {"block_mb": 1}, 110)
    for got, want in zip(loaded.search(queries, 15), index.search(queries, 15)):
        np.testing.assert_array_equal(got, want)
    from scicmr._io import read_json

    config = read_json(tmp_path / "idx" / "config.json")
    assert config["kind"] == "exact" and config["count"] == 110 and "scicmr_version" in config


def test_save_replaces_previous_directory(tmp_path):
    index = create_index("exact", 2)
    index.add(np.eye(2, dtype=np.float32), [1, 2])
    index.save(tmp_path / "idx")
    index.add(np.ones((1, 2), np.float32), [3])
    index.save(tmp_path / "idx")
    assert len(load_index(tmp_path / "idx")) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["idx"]  # no temporary leftovers


def test_load_errors(tmp_path):
    with pytest.raises(LibraryError, match="not a saved index"):
        load_index(tmp_path / "missing")
    index = create_index("exact", 2)
    index.add(np.eye(2, dtype=np.float32), [1, 2])
    index.save(tmp_path / "idx")
    from scicmr._io import atomic_write_json, read_json

    config = read_json(tmp_path / "idx" / "config.json")
    atomic_write_json(tmp_path / "idx" / "config.json", {**config, "count": 5})
    with pytest.raises(LibraryError, match="damaged"):
        load_index(tmp_path / "idx")
    atomic_write_json(tmp_path / "idx" / "config.json", {**config, "kind": "nope"})
    with pytest.raises(InputError, match="exact, flat, hnsw"):
        load_index(tmp_path / "idx")


# ---------------------------------------------------------------------------- input errors
def test_add_errors_name_the_problem():
    index = create_index("exact", 3)
    index.add(np.ones((2, 3), np.float32), [0, 1])
    with pytest.raises(InputError, match="already in the index"):
        index.add(np.ones((1, 3), np.float32), [1])
    with pytest.raises(InputError, match="duplicate ids"):
        index.add(np.ones((2, 3), np.float32), [5, 5])
    with pytest.raises(InputError, match="dimension 4 but the index has dimension 3"):
        index.add(np.ones((1, 4), np.float32), [9])
    with pytest.raises(InputError, match="2 ids for 1 vectors"):
        index.add(np.ones((1, 3), np.float32), [9, 10])
    with pytest.raises(InputError, match=">= 0"):
        index.add(np.ones((1, 3), np.float32), [-1])
    with pytest.raises(InputError, match="integers"):
        index.add(np.ones((1, 3), np.float32), [1.5])
    with pytest.raises(InputError, match="NaN"):
        index.add(np.full((1, 3), np.nan, np.float32), [9])
    assert len(index) == 2  # failed adds store nothing


def test_search_errors_name_the_problem():
    index = create_index("exact", 3)
    index.add(np.ones((2, 3), np.float32), [0, 1])
    with pytest.raises(InputError, match="dimension 5 but the index has dimension 3"):
        index.search(np.ones((1, 5), np.float32), 1)
    with pytest.raises(InputError, match="2-D"):
        index.search(np.ones(3, np.float32), 1)
    for bad_k in (0, -2, 1.5, True, "3"):
        with pytest.raises(InputError, match="k must be"):
            index.search(np.ones((1, 3), np.float32), bad_k)


def test_factory_errors():
    with pytest.raises(InputError, match="exact, flat, hnsw"):
        create_index("annoy", 4)
    with pytest.raises(InputError, match="cosine, ip"):
        create_index("exact", 4, metric="l2")
    with pytest.raises(InputError, match="no parameter"):
        create_index("exact", 4, M=8)
    with pytest.raises(InputError, match="dim"):
        create_index("exact", 0)


# ---------------------------------------------------------------------------- recall helper
def test_recall_at_k_against_loop():
    rng = np.random.default_rng(6)
    exact = np.array([rng.permutation(30)[:10] for _ in range(25)])
    approx = np.array([rng.permutation(30)[:10] for _ in range(25)])
    expected = np.mean([len(set(e[:5]) & set(a[:5])) / 5 for e, a in zip(exact, approx)])
    assert recall_at_k_against(exact, approx, 5) == pytest.approx(expected)
    assert recall_at_k_against(exact, exact, 10) == 1.0
    # Padding is ignored; a query with no true neighbours is skipped.
    assert recall_at_k_against([[3, -1], [-1, -1]], [[3, 4], [1, 2]], 2) == 1.0
    assert recall_at_k_against([[3, 4]], [[4, -1]], 2) == 0.5
    with pytest.raises(InputError, match="columns"):
        recall_at_k_against(exact, approx, 11)
    with pytest.raises(InputError, match="same q"):
        recall_at_k_against(exact, approx[:3], 5)


def test_import_does_not_load_faiss():
    code = "import sys, scicmr.index, scicmr.index.exact; sys.exit('faiss' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_tie_helper_keeps_smallest_ids_whatever_the_back_end_returns():
    # A back end that returns an arbitrary subset of boundary ties (largest ids first, like
    # FAISS on the reported case): the helper must refetch until the ties are all seen.
    from scicmr.index.base import top_k_settling_ties

    keys_of = np.array([0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 3.0], dtype=np.float32)
    item_ids = np.array([50, 9, 8, 7, 6, 5, 4, 3, 2, 1], dtype=np.int64)
    calls = []

    def fetch(queries, m):
        calls.append(m)
        order = np.lexsort((-item_ids, keys_of))[:m]  # ties by *descending* id: the wrong subset
        return np.tile(keys_of[order], (len(queries), 1)), np.tile(item_ids[order], (len(queries), 1))

    keys, ids = top_k_settling_ties(fetch, np.zeros((2, 1)), 3, len(item_ids), np.inf)
    np.testing.assert_array_equal(ids, [[50, 4, 5], [50, 4, 5]])
    np.testing.assert_array_equal(keys, [[0, 1, 1], [0, 1, 1]])
    assert calls == [6, 10]  # 2k first, then doubled (capped at n) because the 6th still tied
