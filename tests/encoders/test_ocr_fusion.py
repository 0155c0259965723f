"""The OCR-aware image encoder (image features ⊕ w · OCR-text features), with the thumbnail
encoder and TF-IDF standing in for EfficientNet and MiniLM."""

from __future__ import annotations

import numpy as np
import pytest

from scicmr.encoders import create_encoder, feature_key, load_encoder
from scicmr.encoders.ocr_fusion import FigureItem
from scicmr.errors import InputError, NotFittedError

from factories.ocr import WORDS, make_text_library, needs_tesseract, render_words

TFIDF = {"name": "tfidf", "min_df": 1}
SMALL = {"name": "ocr-fusion", "image_encoder": {"name": "thumbnail", "side": 8, "bins": 4}, "text_encoder": TFIDF}
TEXTS = ["galaxy spectrum flux", "protein binding assay", "rainfall trend decade", ""]


@pytest.fixture()
def items(tmp_path):
    out = []
    for i, text in enumerate(TEXTS):
        path = tmp_path / f"f{i}.png"
        render_words(path, f"figure {i}")
        out.append(FigureItem(path, text))
    return out


def _l2(matrix):
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def test_fusion_is_concatenation_of_normalised_parts(items):
    encoder = create_encoder({**SMALL, "weight": 0.5}).fit(items)
    fused = encoder.encode(items, batch_size=3)
    image = create_encoder({"name": "thumbnail", "side": 8, "bins": 4}).encode([i.image for i in items])
    text = create_encoder(TFIDF).fit(TEXTS[:3]).encode(TEXTS)
    assert fused.shape == (4, 8 * 8 + 12 + text.shape[1]) and fused.dtype == np.float32
    np.testing.assert_allclose(fused[:, : image.shape[1]], _l2(image), atol=1e-6)
    np.testing.assert_allclose(fused[:, image.shape[1]:], 0.5 * _l2(text), atol=1e-6)
    assert not fused[3, image.shape[1]:].any()  # no OCR text → zero text part


def test_text_part_is_fitted_on_record_texts_or_ocr_texts(items):
    records = [f"caption {n}: a {t or 'blank'} figure of the flux and assay" for n, t in enumerate(TEXTS)]
    with_records = [FigureItem(item.image, item.ocr_text, text) for item, text in zip(items, records)]
    offset = 8 * 8 + 12
    for text_fit, fitted_on in (("records", records), ("ocr", TEXTS[:3]), ("both", records + TEXTS[:3])):
        fused = create_encoder({**SMALL, "text_fit": text_fit}).fit(with_records).encode(with_records)
        reference = create_encoder(TFIDF).fit(fitted_on).encode(TEXTS)
        np.testing.assert_allclose(fused[:, offset:], _l2(reference), atol=1e-6)
    with pytest.raises(InputError, match="text_fit"):
        create_encoder({**SMALL, "text_fit": "captions"})


def test_weight_zero_is_the_image_encoder_and_rejects_bad_weight(items):
    fused = create_encoder({**SMALL, "weight": 0}).fit(items).encode(items)
    assert not fused[:, 8 * 8 + 12:].any()
    with pytest.raises(InputError, match="weight"):
        create_encoder({**SMALL, "weight": -1})
    with pytest.raises(InputError, match="text encoder"):
        create_encoder({**SMALL, "text_encoder": "thumbnail"})


def test_fittable_part_needs_fit(items):
    with pytest.raises(NotFittedError):
        create_encoder(SMALL).encode(items)
    assert create_encoder({**SMALL, "text_encoder": "bow"}).fittable
    assert not create_encoder({**SMALL, "text_encoder": TFIDF}).is_fitted


def test_save_load_round_trip_and_config_identity(items, tmp_path):
    encoder = create_encoder(SMALL).fit(items)
    encoder.save(tmp_path / "enc")
    loaded = load_encoder(tmp_path / "enc")
    np.testing.assert_array_equal(loaded.encode(items), encoder.encode(items))
    assert feature_key(loaded) == feature_key(encoder)
    other = create_encoder({**SMALL, "weight": 2.0}).fit(items)
    assert feature_key(other) != feature_key(encoder)


@needs_tesseract
def test_encode_library_uses_stored_ocr_and_queries_ocr_on_the_fly(tmp_path):
    from scicmr.corpus.ocr_library import OCR_TEXT
    from scicmr.workflow.encode import encode_library, load_query_encoder

    lib = make_text_library(tmp_path / "lib")
    keys = encode_library(lib, image=SMALL, text="tfidf")  # runs OCR first: no record has text yet
    assert all(r.extra.get(OCR_TEXT) for r in lib.records() if r.image)
    vectors = lib.load_features(keys["image"], ["fig-a", "fig-b", "fig-c"])
    encoder = load_query_encoder(lib, "image")
    assert encoder.ocr_lang_ == "eng" and encoder.ocr_psm_ == 3
    # A query image with the same pixels, given as a plain path, is OCR'd now: same vector.
    query = tmp_path / "query.png"
    render_words(query, WORDS["fig-a"])
    np.testing.assert_allclose(encoder.encode([query])[0], vectors[0], atol=1e-6)
    # The OCR words carry the match: fig-a's text part is closest to the query's text part.
    dim_image = 8 * 8 + 3 * 4
    text_part = encoder.encode([query])[:, dim_image:] @ vectors[:, dim_image:].T
    assert int(np.argmax(text_part)) == 0 and text_part[0, 0] > 0
    # The frozen image part went through the library's own feature cache (shared with
    # `encode --image-encoder thumbnail`), and the fused image part is those vectors, normalised.
    thumbnail = create_encoder(SMALL["image_encoder"])
    cached = lib.load_features(feature_key(thumbnail), ["fig-a", "fig-b", "fig-c"])
    np.testing.assert_allclose(vectors[:, :dim_image], _l2(cached), atol=1e-6)
    # New OCR text changes the cache key, so stale fused vectors are never reused.
    record = lib.get("fig-b")
    record.extra[OCR_TEXT] = "rewritten words"
    lib.update_records([record])
    assert encode_library(lib, image=SMALL, text="tfidf")["image"] != keys["image"]


@needs_tesseract
def test_cli_encode_with_ocr_fusion(tmp_path, capsys):
    import json

    from scicmr.cli import main

    lib = make_text_library(tmp_path / "lib")
    spec = json.dumps({**SMALL, "weight": 0.7})
    assert main(["encode", str(lib.root), "--image-encoder", spec, "--text-encoder", "tfidf", "--json"]) == 0
    keys = json.loads(capsys.readouterr().out)
    assert keys["image"].startswith("image-ocr-fusion-")
    assert lib.load_features(keys["image"]).shape[0] == 3
