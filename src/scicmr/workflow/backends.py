"""Which engine serves a library's model index: FAISS (in the process, the default) or Milvus.

``scicmr index LIB --backend milvus [--milvus-uri URI]`` puts each modality's shared-space
vectors and the filter fields (year, labels, authors) into a Milvus collection (an index of
kind ``milvus``, :mod:`scicmr.index.milvus_index`) saved under
``indexes/<model>-<modality>-milvus``; library.json's ``indexes`` then names ``milvus`` for the
model (:func:`scicmr.workflow.index.record_index`, the one place that records it), so searches
use it by default, filtered ones included (filters are pushed down to Milvus).

Without a URI the collection lives in embedded Milvus Lite, the file ``indexes/milvus.db``
(one process at a time may open it); with one, in the user's Milvus server or cluster (token in
``$SCICMR_MILVUS_TOKEN``). Hashing models stay on the FAISS backend: Milvus Lite has no binary
vectors. A rebuild writes a new collection and drops the old one only after the new index is
saved, so a reader never finds its collection gone mid-build in one process's view.

The service keeps no Milvus collection in step with its writes: a library served from Milvus
refuses ``POST``/``DELETE /api/records`` (:func:`served_by_external_index`).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scicmr._io import atomic_write_json
from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.errors import InputError, LibraryError

BACKENDS = ("faiss", "milvus")
MILVUS_KIND = "milvus"
LITE_FILE = "milvus.db"  # under indexes/: Milvus Lite's file when no URI is given
# scicmr index kinds → Milvus vector index types (FLAT is exhaustive: exact results).
_MILVUS_TYPES = {"exact": "FLAT", "flat": "FLAT", "hnsw": "HNSW"}

_log = logging.getLogger(__name__)


def check_backend(backend: str | None) -> str | None:
    if backend is not None and backend not in BACKENDS:
        raise InputError(f"unknown index backend {backend!r}", fix=f"use one of: {', '.join(BACKENDS)}")
    return backend


def milvus_fix(lib: Library, model: str) -> str:
    return f"build it: `scicmr index {lib.root} --model {model} --backend milvus`"


def refuse_hashing(lib: Library, model: str, method: Any, kind: str) -> None:
    """InputError when ``model`` would need binary vectors, which Milvus Lite lacks."""
    from scicmr.hashing.base import produces_codes

    if kind.startswith("hamming") or produces_codes(method):
        raise InputError(
            f"model {model!r} is a hashing model (binary codes, Hamming search): the Milvus backend has no "
            "binary vectors (Milvus Lite lacks them)",
            fix=f"index it on the FAISS backend: `scicmr index {lib.root} --model {model} --codes`")


def build_milvus_index(lib: Library, model: str, kind: str = "flat", milvus_uri: str | None = None, /,
                       **params: Any) -> dict[str, Path]:
    """Index every pair's image and text vectors, with their filter fields, in Milvus.

    Args:
        lib, model: the library and a trained (non-hashing) cross-modal model.
        kind: ``flat``/``exact`` (Milvus FLAT, exhaustive) or ``hnsw`` (Milvus HNSW).
        milvus_uri: ``http://host:19530`` (a Milvus server); None: Milvus Lite in ``indexes/``.
        params: only MilvusIndex ``build_params``/``search_params`` (mappings, e.g.
            ``build_params={"M": 32}``); the index type follows ``kind``, the URI and the
            collection are set here. Anything else is an InputError naming the valid keys.

    Returns:
        modality → the saved index folder.
    """
    check_milvus_params(params)  # before any work, and before connecting to Milvus
    from scicmr.index import create_index, load_index
    from scicmr.methods import load_method
    from scicmr.workflow.index import built_from, index_name, indexed_rows, record_index
    from scicmr.workflow.library_data import MODALITIES

    source = built_from(lib, model)  # read before the model loads: a retrain meanwhile is caught below
    method = load_method(lib.model_dir(model))
    refuse_hashing(lib, model, method, kind)
    if kind not in _MILVUS_TYPES:
        raise InputError(f"the Milvus backend has no index kind {kind!r}",
                         fix=f"use one of: {', '.join(_MILVUS_TYPES)}")
    records, vectors = indexed_rows(lib, model, method, source,
                                    f"scicmr index {lib.root} --model {model} --backend milvus")
    ids = [r.id for r in records]
    uri = milvus_uri or str(lib.root / "indexes" / LITE_FILE)
    fields = filter_fields(records)
    tag = hashlib.sha1(str(lib.root.resolve()).encode()).hexdigest()[:8]  # libraries sharing a server
    built = {}
    for modality in MODALITIES:
        directory = lib.index_dir(index_name(model, modality, MILVUS_KIND))
        previous = _previous(directory, load_index)
        index = create_index(MILVUS_KIND, vectors[modality].shape[1], uri=uri, index_type=_MILVUS_TYPES[kind],
                             collection=_collection(tag, model, modality), **params)
        index.add(vectors[modality], np.arange(len(ids), dtype=np.int64), **fields)
        index.save(directory, extra={"built_from": source})
        atomic_write_json(directory / "ids.json", ids)
        if previous is not None and previous.collection != index.collection:
            _drop_quietly(previous)
        built[modality] = directory
    record_index(lib, model, MILVUS_KIND)
    return built


def filter_fields(records: Sequence[Record]) -> dict[str, Any]:
    """The filter fields of ``records`` as MilvusIndex.add takes them (the snapshot's columns)."""
    return {"years": np.array([r.year or 0 for r in records], dtype=np.int64),
            "labels": [list(r.labels) for r in records], "authors": [list(r.authors) for r in records]}


def _collection(tag: str, model: str, modality: str) -> str:
    from scicmr.index.milvus_index import collection_name

    return collection_name(tag, model, modality, uuid.uuid4().hex[:8])


#: The ``--param`` keys a Milvus build takes (MilvusIndex's other parameters are set by scicmr).
MILVUS_PARAMS = ("build_params", "search_params")
_SET_ELSEWHERE = {"index_type": "the index type follows --kind (flat: FLAT, hnsw: HNSW)",
                  "uri": "give the server with --milvus-uri (none: Milvus Lite in the library)",
                  "milvus_uri": "give the server with --milvus-uri (none: Milvus Lite in the library)",
                  "collection": "scicmr names the collection per library, model and modality",
                  "model": "choose the model with --model"}


def check_milvus_params(params: dict[str, Any]) -> None:
    """InputError unless ``params`` holds only :data:`MILVUS_PARAMS`, each a mapping of options."""
    from scicmr.index.milvus_index import check_index_options

    for key in sorted(params):
        if key not in MILVUS_PARAMS:
            why = _SET_ELSEWHERE.get(key)
            raise InputError(f"--param {key}=… is not a Milvus build option" + (f": {why}" if why else ""),
                             fix=f"the valid ones are {', '.join(MILVUS_PARAMS)}, e.g. "
                                 "--param build_params='{\"M\": 32}' --param search_params='{\"ef\": 128}'")
        check_index_options(key, params[key])


def _previous(directory: Path, load_index):
    """The Milvus index saved in ``directory`` before this build (its collection is dropped once
    the new one is saved), or None."""
    if not (directory / "config.json").is_file():
        return None
    try:
        index = load_index(directory)
    except (LibraryError, InputError, OSError, ValueError) as exc:
        _log.warning("%s: the previous Milvus index cannot be opened (%s); its collection is left as it is",
                     directory, exc)
        return None
    return index if getattr(index, "kind", None) == MILVUS_KIND else None


def _drop_quietly(index) -> None:
    try:
        index.drop()
    except Exception as exc:  # noqa: BLE001 -- the new index is saved; an old collection left over is harmless
        _log.warning("could not drop the old Milvus collection %s: %s", index.collection, exc)


def backend_snapshot(lib: Library, model: str, table: Any, rerank: int | None, backend: str,
                     version: str | None):
    """The snapshot of ``model``'s serving ``table`` ranked by ``backend``.

    ``milvus``: the library's Milvus index of ``model``, which must exist, be current (model
    version) and cover exactly the table's rows (else LibraryError naming ``scicmr index LIB
    --backend milvus``). ``faiss``: the library's built FAISS index, or a flat index built in
    memory when the library's index is a Milvus one.
    """
    from scicmr.workflow.index import load_built_index
    from scicmr.workflow.library_data import MODALITIES
    from scicmr.workflow.snapshot import table_snapshot

    recorded = lib.meta.get("indexes", {}).get(model)
    if backend == "faiss":
        kind = "flat" if recorded == MILVUS_KIND else None
        return table_snapshot(lib, model, table, rerank, version, kind=kind)
    ids = table.ids()
    for modality in MODALITIES:
        built = load_built_index(lib, model, modality, MILVUS_KIND)  # stale: StaleIndexError naming the fix
        if built is None:
            raise LibraryError(f"{lib.root}: model {model!r} has no Milvus index", fix=milvus_fix(lib, model))
        if list(built[1]) != ids or len(ids) != table.n_rows:
            raise LibraryError(f"{lib.root}: the Milvus index of model {model!r} does not cover the library's "
                               "current records (they changed since it was built)", fix="re" + milvus_fix(lib, model))
    return table_snapshot(lib, model, table, rerank, version, kind=MILVUS_KIND)


def served_by_external_index(snapshot) -> bool:
    """Whether ``snapshot`` ranks through an engine outside the process (Milvus), which the
    service's copy-on-write updates cannot keep in step."""
    return any(hasattr(index, "search_filtered") for index in snapshot.indexes.values())


def milvus_lite_file(lib: Library, model: str, backend: str | None) -> Path | None:
    """The Milvus Lite file that serving ``model`` with ``backend`` (None: the library's built
    index) would open, or None when no Milvus Lite file is involved (FAISS, a Milvus server, or
    no Milvus index built yet). Milvus Lite opens a file from one process only, which is why
    ``scicmr serve --workers N`` asks."""
    from scicmr.index import read_index_config
    from scicmr.index.milvus_index import is_remote
    from scicmr.workflow.index import index_name

    if backend == "faiss" or (backend is None and lib.meta.get("indexes", {}).get(model) != MILVUS_KIND):
        return None
    directory = lib.index_dir(index_name(model, "image", MILVUS_KIND))
    if not directory.is_dir():
        return None
    uri = str(read_index_config(directory).get("params", {}).get("uri") or "")
    if not uri or is_remote(uri):
        return None
    return (directory.resolve().parent / uri) if not Path(uri).is_absolute() else Path(uri)
