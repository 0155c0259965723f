"""The Milvus index (embedded Milvus Lite file) against the exact oracle: ties, filters, reload."""

from __future__ import annotations

import numpy as np
import pytest

from scicmr.errors import InputError, LibraryError
from scicmr.index import create_index, load_index
from scicmr.index.base import normalise_rows
from scicmr.index.exact import top_k_rows

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from scicmr.index.milvus_index import encode_text, filter_expression  # noqa: E402

DIM = 8
LABELS = ["Plot", "graph", "Map%", "x_y", 'quo"te', "back\\slash"]
AUTHORS = ["Ada Lovelace", "Alan Turing", "O'Brien", "Grace_Hopper", "100% Smith", "Zoë Ünal", "a\\b", "Li|Wei"]


def tied_data(n: int = 60, seed: int = 0):
    """(n, DIM) vectors with many exact duplicates (ties) and per-row filter fields."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n // 3, DIM)).astype(np.float32)
    vectors = np.concatenate([base, base, base[rng.permutation(len(base))]])  # every vector 2-3 times
    vectors = vectors[rng.permutation(n)]
    years = rng.choice([0, 1999, 2005, 2010, 2020], size=n)
    labels = [[str(x) for x in rng.choice(LABELS, size=rng.integers(0, 3), replace=False)] for _ in range(n)]
    authors = [[str(x) for x in rng.choice(AUTHORS, size=rng.integers(0, 3), replace=False)] for _ in range(n)]
    return vectors, years, labels, authors


def reference(vectors, queries, k, keep=None):
    """Exact top-k among the rows in ``keep`` (all rows when None): the snapshot's masked ranking."""
    unit = normalise_rows(vectors)
    rows = np.arange(len(vectors)) if keep is None else np.flatnonzero(keep)
    # Row-wise products (not a matmul, whose kernels may round equal rows differently by their
    # place in a block): duplicated vectors then tie exactly, as the tie rule assumes.
    scores = (normalise_rows(queries)[:, None, :] * unit[rows][None]).sum(axis=2, dtype=np.float32)
    return top_k_rows(scores, rows.astype(np.int64), min(k, rows.size)), rows.size


def mask_of(years, labels, authors, year_min=None, year_max=None, wanted=(), author=None):
    keep = np.ones(len(years), dtype=bool)
    if year_min is not None:
        keep &= years >= year_min
    if year_max is not None:
        keep &= (years <= year_max) & (years > 0)
    if wanted:
        low = {w.lower() for w in wanted}
        keep &= np.array([bool(low & {x.lower() for x in row}) for row in labels])
    if author:
        needle = author.strip().lower()
        keep &= np.array([any(needle in a.lower() for a in row) for row in authors])
    return keep


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    vectors, years, labels, authors = tied_data()
    index = create_index("milvus", DIM, uri=str(tmp_path_factory.mktemp("milvus") / "m.db"))
    index.add(vectors, np.arange(len(vectors)), years=years, labels=labels, authors=authors)
    return index, vectors, years, labels, authors


def test_unfiltered_equals_exact_with_ties(built):
    index, vectors, *_ = built
    queries = np.concatenate([vectors[:5], np.random.default_rng(1).normal(size=(3, DIM)).astype(np.float32)])
    for k in (1, 3, 7, 60, 80):
        scores, ids = index.search(queries, k)
        (want_scores, want_ids), _ = reference(vectors, queries, k)
        np.testing.assert_array_equal(ids[:, : want_ids.shape[1]], want_ids)
        np.testing.assert_allclose(scores[:, : want_ids.shape[1]], want_scores, atol=1e-5)
        assert (ids[:, want_ids.shape[1]:] == -1).all()


