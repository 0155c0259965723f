"""Readers never crash on a bad row: each row becomes a valid record or a skip with a reason.

Regression tests for the rows that used to abort a whole ingest (``"page": "inf"`` or
``1e999`` -> OverflowError; a lone surrogate in an id or caption -> UnicodeEncodeError in
SQLite; a superscript date accepted and crashing training later), for an unclosed CSV quote
that silently swallowed the next rows, for ``<_io.BytesIO object at 0x…>`` in skip reasons and
for a 1 GiB file named ``.png`` read whole before being rejected. Then property-based tests
(hypothesis; derandomized, so CI is stable) feed every reader arbitrary rows and bytes.
"""

from __future__ import annotations

import json
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from scipy.io import savemat

from scicmr.corpus import images
from scicmr.corpus.library import Library
from scicmr.corpus.readers import ReaderSkip, copy_image, read_source
from scicmr.corpus.readers.base import decode_image_bytes
from scicmr.corpus.readers.manifest import read_manifest
from scicmr.corpus.readers.matbench import read_matbench
from scicmr.corpus.readers.wikipedia import read_wikipedia
from scicmr.errors import InputError

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _png(path: Path, size: tuple[int, int] = (12, 9)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), 120, dtype=np.uint8)).save(path)
    return path


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
    return path


def _skipped(result) -> dict[str, str]:
    return {s.item: s.reason for s in result.skipped}


def _check_result(result, root: Path) -> None:
    """What every reader promises: each record is valid and storable, each skip has a reason,
    and the report (skipped items and reasons) can be written as UTF-8 JSON."""
    for skip in result.skipped:
        assert isinstance(skip.item, str) and skip.item and isinstance(skip.reason, str) and skip.reason
        assert "<_io." not in skip.reason
    json.dumps([s.to_dict() for s in result.skipped] + [result.notes], ensure_ascii=False,
               default=str).encode("utf-8")
    lib = Library.create(root / "check-lib", overwrite=True)
    lib.add_records(result.records)
    stored = lib.records()
    assert [r.id for r in stored] == [r.id for r in result.records]
    assert all(r.year is None or isinstance(r.year, int) for r in stored)


