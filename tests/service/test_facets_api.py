"""GET /api/facets: label, year and author counts under the search filters."""

from __future__ import annotations

import pytest

pytest.importorskip("fastapi")

from factories.service import build_library, client  # noqa: E402


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with client(build_library(tmp_path_factory.mktemp("service-facets"))) as c:
        yield c


def test_facets_count_the_indexed_records(api):
    body = api.get("/api/facets").json()
    assert body["total"] == 36
    assert {f["value"]: f["count"] for f in body["labels"]} == {"astronomy": 12, "climate": 12, "genomics": 12}
    assert body["years"] == [{"value": str(2010 + i), "count": 3} for i in range(12)]
    assert sum(f["count"] for f in body["authors"]) == 36


def test_facets_follow_the_filters(api):
    body = api.get("/api/facets", params={"label": "genomics", "year_min": 2015}).json()
    assert body["total"] == 7
    assert body["labels"] == [{"value": "genomics", "count": 7}]
    assert [f["value"] for f in body["years"]] == [str(y) for y in range(2015, 2022)]
    assert api.get("/api/facets", params={"top": 1}).json()["labels"] == [{"value": "astronomy", "count": 12}]
    assert api.get("/api/facets", params={"year_min": 2020, "year_max": 2010}).status_code == 422
