"""Method registry: named configs as data, classes loaded lazily.

The registry maps a name to ``"module:Class"`` so listing methods never imports torch.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from scicmr.errors import InputError, LibraryError

_METHODS: dict[str, str] = {
    "cca": "scicmr.methods.common_space.cca:CCAMethod",
    "cca-hash": "scicmr.methods.hashing.cca_hash:CCAHash",
    "cardl": "scicmr.methods.common_space.cardl:CARDL",
    "mfcmr": "scicmr.methods.adversarial.mfcmr:MFCMR",
    "smcr": "scicmr.methods.adversarial.smcr:SMCR",
    "acmr": "scicmr.methods.adversarial.acmr:ACMR",
    "ssacr": "scicmr.methods.adversarial.ssacr:SSACR",
    "idcmr": "scicmr.methods.common_space.idcmr:IDCMR",
    "dscmr": "scicmr.methods.common_space.dscmr:DSCMR",
    "corr-ae": "scicmr.methods.common_space.corr_ae:CorrAE",
    "cmdn": "scicmr.methods.common_space.cmdn:CMDN",
    "dcmh": "scicmr.methods.hashing.dcmh:DCMH",
    "ms-sch-gan": "scicmr.methods.hashing.ms_sch_gan:MSSCHGAN",
    "mask-hash-transformer": "scicmr.methods.hashing.mask_hash_transformer:MaskHashTransformer",
}


def register_method(name: str, target: str) -> None:
    """Register ``target`` (``"package.module:Class"``) under ``name`` (plugins use this)."""
    _METHODS[name.lower()] = target


def available_methods() -> list[str]:
    return sorted(_METHODS)


def method_class(name: str) -> type:
    """The class registered as ``name``; InputError listing the choices when unknown."""
    key = str(name).lower()
    if key not in _METHODS:
        raise InputError(
            f"unknown method {name!r}",
            fix=f"choose one of: {', '.join(available_methods())}",
        )
    module_name, class_name = _METHODS[key].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def create_method(name: str, **params: Any):
    """Instantiate a registered method with ``params`` (unknown params raise InputError)."""
    cls = method_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise InputError(f"bad parameters for method {name!r}: {exc}", fix="see `scicmr train --help`") from None


def load_method(directory: str | Path):
    """Load a saved method from ``directory`` (reads config.json to find its class)."""
    from scicmr._io import read_json

    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.exists():
        raise LibraryError(f"no trained model at {directory}", fix="train one with `scicmr train LIB --method NAME`")
    config = read_json(config_path)
    return method_class(config["method"]).load(directory)
