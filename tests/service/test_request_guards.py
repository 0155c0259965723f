"""Guards at the edge of the service: write routes check the API key before reading a body,
``/metrics`` keeps a bounded label set whatever clients send, and records added over HTTP keep
the client's file name as their source."""

from __future__ import annotations

import asyncio
import json
import random
import string

import pytest

pytest.importorskip("fastapi")

from factories.service import API_KEY, build_library, client, copy_library, image_bytes  # noqa: E402
from scicmr.service.middleware import Metrics  # noqa: E402


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return build_library(tmp_path_factory.mktemp("service-guards"))


@pytest.fixture
def library(pristine, tmp_path):
    return copy_library(pristine, tmp_path / "lib")


def _call(app, method: str, path: str, headers: dict[str, str], body_size: int):
    """Send one request straight to the ASGI ``app``; (status, body chunks the app asked for)."""
    chunk = b"x" * 65536
    remaining = [body_size]
    reads = []
    sent: list[dict] = []

    async def receive():
        reads.append(1)
        size = min(len(chunk), remaining[0])
        remaining[0] -= size
        return {"type": "http.request", "body": chunk[:size], "more_body": remaining[0] > 0}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 1234), "server": ("testserver", 80), "state": {}}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], len(reads)


@pytest.mark.parametrize("key", [None, "wrong-key-0123456789"])
def test_write_without_the_key_is_refused_before_the_body_is_read(library, key):
    """A 63 MiB upload without the key used to be received in full before the 401."""
    declared = 63 * 2**20
    headers = {"content-type": "multipart/form-data; boundary=xyz", "content-length": str(declared)}
    if key:
        headers["x-api-key"] = key
    with client(library, api_key=API_KEY) as api:
        status, reads = _call(api.app, "POST", "/api/records", headers, declared)
    assert status == 401 and reads == 0


def test_write_with_writes_off_is_refused_before_the_body_is_read(library):
    headers = {"content-type": "multipart/form-data; boundary=xyz", "content-length": str(2**20)}
    with client(library) as api:
        status, reads = _call(api.app, "POST", "/api/records", headers, 2**20)
    assert status == 403 and reads == 0


def test_metrics_stay_bounded_whatever_methods_and_paths_clients_send(library):
    rng = random.Random(7)
    with client(library) as api:
        api.get("/metrics")
        before = len(api.get("/metrics").text.splitlines())
        for _ in range(200):
            method = "".join(rng.choice(string.ascii_uppercase) for _ in range(rng.randint(3, 12)))
            path = "/" + "".join(rng.choice(string.ascii_lowercase) for _ in range(8))
            api.request(method, rng.choice([path, "/api/search", "/api/records/x"]))
        text = api.get("/metrics").text
    methods = {line.split('method="', 1)[1].split('"', 1)[0] for line in text.splitlines() if 'method="' in line}
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other"}
    assert "other" in methods
    # Three routes x one "other" method x a few statuses: a few dozen lines, not thousands.
    assert len(text.splitlines()) - before < 120


def test_metrics_label_odd_statuses_by_class():
    metrics = Metrics()
    metrics.observe("BREW", "/api/search", 599, 0.01)
    metrics.observe("GET", "/api/search", 404, 0.01)
    text = metrics.render()
    assert 'method="other",route="/api/search",status="5xx"' in text
    assert 'method="GET",route="/api/search",status="404"' in text


def test_a_record_added_over_http_keeps_the_client_file_name_as_source(library):
    row = {"id": "new-galaxy-1", "title": "A new survey", "caption": "quasar absorption lines in a nebula",
           "image": "my-figure_1.png"}
    named = {**row, "id": "new-galaxy-2", "image": "other.png", "source_file": "survey-2024.pdf"}
    with client(library, api_key=API_KEY) as api:
        response = api.post("/api/records", headers={"X-API-Key": API_KEY}, data={"records": json.dumps([row, named])},
                            files=[("files", ("my-figure_1.png", image_bytes("red", 99), "image/png")),
                                   ("files", ("other.png", image_bytes("red", 98), "image/png"))])
        assert response.status_code == 201, response.text
        assert api.get("/api/records/new-galaxy-1").json()["source"]["file"] == "my-figure_1.png"
        assert api.get("/api/records/new-galaxy-2").json()["source"]["file"] == "survey-2024.pdf"
