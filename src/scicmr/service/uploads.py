"""Uploaded images: bounded reads, content sniffing and decompression-bomb checks.

The client's Content-Type and file name are never trusted: PIL identifies the format from the
bytes, and only JPEG, PNG and WebP are accepted. The pixel count is read from the header and
checked *before* any pixel is decoded, so a small file that would expand to gigabytes (a
decompression bomb) is refused with 413 without allocating it.
"""

from __future__ import annotations

import io
from typing import Any, BinaryIO

from scicmr.service.problems import ApiError

ACCEPTED_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Query images are shrunk to this long side before encoding: a 12-megapixel phone photo
# carries no more signal for a 224-pixel CNN, and decoding it in full would waste time.
QUERY_SIDE = 1024


def read_bounded(handle: BinaryIO, limit: int, name: str = "upload") -> bytes:
    """At most ``limit`` bytes of ``handle``; 413 when there are more, 400 when there are none."""
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, f"{name} is larger than the {limit:,}-byte limit",
                       fix="send a smaller image (a phone photo resized to ~1600 px is plenty)")
    if not data:
        raise ApiError(400, f"{name} is empty (0 bytes)", fix="attach a JPEG, PNG or WebP image")
    return data


def open_checked(data: bytes, max_pixels: int, name: str = "upload"):
    """A lazily opened PIL image whose format and size were checked; pixels not decoded yet.

    Raises ApiError 415 (not an image, or a format other than JPEG/PNG/WebP) or 413 (more
    than ``max_pixels`` pixels).
    """
    import warnings

    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ApiError(413, f"{name} has too many pixels to decode safely ({exc})",
                       fix=f"send an image of at most {max_pixels:,} pixels") from None
    except Exception:  # noqa: BLE001 -- PIL raises several types for "not an image"
        raise ApiError(415, f"{name} is not an image that can be read",
                       fix="send a JPEG, PNG or WebP image") from None
    if image.format not in ACCEPTED_FORMATS:
        raise ApiError(415, f"{name} is a {image.format} image; only JPEG, PNG and WebP are accepted",
                       fix="convert it to JPEG or PNG")
    width, height = image.size
    if width * height > max_pixels:
        raise ApiError(413, f"{name} is {width}x{height} = {width * height:,} pixels, over the {max_pixels:,}-pixel limit",
                       fix="resize the image before uploading")
    return image


def decode_query_image(data: bytes, max_pixels: int, name: str = "upload") -> Any:
    """Checked bytes → an RGB PIL image, upright (EXIF orientation applied, as phones store
    it) and at most :data:`QUERY_SIDE` pixels on its long side."""
    from PIL import ImageOps

    from scicmr.corpus.images import to_rgb

    image = open_checked(data, max_pixels, name)
    if image.format == "JPEG":
        image.draft("RGB", (QUERY_SIDE, QUERY_SIDE))  # DCT-domain downscale: decodes 2-8x faster
    try:
        image.load()
        image = ImageOps.exif_transpose(image)
    except Exception as exc:  # noqa: BLE001 -- truncated or corrupt data
        raise ApiError(400, f"{name} could not be decoded ({type(exc).__name__}: {exc})",
                       fix="the file looks truncated or damaged; send it again") from None
    image = to_rgb(image)
    image.thumbnail((QUERY_SIDE, QUERY_SIDE))
    return image


def check_stored_image(data: bytes, max_pixels: int, name: str) -> str:
    """Validate an image that will be stored in the library; returns its format name."""
    image = open_checked(data, max_pixels, name)
    try:
        image.load()
    except Exception as exc:  # noqa: BLE001
        raise ApiError(400, f"{name} could not be decoded ({type(exc).__name__}: {exc})",
                       fix="the file looks truncated or damaged; send it again") from None
    return image.format
