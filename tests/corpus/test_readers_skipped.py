"""Every reader reports a left-out item as the one type, :class:`scicmr.corpus.readers.Skipped`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.io import savemat

import scicmr.corpus.pdf as pdf_package
from scicmr.corpus import readers
from scicmr.corpus.readers import Skipped, read_source


def _manifest(root: Path) -> Path:
    root.mkdir(parents=True)
    rows = [json.dumps({"id": "ok", "caption": "text only"}), "not json",
            json.dumps({"id": "gone", "image": "missing.png", "caption": "no such image"})]
    (root / "m.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return root / "m.jsonl"


def _wikipedia(root: Path) -> Path:
    (root / "images" / "alpha").mkdir(parents=True)
    (root / "texts").mkdir()
    Image.fromarray(np.full((8, 10, 3), 10, dtype=np.uint8)).save(root / "images" / "alpha" / "1.jpg")
    for text_id in ("1", "2"):
        (root / "texts" / f"{text_id}.txt").write_text(f"Title {text_id}\nBody {text_id}.\n", encoding="utf-8")
    (root / "trainset_txt_img_cat.list").write_text("1\t1\t1\n2\t2\t1\n", encoding="utf-8")  # 2 has no image
    return root


def _dscmr(root: Path) -> Path:
    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name, array in {"test_img": rng.random((3, 8)), "test_txt": rng.random((3, 4)),
                        "test_img_lab": np.ones((3, 1)), "train_txt": rng.random((2, 4))}.items():
        savemat(root / f"{name}.mat", {name: array})  # train_img.mat missing: train_txt.mat is skipped
    return root


def _pdfs(root: Path) -> Path:
    from factories.pdf import Fig, body, make_paper

    root.mkdir(parents=True)
    make_paper(root / "good.pdf", [body(3), Fig("1", "Figure 1: A plot.", "vector", height=90)], title="Good")
    make_paper(root / "nofigures.pdf", [body(10)])
    (root / "notes.pdf").write_text("plain text, not a PDF\n")
    return root


SOURCES = {"manifest": _manifest, "wikipedia": _wikipedia, "mat": _dscmr, "pdf": _pdfs}


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_every_reader_reports_skipped_items_as_skipped(kind: str, tmp_path: Path):
    if kind == "pdf":
        pytest.importorskip("pdfplumber")
        pytest.importorskip("pypdfium2")
    source = SOURCES[kind](tmp_path / "src")
    options = {"workers": 1} if kind == "pdf" else {}
    result = read_source(source, tmp_path / "lib", progress=False, **options)
    assert readers.detect_source_kind(source) == kind
    assert result.records and result.skipped
    assert {type(s) for s in result.skipped} == {Skipped}
    assert all(set(s.to_dict()) == {"item", "reason"} for s in result.skipped)


def test_one_pdf_reports_its_skip_as_skipped(tmp_path: Path):
    pytest.importorskip("pdfplumber")
    (tmp_path / "notes.pdf").write_text("plain text, not a PDF\n")
    result = pdf_package.read_pdf(tmp_path / "notes.pdf", tmp_path / "img")
    assert result.skipped == [Skipped(str(tmp_path / "notes.pdf"), result.skipped[0].reason)]


def test_no_other_skipped_item_types_are_left():
    for gone in ("Problem", "PdfFolderResult"):
        assert not hasattr(pdf_package, gone)
    from scicmr.corpus.pdf import reader

    assert not hasattr(reader, "PdfSkip") and not hasattr(reader, "Problem")
