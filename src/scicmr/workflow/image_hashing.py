"""ADHN on a library: train the image-only hasher on labelled figures, index every image's code,
and search a query photo by Hamming distance (image → image).

>>> report = train_image_hashing("lib", bits=32, epochs=20)     # doctest: +SKIP
>>> hits = ImageCodeSearch("lib", "adhn-32").search("photo.jpg", k=10)   # doctest: +SKIP

Layout: the model is saved under ``models/adhn-<bits>/`` (config.json beside weights.pt, plus
``library.json`` with the label vocabulary, train ids and the model version); the Hamming
index of every usable library image under ``indexes/adhn-<bits>-image-hamming-exact/`` with
``ids.json`` (record ids, row order) and ``relaxed.npy`` (the tanh outputs, for optional
cosine re-ranking), the same conventions as :func:`scicmr.workflow.build_index`. The index's ``config.json`` records the
model version it was built from; a search refuses an index left from an earlier training (a
retrain that stopped before re-indexing) — :mod:`scicmr.workflow.index` has the rule.

Data: the train split's labelled, non-quarantined images train the model; the validation split
picks the epoch (when it has labelled images); the test split is ranked against the train
images once, after training, for the reported mAP. Labels are the records' ``labels`` as a
multi-hot matrix (two images are similar when they share a label, as in the seed's pairwise
likelihood). Unreadable images are reported and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scicmr._io import atomic_save_npy, atomic_write_json
from scicmr._progress import progress
from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.errors import InputError, LibraryError
from scicmr.workflow.hits import Hit, hits_from_ranking
from scicmr.workflow.index import (
    VERSION_KEY,
    StaleIndexError,
    built_from,
    index_name,
    load_built_index,
    new_model_version,
)
from scicmr.workflow.library_data import as_library

INDEX_KIND = "hamming-exact"
RECORD = "library.json"  # the ADHN model's own record: label vocabulary, train ids, model version
_ENCODE_CHUNK = 64  # images per encoding step (progress granularity only)


def model_name(bits: int) -> str:
    return f"adhn-{int(bits)}"


def _usable(records: list[Record]) -> list[Record]:
    return [r for r in records if r.image and not r.extra.get("quarantine")]


def _loadable(lib: Library, records: list[Record]) -> tuple[list[Record], list[Any], list[str]]:
    """(records, PIL images, skipped messages): unreadable images are skipped, the rest go on."""
    from scicmr.corpus.images import load_image

    kept, images, skipped = [], [], []
    for record in records:
        try:
            images.append(load_image(lib.image_path(record)))
            kept.append(record)
        except InputError as exc:
            skipped.append(f"{record.id}: {exc.problem}")
    return kept, images, skipped


def _labelled(lib: Library, split: str, classes: list[str] | None = None) -> tuple[list[Record], list[Any], list[str]]:
    """A split's usable images with at least one label (one of ``classes`` when given)."""
    wanted = (lambda r: bool(r.labels)) if classes is None else (lambda r: any(c in classes for c in r.labels))
    return _loadable(lib, [r for r in _usable(lib.records(split)) if wanted(r)])


def encode_images(model: Any, images: list[Any], desc: str = "ADHN codes") -> np.ndarray:
    """(n,) images → (n, bits) float32 relaxed codes, in chunks with a progress bar."""
    chunks = range(0, len(images), _ENCODE_CHUNK)
    parts = [model.transform(images[i : i + _ENCODE_CHUNK]) for i in progress(chunks, total=len(chunks), desc=desc)]
    return np.concatenate(parts) if parts else np.zeros((0, int(model.n_bits)), dtype=np.float32)


