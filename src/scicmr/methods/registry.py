"""The one method registry: named methods as data, classes loaded lazily.

Each name maps to ``("module:Class", inputs)`` so listing methods never imports torch.
``inputs`` says what a method learns from:

- ``"pairs"``: paired image and text *feature vectors* mapped to a shared space (or to binary
  codes); ``scicmr train`` drives these through the library workflow.
- ``"images"``: images alone, with class labels (ADHN, attention deep hashing of query
  images); ``scicmr hash-images`` drives these.

A saved method names itself in its ``config.json`` (``"method"``; hashers saved by 0.1 wrote
``"hasher"``), so :func:`load_method` restores any of them.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from scicmr._io import read_json
from scicmr.errors import InputError, LibraryError

INPUTS = ("pairs", "images")

_METHODS: dict[str, tuple[str, str]] = {
    "cca": ("scicmr.methods.common_space.cca:CCAMethod", "pairs"),
    "cca-hash": ("scicmr.methods.hashing.cca_hash:CCAHash", "pairs"),
    "cardl": ("scicmr.methods.common_space.cardl:CARDL", "pairs"),
    "mfcmr": ("scicmr.methods.adversarial.mfcmr:MFCMR", "pairs"),
    "smcr": ("scicmr.methods.adversarial.smcr:SMCR", "pairs"),
    "acmr": ("scicmr.methods.adversarial.acmr:ACMR", "pairs"),
    "ssacr": ("scicmr.methods.adversarial.ssacr:SSACR", "pairs"),
    "idcmr": ("scicmr.methods.common_space.idcmr:IDCMR", "pairs"),
    "dscmr": ("scicmr.methods.common_space.dscmr:DSCMR", "pairs"),
    "corr-ae": ("scicmr.methods.common_space.corr_ae:CorrAE", "pairs"),
    "cmdn": ("scicmr.methods.common_space.cmdn:CMDN", "pairs"),
    "dcmh": ("scicmr.methods.hashing.dcmh:DCMH", "pairs"),
    "ms-sch-gan": ("scicmr.methods.hashing.ms_sch_gan:MSSCHGAN", "pairs"),
    "mask-hash-transformer": ("scicmr.methods.hashing.mask_hash_transformer:MaskHashTransformer", "pairs"),
    "adhn": ("scicmr.methods.hashing.adhn:ADHN", "images"),
    "pretrained": ("scicmr.methods.common_space.pretrained:PretrainedDualEncoder", "pairs"),
}

# One line per method for `scicmr train --help` (data here, so listing them never imports torch).
_SUMMARIES: dict[str, str] = {
    "cca": "regularised linear CCA in closed form; the fast baseline",
    "cca-hash": "sign of CCA projections: linear cross-modal hashing baseline (binary codes)",
    "cardl": "CARDL: two MLP towers into a 64-d shared space, bidirectional ranking losses",
    "mfcmr": "MFCMR: multi-feature fusion with a modality-adversarial game",
    "smcr": "SMCR: semantics- and media-adversarial cross-media retrieval",
    "acmr": "ACMR: adversarial cross-modal retrieval",
    "ssacr": "SSACR: semantic-similarity based adversarial cross-media retrieval",
    "idcmr": "IDCMR: deep cross-modal retrieval with generated real-valued representations",
    "dscmr": "DSCMR: deep supervised cross-modal retrieval (labels needed)",
    "corr-ae": "Corr-AE: correspondence autoencoder (and its cross / full variants)",
    "cmdn": "CMDN: cross-media multiple deep networks, two-stage hierarchical learning",
    "dcmh": "DCMH: deep cross-modal hashing (binary codes)",
    "ms-sch-gan": "MS-SCH-GAN: semi-supervised cross-modal hashing GAN (binary codes)",
    "mask-hash-transformer": "transformer with multimodal masking and a hash constraint (binary codes)",
    "adhn": "ADHN: attention deep hashing of query images (images only; `scicmr hash-images`)",
    "pretrained": "zero-shot: a local CLIP / SigLIP checkpoint's two towers as the shared space (no training)",
}


def register_method(name: str, target: str, inputs: str = "pairs", summary: str = "") -> None:
    """Register ``target`` (``"package.module:Class"``) under ``name`` (plugins use this);
    ``summary``: its one line in ``scicmr train --help``."""
    if inputs not in INPUTS:
        raise InputError(f"unknown method inputs {inputs!r}", fix=f"use one of: {', '.join(INPUTS)}")
    _METHODS[name.lower()] = (target, inputs)
    _SUMMARIES[name.lower()] = summary


def available_methods(inputs: str | None = "pairs") -> list[str]:
    """Registered names that learn from ``inputs`` (``"pairs"`` by default; None: all)."""
    return sorted(name for name, (_, kind) in _METHODS.items() if inputs is None or kind == inputs)


def method_summary(name: str) -> str:
    """The one-line description of a registered method ("" when its registration gave none)."""
    return _SUMMARIES.get(_known(name), "")


def method_inputs(name: str) -> str:
    """``"pairs"`` or ``"images"`` for a registered method."""
    return _METHODS[_known(name)][1]


def _known(name: str) -> str:
    key = str(name).lower()
    if key not in _METHODS:
        raise InputError(f"unknown method {name!r}", fix=f"choose one of: {', '.join(available_methods(None))}")
    return key


def method_class(name: str) -> type:
    """The class registered as ``name``; InputError listing the choices when unknown."""
    module_name, class_name = _METHODS[_known(name)][0].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def create_method(name: str, **params: Any):
    """Instantiate a registered method with ``params`` (unknown params raise InputError)."""
    cls = method_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise InputError(f"bad parameters for method {name!r}: {exc}", fix="see `scicmr train --help`") from None


def saved_method_name(directory: str | Path) -> str | None:
    """The registered name a saved model in ``directory`` declares, or None (no/unreadable config)."""
    try:
        config = read_json(Path(directory) / "config.json")
    except (OSError, ValueError):
        return None
    return config.get("method") or config.get("hasher")


def load_method(directory: str | Path):
    """Load a saved method from ``directory`` (reads config.json to find its class)."""
    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.exists():
        raise LibraryError(f"no trained model at {directory}", fix="train one with `scicmr train LIB --method NAME`")
    name = saved_method_name(directory)
    if not name:
        raise LibraryError(f"{config_path} names no method", fix="re-train the model; the file is not a scicmr model")
    return method_class(name).load(directory)
