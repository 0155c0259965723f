"""Encode a library's raw images and texts into cached feature vectors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scicmr._faults import crash_point
from scicmr.corpus.library import Library
from scicmr.corpus.record import Record, mostly_chinese
from scicmr.errors import LibraryError
from scicmr.parallel import Executor
from scicmr.workflow.library_data import as_library, paired_records



def default_encoder_spec(lib: Library, modality: str) -> dict[str, Any]:
    """The encoder a raw library gets when the user names none.

    Images: EfficientNet-Lite0 ImageNet features; for figures whose printed words were read at
    ingest (PDF papers: text layer and OCR), those features fused with a sentence embedding of
    the words (``ocr-fusion``) — on real papers this lifted CCA's caption↔figure MRR from ≈ 0.12
    to ≈ 0.29 (docs/results.md), since ImageNet features say little about what a chart shows.
    Text: the English sentence encoder, except for mostly-Chinese corpora, where MiniLM is weak:
    TF-IDF over jieba tokens reduced by SVD.
    """
    if modality == "image":
        from scicmr.corpus.figure_text import FIGURE_TEXT

        records = paired_records(lib, None)
        read = sum(1 for r in records if FIGURE_TEXT in r.extra)
        return {"name": "ocr-fusion"} if records and read >= 0.5 * len(records) else {"name": "efficientnet-lite0"}
    if mostly_chinese(lib.records()):
        return {"name": "tfidf", "svd_dim": 256}
    return {"name": "minilm"}


def record_text(record: Record) -> str:
    """The text side of a record as the text encoders see it (title, caption/body, keywords)."""
    return record.full_text()


def encoder_dir(lib: Library, key: str) -> Path:
    return lib.root / "encoders" / key


def _normalise_spec(spec: str | dict[str, Any] | None) -> dict[str, Any] | None:
    """None, a name (``"tfidf"``), a JSON object string or a dict → a spec dict."""
    if spec is None:
        return None
    if isinstance(spec, str) and spec.lstrip().startswith("{"):
        import json

        from scicmr.errors import InputError

        try:
            spec = json.loads(spec)
        except json.JSONDecodeError as exc:
            raise InputError(f"cannot read encoder spec {spec!r}: {exc}",
                             fix='write it as JSON, e.g. \'{"name": "tfidf", "svd_dim": 256}\'') from None
    return {"name": spec} if isinstance(spec, str) else dict(spec)


def encode_modality(
    lib: Library, modality: str, spec: dict[str, Any], *, force: bool = False, batch_size: int = 32,
    executor: Executor | None = None,
) -> str:
    """Encode every pair's ``modality`` with ``spec``; returns the feature key (cached).
    The encoder is fitted here; ``executor`` runs the batches (None: here)."""
    from scicmr.encoders import create_encoder, feature_key

    if spec.get("name") == "precomputed":
        key = spec["key"]
        if not lib.has_features(key):
            raise LibraryError(f"precomputed features {key!r} are missing from {lib.root}", fix="ingest the source again")
        return key
    records = paired_records(lib, None)
    train = paired_records(lib, "train") or records
    encoder = create_encoder(spec)
    if modality == "text" and hasattr(encoder, "fit_pairs"):
        # Pair-trained encoders (CARDL's fine-tuned MiniLM) learn from title ↔ abstract pairs.
        from scicmr.encoders.finetune import pairs_from_records

        encoder.fit_pairs(*pairs_from_records(train))
        items = [record_text(r) for r in records]
    elif modality == "text":
        encoder.fit([record_text(r) for r in train])
        items = [record_text(r) for r in records]
    elif hasattr(encoder, "record_items"):
        # Encoders that read more of a record than its image file (ocr-fusion: the figure's
        # OCR text) build their own items from the records.
        items = encoder.record_items(lib, records)
        train_ids = {r.id for r in train}
        encoder.fit([item for item, r in zip(items, records) if r.id in train_ids])
    else:
        encoder.fit([lib.image_path(r) for r in train])
        items = [lib.image_path(r) for r in records]
    key = feature_key(encoder)
    if force or not lib.has_features(key, [r.id for r in records]):
        vectors = encoder.encode(items, batch_size=batch_size, executor=executor)
        encoder.save(encoder_dir(lib, key))
        crash_point("encode.encoder_saved")
        lib.save_features(key, [r.id for r in records], vectors, encoder.config())
    return key


def encode_library(
    lib: Library | str | Path,
    *,
    image: str | dict[str, Any] | None = None,
    text: str | dict[str, Any] | None = None,
    force: bool = False,
    batch_size: int = 32,
    executor: Executor | None = None,
) -> dict[str, str]:
    """Encode both modalities and record the chosen encoders in library.json.

    ``image`` / ``text`` name an encoder (``"efficientnet-lite0"``, ``"minilm"``, ``"tfidf"``,
    ``"lda"``, a spec dict...); None keeps the library's current choice or the default.
    ``executor`` encodes the batches elsewhere (:class:`scicmr.parallel.RayExecutor`: a Ray
    worker per core, each loading the fitted encoder once; vectors equal up to float rounding);
    None encodes in this process. Returns ``{"image": feature key, "text": feature key}``.
    """
    lib = as_library(lib)
    current = lib.meta.get("encoders", {})
    keys = {}
    for modality, requested in (("image", image), ("text", text)):
        spec = _normalise_spec(requested)
        if spec is None:
            entry = current.get(modality)
            spec = (entry.get("spec") or entry) if entry else default_encoder_spec(lib, modality)
        key = encode_modality(lib, modality, spec, force=force, batch_size=batch_size, executor=executor)
        keys[modality] = key
        crash_point("encode.features_saved")
        lib.update_meta(encoders={modality: {"name": spec["name"], "spec": spec, "key": key}})
    return keys


def load_query_encoder(lib: Library, modality: str):
    """The fitted encoder that produced the library's ``modality`` features, for queries."""
    from scicmr.encoders import create_encoder, load_encoder
    from scicmr.errors import InputError

    entry = lib.meta.get("encoders", {}).get(modality) or {}
    if entry.get("name") == "precomputed":
        raise InputError(
            f"{lib.root} holds precomputed {modality} features from a benchmark ({entry.get('key')}); "
            f"there is no encoder for new {modality} queries",
            fix="query with an existing record instead: `scicmr search LIB --query-id ID`",
        )
    key = entry.get("key")
    if key and (encoder_dir(lib, key) / "config.json").exists():
        return load_encoder(encoder_dir(lib, key))
    if entry.get("spec"):
        return create_encoder(entry["spec"])
    raise LibraryError(f"{lib.root} has no {modality} encoder", fix=f"run `scicmr encode {lib.root}`")
