"""OCR of figures (Tesseract) and its storage in the library: cleaning, thresholding, real
recognition of rendered words, parallel runs, caching, corrupt images, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scicmr.corpus import ocr as ocr_module
from scicmr.corpus.ocr import MissingTesseractError, OcrSettings, clean_ocr_text, ocr_image, otsu_threshold
from scicmr.corpus.ocr_library import OCR_TEXT, ocr_library
from scicmr.errors import InputError

from factories.ocr import HAVE_TESSERACT, WORDS, make_text_library, needs_tesseract, render_words  # noqa: F401


# ---------------------------------------------------------------------------- pure functions
def test_clean_drops_junk_and_collapses_whitespace():
    raw = "  | Galaxy   spectrum,\n\n l  (a)  — ~ 3 Flux-density  x10  \n"
    assert clean_ocr_text(raw) == "Galaxy spectrum Flux-density x10"


def test_clean_keeps_single_chinese_characters_and_joins_them():
    assert clean_ocr_text("温 度 变 化  x  光") == "温度变化光"
    assert clean_ocr_text("温 度 Flux 光") == "温度 Flux 光"
    assert clean_ocr_text("") == ""


def test_otsu_matches_brute_force_reference():
    rng = np.random.default_rng(0)
    pixels = np.concatenate([rng.normal(60, 12, 3000), rng.normal(200, 20, 5000)]).clip(0, 255).astype(np.uint8)

    def reference(values):
        best, best_level = -1.0, 0
        for level in range(256):
            low, high = values[values <= level].astype(float), values[values > level].astype(float)
            if len(low) == 0 or len(high) == 0:
                continue
            between = len(low) * len(high) * (low.mean() - high.mean()) ** 2
            if between > best:
                best, best_level = between, level
        return best_level

    assert otsu_threshold(pixels) == reference(pixels)


def test_preprocess_upscales_small_and_binarises(tmp_path):
    from PIL import Image

    render_words(tmp_path / "w.png", "HELLO")
    image = Image.open(tmp_path / "w.png").convert("RGB")
    plain = ocr_module.preprocess_for_ocr(image, OcrSettings(target_side=800, max_upscale=3))
    assert plain.mode == "L" and plain.size == (600, 180)  # capped at 3×
    binary = np.asarray(ocr_module.preprocess_for_ocr(image, OcrSettings(binarize="otsu")))
    assert set(np.unique(binary)) <= {0, 255}


def test_settings_reject_bad_values():
    with pytest.raises(InputError, match="page segmentation"):
        OcrSettings(psm=42)
    with pytest.raises(InputError, match="languages"):
        OcrSettings(lang="eng; rm -rf /")
    with pytest.raises(InputError, match="binarisation"):
        OcrSettings(binarize="sauvola")


def test_missing_tesseract_names_the_apt_packages(monkeypatch):
    monkeypatch.setattr(ocr_module, "tesseract_path", lambda: None)
    with pytest.raises(MissingTesseractError, match="Tesseract") as info:
        ocr_module.require_tesseract("eng")
    assert "apt-get install tesseract-ocr tesseract-ocr-chi-sim" in info.value.fix


@needs_tesseract
def test_missing_language_pack_names_its_package():
    with pytest.raises(MissingTesseractError) as info:
        ocr_module.require_tesseract("eng+klingon")
    assert "tesseract-ocr-klingon" in info.value.fix


# ---------------------------------------------------------------------------- real Tesseract
@needs_tesseract
def test_tesseract_reads_rendered_words(tmp_path):
    render_words(tmp_path / "fig.png", "GALAXY SPECTRUM")
    text = ocr_image(tmp_path / "fig.png", OcrSettings())
    assert "GALAXY" in text and "SPECTRUM" in text


@needs_tesseract
def test_ocr_library_stores_text_caches_and_reports_corrupt(tmp_path):
    lib = make_text_library(tmp_path / "lib")
    (lib.images_dir / "fig-c.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    report = ocr_library(lib, lang="eng", workers=1)
    assert report.done == 2 and report.without_image == 1
    assert [s["item"] for s in report.skipped] == ["fig-c"]
    assert "unusable" in report.skipped[0]["reason"]
    stored = lib.get("fig-a")
    assert "GALAXY" in stored.extra[OCR_TEXT] and stored.extra["ocr"]["lang"] == "eng"
    assert lib.get("fig-a").extra["split"] == "train"  # the update kept the split
    assert json.loads((lib.root / "reports" / "ocr.json").read_text())["done"] == 2
    # Cached: a second run reads nothing new (the corrupt one is retried and skipped again).
    again = ocr_library(lib, lang="eng", workers=1)
    assert again.done == 0 and again.cached == 2 and len(again.skipped) == 1


@needs_tesseract
def test_two_workers_give_the_same_texts_as_one(tmp_path):
    lib = make_text_library(tmp_path / "lib")
    ocr_library(lib, lang="eng", workers=1)
    serial = {r.id: r.extra.get(OCR_TEXT) for r in lib.records()}
    report = ocr_library(lib, lang="eng", workers=2, force=True)
    assert report.done == 3
    assert {r.id: r.extra.get(OCR_TEXT) for r in lib.records()} == serial


@needs_tesseract
def test_cli_ocr(tmp_path, capsys):
    from scicmr.cli import main

    lib = make_text_library(tmp_path / "lib")
    assert main(["ocr", str(lib.root), "--lang", "eng", "--workers", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["done"] == 3 and report["settings"]["psm"] == 3
    assert main(["ocr", str(lib.root), "--lang", "eng+nonexistent"]) == 2
    assert "apt-get install" in capsys.readouterr().err


def test_update_records_rewrites_bodies_and_rejects_unknown_ids(tmp_path):
    from scicmr.corpus.record import Record

    lib = make_text_library(tmp_path / "lib")
    before = lib.ids()
    record = lib.get("fig-b")
    record.extra[OCR_TEXT] = "new words"
    assert lib.update_records([record]) == 1
    assert lib.get("fig-b").extra[OCR_TEXT] == "new words" and lib.ids() == before
    assert lib.get("fig-b").extra["split"] == "train"
    with pytest.raises(InputError, match="missing"):
        lib.update_records([record, Record(id="nope", text="x")])
    assert lib.get("fig-b").extra[OCR_TEXT] == "new words"  # nothing written on error
