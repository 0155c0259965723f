"""Defect 1 end to end: one bad date never bricks the service or training.

A record with ``"date": "²⁰²⁰"`` used to be accepted (``str.isdigit()`` is true for
superscripts), committed, then crash ``int()``: POST answered a plain-text 500, GET of it a 500,
every later start of the service failed, and training crashed after a successful ingest. Now
the write is refused with the reason, and a row already stored with a bad value (written
straight into records.sqlite here) is left out with a warning: the service starts, searches
and answers a JSON error for that record.
"""

from __future__ import annotations

import json
import sqlite3
import warnings

import pytest

pytest.importorskip("fastapi")

from factories.service import API_KEY, build_library, client, image_bytes  # noqa: E402
from scicmr.corpus.library import Library, UnreadableRecordWarning  # noqa: E402

KEY = {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return build_library(tmp_path_factory.mktemp("bad-date-service"))


def test_a_superscript_date_is_refused_at_the_write_not_committed(library):
    row = {"id": "sup-date", "caption": "quasar absorption lines", "date": "²⁰²⁰", "image": "f.png"}
    with client(library, api_key=API_KEY) as api:
        response = api.post("/api/records", headers=KEY, data={"records": json.dumps([row])},
                            files=[("files", ("f.png", image_bytes("red", 5), "image/png"))])
        assert 400 <= response.status_code < 500, response.text
        assert "not a year or an ISO date" in response.json()["error"]["problem"]
    assert "sup-date" not in Library.open(library).ids()


def test_a_stored_bad_date_does_not_stop_the_service_from_starting(library):
    with sqlite3.connect(library / "records.sqlite") as conn:
        record_id, body = conn.execute("SELECT id, body FROM records ORDER BY position LIMIT 1").fetchone()
        data = json.loads(body)
        data["date"] = "²⁰²⁰"
        conn.execute("UPDATE records SET body = ? WHERE id = ?", (json.dumps(data, ensure_ascii=False), record_id))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnreadableRecordWarning)
        for _restart in range(2):
            with client(library, api_key=API_KEY) as api:
                found = api.get("/api/search", params={"q": "galaxy", "k": 50})
                assert found.status_code == 200, found.text
                assert record_id not in [hit["id"] for hit in found.json()["hits"]]
                detail = api.get(f"/api/records/{record_id}")
                # Not "no record": the record is there, and the answer says why it cannot be served.
                assert detail.status_code == 422 and "stored but unreadable" in detail.json()["error"]["problem"]
    assert record_id in Library.open(library).unreadable_records()
