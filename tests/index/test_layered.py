"""A layered index (shared base + exact delta + dead rows) ranks exactly like one exact index
over the live rows; RowBlocks reads like the matrix it splits."""

import numpy as np
import pytest

from scicmr.index import create_index
from scicmr.index.base import normalise_rows
from scicmr.index.layered import LayeredIndex, RowBlocks


def _exact_live(vectors, dead, queries, k):
    live = np.flatnonzero(~dead)
    index = create_index("exact", vectors.shape[1])
    index.add(vectors[live], live.astype(np.int64))
    return index.search(queries, k)


@pytest.mark.parametrize("base_kind", ["exact", "flat"])
def test_base_plus_delta_minus_dead_equals_exact(base_kind):
    rng = np.random.default_rng(0)
    vectors = normalise_rows(rng.normal(size=(300, 16)).astype(np.float32))  # the delta holds unit rows
    vectors[250:260] = vectors[10]  # ties across base and delta
    base = create_index(base_kind, 16)
    base.add(vectors[:200], np.arange(200))
    layered = LayeredIndex(base, vectors[200:])
    dead = np.zeros(300, bool)
    dead[[10, 3, 205, 299]] = True
    layered = layered.without(np.flatnonzero(dead))
    queries = np.vstack([vectors[10], rng.normal(size=(5, 16))]).astype(np.float32)
    for k in (1, 5, 40):
        got, want = layered.search(queries, k), _exact_live(vectors, dead, queries, k)
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_allclose(got[0], want[0], atol=1e-5)
    assert len(layered) == 296


def test_growing_shares_the_base_and_pads_when_short():
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(6, 4)).astype(np.float32)
    base = create_index("exact", 4)
    base.add(vectors[:3], np.arange(3))
    grown = LayeredIndex(base, np.zeros((0, 4), np.float32)).extended(vectors[3:5]).extended(vectors[5:])
    assert grown.base is base and len(grown) == 6
    scores, rows = grown.without([0, 1, 2, 3, 4]).search(vectors[:1], 3)
    assert rows.tolist() == [[5, -1, -1]] and np.isinf(scores[0, 1:]).all()


def test_row_blocks_read_like_one_matrix():
    rng = np.random.default_rng(2)
    whole = rng.normal(size=(10, 3)).astype(np.float32)
    blocks = RowBlocks([whole[:4], whole[4:5]]).appended(whole[5:])
    assert blocks.shape == (10, 3) and len(blocks) == 10
    q = rng.normal(size=(3, 2)).astype(np.float32)
    np.testing.assert_allclose(blocks @ q, whole @ q, rtol=1e-6)
    rows = np.array([9, 0, 4, 4, 5])
    np.testing.assert_array_equal(blocks[rows], whole[rows])
    np.testing.assert_array_equal(blocks[whole[:, 0] > 0], whole[whole[:, 0] > 0])
    np.testing.assert_array_equal(np.asarray(blocks.tail(3)), whole[3:])
    np.testing.assert_array_equal(np.asarray(blocks), whole)


def test_chained_rows_read_like_one_tuple():
    from scicmr.index.layered import ChainedRows

    rows = ChainedRows([("a", "b"), ()]).appended(["c", "a"]).appended(("d",))
    assert len(rows) == 5 and list(rows) == ["a", "b", "c", "a", "d"] and rows == ("a", "b", "c", "a", "d")
    assert rows[3] == "a" and rows[-1] == "d" and rows[np.int64(2)] == "c" and rows[1:3] == ("b", "c")
    assert rows.index("a") == 0 and rows.index("a", 1) == 3 and rows.index("d", 4) == 4
    with pytest.raises(ValueError):
        rows.index("a", 4)
    with pytest.raises(IndexError):
        rows[5]
