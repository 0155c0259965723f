"""Reading figure images from disk, bytes or PIL: decode fully, validate, convert to RGB.

- :func:`load_image` turns a path, bytes or PIL image into an RGB PIL image, or raises
  :class:`~scicmr.errors.InputError` naming the file and the fix.
- :func:`validate_image` says why a file is unusable (or None); ingest uses it to skip files.
- :func:`to_rgb` composites alpha over white and scales high-bit-depth images to 8 bits.

This is the data layer's view of an image (every layer above reads images through it); the
encoders' ImageNet preprocessing lives in :mod:`scicmr.encoders.images`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from scicmr.errors import InputError

ImageLike = Any  # str | os.PathLike | bytes | PIL.Image.Image


class _Undecodable(Exception):
    """Internal: why a file could not be read (turned into an InputError or a reason string)."""


def _open_decoded(path: Path):
    """Open ``path`` and decode all pixels; raises _Undecodable with a human reason."""
    from PIL import Image

    if not path.exists():
        raise _Undecodable("file not found")
    if not path.is_file():
        raise _Undecodable("not a regular file")
    if path.stat().st_size == 0:
        raise _Undecodable("empty file (0 bytes)")
    try:
        with Image.open(path) as handle:
            handle.load()  # decode every pixel now: truncated data fails here, not later
            image = handle.copy()
    except Image.DecompressionBombError as exc:
        raise _Undecodable(f"image is too large to decode safely ({exc})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # PIL's decoder errors
        raise _Undecodable(f"cannot decode the image ({type(exc).__name__}: {exc})") from None
    if image.width == 0 or image.height == 0:
        raise _Undecodable("image has zero width or height")
    return image


def load_image(source: ImageLike):
    """Return ``source`` (a path, encoded bytes or a PIL image) as an RGB PIL image.

    Transparent pixels are composited onto white (figures are often transparent PNGs) and
    16-bit / float images (microscopy TIFFs) are min-max scaled to 8 bits.

    Raises:
        InputError: missing, empty or undecodable file, naming it and how to fix it.
    """
    from PIL import Image

    if isinstance(source, Image.Image):
        image = source
    elif isinstance(source, (bytes, bytearray)):
        try:
            with Image.open(io.BytesIO(source)) as handle:
                handle.load()
                image = handle.copy()
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise InputError(f"cannot decode the uploaded image ({exc})", fix="send a PNG or JPEG file") from None
    elif isinstance(source, (str, os.PathLike)):
        try:
            image = _open_decoded(Path(source))
        except _Undecodable as exc:
            raise InputError(
                f"image {os.fspath(source)!r} is unusable: {exc}",
                fix="replace or delete the file; `scicmr ingest` skips unusable images and lists them in its report",
            ) from None
    else:
        raise InputError(f"cannot read an image from a {type(source).__name__}", fix="pass a file path or a PIL image")
    return to_rgb(image)


def to_rgb(image):
    """RGB copy of a PIL image: alpha over white, high-bit-depth modes scaled to 8 bits."""
    from PIL import Image

    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        scaled = (values - low) / (high - low) * 255.0 if high > low else np.zeros_like(values)
        image = Image.fromarray(np.round(scaled).astype(np.uint8), mode="L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def validate_image(path: str | os.PathLike) -> str | None:
    """Why the image file at ``path`` is unusable, or None when it decodes fully.

    Checks: exists, is a non-empty file, passes PIL's integrity check (``verify``), decodes
    every pixel, and has non-zero width and height.
    """
    from PIL import Image

    path = Path(path)
    try:
        _open_decoded(path)
        with Image.open(path) as handle:
            handle.verify()  # chunk checksums (PNG CRCs) that a plain decode may not check
    except _Undecodable as exc:
        return str(exc)
    except Exception as exc:  # verify() raises a variety of types on damaged files
        return f"failed the integrity check ({type(exc).__name__}: {exc})"
    return None
