"""Search with binary codes: a Hamming index plus optional re-ranking on the relaxed vectors.

A hashing model gives every item a relaxed real vector (n, b) (tanh outputs) and its packed
code (:mod:`scicmr.hashing.base`). :class:`CodeSearch` answers float queries like any index:

- ``rerank=None`` — Hamming ranking only: pack the query, search the Hamming index, scores are
  ``1 - 2 d / b`` (ties by ascending id).
- ``rerank=m`` — a shortlist of the m nearest codes (Hamming, tie rule included), then exact
  cosine between the relaxed query and the shortlisted relaxed vectors; the top k of that,
  ties by ascending id. m trades speed for recall against exact cosine search (measured in
  ``bench/bench_hamming.py``).

Item ids must be row positions into ``vectors`` (how :func:`scicmr.workflow.build_index` adds them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scicmr.errors import InputError
from scicmr.hashing.codes import pack_codes
from scicmr.index.base import check_k
from scicmr.index.rerank import (
    rerank_shortlist,  # shared with ShortlistRerank; re-exported here
)


class CodeSearch:
    """A Hamming index answering relaxed float queries, optionally re-ranked (module docstring).

    Args:
        index: a ``hamming-*`` index whose ids are row positions into ``vectors``.
        vectors: (n, b) float32 relaxed item vectors (needed only for re-ranking).
        rerank: shortlist size m, or None for pure Hamming ranking.
    """

    def __init__(self, index: Any, vectors: np.ndarray | None = None, rerank: int | None = None):
        if rerank is not None:
            rerank = check_k(rerank)
            if vectors is None:
                raise InputError("re-ranking needs the relaxed vectors of the indexed items",
                                 fix="rebuild the index with `scicmr index LIB --codes` (it stores them)")
        self.index, self.vectors, self.rerank = index, vectors, rerank

    def __len__(self) -> int:
        return len(self.index)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(q, b) float32 relaxed queries → scores (q, k) float32 descending, ids (q, k) int64."""
        k = check_k(k)
        queries = np.asarray(queries, dtype=np.float32)
        if queries.ndim != 2 or queries.shape[1] != self.index.dim:
            raise InputError(f"queries must be (q, {self.index.dim}) relaxed codes, got shape {queries.shape}",
                             fix="encode queries with the hashing model the index was built from")
        codes = pack_codes(queries)
        if self.rerank is None:
            return self.index.search(codes, k)
        _, shortlist = self.index.search_hamming(codes, max(self.rerank, k))
        return rerank_shortlist(queries, shortlist, self.vectors, k)
