"""A library written by scicmr 0.1 before the package re-layout, once migrated by `scicmr
upgrade` (format 1 -> 2), opens and searches identically, without re-encoding: stored
feature-cache keys, models and indexes stay valid; unmigrated, it is refused with the command.

The fixture in ``tests/data/legacy_library_0_1`` was built by the pre-change code (ingest of
the generated manifest, thumbnail + TF-IDF features, CCA, flat index); ``expected.json`` holds
that code's search results.
"""

import json
import shutil
from pathlib import Path

import pytest

from scicmr.corpus.library import Library
from scicmr.corpus.upgrade import upgrade_library
from scicmr.errors import LibraryError
from scicmr.encoders import create_encoder, feature_key
from scicmr.workflow import Searcher, encode_library

FIXTURE = Path(__file__).resolve().parents[1] / "data" / "legacy_library_0_1"


@pytest.fixture()
def legacy(tmp_path):
    shutil.copytree(FIXTURE / "library", tmp_path / "library")
    report = upgrade_library(tmp_path / "library")
    assert (report.from_version, report.to_version) == (1, 2) and report.converted and not report.dropped
    return tmp_path / "library", json.loads((FIXTURE / "expected.json").read_text())


def test_an_old_library_is_refused_with_the_upgrade_command(tmp_path):
    shutil.copytree(FIXTURE / "library", tmp_path / "library")
    with pytest.raises(LibraryError) as err:
        Library.open(tmp_path / "library")
    assert "scicmr upgrade" in err.value.fix


def test_upgrade_twice_does_nothing_the_second_time(legacy):
    root, _ = legacy
    before = {p.name: p.stat().st_mtime_ns for p in (root / "features").iterdir()}
    assert upgrade_library(root).converted == []
    assert {p.name: p.stat().st_mtime_ns for p in (root / "features").iterdir()} == before


def _same(hits, expected):
    assert [h.id for h in hits] == [e[0] for e in expected]
    assert [h.score for h in hits] == pytest.approx([e[1] for e in expected], abs=1e-4)


def test_searches_match_the_pre_change_results(legacy):
    root, expected = legacy
    searcher = Searcher(root)
    lib = Library.open(root)
    _same(searcher.search_text("gene expression heat map", k=5), expected["text"])
    query = lib.get(expected["image_query_record"])
    _same(searcher.search_image(lib.image_path(query), k=5), expected["image"])
    _same(searcher.search_record(query.id, k=5), expected["record"])


def test_feature_cache_keys_are_unchanged(legacy):
    root, expected = legacy
    stored = expected["meta_encoders"]
    assert feature_key(create_encoder("thumbnail")) == stored["image"]["key"]
    before = {p.name: p.stat().st_mtime_ns for p in (root / "features").iterdir()}
    keys = encode_library(root, image="thumbnail", text="tfidf")
    assert keys == {"image": stored["image"]["key"], "text": stored["text"]["key"]}
    after = {p.name: p.stat().st_mtime_ns for p in (root / "features").iterdir()}
    assert after == before, "the stored features were recomputed"
