"""IVF-PQ kinds and the exact shortlist re-ranking, against the exact index (the oracle).

Small clustered data keep every test fast; the trained index is built once per kind
(module fixture) and copied through save/load where a test changes it.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("faiss")

from scicmr.errors import InputError  # noqa: E402
from scicmr.index import INDEX_KINDS, create_index, load_index, recall_at_k_against  # noqa: E402
from scicmr.index.ivfpq import MIN_TRAIN_ROWS, choose_ivfpq_params  # noqa: E402
from scicmr.index.rerank import ShortlistRerank  # noqa: E402

KINDS = ("ivfpq", "opq-ivfpq")
D = 16
N = 1500  # above MIN_TRAIN_ROWS: the first add trains


def clustered(seed, n, d=D, q=60, clusters=30):
    """Seeded gaussian mixture: items and (distinct) queries from the same clusters."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, d)) * 2
    items = centres[rng.integers(clusters, size=n)] + rng.normal(size=(n, d))
    queries = centres[rng.integers(clusters, size=q)] + rng.normal(size=(q, d))
    return items.astype(np.float32), queries.astype(np.float32)


@pytest.fixture(scope="module")
def data():
    return clustered(0, N)


@pytest.fixture(scope="module", params=KINDS)
def trained(request, data, tmp_path_factory):
    """(kind, saved directory) of an index trained on the module's data, ids = row positions."""
    items, _ = data
    index = create_index(request.param, D, m=8 if request.param == "ivfpq" else 4)
    index.add(items, np.arange(N))
    return request.param, index.save(tmp_path_factory.mktemp(request.param) / "index")


@pytest.fixture(scope="module")
def exact(data):
    index = create_index("exact", D)
    index.add(data[0], np.arange(N))
    return index


def test_kinds_are_registered():
    for kind in KINDS:
        assert kind in INDEX_KINDS


def test_chooser_rule():
    assert choose_ivfpq_params(1_000_000, 512) == {"nlist": 4096, "m": 64, "nprobe": 64}
    assert choose_ivfpq_params(100_000, 64) == {"nlist": 1024, "m": 32, "nprobe": 64}
    assert choose_ivfpq_params(5, 64)["nlist"] == 1  # never more cells than n / 39
    assert choose_ivfpq_params(1_000_000, 512, bytes_per_item=40)["m"] == 32  # 40 - 8-byte id
    assert choose_ivfpq_params(1000, 60)["m"] == 30  # a divisor of dim
    for bad in ({"n": 0, "dim": 8}, {"n": 10, "dim": 0}, {"n": 10, "dim": 8, "bytes_per_item": 8}):
        with pytest.raises(InputError):
            choose_ivfpq_params(**bad)


def test_trained_index_reaches_high_recall_with_rerank(trained, data, exact, tmp_path):
    kind, directory = trained
    items, queries = data
    index = load_index(directory)
    assert index.kind == kind and index.trained and index.params["trained_on"] == N
    _, truth = exact.search(queries, 10)
    _, raw = index.search(queries, 10)
    np.save(tmp_path / "vectors.npy", items)
    reranked = ShortlistRerank(index, np.load(tmp_path / "vectors.npy", mmap_mode="r"), shortlist=100)
    scores, ids = reranked.search(queries, 10)
    assert recall_at_k_against(truth, ids, 10) >= 0.95
    assert recall_at_k_against(truth, ids, 10) >= recall_at_k_against(truth, raw, 10)
    assert scores.dtype == np.float32 and ids.dtype == np.int64
    assert (np.diff(scores, axis=1) <= 0).all()


def test_shortlist_covering_the_index_equals_exact_including_ties(tmp_path):
    # ±1 vectors from a few patterns: exact float sums, so ties are true ties everywhere.
    rng = np.random.default_rng(5)
    patterns = rng.choice([-1.0, 1.0], size=(9, D))
    items = patterns[rng.integers(9, size=1200)].astype(np.float32)
    queries = rng.choice([-1.0, 1.0], size=(30, D)).astype(np.float32)
    np.save(tmp_path / "v.npy", items)
    vectors = np.load(tmp_path / "v.npy", mmap_mode="r")
    exact, approx = create_index("exact", D), create_index("ivfpq", D, m=4, nprobe=1)
    for index in (exact, approx):
        index.add(items, np.arange(len(items)))
    for k in (1, 7, 50):
        want = exact.search(queries, k)
        got = ShortlistRerank(approx, vectors, shortlist=len(items)).search(queries, k)
        np.testing.assert_array_equal(got[1], want[1], err_msg=f"k={k}")
        np.testing.assert_allclose(got[0], want[0], atol=1e-6)


