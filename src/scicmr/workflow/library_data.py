"""What the workflows read from a library: open it, pick the model, gather the paired
records and their stored features per split, extend a feature cache (public: the service and
benches use it too)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from scicmr._io import read_json
from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.errors import LibraryError

MODALITIES = ("image", "text")

# Below these a split's metrics are noise (20) or meaningless (5: one hit moves MRR by 0.2+).
SMALL_SPLIT_PAIRS = 20
MIN_EVALUATION_PAIRS = 5
SPLIT_FIX = ("re-ingest with larger validation and test shares, e.g. `scicmr ingest SOURCE --out LIB --overwrite "
             "--split 0.6,0.2,0.2` (a source with its own split: a larger `--validation`, e.g. 0.2), or add pairs")


def small_split_warnings(counts: dict[str, int]) -> list[str]:
    """One message per evaluation split (validation, test) holding fewer than 20 pairs, naming
    the fix; ``counts``: pairs per split name (:meth:`Library.split_counts`)."""
    return [f"the {name} split holds only {pairs_phrase(counts.get(name, 0))} (fewer than {SMALL_SPLIT_PAIRS}): its metrics "
            f"will be noise; {SPLIT_FIX}" for name in ("validation", "test") if counts.get(name, 0) < SMALL_SPLIT_PAIRS]


def pairs_phrase(n: int) -> str:
    """``"1 pair"`` or ``"n pairs"``: how messages count pairs."""
    return f"{n} pair" if n == 1 else f"{n} pairs"


def as_library(lib: Library | str | Path) -> Library:
    return lib if isinstance(lib, Library) else Library.open(lib)


def stored_feature_key(lib: Library, modality: str) -> str:
    """The cached-feature key the library uses for ``modality`` (set by encode or ingest)."""
    entry = lib.meta.get("encoders", {}).get(modality) or {}
    key = entry.get("key")
    if not key or not lib.has_features(key):
        raise LibraryError(
            f"{lib.root} has no {modality} features yet",
            fix=f"run `scicmr encode {lib.root}` (train does this for you)",
        )
    return key


def resolve_model_name(lib: Library, model: str | None) -> str:
    """``model`` if given, else the library's default (last trained) model."""
    trained = lib.models()
    if model is None:
        model = lib.meta.get("default_model")
        if model is None and trained:
            model = trained[-1]
    if model is None or model not in trained:
        what = f"model {model!r}" if model else "trained model"
        raise LibraryError(
            f"{lib.root} has no {what}" + (f" (trained: {', '.join(trained)})" if trained else ""),
            fix=f"train one first: `scicmr train {lib.root} --method cca` (or cardl)",
        )
    return model


def training_info(lib: Library, model: str) -> dict:
    """What ``scicmr train`` recorded about a cross-modal model (its features, vocabulary, ...)."""
    path = lib.model_dir(model) / "training.json"
    if not path.is_file():
        raise LibraryError(f"{lib.root}: model {model!r} is not a cross-modal model trained by `scicmr train` "
                           "(it has no training.json)", fix="pick one with --model, or train one with `scicmr train`")
    return read_json(path)


def side_features(records: list[Record]) -> dict:
    """Per-record side features in the method contract's names: ``years`` ((n,) int64, 0 =
    unknown) and ``authors`` (n lists of names)."""
    return {
        "years": np.asarray([r.year or 0 for r in records], dtype=np.int64),
        "authors": [list(r.authors) for r in records],
    }


@dataclass
class SplitData:
    """Paired features of one split: rows of ``image`` and ``text`` pair up."""

    records: list[Record]
    image: np.ndarray  # (n, d_img) float32
    text: np.ndarray  # (n, d_txt) float32
    labels: np.ndarray | None  # (n, C) float32 multi-hot, None when the library has no labels

    @property
    def side(self) -> dict:
        return side_features(self.records)


def paired_records(lib: Library, split: str | None) -> list[Record]:
    """Image–text pairs of ``split``; records quarantined by `scicmr clean` are left out."""
    return [r for r in lib.records(split) if r.kind == "pair" and not r.extra.get("quarantine")]


def split_data(
    lib: Library, split: str | None, image_key: str, text_key: str, vocabulary: list[str] | None = None
) -> SplitData:
    """Features and labels of the image–text pairs of ``split`` (all pairs when None)."""
    records = paired_records(lib, split)
    ids = [r.id for r in records]
    vocabulary = vocabulary if vocabulary is not None else lib.label_vocabulary()
    labels = lib.label_matrix(records, vocabulary) if vocabulary else None
    return SplitData(
        records=records,
        image=lib.load_features(image_key, ids),
        text=lib.load_features(text_key, ids),
        labels=labels,
    )
