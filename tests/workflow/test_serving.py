"""A model's serving table: written by `scicmr index`, mapped at start without reading the
records, rebuilt when stale; `scicmr compact` drops tombstones and keeps results identical."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scicmr.cli import main
from scicmr.corpus.library import Library
from scicmr.corpus.table import ChunkedTable
from scicmr.workflow import Searcher
from scicmr.workflow.serving import serving_dir
from scicmr.workflow.snapshot import Filters

QUERIES = ["ocean temperature anomaly", "gene expression heat map", "galaxy redshift"]


@pytest.fixture()
def library(trained_library_copy):
    return trained_library_copy  # the shared small trained library (tests/conftest.py), copied


def _ranking(root, **filters):
    """Per query: the top 10 as (id, score)."""
    searcher = Searcher(root)
    return [[(h.id, h.score) for h in searcher.rank(searcher.embed_text([q]), "image", 10,
                                                    filters=Filters(**filters)).hits] for q in QUERIES]


def _same(got, expected):
    """The same ids in the same order, scores equal up to float rounding (a product over one
    chunk and over several may differ in the last bits on another CPU)."""
    assert [[i for i, _ in page] for page in got] == [[i for i, _ in page] for page in expected]
    assert [[s for _, s in page] for page in got] == [pytest.approx([s for _, s in page], abs=1e-5) for page in expected]


def test_index_writes_the_table_and_a_start_reads_no_records(library, monkeypatch):
    lib = Library.open(library)
    table = ChunkedTable.open(serving_dir(lib, "cca"))
    assert table.ids() == [r.id for r in lib.records() if r.kind == "pair"]
    assert table.meta["records_generation"] == lib.records_generation()
    expected = _ranking(library)
    import scicmr.workflow.search as search_module

    monkeypatch.setattr(search_module, "paired_records", lambda *a, **k: pytest.fail("records were read"))
    monkeypatch.setattr(search_module, "shared_vectors", lambda *a, **k: pytest.fail("features were projected"))
    _same(_ranking(library), expected)
    assert isinstance(Searcher(library).snapshot.vectors["image"].blocks[0], np.memmap)


def test_a_table_left_stale_by_a_records_change_is_rebuilt(library):
    lib = Library.open(library)
    victim = lib.records()[0].id
    lib.delete_records([victim])  # as if a delete died before its table update
    ranking = _ranking(library)
    assert all(victim not in [hit for hit, _ in page] for page in ranking)
    table = ChunkedTable.open(serving_dir(lib, "cca"))
    assert victim not in table.ids() and table.meta["records_generation"] == lib.records_generation()


def test_compact_drops_tombstones_and_keeps_results(library, capsys):
    from factories.service import API_KEY, client, image_bytes

    # A figure of its own (not a copy of a library one): a duplicate vector's ties would be
    # settled by float rounding, which differs between a two-chunk and a one-chunk product.
    new = {"id": "new-1", "title": "t", "caption": "quasar absorption lines", "labels": ["astronomy"],
           "authors": ["A B"], "date": "2024", "image": "f.png"}
    with client(library, api_key=API_KEY) as api:
        headers = {"X-API-Key": API_KEY}
        assert api.post("/api/records", headers=headers, data={"records": json.dumps([new])},
                        files=[("files", ("f.png", image_bytes("red", 99), "image/png"))]).status_code == 201
        victim = api.get("/api/search", params={"q": "ocean", "k": 1}).json()["hits"][0]["id"]
        assert api.delete(f"/api/records/{victim}", headers=headers).status_code == 200
    lib = Library.open(library)
    before = _ranking(library), _ranking(library, year_min=2000, labels=("astronomy",))
    table = ChunkedTable.open(serving_dir(lib, "cca"))
    assert len(table.chunk_names()) == 2 and table.n_rows == len(table) + 1
    assert main(["compact", str(library), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["reindexed"] == ["cca"] and "models/cca/serving" in report["tables"]
    table = ChunkedTable.open(serving_dir(lib, "cca"))
    assert len(table.chunk_names()) == 1 and table.n_rows == len(table)
    assert all(len(lib.feature_table(k).chunk_names()) <= 1 for k in lib.feature_keys())
    image_key = lib.meta["encoders"]["image"]["key"]
    assert victim not in lib.feature_table(image_key).ids() and "new-1" in lib.feature_table(image_key).ids()
    assert lib.deleted_since_compaction() == []
    after = _ranking(library), _ranking(library, year_min=2000, labels=("astronomy",))
    _same(after[0], before[0])
    _same(after[1], before[1])
    assert main(["compact", str(library)]) == 0
    assert "nothing to compact" in " ".join(capsys.readouterr().out.split())


def test_a_library_that_cannot_be_written_still_searches(library, monkeypatch):
    import shutil

    import scicmr.workflow.serving as serving

    expected = _ranking(library)
    shutil.rmtree(serving_dir(Library.open(library), "cca"))
    real = serving.write_table

    def refuse_the_library(*args, folder=None, **kwargs):
        if folder is None:
            raise PermissionError(13, "Permission denied")
        return real(*args, folder=folder, **kwargs)

    monkeypatch.setattr(serving, "write_table", refuse_the_library)
    _same(_ranking(library), expected)
    assert not serving_dir(Library.open(library), "cca").exists()


def test_the_temporary_table_of_a_read_only_library_goes_with_its_searcher(library, monkeypatch):
    import gc
    import shutil
    import tempfile

    import scicmr.workflow.serving as serving

    shutil.rmtree(serving_dir(Library.open(library), "cca"))
    real = serving.write_table
    folders = []

    def refuse_the_library(*args, folder=None, **kwargs):
        if folder is None:
            raise PermissionError(13, "Permission denied")
        folders.append(folder)
        return real(*args, folder=folder, **kwargs)

    monkeypatch.setattr(serving, "write_table", refuse_the_library)
    monkeypatch.setattr(tempfile, "tempdir", str(library.parent))  # only this test's temporary folders

    def started():
        searcher = Searcher(library)
        assert len(searcher.snapshot) > 0
        return searcher

    searcher = started()
    assert folders[-1].exists()
    searcher.close()
    assert not folders[-1].exists()
    assert searcher.rank(searcher.embed_text([QUERIES[0]]), "image", 5).hits  # the snapshot read still ranks

    started()  # dropped at once
    gc.collect()
    assert len(folders) == 2 and not folders[-1].exists()
    assert not list(library.parent.glob("scicmr-serving-*"))


def test_an_ivfpq_index_serves_the_same_ranking_through_exact_reranking(library):
    expected = _ranking(library)
    assert main(["index", str(library), "--kind", "ivfpq", "--param", "nprobe=4", "--param", "nlist=8"]) == 0
    snapshot = Searcher(library).snapshot
    assert type(snapshot.indexes["image"].base).__name__ == "ShortlistRerank"
    _same(_ranking(library), expected)  # a shortlist of 100 covers this small library: exact


@pytest.mark.parametrize("damage", ["chunk", "manifest"])
def test_a_damaged_serving_table_is_rebuilt_not_fatal(library, damage):
    expected = _ranking(library)
    folder = serving_dir(Library.open(library), "cca")
    target = next(folder.glob("c*.image.npy")) if damage == "chunk" else folder / "table.json"
    target.write_bytes(target.read_bytes()[: 40])
    _same(_ranking(library), expected)
    assert ChunkedTable.open(folder).ids() == [r.id for r in Library.open(library).records() if r.kind == "pair"]
