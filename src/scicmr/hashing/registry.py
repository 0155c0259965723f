"""Registry of image-only hashers (images → binary codes), apart from the cross-modal methods.

Cross-modal hashing methods (DCMH, …) live in :mod:`scicmr.methods` like every method that maps
image *and* text features to a shared space. An image-only hasher such as ADHN takes images, not
feature vectors, and has no text side, so the cross-modal workflow (``scicmr train``) cannot
drive it; it is registered here instead, by name → ``"module:Class"`` (loaded lazily, so
listing hashers never imports torch). Every class here follows :mod:`scicmr.hashing.base`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from scicmr._io import read_json
from scicmr.errors import InputError, LibraryError

_HASHERS: dict[str, str] = {
    "adhn": "scicmr.methods.hashing.adhn:ADHN",
}


def available_image_hashers() -> list[str]:
    return sorted(_HASHERS)


def image_hasher_class(name: str) -> type:
    """The class registered as ``name``; InputError listing the choices when unknown."""
    key = str(name).lower()
    if key not in _HASHERS:
        raise InputError(f"unknown image hasher {name!r}", fix=f"choose one of: {', '.join(available_image_hashers())}")
    module_name, class_name = _HASHERS[key].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def create_image_hasher(name: str, **params: Any):
    """Instantiate a registered hasher with ``params`` (unknown params raise InputError)."""
    try:
        return image_hasher_class(name)(**params)
    except TypeError as exc:
        raise InputError(f"bad parameters for image hasher {name!r}: {exc}") from None


def load_image_hasher(directory: str | Path):
    """Load a saved hasher from ``directory`` (its config.json names the hasher)."""
    path = Path(directory) / "config.json"
    if not path.is_file():
        raise LibraryError(f"no saved image hasher at {directory}", fix="train one first (e.g. ADHN(...).fit(...).save(dir))")
    return image_hasher_class(read_json(path).get("hasher", "?")).load(directory)
