"""A training-free, torch-free image encoder: a small grey thumbnail plus colour histograms.

It is the cheap baseline (and the encoder the test suite uses, since it needs no model
weights): near-identical images get near-identical vectors; it knows nothing of semantics.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scicmr.encoders.base import Encoder
from scicmr.corpus.images import load_image
from scicmr.errors import InputError


class ThumbnailEncoder(Encoder):
    """(side*side grey pixels + 3*bins colour histogram) → L2-normalised float32 vector.

    Args:
        side: thumbnail edge in pixels (the image is resized, aspect ignored).
        bins: histogram bins per RGB channel.
    """

    modality = "image"
    name = "thumbnail"

    def __init__(self, side: int = 16, bins: int = 8):
        if int(side) < 2 or int(bins) < 1:
            raise InputError(f"thumbnail needs side >= 2 and bins >= 1, got side={side}, bins={bins}")
        self.side = int(side)
        self.bins = int(bins)

    def _dim(self) -> int:
        return self.side * self.side + 3 * self.bins

    def _encode_one(self, item: Any) -> np.ndarray:
        rgb = load_image(item)
        grey = np.asarray(rgb.convert("L").resize((self.side, self.side)), dtype=np.float32).ravel() / 255.0
        pixels = np.asarray(rgb, dtype=np.uint8).reshape(-1, 3)
        histograms = [np.bincount(pixels[:, c].astype(np.int64) * self.bins // 256, minlength=self.bins) for c in range(3)]
        colour = np.concatenate(histograms).astype(np.float32) / max(len(pixels), 1)
        vector = np.concatenate([grey - grey.mean(), colour])
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else vector

    def _encode_batch(self, batch: list[Any]) -> np.ndarray:
        return np.stack([self._encode_one(item) for item in batch])
