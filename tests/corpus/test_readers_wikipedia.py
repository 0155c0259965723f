"""Wikipedia-layout reader on a tiny synthetic folder carrying every known quirk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from scicmr.corpus.readers import detect_source_kind, read_source
from scicmr.corpus.readers.wikipedia import read_wikipedia, split_article
from scicmr.errors import InputError

CATEGORIES = ["alpha", "beta", "gamma"]


def write_jpg(path: Path, value: int) -> Path:
    """A small JPEG of one flat colour (``value`` tells copies apart)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 10, 3), value, dtype=np.uint8)).save(path, format="JPEG")
    return path


def write_text(root: Path, text_id: str, text: str, encoding: str = "utf-8") -> None:
    (root / "texts").mkdir(parents=True, exist_ok=True)
    (root / "texts" / f"{text_id}.txt").write_bytes(text.encode(encoding))


def build_folder(root: Path, *, with_categories: bool = True) -> Path:
    """Ids and what each exercises:

    1  plain, train              7   listed in train and in test (first kept)
    2  plain, test               8   corrupt image
    3  image in alpha/ and beta/ (listed beta)      9   empty text
    4  image named "4 .jpg" (trailing space)       10  XML-wrapped text
    5  listed, no image file     11  GB18030-encoded text
    6  image, no text file      t12 text id differs from image id i12, image in another folder
    """
    root.mkdir(parents=True, exist_ok=True)
    if with_categories:
        (root / "categories.list").write_text("\n".join(CATEGORIES) + "\n", encoding="utf-8")
    for name, folder, value in [("1", "alpha", 10), ("2", "beta", 20), ("3", "alpha", 30), ("3", "beta", 31),
                                ("4 ", "gamma", 40), ("6", "alpha", 60), ("7", "beta", 70),
                                ("9", "alpha", 90), ("10", "gamma", 100), ("11", "beta", 110),
                                ("i12", "alpha", 120), ("orphan", "gamma", 130)]:
        write_jpg(root / "images" / folder / f"{name}.jpg", value)
    (root / "images" / "gamma" / "8.jpg").write_bytes(b"\xff\xd8\xff garbage, not a JPEG body")
    for text_id in ("1", "2", "3", "4", "5", "7", "8"):
        write_text(root, text_id, f"Short title {text_id}\nBody of article {text_id}.\n")
    write_text(root, "9", "  \n ")
    write_text(root, "10", "<document><title>T &amp; ten</title><text>Ten &lt;b&gt; body\nline</text></document>")
    write_text(root, "11", "中文新闻正文", encoding="gb18030")
    write_text(root, "t12", "Twelve")
    train = ["1\t1\t1", "3\t3\t2", "4\t4\t3", "5\t5\t1", "6\t6\t1", "7\t7\t2", "8\t8\t3", "9\t9\t1",
             "10\t10\t3", "bad line", "11\t11\t9", "11\t11\t2"]
    test = ["2\t2\t2", "7\t7\t1", "t12\ti12\t2"]
    (root / "trainset_txt_img_cat.list").write_text("\n".join(train) + "\n", encoding="utf-8")
    (root / "testset_txt_img_cat.list").write_text("\n".join(test) + "\n", encoding="utf-8")
    return root


@pytest.fixture()
def folder(tmp_path):
    return build_folder(tmp_path / "wiki")


def quirks_of(result) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for q in result.quirks:
        out.setdefault(q["item"], []).append(q["quirk"])
    return out


