"""A damaged library is reported with a fix, never a traceback: garbled library.json,
records.sqlite, feature caches and built indexes (cases found by bench/faults.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from factories.data import make_manifest
from scicmr.corpus.library import Library
from scicmr.errors import LibraryError
from scicmr.workflow import Searcher, build_index, encode_library, ingest, train_model


@pytest.fixture()
def library(tmp_path):
    report = ingest(make_manifest(tmp_path / "src", per_field=4), tmp_path / "lib", split=(0.5, 0.25, 0.25), seed=0)
    return report.library


@pytest.mark.parametrize("content", [b"", b"{not json", b"[1, 2]"])
def test_a_damaged_library_json_is_a_library_error(library, content):
    (library / "library.json").write_bytes(content)
    with pytest.raises(LibraryError, match="library.json is damaged") as info:
        Library.open(library)
    assert "ingest" in info.value.fix


@pytest.mark.parametrize("content", [b"", b"garbage that is not sqlite" * 100])
def test_a_damaged_records_database_is_a_library_error(library, content):
    (library / "records.sqlite").write_bytes(content)
    for extra in ("records.sqlite-wal", "records.sqlite-shm"):
        (library / extra).unlink(missing_ok=True)
    with pytest.raises(LibraryError, match="records.sqlite is damaged"):
        Library.open(library)


def test_a_damaged_feature_cache_is_absent_or_a_library_error(library):
    keys = encode_library(library, image="thumbnail", text="tfidf")
    lib = Library.open(library)
    folder = lib.features_dir(keys["image"])
    manifest = (folder / "table.json").read_text()
    (folder / "table.json").write_text("{oops")
    assert not lib.has_features(keys["image"])  # so encode writes it again
    with pytest.raises(LibraryError, match="damaged"):
        lib.load_features(keys["image"])
    (folder / "table.json").write_text(manifest)
    ids_file, vectors_file = next(folder.glob("c*.ids.json")), next(folder.glob("c*.vectors.npy"))
    ids_file.write_text(json.dumps([r.id for r in lib.records()][:2]))  # fewer ids than rows
    assert not lib.has_features(keys["image"])
    with pytest.raises(LibraryError, match="damaged"):
        lib.load_features(keys["image"])
    ids_file.write_text(json.dumps([r.id for r in lib.records()]))
    vectors_file.write_bytes(vectors_file.read_bytes()[:100])  # truncated
    assert not lib.has_features(keys["image"])
    with pytest.raises(LibraryError, match="damaged"):
        lib.load_features(keys["image"])
    assert encode_library(library, image="thumbnail", text="tfidf", force=True) == keys
    assert lib.load_features(keys["image"]).shape[0] == len(lib.records())


def test_a_damaged_built_index_is_rebuilt_in_memory_for_search(library):
    encode_library(library, image="thumbnail", text="tfidf")
    train_model(library, "cca")
    build_index(library, kind="flat")
    expected = [h.id for h in Searcher(library).search_text("galaxy redshift spectrum", k=5)]
    lib = Library.open(library)
    for directory in (lib.root / "indexes").iterdir():
        (directory / "index.faiss").write_bytes(b"not a faiss index")
    hits = Searcher(library).search_text("galaxy redshift spectrum", k=5)
    assert [h.id for h in hits] == expected and np.isfinite([h.score for h in hits]).all()
