"""Search with codes: CCA hashing, `scicmr index --codes`, Hamming search and shortlist re-ranking."""

from __future__ import annotations

import numpy as np
import pytest

from factories.data import make_manifest
from factories.retrieval import CHANCE, mean_field_precision
from scicmr.cli import main as cli_main
from scicmr.errors import InputError
from scicmr.hashing import hamming_distances, pack_codes
from scicmr.hashing.base import produces_codes
from scicmr.index import create_index
from scicmr.index.codes_search import CodeSearch, rerank_shortlist
from scicmr.methods import create_method, load_method
from scicmr.workflow import Searcher, build_index, encode_library, evaluate_model, ingest, train_model


@pytest.fixture(scope="module")
def hashed_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("hashlib")
    report = ingest(make_manifest(root / "src"), root / "lib", split=(0.6, 0.2, 0.2), seed=0)
    encode_library(report.library, image="thumbnail", text="tfidf")
    train_model(report.library, "cca-hash", params={"n_bits": 16})
    train_model(report.library, "cca")
    return report.library


def test_cca_hash_follows_the_contract(tmp_path):
    rng = np.random.default_rng(0)
    shared = rng.standard_normal((80, 6))
    X = shared @ rng.standard_normal((6, 20)) + 0.1 * rng.standard_normal((80, 20))
    Y = shared @ rng.standard_normal((6, 15)) + 0.1 * rng.standard_normal((80, 15))
    model = create_method("cca-hash", n_bits=6).fit(X, Y)
    assert produces_codes(model) and model.get_params() == {"n_bits": 6, "reg": 0.5}
    relaxed = model.transform_image(X)
    assert relaxed.shape == (80, 6) and np.abs(relaxed).max() <= 1 + 1e-6
    codes = model.codes_image(X)
    np.testing.assert_array_equal(codes, pack_codes(relaxed))
    # paired items agree on most bits: own pair nearer than a random item
    distances = hamming_distances(codes, model.codes_text(Y))
    assert np.diag(distances).mean() < distances.mean() - 1
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(load_method(tmp_path / "m").codes_text(Y), model.codes_text(Y))
    assert not produces_codes(create_method("cca"))


def test_rerank_shortlist_against_a_loop():
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((30, 8)).astype(np.float32)
    vectors[7] = vectors[3] * 2  # same direction: a cosine tie, broken by id
    queries = rng.standard_normal((4, 8)).astype(np.float32)
    queries[0] = vectors[3]
    shortlist = np.array([[7, 3, 11, -1], [0, 1, 2, 3], [5, 9, -1, -1], [29, 28, 27, 26]])
    scores, ids = rerank_shortlist(queries, shortlist, vectors, 3)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    for q in range(4):
        row = [(-float(unit[j] @ queries[q] / np.linalg.norm(queries[q])), int(j)) for j in shortlist[q] if j >= 0]
        row.sort(key=lambda t: (round(t[0], 5), t[1]))
        want = [j for _, j in row[:3]] + [-1] * (3 - len(row[:3]))
        assert ids[q].tolist() == want
    assert ids[0, :2].tolist() == [3, 7] and ids[2, 2] == -1 and np.isneginf(scores[2, 2])


def test_code_search_full_shortlist_equals_exact_cosine():
    rng = np.random.default_rng(2)
    relaxed = np.tanh(rng.standard_normal((200, 32))).astype(np.float32)
    queries = np.tanh(rng.standard_normal((5, 32))).astype(np.float32)
    index = create_index("hamming-flat", 32)
    index.add(pack_codes(relaxed), np.arange(200))
    exact = create_index("exact", 32)
    exact.add(relaxed, np.arange(200))
    _, want = exact.search(queries, 10)
    _, got = CodeSearch(index, relaxed, rerank=200).search(queries, 10)
    np.testing.assert_array_equal(got, want)
    _, hamming_only = CodeSearch(index).search(queries, 10)
    np.testing.assert_array_equal(hamming_only, index.search(pack_codes(queries), 10)[1])
    with pytest.raises(InputError, match="relaxed"):
        CodeSearch(index, None, rerank=5)


def test_index_codes_and_search(hashed_library, capsys):
    assert cli_main(["index", str(hashed_library), "--model", "cca-hash", "--codes"]) == 0
    assert "hamming-flat" in capsys.readouterr().out
    searcher = Searcher(hashed_library, "cca-hash")
    # The model's own codes rank here (the hybrid ranker fuses them with text channels by default).
    hits = searcher.search_text("gene expression heat map", k=5, channels=["cross_modal"])
    assert len(hits) == 5 and all(-1 <= h.score <= 1 for h in hits)
    # Words find their field's figures by 16-bit codes: measured 0.50 over the nine phrases, chance 1/3.
    labels = lambda phrase, k: [h.record.labels for h in  # noqa: E731
                                searcher.search_text(phrase, k=k, channels=["cross_modal"])]
    assert mean_field_precision(labels, 12) > CHANCE + 0.08
    # the Hamming path equals brute-force popcount ranking of the packed query
    vectors = searcher.embed_text(["ocean temperature anomaly"])
    index, ids = searcher._exact_index("image")
    brute = create_index("hamming-exact", 16)
    brute.add(pack_codes(index.vectors), np.arange(len(index)))
    _, positions = brute.search(pack_codes(vectors), 10)
    assert [h.id for h in searcher.lookup(vectors, "image", 10)[0]] == [ids[p] for p in positions[0]]
    reranked = Searcher(hashed_library, "cca-hash", rerank=len(ids)).lookup(vectors, "image", 10)[0]
    _, exact_positions = index.search(vectors, 10)
    assert [h.id for h in reranked] == [ids[p] for p in exact_positions[0]]
    assert cli_main(["search", str(hashed_library), "heat map", "--model", "cca-hash", "--rerank", "8", "--json"]) == 0


def test_codes_need_a_hashing_model(hashed_library):
    with pytest.raises(InputError, match="does not produce binary codes"):
        build_index(hashed_library, "cca", kind="hamming-flat")
    assert cli_main(["index", str(hashed_library), "--model", "cca", "--codes", "--kind", "hnsw"]) == 2


def test_evaluate_reports_hamming_metrics(hashed_library):
    document = evaluate_model(hashed_library, "cca-hash")
    hamming = document["hamming"]
    assert hamming["n_bits"] == 16 and set(hamming) >= {"i2t", "t2i", "pr_radius", "plot"}
    assert 0.33 < hamming["i2t"]["map"] <= 1 and "precision@r2" in hamming["t2i"]
    assert open(hamming["plot"], "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert len(hamming["pr_radius"]["i2t"]["precision"]) == 17
    assert "hamming" not in evaluate_model(hashed_library, "cca")
