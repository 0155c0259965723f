"""ingest → encode → train → index → search → evaluate → export, on a generated manifest."""

import json

import numpy as np
import pytest

from factories.data import make_manifest
from factories.retrieval import assert_same_ranking, mean_field_precision
from scicmr.corpus.library import Library
from scicmr.workflow import Searcher, build_index, encode_library, evaluate_model, export_jsonl, ingest, train_model


@pytest.fixture(scope="module")
def trained_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    manifest = make_manifest(root / "src")
    report = ingest(manifest, root / "lib", split=(0.6, 0.2, 0.2), seed=0)
    encode_library(report.library, image="thumbnail", text="tfidf")
    train_model(report.library, "cca")
    build_index(report.library, kind="flat")
    return report.library


def test_ingest_report(trained_library):
    report = json.loads((trained_library / "reports" / "ingest.json").read_text())
    assert report["added"] == 36 and report["skipped"] == []
    lib = Library.open(trained_library)
    groups = {}
    for record in lib.records():
        groups.setdefault(record.group, set()).add(record.extra["split"])
    assert all(len(s) == 1 for s in groups.values()), "a paper was cut across splits"


def test_text_search_finds_the_field(trained_library):
    searcher = Searcher(trained_library)
    hits = searcher.search_text("gene expression heat map", k=5)
    assert len(hits) == 5 and [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(h.modality == "image" for h in hits)
    # Averaged over the nine field phrases (measured 0.98; chance 1/3): robust to CPU float noise.
    labels = lambda phrase, k: [h.record.labels for h in searcher.search_text(phrase, k=k)]  # noqa: E731
    assert mean_field_precision(labels, 5) > 0.7


def test_image_search_finds_captions_of_same_field(trained_library):
    lib = Library.open(trained_library)
    searcher = Searcher(trained_library)
    queries = lib.records("test")
    # Mean over every test figure, not one query's top 3 (chance 1/3).
    shares = [np.mean([h.record.labels == q.labels for h in searcher.search_image(lib.image_path(q), k=3)])
              for q in queries]
    assert len(queries) >= 6 and np.mean(shares) > 0.6


def test_index_search_equals_exact_fallback(trained_library):
    searcher = Searcher(trained_library)
    vectors = searcher.embed_text(["ocean temperature anomaly"])
    hits = searcher.lookup(vectors, "image", 10)[0]
    index, ids = searcher._exact_index("image")
    scores, positions = index.search(vectors, 10)
    assert_same_ranking([h.id for h in hits], [h.score for h in hits], [ids[p] for p in positions[0]], scores[0])


def test_evaluate_document_shape(trained_library, tmp_path):
    out = tmp_path / "m.json"
    document = evaluate_model(trained_library, "cca", json_path=out)
    assert json.loads(out.read_text()) == json.loads(json.dumps(document))
    assert set(document) >= {"dataset", "method", "split", "i2t", "t2i", "pool", "config", "seconds"}
    assert document["pool"]["queries"] == document["pool"]["candidates"] > 0
    assert document["i2t"]["map"] > 0.6 and document["t2i"]["map"] > 0.6  # chance is ~0.33


def test_pair_protocol(trained_library):
    document = evaluate_model(trained_library, "cca", protocol="pair")
    assert set(document["i2t"]) == {"mrr", "hits@1", "hits@5", "hits@10", "R@1", "R@5", "R@10", "MedR", "MeanR"}
    assert 0 < document["t2i"]["mrr"] <= 1


def test_export_jsonl(trained_library, tmp_path):
    out = tmp_path / "records.jsonl"
    assert export_jsonl(trained_library, out) == 36
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {"id", "kind", "split", "title", "text", "labels", "authors", "date", "source_file", "page", "bbox",
            "image"} <= set(rows[0])
    assert all(row["split"] in ("train", "validation", "test") for row in rows)


def test_encode_is_cached(trained_library):
    lib = Library.open(trained_library)
    before = {k: (lib.features_dir(k) / "table.json").stat().st_mtime_ns for k in lib.feature_keys()}
    encode_library(trained_library)
    after = {k: (lib.features_dir(k) / "table.json").stat().st_mtime_ns for k in lib.feature_keys()}
    assert before == after


def test_search_results_reload_identically(trained_library):
    first = [h.id for h in Searcher(trained_library).search_text("galaxy redshift spectrum", k=8)]
    second = [h.id for h in Searcher(trained_library).search_text("galaxy redshift spectrum", k=8)]
    assert first == second
    assert np.isfinite([h.score for h in Searcher(trained_library).search_text("galaxy", k=3)]).all()


def test_evaluate_writes_curve_plots(trained_library):
    from PIL import Image

    document = evaluate_model(trained_library, "cca")
    assert len(document["plots"]) == 2
    for path in document["plots"]:
        with Image.open(path) as image:
            assert image.size[0] > 100


def test_curves_match_metrics():
    from scicmr.evaluation.curves import curve_ks, retrieval_curves
    from scicmr.evaluation.metrics import cross_modal_metrics

    rng = np.random.default_rng(0)
    labels = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 40)]
    image, text = rng.normal(size=(40, 8)), rng.normal(size=(40, 8))
    curves = retrieval_curves(image, text, labels)
    metrics = cross_modal_metrics(image, text, labels, ks=(5, 20))
    ks, values = curves["map_at_k"]["t2i"]
    assert ks == curve_ks(40) and ks[-1] == 40
    assert values[ks.index(5)] == pytest.approx(metrics["t2i"]["map@5"])
    assert values[-1] == pytest.approx(metrics["t2i"]["map"])


