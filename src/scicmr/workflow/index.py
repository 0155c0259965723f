"""Build search indexes of a trained model's shared-space vectors, and tell when one is stale.

**Model versions.** Retraining a model under the same name replaces its files but not the
indexes built from it, whose vectors then come from the old model (old scores; a dimension
mismatch when ``n_components`` changed). So a model records a *version* when it is saved: a
random ``model_version`` (uuid4 hex) in its ``training.json`` (cross-modal models, written by
:func:`scicmr.workflow.train_model`) or ``library.json`` (ADHN). :func:`build_index` copies the
version into the index's ``config.json`` (``built_from``), and a built index is served only
while the two agree (:func:`index_staleness`).

Models saved before versions were recorded have none; their version is then the SHA-256 of
their saved files (``sha256:<hex>``, the record file and plots left out), so an index built
from such a model by this code still detects a change of files. An index built before
versions were recorded (no ``built_from``) is trusted only while its model records no version
either (both predate the change: the 0.1 behaviour); once the model is retrained it records a
version, which proves the index older than the model, and the index is stale.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scicmr._faults import crash_point
from scicmr._io import atomic_save_npy, atomic_write_json, read_json
from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.errors import InputError, LibraryError
from scicmr.hashing.base import model_bits
from scicmr.hashing.codes import pack_codes
from scicmr.methods import load_method
from scicmr.workflow.library_data import (
    MODALITIES,
    as_library,
    paired_records,
    resolve_model_name,
    side_features,
    training_info,
)

RELAXED_NAME = "relaxed.npy"
VERSION_KEY = "model_version"
TRAINING_RECORD = "training.json"  # where a cross-modal model records its version (ADHN: library.json)


# ---------------------------------------------------------------------------- model versions
def new_model_version() -> str:
    """A fresh version for a model being saved: random, so two trainings never share one."""
    return uuid.uuid4().hex


def recorded_model_version(model_dir: Path, record: str = TRAINING_RECORD) -> str | None:
    """The ``model_version`` a model's record file names, or None (saved before versions)."""
    path = Path(model_dir) / record
    if not path.is_file():
        return None
    try:
        info = read_json(path)
    except ValueError:
        return None
    version = info.get(VERSION_KEY) if isinstance(info, dict) else None
    return str(version) if version else None