@dataclass
class ImageHashingReport:
    """What :func:`train_image_hashing` did: model name, counts, skipped images, mAPs."""

    model: str
    bits: int
    n_train: int
    n_validation: int
    n_test: int
    n_indexed: int
    classes: list[str]
    best_epoch: int | None
    validation_map: float | None
    test_map: float | None
    test_metrics: dict[str, float]
    skipped: list[str]
    model_dir: str
    index_dir: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _check_classes(lib: Library, records: list[Record]) -> list[str]:
    classes = sorted({label for r in records for label in r.labels})
    if len(classes) < 2:
        raise InputError(
            f"{lib.root}: ADHN needs labelled training images from at least 2 classes; the train split "
            f"has {len(records)} labelled image(s) in {len(classes)} class(es)",
            fix="add labels to the records (a 'labels' field in the manifest) or use `scicmr match` (no labels needed)",
        )
    return classes


def _ranking_metrics(query_codes, query_labels, train_codes, train_labels) -> dict[str, float]:
    from scicmr.evaluation.hashing_metrics import hamming_metrics

    if len(query_codes) == 0:
        return {}
    return hamming_metrics(query_codes, train_codes, query_labels, train_labels, ks=(5, 50))


def train_image_hashing(lib: Library | str | Path, bits: int = 32, attention: str = "se-g",
                        backbone: str = "efficientnet-lite0", image_size: int = 128, epochs: int = 20,
                        **params: Any) -> ImageHashingReport:
    """Train ADHN on the train split, save it, index every library image's code.

    Args:
        lib: the library (or its folder).
        bits, attention, backbone, image_size, epochs: ADHN parameters; ``params`` passes the
            rest (``checkpoint``, ``lr``, ``batch_size``, ``seed``, …).

    Returns:
        an :class:`ImageHashingReport`; validation / test mAP rank that split's images against
        the train images by Hamming distance (labels decide relevance).
    """
    from scicmr.hashing.codes import pack_codes
    from scicmr.methods import create_method

    lib = as_library(lib)
    train, train_images, skipped = _labelled(lib, "train")
    classes = _check_classes(lib, train)
    # Held-out images whose labels never occur in training have no relevant item: left out.
    val, val_images, skipped_val = _labelled(lib, "validation", classes)
    test, test_images, skipped_test = _labelled(lib, "test", classes)
    model = create_method("adhn", n_bits=bits, attention=attention, backbone=backbone,
                                image_size=image_size, epochs=epochs, **params)
    train_labels = lib.label_matrix(train, classes)
    val_labels = lib.label_matrix(val, classes)
    validation = (val_images, val_labels) if val else None
    model.fit(train_images, train_labels, validation=validation)
    name = model_name(bits)
    directory = model.save(lib.model_dir(name))
    # A fresh model version: a code index built from an earlier training is stale (see below).
    atomic_write_json(directory / RECORD, {"classes": classes, "train_ids": [r.id for r in train],
                                           VERSION_KEY: new_model_version()})

    train_codes = pack_codes(encode_images(model, train_images, "ADHN train codes"))
    test_metrics = _ranking_metrics(pack_codes(encode_images(model, test_images, "ADHN test codes")),
                                    lib.label_matrix(test, classes), train_codes, train_labels)
    val_metrics = _ranking_metrics(pack_codes(encode_images(model, val_images, "ADHN val codes")),
                                   val_labels, train_codes, train_labels)
    index_dir, indexed, skipped_index = index_library_codes(lib, name, model)
    return ImageHashingReport(
        model=name, bits=int(bits), n_train=len(train), n_validation=len(val), n_test=len(test),
        n_indexed=indexed, classes=classes, best_epoch=model.best_epoch_,
        validation_map=val_metrics.get("map"), test_map=test_metrics.get("map"), test_metrics=test_metrics,
        skipped=sorted(set(skipped + skipped_val + skipped_test + skipped_index)),
        model_dir=str(directory), index_dir=str(index_dir),
    )


