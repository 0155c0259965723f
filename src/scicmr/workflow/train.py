"""Train a registered method on a library's train split (validation split for selection)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scicmr._faults import crash_point
from scicmr._io import atomic_write_json
from scicmr.corpus.library import Library
from scicmr.errors import LibraryError
from scicmr.methods import available_methods, create_method, method_summary
from scicmr.workflow.index import VERSION_KEY, new_model_version
from scicmr.workflow.library_data import as_library, paired_records, split_data, stored_feature_key


@dataclass
class TrainReport:
    model: str
    method: str
    directory: Path
    train_pairs: int
    validation_pairs: int
    seconds: float
    best_epoch: int | None = None
    fusion: dict[str, Any] | None = None


def _features_ready(lib: Library) -> tuple[str, str]:
    """Feature keys for both modalities, encoding the library first when needed."""
    try:
        return stored_feature_key(lib, "image"), stored_feature_key(lib, "text")
    except LibraryError:
        from scicmr.workflow.encode import encode_library

        keys = encode_library(lib)
        return keys["image"], keys["text"]


def _check_train_pairs(lib: Library) -> None:
    """Refuse a library with too few train pairs before any expensive work (encoding).

    Reads only the records (no features), so it costs a fraction of a second; names the split
    counts so a library whose splits were never assigned (split ``none``) is recognisable.
    """
    count = len(paired_records(lib, "train"))
    if count < _MIN_TRAIN_PAIRS:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(lib.split_counts().items())) or "no records"
        raise LibraryError(
            f"{lib.root} has {count} training pair(s); at least {_MIN_TRAIN_PAIRS} are needed (splits: {counts})",
            fix="ingest more data or change the split fractions (`scicmr ingest SRC --out LIB --overwrite --split ...`)",
        )


_MIN_TRAIN_PAIRS = 2


def method_catalog() -> dict[str, str]:
    """Every method ``train_model`` can train (learns from image-text pairs): name → one line."""
    return {name: method_summary(name) for name in available_methods("pairs")}


def train_model(
    lib: Library | str | Path,
    method: str = "cca",
    params: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    use_labels: bool = True,
    fusion: bool = True,
) -> TrainReport:
    """Fit ``method`` on the train split and save it as ``models/<name>`` (name defaults to
    the method name). The validation split, when present, drives early stopping / selection;
    the test split is never touched here.

    With ``fusion`` (the default) a library with texts also gets the model's hybrid ranker:
    lexical, dense and cross-modal channels fused with weights chosen on the validation split
    (:func:`scicmr.workflow.hybrid.fit_hybrid`); evaluate and search then use it."""
    lib = as_library(lib)
    model = create_method(method, **(params or {}))
    name = name or method
    _check_train_pairs(lib)  # before encoding: a hopeless run must fail in seconds, not minutes
    image_key, text_key = _features_ready(lib)
    vocabulary = lib.label_vocabulary() if use_labels else []
    train = split_data(lib, "train", image_key, text_key, vocabulary)
    validation = split_data(lib, "validation", image_key, text_key, vocabulary)
    started = time.perf_counter()
    model.fit(
        train.image,
        train.text,
        train.labels,
        validation=(validation.image, validation.text, validation.labels, validation.side)
        if validation.records
        else None,
        **train.side,
    )
    seconds = time.perf_counter() - started
    directory = model.save(lib.model_dir(name))
    crash_point("train.model_saved")
    atomic_write_json(
        directory / "training.json",
        {
            "model": name,
            "method": method,
            "features": {"image": image_key, "text": text_key},
            "label_vocabulary": vocabulary,
            "train_pairs": len(train.records),
            "validation_pairs": len(validation.records),
            "seconds": seconds,
            "history": getattr(model, "history_", None),
            "best_epoch": getattr(model, "best_epoch_", None),
            # A fresh version per training: indexes built from an earlier one are stale.
            VERSION_KEY: new_model_version(),
        },
    )
    _plot_history(model, directory / "loss.png", name)
    crash_point("train.training_json_written")
    from scicmr.workflow.hybrid import HYBRID_FILE, fit_hybrid

    (directory / HYBRID_FILE).unlink(missing_ok=True)  # a fusion fitted for an earlier model is stale
    fused = None
    if fusion:
        fused = fit_hybrid(lib, name, model, {"image": image_key, "text": text_key})
    lib.update_meta(default_model=name)
    return TrainReport(
        model=name,
        method=method,
        directory=directory,
        train_pairs=len(train.records),
        validation_pairs=len(validation.records),
        seconds=seconds,
        best_epoch=getattr(model, "best_epoch_", None),
        fusion=fused,
    )


def history_series(history: Any) -> dict[str, list[float]]:
    """Per-epoch history (a list of {"epoch", "train_loss", "val_score", ...} dicts, as
    :func:`scicmr.methods.training.train_loop` records it) → {metric: values over epochs}."""
    if not isinstance(history, list) or not history or not isinstance(history[0], dict):
        return {}
    keys = [k for k in history[0] if k not in ("epoch", "seconds")]
    return {k: [float(e[k]) for e in history if e.get(k) is not None] for k in keys
            if any(e.get(k) is not None for e in history)}


def _plot_history(model: Any, path: Path, title: str) -> None:
    """Loss / validation curves as PNG for models that keep a per-epoch history."""
    series = history_series(getattr(model, "history_", None))
    losses = {k: v for k, v in series.items() if "loss" in k and v}
    if losses:
        from scicmr.evaluation.plots import plot_loss_curves

        plot_loss_curves(losses, path, f"{title}: training loss")
        if series.get("val_score"):
            plot_loss_curves({"validation score": series["val_score"]}, path.with_name("validation.png"),
                             f"{title}: validation score")
