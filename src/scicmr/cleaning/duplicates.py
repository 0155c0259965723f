"""Exact and near duplicates, grouped, with one canonical member per group left unflagged.

- Exact: equal SHA-256 of the file bytes.
- Near: a cheap perceptual-hash gate, then a verification. On figure collections the gate
  alone is not enough: figures drawn from one template (same layout, other labels and data)
  lie a few pHash bits apart, as close as a re-encoded copy. So every pair that passes the gate
  (pHash <= ``phash_max`` and dHash <= ``dhash_max``) is verified with the crop-aligned
  thumbnail correlation of :mod:`scicmr.matching.align`: coarse NCC (24 px, crops down to
  85 %) >= ``coarse_min``, high-pass NCC (64 px) >= ``detail_min`` and mean RGB difference
  at the aligned crop <= ``colour_max`` (recoloured figures of one template correlate well).

Groups are the connected components of the duplicate pairs (union-find); the canonical member
is the earliest in library order, the others are flagged with ``duplicate_of`` = canonical.
Callers pass only images that survived the blank screen: uniform images all hash alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from scicmr._progress import progress
from scicmr.hashing.codes import hamming_distances

# Near copies are at most slightly cropped: search crops down to 85 % only.
DUPLICATE_CROPS = (1.0, 0.95, 0.9, 0.85)


@dataclass
class DuplicateGroup:
    """``canonical`` kept; ``members`` (canonical first) in library order."""

    kind: str  # "exact_duplicate" or "near_duplicate"
    canonical: str
    members: list[str]
    scores: dict[str, dict[str, float]]  # member -> scores against the canonical's group


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]  # path halving
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)  # the root is the earliest member

    def groups(self) -> list[list[int]]:
        out: dict[int, list[int]] = {}
        for i in range(len(self.parent)):
            out.setdefault(self.find(i), []).append(i)
        return [sorted(members) for members in out.values() if len(members) > 1]


def _groups(kind: str, ids: Sequence[str], pairs: dict[tuple[int, int], dict[str, float]]) -> list[DuplicateGroup]:
    uf = _UnionFind(len(ids))
    for i, j in pairs:
        uf.union(i, j)
    result = []
    for members in uf.groups():
        scores = {ids[m]: pairs.get((min(members[0], m), max(members[0], m)), {}) for m in members[1:]}
        result.append(DuplicateGroup(kind, ids[members[0]], [ids[m] for m in members], scores))
    return result


def exact_duplicates(ids: Sequence[str], digests: Sequence[str]) -> list[DuplicateGroup]:
    """Groups of equal content digests (ids in library order)."""
    first: dict[str, int] = {}
    pairs = {}
    for i, digest in enumerate(digests):
        if digest in first:
            pairs[(first[digest], i)] = {}
        else:
            first[digest] = i
    return _groups("exact_duplicate", ids, pairs)


def hash_candidates(phashes: np.ndarray, dhashes: np.ndarray, phash_max: int, dhash_max: int) -> list[tuple[int, int, int, int]]:
    """Pairs (i < j, pHash distance, dHash distance) passing both gates; (n, 8) uint8 inputs.

    Row blocks keep memory at (block, n) distances."""
    out = []
    n = len(phashes)
    for start in range(0, n, 256):
        dp = hamming_distances(phashes[start : start + 256], phashes)
        dd = hamming_distances(dhashes[start : start + 256], dhashes)
        rows, cols = np.nonzero((dp <= phash_max) & (dd <= dhash_max))
        for r, c in zip(rows, cols):
            i = start + int(r)
            if i < c:
                out.append((i, int(c), int(dp[r, c]), int(dd[r, c])))
    return out


def near_duplicates(
    ids: Sequence[str],
    phashes: np.ndarray,
    dhashes: np.ndarray,
    load: Callable[[int], object],
    *,
    phash_max: int,
    dhash_max: int,
    coarse_min: float = 0.85,
    detail_min: float = 0.83,
    colour_max: float = 8.0,
) -> list[DuplicateGroup]:
    """Groups of near-identical images. ``load(i)`` returns image i as an RGB PIL image (called
    only for images in a gated pair, each at most once)."""
    from scicmr.matching.align import (
        AlignedThumbs,
        aligned_correlation,
        colour_difference,
        crop_grid,
        detail_correlation,
        thumb_vector,
    )

    boxes = crop_grid(DUPLICATE_CROPS)
    cache: dict[int, tuple] = {}

    def prepared(i: int):
        if i not in cache:
            image = load(i)
            cache[i] = (image, image.convert("F"), thumb_vector(image), AlignedThumbs.from_image(image, boxes))
        return cache[i]

    pairs = {}
    gated = hash_candidates(phashes, dhashes, phash_max, dhash_max)
    for i, j, dp, dd in progress(gated, total=len(gated), desc="cleaning: verify near duplicates", unit="pair"):
        a, b = prepared(i), prepared(j)
        best = (-1.0, -1.0, np.inf)
        for ref, query in ((a, b), (b, a)):
            coarse, box = aligned_correlation(query[2], ref[3])
            if coarse >= coarse_min:  # the costly checks only where the coarse one passes
                scores = (coarse, detail_correlation(ref[1], query[1], box), colour_difference(query[0], ref[3], box))
                best = max(best, scores, key=lambda s: s[1])
        if best[1] >= detail_min and best[2] <= colour_max:
            pairs[(i, j)] = {"phash_distance": dp, "dhash_distance": dd, "coarse_ncc": round(best[0], 4),
                             "detail_ncc": round(best[1], 4), "colour_difference": round(best[2], 2)}
    return _groups("near_duplicate", ids, pairs)
