"""A built index records the model version it was built from; a retrained model never ranks
through an index built from its previous version (scores from the old model, or a dimension
mismatch when n_components changed)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from factories.service import build_library
from factories.retrieval import assert_same_ranking
from scicmr.corpus.library import Library
from scicmr.workflow import Searcher, build_index, train_model
from scicmr.workflow.index import (
    StaleIndexError,
    index_name,
    load_built_index,
    model_version,
)
from scicmr.workflow.snapshot import extended, save_indexes


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A tiny library with CCA trained and a flat index built (shared, never modified)."""
    return build_library(tmp_path_factory.mktemp("stale"))


@pytest.fixture()
def lib_root(built, tmp_path):
    return shutil.copytree(built, tmp_path / "lib")


# These tests are about the model's own ranking through its index, so searches ask for the
# cross-modal channel alone (the hybrid ranker fuses it with text channels: tests/workflow/test_hybrid.py).
MODEL = ["cross_modal"]


def _exact_scores(searcher, phrase, k=5):
    """The exact ranking of the current model's vectors: what any index must agree with."""
    vectors = searcher.embed_text([phrase])
    index, ids = searcher._exact_index("image")
    scores, positions = index.search(vectors, k)
    return [ids[int(p)] for p in positions[0]], scores[0]


def test_retraining_with_other_params_does_not_serve_the_old_index(lib_root):
    before = [h.score for h in Searcher(lib_root).search_text("gene expression heat map", k=5, channels=MODEL)]
    train_model(lib_root, "cca", {"reg": 0.9})
    searcher = Searcher(lib_root)
    hits = searcher.search_text("gene expression heat map", k=5, channels=MODEL)
    want_ids, want_scores = _exact_scores(searcher, "gene expression heat map")
    assert_same_ranking([h.id for h in hits], [h.score for h in hits], want_ids, want_scores)
    assert [h.score for h in hits] != pytest.approx(before, abs=1e-6), "the retrain changed nothing?"


def test_retraining_with_other_n_components_does_not_fail_on_dimension(lib_root):
    train_model(lib_root, "cca", {"n_components": 3})
    searcher = Searcher(lib_root)
    hits = searcher.search_text("ocean temperature anomaly", k=4, channels=MODEL)
    want_ids, want_scores = _exact_scores(searcher, "ocean temperature anomaly", k=4)
    assert_same_ranking([h.id for h in hits], [h.score for h in hits], want_ids, want_scores)