def index_library_codes(lib: Library, name: str, model: Any) -> tuple[Path, int, list[str]]:
    """Index the packed codes of every usable library image; (directory, count, skipped)."""
    from scicmr.hashing.codes import pack_codes
    from scicmr.index import create_index

    usable = _usable(lib.records())
    records, parts, skipped = [], [], []
    # Load and encode chunk by chunk: a large library never sits in memory as pixels.
    chunks = range(0, len(usable), _ENCODE_CHUNK)
    for start in progress(chunks, total=len(chunks), desc="ADHN library codes"):
        kept, images, failed = _loadable(lib, usable[start : start + _ENCODE_CHUNK])
        records += kept
        skipped += failed
        if images:
            parts.append(model.transform(images))
    if not records:
        raise InputError(f"{lib.root} has no readable images to index", fix="ingest a source with images first")
    relaxed = np.concatenate(parts)
    index = create_index(INDEX_KIND, int(model.n_bits))
    index.add(pack_codes(relaxed), np.arange(len(records), dtype=np.int64))
    directory = lib.index_dir(index_name(name, "image", INDEX_KIND))
    index.save(directory, extra={"built_from": built_from(lib, name, RECORD)})
    atomic_save_npy(directory / "relaxed.npy", relaxed)
    atomic_write_json(directory / "ids.json", [r.id for r in records])  # last: marks a complete index
    return directory, len(records), skipped


def load_library_hasher(lib: Library, model: str):
    """The saved ADHN model ``model`` of ``lib``; InputError naming the trained ones when absent."""
    from scicmr.methods import load_method, saved_method_name

    directory = lib.model_dir(model)
    if saved_method_name(directory) != "adhn":
        trained = [m for m in lib.models() if saved_method_name(lib.model_dir(m)) == "adhn"]
        raise InputError(f"{lib.root} has no ADHN model {model!r} (trained: {', '.join(trained) or 'none'})",
                         fix=f"train one with `scicmr hash-images {lib.root}` or pick a trained one with --model")
    return load_method(directory)


class ImageCodeSearch:
    """Image → image search by a library's ADHN codes, loaded once for repeated queries.

    Args:
        lib: the library (or its folder).
        model: the ADHN model, e.g. ``"adhn-32"`` (``scicmr hash-images``).
        rerank: m re-ranks a Hamming shortlist of m by relaxed cosine; None ranks by Hamming
            distance alone.

    Raises InputError naming the trained ADHN models when ``model`` is not one, LibraryError
    when its code index was never built.
    """

    def __init__(self, lib: Library | str | Path, model: str = "adhn-32", rerank: int | None = None):
        self.lib = as_library(lib)
        self.model = model
        self.hasher = load_library_hasher(self.lib, model)
        try:
            built = load_built_index(self.lib, model, "image", INDEX_KIND, rerank, record=RECORD)
        except StaleIndexError as exc:
            # Only a training writes this index (it needs the images re-encoded): train again.
            raise LibraryError(f"{exc.problem}; its codes do not come from the saved model",
                               fix=f"run `scicmr hash-images {self.lib.root} --bits {self.hasher.n_bits}` "
                               "again (it trains and re-indexes)") from None
        if built is None:
            raise LibraryError(f"{self.lib.root} has no code index for {model!r}",
                               fix=f"run `scicmr hash-images {self.lib.root}`")
        self.index, self.ids = built  # a CodeSearch: it holds the relaxed vectors (relaxed.npy)

    def search(self, image: Any, k: int = 10) -> list[Hit]:
        """The ``k`` library images whose codes are nearest those of ``image`` (path or PIL).

        Ranked by Hamming distance, ties by ascending row in ``ids.json`` (the order the index
        was built in); Hit ``score`` is ``1 - 2 d / bits`` (or the relaxed cosine when
        re-ranked), ``details["distance"]`` the Hamming distance d. A record deleted since the
        index was built is left out.
        """
        from scicmr.corpus.images import load_image
        from scicmr.hashing.codes import hamming_distances, pack_codes

        relaxed = self.hasher.transform([load_image(image)])  # (1, bits)
        scores, rows = self.index.search(relaxed, min(int(k), len(self.ids)))
        found = rows[0][rows[0] >= 0]
        distances = hamming_distances(pack_codes(relaxed), pack_codes(self.index.vectors[found]))[0]
        distance = {self.ids[int(row)]: int(d) for row, d in zip(found, distances)}
        hits = hits_from_ranking(self.lib, self.ids, scores, rows, "image")[0]
        for hit in hits:
            hit.details["distance"] = distance[hit.id]
        return hits
