"""Crop-aligned thumbnail correlation: is image B (a photo, a re-encoded copy) a crop of A?

A query photo of a figure shows part of it (framing crops 5-30 %), rescaled, blurred,
re-compressed. :func:`crop_grid` lists candidate crop boxes of the original (the whole image
plus squares of fractions ``CROP_FRACTIONS`` at a 5 x 5 grid of offsets); :class:`AlignedThumbs`
renders every box of a reference image to a small RGB thumbnail once, and
:func:`aligned_correlation` returns the best normalised cross-correlation (NCC) of a query
thumbnail against them, plus the box that gave it. :func:`refined_correlation` then searches
finer shifts and scales around the best box (matching); :func:`detail_correlation` compares
high-pass 64 px images at the aligned box (near-duplicate verification, where figures of one
template must be told apart from copies). NCC of mean-centred, L2-normalised pixel
vectors is invariant to brightness and contrast changes (an affine map of intensities), which
is why it survives exposure changes of a phone photo; blur and JPEG lower it only a little at
this resolution. Rotation and perspective are not searched: at 24 px a ±10° turn moves the
corners by ~2 px, which lowers NCC but keeps it well above unrelated figures (measured in
docs/matching.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THUMB = 24  # thumbnail side of the correlation
REFERENCE = 128  # side the reference is first reduced to (crops are cut from it)
CROP_FRACTIONS = (1.0, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7)
OFFSETS = 5  # offsets per axis for each fraction below 1


def crop_grid(fractions=CROP_FRACTIONS, offsets: int = OFFSETS) -> np.ndarray:
    """(m, 4) float64 boxes (x0, y0, x1, y1) in unit coordinates: per fraction f < 1, an
    ``offsets`` x ``offsets`` grid of f x f squares spanning the image; f = 1 the whole image."""
    boxes = []
    for f in fractions:
        steps = [0.0] if f >= 1 else list(np.linspace(0.0, 1.0 - f, offsets))
        boxes += [(x, y, x + f, y + f) for y in steps for x in steps]
    return np.asarray(boxes, dtype=np.float64)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows mean-centred and L2-normalised (flat rows stay zero)."""
    centred = vectors - vectors.mean(axis=-1, keepdims=True)
    norms = np.linalg.norm(centred, axis=-1, keepdims=True)
    return np.divide(centred, norms, out=np.zeros_like(centred), where=norms > 1e-9)


def thumb_vector(image, side: int = THUMB) -> np.ndarray:
    """(side*side*3,) float32 NCC vector of a whole RGB PIL image (box-averaged)."""
    from PIL import Image

    small = image.convert("RGB").resize((side, side), Image.BOX)
    return _normalise(np.asarray(small, dtype=np.float32).ravel())


@dataclass
class AlignedThumbs:
    """The NCC vectors of every crop box of one reference image: ``vectors`` (m, 3*side²)."""

    vectors: np.ndarray
    boxes: np.ndarray
    reference: object = None  # the REFERENCE-px RGB PIL image the crops are cut from

    def crop_vectors(self, boxes: np.ndarray, side: int = THUMB) -> np.ndarray:
        """(len(boxes), 3*side²) NCC vectors of arbitrary unit ``boxes`` (clipped to the image)."""
        from PIL import Image

        out = []
        for box in np.asarray(boxes, dtype=np.float64):
            size = min(box[2] - box[0], 1.0)
            x0 = min(max(box[0], 0.0), 1.0 - size)
            y0 = min(max(box[1], 0.0), 1.0 - size)
            pixel_box = tuple(np.array([x0, y0, x0 + size, y0 + size]) * REFERENCE)
            out.append(np.asarray(self.reference.resize((side, side), Image.BILINEAR, box=pixel_box), dtype=np.float32).ravel())
        return _normalise(np.stack(out))

    @classmethod
    def from_image(cls, image, boxes: np.ndarray | None = None, side: int = THUMB) -> "AlignedThumbs":
        """Crops of an RGB PIL ``image`` at ``boxes`` ((m, 4) unit boxes; default crop_grid())."""
        from PIL import Image

        boxes = crop_grid() if boxes is None else boxes
        reference = image.convert("RGB").resize((REFERENCE, REFERENCE), Image.BOX)
        crops = [
            np.asarray(reference.resize((side, side), Image.BILINEAR, box=tuple(b * REFERENCE)), dtype=np.float32).ravel()
            for b in boxes
        ]
        return cls(vectors=_normalise(np.stack(crops)), boxes=boxes, reference=reference)


