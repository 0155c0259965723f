"""Build search indexes of a trained model's shared-space vectors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from scicmr._faults import crash_point
from scicmr._io import atomic_save_npy, atomic_write_json, read_json
from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
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


def build_index(lib: Library | str | Path, model: str | None = None, kind: str = "flat", **params) -> dict[str, Path]:
    """Index every pair's image and text vectors under ``indexes/<model>-<modality>-<kind>``.

    Index ids are row positions into ``ids.json`` saved beside each index. A ``hamming-*``
    kind needs a hashing model (:mod:`scicmr.hashing.base`): it indexes the packed codes and
    stores the relaxed vectors beside them (``relaxed.npy``) for shortlist re-ranking.
    """
    from scicmr.index import create_index

    lib = as_library(lib)
    model = resolve_model_name(lib, model)
    codes = kind.startswith("hamming")
    bits = model_bits(load_method(lib.model_dir(model))) if codes else None
    ids = [r.id for r in paired_records(lib, None)]
    vectors = shared_vectors(lib, model, ids)
    built = {}
    for modality in MODALITIES:
        index = create_index(kind, bits or vectors[modality].shape[1], **params)
        index.add(pack_codes(vectors[modality]) if codes else vectors[modality], np.arange(len(ids), dtype=np.int64))
        directory = lib.index_dir(index_name(model, modality, kind))
        index.save(directory)
        atomic_write_json(directory / "ids.json", ids)
        if codes:
            atomic_save_npy(directory / RELAXED_NAME, vectors[modality])
        built[modality] = directory
        crash_point("index.modality_written")
    lib.update_meta(indexes={model: kind})
    return built


def load_built_index(lib: Library, model: str, modality: str, kind: str, rerank: int | None = None):
    """(index, ids) of a built index, or None when it was never built.

    A Hamming index comes back wrapped in :class:`~scicmr.index.codes_search.CodeSearch`, which
    takes relaxed float queries; ``rerank`` = m re-ranks a Hamming shortlist of m by cosine.
    """
    from scicmr.index import load_index

    directory = lib.index_dir(index_name(model, modality, kind))
    if not (directory / "ids.json").exists():
        return None
    index = load_index(directory)
    if index.metric == "hamming":
        from scicmr.index.codes_search import CodeSearch

        relaxed = directory / RELAXED_NAME
        vectors = np.load(relaxed, allow_pickle=False) if relaxed.is_file() else None
        index = CodeSearch(index, vectors, rerank)
    return index, read_json(directory / "ids.json")
