"""Perceptual hashes: pHash (low DCT frequencies) and dHash (horizontal gradient signs).

Both map a grey image to 64 bits, packed to 8 uint8 bytes (``np.packbits`` order, so
:func:`scicmr.hashing.codes.hamming_distances` compares them). Near-identical images (rescaled,
re-compressed, slightly cropped) land a few bits apart; unrelated images about 32 apart.
Uniform images all hash alike (every coefficient equal), so callers screen blank images out
first.
"""

from __future__ import annotations

import numpy as np

HASH_SIDE = 8  # 8 x 8 = 64 bits
PHASH_SIZE = 32  # pHash resizes to 32 x 32 and keeps the top-left 8 x 8 DCT block


def _grey_resized(image, size: tuple[int, int]) -> np.ndarray:
    """(h, w) float64 grey pixels of a PIL image resized with box averaging (w, h = size)."""
    from PIL import Image

    grey = image if image.mode == "L" else image.convert("L")
    return np.asarray(grey.resize(size, Image.BOX), dtype=np.float64)


def phash_bits(image) -> np.ndarray:
    """pHash of a PIL image as (64,) bool.

    Resize to 32 x 32 grey, take the orthonormal 2-D DCT-II, keep the 8 x 8 lowest
    frequencies, and set each bit where the coefficient exceeds the median of the 63 AC
    coefficients (the DC term only measures brightness, so it is left out of the median).
    """
    from scipy.fft import dctn

    pixels = _grey_resized(image, (PHASH_SIZE, PHASH_SIZE))
    block = dctn(pixels, type=2, norm="ortho")[:HASH_SIDE, :HASH_SIDE].ravel()
    return block > np.median(block[1:])


def dhash_bits(image) -> np.ndarray:
    """dHash of a PIL image as (64,) bool: resize to 9 x 8 grey; bit = pixel < its right
    neighbour (row-major)."""
    pixels = _grey_resized(image, (HASH_SIDE + 1, HASH_SIDE))
    return (pixels[:, :-1] < pixels[:, 1:]).ravel()


def pack(bits: np.ndarray) -> np.ndarray:
    """(..., 64) bool → (..., 8) uint8."""
    return np.packbits(np.asarray(bits, dtype=bool), axis=-1)


def image_hashes(image) -> tuple[np.ndarray, np.ndarray]:
    """(pHash, dHash) of a PIL image, each (8,) uint8 packed."""
    return pack(phash_bits(image)), pack(dhash_bits(image))
