"""ingest → encode → train → index → search → evaluate → export, on a generated manifest."""

import json

import numpy as np
import pytest

from factories.data import make_manifest
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
    assert sum(h.record.labels == ["genomics"] for h in hits) >= 4
    assert all(h.modality == "image" for h in hits)


def test_image_search_finds_captions_of_same_field(trained_library):
    lib = Library.open(trained_library)
    query = next(r for r in lib.records("test") if r.labels == ["astronomy"])
    hits = Searcher(trained_library).search_image(lib.image_path(query), k=3)
    assert sum(h.record.labels == ["astronomy"] for h in hits) >= 2


def test_index_search_equals_exact_fallback(trained_library):
    searcher = Searcher(trained_library)
    vectors = searcher.embed_text(["ocean temperature anomaly"])
    indexed = [h.id for h in searcher.lookup(vectors, "image", 10)[0]]
    index, ids = searcher._exact_index("image")
    _, positions = index.search(vectors, 10)
    assert indexed == [ids[p] for p in positions[0]]


def test_evaluate_document_shape(trained_library, tmp_path):
    out = tmp_path / "m.json"
    document = evaluate_model(trained_library, "cca", json_path=out)
    assert json.loads(out.read_text()) == json.loads(json.dumps(document))
    assert set(document) >= {"dataset", "method", "split", "i2t", "t2i", "pool", "config", "seconds"}
    assert document["pool"]["queries"] == document["pool"]["candidates"] > 0
    assert document["i2t"]["map"] > 0.6 and document["t2i"]["map"] > 0.6  # chance is ~0.33


def test_pair_protocol(trained_library):
    document = evaluate_model(trained_library, "cca", protocol="pair")
    assert set(document["i2t"]) == {"mrr", "hits@1", "hits@3", "hits@10"}
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
    before = {k: (lib.features_dir(k) / "vectors.npy").stat().st_mtime_ns for k in lib.feature_keys()}
    encode_library(trained_library)
    after = {k: (lib.features_dir(k) / "vectors.npy").stat().st_mtime_ns for k in lib.feature_keys()}
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
    assert first.id not in json.loads((lib.features_dir(keys["image"]) / "ids.json").read_text())
    del first.extra["quarantine"]  # restored by `scicmr clean --restore`
    lib.update_records([first])
    keys = encode_library(lib, image="thumbnail", text="tfidf")  # no --force needed
    for key in keys.values():
        assert lib.load_features(key, [first.id]).shape[0] == 1
