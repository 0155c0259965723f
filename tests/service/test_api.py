"""HTTP API of the search service on a tiny trained library: search, paging, filters, records,
files, health, metrics, docs — and a clear 4xx for every kind of bad input."""

from __future__ import annotations

import io

import numpy as np
import pytest

pytest.importorskip("fastapi")

from factories.service import build_library, client, image_bytes  # noqa: E402
from scicmr.corpus.library import Library  # noqa: E402
from scicmr.service.deps import get_settings  # noqa: E402
from scicmr.service.settings import Settings  # noqa: E402


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return build_library(tmp_path_factory.mktemp("service-api"))


@pytest.fixture(scope="module")
def api(library):
    with client(library) as c:
        yield c


def _error(response, status):
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["status"] == status and body["problem"]
    return body


# ---------------------------------------------------------------------------- search
def test_text_search_finds_figures_of_the_field(api):
    body = api.get("/api/search", params={"q": "gene expression heat map", "k": 5}).json()
    assert body["query_kind"] == "text" and body["target"] == "image" and body["total"] == 36
    hits = body["hits"]
    assert [h["rank"] for h in hits] == [1, 2, 3, 4, 5]
    assert sum(h["labels"] == ["genomics"] for h in hits) >= 4
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)
    first = hits[0]
    assert first["title"] and first["caption"] and first["authors"] and first["year"] >= 2010
    thumb = api.get(first["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert api.get(first["image_url"]).content[:8] == b"\x89PNG\r\n\x1a\n"


def test_text_search_matches_the_workflow_searcher(api, library):
    from scicmr.workflow import Searcher

    expected = [h.id for h in Searcher(library).search_text("ocean temperature anomaly", k=10)]
    got = [h["id"] for h in api.get("/api/search", params={"q": "ocean temperature anomaly", "k": 10}).json()["hits"]]
    assert got == expected


def test_pages_concatenate_to_the_long_list(api):
    query = {"q": "rainfall trend by decade", "target": "text"}
    whole = [h["id"] for h in api.get("/api/search", params={**query, "k": 12}).json()["hits"]]
    pages = []
    for offset in (0, 4, 8):
        body = api.get("/api/search", params={**query, "k": 4, "offset": offset}).json()
        assert [h["rank"] for h in body["hits"]] == [offset + 1, offset + 2, offset + 3, offset + 4]
        pages += [h["id"] for h in body["hits"]]
    assert pages == whole
    beyond = api.get("/api/search", params={**query, "k": 10, "offset": 40}).json()
    assert beyond["hits"] == [] and beyond["total"] == 36


def _reference(library, query, keep):
    """Slow reference: cosine of the query against every kept record's figure vector."""
    from scicmr.workflow import Searcher
    from scicmr.workflow.index import shared_vectors

    searcher = Searcher(library)
    records = [r for r in Library.open(library).records() if keep(r)]
    vectors = shared_vectors(searcher.lib, searcher.model_name, [r.id for r in records])["image"]
    q = searcher.embed_text([query])[0]
    scores = vectors @ q / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(q))
    order = sorted(range(len(records)), key=lambda i: (-scores[i], i))
    return [records[i].id for i in order]


@pytest.mark.parametrize("params, keep", [
    ({"label": "Climate"}, lambda r: "climate" in r.labels),
    ({"year_min": 2013, "year_max": 2016}, lambda r: 2013 <= r.year <= 2016),
    ({"author": "genomics author 1"}, lambda r: any("genomics author 1" in a.lower() for a in r.authors)),
    ({"label": ["astronomy", "genomics"], "year_min": 2015},
     lambda r: r.year >= 2015 and set(r.labels) & {"astronomy", "genomics"}),
])
def test_filters_match_a_brute_force_reference(api, library, params, keep):
    query = "telescope photometry"
    expected = _reference(library, query, keep)
    body = api.get("/api/search", params={"q": query, "k": 50, **params}).json()
    assert body["total"] == len(expected) > 0
    assert [h["id"] for h in body["hits"]] == expected


def test_filter_with_no_match_is_an_empty_page(api):
    body = api.get("/api/search", params={"q": "galaxy", "label": "no-such-field"}).json()
    assert body["hits"] == [] and body["total"] == 0


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_image_search_finds_captions_of_the_field(api, fmt):
    data = image_bytes("red", seed=7, fmt=fmt)
    # The declared content type is wrong on purpose: the server sniffs the bytes.
    response = api.post("/api/search/image", files={"image": ("photo.bin", data, "text/plain")}, params={"k": 5})
    body = response.json()
    assert response.status_code == 200, body
    assert body["query_kind"] == "image" and body["target"] == "text" and body["query"] is None
    assert sum(h["labels"] == ["astronomy"] for h in body["hits"]) >= 4


def test_image_to_image_finds_the_same_figure_first(api, library):
    lib = Library.open(library)
    record = lib.get("climate-5")
    data = lib.image_path(record).read_bytes()
    body = api.post("/api/search/image", files={"image": ("x.png", data)}, params={"target": "image", "k": 3}).json()
    assert body["hits"][0]["id"] == "climate-5" and body["hits"][0]["score"] == pytest.approx(1.0, abs=1e-4)


def test_phone_photo_orientation_is_applied(api, library):
    from PIL import Image

    lib = Library.open(library)
    upright = Image.open(lib.image_path(lib.get("genomics-2"))).convert("RGB")
    # A phone stores the sensor's pixels and an EXIF tag saying "rotate 90° to view".
    sideways = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise on display
    buffer = io.BytesIO()
    sideways.save(buffer, "JPEG", quality=98, exif=exif)
    body = api.post("/api/search/image", files={"image": ("p.jpg", buffer.getvalue())},
                    params={"target": "image", "k": 1}).json()
    assert body["hits"][0]["id"] == "genomics-2"


# ---------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("params, fragment", [
    ({"q": ""}, "empty query"),
    ({"q": "   "}, "empty query"),
    ({}, "empty query"),
    ({"q": "x", "k": 0}, "k must be between 1 and 100"),
    ({"q": "x", "k": 101}, "k must be between 1 and 100"),
    ({"q": "x", "k": "ten"}, "k:"),
    ({"q": "x", "offset": -1}, "offset must be between"),
    ({"q": "x", "offset": 5000}, "offset must be between"),
    ({"q": "x", "target": "video"}, "target must be"),
    ({"q": "x", "year_min": 2020, "year_max": 2010}, "after year_max"),
])
def test_bad_query_parameters_are_422(api, params, fragment):
    assert fragment in _error(api.get("/api/search", params=params), 422)["problem"]


