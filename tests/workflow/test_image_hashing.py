"""ADHN on a library: train through the workflow and the CLI, reload, search by codes, bad input."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

pytest.importorskip("torch")

from factories.data import make_manifest, write_image  # noqa: E402
from scicmr.cli import main  # noqa: E402
from scicmr.corpus.library import Library  # noqa: E402
from scicmr.errors import InputError  # noqa: E402
from scicmr.hashing.codes import hamming_distances, pack_codes  # noqa: E402
from scicmr.methods import load_method  # noqa: E402
from scicmr.workflow import ingest  # noqa: E402
from scicmr.workflow.image_hashing import (  # noqa: E402
    index_library_codes,
    train_image_hashing,
)

TINY = dict(backbone="tiny", image_size=32, epochs=8, batch_size=8, lr=3e-3, backbone_lr=3e-3)


def _code_search(root, image, **params):
    """One query through a fresh Searcher (which loads the ADHN model and its code index)."""
    from scicmr.workflow import Searcher

    return Searcher(root).search_images_by_codes(image, **params)


@pytest.fixture(scope="module")
def hashed(tmp_path_factory):
    """A 36-image library in 3 colour classes with a 16-bit ADHN model and its code index."""
    root = tmp_path_factory.mktemp("adhn-lib")
    report = ingest(make_manifest(root / "src"), root / "lib", split=(0.6, 0.2, 0.2), seed=0)
    return report.library, train_image_hashing(report.library, bits=16, **TINY)


def test_workflow_trains_saves_and_indexes(hashed):
    root, report = hashed
    lib = Library.open(root)
    assert report.model == "adhn-16" and report.classes == ["astronomy", "climate", "genomics"]
    assert report.n_indexed == len(lib) == 36 and report.skipped == []
    assert report.n_train == len(lib.records("train")) and report.n_test == len(lib.records("test"))
    assert report.test_map > 0.6, report  # three separable colour classes; chance is about 1/3
    assert report.validation_map is not None and 1 <= report.best_epoch <= TINY["epochs"]
    assert (lib.model_dir("adhn-16") / "config.json").is_file()
    # The reloaded model gives the indexed codes exactly.
    ids = json.loads((lib.index_dir("adhn-16-image-hamming-exact") / "ids.json").read_text())
    stored = np.load(lib.index_dir("adhn-16-image-hamming-exact") / "relaxed.npy")
    paths = [lib.image_path(r) for r in lib.get_many(ids)]
    reloaded = load_method(lib.model_dir("adhn-16"))
    np.testing.assert_array_equal(reloaded.codes(paths), pack_codes(stored))


def test_search_returns_itself_first_and_matches_popcount_ranking(hashed):
    root, _ = hashed
    lib = Library.open(root)
    directory = lib.index_dir("adhn-16-image-hamming-exact")
    ids = json.loads((directory / "ids.json").read_text())
    codes = pack_codes(np.load(directory / "relaxed.npy"))
    model = load_method(lib.model_dir("adhn-16"))
    for record in lib.records("train")[:4] + lib.records("test")[:2]:
        hits = _code_search(root, lib.image_path(record), k=10, model="adhn-16")
        assert hits[0].details["distance"] == 0 and [h.rank for h in hits] == list(range(1, 11))
        # Slow reference: popcount distances to every code, ties by index row (library order).
        distances = hamming_distances(model.codes([lib.image_path(record)]), codes)[0]
        order = sorted(range(len(ids)), key=lambda row: (distances[row], row))[:10]
        assert [h.id for h in hits] == [ids[row] for row in order]
        assert [h.details["distance"] for h in hits] == [int(distances[row]) for row in order]
        np.testing.assert_allclose([h.score for h in hits], [1 - 2 * distances[row] / 16 for row in order], atol=1e-6)
        if record.extra["split"] == "train":
            # Its own image is at distance 0; only exact-duplicate codes may precede it.
            assert record.id in [h.id for h in hits if h.details["distance"] == 0]
            assert hits[0].id == record.id or distances[ids.index(hits[0].id)] == 0
    reranked = _code_search(root, lib.image_path(lib.records("train")[0]), k=5, model="adhn-16", rerank=20)
    assert len(reranked) == 5 and reranked[0].score == pytest.approx(1.0, abs=1e-5)


def test_searcher_code_search_keeps_the_model_and_gives_the_same_hits(hashed, monkeypatch):
    from scicmr.workflow import Searcher, image_hashing

    root, _ = hashed
    lib = Library.open(root)
    queries = [lib.image_path(r) for r in lib.records("test")[:3]]
    expected = [_code_search(root, q, k=6, model="adhn-16") for q in queries]
    searcher = Searcher(root)  # an ADHN-only library: code search needs no cross-modal model
    searcher.search_images_by_codes(queries[0], k=6, model="adhn-16")

    def no_reload(*args, **kwargs):
        raise AssertionError("the ADHN model was loaded again")

    monkeypatch.setattr(image_hashing, "load_library_hasher", no_reload)
    for query, rows in zip(queries, expected):
        hits = searcher.search_images_by_codes(query, k=6, model="adhn-16")
        assert [(h.rank, h.id, h.details["distance"], h.score) for h in hits] == \
            [(r.rank, r.id, r.details["distance"], r.score) for r in rows]
        assert [h.record for h in hits] == lib.get_many([r.id for r in rows])
        assert {h.modality for h in hits} == {"image"}


def test_cli_trains_and_searches(hashed, tmp_path, capsys):
    root, _ = hashed
    lib = Library.open(root)
    assert main(["hash-images", str(root), "--bits", "8", "--backbone", "tiny", "--image-size", "32",
                 "--epochs", "2", "--attention", "se", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["model"] == "adhn-8" and report["n_indexed"] == 36 and 0 <= report["test_map"] <= 1
    query = lib.image_path(lib.records("train")[0])
    assert main(["hash-search", str(root), str(query), "-k", "3", "--model", "adhn-8", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3 and hits[0]["distance"] == 0 and {"id", "score", "labels"} <= set(hits[0])
    expected = _code_search(root, query, k=3, model="adhn-8")
    assert [h["id"] for h in hits] == [h.id for h in expected]
    # Errors exit with status 2 and name the problem.
    assert main(["hash-search", str(root), str(query), "--model", "adhn-99"]) == 2
    assert "adhn-99" in capsys.readouterr().err
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("not an image")
    assert main(["hash-search", str(root), str(not_an_image), "--model", "adhn-8"]) == 2


def test_bad_input(hashed, tmp_path):
    root, _ = hashed
    lib = Library.open(root)
    with pytest.raises(InputError, match="no ADHN model 'adhn-64'.*adhn-16"):
        _code_search(root, lib.image_path(lib.records()[0]), model="adhn-64")
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG garbage")
    with pytest.raises(InputError, match="broken.png"):
        _code_search(root, broken, model="adhn-16")
    # A library without labels (or with one class) cannot train ADHN.
    src = tmp_path / "unlabelled"
    (src / "images").mkdir(parents=True)
    rows = []
    for i in range(6):
        write_image(src / "images" / f"u{i}.png", "red", seed=i)
        rows.append(json.dumps({"id": f"u{i}", "image": f"images/u{i}.png", "caption": f"figure {i}",
                                "labels": ["only"] if i % 2 else []}))
    (src / "manifest.jsonl").write_text("\n".join(rows) + "\n")
    unlabelled = ingest(src / "manifest.jsonl", tmp_path / "ulib", split=(0.6, 0.2, 0.2), seed=0).library
    with pytest.raises(InputError, match="at least 2 classes") as caught:
        train_image_hashing(unlabelled, bits=8, **TINY)
    assert "scicmr match" in caught.value.fix


def test_corrupt_image_is_reported_and_skipped(hashed, tmp_path):
    root, _ = hashed
    copy = Library.open(shutil.copytree(root, tmp_path / "lib"))
    victim = copy.records()[5]
    copy.image_path(victim).write_bytes(b"truncated")
    directory, count, skipped = index_library_codes(copy, "adhn-16", load_method(copy.model_dir("adhn-16")))
    assert count == 35 and len(skipped) == 1 and skipped[0].startswith(victim.id)
    assert victim.id not in json.loads((directory / "ids.json").read_text())
