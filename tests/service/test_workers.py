"""Several service processes over one library: a write taken by one is published through the
model's serving table and every other one serves it at its next query; a delete likewise."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from factories.service import API_KEY, client, image_bytes  # noqa: E402

KEY = {"X-API-Key": API_KEY}
NEW = {"id": "new-galaxy-1", "title": "A new survey", "caption": "quasar absorption lines in a distant nebula",
       "labels": ["astronomy"], "authors": ["Ada Newcomer"], "date": "2024", "image": "fig1.png"}
QUERY = {"q": "quasar absorption lines nebula", "k": 3, "target": "text"}


@pytest.fixture()
def library(trained_library_copy):
    return trained_library_copy  # the shared small trained library (tests/conftest.py), copied


def _files():
    return [("files", ("fig1.png", image_bytes("red", 99), "image/png"))]


def test_a_write_in_one_process_is_served_by_another(library):
    with client(library, api_key=API_KEY) as writer, client(library, api_key=API_KEY) as reader:
        before = reader.get("/api/search", params=QUERY).json()
        assert "new-galaxy-1" not in [h["id"] for h in before["hits"]]
        assert writer.post("/api/records", headers=KEY, data={"records": json.dumps([NEW])},
                           files=_files()).status_code == 201
        after = reader.get("/api/search", params=QUERY).json()
        assert after["hits"][0]["id"] == "new-galaxy-1" and after["total"] == before["total"] + 1
        filtered = reader.get("/api/search", params={**QUERY, "author": "newcomer"}).json()
        assert [h["id"] for h in filtered["hits"]] == ["new-galaxy-1"]
        # A delete through the reader reaches the writer the same way.
        assert reader.delete("/api/records/new-galaxy-1", headers=KEY).status_code == 200
        again = writer.get("/api/search", params=QUERY).json()
        assert "new-galaxy-1" not in [h["id"] for h in again["hits"]] and again["total"] == before["total"]
        # Both processes' views equal a fresh start on the library.
        with client(library) as fresh:
            fresh_hits = fresh.get("/api/search", params={**QUERY, "k": 10}).json()["hits"]
        assert [h["id"] for h in writer.get("/api/search", params={**QUERY, "k": 10}).json()["hits"]] == \
               [h["id"] for h in fresh_hits]


def test_other_processes_see_a_write_in_facets_details_and_health(library):
    # Not only search: every read of another process catches up first.
    with client(library, api_key=API_KEY) as writer, client(library) as reader:
        health, facets = reader.get("/health").json(), reader.get("/api/facets").json()
        assert writer.post("/api/records", headers=KEY, data={"records": json.dumps([NEW])},
                           files=_files()).status_code == 201
        assert reader.get("/health").json()["indexed"] == health["indexed"] + 1
        assert reader.get("/api/facets").json()["total"] == facets["total"] + 1
        assert reader.get("/api/records/new-galaxy-1").json()["indexed"] is True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_with_two_worker_processes(library):
    import httpx

    port = _free_port()
    env = {**os.environ, "SCICMR_API_KEY": API_KEY}
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, env.get("PYTHONPATH")]))
    server = subprocess.Popen([sys.executable, "-m", "scicmr.cli", "serve", str(library), "--port", str(port),
                               "--workers", "2", "--log-level", "warning"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            if server.poll() is None:
                os.killpg(server.pid, 15)
            pytest.fail(f"the server did not start: {server.communicate(timeout=30)[0].decode()[-3000:]}")
        added = httpx.post(base + "/api/records", headers=KEY, data={"records": json.dumps([NEW])},
                           files=_files(), timeout=60)
        assert added.status_code == 201, added.text
        # Connections are spread over the workers: every answer must include the new record.
        for _ in range(12):
            with httpx.Client(timeout=30) as fresh_connection:
                hits = fresh_connection.get(base + "/api/search", params=QUERY).json()["hits"]
            assert hits[0]["id"] == "new-galaxy-1"
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 15)
            server.wait(timeout=30)


def test_a_large_library_rebuilds_its_text_channels_in_the_background(library, monkeypatch):
    import scicmr.workflow.search as search_module

    monkeypatch.setattr(search_module, "_SYNC_CHANNEL_ROWS", 1)  # this small library counts as large
    with client(library, api_key=API_KEY) as api:
        api.get("/api/search", params=QUERY)  # channels built for the library as it is
        assert api.post("/api/records", headers=KEY, data={"records": json.dumps([NEW])},
                        files=_files()).status_code == 201
        at_once = api.get("/api/search", params={**QUERY, "k": 40}).json()
        new = next(h for h in at_once["hits"] if h["id"] == "new-galaxy-1")  # ranked, on the cross-modal score
        assert new["details"]["channels"]["lexical"]["score"] is None
        searcher = api.app.state.scicmr.engine.searcher
        for thread in list(searcher._channel_builds):
            thread.join(timeout=60)
        rebuilt = api.get("/api/search", params=QUERY).json()
        assert rebuilt["hits"][0]["id"] == "new-galaxy-1"
        assert rebuilt["hits"][0]["details"]["channels"]["lexical"]["score"] is not None
    with client(library) as fresh:
        assert [h["id"] for h in fresh.get("/api/search", params=QUERY).json()["hits"]] == \
               [h["id"] for h in rebuilt["hits"]]
