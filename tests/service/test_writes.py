"""Write endpoints: add and delete records while queries run, bad writes refused, and a write
that fails midway leaves a library that still opens and searches."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest

pytest.importorskip("fastapi")

from factories.service import API_KEY, client, image_bytes  # noqa: E402
from scicmr.corpus.library import Library  # noqa: E402
from scicmr.corpus.table import ChunkedTable  # noqa: E402
from scicmr.workflow.serving import serving_dir  # noqa: E402
from scicmr.workflow import Searcher  # noqa: E402

KEY = {"X-API-Key": API_KEY}
NEW = {"id": "new-galaxy-1", "title": "A new survey", "caption": "quasar absorption lines in a distant nebula",
       "labels": ["astronomy"], "authors": ["Ada Newcomer"], "date": "2024", "image": "fig1.png"}


@pytest.fixture()
def library(trained_library_copy):
    return trained_library_copy  # the shared small trained library (tests/conftest.py), copied


@pytest.fixture
def api(library):
    with client(library, api_key=API_KEY) as c:
        yield c


def _add(api, rows, files=None):
    files = files if files is not None else {"fig1.png": image_bytes("red", 99)}
    return api.post("/api/records", headers=KEY, data={"records": json.dumps(rows)},
                    files=[("files", (name, data, "image/png")) for name, data in files.items()])


def _search_text(api, q, **params):
    return api.get("/api/search", params={"q": q, "k": 5, **params}).json()


def test_added_record_is_searchable_at_once_and_after_a_restart(api, library):
    response = _add(api, [NEW])
    assert response.status_code == 201, response.text
    assert response.json() == {"added": ["new-galaxy-1"], "deleted": [], "indexed": 37, "snapshot": 1}
    body = _search_text(api, "quasar absorption lines nebula", target="text")
    assert body["hits"][0]["id"] == "new-galaxy-1" and body["snapshot"] == 1
    detail = api.get("/api/records/new-galaxy-1").json()
    assert detail["indexed"] and detail["split"] is None and detail["year"] == 2024
    assert api.get(detail["image_url"]).status_code == 200
    filtered = _search_text(api, "quasar", author="newcomer", target="text")
    assert [h["id"] for h in filtered["hits"]] == ["new-galaxy-1"]
    # Persisted: the library, its feature cache and the model's serving table know the record
    # (appended as one chunk); the built index stays the base of the rows it covers.
    lib = Library.open(library)
    assert len(lib) == 37 and lib.get("new-galaxy-1").image.startswith("images/added/")
    table = ChunkedTable.open(serving_dir(lib, "cca"))
    assert table.all_ids()[-1] == "new-galaxy-1" and len(table.chunk_names()) == 2
    assert table.meta["records_generation"] == lib.records_generation()
    assert json.loads((lib.index_dir("cca-text-flat") / "ids.json").read_text()) == table.all_ids()[:-1]
    assert Searcher(library).search_text("quasar absorption lines nebula", k=1, target="text")[0].id == "new-galaxy-1"
    with client(library, api_key=API_KEY) as again:
        assert again.get("/health").json()["indexed"] == 37
        assert _search_text(again, "quasar absorption lines nebula", target="text")["hits"][0]["id"] == "new-galaxy-1"


def test_added_vectors_equal_a_full_rebuild(api, library):
    """The snapshot extended in place ranks exactly like one built from scratch."""
    assert _add(api, [NEW]).status_code == 201
    live = _search_text(api, "stellar luminosity curve", k=37)
    with client(library, api_key=API_KEY) as fresh:
        rebuilt = _search_text(fresh, "stellar luminosity curve", k=37)
    assert [h["id"] for h in live["hits"]] == [h["id"] for h in rebuilt["hits"]]
    assert np.allclose([h["score"] for h in live["hits"]], [h["score"] for h in rebuilt["hits"]], atol=1e-5)


def test_delete_removes_from_search_and_library(api, library):
    assert _search_text(api, "gene expression heat map", k=36, target="text")["total"] == 36
    response = api.delete("/api/records/genomics-0", headers=KEY)
    assert response.status_code == 200 and response.json()["deleted"] == ["genomics-0"]
    body = _search_text(api, "gene expression heat map", k=36, target="text")
    assert body["total"] == 35 and "genomics-0" not in [h["id"] for h in body["hits"]]
    assert api.get("/api/records/genomics-0").status_code == 404
    assert api.delete("/api/records/genomics-0", headers=KEY).status_code == 404
    with client(library) as fresh:
        assert fresh.get("/health").json()["indexed"] == 35


@pytest.mark.parametrize("rows, files, status, fragment", [
    ([{**NEW, "image": "/etc/passwd"}], None, 400, "must name one of the uploaded files"),
    ([{**NEW, "image": "../lib/records.sqlite"}], None, 400, "must name one of the uploaded files"),
    ([{**NEW, "images": ["/etc/hosts"]}], None, 400, "must name one of the uploaded files"),
    ([{**NEW, "id": "astronomy-1"}], None, 409, "already exist"),
    ([NEW], {"fig1.png": b"GIF89a not really"}, 415, "not an image"),
    ([NEW], {"../fig1.png": image_bytes("red", 1)}, 400, "not a plain file name"),
    ([{**NEW, "caption": "", "title": ""}], None, 400, "unusable"),
    ("not json", None, 400, "not valid JSON"),
    ([1, 2], None, 400, "list of objects"),
    ([dict(NEW, id=f"n{i}") for i in range(101)], None, 413, "over the limit of 100"),
])
def test_bad_writes_change_nothing(api, library, rows, files, status, fragment):
    before = len(Library.open(library))
    records = rows if isinstance(rows, str) else json.dumps(rows)
    files = files if files is not None else {"fig1.png": image_bytes("red", 99)}
    response = api.post("/api/records", headers=KEY, data={"records": records},
                        files=[("files", (name, data)) for name, data in files.items()])
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]["problem"]
    assert len(Library.open(library)) == before and api.get("/health").json()["snapshot"] == 0
    assert not any(p.name.startswith(".staging-") for p in library.iterdir())


def _assert_library_intact(library, api):
    lib = Library.open(library)
    assert len(lib) == 36 and "new-galaxy-1" not in lib.ids()
    assert not (library / "images" / "added").exists() or not any((library / "images" / "added").rglob("*.png"))
    hits = Searcher(library).search_text("galaxy redshift spectrum", k=5)
    assert sum(h.record.labels == ["astronomy"] for h in hits) >= 4
    assert api.get("/health").json()["indexed"] == 36
    assert _search_text(api, "galaxy redshift spectrum")["hits"][0]["labels"] == ["astronomy"]


def test_a_write_failing_at_the_commit_leaves_the_library_intact(api, library, monkeypatch):
    def broken(self, records, replace=False):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Library, "add_records", broken)
    response = _add(api, [NEW])
    assert response.status_code == 500 and "No space left" in response.json()["error"]["problem"]
    monkeypatch.undo()
    _assert_library_intact(library, api)
    assert _add(api, [NEW]).status_code == 201  # the stray feature rows do not block a retry
    assert _search_text(api, "quasar absorption lines nebula", target="text")["hits"][0]["id"] == "new-galaxy-1"


def test_a_write_failing_between_feature_files_leaves_the_library_intact(api, library, monkeypatch):
    import scicmr.corpus.table as library_module  # where feature chunks are written

    real = library_module.atomic_save_npy
    calls = []

    def fail_second(path, array):
        calls.append(path)
        if len(calls) == 2:  # the image features were saved, the text features fail
            raise OSError(5, "Input/output error")
        return real(path, array)

    monkeypatch.setattr(library_module, "atomic_save_npy", fail_second)
    assert _add(api, [NEW]).status_code == 500
    monkeypatch.undo()
    _assert_library_intact(library, api)
    with client(library, api_key=API_KEY) as fresh:  # reopening reads the extended caches fine
        assert fresh.get("/health").json()["indexed"] == 36
        assert _add(fresh, [NEW]).status_code == 201


def test_a_stale_index_on_disk_is_rebuilt_when_loading(library):
    lib = Library.open(library)
    lib.delete_records(["climate-3"])  # as if a delete crashed before its index was saved
    with client(library) as api:
        assert api.get("/health").json()["indexed"] == 35
        ids = [h["id"] for h in _search_text(api, "ocean temperature anomaly", k=35)["hits"]]
        assert "climate-3" not in ids and len(ids) == 35


def test_queries_in_flight_are_not_dropped_during_writes(api):
    """Readers hammer the API while records are added and deleted; every query succeeds and
    sees either the old or the new snapshot, never a torn one (an index that disagrees with
    its own row count)."""
    errors, seen = [], []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            body = api.get("/api/search", params={"q": "galaxy redshift", "k": 40, "target": "text"})
            if body.status_code != 200:
                errors.append(body.text)
                continue
            data = body.json()
            seen.append((data["snapshot"], data["total"]))
            # A query that took the snapshot just before a delete's swap may find the record
            # already gone from the database: it is left out, so one hit fewer is allowed.
            if not 0 <= data["total"] - len(data["hits"]) <= 1:
                errors.append(f"snapshot {data['snapshot']}: {len(data['hits'])} hits of {data['total']}")

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(3):
            assert _add(api, [dict(NEW, id=f"new-{i}")]).status_code == 201
        assert api.delete("/api/records/new-0", headers=KEY).status_code == 200
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert {total for _, total in seen} <= {36, 37, 38, 39}
    assert dict(seen).get(4, 38) == 38  # the final snapshot (3 adds, 1 delete) holds 38


def test_pdf_papers_become_searchable_records_with_their_page(api, library, tmp_path):
    pytest.importorskip("pdfplumber")
    from factories.pdf import Fig, body, make_paper

    make_paper(tmp_path / "paper.pdf", [body(3), Fig("1", "Figure 1: Quasar absorption lines in a distant nebula."),
                                        body(2)], title="Spectra of Distant Quasars", authors="Ada Newcomer", year="2022")
    data = (tmp_path / "paper.pdf").read_bytes()
    response = api.post("/api/records", headers=KEY, files=[("files", ("paper.pdf", data, "application/octet-stream"))])
    assert response.status_code == 201, response.text
    assert response.json()["added"] == ["paper-fig1"]
    body_ = _search_text(api, "quasar absorption lines nebula", target="text")
    assert body_["hits"][0]["id"] == "paper-fig1" and body_["hits"][0]["page"] == 1
    detail = api.get("/api/records/paper-fig1").json()
    assert detail["source"]["file"] == "pdfs/paper.pdf" and detail["page_url"]
    page = api.get(detail["page_url"])
    assert page.status_code == 200 and page.content[:4] == b"\x89PNG"
    assert (library / "pdfs" / "paper.pdf").read_bytes() == data
    again = api.post("/api/records", headers=KEY, files=[("files", ("paper.pdf", data))])
    assert again.status_code == 409 and "already in the library" in again.json()["error"]["problem"]
    blank = api.post("/api/records", headers=KEY, files=[("files", ("empty.pdf", b"%PDF-1.4\n%%EOF\n"))])
    assert blank.status_code == 400 and "gave no figures" in blank.json()["error"]["problem"]
    assert not (library / "pdfs" / "empty.pdf").exists()
    assert api.post("/api/records", headers=KEY, files=[("files", ("a.png", image_bytes("red", 1)))]).status_code == 422
