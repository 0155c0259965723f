"""The vector-index contract shared by every index kind, and the helpers they all use.

An index holds (n, d) float32 vectors under caller-chosen int64 ids (>= 0; -1 is the padding
id) and answers ``search(queries, k) -> (scores, ids)``:

- ``scores`` (q, k) float32, descending per row; ``ids`` (q, k) int64.
- Ties are ordered by ascending id. When the index holds fewer than ``k`` items, rows are
  padded with id -1 and score -inf.
- Metric ``"cosine"`` (default) L2-normalises vectors and queries and ranks by inner product;
  ``"ip"`` ranks by the raw inner product. A zero vector stays zero under ``"cosine"`` (every
  score against it is 0) rather than becoming NaN.

``save(directory)`` writes ``config.json`` (kind, dim, metric, params, count, scicmr version)
beside the data, atomically: the directory is built aside and swapped in whole.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from scicmr._io import atomic_directory, atomic_write_json, read_json
from scicmr.errors import InputError, LibraryError

METRICS = ("cosine", "ip")
PAD_ID = -1
CONFIG_NAME = "config.json"
FORMAT_VERSION = 1


# ---------------------------------------------------------------------------- input checks
def check_vectors(name: str, vectors: Any, dim: int) -> np.ndarray:
    """C-contiguous (n, dim) float32 copy-or-view of ``vectors``; InputError otherwise."""
    array = np.asarray(vectors)
    if array.ndim != 2:
        raise InputError(
            f"{name} must be a 2-D (n, d) array, got shape {array.shape}",
            fix="pass one vector per row; a single vector v becomes v.reshape(1, -1)",
        )
    if array.shape[1] != dim:
        raise InputError(
            f"{name} have dimension {array.shape[1]} but the index has dimension {dim}",
            fix="encode with the same model the index was built from, or create a new index with "
            f"dim={array.shape[1]}",
        )
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise InputError(f"{name} must be real numbers, got dtype {array.dtype}")
    array = np.ascontiguousarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        raise InputError(f"{name} contain NaN or infinite values", fix="check the encoder output")
    return array


def check_ids(ids: Any, n: int | None = None) -> np.ndarray:
    """(n,) int64 array of unique, non-negative ids; InputError naming the problem otherwise."""
    array = np.asarray(ids)
    if array.ndim != 1:
        raise InputError(f"ids must be a 1-D array, got shape {array.shape}", fix="pass one id per vector")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        raise InputError(
            f"ids must be integers, got dtype {array.dtype}",
            fix="map record ids to integers (e.g. their row position) and keep the mapping",
        )
    array = array.astype(np.int64, copy=False)
    if n is not None and len(array) != n:
        raise InputError(f"got {len(array)} ids for {n} vectors", fix="pass exactly one id per vector row")
    if array.size and array.min() < 0:
        raise InputError(
            f"ids must be >= 0 (-1 marks padding in results), got {int(array.min())}",
            fix="use non-negative integer ids such as row positions",
        )
    unique, counts = np.unique(array, return_counts=True)
    if (counts > 1).any():
        raise InputError(
            f"duplicate ids in one call: {unique[counts > 1][:5].tolist()}",
            fix="give every vector its own id",
        )
    return array


def check_new_ids(ids: np.ndarray, existing: np.ndarray) -> None:
    """InputError when any of ``ids`` is already in the index."""
    clash = ids[np.isin(ids, existing)]
    if clash.size:
        raise InputError(
            f"{clash.size} id(s) already in the index, e.g. {clash[:5].tolist()}",
            fix="remove them first (index.remove(ids)) or use new ids",
        )


def check_known_ids(ids: np.ndarray, existing: np.ndarray) -> None:
    """InputError when any of ``ids`` is not in the index (nothing is removed then)."""
    unknown = ids[~np.isin(ids, existing)]
    if unknown.size:
        raise InputError(
            f"{unknown.size} id(s) are not in the index, e.g. {unknown[:5].tolist()}",
            fix="remove only ids that were added (index.ids lists them)",
        )


def check_k(k: Any) -> int:
    """``k`` as a positive int; InputError otherwise."""
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"k must be an integer >= 1, got {k!r}", fix="ask for at least one result, e.g. k=10")
    return int(k)


def check_metric(metric: Any) -> str:
    if metric not in METRICS:
        raise InputError(f"unknown metric {metric!r}", fix=f"use one of: {', '.join(METRICS)}")
    return metric


def check_dim(dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise InputError(f"dim must be a positive integer, got {dim!r}", fix="pass the vector length, e.g. dim=64")
    return int(dim)


# ---------------------------------------------------------------------------- array helpers
def normalise_rows(vectors: np.ndarray) -> np.ndarray:
    """(n, d) float32 rows scaled to unit L2 norm; all-zero rows stay zero (no NaN)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    # Dividing a zero row by 1 keeps it zero; every other row gets its true norm.
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


