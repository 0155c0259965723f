"""The OCR-aware image encoder: what a figure looks like plus what is written in it.

A figure's vector is ``[ l2(cnn(image)) , w · l2(sentence(ocr_text(image))) ]`` — by default
EfficientNet-Lite0 (1280-d) and MiniLM (384-d), 1664-d in all. Each part is L2-normalised so
``w`` alone sets the text part's share of a dot product; a figure with no readable text gets a
zero text part (its vector is then the plain CNN feature, padded).

Items are :class:`FigureItem` (an image and its OCR text, read from the library) or plain images
(paths, bytes, PIL images — a query photo): those are OCR'd on the fly with Tesseract. In a
library, :meth:`OcrFusionEncoder.record_items` supplies the texts ``scicmr ocr`` stored with the
records (running OCR first for records that have none).

With a fittable text part (``text_encoder={"name": "tfidf", "svd_dim": 256}``) fitted on the
training records' texts (``text_fit="records"``, the default), the OCR words are embedded in the
caption vocabulary: paired with the same TF-IDF on the text side, a word printed in a figure and
the same word in its caption share a coordinate — the strongest setting in docs/ocr.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scicmr.encoders.base import Encoder, fingerprint
from scicmr.encoders.text import l2_normalize_rows
from scicmr.errors import InputError

DEFAULT_IMAGE_ENCODER = "efficientnet-lite0"
DEFAULT_TEXT_ENCODER = "minilm"


TEXT_FIT = ("records", "ocr", "both")


@dataclass(frozen=True)
class FigureItem:
    """An image (path, bytes or PIL image) with its already-known OCR text and, in a library,
    the text of its record (caption, title...: used only to fit a fittable text part)."""

    image: Any
    ocr_text: str
    record_text: str = ""
    image_vector: Any = None  # (d_image,) float32 from the library's feature cache, when known


class OcrFusionEncoder(Encoder):
    """Image features fused with a sentence embedding of the figure's OCR text.

    Args:
        image_encoder: spec of the image part (a registered name or a spec dict).
        text_encoder: spec of the OCR-text part (``minilm``; a fittable one such as ``tfidf``
            is fitted on the OCR texts of the training figures).
        weight: ``w``, the text part's scale (0 turns the encoder into the image encoder).
        lang: Tesseract languages for images that arrive without text (queries); ``auto`` takes
            the languages the library was OCR'd with (``eng`` when unknown).
        psm: Tesseract page segmentation mode for records without OCR text; queries use the
            library's (``ocr_psm_``) once the encoder has seen it.
        text_fit: what a fittable text part (TF-IDF) is fitted on: ``"records"`` — the training
            records' own texts (captions), so OCR words land in the caption vocabulary and
            the same word scores alike on both sides; ``"ocr"`` — the OCR texts; ``"both"``.
            Pretrained text parts (MiniLM) ignore it.
    """

    modality = "image"
    name = "ocr-fusion"

    def __init__(self, image_encoder: Any = DEFAULT_IMAGE_ENCODER, text_encoder: Any = DEFAULT_TEXT_ENCODER,
                 weight: float = 1.0, lang: str = "auto", psm: int = 3, text_fit: str = "records"):
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not weight >= 0:
            raise InputError(f"ocr-fusion weight must be a number >= 0, got {weight!r}")
        if text_fit not in TEXT_FIT:
            raise InputError(f"unknown text_fit {text_fit!r}", fix=f"choose one of: {', '.join(TEXT_FIT)}")
        self.text_fit = text_fit
        self.image_encoder = image_encoder
        self.text_encoder = text_encoder
        self.weight = float(weight)
        self.lang = lang
        self.psm = psm
        from scicmr.encoders import create_encoder

        self._image = create_encoder(image_encoder)
        self._text = create_encoder(text_encoder)
        if self._image.modality != "image" or self._text.modality != "text":
            raise InputError("ocr-fusion needs an image encoder for image_encoder and a text encoder for text_encoder",
                             fix='e.g. image_encoder="efficientnet-lite0", text_encoder="minilm"')
        self.ocr_lang_: str | None = None
        self.ocr_psm_: int | None = None
        self.ocr_texts_: str | None = None  # fingerprint of the library's OCR texts (cache identity)

    # -- fittable exactly when a part is (a TF-IDF text part learns a vocabulary)
    @property
    def fittable(self) -> bool:  # type: ignore[override]
        return self._image.fittable or self._text.fittable

    def _dim(self) -> int:
        return self._image.dim + self._text.dim

    def _identity(self) -> dict[str, Any]:
        parts = {"parts": {"image": self._image.config(), "text": self._text.config()}}
        if self.ocr_texts_ is not None:
            parts["ocr_texts"] = self.ocr_texts_
            parts["ocr_lang"] = self.ocr_lang_
            parts["ocr_psm"] = self.ocr_psm_
        return parts

    # -- items
    def record_items(self, lib: Any, records: list) -> list[FigureItem]:
        """Items for library ``records``: their image paths with the figure's printed words
        (:func:`scicmr.corpus.figure_text.figure_words`: the PDF text layer read at ingest,
        else stored OCR text).

        Records whose image has neither (and that ingest did not already look at) are OCR'd
        first (and the text is stored in the library, as ``scicmr ocr`` would). Also pins the
        OCR languages for later queries.
        """
        from scicmr.corpus.figure_text import FIGURE_TEXT, figure_words
        from scicmr.corpus.ocr_library import has_ocr, ocr_library

        if any(r.image and not has_ocr(r) and FIGURE_TEXT not in r.extra for r in records):
            from scicmr.corpus.ocr import OcrSettings

            ocr_library(lib, lang=self.lang, settings=OcrSettings(psm=self.psm))
            fresh = {r.id: r for r in lib.get_many([r.id for r in records])}
            records = [fresh[r.id] for r in records]
        stored = lib.meta.get("ocr") or {}
        # Queries are read the way the library was, so their text is comparable.
        self.ocr_lang_ = stored.get("lang") or (self.lang if self.lang != "auto" else "eng")
        self.ocr_psm_ = stored.get("psm", self.psm)
        texts = [figure_words(r) for r in records]
        self.ocr_texts_ = fingerprint(sorted(zip((r.id for r in records), texts)))
        paths = [lib.image_path(r) for r in records]
        vectors: Any = [None] * len(records)
        if not self._image.fittable:
            # A frozen image part gives the same vectors as on its own: share its feature cache,
            # so trying another w or new OCR text never recomputes the CNN.
            from scicmr.encoders.base import encode_cached

            vectors = encode_cached(self._image, lib, [r.id for r in records], paths)
        return [FigureItem(path, text, r.full_text(), vector)
                for path, text, r, vector in zip(paths, texts, records, vectors)]

    def _split(self, items: list[Any]) -> tuple[list[Any], list[str]]:
        """Images and OCR texts of ``items``; plain images are OCR'd now."""
        images, texts = [], []
        for item in items:
            if isinstance(item, FigureItem):
                images.append(item.image)
                texts.append(item.ocr_text or "")
            else:
                from scicmr.corpus.ocr import OcrSettings, ocr_image

                lang = self.ocr_lang_ or (self.lang if self.lang != "auto" else "eng")
                images.append(item)
                texts.append(ocr_image(item, OcrSettings(lang=lang, psm=self.ocr_psm_ or self.psm)))
        return images, texts

    # -- fit / encode
    def _fit(self, items: list[Any]) -> None:
        images, texts = self._split(items)
        self._image.fit(images)
        record_texts = [item.record_text for item in items if isinstance(item, FigureItem) and item.record_text.strip()]
        ocr_texts = [t for t in texts if t.strip()]
        chosen = {"records": record_texts, "ocr": ocr_texts, "both": record_texts + ocr_texts}[self.text_fit]
        # A vocabulary needs words: fall back to whatever text there is.
        self._text.fit(chosen or record_texts + ocr_texts or texts)

    def _encode_batch(self, batch: list[Any]) -> np.ndarray:
        images, texts = self._split(batch)
        known = [getattr(item, "image_vector", None) for item in batch]
        missing = [i for i, vector in enumerate(known) if vector is None]
        visual = np.zeros((len(batch), self._image.dim), dtype=np.float32)
        if missing:
            visual[missing] = self._image.encode([images[i] for i in missing], batch_size=len(missing))
        for i, vector in enumerate(known):
            if vector is not None:
                visual[i] = vector
        visual = l2_normalize_rows(visual)
        textual = l2_normalize_rows(self._text.encode(texts, batch_size=len(texts)))
        textual[[not t.strip() for t in texts]] = 0.0  # no words read: no text evidence
        return np.hstack([visual, self.weight * textual]).astype(np.float32)

    # -- persistence: fitted parts live in sub-folders
    def _state_fingerprint(self) -> str:
        return fingerprint(self._image.config(), self._text.config())

    def _save_state(self, directory: Path) -> list[str]:
        saved = []
        for part, encoder in (("image", self._image), ("text", self._text)):
            encoder.save(directory / part)
            saved.append(part)
        return saved

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        from scicmr.encoders import load_encoder

        self._image = load_encoder(directory / "image")
        self._text = load_encoder(directory / "text")

    def _restore(self, directory: Path, config: dict[str, Any]) -> None:
        super()._restore(directory, config)
        self.ocr_texts_ = config.get("ocr_texts")
        self.ocr_lang_ = config.get("ocr_lang")
        self.ocr_psm_ = config.get("ocr_psm")
