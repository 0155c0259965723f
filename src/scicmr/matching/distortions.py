"""Phone-photo and screenshot distortions of a figure: the queries of mobile visual search.

Each distortion kind draws its parameters from a seeded generator (the same ``seed`` gives the
same query bytes) within the ranges below, applies them with PIL/numpy, and returns the
parameters so a benchmark can report them:

==============  ==================================================================
kind            what (ranges)
==============  ==================================================================
crop            keep a 70-95 % window (same fraction both axes, random position)
scale           resize by 0.35-0.8 (a small screenshot) or 1.3-2.0 (a zoomed one)
rotate          turn by ±(2-10)°, corners filled with the page colour
perspective     each corner moved inwards by up to 8 % (camera not square to the page)
blur            Gaussian blur, radius 1-2.5 px at 256 px (out of focus, motion)
jpeg            re-encode at quality 30-70
photometric     brightness x0.7-1.3, contrast x0.6-1.4, gamma 0.6-1.6
moire           a screen photo: sinusoidal interference pattern (period 3-7 px, ±12
                grey levels, random angle) plus sensor noise (sigma 4)
phone           all of the above at milder strength, chained (crop, perspective,
                rotate, photometric, moire, blur, scale, jpeg): a realistic photo
page            the figure on a printed page (:mod:`.page`): paper with columns of
                text lines, a neighbouring figure (``neighbour``, or synthetic plot
                strokes), the page on a textured desk; the figure covers 25-60 % of
                the frame. A light camera: tilt (corners ±4 %), turn ±(2-5)°, light
                fall-off ≤ 15 %, blur ≤ 0.6 px, JPEG 70-90, long side 1000-1400 px
photo           the page surroundings with a realistic camera: tilt (corners ±10 %),
                turn ±(2-10)°, light fall-off 10-45 % + vignette + colour cast,
                exposure x0.85-1.15, gamma 0.8-1.25, blur 0.4-1.8 px, sensor noise
                sigma 1.5-5, JPEG 40-85, long side 800-1600 px
==============  ==================================================================

``page`` and ``photo`` also return ``quad`` (the figure's corners in the photo, px: top-left,
top-right, bottom-right, bottom-left) and ``area_fraction`` (its share of the photo, ≤ 0.6).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from scicmr.errors import InputError

KINDS = ("crop", "scale", "rotate", "perspective", "blur", "jpeg", "photometric", "moire", "phone", "page", "photo")
PAGE = (245, 245, 240)  # fill colour for exposed corners (paper)


def _crop(image, rng, mild=False):
    from PIL import Image  # noqa: F401  (PIL must be importable)

    f = rng.uniform(0.82, 0.95) if mild else rng.uniform(0.70, 0.95)
    w, h = image.size
    cw, ch = round(w * f), round(h * f)
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return image.crop((x, y, x + cw, y + ch)), {"fraction": round(f, 4), "x": x, "y": y}


def _scale(image, rng, mild=False):
    from PIL import Image

    s = rng.uniform(0.5, 0.8) if mild or rng.random() < 0.5 else rng.uniform(1.3, 2.0)
    if not mild and s < 1:
        s = rng.uniform(0.35, 0.8)
    w, h = image.size
    return image.resize((max(8, round(w * s)), max(8, round(h * s))), Image.BICUBIC), {"factor": round(s, 4)}


def _rotate(image, rng, mild=False):
    from PIL import Image

    angle = rng.uniform(2, 5 if mild else 10) * rng.choice([-1, 1])
    return image.rotate(angle, Image.BICUBIC, expand=False, fillcolor=PAGE), {"degrees": round(float(angle), 3)}


def _perspective_coefficients(src: np.ndarray, dst: np.ndarray) -> list[float]:
    """The 8 coefficients PIL's PERSPECTIVE transform wants: they map output (dst) corners to
    input (src) corners, x_in = (a x + b y + c) / (g x + h y + 1), y_in likewise."""
    rows = []
    for (x, y), (u, v) in zip(dst, src):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    return np.linalg.solve(np.asarray(rows, dtype=np.float64), src.ravel()).tolist()


def _perspective(image, rng, mild=False):
    from PIL import Image

    w, h = image.size
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float64)
    shift = rng.uniform(0, 0.04 if mild else 0.08, (4, 2)) * [w, h]
    inward = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]])
    dst = src + inward * shift
    coeffs = _perspective_coefficients(src, dst)
    out = image.transform((w, h), Image.PERSPECTIVE, coeffs, Image.BICUBIC, fillcolor=PAGE)
    return out, {"corner_shift": np.round(shift / [w, h], 4).tolist()}


def _blur(image, rng, mild=False):
    from PIL import ImageFilter

    radius = rng.uniform(0.6, 1.2) if mild else rng.uniform(1.0, 2.5)
    return image.filter(ImageFilter.GaussianBlur(radius)), {"radius": round(radius, 3)}


def _jpeg(image, rng, mild=False):
    from PIL import Image

    quality = int(rng.integers(50, 71) if mild else rng.integers(30, 71))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return decoded.convert("RGB"), {"quality": quality}


def _photometric(image, rng, mild=False):
    from PIL import Image

    k = 0.5 if mild else 1.0
    brightness = 1 + k * rng.uniform(-0.3, 0.3)
    contrast = 1 + k * rng.uniform(-0.4, 0.4)
    gamma = float(np.exp(k * rng.uniform(np.log(0.6), np.log(1.6))))
    x = np.asarray(image, dtype=np.float64) / 255.0
    x = (x - 0.5) * contrast + 0.5
    x = np.clip(x * brightness, 0, 1) ** gamma
    params = {"brightness": round(brightness, 4), "contrast": round(contrast, 4), "gamma": round(gamma, 4)}
    return Image.fromarray((x * 255).round().astype(np.uint8)), params


def _moire(image, rng, mild=False):
    from PIL import Image

    w, h = image.size
    period, angle = rng.uniform(3, 7), rng.uniform(0, np.pi)
    amplitude = 6.0 if mild else 12.0
    yy, xx = np.mgrid[0:h, 0:w]
    wave = amplitude * np.sin(2 * np.pi * (xx * np.cos(angle) + yy * np.sin(angle)) / period)
    noise = rng.normal(0, 4, (h, w, 3))
    x = np.asarray(image, dtype=np.float64) + wave[..., None] + noise
    out = Image.fromarray(np.clip(x, 0, 255).round().astype(np.uint8))
    return out, {"period": round(period, 3), "angle": round(float(angle), 3), "amplitude": amplitude}


_APPLY = {"crop": _crop, "scale": _scale, "rotate": _rotate, "perspective": _perspective, "blur": _blur,
          "jpeg": _jpeg, "photometric": _photometric, "moire": _moire}
_PHONE_CHAIN = ("crop", "perspective", "rotate", "photometric", "moire", "blur", "scale", "jpeg")


def distort(image, kind: str, seed: int, *, neighbour=None) -> tuple[Any, dict[str, Any]]:
    """Apply distortion ``kind`` to an RGB PIL ``image`` with parameters drawn from ``seed``.

    ``neighbour`` (an RGB PIL image, ``page``/``photo`` only) is drawn as the figure beside it
    on the page; None draws synthetic plot strokes there.

    Returns the distorted RGB PIL image and ``{"kind": kind, "seed": seed, ...parameters}``.
    """
    if kind not in KINDS:
        raise InputError(f"unknown distortion {kind!r}", fix=f"choose one of: {', '.join(KINDS)}")
    if not hasattr(image, "convert") or min(image.size) < 1:
        raise InputError("distort needs a non-empty PIL image", fix="pass PIL.Image.open(path)")
    rng = np.random.default_rng(seed)
    image = image.convert("RGB")
    if kind in ("page", "photo"):
        from scicmr.matching.page import page_photo

        out, params = page_photo(image, rng, kind, neighbour)
        return out, {"kind": kind, "seed": seed, **params}
    if kind != "phone":
        out, params = _APPLY[kind](image, rng)
        return out, {"kind": kind, "seed": seed, **params}
    steps = {}
    for step in _PHONE_CHAIN:
        image, steps[step] = _APPLY[step](image, rng, mild=True)
    return image, {"kind": kind, "seed": seed, "steps": steps}
