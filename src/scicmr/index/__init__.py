"""Vector indexes: exact search (the oracle), FAISS flat and HNSW, and compressed IVF-PQ.

>>> from scicmr.index import create_index, load_index          # doctest: +SKIP
>>> index = create_index("hnsw", dim=64, metric="cosine", M=32)  # doctest: +SKIP
>>> index.add(vectors, ids)          # (n, 64) float32, (n,) int64  # doctest: +SKIP
>>> scores, ids = index.search(queries, k=10)                   # doctest: +SKIP
>>> index.save("lib/indexes/main"); load_index("lib/indexes/main")  # doctest: +SKIP

Binary codes go in the ``hamming-*`` kinds (:mod:`scicmr.index.hamming`): packed uint8 codes,
``dim`` = bits, e.g. ``create_index("hamming-flat", 64)``.

Compressed float search for large libraries: ``ivfpq`` and ``opq-ivfpq``
(:mod:`scicmr.index.ivfpq`: ~m + 8 bytes per item, trained on the first add), wrapped in
:class:`scicmr.index.rerank.ShortlistRerank` to re-score a shortlist exactly from the
memory-mapped vectors:

>>> index = create_index("ivfpq", dim=512)       # nlist, m, nprobe chosen from the first add  # doctest: +SKIP
>>> index.add(vectors, np.arange(len(vectors)))  # ids = row positions into vectors           # doctest: +SKIP
>>> ShortlistRerank(index, np.load("vectors.npy", mmap_mode="r"), shortlist=200).search(q, 10)  # doctest: +SKIP

Importing this package does not import FAISS; the FAISS-backed classes load it when built.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from scicmr.errors import InputError
from scicmr.index.base import METRICS, VectorIndex, read_index_config, recall_at_k_against

# kind -> "module:Class". Imported on use so that optional back ends load only when needed;
# a new kind (e.g. a binary Hamming index) is one more line here.
INDEX_KINDS: dict[str, str] = {
    "exact": "scicmr.index.exact:ExactIndex",
    "flat": "scicmr.index.faiss_index:FaissFlatIndex",
    "hnsw": "scicmr.index.faiss_index:FaissHNSWIndex",
    "ivfpq": "scicmr.index.ivfpq:FaissIVFPQIndex",
    "opq-ivfpq": "scicmr.index.ivfpq:FaissOPQIVFPQIndex",
    "hamming-exact": "scicmr.index.hamming:ExactHammingIndex",
    "hamming-flat": "scicmr.index.hamming:FaissHammingFlatIndex",
    "hamming-hnsw": "scicmr.index.hamming:FaissHammingHNSWIndex",
    "hamming-ivf": "scicmr.index.hamming:FaissHammingIVFIndex",
    "milvus": "scicmr.index.milvus_index:MilvusIndex",  # optional extra: pip install scicmr[milvus]
}

__all__ = [
    "INDEX_KINDS",
    "METRICS",
    "VectorIndex",
    "create_index",
    "index_class",
    "load_index",
    "recall_at_k_against",
]


def index_class(kind: str) -> type[VectorIndex]:
    """The class implementing ``kind``; InputError listing the choices when unknown."""
    if kind not in INDEX_KINDS:
        raise InputError(f"unknown index kind {kind!r}", fix=f"use one of: {', '.join(INDEX_KINDS)}")
    module_name, class_name = INDEX_KINDS[kind].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def create_index(kind: str, dim: int, metric: str | None = None, **params: Any) -> VectorIndex:
    """A new empty index.

    Args:
        kind: ``"exact"``, ``"flat"``, ``"hnsw"``, ``"ivfpq"``, ``"opq-ivfpq"``, or a ``hamming-*``
            kind (:data:`INDEX_KINDS` lists them all).
        dim: vector dimension d.
        metric: ``"cosine"`` (normalise, then inner product; the default) or ``"ip"``;
            the ``hamming-*`` kinds take packed uint8 codes, ``dim`` bits, metric ``"hamming"``.
        params: kind-specific, e.g. HNSW ``M=32, ef_construction=200, ef_search=128``;
            exact ``block_mb=64``; IVF-PQ ``nlist=None, m=None, nprobe=None`` (None: chosen from
            the first add by :func:`scicmr.index.ivfpq.choose_ivfpq_params`), ``bytes_per_item``.
    """
    cls = index_class(kind)
    return cls(dim, **params) if metric is None else cls(dim, metric, **params)


def load_index(directory: str | Path) -> VectorIndex:
    """Open an index saved with ``index.save(directory)``, whatever its kind."""
    config = read_index_config(directory)
    return index_class(config["kind"]).load(directory)
