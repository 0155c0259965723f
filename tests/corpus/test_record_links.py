"""A record's DOI and URL: kept by the readers, validated, exported and shown by the service."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scicmr.corpus.readers.manifest import read_manifest
from scicmr.corpus.record import Record, parse_doi, parse_url
from scicmr.errors import InputError
from tests.factories.data import write_image


def test_parse_doi_strips_resolver_prefixes_and_refuses_non_dois():
    assert parse_doi("10.1000/xyz123") == "10.1000/xyz123"
    assert parse_doi(" https://doi.org/10.1038/nature12373 ") == "10.1038/nature12373"
    assert parse_doi("doi:10.5555/12345678") == "10.5555/12345678"
    assert parse_doi("") is None and parse_doi(None) is None
    for bad in ("nature12373", "10.1000", "11.1/x", 12):
        with pytest.raises(InputError):
            parse_doi(bad)


def test_parse_url_accepts_http_only():
    assert parse_url(" https://arxiv.org/abs/2101.00001 ") == "https://arxiv.org/abs/2101.00001"
    assert parse_url("") is None
    for bad in ("javascript:alert(1)", "arxiv.org/abs/1", "ftp://x.org/a", "https://", "https://a b.org"):
        with pytest.raises(InputError):
            parse_url(bad)


def test_record_link_prefers_the_url_then_the_doi_resolver():
    assert Record("a", extra={"doi": "10.1/x"}).link == "https://doi.org/10.1/x"
    assert Record("a", extra={"doi": "10.1/x", "url": "https://e.org/p"}).link == "https://e.org/p"
    assert Record("a").link is None and Record("a").doi is None and Record("a").url is None


def _manifest(tmp_path: Path) -> Path:
    write_image(tmp_path / "a.png", "red", 0)
    rows = [
        {"id": "a", "image": "a.png", "caption": "heat map", "doi": "https://doi.org/10.1000/abc",
         "url": "https://example.org/paper-a"},
        {"id": "b", "caption": "text only", "doi": "not a doi", "url": "javascript:alert(1)"},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_manifest_keeps_doi_and_url_and_reports_bad_ones(tmp_path):
    result = read_manifest(_manifest(tmp_path), tmp_path / "lib", progress=False)
    a, b = result.records
    assert (a.doi, a.url) == ("10.1000/abc", "https://example.org/paper-a")
    assert (b.doi, b.url, b.link) == (None, None, None)  # bad values are left out, the row is kept
    assert {q["quirk"] for q in result.quirks} == {"bad doi", "bad url"}
    assert "doi" not in result.notes.get("unrecognised_fields", []) and "url" not in result.notes.get(
        "unrecognised_fields", [])


def test_doi_and_url_survive_the_library_the_export_and_the_record_view(tmp_path):
    pytest.importorskip("fastapi")
    from scicmr.corpus.library import Library
    from scicmr.service.views import to_detail
    from scicmr.workflow import export_jsonl, ingest

    ingest(_manifest(tmp_path), tmp_path / "lib")
    record = Library(tmp_path / "lib").get("a")
    assert (record.doi, record.url) == ("10.1000/abc", "https://example.org/paper-a")
    export_jsonl(tmp_path / "lib", tmp_path / "out.jsonl")
    rows = {r["id"]: r for r in map(json.loads, (tmp_path / "out.jsonl").read_text().splitlines())}
    assert (rows["a"]["doi"], rows["a"]["url"]) == ("10.1000/abc", "https://example.org/paper-a")
    assert rows["b"]["doi"] is None and rows["b"]["url"] is None
    detail = to_detail(record, True, tmp_path / "lib", [])
    assert (detail.doi, detail.url, detail.link) == ("10.1000/abc", "https://example.org/paper-a",
                                                    "https://example.org/paper-a")
