"""A generic out-of-domain image set, generated: the negative class of the domain classifier.

A digital library's figure collection is the in-domain class; what does not belong is
anything that is not a figure: photographs, textures, stray scans. Nothing can be downloaded
here, so the project draws stand-ins for those with numpy, in four families:

- ``natural``: colour noise with a 1/f^beta power spectrum (beta 1.6-2.4), the spectrum of
  natural photographs;
- ``scene``: a sky gradient over textured ground with a few blurred blobs (a snapshot);
- ``texture``: oriented sinusoidal gratings plus noise (fabric, wood, tiles);
- ``blocks``: overlapping random colour rectangles (posters, screenshots of colour fields).

Each image is (side, side, 3) uint8; the same seed gives the same set.
"""

from __future__ import annotations

import numpy as np

FAMILIES = ("natural", "scene", "texture", "blocks")


def _to_uint8(x: np.ndarray) -> np.ndarray:
    low, high = np.percentile(x, 1), np.percentile(x, 99)
    return np.clip((x - low) / max(high - low, 1e-9) * 255, 0, 255).astype(np.uint8)


def pink_noise(rng: np.random.Generator, side: int, beta: float, channels: int = 3) -> np.ndarray:
    """(side, side, channels) float noise with power spectrum ~ 1/f^beta."""
    fy = np.fft.fftfreq(side)[:, None]
    fx = np.fft.rfftfreq(side)[None, :]
    amplitude = 1.0 / np.maximum(np.hypot(fx, fy), 1.0 / side) ** (beta / 2)
    out = []
    for _ in range(channels):
        phase = rng.uniform(0, 2 * np.pi, amplitude.shape)
        out.append(np.fft.irfft2(amplitude * np.exp(1j * phase), s=(side, side)))
    mix = rng.uniform(0.3, 1.0, (channels, channels))  # correlated channels look like colour photos
    return np.tensordot(np.stack(out, -1), mix, axes=([2], [0]))


def _natural(rng, side):
    return _to_uint8(pink_noise(rng, side, rng.uniform(1.6, 2.4)))


def _scene(rng, side):
    yy, xx = np.mgrid[0:side, 0:side] / side
    horizon = rng.uniform(0.35, 0.7)
    sky = np.stack([0.4 + 0.3 * yy, 0.6 + 0.2 * yy, 0.95 - 0.1 * yy], -1) * rng.uniform(0.7, 1.1)
    ground = rng.uniform(0.15, 0.55, 3) + 0.08 * pink_noise(rng, side, 1.8) / 3
    img = np.where((yy > horizon)[..., None], ground, sky)
    for _ in range(int(rng.integers(2, 6))):
        cx, cy, r = rng.uniform(0, 1), rng.uniform(horizon - 0.2, 1), rng.uniform(0.04, 0.15)
        mask = np.exp(-(((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r**2)))[..., None]
        img = img * (1 - mask) + rng.uniform(0, 1, 3) * mask
    return _to_uint8(img + rng.normal(0, 0.02, img.shape))


def _texture(rng, side):
    yy, xx = np.mgrid[0:side, 0:side] / side
    img = np.zeros((side, side, 3))
    for _ in range(int(rng.integers(2, 5))):
        angle, freq = rng.uniform(0, np.pi), rng.uniform(4, 30)
        wave = np.sin(2 * np.pi * freq * (xx * np.cos(angle) + yy * np.sin(angle)) + rng.uniform(0, 6))
        img += wave[..., None] * rng.uniform(-1, 1, 3)
    return _to_uint8(img + rng.normal(0, 0.3, img.shape))


def _blocks(rng, side):
    img = np.ones((side, side, 3)) * rng.uniform(0, 1, 3)
    for _ in range(int(rng.integers(5, 15))):
        x0, y0 = rng.integers(0, side, 2)
        w, h = rng.integers(side // 8, side // 2, 2)
        img[y0 : y0 + h, x0 : x0 + w] = rng.uniform(0, 1, 3)
    return _to_uint8(img + rng.normal(0, 0.03, img.shape))


_DRAW = {"natural": _natural, "scene": _scene, "texture": _texture, "blocks": _blocks}


def out_of_domain_images(n: int, *, seed: int = 0, side: int = 128) -> list:
    """``n`` RGB PIL images, families dealt round-robin."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    return [Image.fromarray(_DRAW[FAMILIES[i % len(FAMILIES)]](rng, side), "RGB") for i in range(n)]