def test_usable_entries_are_ingested(folder, tmp_path):
    lib = tmp_path / "lib"
    assert detect_source_kind(folder) == "wikipedia"
    result = read_source(folder, lib, progress=False)
    records = {r.id: r for r in result.records}
    assert list(records) == ["1", "3", "4", "7", "10", "11", "2", "t12"]
    assert [records[i].labels for i in records] == [["alpha"], ["beta"], ["gamma"], ["beta"], ["gamma"],
                                                    ["beta"], ["beta"], ["beta"]]
    assert {i: r.extra["split"] for i, r in records.items()} == {
        "1": "train", "3": "train", "4": "train", "7": "train", "10": "train", "11": "train",
        "2": "test", "t12": "test"}
    one = records["1"]
    assert (one.kind, one.group, one.title, one.text) == ("pair", "1", "Short title 1", "Body of article 1.")
    assert one.images == ["images/1.jpg"] and one.source.file == "texts/1.txt"
    assert (lib / "images" / "1.jpg").read_bytes() == (folder / "images" / "alpha" / "1.jpg").read_bytes()
    assert records["t12"].extra["image_id"] == "i12" and records["t12"].images == ["images/t12.jpg"]
    assert sorted(p.name for p in (lib / "images").iterdir()) == sorted(f"{i}.jpg" for i in records)


def test_every_quirk_is_reported(folder, tmp_path):
    lib = tmp_path / "lib"
    result = read_wikipedia(folder, lib, progress=False)
    reasons = {s.item: s.reason for s in result.skipped}
    assert set(reasons) == {"5", "6", "8", "9", "trainset_txt_img_cat.list line 10",
                            "trainset_txt_img_cat.list line 11"}
    assert reasons["5"].startswith("no image file for image id '5'")
    assert reasons["6"].startswith("text file not found")
    assert reasons["8"].startswith("image cannot be decoded")
    assert reasons["9"].startswith("empty text")
    assert reasons["trainset_txt_img_cat.list line 10"].startswith("malformed list line")
    assert "out of range" in reasons["trainset_txt_img_cat.list line 11"]
    quirks = quirks_of(result)
    assert quirks["3"] == ["image in several category folders"]
    assert quirks["4"] == ["whitespace in image file name"]
    assert quirks["7"] == ["listed twice"]
    assert quirks["11"] == ["text not UTF-8"]
    assert quirks["t12"] == ["image in another category folder"]
    assert set(quirks) == {"3", "4", "7", "11", "t12"}  # skipped rows report their reason only
    # Id 3: the copy in the listed category (beta) was used, not the alpha one.
    assert (lib / "images" / "3.jpg").read_bytes() == (folder / "images" / "beta" / "3.jpg").read_bytes()
    # Id 7: the first entry (train, beta) wins over the test entry.
    seven = next(r for r in result.records if r.id == "7")
    assert (seven.extra["split"], seven.labels) == ("train", ["beta"])
    unused = result.notes["unused_images"]
    assert unused["count"] == 5 and "alpha/3.jpg" in unused["examples"]


def test_text_decoding_and_xml_wrapper(folder, tmp_path):
    result = read_wikipedia(folder, tmp_path / "lib", progress=False)
    records = {r.id: r for r in result.records}
    assert (records["10"].title, records["10"].text) == ("T & ten", "Ten <b> body\nline")
    assert (records["11"].title, records["11"].text) == ("", "中文新闻正文")
    assert split_article("one line only") == ("", "one line only")
    assert split_article("x" * 200 + "\nrest")[0] == ""  # a long first line is no title


def test_without_categories_list_labels_are_numbers(tmp_path):
    folder = build_folder(tmp_path / "wiki", with_categories=False)
    result = read_wikipedia(folder, tmp_path / "lib", progress=False)
    assert {r.id: r.labels for r in result.records}["1"] == ["1"]
    assert result.notes["categories"] is None
    # Folders are names and labels numbers: "another folder" cannot be judged, so not reported.
    assert "image in another category folder" not in {q["quirk"] for q in result.quirks}
    assert "missing categories.list" in {q["quirk"] for q in result.quirks}


def test_missing_test_list_and_bad_layout(tmp_path):
    folder = build_folder(tmp_path / "wiki")
    (folder / "testset_txt_img_cat.list").unlink()
    result = read_wikipedia(folder, tmp_path / "lib", progress=False)
    assert {r.extra["split"] for r in result.records} == {"train"}
    assert "missing list" in {q["quirk"] for q in result.quirks}
    with pytest.raises(InputError, match="Wikipedia layout"):
        read_wikipedia(tmp_path, tmp_path / "lib", progress=False)
