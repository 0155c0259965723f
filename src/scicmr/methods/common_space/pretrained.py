"""Zero-shot retrieval with a pretrained dual encoder (CLIP, SigLIP, …): no training.

A dual encoder's image and text towers already map both modalities into one space. Encode the
library with both towers — the ``checkpoint`` encoder with ``framework`` ``open_clip`` or ``hf``
and ``modality`` ``image`` / ``text``, on weights the user has locally — and train this method:
it learns nothing, checks that the two feature widths agree (the towers share a space) and
serves the features as they are, L2-normalised (inner product = cosine, CLIP's score)::

    scicmr encode LIB --image-encoder '{"name": "checkpoint", "framework": "open_clip", "arch": "ViT-B-32",
                                "path": "clip.pt"}' \\
                      --text-encoder '{"name": "checkpoint", "framework": "open_clip", "arch": "ViT-B-32",
                                "path": "clip.pt", "modality": "text"}'
    scicmr train LIB --method pretrained && scicmr serve LIB

A strong baseline for users with such weights, and a shared space to fuse with the library's
words (the hybrid ranker) like any trained model's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scicmr.errors import InputError
from scicmr.methods.base import CrossModalMethod


class PretrainedDualEncoder(CrossModalMethod):
    """The identity map of a pretrained dual encoder's shared space (module docstring).

    Args:
        normalize: L2-normalise the vectors (CLIP-style cosine scores).

    Learned state: only the checked width (``image_dim_`` = ``text_dim_``).
    """

    name = "pretrained"

    def __init__(self, normalize: bool = True):
        self._init_params(locals())

    def _fit(self, X, Y, L, validation, **side) -> None:
        if X.shape[1] != Y.shape[1]:
            raise InputError(
                f"image features are {X.shape[1]}-d and text features {Y.shape[1]}-d: they are not the two towers "
                "of one dual encoder (a shared space has one width)",
                fix="encode images and texts with the image and text towers of the same checkpoint "
                    "(encoder `checkpoint`, framework open_clip or hf, modality image / text)")

    def _identity(self, features: np.ndarray) -> np.ndarray:
        vectors = np.asarray(features, dtype=np.float32)
        if self.normalize:
            vectors = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def _transform_image(self, X: np.ndarray) -> np.ndarray:
        return self._identity(X)

    def _transform_text(self, Y: np.ndarray) -> np.ndarray:
        return self._identity(Y)

    def _save_state(self, directory: Path) -> list[str]:
        return []  # nothing learned: the config (dims, params) is the whole model

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        return None