# ----------------------------------------------------------------------------- defect 2: rows that aborted a read
def test_manifest_page_inf_or_1e999_does_not_abort_the_read(tmp_path):
    manifest = _lines(tmp_path / "m.jsonl", [
        '{"id": "inf-text", "caption": "a", "page": "inf"}',
        '{"id": "inf-number", "caption": "b", "page": 1e999}',
        '{"id": "nan", "caption": "c", "page": NaN}',
        '{"id": "minus", "caption": "d", "page": -Infinity, "bbox": [0, 0, 1e999, 1]}',
        '{"id": "fine", "caption": "e", "page": "3"}',
    ])
    result = read_manifest(manifest, tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == ["inf-text", "inf-number", "nan", "minus", "fine"]
    assert [r.source.page for r in result.records] == [None, None, None, None, 3]
    assert result.records[3].source.bbox is None
    assert {q["item"] for q in result.quirks if q["quirk"] == "bad page"} == {"inf-text", "inf-number", "nan", "minus"}
    _check_result(result, tmp_path)


def test_manifest_lone_surrogate_in_id_or_caption_skips_the_row(tmp_path):
    _png(tmp_path / "fig.png")
    manifest = _lines(tmp_path / "m.jsonl", [
        '{"id": "\\ud800", "caption": "bad id", "image": "fig.png"}',
        '{"id": "bad-caption", "caption": "cut emoji \\ud83d here"}',
        '{"id": "bad-extra", "caption": "fine", "note": "\\udfff"}',
        '{"id": "only-surrogate", "caption": "\\udc80"}',
        '{"id": "ok", "caption": "fine", "image": "fig.png"}',
    ])
    result = read_manifest(manifest, tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == ["ok"]
    reasons = _skipped(result)
    assert len(reasons) == 4 and all("surrogate" in reason for reason in reasons.values())
    assert "bad-caption" in reasons and "bad-extra" in reasons and "line 1 (id '\\ud800')" in reasons
    # No image was copied for the refused row: validation runs before files are written.
    assert sorted(p.name for p in (tmp_path / "lib" / "images").iterdir()) == ["ok.png"]
    _check_result(result, tmp_path)


def test_manifest_superscript_date_is_skipped_with_a_reason(tmp_path):
    manifest = _lines(tmp_path / "m.jsonl", [
        json.dumps({"id": "sup", "caption": "a", "date": "²⁰²⁰"}),
        json.dumps({"id": "wide", "caption": "b", "year": "２０２０"}),
        json.dumps({"id": "ok", "caption": "c", "date": "2020-05-04"}),
        json.dumps({"id": "sheet", "caption": "d", "year": 2019.0}),
    ])
    result = read_manifest(manifest, tmp_path / "lib", progress=False)
    assert [(r.id, r.date, r.year) for r in result.records] == [("ok", "2020-05-04", 2020), ("sheet", "2019", 2019)]
    assert set(_skipped(result)) == {"sup", "wide"}
    assert all("not a year or an ISO date" in reason for reason in _skipped(result).values())


def test_manifest_wrong_types_and_nested_objects_are_skipped_not_fatal(tmp_path):
    manifest = _lines(tmp_path / "m.jsonl", [
        json.dumps({"id": {"nested": 1}, "caption": "a"}),
        json.dumps({"id": "title-object", "title": {"x": 1}, "caption": "b"}),
        json.dumps({"id": "kw-object", "caption": "c", "keywords": [{"x": 1}]}),
        json.dumps({"id": "nan-extra", "caption": "d", "score": float("nan")}),
        json.dumps({"id": 7, "caption": "numeric id"}),
        json.dumps({"id": "ok", "caption": "e", "keywords": ["k1", 2, None]}),
    ])
    result = read_manifest(manifest, tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == ["7", "ok"]
    assert result.records[1].keywords == ["k1", "2"]
    assert len(result.skipped) == 4
    _check_result(result, tmp_path)


# ----------------------------------------------------------------------------- defect 3: smaller ones
def test_manifest_refuses_ids_with_a_slash_naming_the_allowed_characters(tmp_path):
    manifest = _lines(tmp_path / "m.jsonl", [json.dumps({"id": "paper/fig1", "caption": "a"}),
                                             json.dumps({"id": "paper-fig1", "caption": "b"})])
    result = read_manifest(manifest, tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == ["paper-fig1"]
    reason = _skipped(result)["paper/fig1"]
    assert "'/'" in reason and "may hold" in reason


def test_zero_width_only_caption_counts_as_empty(tmp_path):
    manifest = _lines(tmp_path / "m.jsonl", [
        json.dumps({"id": "zw", "caption": "\u200b\u200c\u200d\ufeff"}),
        json.dumps({"id": "zw-title", "title": "\u2060", "text": "\u200b", "keywords": ["\u200b", "real"]}),
        json.dumps({"id": "ok", "caption": "\u200bvisible"}),
    ])
    result = read_manifest(manifest, tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == ["ok"]
    assert all("empty text" in reason or "neither" in reason for reason in _skipped(result).values())


@pytest.mark.parametrize(("lines", "kept", "skipped"), [
    # a quote never closed used to swallow every later row into one caption
    (["a,first", 'b,"never closed', "c,third", "d,fourth"], ["a", "c", "d"], ["line 3"]),
    # a quote closed in the middle of a later field; a proper multi-line caption is kept
    (['b,"opened here', "c,third", 'd,"x" then text', "e,fifth", 'f,"a proper, multi-line', 'caption"'],
     ["c", "e", "f"], ["line 2", "line 4"]),
], ids=["unclosed", "closed-mid-field"])
def test_csv_bad_quote_is_skipped_naming_its_line_and_later_rows_are_kept(tmp_path, lines, kept, skipped):
    manifest = _lines(tmp_path / "m.csv", ["id,caption", *lines])
    result = read_manifest(manifest, tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == kept
    reasons = _skipped(result)
    assert sorted(reasons) == skipped
    assert all("quote" in reasons[item] and item in reasons[item] for item in skipped)
    if "f" in kept:
        assert result.records[-1].text == "a proper, multi-line\ncaption"


def test_undecodable_image_reasons_name_the_file_not_a_bytesio(tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"this is not an image at all")
    with pytest.raises(ReaderSkip) as info:
        copy_image(bad, tmp_path / "lib", "x.png")
    assert "broken.png" in info.value.reason and "<_io." not in info.value.reason
    with pytest.raises(ReaderSkip) as info:
        decode_image_bytes(b"garbage")
    assert "upload" in info.value.reason and "<_io." not in info.value.reason
    with pytest.raises(InputError) as error:
        images.load_image(b"garbage")
    assert "upload" in str(error.value) and "<_io." not in str(error.value)
    assert "<_io." not in (images.validate_image(bad) or "")


def test_huge_sparse_png_is_refused_by_size_before_it_is_read(tmp_path):
    huge = tmp_path / "huge.png"
    with open(huge, "wb") as handle:
        handle.truncate(1 << 30)  # 1 GiB, sparse: nothing is written to disk
    tracemalloc.start()
    try:
        reason = images.validate_image(huge)
        with pytest.raises(InputError, match="MAX_IMAGE_BYTES"):
            images.load_image(huge)
        with pytest.raises(ReaderSkip, match="MAX_IMAGE_BYTES"):
            copy_image(huge, tmp_path / "lib", "huge.png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert reason and "MAX_IMAGE_BYTES" in reason
    assert peak < 64 * 1024 * 1024  # never read into memory


def test_image_header_dimensions_are_checked_before_decoding(tmp_path, monkeypatch):
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 100)
    big = _png(tmp_path / "big.png", size=(12, 9))  # 108 pixels > 100
    assert "MAX_IMAGE_PIXELS" in (images.validate_image(big) or "")
    with pytest.raises(InputError, match="MAX_IMAGE_PIXELS"):
        images.load_image(big)
    with pytest.raises(InputError, match="MAX_IMAGE_PIXELS"):
        images.load_image(big.read_bytes())
    with pytest.raises(ReaderSkip, match="MAX_IMAGE_PIXELS"):
        copy_image(big, tmp_path / "lib", "big.png")
    small = _png(tmp_path / "small.png", size=(10, 10))
    assert images.validate_image(small) is None


def test_wikipedia_list_entry_with_a_slash_id_is_skipped(tmp_path):
    root = tmp_path / "wiki"
    _png(root / "images" / "art" / "1.jpg")
    (root / "texts" / "a").mkdir(parents=True)
    (root / "texts" / "a" / "b.txt").write_text("Title\nBody", encoding="utf-8")
    (root / "texts" / "ok.txt").write_text("Title\nBody", encoding="utf-8")
    (root / "trainset_txt_img_cat.list").write_text("a/b\t1\t1\nok\t1\t1\n", encoding="utf-8")
    result = read_wikipedia(root, tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == ["ok"]
    assert "'/'" in _skipped(result)["trainset_txt_img_cat.list line 1"]


# ----------------------------------------------------------------------------- strategies
NASTY_CHARS = st.sampled_from(["\ud800", "\udfff", "\u200b", "\u200d", "\ufeff", "\u202e", "\u0301",
                               "\U0001F600", "/", "\x00", "\n", "\r", " ", "²", "٣", '"', ",", ";", "\t",
                               "a", "0", "-", "中", "inf", "NaN", "1e999"])
NASTY_TEXT = st.one_of(st.text(max_size=12), st.lists(NASTY_CHARS, max_size=6).map("".join))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**30, max_value=10**30),
                    st.floats(allow_nan=True, allow_infinity=True), NASTY_TEXT,
                    st.sampled_from(["fig.png", "missing.png", "2020", "²⁰²⁰", "2021-02-30", "inf", "1e999"]))
JSON_VALUES = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=3), st.dictionaries(NASTY_TEXT, children, max_size=3)), max_leaves=8)
MANIFEST_FIELDS = ["id", "image", "images", "title", "caption", "text", "abstract", "context", "keywords",
                   "authors", "date", "year", "labels", "label", "group", "paper", "source_file", "page", "bbox",
                   "kind", "split", "other"]
ROWS = st.lists(st.dictionaries(st.sampled_from(MANIFEST_FIELDS), JSON_VALUES, max_size=7), min_size=1, max_size=6)


def _workspace() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="scicmr-props-")


# ----------------------------------------------------------------------------- properties
@given(rows=ROWS, garbage=st.lists(NASTY_TEXT, max_size=2))
@PROPERTY
def test_manifest_jsonl_rows_become_records_or_skips(rows, garbage):
    with _workspace() as tmp:
        root = Path(tmp)
        _png(root / "src" / "fig.png")
        # JSON escapes keep lone surrogates, NaN and Infinity as a real manifest would carry them.
        lines = [json.dumps(row) for row in rows] + [g for g in garbage if g.strip()]
        lines = [line for line in lines if "\n" not in line and "\r" not in line and line.strip()]
        manifest = _lines(root / "src" / "m.jsonl", lines)
        result = read_manifest(manifest, root / "lib", progress=False)
        # Physical lines: a JSON string never holds a raw line break, garbage was filtered above.
        assert len(result.records) + len(result.skipped) == len(lines)
        _check_result(result, root)


@given(rows=ROWS)
@PROPERTY
def test_manifest_json_document_rows_become_records_or_skips(rows):
    with _workspace() as tmp:
        root = Path(tmp)
        _png(root / "src" / "fig.png")
        manifest = root / "src" / "m.json"
        manifest.write_text(json.dumps({"records": rows}), encoding="utf-8")
        result = read_manifest(manifest, root / "lib", progress=False)
        assert len(result.records) + len(result.skipped) == len(rows)
        _check_result(result, root)


CSV_CELLS = st.one_of(NASTY_TEXT, st.sampled_from(['"', '"quoted"', '"open', 'close"', "fig.png", "2020", "inf",
                                                  "1e999", "²⁰²⁰", "a/b", "\u200b", ""]))


@given(rows=st.lists(st.lists(CSV_CELLS, min_size=1, max_size=6), min_size=1, max_size=6))
@PROPERTY
def test_manifest_csv_rows_become_records_or_skips(rows):
    with _workspace() as tmp:
        root = Path(tmp)
        _png(root / "src" / "fig.png")
        lines = ["id,caption,image,date,page,keywords"] + [",".join(cells) for cells in rows]
        manifest = _lines(root / "src" / "m.csv", lines)
        result = read_manifest(manifest, root / "lib", progress=False)
        _check_result(result, root)


@given(list_lines=st.lists(st.one_of(NASTY_TEXT, st.tuples(NASTY_TEXT, st.sampled_from(["1", "2", "x"]),
                                                           st.sampled_from(["1", "2", "0", "²", "99"]))
                                     .map("\t".join)), min_size=1, max_size=5),
       texts=st.lists(st.tuples(st.sampled_from(["1", "2", "t"]), st.binary(max_size=40)), max_size=3))
@PROPERTY
def test_wikipedia_layout_entries_become_records_or_skips(list_lines, texts):
    with _workspace() as tmp:
        root = Path(tmp) / "wiki"
        _png(root / "images" / "art" / "1.jpg")
        (root / "images" / "art" / "2.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
        (root / "texts").mkdir(parents=True)
        for name, data in texts:
            (root / "texts" / f"{name}.txt").write_bytes(data)
        _lines(root / "trainset_txt_img_cat.list", [line.replace("\n", " ").replace("\r", " ") for line in list_lines])
        (root / "categories.list").write_text("art\nscience\n", encoding="utf-8")
        result = read_wikipedia(root, Path(tmp) / "lib", progress=False)
        _check_result(result, Path(tmp))


FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=32)


@given(n=st.integers(1, 5), data=st.data())
@PROPERTY
def test_dscmr_mat_rows_become_records_or_skips(n, data):
    image = np.array(data.draw(st.lists(FLOATS, min_size=n * 3, max_size=n * 3)), dtype=np.float64).reshape(n, 3)
    text = np.array(data.draw(st.lists(FLOATS, min_size=n * 2, max_size=n * 2)), dtype=np.float64).reshape(n, 2)
    labels = np.array(data.draw(st.lists(FLOATS, min_size=n, max_size=n)), dtype=np.float64).reshape(n, 1)
    with _workspace() as tmp:
        root = Path(tmp) / "mat"
        root.mkdir()
        savemat(root / "test_img.mat", {"test_img": image})
        savemat(root / "test_txt.mat", {"test_txt": text})
        savemat(root / "test_img_lab.mat", {"test_img_lab": labels})
        try:
            result = read_matbench(root, Path(tmp) / "lib", progress=False)
        except InputError:
            return  # the source as a whole is unusable: a clear error, not a traceback
        assert len(result.records) + len([s for s in result.skipped if s.item.startswith("test-")]) == n
        _check_result(result, Path(tmp))


@given(list_lines=st.lists(st.tuples(NASTY_TEXT, NASTY_TEXT, st.sampled_from(["1", "2", "0", "²", "x", "9"]))
                           .map("\t".join), min_size=1, max_size=4), data=st.data())
@PROPERTY
def test_svcl_mat_rows_become_records_or_skips(list_lines, data):
    n = len(list_lines)
    features = np.array(data.draw(st.lists(FLOATS, min_size=n * 2, max_size=n * 2)), dtype=np.float64).reshape(n, 2)
    with _workspace() as tmp:
        root = Path(tmp) / "svcl"
        root.mkdir()
        savemat(root / "raw_features.mat", {"I_tr": features, "T_tr": features, "I_te": features[:1],
                                             "T_te": features[:1]})
        _lines(root / "trainset_txt_img_cat.list", [line.replace("\n", " ").replace("\r", " ") for line in list_lines])
        _lines(root / "testset_txt_img_cat.list", ["t1\ti1\t1"])
        try:
            result = read_matbench(root, Path(tmp) / "lib", progress=False)
        except InputError:
            return
        _check_result(result, Path(tmp))


@given(files=st.lists(st.one_of(st.binary(max_size=200), st.binary(max_size=200).map(lambda b: b"%PDF-1.4\n" + b)),
                      min_size=1, max_size=3))
@settings(max_examples=15, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
def test_pdf_folder_of_garbage_gives_one_skip_per_file(files):
    with _workspace() as tmp:
        root = Path(tmp) / "pdfs"
        root.mkdir()
        for i, data in enumerate(files):
            (root / f"paper{i}.pdf").write_bytes(data)
        result = read_source(root, Path(tmp) / "lib", progress=False, workers=1)
        assert result.records == []
        assert sorted(s.item for s in result.skipped) == [f"paper{i}.pdf" for i in range(len(files))]
        _check_result(result, Path(tmp))