def test_save_load_round_trip_then_incremental_add_and_remove(trained, data, tmp_path):
    items, queries = data
    index = load_index(trained[1])
    before = index.search(queries, 10)
    again = load_index(index.save(tmp_path / "copy"))
    for got, want in zip(again.search(queries, 10), before):
        np.testing.assert_array_equal(got, want)
    # Adding after load encodes the new rows with the trained codebooks (no retraining).
    extra, _ = clustered(1, 200)
    again.add(extra, np.arange(N, N + 200))
    assert len(again) == N + 200 and again.params["trained_on"] == N
    _, ids = again.search(extra[:20], 1)
    assert (ids[:, 0] >= N).mean() >= 0.9  # a new row finds itself
    assert again.remove(np.arange(N, N + 200)) == 200
    assert len(again) == N and set(again.ids.tolist()) == set(range(N))
    for got, want in zip(again.search(queries, 10), before):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(InputError, match="not in the index"):
        again.remove([N + 1])
    with pytest.raises(InputError, match="already in the index"):
        again.add(items[:1], [0])


@pytest.mark.parametrize("kind", KINDS)
def test_tiny_input_is_searched_exactly_until_it_can_train(kind, tmp_path):
    items, queries = clustered(2, MIN_TRAIN_ROWS + 10)
    exact, index = create_index("exact", D), create_index(kind, D, m=4)
    for target in (exact, index):
        target.add(items[:5], np.arange(5))
    assert not index.trained
    for got, want in zip(index.search(queries, 8), exact.search(queries, 8)):
        np.testing.assert_array_equal(got, want)  # exact, padded past 5 items
    index = load_index(index.save(tmp_path / "tiny"))
    assert len(index) == 5 and not index.trained
    index.remove([0])
    index.add(items[5:], np.arange(5, len(items)))  # reaches MIN_TRAIN_ROWS: trains now
    assert index.trained and len(index) == len(items) - 1 and index.params["trained_on"] == len(items) - 1
    assert 0 not in set(index.ids.tolist())


@pytest.mark.parametrize(
    "params, match",
    [({"m": 5}, "does not divide"), ({"nlist": 0}, "nlist"), ({"nprobe": -1}, "nprobe"),
     ({"M": 32}, "no parameter"), ({"bytes_per_item": 4}, "bytes_per_item")],
)
def test_bad_params_raise_input_error_with_a_fix(params, match):
    with pytest.raises(InputError, match=match) as info:
        create_index("ivfpq", D, **params)
    assert info.value.fix


def test_too_many_cells_for_the_first_add():
    items, _ = clustered(3, MIN_TRAIN_ROWS)
    index = create_index("ivfpq", D, nlist=5000)
    with pytest.raises(InputError, match="lower nlist"):
        index.add(items, np.arange(len(items)))
    assert len(index) == 0


def test_nprobe_is_settable(trained, data):
    index = load_index(trained[1])
    index.nprobe = index.params["nlist"]  # every cell: at least as good as the default
    assert index.nprobe == index.params["nlist"]
    with pytest.raises(InputError):
        index.nprobe = 0


def test_shortlist_rerank_rejects_bad_input(data):
    items, queries = data
    index = create_index("ivfpq", D)
    index.add(items[:10], np.arange(100, 110))  # ids beyond the 5 vector rows given below
    with pytest.raises(InputError, match="shape"):
        ShortlistRerank(index, items[:, :3], 10)
    with pytest.raises(InputError, match="beyond"):
        ShortlistRerank(index, items[:5], 3).search(queries, 2)
    with pytest.raises(InputError, match="float index"):
        ShortlistRerank(create_index("hamming-exact", 16), items, 10)
    with pytest.raises(InputError, match="queries"):
        ShortlistRerank(index, items, 10).search(queries[:, :3], 2)