@pytest.mark.parametrize("param", ["reg=0.9", "n_components=3"])
def test_cli_search_after_retraining_uses_the_new_model(lib_root, capsys, param):
    # The reported commands: `scicmr train LIB --method cca --param ...`, then `scicmr search`.
    from scicmr.cli import main

    assert main(["train", str(lib_root), "--method", "cca", "--param", param]) == 0
    capsys.readouterr()
    assert main(["search", str(lib_root), "ocean temperature anomaly", "-k", "4", "--channels", "cross_modal", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    want_ids, want_scores = _exact_scores(Searcher(lib_root), "ocean temperature anomaly", k=4)
    assert_same_ranking([h["id"] for h in hits], [h["score"] for h in hits], want_ids, want_scores)


def _config(lib, modality="image", kind="flat"):
    return json.loads((lib.index_dir(index_name("cca", modality, kind)) / "config.json").read_text())


def test_the_index_records_the_model_version_and_a_rebuild_is_used_again(lib_root, caplog):
    lib = Library.open(lib_root)
    assert _config(lib)["built_from"] == {"model": "cca", "model_version": model_version(lib, "cca")}
    assert load_built_index(lib, "cca", "image", "flat") is not None
    train_model(lib_root, "cca", {"reg": 0.9})
    lib = Library.open(lib_root)
    with pytest.raises(StaleIndexError, match="earlier version of model 'cca'") as caught:
        load_built_index(lib, "cca", "image", "flat")
    assert f"scicmr index {lib.root}" in caught.value.fix
    # The searcher still answers (an in-memory index) and says how to make the saved one current.
    with caplog.at_level("WARNING"):
        Searcher(lib_root).search_text("gene expression heat map", k=3, channels=MODEL)
    assert "scicmr index" in caplog.text
    build_index(lib_root, kind="flat")
    assert load_built_index(Library.open(lib_root), "cca", "image", "flat") is not None


def _strip_versions(lib):
    """Make the library look as scicmr before model versions wrote it."""
    info_path = lib.model_dir("cca") / "training.json"
    info = json.loads(info_path.read_text())
    info.pop("model_version", None)
    info_path.write_text(json.dumps(info))
    for modality in ("image", "text"):
        path = lib.index_dir(index_name("cca", modality, "flat")) / "config.json"
        config = json.loads(path.read_text())
        config.pop("built_from", None)
        path.write_text(json.dumps(config))


def test_indexes_and_models_from_before_versions(lib_root):
    lib = Library.open(lib_root)
    _strip_versions(lib)
    # Both unversioned: trusted, as before (the 0.1 library of test_legacy_library).
    assert load_built_index(lib, "cca", "image", "flat") is not None
    # An unversioned model's version is the hash of its files; an index built now records it.
    assert model_version(lib, "cca").startswith("sha256:")
    build_index(lib_root, kind="flat")
    assert _config(lib)["built_from"]["model_version"] == model_version(lib, "cca")
    assert load_built_index(lib, "cca", "image", "flat") is not None
    # Retraining records a version: an unversioned index is then known to be older.
    _strip_versions(lib)
    train_model(lib_root, "cca", {"reg": 0.9})
    with pytest.raises(StaleIndexError, match="predates model versions"):
        load_built_index(Library.open(lib_root), "cca", "image", "flat")


def test_a_content_hash_version_notices_changed_model_files(lib_root):
    lib = Library.open(lib_root)
    _strip_versions(lib)
    build_index(lib_root, kind="flat")  # records sha256:<files>
    state = next(p for p in sorted(lib.model_dir("cca").iterdir()) if p.name not in ("config.json", "training.json"))
    state.write_bytes(state.read_bytes() + b"\0")  # any change of the saved state
    with pytest.raises(StaleIndexError):
        load_built_index(lib, "cca", "image", "flat")


def test_a_service_write_saves_an_index_current_for_the_snapshot_model(lib_root):
    lib = Library.open(lib_root)
    searcher = Searcher(lib_root)
    snapshot = searcher.snapshot
    assert snapshot.model_version == model_version(lib, "cca")
    records = lib.records()[:1]
    grown = extended(snapshot, records, {m: snapshot.vectors[m][:1] for m in ("image", "text")})
    save_indexes(lib, "cca", grown)
    assert _config(lib)["built_from"]["model_version"] == snapshot.model_version
    # A snapshot of another model version would not be served from it.
    train_model(lib_root, "cca", {"reg": 0.9})
    with pytest.raises(StaleIndexError):
        load_built_index(Library.open(lib_root), "cca", "image", "flat")
    with pytest.raises(StaleIndexError):
        load_built_index(Library.open(lib_root), "cca", "text", "flat")
    assert Searcher(lib_root).snapshot.model_version == model_version(Library.open(lib_root), "cca")


def test_adhn_code_index_left_by_an_interrupted_retrain_is_refused(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from factories.data import make_manifest

    from scicmr.errors import LibraryError
    from scicmr.workflow import image_hashing, ingest
    from scicmr.workflow.image_hashing import ImageCodeSearch, train_image_hashing

    tiny = {"backbone": "tiny", "image_size": 32, "epochs": 1, "batch_size": 8}
    root = ingest(make_manifest(tmp_path / "src"), tmp_path / "lib", split=(0.6, 0.2, 0.2), seed=0).library
    train_image_hashing(root, bits=8, **tiny)
    lib = Library.open(root)
    query = lib.image_path(lib.records()[0])
    assert ImageCodeSearch(root, "adhn-8").search(query, k=2)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("stopped before re-indexing")

    monkeypatch.setattr(image_hashing, "index_library_codes", crash)
    with pytest.raises(KeyboardInterrupt):
        train_image_hashing(root, bits=8, seed=1, **tiny)
    with pytest.raises(LibraryError, match="earlier version of model 'adhn-8'") as caught:
        ImageCodeSearch(root, "adhn-8")
    assert "scicmr hash-images" in caught.value.fix and "--bits 8" in caught.value.fix


def test_a_service_write_saves_a_code_index_that_loads_and_is_current(lib_root):
    # A hashing model's built Hamming index is a CodeSearch in the snapshot: saving it after a
    # write keeps the Hamming index, its relaxed vectors and the model version.
    train_model(lib_root, "cca-hash", {"n_bits": 16}, name="hash")
    build_index(lib_root, "hash", kind="hamming-flat")
    lib = Library.open(lib_root)
    searcher = Searcher(lib_root, "hash", rerank=8)
    snapshot = searcher.snapshot
    grown = extended(snapshot, lib.records()[:1], {m: snapshot.vectors[m][:1] for m in ("image", "text")})
    save_indexes(lib, "hash", grown)
    index, ids = load_built_index(Library.open(lib_root), "hash", "image", "hamming-flat", rerank=8)
    assert len(ids) == len(grown) and len(index) == len(grown) and index.vectors is not None
    query = grown.vectors["text"][:3]
    np.testing.assert_array_equal(index.search(query, 5)[1], grown.indexes["image"].search(query, 5)[1])