def order_by_score_then_id(scores: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reorder each row of (q, m) results by descending score, ties by ascending id.

    Padding (id -1) sorts last, so it never jumps ahead of a real item with score -inf.
    """
    id_key = np.where(ids < 0, np.iinfo(np.int64).max, ids)
    order = np.lexsort((id_key, -scores), axis=-1)
    return np.take_along_axis(scores, order, axis=1), np.take_along_axis(ids, order, axis=1)


def order_by_key_then_id(keys: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reorder each row of (q, m) results by ascending key, ties by ascending id (padding last).

    A key is "lower is better": a Hamming distance, or a negated score.
    """
    id_key = np.where(ids < 0, np.iinfo(np.int64).max, ids)
    order = np.lexsort((id_key, keys), axis=-1)
    return np.take_along_axis(keys, order, axis=1), np.take_along_axis(ids, order, axis=1)


def top_k_settling_ties(
    fetch: Callable[[np.ndarray, int], tuple[np.ndarray, np.ndarray]],
    queries: np.ndarray,
    k: int,
    n: int,
    pad_key: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` of a back end that breaks ties arbitrarily, with the contract's tie rule applied.

    Back ends such as FAISS return *some* of the items tied at the k-th place, so the tie
    rule (ties by ascending id) would decide only the order inside the k, not which tied
    items make it. This asks ``fetch`` for more candidates, doubling, for the rows whose last
    fetched candidate still ties with (or beats) the k-th one, until that last candidate lies
    strictly beyond the k-th key or all ``n`` items were fetched; then it sorts by (key, id)
    and keeps k. For an exhaustive back end the result equals the exact oracle's; for an
    approximate one the rule is applied to what it found. A row whose top k all tie costs
    up to a search of all ``n`` items; rows without boundary ties cost one search of 2k.

    Args:
        fetch: ``fetch(queries, m) -> (keys (q, m), ids (q, m) int64)``, keys ascending
            ("lower is better": a distance, or a negated score), padded with id -1.
        queries: (q, ...) prepared query rows, passed to ``fetch`` (a subset on refetch).
        k: results wanted, >= 1.
        n: items in the index, >= 1.
        pad_key: key written where the id is -1 (``+inf``, or bits + 1 for distances).

    Returns:
        keys (q, min(k, n)) ascending, ids (q, min(k, n)) int64; ties by ascending id.
    """
    m = min(n, 2 * k)
    keys, ids = fetch(queries, m)
    rows = np.arange(len(queries))
    while m < n:
        kth = keys[:, min(k, m) - 1]
        # Only rows whose last candidate is real and still not beyond the k-th key can hide ties.
        rows = rows[(ids[rows, -1] >= 0) & (keys[rows, -1] <= kth[rows])]
        if rows.size == 0:
            break
        m = min(n, 2 * m)
        more_keys, more_ids = fetch(queries[rows], m)
        grown_keys = np.full((len(queries), m), pad_key, dtype=keys.dtype)
        grown_ids = np.full((len(queries), m), PAD_ID, dtype=np.int64)
        grown_keys[:, : keys.shape[1]], grown_ids[:, : ids.shape[1]] = keys, ids
        grown_keys[rows], grown_ids[rows] = more_keys, more_ids
        keys, ids = grown_keys, grown_ids
    ids = ids.astype(np.int64, copy=False)
    keys = np.where(ids < 0, pad_key, keys).astype(keys.dtype, copy=False)
    keys, ids = order_by_key_then_id(keys, ids)
    return keys[:, :k], ids[:, :k]


def pad_results(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Widen (q, m) results to (q, k), m <= k, with score -inf and id -1."""
    q, m = scores.shape
    out_scores = np.full((q, k), -np.inf, dtype=np.float32)
    out_ids = np.full((q, k), PAD_ID, dtype=np.int64)
    out_scores[:, :m] = scores
    out_ids[:, :m] = ids
    return out_scores, out_ids


def empty_results(q: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(q, k) results holding only padding."""
    return np.full((q, k), -np.inf, dtype=np.float32), np.full((q, k), PAD_ID, dtype=np.int64)


# ---------------------------------------------------------------------------- the contract
class VectorIndex:
    """Base class. Subclasses set ``kind`` and ``param_defaults`` and implement ``_add``,
    ``_search``, ``_remove``, ``_stored_ids``, ``_save_data`` and ``_load_data``.

    The public methods validate input, apply the metric and handle padding, so subclasses
    see clean (n, d) float32 arrays and unique int64 ids only.
    """

    kind: ClassVar[str] = "base"
    param_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, dim: int, metric: str = "cosine", **params: Any):
        self.dim = check_dim(dim)
        self.metric = check_metric(metric)
        unknown = sorted(set(params) - set(self.param_defaults))
        if unknown:
            raise InputError(
                f"{self.kind} index has no parameter(s) {unknown}",
                fix=f"valid parameters: {sorted(self.param_defaults) or 'none'}",
            )
        self.params = {**self.param_defaults, **params}
        self._check_params()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(dim={self.dim}, metric={self.metric!r}, count={len(self)}, params={self.params})"

    def __len__(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def ids(self) -> np.ndarray:
        """(n,) int64 copy of the stored ids, in storage order."""
        return np.array(self._stored_ids(), dtype=np.int64)

    def _prepare(self, name: str, vectors: Any) -> np.ndarray:
        array = check_vectors(name, vectors, self.dim)
        return normalise_rows(array) if self.metric == "cosine" else array

    # -- public API
    def add(self, vectors: Any, ids: Any) -> None:
        """Store (n, d) float32 ``vectors`` under (n,) int64 ``ids`` (new, unique, >= 0)."""
        array = self._prepare("vectors", vectors)
        id_array = check_ids(ids, len(array))
        check_new_ids(id_array, self._stored_ids())
        if len(array):
            self._add(array, id_array)

    def search(self, queries: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` of every query row.

        Args:
            queries: (q, d) float32.
            k: results per query, >= 1.

        Returns:
            scores (q, k) float32 descending, ids (q, k) int64; padded with -inf / -1.
        """
        k = check_k(k)
        array = self._prepare("queries", queries)
        if len(array) == 0 or len(self) == 0:
            return empty_results(len(array), k)
        scores, ids = self._search(array, k)
        return scores.astype(np.float32, copy=False), ids.astype(np.int64, copy=False)

    def remove(self, ids: Any) -> int:
        """Delete the items with these (n,) int64 ``ids``; returns how many were removed.

        Raises InputError (removing nothing) when an id is not in the index.
        """
        id_array = check_ids(ids)
        check_known_ids(id_array, self._stored_ids())
        if id_array.size:
            self._remove(id_array)
        return int(id_array.size)

    # -- persistence
    def config(self) -> dict[str, Any]:
        from scicmr import __version__

        return {
            "kind": self.kind,
            "dim": self.dim,
            "metric": self.metric,
            "params": dict(self.params),
            "count": len(self),
            "format_version": FORMAT_VERSION,
            "scicmr_version": __version__,
        }

    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``config.json`` and the data into ``directory`` atomically (replacing it).

        ``extra`` adds caller keys to ``config.json`` (e.g. ``built_from``: the model and model
        version the vectors came from), written in the same swap as the data so the two never
        disagree; :meth:`load` ignores them, :func:`read_index_config` returns them.
        """
        directory = Path(directory)
        with atomic_directory(directory) as tmp:
            files = self._save_data(tmp)
            atomic_write_json(tmp / CONFIG_NAME, {**(extra or {}), **self.config(), "files": files})
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "VectorIndex":
        """Restore an index saved by :meth:`save`; it returns identical results."""
        directory = Path(directory)
        config = read_index_config(directory)
        if config["kind"] != cls.kind:
            raise InputError(
                f"{directory} holds a {config['kind']!r} index, not {cls.kind!r}",
                fix="open it with scicmr.index.load_index(directory)",
            )
        index = cls(config["dim"], config["metric"], **config.get("params", {}))
        index._load_data(directory, config)
        if len(index) != config.get("count", len(index)):
            raise LibraryError(
                f"{directory}: config.json says {config['count']} items but the data holds {len(index)}",
                fix="the index is damaged; rebuild it (e.g. `scicmr index LIB --force`)",
            )
        return index

    # -- hooks for subclasses
    def _check_params(self) -> None:
        """Validate ``self.params``; InputError naming the bad value."""

    def _stored_ids(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _add(self, vectors: np.ndarray, ids: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover
        raise NotImplementedError

    def _remove(self, ids: np.ndarray) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _save_data(self, directory: Path) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _load_data(self, directory: Path, config: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


def read_index_config(directory: str | Path) -> dict[str, Any]:
    """The parsed ``config.json`` of a saved index; LibraryError when it is missing or damaged."""
    directory = Path(directory)
    path = directory / CONFIG_NAME
    if not path.is_file():
        raise LibraryError(
            f"{directory} is not a saved index (no {CONFIG_NAME})",
            fix="build and save one first: index.save(directory)",
        )
    try:
        config = read_json(path)
    except ValueError as exc:
        raise LibraryError(f"{path} is not valid JSON: {exc}", fix="rebuild the index") from None
    missing = [key for key in ("kind", "dim", "metric") if key not in config]
    if missing:
        raise LibraryError(f"{path} lacks {missing}", fix="rebuild the index")
    return config


# ---------------------------------------------------------------------------- ANN quality
def recall_at_k_against(exact_ids: Any, approx_ids: Any, k: int) -> float:
    """Mean recall@k of approximate results against exact ones (set overlap per query).

    Args:
        exact_ids: (q, >=k) int64 ids from the exact index (the truth).
        approx_ids: (q, >=k) int64 ids from the index under test.
        k: how many leading columns of each to compare.

    Returns:
        mean over queries of |exact top-k ∩ approx top-k| / |exact top-k|, padding (-1)
        ignored; queries whose exact row is all padding are skipped (1.0 if all are).
    """
    k = check_k(k)
    exact = np.asarray(exact_ids)
    approx = np.asarray(approx_ids)
    if exact.ndim != 2 or approx.ndim != 2 or len(exact) != len(approx):
        raise InputError(
            f"exact_ids and approx_ids must be (q, k) arrays with the same q; got {exact.shape} and {approx.shape}",
            fix="pass the ids returned by search() for the same queries",
        )
    if exact.shape[1] < k or approx.shape[1] < k:
        raise InputError(
            f"recall@{k} needs at least {k} columns; got {exact.shape[1]} and {approx.shape[1]}",
            fix=f"search with k >= {k}",
        )
    recalls = []
    for truth_row, got_row in zip(exact[:, :k], approx[:, :k]):
        truth = truth_row[truth_row >= 0]
        if truth.size == 0:
            continue
        recalls.append(np.intersect1d(truth, got_row[got_row >= 0]).size / truth.size)
    return float(np.mean(recalls)) if recalls else 1.0