def test_encode_completes_a_cache_that_lacks_restored_records(tmp_path):
    lib = Library.open(ingest(make_manifest(tmp_path / "src", per_field=4), tmp_path / "lib", seed=0).library)
    first = lib.records()[0]
    first.extra["quarantine"] = {"reasons": ["test"]}
    lib.update_records([first])
    keys = encode_library(lib, image="thumbnail", text="tfidf")
    assert first.id not in lib.feature_table(keys["image"]).ids()
    del first.extra["quarantine"]  # restored by `scicmr clean --restore`
    lib.update_records([first])
    keys = encode_library(lib, image="thumbnail", text="tfidf")  # no --force needed
    for key in keys.values():
        assert lib.load_features(key, [first.id]).shape[0] == 1


# -- the Searcher's fast paths against slow references


def _brute_force(vectors, query, ids, keep=None):
    """Ids by descending cosine, ties by row: the reference every ranking must equal."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    rows = [i for i in range(len(ids)) if keep is None or keep(i)]
    order = sorted(rows, key=lambda i: (-scores[i], i))
    return [ids[i] for i in order], scores


def test_snapshot_ranking_equals_brute_force_cosine(trained_library):
    from scicmr.workflow.index import shared_vectors
    from scicmr.workflow.library_data import paired_records
    from scicmr.workflow.snapshot import Filters

    searcher = Searcher(trained_library)
    records = paired_records(searcher.lib, None)
    ids = [r.id for r in records]
    stored = shared_vectors(searcher.lib, searcher.model_name, ids)  # loads the model afresh
    query = searcher.embed_text(["ocean temperature anomaly"])
    for target in ("image", "text"):
        want, scores = _brute_force(stored[target], query[0], ids)
        hits = searcher.lookup(query, target, 12)[0]
        assert [h.rank for h in hits] == list(range(1, 13))
        assert_same_ranking([h.id for h in hits], [h.score for h in hits], want[:12],
                            [scores[ids.index(i)] for i in want[:12]])
    # Filtered pages are ranked exactly over the rows that pass.
    climate = {i for i, r in enumerate(records) if "climate" in r.labels}
    want, scores = _brute_force(stored["image"], query[0], ids, keep=lambda i: i in climate)
    page = searcher.rank(query, "image", 5, offset=3, filters=Filters(labels=("Climate",)))
    assert page.total == len(climate) and {h.id for h in page.hits} <= {ids[i] for i in climate}
    # a page boundary may cut a near-tie: compare the page with the whole filtered ranking
    full = searcher.rank(query, "image", len(climate), offset=0, filters=Filters(labels=("Climate",)))
    assert [h.id for h in full.hits][3:8] == [h.id for h in page.hits]
    assert_same_ranking([h.id for h in full.hits], [h.score for h in full.hits], want,
                        [scores[ids.index(i)] for i in want])
    assert [h.rank for h in page.hits] == [4, 5, 6, 7, 8] and page.version == searcher.snapshot.version


def test_hits_are_read_with_one_query_in_ranking_order(trained_library, monkeypatch):
    searcher = Searcher(trained_library)
    lib = searcher.lib
    query = searcher.embed_text(["ocean temperature anomaly", "galaxy redshift spectrum"])
    assert len(searcher.snapshot) == 36  # loaded first: only the hits' reads are counted below
    calls = []
    get_many = lib.get_many
    monkeypatch.setattr(lib, "get_many", lambda ids, **kw: calls.append(list(ids)) or get_many(ids, **kw))
    results = searcher.lookup(query, "text", 10)
    assert len(calls) == 1  # both queries' hits in one read, not one Library.get per hit
    monkeypatch.undo()
    for hits in results:
        assert [h.record for h in hits] == [lib.get(h.id) for h in hits]  # per-id reads: the slow reference


def test_record_queries_reuse_the_loaded_model(trained_library, monkeypatch):
    import scicmr.workflow.index as index_module
    from scicmr.workflow.index import shared_vectors

    searcher = Searcher(trained_library)
    record = Library.open(trained_library).records("test")[0]
    expected = shared_vectors(searcher.lib, searcher.model_name, [record.id])  # the slow reference
    searcher.search_record(record.id, k=3)  # loads model, features and snapshot once

    def no_reload(*args, **kwargs):
        raise AssertionError("the model or training.json was loaded again")

    monkeypatch.setattr(index_module, "load_method", no_reload)
    monkeypatch.setattr(index_module, "training_info", no_reload)
    for modality in ("image", "text"):
        np.testing.assert_allclose(searcher.embed_record(record.id, modality), expected[modality], rtol=1e-6)
    hits = searcher.search_record(record.id, k=5, query_modality="text", target="image")
    assert hits == searcher.lookup(expected["text"], "image", 5)[0]


def test_queries_use_the_encoders_the_model_was_trained_on(tmp_path):
    """Re-encoding the library after training must not change what the model is queried with."""
    import shutil

    from scicmr.errors import LibraryError
    from scicmr.workflow.encode import encoder_dir

    lib = ingest(make_manifest(tmp_path / "src", per_field=4), tmp_path / "lib", seed=0).library
    trained_keys = encode_library(lib, image="thumbnail", text="tfidf")
    train_model(lib, "cca")
    before = Searcher(lib).search_text("gene expression heat map", k=6)
    new_keys = encode_library(lib, text={"name": "tfidf", "svd_dim": 5})  # another text encoder and size
    assert new_keys["text"] != trained_keys["text"]
    after = Searcher(lib).search_text("gene expression heat map", k=6)
    assert [(h.id, h.score) for h in after] == [(h.id, h.score) for h in before]
    shutil.rmtree(encoder_dir(Library.open(lib), trained_keys["text"]))
    with pytest.raises(LibraryError, match="trained on"):
        Searcher(lib).search_text("gene expression heat map", k=6)


def test_image_searches_need_no_cross_modal_model(tmp_path):
    from scicmr.errors import LibraryError

    lib = ingest(make_manifest(tmp_path / "src", per_field=3), tmp_path / "lib", seed=0).library
    searcher = Searcher(lib)  # no trained model: only queries that need one fail
    with pytest.raises(LibraryError, match="no trained model"):
        searcher.search_text("galaxy", k=3)
    record = Library.open(lib).records()[4]
    hits = searcher.search_similar_images(Library.open(lib).image_path(record), k=3)
    assert hits[0].id == record.id and hits[0].record == record and hits[0].modality == "image"
    assert set(hits[0].details) == {"global_score", "ncc", "inliers", "quad", "rectified_ncc"}
    with pytest.raises(LibraryError, match="no model 'cca'"):
        Searcher(lib, "cca")