@pytest.mark.parametrize("filters", [
    {"year_min": 2005}, {"year_max": 2010}, {"year_min": 2000, "year_max": 2010},
    {"labels": ("PLOT",)}, {"labels": ("map%", "X_Y")}, {"labels": ('QUO"TE', "back\\slash")}, {"labels": ("nope",)},
    {"author": "  LOVE "}, {"author": "o'b"}, {"author": "_"}, {"author": "%"}, {"author": "ë ü"},
    {"author": "\\"}, {"author": "|"}, {"author": "i|w"}, {"author": "ada lovelace alan"}, {"author": " "},
    {"year_min": 2005, "labels": ("graph", "plot"), "author": "a"},
])
def test_filtered_equals_masked_exact(built, filters):
    index, vectors, years, labels, authors = built
    queries = vectors[[0, 7, 21]]
    keep = mask_of(years, labels, authors, filters.get("year_min"), filters.get("year_max"),
                   filters.get("labels", ()), filters.get("author"))
    for k in (1, 4, 50):
        scores, ids, total = index.search_filtered(queries, k, **filters)
        assert total == int(keep.sum())
        if total == 0:
            assert ids.shape == (3, 0)
            continue
        (want_scores, want_ids), _ = reference(vectors, queries, k, keep)
        np.testing.assert_array_equal(ids, want_ids)
        np.testing.assert_allclose(scores, want_scores, atol=1e-5)


def test_encoding_is_safe_and_substring_faithful():
    for text in AUTHORS + LABELS:
        code = encode_text(text)
        assert not set(code) & set("\"'\\%_|")
    for a in AUTHORS:
        for b in AUTHORS:
            for cut in range(len(b)):
                needle = b[cut:cut + 3]
                assert (encode_text(needle) in encode_text(a)) == (needle.lower() in a.lower())
    assert filter_expression() == ""


def test_save_load_and_remove(built, tmp_path):
    vectors, years, labels, authors = tied_data(seed=3)
    index = create_index("milvus", DIM, uri=str(tmp_path / "lite.db"), collection="scicmr_test_reload")
    index.add(vectors, np.arange(len(vectors)) * 2, years=years, labels=labels, authors=authors)
    index.save(tmp_path / "saved")
    again = load_index(tmp_path / "saved")
    assert again.params["uri"] == str((tmp_path / "lite.db").resolve())
    assert len(again) == len(vectors) and again.collection == "scicmr_test_reload"
    np.testing.assert_array_equal(again.search(vectors[:4], 5)[1], index.search(vectors[:4], 5)[1])
    assert again.remove([0, 2]) == 2
    assert len(again) == len(vectors) - 2 and again.count() == len(vectors) - 2
    assert not np.isin(again.search(vectors[:4], 60)[1], [0, 2]).any()


def test_refuses_bad_uri_and_existing_collection(built, tmp_path):
    with pytest.raises(InputError, match="uri"):
        create_index("milvus", DIM)
    with pytest.raises(InputError, match=r"\.db"):
        create_index("milvus", DIM, uri=str(tmp_path / "x.sqlite"))
    index = built[0]
    clash = create_index("milvus", DIM, uri=index.params["uri"], collection=index.collection)
    with pytest.raises(InputError, match="already exists"):
        clash.add(np.ones((1, DIM), np.float32), [0])


def test_missing_collection_is_a_library_error(tmp_path):
    index = create_index("milvus", DIM, uri=str(tmp_path / "gone.db"))
    index.add(np.eye(DIM, dtype=np.float32), np.arange(DIM))
    index.save(tmp_path / "saved")
    index.drop()
    with pytest.raises(LibraryError, match="missing"):
        load_index(tmp_path / "saved")


def test_an_index_the_engine_refuses_is_an_input_error(tmp_path):
    import pymilvus

    class Refusing:  # a server that rejects the index parameters
        def has_collection(self, name):
            return False

        def prepare_index_params(self):
            return pymilvus.MilvusClient.prepare_index_params()

        def create_collection(self, *args, **kwargs):
            raise pymilvus.MilvusException(message="invalid HNSW index params: M out of range")

    index = create_index("milvus", DIM, uri=str(tmp_path / "m.db"), index_type="HNSW", build_params={"M": 100000})
    index._client = Refusing()
    with pytest.raises(InputError, match="M out of range") as caught:
        index.add(np.ones((1, DIM), np.float32), np.arange(1))
    assert "HNSW" in caught.value.problem and "'M': 100000" in caught.value.problem
