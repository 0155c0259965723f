"""The Milvus backend through the workflow, the CLI and the service, on a real Milvus Lite file:
the same hits as the default (FAISS) backend, filters and hybrid text search included."""

from __future__ import annotations

import json
import shutil

import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from factories.retrieval import assert_same_ranking  # noqa: E402
from factories.service import API_KEY, build_library, client  # noqa: E402

from scicmr.cli import main  # noqa: E402
from scicmr.corpus.library import Library  # noqa: E402
from scicmr.errors import InputError, LibraryError  # noqa: E402
from scicmr.workflow import Searcher, build_index, train_model  # noqa: E402
from scicmr.workflow.snapshot import Filters  # noqa: E402

PHRASES = ["gene expression heat map", "ocean temperature anomaly", "galaxy redshift spectrum"]
FILTERS = [Filters(), Filters(year_min=2014), Filters(year_max=2016), Filters(year_min=2012, year_max=2018),
           Filters(labels=("GENOMICS", "climate")), Filters(author="author 1"), Filters(author="  ASTRONOMY "),
           Filters(author="%"), Filters(year_min=2011, labels=("astronomy",), author="astro")]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A tiny trained library (CCA, flat FAISS index) and a copy indexed on Milvus Lite."""
    root = tmp_path_factory.mktemp("milvus-backend")
    faiss_lib = build_library(root)
    milvus_lib = shutil.copytree(faiss_lib, root / "milvus-lib")
    build_index(milvus_lib, kind="flat", backend="milvus")
    return faiss_lib, milvus_lib


def test_serve_refuses_several_workers_on_a_milvus_lite_file(built, capsys):
    from pathlib import Path

    from scicmr.workflow.backends import milvus_lite_file

    faiss_lib, milvus_lib = built
    lib = Library.open(milvus_lib)
    assert milvus_lite_file(lib, "cca", None) == (Path(milvus_lib) / "indexes" / "milvus.db").resolve()
    assert milvus_lite_file(lib, "cca", "faiss") is None
    assert milvus_lite_file(Library.open(faiss_lib), "cca", None) is None
    pytest.importorskip("uvicorn")
    assert main(["serve", str(milvus_lib), "--workers", "2"]) == 2  # refused before any server starts
    err = capsys.readouterr().err
    assert "Milvus Lite" in err and "--workers 1" in err and "--milvus-uri" in err


def _same_page(got, want):
    assert got.total == want.total
    assert_same_ranking([h.id for h in got.hits], [h.score for h in got.hits],
                        [h.id for h in want.hits], [h.score for h in want.hits])


def test_index_records_the_backend_and_a_lite_file(built):
    _, milvus_lib = built
    lib = Library.open(milvus_lib)
    assert lib.meta["indexes"]["cca"] == "milvus"
    config = json.loads((lib.index_dir("cca-image-milvus") / "config.json").read_text())
    assert config["kind"] == "milvus" and config["params"]["uri"] == "milvus.db" and config["dim"] > 0
    assert config["params"]["collection"].startswith("scicmr_") and config["built_from"]["model"] == "cca"
    assert (lib.root / "indexes" / "milvus.db").exists()


@pytest.mark.parametrize("target", ["image", "text"])
def test_same_hits_as_faiss_with_every_filter(built, target):
    faiss_lib, milvus_lib = built
    default, milvus = Searcher(faiss_lib), Searcher(milvus_lib, backend="milvus")
    assert type(milvus.snapshot.indexes[target]).__name__ == "MilvusIndex"
    for phrase in PHRASES:
        vector = default.embed_text([phrase])
        for filters in FILTERS:
            _same_page(milvus.rank(vector, target, 8, 0, filters), default.rank(vector, target, 8, 0, filters))
            _same_page(milvus.rank(vector, target, 3, 4, filters), default.rank(vector, target, 3, 4, filters))


def test_milvus_is_the_library_default_once_built(built):
    _, milvus_lib = built
    assert type(Searcher(milvus_lib).snapshot.indexes["image"]).__name__ == "MilvusIndex"
    assert type(Searcher(milvus_lib, backend="faiss").snapshot.indexes["image"]).__name__ != "MilvusIndex"


def test_hybrid_text_search_works_with_either_backend(built):
    faiss_lib, milvus_lib = built
    default, milvus = Searcher(faiss_lib), Searcher(milvus_lib, backend="milvus")
    assert milvus.fusion is not None, "the fixture's model has no hybrid ranker to test"
    for phrase in PHRASES:
        for filters in (Filters(), Filters(labels=("climate",))):
            got, want = (s.search("text", phrase, "image", 6, filters=filters) for s in (milvus, default))
            _same_page(got, want)
            assert got.hits[0].details["ranker"].startswith("hybrid")


def test_cli_round_trip(built, capsys):
    faiss_lib, milvus_lib = built
    outputs = {}
    for lib, extra in ((faiss_lib, []), (milvus_lib, ["--backend", "milvus"])):
        capsys.readouterr()
        assert main(["search", str(lib), "rainfall trend by decade", "-k", "5", "--json", *extra]) == 0
        outputs[str(lib)] = json.loads(capsys.readouterr().out)
    got, want = outputs[str(milvus_lib)], outputs[str(faiss_lib)]
    assert_same_ranking([h["id"] for h in got], [h["score"] for h in got], [h["id"] for h in want],
                        [h["score"] for h in want])


def test_search_with_milvus_but_none_built_names_the_command(built, capsys):
    faiss_lib, _ = built
    with pytest.raises(LibraryError) as info:
        _ = Searcher(faiss_lib, backend="milvus").snapshot
    assert "--backend milvus" in info.value.fix
    assert main(["search", str(faiss_lib), "galaxy", "--backend", "milvus"]) != 0
    assert f"scicmr index {faiss_lib}" in capsys.readouterr().err


def test_cli_index_rebuild_replaces_the_collection(built, tmp_path, capsys):
    lib_root = shutil.copytree(built[1], tmp_path / "lib")
    config = lib_root / "indexes" / "cca-text-milvus" / "config.json"
    before = json.loads(config.read_text())["params"]["collection"]
    assert main(["index", str(lib_root), "--backend", "milvus"]) == 0
    assert "Milvus Lite" in capsys.readouterr().out
    after = json.loads(config.read_text())["params"]["collection"]
    assert after != before
    from pymilvus import MilvusClient

    names = MilvusClient(str(lib_root / "indexes" / "milvus.db")).list_collections()
    assert after in names and before not in names
    hits = Searcher(lib_root, backend="milvus").search_text("carbon flux", k=3, channels=["cross_modal"])
    assert len(hits) == 3


def test_retrained_model_makes_the_milvus_index_stale(built, tmp_path):
    lib_root = shutil.copytree(built[1], tmp_path / "lib")
    train_model(lib_root, "cca", {"reg": 0.9})
    with pytest.raises(LibraryError) as info:
        _ = Searcher(lib_root, backend="milvus").snapshot
    assert "--backend milvus" in info.value.fix
    # The library default falls back to an index built in memory, as for a stale FAISS index.
    searcher = Searcher(lib_root)
    assert type(searcher.snapshot.indexes["image"]).__name__ != "MilvusIndex"


def test_a_record_deleted_behind_the_milvus_index_is_never_served(built, tmp_path, caplog):
    # A delete taken while serving with the FAISS backend tombstones the serving row; Milvus
    # still holds the row, so the library default must not rank through it any more.
    from scicmr.workflow.serving import publish_deleted

    lib_root = shutil.copytree(built[1], tmp_path / "lib")
    snapshot = Searcher(lib_root, backend="faiss").snapshot
    gone = snapshot.ids[0]
    lib = Library.open(lib_root)
    with lib.writing():
        lib.delete_records([gone])
        publish_deleted(lib, "cca", snapshot, [gone])
    searcher = Searcher(lib_root)
    assert type(searcher.snapshot.indexes["image"]).__name__ != "MilvusIndex"
    assert "--backend milvus" in caplog.text  # the log says how to make the built one current
    for phrase in PHRASES:
        page = searcher.search("text", phrase, "image", len(snapshot.ids))
        assert gone not in [hit.id for hit in page.hits] and page.total == len(snapshot.ids) - 1


def test_bad_backend_arguments(built):
    faiss_lib, _ = built
    with pytest.raises(InputError, match="backend"):
        Searcher(faiss_lib, backend="qdrant")
    with pytest.raises(InputError, match="Milvus URI"):
        build_index(faiss_lib, milvus_uri="http://localhost:19530")
    with pytest.raises(InputError, match="no index kind"):
        build_index(faiss_lib, kind="ivf", backend="milvus")


def test_hashing_model_is_refused_naming_the_faiss_backend(built, tmp_path, capsys):
    lib_root = shutil.copytree(built[0], tmp_path / "lib")
    train_model(lib_root, "cca-hash", {"n_bits": 8}, name="hash8")
    with pytest.raises(InputError) as info:
        build_index(lib_root, "hash8", kind="flat", backend="milvus")
    assert "binary" in info.value.problem and "FAISS backend" in info.value.fix and "--codes" in info.value.fix
    assert main(["index", str(lib_root), "--model", "hash8", "--codes", "--backend", "milvus"]) != 0
    assert "FAISS backend" in capsys.readouterr().err


def test_service_serves_milvus_and_refuses_writes(built, tmp_path):
    faiss_lib, milvus_lib = built
    lib_root = shutil.copytree(milvus_lib, tmp_path / "lib")
    with client(faiss_lib) as default, client(lib_root, backend="milvus", api_key=API_KEY) as api:
        params = {"q": "sequencing read coverage", "k": 5, "label": "genomics", "year_min": 2012}
        got, want = api.get("/api/search", params=params), default.get("/api/search", params=params)
        assert got.status_code == 200, got.text
        health = api.get("/health").json()
        assert health["index_kind"] == "milvus" and any("Milvus" in note for note in health["notes"])
        assert [h["id"] for h in got.json()["hits"]] == [h["id"] for h in want.json()["hits"]]
        response = api.delete("/api/records/genomics-0", headers={"X-API-Key": API_KEY})
        assert response.status_code == 409
        assert "--backend milvus" in response.text and "Milvus" in response.text
        assert api.get("/api/records/genomics-0").status_code == 200
