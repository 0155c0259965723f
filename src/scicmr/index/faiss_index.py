"""FAISS-backed indexes: ``flat`` (exact inner product, fast) and ``hnsw`` (approximate).

Both wrap the inner index in ``IndexIDMap2`` so the caller's int64 ids round-trip through
add, search, remove and save/load. FAISS is imported lazily inside these classes: importing
``scicmr.index`` never loads it, and a missing FAISS raises MissingDependencyError.

The tie rule of the contract (ties by ascending id) decides *which* tied items make the top
k, not only their order: FAISS returns an arbitrary subset of the items tied at the k-th
score, so the search asks for more candidates until the last one scores strictly below the
k-th (:func:`scicmr.index.base.top_k_settling_ties`, shared with the Hamming kinds), then
sorts by (descending score, ascending id). ``flat`` therefore returns exactly what ``exact``
returns; ``hnsw`` applies the same rule to the candidates its graph found. FAISS pads short
results with -FLT_MAX; that becomes -inf, the contract's padding score.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scicmr.errors import InputError, LibraryError, MissingDependencyError
from scicmr.index.base import VectorIndex, pad_results, top_k_settling_ties

_DATA_NAME = "index.faiss"


def import_faiss():
    """The ``faiss`` module; MissingDependencyError (with the install fix) when absent."""
    try:
        import faiss
    except ImportError:
        # faiss-cpu is a core dependency, so reinstalling scicmr with any extra brings it back.
        raise MissingDependencyError("faiss-cpu", "all") from None
    return faiss


def _check_positive_int(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}", fix=f"e.g. {name}=32")


def faiss_top_k(index, queries: np.ndarray, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` of a FAISS inner-product ``index`` holding ``n`` >= 1 items, with the tie rule.

    Returns scores (q, k) float32 descending and ids (q, k) int64, ties by ascending id among
    what FAISS found, padded with -inf / -1 (module docstring).
    """
    def fetch_negated(rows: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
        # FAISS's top m as (negated scores, ids): keys ascending, for the tie helper.
        scores, ids = index.search(rows, m)
        return -scores.astype(np.float32, copy=False), ids.astype(np.int64, copy=False)

    keys, ids = top_k_settling_ties(fetch_negated, queries, k, n, np.inf)
    scores = (-keys).astype(np.float32)
    return pad_results(scores, ids, k) if scores.shape[1] < k else (scores, ids)


class _FaissIndex(VectorIndex):
    """Shared plumbing: the ``IndexIDMap2`` wrapper, search post-processing, save/load.

    The binary (Hamming) indexes reuse it through the hooks ``_wrap``, ``_faiss_dim``,
    ``_write``, ``_read`` and ``_downcast`` and the file name ``_data_name``.
    """

    _data_name = _DATA_NAME

    def __init__(self, dim: int, metric: str = "cosine", **params: Any):
        super().__init__(dim, metric, **params)
        self._faiss = import_faiss()
        self._inner = self._make_inner()
        self._index = self._wrap(self._inner)

    def _wrap(self, inner):
        return self._faiss.IndexIDMap2(inner)

    def _faiss_dim(self) -> int:
        return self.dim

    def _write(self, index, path: str) -> None:
        self._faiss.write_index(index, path)

    def _read(self, path: str):
        return self._faiss.read_index(path)

    def _downcast(self, inner):
        return self._faiss.downcast_index(inner)

    def _make_inner(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _configure_inner(self) -> None:
        """Apply search-time parameters to the inner index (after creation and load)."""

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def _stored_ids(self) -> np.ndarray:
        return self._faiss.vector_to_array(self._index.id_map).astype(np.int64, copy=False)

    def _add(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        self._index.add_with_ids(vectors, ids)

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self._configure_inner()
        return faiss_top_k(self._index, queries, k, len(self))

    def _remove(self, ids: np.ndarray) -> None:
        self._index.remove_ids(ids)

    def _save_data(self, directory: Path) -> list[str]:
        # The whole directory is swapped in atomically by save(), so a plain write is safe here.
        self._write(self._index, str(directory / self._data_name))
        return [self._data_name]

    def _load_data(self, directory: Path, config: dict[str, Any]) -> None:
        path = directory / self._data_name
        if not path.is_file():
            raise LibraryError(f"{directory} lacks {self._data_name}", fix="rebuild the index")
        try:
            index = self._read(str(path))
        except RuntimeError as exc:
            raise LibraryError(f"{path} is not a readable FAISS index ({exc})", fix="rebuild the index") from None
        if index.d != self._faiss_dim():
            raise LibraryError(f"{path} has dimension {index.d}, config.json expects {self._faiss_dim()}",
                               fix="rebuild the index")
        self._index = index
        self._inner = self._downcast(index.index)
        self._configure_inner()


class FaissFlatIndex(_FaissIndex):
    """Exhaustive inner-product search with FAISS (``IndexFlatIP`` in ``IndexIDMap2``).

    Same results as :class:`~scicmr.index.exact.ExactIndex` up to float rounding; faster on
    large batches. Supports ``remove``.
    """

    kind = "flat"
    param_defaults: dict[str, Any] = {}

    def _make_inner(self):
        return self._faiss.IndexFlatIP(self.dim)


class FaissHNSWIndex(_FaissIndex):
    """Approximate search on an HNSW graph (``IndexHNSWFlat``, inner product).

    Params:
        M: graph neighbours per node (memory and recall grow with it), default 32.
        ef_construction: candidate list size while building, default 200.
        ef_search: candidate list size while searching (recall vs speed), default 128;
            settable at any time, including after load: ``index.ef_search = 256``.

    ``remove`` is not supported by HNSW graphs: it raises InputError asking for a rebuild.
    """

    kind = "hnsw"
    param_defaults: dict[str, Any] = {"M": 32, "ef_construction": 200, "ef_search": 128}

    def _check_params(self) -> None:
        _check_positive_int("M", self.params["M"], minimum=2)
        _check_positive_int("ef_construction", self.params["ef_construction"])
        _check_positive_int("ef_search", self.params["ef_search"])

    def _make_inner(self):
        inner = self._faiss.IndexHNSWFlat(self.dim, int(self.params["M"]), self._faiss.METRIC_INNER_PRODUCT)
        inner.hnsw.efConstruction = int(self.params["ef_construction"])
        inner.hnsw.efSearch = int(self.params["ef_search"])
        return inner

    def _configure_inner(self) -> None:
        self._inner.hnsw.efSearch = int(self.params["ef_search"])

    @property
    def ef_search(self) -> int:
        return int(self.params["ef_search"])

    @ef_search.setter
    def ef_search(self, value: int) -> None:
        _check_positive_int("ef_search", value)
        self.params["ef_search"] = int(value)
        self._configure_inner()

    def remove(self, ids: Any) -> int:
        raise InputError(
            "an HNSW index cannot remove items (its graph would lose connections)",
            fix="rebuild it: create_index('hnsw', dim, ...) and add the vectors you want to keep; "
            "use kind 'flat' or 'exact' when items change often",
        )