def _bomb_png(side: int) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (side, side)).save(buffer, "PNG")  # all-black bilevel: compresses to almost nothing
    return buffer.getvalue()


def _gif() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "GIF")
    return buffer.getvalue()


@pytest.mark.parametrize("data, status, fragment", [
    (b"%PDF-1.4 not an image at all", 415, "not an image"),
    (b"", 400, "empty"),
    ("gif", 415, "only JPEG, PNG and WebP"),
    ("bomb", 413, "over the 40,000,000-pixel limit"),
    ("truncated", 400, "could not be decoded"),
])
def test_bad_uploads_are_refused_clearly(api, data, status, fragment):
    if data == "gif":
        data = _gif()
    elif data == "bomb":
        data = _bomb_png(12_000)
        assert len(data) < 100_000  # 144 megapixels in a small file: a decompression bomb
    elif data == "truncated":
        whole = image_bytes("green", 1, "JPEG", size=128)
        data = whole[: len(whole) * 2 // 3]
    response = api.post("/api/search/image", files={"image": ("f.png", data, "image/png")})
    assert fragment in _error(response, status)["problem"]


def test_missing_upload_field_is_422(api):
    assert "image" in _error(api.post("/api/search/image", data={"x": "1"}), 422)["problem"]


def test_upload_limits_come_from_settings(library, api):
    small = Settings(library=library, max_upload_bytes=2000, max_image_pixels=1000)
    api.app.dependency_overrides[get_settings] = lambda: small
    try:
        big = image_bytes("blue", 3, "PNG", size=64)
        assert len(big) > 2000
        _error(api.post("/api/search/image", files={"image": ("a.png", big)}), 413)
        wide = image_bytes("blue", 3, "JPEG", size=40)  # 1,600 pixels in < 2,000 bytes
        assert len(wide) <= 2000
        assert "pixel limit" in _error(api.post("/api/search/image", files={"image": ("a.jpg", wide)}), 413)["problem"]
        assert "between 1 and 100" in _error(api.get("/api/search", params={"q": "x", "k": 200}), 422)["problem"]
    finally:
        api.app.dependency_overrides.clear()


def test_declared_oversized_body_is_refused_before_reading(api):
    response = api.post("/api/search/image", content=b"x" * 100,
                        headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(50 * 2**20)})
    assert response.status_code == 413


