"""Hamming indexes over packed binary codes: a numpy oracle and FAISS binary indexes.

Kinds (all under :func:`scicmr.index.create_index` / :func:`~scicmr.index.load_index`):

- ``hamming-exact`` — brute-force XOR + popcount in numpy (:func:`scicmr.hashing.hamming_distances`),
  the oracle the others are tested against.
- ``hamming-flat`` — FAISS ``IndexBinaryFlat``: exact, fast.
- ``hamming-hnsw`` — FAISS ``IndexBinaryHNSW``: approximate graph search (``M``, ``ef_search``).
- ``hamming-ivf`` — FAISS ``IndexBinaryIVF``: approximate, inverted lists over ``nlist``
  Hamming k-means cells, ``nprobe`` visited per query; trained on the first ``add``.

The index dimension ``dim`` is the code length in bits; ``add`` and ``search`` take packed
(n, ceil(dim / 8)) uint8 codes (:func:`scicmr.hashing.pack_codes`, MSB first), and ids as every
other index does (int64 >= 0, -1 pads). ``search`` returns the similarity ``1 - 2 d / bits``
(descending, the contract of :mod:`scicmr.index.base`); ``search_hamming`` the int32
distances d (ascending). Padded rows have distance ``bits + 1`` and score -inf.

**Tie rule.** Results are ordered by ascending Hamming distance, ties by ascending id, and
the tie rule also decides *which* tied items make the top k: when several items share the
k-th distance, the ones with the smallest ids are kept. FAISS returns an arbitrary subset of
the boundary ties, so the FAISS kinds ask for more candidates (doubling) until the last one
lies strictly beyond the k-th distance (or everything was fetched), then re-sort — the helper
:func:`scicmr.index.base.top_k_settling_ties`, which the float FAISS kinds share. For the flat
kind this reproduces the oracle exactly; the approximate kinds apply the rule to what they found.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scicmr._io import atomic_save_npy
from scicmr.errors import InputError, LibraryError
from scicmr.hashing.base import code_bytes, hamming_to_similarity
from scicmr.hashing.codes import hamming_distances
from scicmr.index.base import PAD_ID, VectorIndex, check_k, top_k_settling_ties
from scicmr.index.faiss_index import _check_positive_int, _FaissIndex

METRIC = "hamming"


def check_codes(name: str, codes: Any, n_bits: int) -> np.ndarray:
    """C-contiguous (n, ceil(n_bits / 8)) uint8 codes; InputError naming the problem otherwise."""
    array = np.asarray(codes)
    width = code_bytes(n_bits)
    if array.ndim != 2 or array.dtype != np.uint8:
        raise InputError(
            f"{name} must be packed codes, a 2-D uint8 array; got {array.dtype} with shape {array.shape}",
            fix="pack real-valued codes with scicmr.hashing.pack_codes (or a model's codes_image/codes_text)",
        )
    if array.shape[1] != width:
        raise InputError(
            f"{name} have {array.shape[1]} bytes per code but the index holds {n_bits}-bit codes ({width} bytes)",
            fix="encode with the model the index was built from, or create an index with the matching dim",
        )
    return np.ascontiguousarray(array)


class HammingIndex(VectorIndex):
    """Base of the Hamming kinds: codes instead of float vectors, distances instead of scores.

    Subclasses implement ``_add``, ``_remove``, ``_stored_ids``, ``_save_data``, ``_load_data``
    and ``_hamming(queries, k) -> (distances (q, m) int32, ids (q, m) int64)`` returning at
    least the k nearest (m >= min(k, n)) with the tie rule of the module docstring applied.
    """

    def __init__(self, dim: int, metric: str = METRIC, **params: Any):
        if metric != METRIC:
            raise InputError(f"a Hamming index ranks by Hamming distance, not {metric!r}", fix="use metric='hamming'")
        # The base checks dim and params; its float metrics do not apply, so pass one and replace it.
        super().__init__(dim, "ip", **params)
        self.metric = METRIC

    @property
    def n_bytes(self) -> int:
        return code_bytes(self.dim)

    def _prepare(self, name: str, vectors: Any) -> np.ndarray:
        return check_codes(name, vectors, self.dim)

    def search_hamming(self, queries: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` by Hamming distance.

        Args:
            queries: (q, ceil(bits / 8)) uint8 packed codes.
            k: results per query, >= 1.

        Returns:
            distances (q, k) int32 ascending, ids (q, k) int64; padded with bits + 1 / -1.
        """
        k = check_k(k)
        codes = self._prepare("queries", queries)
        distances = np.full((len(codes), k), self.dim + 1, dtype=np.int32)
        ids = np.full((len(codes), k), PAD_ID, dtype=np.int64)
        if len(codes) and len(self):
            found_d, found_ids = self._hamming(codes, k)
            m = min(k, found_d.shape[1])
            distances[:, :m], ids[:, :m] = found_d[:, :m], found_ids[:, :m]
        return distances, ids

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        distances, ids = self.search_hamming(queries, k)
        scores = np.where(ids == PAD_ID, -np.inf, hamming_to_similarity(distances, self.dim))
        return scores.astype(np.float32), ids

    def _hamming(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError


class ExactHammingIndex(HammingIndex):
    """Brute force in numpy: the oracle. Params: ``block_mb`` caps one block of distances."""

    kind = "hamming-exact"
    param_defaults = {"block_mb": 64}

    def __init__(self, dim: int, metric: str = METRIC, **params: Any):
        super().__init__(dim, metric, **params)
        self._codes = np.empty((0, self.n_bytes), dtype=np.uint8)
        self._ids = np.empty(0, dtype=np.int64)

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def codes(self) -> np.ndarray:
        """(n, bytes) uint8 stored codes, in storage order (a copy)."""
        return self._codes.copy()

    def _stored_ids(self) -> np.ndarray:
        return self._ids

    def _add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        self._codes = np.concatenate([self._codes, vectors])
        self._ids = np.concatenate([self._ids, ids])

    def _remove(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self._ids, ids)
        self._codes, self._ids = self._codes[keep], self._ids[keep]

    def _hamming(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        # int32 distances + int64 order + lexsort work: about 24 bytes per (query, item).
        step = max(1, int(float(self.params["block_mb"]) * 2**20 // (24 * len(self._ids))))
        kk = min(k, len(self._ids))
        out_d = np.empty((len(queries), kk), dtype=np.int32)
        out_ids = np.empty((len(queries), kk), dtype=np.int64)
        for start in range(0, len(queries), step):
            block = hamming_distances(queries[start : start + step], self._codes)
            ids = np.broadcast_to(self._ids, block.shape)
            # A full (distance, id) sort is the rule itself: no boundary special case needed.
            order = np.lexsort((ids, block), axis=-1)[:, :kk]
            out_d[start : start + step] = np.take_along_axis(block, order, axis=1)
            out_ids[start : start + step] = self._ids[order]
        return out_d, out_ids

    def _save_data(self, directory: Path) -> list[str]:
        atomic_save_npy(directory / "codes.npy", self._codes)
        atomic_save_npy(directory / "ids.npy", self._ids)
        return ["codes.npy", "ids.npy"]

    def _load_data(self, directory: Path, config: dict[str, Any]) -> None:
        try:
            codes = np.load(directory / "codes.npy", allow_pickle=False)
            ids = np.load(directory / "ids.npy", allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise LibraryError(f"{directory}: cannot read the index data ({exc})", fix="rebuild the index") from None
        if codes.dtype != np.uint8 or codes.shape != (len(ids), self.n_bytes):
            raise LibraryError(f"{directory}: codes {codes.shape} do not match {len(ids)} ids", fix="rebuild the index")
        self._codes, self._ids = np.ascontiguousarray(codes), ids.astype(np.int64)


class _FaissHammingIndex(HammingIndex, _FaissIndex):
    """FAISS binary index in ``IndexBinaryIDMap2``; FAISS's dimension is the padded bit count.

    The id map, add, remove and save/load plumbing is :class:`~scicmr.index.faiss_index._FaissIndex`'s,
    pointed at FAISS's binary functions; searching is :meth:`_hamming`'s.
    """

    _data_name = "index.faissbin"

    def _wrap(self, inner):
        return self._faiss.IndexBinaryIDMap2(inner)

    def _faiss_dim(self) -> int:
        # Padding bits are zero in every packed code, so they never add to a distance.
        return 8 * self.n_bytes

    def _write(self, index, path: str) -> None:
        self._faiss.write_index_binary(index, path)

    def _read(self, path: str):
        return self._faiss.read_index_binary(path)

    def _downcast(self, inner):
        return self._faiss.downcast_IndexBinary(inner)

    def _hamming(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._configure_inner()
        distances, ids = top_k_settling_ties(self._index.search, queries, k, len(self), self.dim + 1)
        return distances.astype(np.int32, copy=False), ids


class FaissHammingFlatIndex(_FaissHammingIndex):
    """Exact Hamming search with FAISS ``IndexBinaryFlat``; identical results to the oracle."""

    kind = "hamming-flat"
    param_defaults: dict[str, Any] = {}

    def _make_inner(self):
        return self._faiss.IndexBinaryFlat(self._faiss_dim())


class FaissHammingHNSWIndex(_FaissHammingIndex):
    """Approximate Hamming search on an HNSW graph (``IndexBinaryHNSW``).

    Params: ``M`` (neighbours per node, 16), ``ef_construction`` (200), ``ef_search`` (128).
    ``remove`` is unsupported (rebuild instead).
    """

    kind = "hamming-hnsw"
    param_defaults: dict[str, Any] = {"M": 16, "ef_construction": 200, "ef_search": 128}

    def _check_params(self) -> None:
        _check_positive_int("M", self.params["M"], minimum=2)
        _check_positive_int("ef_construction", self.params["ef_construction"])
        _check_positive_int("ef_search", self.params["ef_search"])

    def _make_inner(self):
        inner = self._faiss.IndexBinaryHNSW(self._faiss_dim(), int(self.params["M"]))
        inner.hnsw.efConstruction = int(self.params["ef_construction"])
        return inner

    def _configure_inner(self) -> None:
        self._inner.hnsw.efSearch = int(self.params["ef_search"])

    def remove(self, ids: Any) -> int:
        raise InputError("a Hamming HNSW index cannot remove items", fix="rebuild it, or use kind 'hamming-flat'")


class FaissHammingIVFIndex(_FaissHammingIndex):
    """Approximate Hamming search with inverted lists (``IndexBinaryIVF``).

    Params: ``nlist`` cells (64), ``nprobe`` cells visited per query (8). The coarse quantiser
    is trained on the first ``add`` call, which therefore needs at least ``nlist`` codes.
    """

    kind = "hamming-ivf"
    param_defaults: dict[str, Any] = {"nlist": 64, "nprobe": 8}

    def _check_params(self) -> None:
        _check_positive_int("nlist", self.params["nlist"])
        _check_positive_int("nprobe", self.params["nprobe"])

    def _make_inner(self):
        # The quantiser must outlive this call: keep a reference on self.
        self._quantiser = self._faiss.IndexBinaryFlat(self._faiss_dim())
        return self._faiss.IndexBinaryIVF(self._quantiser, self._faiss_dim(), int(self.params["nlist"]))

    def _configure_inner(self) -> None:
        self._inner.nprobe = int(self.params["nprobe"])

    def _add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        if not self._inner.is_trained:
            if len(vectors) < int(self.params["nlist"]):
                raise InputError(
                    f"the first add of an IVF index trains it and needs >= nlist={self.params['nlist']} codes, "
                    f"got {len(vectors)}",
                    fix="add more codes at once, or lower nlist",
                )
            self._inner.train(vectors)
        super()._add(vectors, ids)
