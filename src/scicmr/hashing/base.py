"""The hashing contract: what a model that produces binary codes promises.

A *hashing model* is any fitted model (a cross-modal method from :mod:`scicmr.methods`, or an
image-only hasher such as :class:`scicmr.methods.hashing.adhn.ADHN`) that

- sets the class attribute ``produces_codes = True``;
- has the constructor parameter ``n_bits`` (int >= 1, the code length b);
- returns the *relaxed* codes from its real-valued transforms: ``transform_image(X)`` /
  ``transform_text(Y)`` (cross-modal) or ``transform(images)`` (image-only) give
  (n, b) float32 values in [-1, 1] (tanh outputs), so cosine search, re-ranking and every
  real-valued metric keep working on them;
- gives packed binary codes through ``codes_image(X)`` / ``codes_text(Y)`` (and ``codes(images)``
  for image-only hashers): (n, ceil(b / 8)) uint8, bit = relaxed value >= 0, packed MSB first
  by :func:`scicmr.hashing.codes.pack_codes` (the FAISS binary layout).

:class:`HashingMixin` provides ``codes_image`` / ``codes_text`` / ``codes`` from the transforms,
so a method only has to set ``n_bits`` and inherit from it (before its base class)::

    class DCMH(HashingMixin, CrossModalMethod):
        def __init__(self, n_bits=32, ...): ...

Cosine similarity of sign vectors and Hamming distance are one ranking:
``cos(sign u, sign v) = 1 - 2 * hamming(u, v) / b`` (:func:`hamming_to_similarity`), which is
the score a Hamming index reports, so "higher is better" holds for every index kind.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from scicmr.errors import InputError
from scicmr.hashing.codes import pack_codes


def code_bytes(n_bits: int) -> int:
    """Bytes per packed code of ``n_bits`` bits: ceil(n_bits / 8)."""
    return (check_bits(n_bits) + 7) // 8


def check_bits(n_bits: Any) -> int:
    """``n_bits`` as a positive int; InputError naming the problem otherwise."""
    if isinstance(n_bits, bool) or not isinstance(n_bits, (int, np.integer)) or n_bits < 1:
        raise InputError(f"n_bits must be an integer >= 1, got {n_bits!r}", fix="use e.g. n_bits=32 (16, 32, 48, 64)")
    return int(n_bits)


def hamming_to_similarity(distances: np.ndarray, n_bits: int) -> np.ndarray:
    """(…) int Hamming distances → float32 similarity ``1 - 2 d / b`` in [-1, 1] (higher is better)."""
    return (1.0 - 2.0 * np.asarray(distances, dtype=np.float32) / float(n_bits)).astype(np.float32)


def produces_codes(model: Any) -> bool:
    """True when ``model`` follows the hashing contract (``produces_codes`` and ``n_bits``)."""
    return bool(getattr(model, "produces_codes", False)) and getattr(model, "n_bits", None) is not None


def model_bits(model: Any) -> int:
    """The code length of a hashing model; InputError when ``model`` does not produce codes."""
    if not produces_codes(model):
        raise InputError(
            f"{type(model).__name__} does not produce binary codes",
            fix="train a hashing method (e.g. --method dcmh or adhn) to build a Hamming index",
        )
    return check_bits(model.n_bits)


class HashingMixin:
    """Packed codes from the relaxed transforms (see the module docstring).

    Put it before the base class: ``class M(HashingMixin, CrossModalMethod)``.
    """

    produces_codes: ClassVar[bool] = True
    n_bits: int

    def codes_image(self, image_features: Any, **side: Any) -> np.ndarray:
        """(n, d_img) features → (n, ceil(n_bits / 8)) uint8 packed codes."""
        return pack_codes(self.transform_image(image_features, **side))  # type: ignore[attr-defined]

    def codes_text(self, text_features: Any, **side: Any) -> np.ndarray:
        """(n, d_txt) features → (n, ceil(n_bits / 8)) uint8 packed codes."""
        return pack_codes(self.transform_text(text_features, **side))  # type: ignore[attr-defined]

    def codes(self, images: Any) -> np.ndarray:
        """Image-only hashers: (n,) images → (n, ceil(n_bits / 8)) uint8 packed codes."""
        return pack_codes(self.transform(images))  # type: ignore[attr-defined]