def content_version(model_dir: Path, record: str = TRAINING_RECORD) -> str:
    """``sha256:<hex>`` of a model's saved files (names and bytes, sorted by path), leaving out
    the record file, plots and the serving table: the version of a model that recorded none."""
    model_dir = Path(model_dir)
    digest = hashlib.sha256()
    for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
        relative = path.relative_to(model_dir).as_posix()
        # The serving table is derived from the model (workflow/serving.py), not part of it.
        if relative == record or path.suffix == ".png" or path.name.startswith(".") or relative.startswith("serving/"):
            continue
        digest.update(relative.encode("utf-8") + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return f"sha256:{digest.hexdigest()}"


def model_version(lib: Library, model: str, record: str = TRAINING_RECORD) -> str:
    """The version of ``lib``'s saved ``model``: the recorded one, else its content hash."""
    directory = lib.model_dir(model)
    return recorded_model_version(directory, record) or content_version(directory, record)


def built_from(lib: Library, model: str, record: str = TRAINING_RECORD) -> dict[str, str]:
    """The ``built_from`` entry an index of ``model`` writes into its ``config.json``."""
    return {"model": model, VERSION_KEY: model_version(lib, model, record)}


def index_staleness(lib: Library, model: str, config: dict, record: str = TRAINING_RECORD) -> str | None:
    """None when an index with this ``config.json`` was built from ``model`` as saved now,
    else why not (the rule is in the module docstring)."""
    built = (config.get("built_from") or {}).get(VERSION_KEY)
    recorded = recorded_model_version(lib.model_dir(model), record)
    if built is None:
        if recorded is None:
            return None  # both predate model versions: trusted, as scicmr 0.1 did
        return f"the index predates model versions and model {model!r} was retrained since"
    if built != (recorded or content_version(lib.model_dir(model), record)):
        return f"the index was built from an earlier version of model {model!r} (it was retrained since)"
    return None


def index_name(model: str, modality: str, kind: str) -> str:
    return f"{model}-{modality}-{kind}"


def project(method, features: dict[str, np.ndarray], records: Sequence[Record] | None = None) -> dict[str, np.ndarray]:
    """Raw features → shared-space vectors through a trained cross-modal ``method``.

    Args:
        method: the fitted method (``transform_image`` / ``transform_text``).
        features: modality → (n, d_modality) float32 raw features of the same n records.
        records: those n records; needed by methods that read side features (years, authors).

    Returns:
        modality → (n, k) float32 shared-space vectors, for the modalities given.
    """
    side = side_features(records) if method.side_features else {}
    transforms = {"image": method.transform_image, "text": method.transform_text}
    return {modality: transforms[modality](rows, **side) for modality, rows in features.items()}


def shared_vectors(lib: Library, model_name: str, ids: list[str], *, method=None,
                   feature_keys: dict[str, str] | None = None,
                   modalities: Sequence[str] = MODALITIES) -> dict[str, np.ndarray]:
    """Shared-space vectors of ``ids`` from the stored features: {"image": (n, k), "text": (n, k)}.

    ``method`` and ``feature_keys`` (the model's features, from its training.json) are loaded
    from the library unless the caller already holds them; ``modalities`` limits the work.
    """
    method = method if method is not None else load_method(lib.model_dir(model_name))
    feature_keys = feature_keys if feature_keys is not None else training_info(lib, model_name)["features"]
    records = lib.get_many(ids) if method.side_features else None
    return project(method, {m: lib.load_features(feature_keys[m], ids) for m in modalities}, records)


def record_index(lib: Library, model: str, kind: str) -> None:
    """Record in library.json's ``indexes`` that ``model``'s built index is of ``kind`` (``milvus``:
    the Milvus backend); searches use it by default. The one place this is written."""
    lib.update_meta(indexes={model: kind})


def build_index(lib: Library | str | Path, model: str | None = None, kind: str = "flat", *,
                backend: str = "faiss", milvus_uri: str | None = None,
                params: Mapping[str, Any] | None = None) -> dict[str, Path]:
    """Index every pair's image and text vectors under ``indexes/<model>-<modality>-<kind>``.

    Index ids are row positions into ``ids.json`` saved beside each index. A ``hamming-*``
    kind needs a hashing model (:mod:`scicmr.hashing.base`): it indexes the packed codes and
    stores the relaxed vectors beside them (``relaxed.npy``) for shortlist re-ranking.
    ``backend="milvus"`` puts the vectors and filter fields in a Milvus collection instead
    (``milvus_uri``, or embedded Milvus Lite when None; not for hashing models): see
    :mod:`scicmr.workflow.backends`. ``params``: the kind's own options (``--param``), e.g.
    HNSW ``{"M": 32}``; the kind and width are set here, not through them.
    """
    from scicmr.index import create_index
    from scicmr.workflow.backends import build_milvus_index, check_backend

    params = dict(params or {})
    if clash := sorted({"kind", "dim"} & set(params)):
        raise InputError(f"--param {clash[0]}=… cannot be set: the index kind is chosen with --kind and its width "
                         "comes from the model",
                         fix="choose the index with --kind (e.g. --kind hnsw) and drop that --param")
    lib = as_library(lib)
    model = resolve_model_name(lib, model)
    if check_backend(backend) == "milvus":
        return build_milvus_index(lib, model, kind, milvus_uri, **params)
    if milvus_uri is not None:
        raise InputError("a Milvus URI was given for the FAISS backend", fix="add --backend milvus, or drop --milvus-uri")
    source = built_from(lib, model)  # read before the model loads: a retrain meanwhile is caught below
    method = load_method(lib.model_dir(model))
    codes = kind.startswith("hamming")
    bits = model_bits(method) if codes else None
    records, vectors = indexed_rows(lib, model, method, source, f"scicmr index {lib.root} --model {model}")
    ids = [r.id for r in records]
    built = {}
    for modality in MODALITIES:
        index = create_index(kind, bits or vectors[modality].shape[1], **params)
        index.add(pack_codes(vectors[modality]) if codes else vectors[modality], np.arange(len(ids), dtype=np.int64))
        directory = lib.index_dir(index_name(model, modality, kind))
        index.save(directory, extra={"built_from": source})
        atomic_write_json(directory / "ids.json", ids)
        if codes:
            atomic_save_npy(directory / RELAXED_NAME, vectors[modality])
        built[modality] = directory
        crash_point("index.modality_written")
    record_index(lib, model, kind)
    return built


def indexed_rows(lib: Library, model: str, method, source: dict[str, str], command: str):
    """(paired records, their shared-space vectors {modality: (n, k)}) for an index build of
    ``model`` whose ``built_from`` was ``source``; the rows are also stored as the model's
    serving table (the service starts by mapping them, and appends to them). LibraryError
    naming ``command`` when the model was retrained meanwhile."""
    from scicmr.workflow.serving import write_table

    generation = lib.records_generation()  # before reading: a write meanwhile leaves the table stale, not wrong
    records = paired_records(lib, None)
    vectors = shared_vectors(lib, model, [r.id for r in records], method=method)
    if built_from(lib, model) != source:
        raise LibraryError(f"{lib.root}: model {model!r} was retrained while its index was being built",
                           fix=f"run `{command}` again")
    write_table(lib, model, source[VERSION_KEY], records, vectors, generation)
    return records, vectors


class StaleIndexError(LibraryError):
    """A built index was built from an earlier version of its model (see the module docstring)."""


def load_built_index(lib: Library, model: str, modality: str, kind: str, rerank: int | None = None,
                     record: str = TRAINING_RECORD):
    """(index, ids) of a built index, or None when it was never built.

    Raises :class:`StaleIndexError` (its fix names ``scicmr index``) when the index was built
    from an earlier version of ``model`` (:func:`index_staleness`) or its files are damaged; ``record`` is the model's
    file holding its version. A Hamming index comes back wrapped in
    :class:`~scicmr.index.codes_search.CodeSearch`, which takes relaxed float queries;
    ``rerank`` = m re-ranks a Hamming shortlist of m by cosine.
    """
    from scicmr.index import load_index, read_index_config

    directory = lib.index_dir(index_name(model, modality, kind))
    if not (directory / "ids.json").exists():
        return None
    option = "--backend milvus" if kind == "milvus" else f"--kind {kind}"
    fix = f"rebuild it: `scicmr index {lib.root} --model {model} {option}`"
    try:
        config = read_index_config(directory)
        reason = index_staleness(lib, model, config, record)
        if reason is not None:
            raise StaleIndexError(f"{directory}: {reason}", fix=fix)
        index = load_index(directory)
        if index.metric == "hamming":
            from scicmr.index.codes_search import CodeSearch

            relaxed = directory / RELAXED_NAME
            vectors = np.load(relaxed, allow_pickle=False) if relaxed.is_file() else None
            index = CodeSearch(index, vectors, rerank)
        ids = read_json(directory / "ids.json")
    except StaleIndexError:
        raise
    except (OSError, ValueError, RuntimeError, LibraryError) as exc:  # faiss: RuntimeError on a damaged file
        # A damaged index is as unusable as a stale one: callers rebuild it in memory or say so.
        raise StaleIndexError(f"{directory} is damaged ({type(exc).__name__}: {exc})", fix=fix) from None
    if not isinstance(ids, list) or len(ids) != len(index):
        raise StaleIndexError(f"{directory} is damaged (its ids do not match its vectors)", fix=fix)
    return index, ids
