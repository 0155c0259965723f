"""Hamming indexes against a slow popcount reference, including the tie rule."""

from __future__ import annotations

import numpy as np
import pytest

from scicmr.errors import InputError
from scicmr.hashing import pack_codes
from scicmr.index import create_index, load_index, recall_at_k_against

KINDS = ("hamming-exact", "hamming-flat", "hamming-hnsw", "hamming-ivf")


def slow_top_k(queries, codes, ids, k, bits):
    """Bit-by-bit distances, then sort by (distance, id): the stated rule, written plainly."""
    out_d, out_ids = [], []
    for q in queries:
        qbits = np.unpackbits(q)[:bits]
        rows = []
        for code, item in zip(codes, ids):
            rows.append((int((np.unpackbits(code)[:bits] != qbits).sum()), int(item)))
        rows.sort()
        rows = rows[:k] + [(bits + 1, -1)] * max(0, k - len(rows))
        out_d.append([d for d, _ in rows])
        out_ids.append([i for _, i in rows])
    return np.array(out_d), np.array(out_ids)


def tied_codes(rng, n, bits, patterns=6):
    """Codes drawn from a few patterns, so most distances tie."""
    base = rng.standard_normal((patterns, bits))
    return pack_codes(base[rng.integers(0, patterns, n)])


@pytest.mark.parametrize("bits", [12, 16])
@pytest.mark.parametrize("kind", ("hamming-exact", "hamming-flat"))
def test_exact_kinds_follow_the_tie_rule(kind, bits):
    rng = np.random.default_rng(0)
    codes = tied_codes(rng, 120, bits)
    ids = rng.permutation(1000)[:120]  # insertion order is not id order
    queries = tied_codes(rng, 7, bits)
    index = create_index(kind, bits)
    index.add(codes, ids)
    for k in (1, 5, 40, 130):
        distances, got = index.search_hamming(queries, k)
        want_d, want_ids = slow_top_k(queries, codes, ids, k, bits)
        np.testing.assert_array_equal(got, want_ids)
        np.testing.assert_array_equal(distances, want_d)


@pytest.mark.parametrize("kind", ("hamming-hnsw", "hamming-ivf"))
def test_approximate_kinds_follow_the_tie_rule_when_they_see_everything(kind):
    # Wide ef_search / nprobe = nlist on a small index: the approximate kinds visit every
    # code, so the shared tie helper must make them agree with the oracle id for id.
    rng = np.random.default_rng(4)
    codes = tied_codes(rng, 200, 16)
    ids = rng.permutation(1000)[:200]
    queries = tied_codes(rng, 9, 16)
    oracle = create_index("hamming-exact", 16)
    approx = create_index(kind, 16, **({"nlist": 4, "nprobe": 4} if kind == "hamming-ivf" else {"ef_search": 400}))
    for index in (oracle, approx):
        index.add(codes, ids)
    for k in (1, 5, 40, 210):
        want, got = oracle.search_hamming(queries, k), approx.search_hamming(queries, k)
        np.testing.assert_array_equal(got[1], want[1], err_msg=f"{kind} k={k}")
        np.testing.assert_array_equal(got[0], want[0])


def test_scores_are_the_sign_cosine():
    rng = np.random.default_rng(1)
    relaxed = rng.standard_normal((50, 32))
    index = create_index("hamming-flat", 32)
    index.add(pack_codes(relaxed), np.arange(50))
    scores, ids = index.search(pack_codes(relaxed[:3]), 5)
    signs = np.where(relaxed >= 0, 1.0, -1.0)
    cosine = signs[:3] @ signs.T / 32
    np.testing.assert_allclose(scores, np.take_along_axis(cosine, ids, axis=1), rtol=1e-6)
    assert (np.diff(scores, axis=1) <= 0).all()


@pytest.mark.parametrize("kind", ("hamming-hnsw", "hamming-ivf"))
def test_approximate_kinds_recall_against_the_oracle(kind):
    rng = np.random.default_rng(2)
    codes = pack_codes(rng.standard_normal((2000, 64)))
    queries = pack_codes(rng.standard_normal((30, 64)))
    exact = create_index("hamming-exact", 64)
    exact.add(codes, np.arange(2000))
    approx = create_index(kind, 64, **({"nlist": 16, "nprobe": 16} if kind == "hamming-ivf" else {}))
    approx.add(codes, np.arange(2000))
    d_exact, i_exact = exact.search_hamming(queries, 10)
    d_approx, i_approx = approx.search_hamming(queries, 10)
    # nprobe = nlist visits every list: the IVF result is exact, ties included.
    if kind == "hamming-ivf":
        np.testing.assert_array_equal(i_approx, i_exact)
    assert recall_at_k_against(i_exact, i_approx, 10) >= 0.9
    assert (d_approx >= d_exact).all()  # never closer than the truth, rank by rank


@pytest.mark.parametrize("kind", KINDS)
def test_save_load_identity(kind, tmp_path):
    rng = np.random.default_rng(3)
    codes = tied_codes(rng, 300, 48, patterns=40)
    index = create_index(kind, 48, **({"nlist": 8} if kind == "hamming-ivf" else {}))
    index.add(codes, np.arange(300) * 7)
    queries = tied_codes(rng, 5, 48)
    before = index.search(queries, 12)
    index.save(tmp_path / "ix")
    assert (tmp_path / "ix" / "config.json").is_file()
    loaded = load_index(tmp_path / "ix")
    assert type(loaded) is type(index) and len(loaded) == 300 and loaded.metric == "hamming"
    after = loaded.search(queries, 12)
    np.testing.assert_array_equal(before[1], after[1])
    np.testing.assert_array_equal(before[0], after[0])
    np.testing.assert_array_equal(np.sort(loaded.ids), np.arange(300) * 7)


def test_padding_remove_and_bad_input():
    index = create_index("hamming-flat", 16)
    codes = pack_codes(np.random.default_rng(4).standard_normal((3, 16)))
    index.add(codes, [5, 6, 7])
    distances, ids = index.search_hamming(codes[:1], 5)
    assert ids[0, 3:].tolist() == [-1, -1] and distances[0, 3:].tolist() == [17, 17]
    scores, _ = index.search(codes[:1], 5)
    assert np.isneginf(scores[0, 3:]).all()
    assert index.remove([6]) == 1 and sorted(index.ids.tolist()) == [5, 7]
    with pytest.raises(InputError, match="uint8"):
        index.add(np.zeros((2, 16), dtype=np.float32), [1, 2])
    with pytest.raises(InputError, match="bytes per code"):
        index.search(np.zeros((1, 4), dtype=np.uint8), 3)
    with pytest.raises(InputError, match="already in the index"):
        index.add(codes[:1], [5])
    with pytest.raises(InputError, match="hamming"):
        create_index("hamming-flat", 16, metric="cosine")
    with pytest.raises(InputError, match="nlist"):
        create_index("hamming-ivf", 16, nlist=64).add(codes, [1, 2, 3])
