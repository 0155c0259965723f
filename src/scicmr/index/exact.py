"""Exact (brute-force) search: the oracle every fast index is tested against.

Scores are a float32 matrix product, computed for a block of queries at a time so memory
stays bounded (``block_mb`` caps the score block and its work arrays). The top k of each row
come from ``np.argpartition``; ties are then resolved by the stable rule of the contract:
descending score, ascending id. When items tie with the k-th score across the partition
boundary, the tied items with the smallest ids are kept, so the result does not depend on
storage order or on how argpartition happened to split the tie.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scicmr._io import atomic_save_npy
from scicmr.errors import InputError, LibraryError
from scicmr.index.base import VectorIndex, order_by_score_then_id, pad_results

# Bytes of work memory per score entry in one block: the float32 score, the int64 output of
# argpartition, and a boolean tie mask.
_BYTES_PER_ENTRY = 4 + 8 + 1


def top_k_rows(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` of each row of a score block, ties by ascending id.

    Args:
        scores: (b, n) float32 scores of b queries against n items.
        ids: (n,) int64 item ids.
        k: 1 <= k <= n.

    Returns:
        scores (b, k) float32 descending, ids (b, k) int64.
    """
    n = scores.shape[1]
    if k == n:
        picked = np.broadcast_to(np.arange(n), scores.shape)
    else:
        picked = np.argpartition(scores, n - k, axis=1)[:, n - k :]
        picked = _settle_boundary_ties(scores, ids, picked)
    top_scores = np.take_along_axis(scores, picked, axis=1)
    return order_by_score_then_id(top_scores, ids[picked])


def _settle_boundary_ties(scores: np.ndarray, ids: np.ndarray, picked: np.ndarray) -> np.ndarray:
    """Fix rows whose k-th score is tied with items argpartition left out.

    Args:
        scores: (b, n) float32; picked: (b, k) column positions from argpartition.

    Returns:
        (b, k) positions: every item scoring above the k-th score, then the tied ones with
        the smallest ids.
    """
    k = picked.shape[1]
    picked_scores = np.take_along_axis(scores, picked, axis=1)
    threshold = picked_scores.min(axis=1)
    tied_total = (scores == threshold[:, None]).sum(axis=1)
    tied_picked = (picked_scores == threshold[:, None]).sum(axis=1)
    # Only rows with a tie cut by the partition need work; random data rarely has any.
    broken = np.flatnonzero(tied_total > tied_picked)
    if broken.size == 0:
        return picked
    picked = picked.copy()
    for row in broken:
        above = np.flatnonzero(scores[row] > threshold[row])
        tied = np.flatnonzero(scores[row] == threshold[row])
        need = k - above.size
        keep = tied[np.argsort(ids[tied], kind="stable")[:need]]
        picked[row] = np.concatenate([above, keep])
    return picked


class ExactIndex(VectorIndex):
    """Brute-force inner-product search over every stored vector.

    Params:
        block_mb: memory budget (MiB) for one block of query scores; queries are processed in
            blocks of ``max(1, block_mb MiB / (13 bytes * n))`` rows.
    """

    kind = "exact"
    param_defaults = {"block_mb": 64}

    def __init__(self, dim: int, metric: str = "cosine", **params: Any):
        super().__init__(dim, metric, **params)
        # Growable buffers (capacity doubles) keep repeated small adds linear overall.
        self._vectors = np.empty((0, self.dim), dtype=np.float32)
        self._id_buffer = np.empty(0, dtype=np.int64)
        self._count = 0

    def _check_params(self) -> None:
        block = self.params["block_mb"]
        if isinstance(block, bool) or not isinstance(block, (int, float)) or block <= 0:
            raise InputError(f"block_mb must be a positive number, got {block!r}", fix="e.g. block_mb=64")

    def __len__(self) -> int:
        return self._count

    @property
    def vectors(self) -> np.ndarray:
        """(n, d) float32 stored vectors (normalised under ``"cosine"``), a read-only view."""
        view = self._vectors[: self._count]
        view.flags.writeable = False
        return view

    def _stored_ids(self) -> np.ndarray:
        return self._id_buffer[: self._count]

    def _add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        needed = self._count + len(vectors)
        if needed > len(self._vectors):
            capacity = max(needed, 2 * len(self._vectors))
            grown = np.empty((capacity, self.dim), dtype=np.float32)
            grown[: self._count] = self._vectors[: self._count]
            grown_ids = np.empty(capacity, dtype=np.int64)
            grown_ids[: self._count] = self._id_buffer[: self._count]
            self._vectors, self._id_buffer = grown, grown_ids
        self._vectors[self._count : needed] = vectors
        self._id_buffer[self._count : needed] = ids
        self._count = needed

    def _remove(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self._stored_ids(), ids)
        self._vectors = self._vectors[: self._count][keep]
        self._id_buffer = self._id_buffer[: self._count][keep]
        self._count = int(keep.sum())

    def block_rows(self) -> int:
        """Queries per block so one block's work arrays fit in ``block_mb``."""
        budget = float(self.params["block_mb"]) * 2**20
        return max(1, int(budget // (_BYTES_PER_ENTRY * max(self._count, 1))))

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        vectors, ids = self._vectors[: self._count], self._stored_ids()
        kk = min(k, self._count)
        step = self.block_rows()
        out_scores = np.empty((len(queries), kk), dtype=np.float32)
        out_ids = np.empty((len(queries), kk), dtype=np.int64)
        for start in range(0, len(queries), step):
            block = queries[start : start + step] @ vectors.T
            out_scores[start : start + step], out_ids[start : start + step] = top_k_rows(block, ids, kk)
        if kk < k:
            return pad_results(out_scores, out_ids, k)
        return out_scores, out_ids

    def _save_data(self, directory: Path) -> list[str]:
        atomic_save_npy(directory / "vectors.npy", self._vectors[: self._count])
        atomic_save_npy(directory / "ids.npy", self._stored_ids())
        return ["vectors.npy", "ids.npy"]

    def _load_data(self, directory: Path, config: dict[str, Any]) -> None:
        try:
            vectors = np.load(directory / "vectors.npy", allow_pickle=False)
            ids = np.load(directory / "ids.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise LibraryError(f"{directory}: cannot read the index data ({exc})", fix="rebuild the index") from None
        if vectors.shape != (len(ids), self.dim):
            raise LibraryError(
                f"{directory}: vectors {vectors.shape} do not match {len(ids)} ids of dim {self.dim}",
                fix="rebuild the index",
            )
        # Stored vectors were already normalised at add time; store them as they are.
        self._vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self._id_buffer = ids.astype(np.int64)
        self._count = len(ids)