def colour_difference(query_image, reference: AlignedThumbs, box: np.ndarray, side: int = THUMB) -> float:
    """Mean absolute RGB difference (0-255) between the query and the reference crop at
    ``box``, both at ``side`` px. NCC ignores colour shifts by design; this does not, which
    separates recoloured figures of one template from re-encoded copies."""
    from PIL import Image

    crop = np.asarray(reference.reference.resize((side, side), Image.BILINEAR, box=tuple(np.asarray(box) * REFERENCE)),
                      dtype=np.float64)
    query = np.asarray(query_image.convert("RGB").resize((side, side), Image.BOX), dtype=np.float64)
    return float(np.abs(crop - query).mean())


def aligned_correlation(query: np.ndarray, reference: AlignedThumbs) -> tuple[float, np.ndarray]:
    """Best NCC of a query vector ((3*side²,) from :func:`thumb_vector`) over the reference's
    crop boxes, in [-1, 1], and that box (4,)."""
    scores = reference.vectors @ query
    best = int(np.argmax(scores))
    return float(scores[best]), reference.boxes[best]


def refined_correlation(queries: np.ndarray, reference: AlignedThumbs, rounds: tuple[float, ...] = (0.03, 0.015)):
    """Coarse-to-fine: the best grid box over the (a, 3*side²) query vectors (e.g. one per
    query rotation), then per round the 3 x 3 shifts x 3 scales (step ``s`` in unit
    coordinates, scale 1 ± s) around the best box so far. The grid's offset step (up to 7.5 %
    of the side) would otherwise leave a crop up to a few thumbnail pixels off.

    Returns (best NCC, best box (4,), index of the best query row).
    """
    scores = reference.vectors @ queries.T  # (m, a)
    flat = int(np.argmax(scores))
    best, box, row = float(scores.flat[flat]), reference.boxes[flat // scores.shape[1]], flat % scores.shape[1]
    for step in rounds:
        size = box[2] - box[0]
        candidates = []
        for scale in (1 - step, 1.0, 1 + step):
            s = size * scale
            for dy in (-step, 0.0, step):
                for dx in (-step, 0.0, step):
                    x0, y0 = box[0] + (size - s) / 2 + dx, box[1] + (size - s) / 2 + dy
                    candidates.append((x0, y0, x0 + s, y0 + s))
        candidates = np.asarray(candidates)
        local = reference.crop_vectors(candidates) @ queries[row]
        if float(local.max()) > best:
            best, box = float(local.max()), candidates[int(np.argmax(local))]
    return best, box, row


DETAIL = 64  # side of the fine, high-pass comparison
DETAIL_SIGMA = 2.0  # Gaussian sigma (px at DETAIL) removed by the high-pass


def _detail(pixels: np.ndarray) -> np.ndarray:
    """High-pass (pixels minus their Gaussian blur), normalised: keeps text, markers and thin
    lines, drops the margins and frames that many figures of one style share."""
    from scipy.ndimage import gaussian_filter

    return _normalise((pixels - gaussian_filter(pixels, DETAIL_SIGMA)).ravel())


def detail_correlation(reference, query, box: np.ndarray, *, steps: int = 2) -> float:
    """Best high-pass NCC at ``DETAIL`` px of ``query`` against crops of ``reference`` (both
    grey PIL images) around ``box``: scales x{0.98..1.02} and shifts of up to ``steps`` px.

    Near-identical copies correlate above ~0.8 here, figures that merely share a layout
    (same template, other text and data) far lower; a coarse 24 px NCC cannot tell them apart.
    """
    from PIL import Image

    side = DETAIL * 2
    ref = reference.resize((side, side), Image.BOX)
    target = _detail(np.asarray(query.resize((DETAIL, DETAIL), Image.BOX), dtype=np.float32))
    x0, y0, x1, y1 = box * side
    size = x1 - x0
    best = -1.0
    for scale in (0.98, 0.99, 1.0, 1.01, 1.02):
        s = size * scale
        for dy in range(-steps, steps + 1):
            for dx in range(-steps, steps + 1):
                # Keep the box inside the reference (PIL refuses boxes outside it).
                s = min(s, side)
                cx = min(max(x0 + (size - s) / 2 + dx, 0.0), side - s)
                cy = min(max(y0 + (size - s) / 2 + dy, 0.0), side - s)
                crop = ref.resize((DETAIL, DETAIL), Image.BILINEAR, box=(cx, cy, cx + s, cy + s))
                best = max(best, float(_detail(np.asarray(crop, dtype=np.float32)) @ target))
    return best
