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
import re
from pathlib import Path
from typing import Any

import numpy as np

from scicmr.errors import InputError

ImageLike = Any  # str | os.PathLike | bytes | PIL.Image.Image

#: Largest image file read at all (bytes). The size is checked before anything is read, so a
#: huge (or sparse) file named ``.png`` is refused without loading it into memory.
MAX_IMAGE_BYTES = 256 * 1024 * 1024
#: Largest image decoded (width x height from the header, checked before decoding pixels).
MAX_IMAGE_PIXELS = 100_000_000

_STREAM_REPR = re.compile(r"<_io\.\w+ object at 0x[0-9a-fA-F]+>")


def name_stream(message: str, name: str) -> str:
    """``message`` (e.g. PIL's "cannot identify image file <_io.BytesIO object at 0x…>") with
    the in-memory stream's repr replaced by ``name`` (a file name or "upload")."""
    return _STREAM_REPR.sub(name, message)


def _check_header(handle, name: str) -> None:
    """_Undecodable when the opened (not yet decoded) image has more than MAX_IMAGE_PIXELS."""
    width, height = handle.size
    if width * height > MAX_IMAGE_PIXELS:
        raise _Undecodable(f"{name} is {width}x{height} = {width * height:,} pixels, over the MAX_IMAGE_PIXELS "
                           f"limit of {MAX_IMAGE_PIXELS:,} (scicmr.corpus.images)")


class _Undecodable(Exception):
    """Internal: why a file could not be read (turned into an InputError or a reason string)."""


def _open_decoded(path: Path):
    """Open ``path`` and decode all pixels; raises _Undecodable with a human reason."""
    from PIL import Image

    if not path.exists():
        raise _Undecodable("file not found")
    if not path.is_file():
        raise _Undecodable("not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise _Undecodable("empty file (0 bytes)")
    if size > MAX_IMAGE_BYTES:  # before reading a byte: a 1 GiB (even sparse) file is never loaded
        raise _Undecodable(f"file is {size:,} bytes, over the MAX_IMAGE_BYTES limit of {MAX_IMAGE_BYTES:,} bytes "
                           "(scicmr.corpus.images)")
    try:
        with Image.open(path) as handle:
            _check_header(handle, path.name)
            handle.load()  # decode every pixel now: truncated data fails here, not later
            image = handle.copy()
    except Image.DecompressionBombError as exc:
        raise _Undecodable(f"image is too large to decode safely ({exc})") from None
    except (OSError, ValueError, SyntaxError, EOFError) as exc:  # PIL's decoder errors
        raise _Undecodable(f"cannot decode the image ({type(exc).__name__}: {name_stream(str(exc), path.name)})") from None
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
        if len(source) > MAX_IMAGE_BYTES:
            raise InputError(f"the uploaded image is {len(source):,} bytes, over the MAX_IMAGE_BYTES limit of "
                             f"{MAX_IMAGE_BYTES:,} bytes (scicmr.corpus.images)", fix="send a smaller PNG or JPEG file")
        try:
            with Image.open(io.BytesIO(source)) as handle:
                _check_header(handle, "the uploaded image")
                handle.load()
                image = handle.copy()
        except _Undecodable as exc:
            raise InputError(str(exc), fix="send a smaller PNG or JPEG file") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise InputError(f"cannot decode the uploaded image ({name_stream(str(exc), 'upload')})",
                             fix="send a PNG or JPEG file") from None
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

    Checks: exists, is a non-empty file of at most :data:`MAX_IMAGE_BYTES` whose header
    declares at most :data:`MAX_IMAGE_PIXELS` (both before decoding), passes PIL's integrity check (``verify``), decodes
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
        return f"failed the integrity check ({type(exc).__name__}: {name_stream(str(exc), path.name)})"
    return None