def test_unknown_record_and_path_traversal_are_404(api, library):
    assert "no record" in _error(api.get("/api/records/no-such-id"), 404)["problem"]
    _error(api.get("/api/records/no-such-id/thumbnail"), 404)
    for path in ("/files/images/../records.sqlite", "/files/images/..%2F..%2Flibrary.json", "/files/models/cca/config.json",
                 "/files/images/%2Fetc%2Fpasswd", "/files/library.json", "/files/images/"):
        assert api.get(path).status_code == 404, path
    assert api.get("/files/images/astronomy-0.png").status_code == 200


def test_record_detail(api):
    body = api.get("/api/records/astronomy-4").json()
    assert body["id"] == "astronomy-4" and body["indexed"] and body["labels"] == ["astronomy"]
    assert body["image_url"].endswith("/image") and body["page_url"] is None
    _error(api.get("/api/records/astronomy-4/page"), 404)


# ---------------------------------------------------------------------------- write protection
def test_writes_are_off_without_a_configured_key(api):
    body = _error(api.delete("/api/records/astronomy-1", headers={"X-API-Key": "anything-long"}), 403)
    assert "no API key is configured" in body["problem"] and "SCICMR_API_KEY" in body["fix"]
    _error(api.post("/api/records", data={"records": "[]"}), 403)


def test_wrong_or_missing_key_is_401(library, api):
    keyed = Settings(library=library, api_key="correct-horse-battery")
    api.app.dependency_overrides[get_settings] = lambda: keyed
    try:
        assert "needs an API key" in _error(api.delete("/api/records/astronomy-1"), 401)["problem"]
        wrong = api.delete("/api/records/astronomy-1", headers={"X-API-Key": "wrong-horse-battery"})
        assert "wrong API key" in _error(wrong, 401)["problem"]
    finally:
        api.app.dependency_overrides.clear()
    assert api.get("/api/records/astronomy-1").status_code == 200  # nothing was deleted


# ---------------------------------------------------------------------------- operations
def test_health(api):
    body = api.get("/health").json()
    assert body["status"] == "ok" and body["model"] == "cca" and body["records"] == body["indexed"] == 36
    assert body["index_kind"] == "flat" and body["text_queries"] and body["image_queries"]
    assert body["writes_enabled"] is False


def test_metrics_count_requests_and_time_them(api):
    before = api.get("/metrics").text
    for _ in range(3):
        api.get("/api/search", params={"q": "galaxy"})
    api.get("/api/search", params={"q": ""})
    text = api.get("/metrics").text

    def value(metrics: str, line_start: str) -> float:
        lines = [ln for ln in metrics.splitlines() if ln.startswith(line_start)]
        return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0

    ok = 'scicmr_http_requests_total{method="GET",route="/api/search",status="200"}'
    bad = 'scicmr_http_requests_total{method="GET",route="/api/search",status="422"}'
    assert value(text, ok) - value(before, ok) == 3
    assert value(text, bad) - value(before, bad) >= 1
    buckets = [float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines()
               if ln.startswith('scicmr_http_request_duration_seconds_bucket{method="GET",route="/api/search"')]
    assert buckets == sorted(buckets) and buckets[-1] == value(
        text, 'scicmr_http_request_duration_seconds_count{method="GET",route="/api/search"}')
    assert "# TYPE scicmr_http_request_duration_seconds histogram" in text
    assert value(text, "scicmr_indexed_records") == 36


def test_docs_work_offline_and_openapi_lists_the_endpoints(api):
    schema = api.get("/openapi.json").json()
    assert {"/api/search", "/api/search/image", "/api/records", "/api/records/{record_id}", "/health"} <= set(schema["paths"])
    page = api.get("/docs").text
    assert "/api/search/image" in page and "http" not in page.split("<body")[0].lower().replace("http-equiv", "")
    assert "cdn" not in page.lower()


def test_web_ui_is_self_contained(api):
    page = api.get("/")
    assert page.status_code == 200 and 'capture="environment"' in page.text and 'accept="image/*"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for asset in ("/static/app.js", "/static/app.css"):
        text = api.get(asset).text
        assert "http://" not in text and "https://" not in text  # no CDN, no web font
    assert len(api.get("/static/app.js").content) + len(api.get("/static/app.css").content) < 30_000
