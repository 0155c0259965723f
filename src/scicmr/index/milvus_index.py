"""A Milvus-backed vector index (kind ``milvus``): the library's vectors and filter fields in a
Milvus collection, searched by the Milvus engine with the filters pushed down.

One collection per index: primary key ``pos`` (the caller's int64 id: a row position), the
unit vector (FLOAT_VECTOR, inner product), ``year`` (INT64, 0 = unknown), ``labels`` (ARRAY of
VARCHAR) and ``authors`` (one VARCHAR). ``uri`` names the engine: a local ``*.db`` path runs
embedded Milvus Lite (a file; relative paths resolve against the folder holding the saved
index), ``http(s)://host:19530`` a Milvus server or cluster (token from the environment
variable ``SCICMR_MILVUS_TOKEN``, optional). The same code talks to both.

**Same results as the exact ranking.** Milvus returns approximate float scores and breaks ties
arbitrarily, so every search over-fetches, re-scores the candidates exactly from their stored
vectors (fetched with the hits), sorts by (descending score, ascending id) and, for a row whose
last fetched candidate could still tie with or beat the k-th exact score (within
``SCORE_SLACK``, the engine's rounding), fetches twice as many again; the same settling as
:func:`scicmr.index.base.top_k_settling_ties`, with a tolerance because the engine's scores are
not the exact ones. On an exhaustive engine (FLAT; Milvus Lite) the result equals
:class:`~scicmr.index.exact.ExactIndex`'s; with an ANN index type it applies the rule to what
the engine found.

**Filters** have :class:`scicmr.workflow.snapshot.Filters`' meaning: ``year_min``/``year_max``
inclusive (``year_max`` drops unknown years), ``labels`` any of them (case-insensitive exact),
``author`` a case-insensitive substring of any author name. Strings are stored and matched in
an encoding (:func:`encode_text`) whose alphabet has no quote, backslash or LIKE wildcard, so
no user string needs escaping inside a Milvus expression, and names are joined with ``|``
(never produced by the encoding) so a substring match stays inside one name.

Binary (Hamming) codes are not supported: Milvus Lite has no binary vectors; hashing models
stay on the FAISS backend.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scicmr._io import atomic_save_npy
from scicmr.errors import InputError, LibraryError, MissingDependencyError
from scicmr.index.base import PAD_ID, VectorIndex, check_ids, check_k, check_new_ids, pad_results

TOKEN_ENV = "SCICMR_MILVUS_TOKEN"
SCORE_SLACK = 1e-4  # bound on |engine score - exact score| for unit vectors (float32 rounding)
MAX_FETCH = 16384  # Milvus caps limit (offset + topk) at 16384
MAX_TEXT_BYTES = 65535  # VARCHAR max_length
MAX_LABELS = 256
_IDS_NAME = "ids.npy"
# Milvus' vector index types for float vectors (checked before connecting: a server answers an
# unknown one with an engine exception, Milvus Lite silently builds FLAT).
INDEX_TYPES = ("FLAT", "IVF_FLAT", "IVF_SQ8", "IVF_PQ", "IVF_RABITQ", "HNSW", "HNSW_SQ", "HNSW_PQ", "HNSW_PRQ",
               "SCANN", "DISKANN", "AUTOINDEX", "GPU_CAGRA", "GPU_IVF_FLAT", "GPU_IVF_PQ", "GPU_BRUTE_FORCE")
_REMOTE_SCHEMES = ("http://", "https://", "tcp://", "grpc://", "unix://")
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 .,-")
_HEX = "ABCDEFGHIJKLMNOP"  # hex digits as upper-case letters: never in lower-cased safe text

_log = logging.getLogger(__name__)


def import_pymilvus():
    """The ``pymilvus`` module; MissingDependencyError (with the install fix) when absent."""
    try:
        import pymilvus
    except ImportError:
        raise MissingDependencyError("pymilvus", "milvus") from None
    return pymilvus


# ---------------------------------------------------------------------------- filter fields
def encode_text(text: str) -> str:
    """``text`` lower-cased, each character outside ``[a-z0-9 .,-]`` written as ``~<hex>~``
    with hex digits A-P. The code is self-synchronising (a token's letters are upper-case, never
    in the safe set), so ``encode_text(a) in encode_text(b)`` exactly when ``a.lower() in
    b.lower()``, and it holds no quote, backslash, ``%``, ``_`` or ``|``."""
    out = []
    for char in text.lower():
        if char in _SAFE:
            out.append(char)
        else:
            out.append("~" + "".join(_HEX[int(d, 16)] for d in format(ord(char), "x")) + "~")
    return "".join(out)


def authors_field(names: Sequence[str]) -> str:
    """The stored ``authors`` value: ``|`` before each encoded name ("" for none)."""
    return "".join("|" + encode_text(name) for name in names)


def filter_expression(year_min: int | None = None, year_max: int | None = None, labels: Sequence[str] = (),
                      author: str | None = None) -> str:
    """The Milvus boolean expression of the filters ("" when nothing is filtered)."""
    parts = []
    if year_min is not None:
        parts.append(f"year >= {int(year_min)}")
    if year_max is not None:
        parts.append(f"(year <= {int(year_max)} and year > 0)")
    if labels:
        names = ", ".join(f'"{encode_text(label)}"' for label in labels)
        parts.append(f"array_contains_any(labels, [{names}])")
    if author:
        # Some name ("|" starts each) contains the needle; an empty needle: any author at all.
        parts.append(f'authors like "%|%{encode_text(author.strip())}%"')
    return " and ".join(parts)


def check_index_options(name: str, value: Any) -> None:
    """InputError unless ``value`` (``build_params`` or ``search_params``) is a mapping from
    option names to JSON scalars, e.g. ``{"M": 32}``."""
    example = '{"M": 32, "efConstruction": 200}' if name == "build_params" else '{"ef": 128}'
    if not isinstance(value, Mapping):
        raise InputError(f"milvus {name} must be a mapping of option names to values, got {value!r}",
                         fix=f"write it as a JSON object, e.g. --param {name}='{example}'")
    for key, option in value.items():
        if not isinstance(key, str) or not isinstance(option, (str, int, float, bool)):
            raise InputError(f"milvus {name} option {key!r}: {option!r} is not a name with a number, string or "
                             "true/false", fix=f"write it like {example}")


def is_remote(uri: str) -> bool:
    return uri.startswith(_REMOTE_SCHEMES)


def collection_name(*parts: str) -> str:
    """A valid Milvus collection name from ``parts`` (letters, digits, underscores; <= 255)."""
    cleaned = "_".join("".join(c if c.isascii() and c.isalnum() else "_" for c in p) for p in parts)
    return ("scicmr_" + cleaned)[:255]


# ---------------------------------------------------------------------------- the index
class MilvusIndex(VectorIndex):
    """Cosine / inner-product search in a Milvus collection (see the module docstring).

    Params:
        uri: ``path/to/file.db`` (Milvus Lite) or ``http://host:19530`` (a server); required.
        collection: collection name; default ``scicmr_<random>``. A new index refuses an
            existing collection (it never drops data it did not create).
        index_type: Milvus vector index, ``FLAT`` (default, exhaustive: exact results),
            ``HNSW``, ``IVF_FLAT``, ...; ``build_params``/``search_params``: its parameters
            (e.g. ``{"M": 32, "efConstruction": 200}`` / ``{"ef": 128}``).
    """

    kind = "milvus"
    param_defaults: dict[str, Any] = {"uri": None, "collection": None, "index_type": "FLAT",
                                      "build_params": {}, "search_params": {}}

    def __init__(self, dim: int, metric: str = "cosine", **params: Any):
        super().__init__(dim, metric, **params)
        if not self.params["collection"]:
            self.params["collection"] = collection_name(uuid.uuid4().hex[:16])
        self._client = None
        self._exists = False  # the collection was created (add) or found (load)
        self._ids = np.empty(0, dtype=np.int64)
        self._save_parent: Path | None = None

    def _check_params(self) -> None:
        uri = self.params["uri"]
        if not isinstance(uri, str) or not uri:
            raise InputError("a milvus index needs a uri",
                             fix="pass uri='path/to/index.db' (embedded Milvus Lite) or uri='http://host:19530'")
        if not is_remote(uri) and not uri.endswith(".db"):
            raise InputError(f"milvus uri {uri!r} is neither a server URL nor a Milvus Lite file (*.db)",
                             fix="use http://host:19530 for a server, or a path ending in .db for Milvus Lite")
        collection = self.params["collection"]
        if collection is not None and (not isinstance(collection, str) or not collection):
            raise InputError(f"milvus collection must be a name, got {collection!r}",
                             fix="pass collection='my_collection' (letters, digits, underscores), or leave it out")
        index_type = self.params["index_type"]
        if index_type not in INDEX_TYPES:
            raise InputError(f"milvus index has no index_type {index_type!r}",
                             fix=f"use one of: {', '.join(INDEX_TYPES)}")
        for name in ("build_params", "search_params"):
            check_index_options(name, self.params[name])

    @property
    def collection(self) -> str:
        return self.params["collection"]

    @property
    def client(self):
        """The ``pymilvus.MilvusClient`` (connected on first use)."""
        if self._client is None:
            pymilvus = import_pymilvus()
            uri = self.params["uri"]
            token = os.environ.get(TOKEN_ENV) if is_remote(uri) else None
            try:
                self._client = pymilvus.MilvusClient(uri, token=token or "")
            except Exception as exc:  # noqa: BLE001 -- pymilvus raises several types for an unreachable server
                raise LibraryError(f"cannot connect to Milvus at {uri} ({type(exc).__name__}: {exc})",
                                   fix="start the server (or check the URI and $" + TOKEN_ENV + "), or rebuild the "
                                   "index with embedded Milvus Lite (no URI)") from None
        return self._client

    def __len__(self) -> int:
        return int(self._ids.size)

    def _stored_ids(self) -> np.ndarray:
        return self._ids

    # -- writing
    def _create_collection(self) -> None:
        pymilvus = import_pymilvus()
        client, data_type = self.client, pymilvus.DataType
        if client.has_collection(self.collection):
            raise InputError(f"Milvus collection {self.collection!r} already exists at {self.params['uri']}",
                             fix="choose another collection name, or drop that collection first")
        schema = pymilvus.MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("pos", data_type.INT64, is_primary=True)
        schema.add_field("vector", data_type.FLOAT_VECTOR, dim=self.dim)
        schema.add_field("year", data_type.INT64)
        schema.add_field("labels", data_type.ARRAY, element_type=data_type.VARCHAR, max_capacity=MAX_LABELS,
                         max_length=MAX_TEXT_BYTES)
        schema.add_field("authors", data_type.VARCHAR, max_length=MAX_TEXT_BYTES)
        index_params = client.prepare_index_params()
        index_params.add_index("vector", index_type=self.params["index_type"], metric_type="IP",
                               params=dict(self.params["build_params"]))
        try:
            client.create_collection(self.collection, schema=schema, index_params=index_params,
                                     consistency_level="Strong")
        except pymilvus.MilvusException as exc:  # e.g. build_params the index type does not take
            raise InputError(f"Milvus refused a {self.params['index_type']} index with build_params "
                             f"{dict(self.params['build_params'])} ({exc})",
                             fix="check the index type's parameters in the Milvus documentation") from None
        self._exists = True

    def add(self, vectors: Any, ids: Any, *, years: Any = None, labels: Sequence[Sequence[str]] | None = None,
            authors: Sequence[Sequence[str]] | None = None) -> None:
        """Store (n, d) float32 ``vectors`` under (n,) int64 ``ids`` with their filter fields:
        ``years`` (n,) int (0 = unknown), ``labels`` and ``authors`` (n lists of names);
        missing fields are empty."""
        array = self._prepare("vectors", vectors)
        id_array = check_ids(ids, len(array))
        check_new_ids(id_array, self._ids)
        n = len(array)
        years = np.zeros(n, dtype=np.int64) if years is None else np.asarray(years, dtype=np.int64)
        labels = [()] * n if labels is None else list(labels)
        authors = [()] * n if authors is None else list(authors)
        if not len(years) == len(labels) == len(authors) == n:
            raise InputError(f"got {n} vectors but {len(years)} years, {len(labels)} label lists and "
                             f"{len(authors)} author lists", fix="pass one of each per vector")
        if n:
            self._insert(array, id_array, years, labels, authors)

    def _add(self, vectors: np.ndarray, ids: np.ndarray) -> None:  # the plain contract: no filter fields
        self._insert(vectors, ids, np.zeros(len(ids), np.int64), [()] * len(ids), [()] * len(ids))

    def _insert(self, vectors: np.ndarray, ids: np.ndarray, years: np.ndarray, labels: list, authors: list) -> None:
        if not self._exists:
            self._create_collection()
        batch = max(1, (16 << 20) // (4 * self.dim + 1024))  # well under the 64 MiB gRPC message limit
        for start in range(0, len(ids), batch):
            rows = [_row(int(ids[i]), vectors[i], int(years[i]), labels[i], authors[i])
                    for i in range(start, min(start + batch, len(ids)))]
            self.client.insert(self.collection, rows)
        self._ids = np.concatenate([self._ids, ids])

    def _remove(self, ids: np.ndarray) -> None:
        self.client.delete(self.collection, ids=[int(i) for i in ids])
        self._ids = self._ids[~np.isin(self._ids, ids)]

    def drop(self) -> None:
        """Delete the collection and everything in it (the index is then empty)."""
        if self.client.has_collection(self.collection):
            self.client.drop_collection(self.collection)
        self._exists, self._ids = False, np.empty(0, dtype=np.int64)

    # -- searching
    def _search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, ids = self._top(queries, k, "", len(self))
        return pad_results(scores, ids, k) if scores.shape[1] < k else (scores, ids)

    def search_filtered(self, queries: Any, k: int, *, year_min: int | None = None, year_max: int | None = None,
                        labels: Sequence[str] = (), author: str | None = None) -> tuple[np.ndarray, np.ndarray, int]:
        """Top-``k`` among the items passing the filters (pushed down to Milvus).

        Args:
            queries: (q, d) float32; k: results wanted, >= 1; filters as in the module docstring.

        Returns:
            scores (q, m) float32 descending, ids (q, m) int64 (ties by ascending id), m =
            min(k, passing items); and the number of items passing the filters.
        """
        k = check_k(k)
        array = self._prepare("queries", queries)
        expr = filter_expression(year_min, year_max, labels, author)
        total = self.count(expr) if expr else len(self)
        if len(array) == 0 or total == 0:
            return np.zeros((len(array), 0), np.float32), np.zeros((len(array), 0), np.int64), total
        scores, ids = self._top(array, min(k, total), expr, total)
        return scores, ids, total

    def count(self, expr: str = "") -> int:
        """Items matching the Milvus expression ``expr`` (all items when empty)."""
        if not self._exists:
            return 0
        rows = self.client.query(self.collection, filter=expr or "pos >= 0", output_fields=["count(*)"],
                                 consistency_level="Strong")
        return int(rows[0]["count(*)"])

    def _fetch(self, queries: np.ndarray, m: int, expr: str) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Milvus's top ``m`` of each query: (ids (m',), engine scores (m',), vectors (m', d))."""
        results = self.client.search(
            self.collection, data=queries.tolist(), limit=m, filter=expr, output_fields=["vector"],
            search_params={"metric_type": "IP", "params": dict(self.params["search_params"])},
            consistency_level="Strong")
        out = []
        for hits in results:
            ids = np.array([h["pos"] for h in hits], dtype=np.int64)
            engine = np.array([h["distance"] for h in hits], dtype=np.float64)
            vectors = np.array([h["entity"]["vector"] for h in hits], dtype=np.float32).reshape(len(hits), self.dim)
            out.append((ids, engine, vectors))
        return out

    def _top(self, queries: np.ndarray, k: int, expr: str, total: int) -> tuple[np.ndarray, np.ndarray]:
        """Top ``min(k, total)`` of each query among the ``total`` items matching ``expr``,
        exactly re-scored, ties by ascending id (the settling loop of the module docstring)."""
        kk = min(k, total)
        out_scores = np.full((len(queries), kk), -np.inf, dtype=np.float32)
        out_ids = np.full((len(queries), kk), PAD_ID, dtype=np.int64)
        rows = np.arange(len(queries))
        m = min(total, max(2 * kk, kk + 16), MAX_FETCH)
        while rows.size:
            unsettled = []
            for row, (ids, engine, vectors) in zip(rows, self._fetch(queries[rows], m, expr)):
                # Row by row (not a BLAS gemv, whose kernels can round identical rows differently
                # by their place in the block): equal vectors get equal scores, so ties stay ties.
                exact = (vectors * queries[row]).sum(axis=1, dtype=np.float32)
                order = np.lexsort((ids, -exact))[:kk]
                out_scores[row, : order.size], out_ids[row, : order.size] = exact[order], ids[order]
                complete = ids.size < m or m >= total
                if not complete and order.size == kk and engine[-1] + SCORE_SLACK >= exact[order[-1]]:
                    unsettled.append(row)  # an item not fetched could still tie with the k-th
            if not unsettled or m >= min(total, MAX_FETCH):
                if unsettled:
                    _log.warning("milvus: %d queries have more than %d items tied at the k-th score; the tie "
                                 "rule was applied to the first %d", len(unsettled), MAX_FETCH, MAX_FETCH)
                break
            rows, m = np.array(unsettled), min(total, 2 * m, MAX_FETCH)
        return out_scores, out_ids

    # -- persistence
    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Flush the collection and write ``config.json`` (uri, collection, dim, ...) and the ids;
        a Milvus Lite file inside the index's parent folder is recorded relative to it."""
        if self._exists:
            self.client.flush(self.collection)
        self._save_parent = Path(directory).resolve().parent
        try:
            return super().save(directory, extra)
        finally:
            self._save_parent = None

    def config(self) -> dict[str, Any]:
        config = super().config()
        uri = self.params["uri"]
        if self._save_parent is not None and not is_remote(uri):
            path = Path(uri).resolve()
            if path.is_relative_to(self._save_parent):
                config["params"]["uri"] = path.relative_to(self._save_parent).as_posix()
        return config

    def _save_data(self, directory: Path) -> list[str]:
        atomic_save_npy(directory / _IDS_NAME, self._ids)
        return [_IDS_NAME]

    def _load_data(self, directory: Path, config: dict[str, Any]) -> None:
        uri = self.params["uri"]
        if not is_remote(uri) and not Path(uri).is_absolute():
            self.params["uri"] = str(directory.resolve().parent / uri)
        try:
            self._ids = np.load(directory / _IDS_NAME, allow_pickle=False).astype(np.int64)
        except (OSError, ValueError) as exc:
            raise LibraryError(f"{directory}: cannot read the index ids ({exc})", fix="rebuild the index") from None
        if not self._ids.size:
            return
        if not is_remote(uri) and not Path(self.params["uri"]).exists():
            raise LibraryError(f"{directory}: its Milvus Lite file {self.params['uri']} is missing",
                               fix="rebuild the index")
        if not self.client.has_collection(self.collection):
            raise LibraryError(f"{directory}: Milvus collection {self.collection!r} is missing at {uri}",
                               fix="rebuild the index")
        self._exists = True
        self.client.load_collection(self.collection)  # a restarted server (or Lite) starts it released
        found = self.count()
        if found != self._ids.size:
            raise LibraryError(f"{directory}: Milvus collection {self.collection!r} holds {found} items, the index "
                               f"{self._ids.size}", fix="rebuild the index")


def _row(pos: int, vector: np.ndarray, year: int, labels: Sequence[str], authors: Sequence[str]) -> dict[str, Any]:
    names = sorted({encode_text(label) for label in labels})
    joined = authors_field(authors)
    if len(names) > MAX_LABELS or any(len(n) > MAX_TEXT_BYTES for n in names) or len(joined) > MAX_TEXT_BYTES:
        raise InputError(f"item {pos}: its labels or authors exceed Milvus field limits ({MAX_LABELS} labels, "
                         f"{MAX_TEXT_BYTES} bytes)", fix="shorten them, or use the FAISS backend")
    return {"pos": pos, "vector": vector.tolist(), "year": year, "labels": names, "authors": joined}

