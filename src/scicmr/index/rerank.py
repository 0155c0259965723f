"""Exact re-ranking of an approximate index's shortlist against the full-precision vectors.

A compressed index (``ivfpq``, ``opq-ivfpq``, or the binary codes of :mod:`scicmr.index.codes_search`)
finds candidates fast but scores them roughly. :class:`ShortlistRerank` asks it for the top
``shortlist`` candidates, then re-scores only those exactly against ``vectors`` — any (n, d)
array supporting fancy indexing, typically a read-only ``np.load(path, mmap_mode="r")``, so
only the q x shortlist gathered rows are read from disk (the rest stays in the page cache
or on disk, not in process memory).

>>> rerank = ShortlistRerank(ivfpq_index, np.load("vectors.npy", mmap_mode="r"), shortlist=200)  # doctest: +SKIP
>>> scores, ids = rerank.search(queries, k=10)                                                    # doctest: +SKIP

Item ids must be row positions into ``vectors`` (how :func:`scicmr.workflow.build_index` adds them).
A shortlist at least as large as the index re-scores every stored item: the result then
equals the exact index's (ties by ascending id included), whatever the approximate index does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scicmr.errors import InputError
from scicmr.index.base import PAD_ID, check_k, normalise_rows, order_by_score_then_id

# Gathered candidate rows per block of queries: bounds memory when the shortlist is large.
_BLOCK_BYTES = 64 * 2**20


def rerank_shortlist(queries: np.ndarray, shortlist: np.ndarray, vectors: Any, k: int,
                     metric: str = "cosine") -> tuple[np.ndarray, np.ndarray]:
    """Exact re-ranking of shortlisted candidates.

    Args:
        queries: (q, d) float32 query vectors.
        shortlist: (q, m) int64 candidate rows into ``vectors`` (-1 = padding, ignored).
        vectors: (n, d) item vectors, any array-like with fancy indexing (np.memmap included).
        k: results per query.
        metric: ``"cosine"`` (normalise both sides) or ``"ip"`` (raw inner product).

    Returns:
        scores (q, k) float32 descending, ties by ascending id; ids (q, k) int64, padded
        with -inf / -1 when a shortlist holds fewer than k items.
    """
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    unit_q = normalise_rows(queries) if metric == "cosine" else queries
    safe = np.where(shortlist < 0, 0, shortlist)
    # Gather first (only q*m rows are read from a memmap), then normalise only those rows.
    picked = np.asarray(vectors[safe.ravel()], dtype=np.float32)
    if metric == "cosine":
        picked = normalise_rows(picked)
    picked = picked.reshape(*safe.shape, -1)  # (q, m, d)
    scores = np.einsum("qd,qmd->qm", unit_q, picked).astype(np.float32)
    scores = np.where(shortlist < 0, -np.inf, scores).astype(np.float32)
    scores, ids = order_by_score_then_id(scores, shortlist.astype(np.int64))
    if ids.shape[1] >= k:
        return scores[:, :k], ids[:, :k]
    pad = k - ids.shape[1]
    return (np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf),
            np.pad(ids, ((0, 0), (0, pad)), constant_values=PAD_ID))


class ShortlistRerank:
    """An approximate float index whose top ``shortlist`` candidates are re-scored exactly.

    Args:
        index: a :class:`~scicmr.index.base.VectorIndex` over float vectors whose ids are row
            positions into ``vectors``; its metric (``"cosine"`` or ``"ip"``) is the re-ranking's.
        vectors: (n, d) item vectors (float32 preferred), e.g. a read-only memmap.
        shortlist: candidates fetched from ``index`` per query (at least k are always fetched).

    ``search`` follows the index contract: scores (q, k) float32 descending, ids (q, k) int64,
    ties by ascending id, padded with -inf / -1.
    """

    def __init__(self, index: Any, vectors: Any, shortlist: int):
        self.shortlist = check_k(shortlist)
        if getattr(index, "metric", None) not in ("cosine", "ip"):
            raise InputError(f"ShortlistRerank needs a float index (metric cosine or ip), got {index!r}",
                             fix="for binary codes use scicmr.index.codes_search.CodeSearch(index, vectors, rerank=m)")
        shape = getattr(vectors, "shape", None)
        if shape is None or len(shape) != 2 or shape[1] != index.dim:
            raise InputError(f"vectors must be an (n, {index.dim}) array, got shape {shape}",
                             fix="pass the vectors the index was built from (np.load(path, mmap_mode='r'))")
        self.index, self.vectors = index, vectors

    def __len__(self) -> int:
        return len(self.index)

    @property
    def dim(self) -> int:
        return self.index.dim

    @property
    def metric(self) -> str:
        return self.index.metric

    def search(self, queries: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(q, d) float32 queries -> scores (q, k) float32, ids (q, k) int64 (class docstring)."""
        k = check_k(k)
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.dim:
            raise InputError(f"queries must be (q, {self.dim}), got shape {queries.shape}",
                             fix="encode queries with the model the index was built from")
        wanted = max(self.shortlist, k)
        step = max(1, _BLOCK_BYTES // (4 * self.dim * max(min(wanted, len(self.index)), 1)))
        blocks = [self._search_block(queries[start:start + step], k, wanted)
                  for start in range(0, len(queries), step)]
        if not blocks:
            return np.empty((0, k), np.float32), np.empty((0, k), np.int64)
        return np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])

    def _search_block(self, queries: np.ndarray, k: int, wanted: int) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.index)
        if wanted >= n:
            # The whole index is the shortlist: exact by construction, the index is not consulted.
            shortlist = np.broadcast_to(np.sort(self.index.ids), (len(queries), n))
        else:
            _, shortlist = self.index.search(queries, wanted)
        try:
            return rerank_shortlist(queries, shortlist, self.vectors, k, self.metric)
        except IndexError:
            raise InputError(f"the index holds ids beyond the {len(self.vectors)} rows of vectors",
                             fix="ids must be row positions into vectors; pass the full vectors array") from None
