"""Manifest reader (JSONL / JSON / CSV), copy_image and source-kind detection."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scicmr.corpus.readers import ReaderSkip, SourceScan, copy_image, detect_source_kind, read_source, scan_source
from scicmr.corpus.readers.base import safe_name, split_list
from scicmr.corpus.readers.manifest import read_manifest
from scicmr.errors import InputError


def write_png(path: Path, seed: int = 0, size: tuple[int, int] = (12, 9)) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def write_jsonl(path: Path, rows: list) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def skipped_map(result) -> dict[str, str]:
    return {s.item: s.reason for s in result.skipped}


# ---------------------------------------------------------------------------- happy paths
def test_jsonl_happy_path_parses_every_field(tmp_path):
    src, lib = tmp_path / "src", tmp_path / "lib"
    write_png(src / "figs" / "a.png", seed=1)
    write_png(src / "b.png", seed=2)
    manifest = write_jsonl(src / "pairs.jsonl", [
        {"id": "p1-f1", "image": "figs/a.png", "title": "Graphene", "caption": "TEM of graphene",
         "keywords": "carbon; 2D ;", "authors": ["Ada", "Bob"], "year": 2021, "labels": "materials;physics",
         "paper": "p1", "source_file": "p1.pdf", "page": 3, "bbox": [1, 2, 3, 4], "doi": "10.1/x"},
        {"id": "p1-f2", "images": ["b.png"], "abstract": "An abstract", "date": "2020-05-04",
         "label": "physics", "group": "p1", "bbox": "1,2,3,4"},
        {"title": "Only text", "text": "no image here"},
    ])
    result = read_manifest(manifest, lib, progress=False)
    assert result.skipped == []
    a, b, c = result.records
    assert (a.id, a.kind, a.title, a.text) == ("p1-f1", "pair", "Graphene", "TEM of graphene")
    assert a.keywords == ["carbon", "2D"] and a.authors == ["Ada", "Bob"]
    assert a.date == "2021" and a.year == 2021
    assert a.labels == ["materials", "physics"] and a.group == "p1"
    assert (a.source.file, a.source.page, a.source.bbox) == ("p1.pdf", 3, (1.0, 2.0, 3.0, 4.0))
    assert a.extra["doi"] == "10.1/x"
    assert a.images == ["images/p1-f1.png"]
    assert (lib / a.images[0]).read_bytes() == (src / "figs" / "a.png").read_bytes()
    assert b.text == "An abstract" and b.date == "2020-05-04" and b.labels == ["physics"]
    assert b.group == "p1" and b.source.bbox == (1.0, 2.0, 3.0, 4.0) and b.source.file == "pairs.jsonl"
    assert (c.kind, c.id, c.group, c.images) == ("text", "pairs-3", "pairs-3", [])


def test_csv_happy_path_with_semicolon_lists(tmp_path):
    src, lib = tmp_path / "src", tmp_path / "lib"
    write_png(src / "x.png")
    (src / "m.csv").write_text(
        "ID,Image,Title,Caption,Keywords,Authors,Year,Labels,Paper,Page\n"
        'f1,x.png,A title,"A caption, with a comma",k1;k2,A. One; B. Two,2019.0,cat,paperA,2\n',
        encoding="utf-8-sig",  # a BOM, as spreadsheet programs write
    )
    result = read_source(src / "m.csv", lib, progress=False)
    (record,) = result.records
    assert record.text == "A caption, with a comma" and record.keywords == ["k1", "k2"]
    assert record.authors == ["A. One", "B. Two"] and record.date == "2019"
    assert record.labels == ["cat"] and record.group == "paperA" and record.source.page == 2
    assert (lib / "images" / "f1.png").is_file()


def test_json_list_document_and_jsonl_saved_as_json(tmp_path):
    write_png(tmp_path / "i.png")
    (tmp_path / "doc.json").write_text(json.dumps({"records": [{"id": "a", "image": "i.png", "caption": "c"}, 5]}))
    result = read_manifest(tmp_path / "doc.json", tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == ["a"]
    assert skipped_map(result) == {"item 2": "not a JSON object: got int"}
    write_jsonl(tmp_path / "lines.json", [{"id": "b", "caption": "c"}, "{oops"])
    result = read_manifest(tmp_path / "lines.json", tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == ["b"] and "malformed JSON" in skipped_map(result)["line 2"]


def test_images_folder_fallback_absolute_paths_and_several_images(tmp_path):
    write_png(tmp_path / "images" / "bare.png", seed=3)
    absolute = write_png(tmp_path / "elsewhere" / "abs.png", seed=4)
    manifest = write_jsonl(tmp_path / "m.jsonl", [
        {"id": "r1", "image": "bare.png", "caption": "one"},
        {"id": "r2", "images": f"{absolute};missing.png", "caption": "two"},
    ])
    result = read_manifest(manifest, tmp_path / "lib", progress=False)
    assert [r.images for r in result.records] == [["images/r1.png"], ["images/r2.png"]]
    # A row keeps its good images; the bad one is a quirk, not a skipped row.
    assert result.skipped == []
    assert [q["item"] for q in result.quirks] == ["r2"] and "missing.png" in result.quirks[0]["detail"]


# ---------------------------------------------------------------------------- bad rows
def test_every_bad_row_is_reported_and_the_rest_ingested(tmp_path):
    src, lib = tmp_path / "src", tmp_path / "lib"
    write_png(src / "good.png", seed=5)
    write_png(src / "other.png", seed=6)
    rng = np.random.default_rng(0)
    (src / "corrupt.png").write_bytes(rng.integers(0, 256, 300, dtype=np.uint8).tobytes())
    (src / "empty.png").write_bytes(b"")
    good_bytes = (src / "good.png").read_bytes()
    (src / "truncated.png").write_bytes(good_bytes[: len(good_bytes) // 2])
    manifest = write_jsonl(src / "m.jsonl", [
        {"id": "ok", "image": "good.png", "caption": "fine"},
        '{"id": "broken", "caption": ',
        {"id": "missing", "image": "nope.png", "caption": "x"},
        {"id": "corrupt", "image": "corrupt.png", "caption": "x"},
        {"id": "zero", "image": "empty.png", "caption": "x"},
        {"id": "trunc", "image": "truncated.png", "caption": "x"},
        {"id": "notext", "image": "good.png", "caption": "   "},
        {"id": "nothing", "keywords": "k"},
        {"id": "ok", "image": "other.png", "caption": "duplicate"},
        [1, 2],
        {"id": "remote", "image": "https://example.org/a.png", "caption": "x"},
        {"id": "ok2", "image": "good.png", "caption": "still read after the bad rows"},
    ])
    result = read_manifest(manifest, lib, progress=False)
    assert [r.id for r in result.records] == ["ok", "ok2"]
    reasons = skipped_map(result)
    assert set(reasons) == {"line 2", "missing", "corrupt", "zero", "trunc", "notext", "nothing", "ok",
                            "line 10", "remote"}
    assert reasons["line 2"].startswith("malformed JSON")
    assert reasons["missing"].startswith("image file not found: nope.png")
    assert reasons["corrupt"].startswith("image cannot be decoded")
    assert reasons["zero"].startswith("image cannot be decoded") and "0 bytes" in reasons["zero"]
    assert reasons["trunc"].startswith("image cannot be decoded")
    assert reasons["notext"].startswith("empty text")
    assert reasons["nothing"] == "row has neither an image nor text"
    assert reasons["ok"].startswith("duplicate id 'ok'")
    assert reasons["line 10"] == "not a JSON object: got list"
    assert "remote image" in reasons["remote"] and "img2dataset --url_list" in reasons["remote"]
    # Skipped rows copy nothing, and the duplicate did not overwrite the first row's image.
    assert sorted(p.name for p in (lib / "images").iterdir()) == ["ok.png", "ok2.png"]
    assert (lib / "images" / "ok.png").read_bytes() == good_bytes


def test_csv_bad_rows(tmp_path):
    write_png(tmp_path / "g.png")
    (tmp_path / "m.csv").write_text(
        "id,image,caption,page,bbox\n"
        "a,g.png,fine,x,1;2\n"
        "b,g.png,too,many,fields,here\n"
        "c,missing.png,cap,,\n"
        ",,,,\n"
        "d,,text only,,\n",
        encoding="utf-8",
    )
    result = read_manifest(tmp_path / "m.csv", tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == ["a", "d"]
    reasons = skipped_map(result)
    assert reasons["line 3"].startswith("malformed CSV: 6 fields but the header has 5")
    assert reasons["c"].startswith("image file not found")
    assert {q["quirk"] for q in result.quirks} == {"bad page", "bad bbox"}
    assert result.records[0].source.page is None


def test_csv_without_a_usable_header_is_an_input_error(tmp_path):
    (tmp_path / "m.csv").write_text("1,2,3\n4,5,6\n", encoding="utf-8")
    with pytest.raises(InputError, match="header"):
        read_manifest(tmp_path / "m.csv", tmp_path / "lib", progress=False)


def test_gb18030_manifest_and_unknown_fields_are_reported(tmp_path):
    rows = [{"id": "z", "caption": "图像的说明文字", "s2_caption": "x"}, {"id": "y", "fig_uri": "f.png"}]
    data = "\n".join(json.dumps(row, ensure_ascii=False) for row in rows).encode("gb18030")
    (tmp_path / "m.jsonl").write_bytes(data)
    result = read_manifest(tmp_path / "m.jsonl", tmp_path / "lib", progress=False)
    assert [(r.id, r.text, r.extra) for r in result.records] == [("z", "图像的说明文字", {"s2_caption": "x"})]
    assert skipped_map(result) == {"y": "row has neither an image nor text"}
    assert result.notes["unrecognised_fields"] == ["fig_uri", "s2_caption"]
    assert result.quirks[0]["quirk"] == "not UTF-8"


def test_split_field_is_normalised(tmp_path):
    manifest = write_jsonl(tmp_path / "m.jsonl", [
        {"id": "a", "text": "t", "split": "Train"}, {"id": "b", "text": "t", "split": "dev"},
        {"id": "c", "text": "t", "split": "test"}, {"id": "d", "text": "t", "split": "weird"},
    ])
    result = read_manifest(manifest, tmp_path / "lib", progress=False)
    assert [r.extra.get("split") for r in result.records] == ["train", "validation", "test", None]
    assert [q["item"] for q in result.quirks] == ["d"] and result.notes["standard_split"] is False


# ---------------------------------------------------------------------------- helpers
def test_copy_image_validates_and_writes_atomically(tmp_path, monkeypatch):
    lib = tmp_path / "lib"
    src = write_png(tmp_path / "a.png", size=(40, 30))
    assert copy_image(src, lib, "sub/x.png") == "images/sub/x.png"
    assert (lib / "images" / "sub" / "x.png").read_bytes() == src.read_bytes()
    # A known image under an unknown suffix gets the suffix of its real format.
    odd = tmp_path / "a.dat"
    odd.write_bytes(src.read_bytes())
    assert copy_image(odd, lib, "y.dat") == "images/y.png"
    assert not [p for p in (lib / "images").rglob("*.tmp")]
    with pytest.raises(ReaderSkip, match="not found"):
        copy_image(tmp_path / "none.png", lib, "z.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100)  # 1200 pixels > 2 x 100: a "bomb"
    with pytest.raises(ReaderSkip, match="decompression bomb"):
        copy_image(src, lib, "bomb.png")
    assert not (lib / "images" / "bomb.png").exists()


def test_safe_name_and_split_list():
    assert safe_name("fig-1.a") == "fig-1.a"
    assert safe_name("a/b") != safe_name("a_b") and "/" not in safe_name("a/b")
    assert safe_name("../../etc") .startswith("etc-")
    assert split_list(" a; ;b ") == ["a", "b"] and split_list([1, None, "x"]) == ["1", "x"]
    assert split_list(None) == [] and split_list(3.0) == ["3"]


# ---------------------------------------------------------------------------- detection
def test_detect_source_kind_and_unsupported_paths(tmp_path):
    from scipy.io import savemat

    write_jsonl(tmp_path / "m.jsonl", [{"text": "x"}])
    assert detect_source_kind(tmp_path / "m.jsonl") == "manifest"
    (tmp_path / "m.csv").write_text("text\nx\n")
    assert detect_source_kind(tmp_path / "m.csv") == "manifest"
    wiki = tmp_path / "wiki"
    for sub in ("images", "texts"):
        (wiki / sub).mkdir(parents=True)
    (wiki / "trainset_txt_img_cat.list").write_text("")
    assert detect_source_kind(wiki) == "wikipedia"
    mats = tmp_path / "mats"
    mats.mkdir()
    savemat(mats / "test_txt.mat", {"test_txt": np.zeros((2, 3))})
    assert detect_source_kind(mats) == "mat" and detect_source_kind(mats / "test_txt.mat") == "mat"
    (tmp_path / "paper.docx").write_bytes(b"PK")  # .pdf is a source kind of its own (test_pdf_ingest)
    with pytest.raises(InputError) as info:
        detect_source_kind(tmp_path / "paper.docx")
    assert "paper.docx" in str(info.value) and all(k in info.value.fix for k in ("manifest", "wikipedia", "mat"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no recognised layout"):
        read_source(empty, tmp_path / "lib")
    with pytest.raises(InputError, match="does not exist"):
        detect_source_kind(tmp_path / "nowhere")
    # A folder holding one .jsonl manifest (a .csv beside it may be metadata): that manifest.
    assert scan_source(tmp_path) == SourceScan(tmp_path / "m.jsonl", "manifest")
    # Several: the error lists them and asks for one.
    write_jsonl(tmp_path / "n.jsonl", [{"text": "y"}])
    with pytest.raises(InputError) as info:
        detect_source_kind(tmp_path)
    assert "several manifests" in info.value.fix and "m.jsonl" in info.value.fix


def test_jsonl_lines_end_at_newlines_only(tmp_path):
    # U+2028 is allowed raw inside a JSON string; \x1e inside a line is one bad line, not two.
    path = tmp_path / "m.jsonl"
    path.write_text('{"id": "a", "caption": "one\u2028two"}\r\n0\x1e0\n', encoding="utf-8")
    result = read_manifest(path, tmp_path / "lib", progress=False)
    assert [r.text for r in result.records] == ["one\u2028two"]
    assert [s.item for s in result.skipped] == ["line 2"]
