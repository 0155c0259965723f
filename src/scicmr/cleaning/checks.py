"""Per-image checks: integrity, size, aspect ratio, blank / low-information content.

:func:`inspect_image` reads a file once and returns :class:`ImageFacts`: the content hash,
the perceptual hashes and every per-image reason with the score behind it. The pixel
measures run on a *probe*: the grey image box-averaged to ``probe_side`` pixels, which
averages pixel noise away (a near-white page with sensor noise stays flat) while a one-pixel
black line in a white figure still moves its probe pixel by ~60 grey levels.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from scicmr.cleaning.config import CleaningConfig
from scicmr.cleaning.phash import image_hashes
from scicmr.corpus.images import to_rgb


@dataclass
class ImageFacts:
    """What one pass over an image found. ``reasons`` maps reason -> human detail."""

    id: str
    path: str
    sha256: str | None = None
    width: int = 0
    height: int = 0
    phash: np.ndarray | None = None  # (8,) uint8
    dhash: np.ndarray | None = None  # (8,) uint8
    reasons: dict[str, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def decodable(self) -> bool:
        return "corrupt" not in self.reasons


def decode(data: bytes):
    """Decode every pixel of encoded image bytes: (PIL image, None) or (None, reason)."""
    from PIL import Image

    if not data:
        return None, "empty file (0 bytes)"
    try:
        with Image.open(io.BytesIO(data)) as handle:
            handle.load()  # all pixels now: a truncated file fails here
            image = handle.copy()
        with Image.open(io.BytesIO(data)) as handle:
            handle.verify()  # chunk checksums that a plain decode may skip
    except Image.DecompressionBombError as exc:
        return None, f"too large to decode safely ({exc})"
    except Exception as exc:  # PIL raises many types (OSError, SyntaxError, struct.error...)
        return None, f"cannot decode ({type(exc).__name__}: {exc})"
    if image.width == 0 or image.height == 0:
        return None, "zero width or height"
    return image, None


def probe(image, side: int) -> np.ndarray:
    """(≤side, ≤side) float64 grey probe of an RGB PIL image: box-averaged, aspect kept."""
    from PIL import Image

    grey = image.convert("L")
    scale = min(1.0, side / max(grey.size))
    size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
    return np.asarray(grey.resize(size, Image.BOX), dtype=np.float64)


def content_measures(pixels: np.ndarray, content_delta: float) -> dict[str, float]:
    """Blankness measures of a probe: ``std``, ``entropy`` (bits, 32 grey bins),
    ``content`` (fraction of pixels more than ``content_delta`` from the background grey, the
    centre of the most common 16-level bin)."""
    flat = pixels.ravel()
    counts = np.bincount(np.clip(flat // 8, 0, 31).astype(np.int64), minlength=32)
    p = counts[counts > 0] / flat.size
    coarse = np.clip(flat // 16, 0, 15).astype(np.int64)
    mode = np.bincount(coarse, minlength=16).argmax()
    background = float(np.median(flat[coarse == mode]))
    return {
        "std": float(flat.std()),
        "entropy": float(-(p * np.log2(p)).sum()),
        "content": float(np.mean(np.abs(flat - background) > content_delta)),
    }


def _pixel_reasons(facts: ImageFacts, image, config: CleaningConfig) -> None:
    w, h = image.size
    facts.width, facts.height = w, h
    facts.scores["min_side"] = float(min(w, h))
    facts.scores["aspect"] = float(max(w, h) / min(w, h))
    if min(w, h) < config.min_side:
        facts.reasons["too_small"] = f"{w}x{h} px, shorter side below {config.min_side}"
    if facts.scores["aspect"] > config.max_aspect:
        facts.reasons["extreme_aspect"] = f"aspect {facts.scores['aspect']:.1f}:1 above {config.max_aspect:g}:1"
    measures = content_measures(probe(image, config.probe_side), config.content_delta)
    facts.scores.update(measures)
    if measures["std"] < config.blank_std:
        facts.reasons["blank"] = f"near-uniform (grey std {measures['std']:.2f} < {config.blank_std:g})"
    elif measures["content"] < config.min_content or measures["entropy"] < config.min_entropy:
        facts.reasons["low_information"] = (
            f"almost all background (content {measures['content']:.3f}, entropy {measures['entropy']:.2f} bits)"
        )


def inspect_image(record_id: str, path: str | Path, config: CleaningConfig, *, pixels: bool = True) -> ImageFacts:
    """Read ``path`` once: content hash, integrity, and (``pixels``) size, aspect, blankness
    and perceptual hashes. Never raises for a bad file: the problem becomes a reason."""
    facts = ImageFacts(id=record_id, path=str(path))
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        facts.reasons["corrupt"] = f"cannot read the file ({type(exc).__name__}: {exc})"
        return facts
    facts.sha256 = hashlib.sha256(data).hexdigest()
    image, problem = decode(data)
    if problem is not None:
        facts.reasons["corrupt"] = problem
        return facts
    if pixels:
        image = to_rgb(image)  # alpha over white, 16-bit scaled: what encoders see
        _pixel_reasons(facts, image, config)
        facts.phash, facts.dhash = image_hashes(image)
    return facts


def facts_summary(facts: ImageFacts) -> dict[str, Any]:
    """JSON-able view of the facts (hashes as hex)."""
    return {
        "id": facts.id, "path": facts.path, "sha256": facts.sha256, "size": [facts.width, facts.height],
        "phash": facts.phash.tobytes().hex() if facts.phash is not None else None,
        "dhash": facts.dhash.tobytes().hex() if facts.dhash is not None else None,
    }
