"""Compressed approximate search for float vectors: FAISS IVF-PQ and OPQ + IVF-PQ.

``ivfpq`` is ``faiss.index_factory(d, "IVF{nlist},PQ{m}x8np", inner product)``: a coarse k-means
quantiser of ``nlist`` cells, each vector stored as its cell and an ``m``-byte product-quantised
code of its residual. A search visits the ``nprobe`` cells nearest the query. ``opq-ivfpq``
adds a learned rotation first (``"OPQ{m},IVF{nlist},PQ{m}x8np"``) that spreads the variance
evenly over the m sub-spaces. Scores are approximate (the codes' inner products): wrap the
index in :class:`scicmr.index.rerank.ShortlistRerank` to re-score a shortlist exactly from
the (memory-mapped) full vectors.

Memory per item is the code (m bytes) plus its id in the inverted list (8 bytes), plus the
shared centroids (nlist x d float32) and codebooks — about 80 B at 512-d / m = 64, against
2 KB for the float vector.

Training happens once, on the first ``add`` that brings the index to at least
:data:`MIN_TRAIN_ROWS` rows, on a seeded sample of that add's vectors (the k-means of FAISS is
seeded too, so the same data give the same index); every later ``add`` only encodes the new
rows (no retraining). Below that size an index holds its vectors as they are and searches
them exactly — a few hundred rows are searched exactly in microseconds, and training 256
centroids per sub-quantiser on them would give poor codes forever after. When the data grow
far beyond what the index was trained on (``trained_on`` in the saved params), rebuilding
with a larger ``nlist`` restores the speed/recall balance.

Ids are kept by FAISS in the inverted lists (no ``IndexIDMap``: it would cost ~50 B per item
and cannot remove from IVF lists correctly); :meth:`ids` gathers them when asked.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from scicmr.errors import InputError, LibraryError
from scicmr.index.base import VectorIndex
from scicmr.index.exact import ExactIndex
from scicmr.index.faiss_index import faiss_top_k, import_faiss

#: Fewer rows than this are held flat and searched exactly; the first add reaching it trains.
MIN_TRAIN_ROWS = 1000
#: FAISS k-means wants about this many training points per centroid (it warns below 39).
POINTS_PER_CENTROID = 39
#: Training sample: enough for the coarse k-means (40 per cell) and the 256-centroid codebooks.
_TRAIN_PER_CELL, _TRAIN_MIN_SAMPLE = 40, 256 * 40
_TRAIN_SEED = 1234
_KMEANS_ITERATIONS = 10  # FAISS's default 25 costs 2.5x more for little recall at these sizes
_OPQ_ITERATIONS = 20
_ID_BYTES = 8
_DATA_NAME = "index.faiss"


def _largest_divisor_at_most(dim: int, limit: int) -> int:
    return max(m for m in range(1, max(1, min(dim, limit)) + 1) if dim % m == 0)


def choose_ivfpq_params(n: int, dim: int, bytes_per_item: int | None = None) -> dict[str, int]:
    """``nlist``, ``m`` (bytes per code, 8-bit sub-quantisers) and ``nprobe`` for n vectors of dim d.

    The rule (FAISS's guidelines, checked in ``bench/bench_scale.py``):

    - ``nlist``: the power of two nearest ``4 sqrt(n)`` (1,024 at 100k, 4,096 at 1M), at most
      ``n / 39`` so that k-means has 39 points per cell, at least 1.
    - ``m``: the largest divisor of ``dim`` not above ``max(dim / 8, min(dim / 2, 32))`` — 64
      bytes at 512-d (32x compression), 32 bytes at 64-d (the low-dimensional models need
      relatively more bytes: each of their dimensions carries more signal); with a
      ``bytes_per_item`` budget, also at most ``bytes_per_item - 8`` (the 8-byte id).
    - ``nprobe``: ``nlist / 16`` cells, at least 1 and at most 64 — a starting point only:
      recall is bounded by the cells visited (on the 100k benchmark mixture, 64 of 1,024 cells
      gave recall@10 0.80 and 128 gave 0.87 even with a re-ranked shortlist); tune it on
      validation queries (``index.nprobe = ...``, as ``bench/bench_scale.py`` does).

    Args:
        n: rows the index is trained from (the first add's size), >= 1.
        dim: vector dimension, >= 1.
        bytes_per_item: optional memory budget per item (code + id), >= 9.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive integer, got {n!r}", fix="pass the number of rows to index")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise InputError(f"dim must be a positive integer, got {dim!r}", fix="pass the vector length, e.g. 512")
    nlist = 2 ** round(math.log2(4 * math.sqrt(n)))
    nlist = max(1, min(nlist, n // POINTS_PER_CENTROID))
    target = max(dim // 8, min(dim // 2, 32))
    if bytes_per_item is not None:
        if isinstance(bytes_per_item, bool) or not isinstance(bytes_per_item, (int, np.integer)) \
                or bytes_per_item < _ID_BYTES + 1:
            raise InputError(f"bytes_per_item must be an integer >= {_ID_BYTES + 1}, got {bytes_per_item!r}",
                             fix=f"allow at least the {_ID_BYTES}-byte id plus one code byte, e.g. 72")
        target = min(target, int(bytes_per_item) - _ID_BYTES)
    m = _largest_divisor_at_most(int(dim), max(1, target))
    nprobe = max(1, min(64, nlist // 16))
    return {"nlist": int(nlist), "m": int(m), "nprobe": int(nprobe)}


def _check_optional_int(name: str, value: Any, example: str) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1):
        raise InputError(f"{name} must be None (chosen from the data) or an integer >= 1, got {value!r}",
                         fix=f"e.g. {name}={example}, or leave it out")


class FaissIVFPQIndex(VectorIndex):
    """IVF-PQ search (module docstring): approximate scores, ~m + 8 bytes per item.

    Params (None = chosen by :func:`choose_ivfpq_params` from the training add's size):
        nlist: coarse cells; m: bytes per code (must divide ``dim``); nprobe: cells visited
        per query, settable at any time (``index.nprobe = 32``); bytes_per_item: memory budget
        for the chooser. ``trained_on`` is set by the index (rows it was trained from).
    """

    kind = "ivfpq"
    param_defaults: dict[str, Any] = {"nlist": None, "m": None, "nprobe": None, "bytes_per_item": None,
                                      "trained_on": None}

    def __init__(self, dim: int, metric: str = "cosine", **params: Any):
        super().__init__(dim, metric, **params)
        self._faiss = import_faiss()
        self._index = None  # the FAISS index, once trained
        self._pending = ExactIndex(self.dim, "ip")  # rows held flat until training (already normalised)
        self._ids_cache: np.ndarray | None = None

    def _factory_string(self, nlist: int, m: int) -> str:
        # "np": no polysemous training (a slow annealing of code order, for Hamming pre-filtering
        # that this index does not use): it took 25 s on 3,000 rows and does not change scores.
        return f"IVF{nlist},PQ{m}x8np"

    def _configure_training(self, index) -> None:
        """Set training knobs on a fresh factory index (subclasses add their transform's)."""
        ivf = self._faiss.extract_index_ivf(index)
        ivf.cp.niter = _KMEANS_ITERATIONS
        # Our sample is sized for the job; FAISS's "too few points" warnings would only be noise.
        ivf.cp.min_points_per_centroid = 1
        self._faiss.downcast_index(ivf).pq.cp.min_points_per_centroid = 1

    def _check_params(self) -> None:
        for name, example in (("nlist", "1024"), ("m", "64"), ("nprobe", "16"), ("trained_on", "100000")):
            _check_optional_int(name, self.params[name], example)
        if self.params["bytes_per_item"] is not None:
            choose_ivfpq_params(1, self.dim, self.params["bytes_per_item"])
        m = self.params["m"]
        if m is not None and self.dim % m:
            divisors = [v for v in range(1, self.dim + 1) if self.dim % v == 0]
            raise InputError(f"m={m} does not divide dim={self.dim}",
                             fix=f"choose m among the divisors of {self.dim}: {divisors[-8:]}")

    # -- state
    @property
    def trained(self) -> bool:
        return self._index is not None

    def __len__(self) -> int:
        return int(self._index.ntotal) if self.trained else len(self._pending)

    @property
    def nprobe(self) -> int | None:
        return self.params["nprobe"]

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        _check_optional_int("nprobe", value, "16")
        self.params["nprobe"] = None if value is None else int(value)
        self._configure()

    def _ivf(self):
        return self._faiss.extract_index_ivf(self._index)

    def _configure(self) -> None:
        if self.trained:
            ivf = self._ivf()
            ivf.nprobe = min(int(self.params["nprobe"] or 1), int(ivf.nlist))

    def _stored_ids(self) -> np.ndarray:
        if not self.trained:
            return self._pending.ids
        if self._ids_cache is None:
            invlists = self._ivf().invlists
            parts = [np.empty(0, np.int64)]
            for cell in range(invlists.nlist):
                size = invlists.list_size(cell)
                if size:
                    parts.append(self._faiss.rev_swig_ptr(invlists.get_ids(cell), size).copy())
            self._ids_cache = np.concatenate(parts).astype(np.int64, copy=False)
        return self._ids_cache

    # -- training and adding
    def _train(self, vectors: np.ndarray) -> None:
        """Choose the unset params from this add's size, then train on a seeded sample."""
        chosen = choose_ivfpq_params(len(vectors), self.dim, self.params["bytes_per_item"])
        nlist = int(self.params["nlist"] or chosen["nlist"])
        if nlist > len(vectors):
            raise InputError(f"nlist={nlist} cells need at least {nlist} training rows, the first add has {len(vectors)}",
                             fix="lower nlist (or leave it None), or add more rows at once")
        m = int(self.params["m"] or chosen["m"])
        index = self._faiss.index_factory(self.dim, self._factory_string(nlist, m), self._faiss.METRIC_INNER_PRODUCT)
        self._configure_training(index)
        size = min(len(vectors), max(_TRAIN_PER_CELL * nlist, _TRAIN_MIN_SAMPLE))
        rows = np.sort(np.random.default_rng(_TRAIN_SEED).choice(len(vectors), size, replace=False))
        index.train(np.ascontiguousarray(vectors[rows]))
        self.params.update(nlist=nlist, m=m, nprobe=int(self.params["nprobe"] or chosen["nprobe"]),
                           trained_on=len(vectors))
        self._index = index
        self._configure()

    def _add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        if not self.trained:
            if len(self._pending) + len(vectors) < MIN_TRAIN_ROWS:
                self._pending.add(vectors, ids)
                return
            # The pending rows join this add: train on all of them, then encode them all.
            vectors = np.concatenate([self._pending.vectors, vectors])
            ids = np.concatenate([self._pending.ids, ids])
            self._train(vectors)
            self._pending = ExactIndex(self.dim, "ip")
        self._index.add_with_ids(vectors, ids)
        if self._ids_cache is not None:
            self._ids_cache = np.concatenate([self._ids_cache, ids])

    def _remove(self, ids: np.ndarray) -> None:
        if not self.trained:
            self._pending.remove(ids)
            return
        self._index.remove_ids(ids)
        if self._ids_cache is not None:
            self._ids_cache = self._ids_cache[~np.isin(self._ids_cache, ids)]

    # -- search
    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not self.trained:
            return self._pending.search(queries, k)
        self._configure()
        return faiss_top_k(self._index, queries, k, len(self))

    # -- persistence
    def _save_data(self, directory: Path) -> list[str]:
        if not self.trained:
            # Still flat: the pending rows are saved as an exact index's arrays.
            return self._pending._save_data(directory)
        self._faiss.write_index(self._index, str(directory / _DATA_NAME))
        return [_DATA_NAME]

    def _load_data(self, directory: Path, config: dict[str, Any]) -> None:
        path = directory / _DATA_NAME
        if not path.is_file():
            self._pending._load_data(directory, config)
            return
        try:
            index = self._faiss.read_index(str(path))
        except RuntimeError as exc:
            raise LibraryError(f"{path} is not a readable FAISS index ({exc})", fix="rebuild the index") from None
        if index.d != self.dim:
            raise LibraryError(f"{path} has dimension {index.d}, config.json expects {self.dim}", fix="rebuild the index")
        self._index = index
        self._configure()


class FaissOPQIVFPQIndex(FaissIVFPQIndex):
    """IVF-PQ after a learned OPQ rotation (``"OPQ{m},IVF{nlist},PQ{m}x8np"``): same params and
    memory (plus one d x d matrix); better codes when the variance is uneven across dimensions."""

    kind = "opq-ivfpq"

    def _factory_string(self, nlist: int, m: int) -> str:
        return f"OPQ{m},IVF{nlist},PQ{m}x8np"

    def _configure_training(self, index) -> None:
        super()._configure_training(index)
        opq = self._faiss.downcast_VectorTransform(index.chain.at(0))
        # FAISS's 50 rotation updates cost minutes at 512-d; the rotation settles well before.
        opq.niter = _OPQ_ITERATIONS
