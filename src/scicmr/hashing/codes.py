"""Packed binary codes and their Hamming distances.

A code of ``b`` bits is stored as ``ceil(b / 8)`` uint8 bytes, most significant bit first
(:func:`numpy.packbits` order, the layout FAISS binary indexes use). Bit ``j`` is 1 where the
real-valued relaxation is ``>= 0`` (``sign`` with 0 mapped to +1, so every vector has a code).
"""

from __future__ import annotations

import numpy as np

from scicmr.errors import InputError

# popcount of every byte value, for table-driven Hamming distances.
_POPCOUNT = np.array([bin(value).count("1") for value in range(256)], dtype=np.uint8)


def pack_codes(relaxed: np.ndarray) -> np.ndarray:
    """Binarise and pack real-valued codes.

    Args:
        relaxed: (n, bits) real values (e.g. tanh outputs); bit = value >= 0.

    Returns:
        (n, ceil(bits / 8)) uint8 packed codes; padding bits are zero.
    """
    relaxed = np.asarray(relaxed)
    if relaxed.ndim != 2:
        raise InputError(f"codes must be a 2-D (n, bits) array, got shape {relaxed.shape}")
    return np.packbits(relaxed >= 0, axis=1)


def unpack_codes(packed: np.ndarray, bits: int) -> np.ndarray:
    """(n, bytes) uint8 -> (n, bits) int8 in {-1, +1}."""
    packed = _check_packed(packed)
    if bits > packed.shape[1] * 8 or bits < 1:
        raise InputError(f"{bits} bits do not fit {packed.shape[1]} bytes per code")
    unpacked = np.unpackbits(packed, axis=1, count=bits)
    return (unpacked.astype(np.int8) * 2 - 1).astype(np.int8)


def hamming_distances(queries: np.ndarray, database: np.ndarray) -> np.ndarray:
    """All Hamming distances between packed codes.

    Args:
        queries: (q, bytes) uint8.
        database: (n, bytes) uint8, same byte width.

    Returns:
        (q, n) int32 distances (number of differing bits).
    """
    queries, database = _check_packed(queries), _check_packed(database)
    if queries.shape[1] != database.shape[1]:
        raise InputError(
            f"code widths differ: queries have {queries.shape[1]} bytes, the database {database.shape[1]}",
            fix="encode both with the same number of bits",
        )
    out = np.empty((queries.shape[0], database.shape[0]), dtype=np.int32)
    # One query row at a time keeps memory at (n, bytes) instead of (q, n, bytes).
    for row, query in enumerate(queries):
        out[row] = _POPCOUNT[np.bitwise_xor(database, query)].sum(axis=1, dtype=np.int32)
    return out


def _check_packed(codes: np.ndarray) -> np.ndarray:
    codes = np.asarray(codes)
    if codes.dtype != np.uint8 or codes.ndim != 2:
        raise InputError(
            f"packed codes must be a 2-D uint8 array, got {codes.dtype} with shape {codes.shape}",
            fix="pack real-valued codes with scicmr.hashing.pack_codes",
        )
    return codes
