"""Local features and geometric verification: find a figure *inside* a photo (MPEG CDVS style).

A phone photo shows the figure inside its printed page: text lines, neighbouring figures and
a desk fill half the frame, so a whole-image descriptor (a CNN vector, a thumbnail) mostly
describes the surroundings. Local features do not: :class:`LocalFeatureVerifier`

1. ``fit``: detects keypoints (SIFT or ORB, OpenCV) on each grey reference figure, resized to
   each of ``reference_sides`` px on its long side (a fine and a coarse scale: fine text
   blurs away in a distant photo), keeps the ``features`` strongest per scale (positions in
   the figure's own pixels, descriptors as uint8) and a grey thumbnail;
2. ``shortlist``: matches the query's descriptors against all references at once (a FLANN
   k-d forest for SIFT, LSH for ORB); each query descriptor whose nearest reference
   descriptor passes the ratio test against the nearest one *of another figure* votes for
   that figure; the most-voted figures are the candidates;
3. ``verify``: per candidate, exact 2-nearest-neighbour matching with the ratio test, then a
   RANSAC homography (``cv2.findHomography``): the inlier count is the evidence, and the
   homography maps the figure's corners into the photo (the ``quad``). Degenerate fits (a
   quadrilateral that is not convex or is tiny) count as no evidence. The photo is warped
   back into the figure's frame and correlated with its thumbnail (``rectified_ncc``).

The learned state: ``points_`` (N, 2) float32, ``descriptors_`` (N, D) uint8, ``offsets_``
(n + 1,) int64 (figure i owns rows offsets_[i]:offsets_[i+1]), ``sizes_`` (n, 2) int64 (w, h)
and ``thumbs_`` (n, THUMB, THUMB) uint8.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scicmr.errors import InputError, NotFittedError

DETECTORS = ("sift", "orb")
MIN_SIDE = 16  # an image smaller than this on its short side has no usable features
THUMB = 128  # side of the grey reference thumbnail the rectified photo is compared with
BAND = (1.0, 6.0)  # Gaussian sigmas (px at THUMB) of the band-pass before that comparison


def _cv2():
    try:
        import cv2
    except ImportError as error:  # pragma: no cover - the match extra installs it
        raise InputError("local-feature matching needs OpenCV", fix="pip install 'scicmr[match]' "
                         "(opencv-python-headless), or use ImageMatcher(verifier=None)") from error
    return cv2


@dataclass
class Verification:
    """One candidate's geometric evidence: RANSAC ``inliers`` (0 without a usable fit),
    ``matches`` (ratio-test matches) and ``quad`` ((4, 2) figure corners in the query's pixels,
    or None)."""

    inliers: int
    matches: int
    quad: np.ndarray | None = None
    ncc: float | None = None  # rectified correlation (see LocalFeatureVerifier.rectified_ncc)


@dataclass
class QueryView:
    """A described query: ``pixels`` (h, w) uint8 grey at the working size, keypoint
    ``points`` (m, 2) in those pixels, ``descriptors`` (m, D) uint8, and ``scale`` (working
    size / original size)."""

    pixels: np.ndarray
    points: np.ndarray
    descriptors: np.ndarray
    scale: float


def _grey(image, side: int, upscale: bool) -> tuple[np.ndarray, float]:
    """(h, w) uint8 grey pixels of a PIL image with its long side scaled to ``side`` (only
    down unless ``upscale``), and the scale factor applied."""
    from PIL import Image

    grey = image.convert("L")
    scale = side / max(grey.size)
    if scale < 1 or upscale:
        grey = grey.resize((max(1, round(grey.width * scale)), max(1, round(grey.height * scale))), Image.BICUBIC)
    else:
        scale = 1.0
    return np.asarray(grey, dtype=np.uint8), scale


def _plausible(quad: np.ndarray, query_shape: tuple[int, int]) -> bool:
    """A convex quadrilateral of reasonable size: not a collapsed or twisted fit."""
    edges = np.roll(quad, -1, axis=0) - quad
    cross = edges[:, 0] * np.roll(edges, -1, axis=0)[:, 1] - edges[:, 1] * np.roll(edges, -1, axis=0)[:, 0]
    if not (np.all(cross > 0) or np.all(cross < 0)):
        return False
    x, y = quad.T
    area = abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2
    return area >= 0.005 * query_shape[0] * query_shape[1]


def _nearest_two(reference: np.ndarray, query: np.ndarray, binary: bool):
    """For each reference descriptor ((r, D) uint8) its two nearest query descriptors ((m, D)
    uint8; L2, or Hamming when ``binary``): (reference rows, nearest query rows, nearest
    distances, second distances), each (r',) for the r' rows that have two neighbours."""
    cv2 = _cv2()
    if binary:
        found = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(reference, query, k=2)
    else:
        found = cv2.BFMatcher(cv2.NORM_L2).knnMatch(reference.astype(np.float32), query.astype(np.float32), k=2)
    found = [pair for pair in found if len(pair) == 2]
    rows = np.array([m.queryIdx for m, _ in found], dtype=np.int64)
    first = np.array([m.trainIdx for m, _ in found], dtype=np.int64)
    d1 = np.array([m.distance for m, _ in found], dtype=np.float64)
    d2 = np.array([n.distance for _, n in found], dtype=np.float64)
    return rows, first, d1, d2


class LocalFeatureVerifier:
    """Local-feature shortlist and RANSAC-homography verification of collection figures.

    Args:
        detector: "sift" (128-d, scale- and blur-robust) or "orb" (binary, faster, weaker).
        features: keypoints kept per reference figure and scale (the strongest).
        query_features: keypoints kept per query photo.
        reference_sides: long sides (px) references are described at (small ones upscaled):
            a coarse scale keeps keypoints that survive a blurred, distant photo.
        query_side: long side (px) queries are reduced to (bounds the time per query).
        ratio: Lowe's ratio test threshold (nearest / second-nearest distance).
        ransac_px: RANSAC reprojection threshold in query pixels (at ``query_side``).
        min_inliers: fewer inliers than this count as no evidence (0).
    """

    def __init__(self, detector: str = "sift", features: int = 300, query_features: int = 6000,
                 reference_sides: Sequence[int] = (640, 256), query_side: int = 1600, ratio: float = 0.8,
                 ransac_px: float = 8.0, min_inliers: int = 10):
        if detector not in DETECTORS:
            raise InputError(f"unknown detector {detector!r}", fix=f"choose one of: {', '.join(DETECTORS)}")
        if min(int(features), int(query_features)) < 8 or not 0 < float(ratio) <= 1:
            raise InputError("features and query_features must be >= 8 and ratio in (0, 1]")
        self.detector = detector
        self.features = int(features)
        self.query_features = int(query_features)
        self.reference_sides = [int(side) for side in reference_sides]
        if not self.reference_sides or min(self.reference_sides) < MIN_SIDE:
            raise InputError(f"reference_sides must list sides >= {MIN_SIDE}, got {reference_sides}")
        self.query_side = int(query_side)
        self.ratio = float(ratio)
        self.ransac_px = float(ransac_px)
        self.min_inliers = int(min_inliers)
        self._index = None

    def get_params(self) -> dict[str, Any]:
        return {"detector": self.detector, "features": self.features, "query_features": self.query_features,
                "reference_sides": list(self.reference_sides), "query_side": self.query_side, "ratio": self.ratio,
                "ransac_px": self.ransac_px, "min_inliers": self.min_inliers}

    # ------------------------------------------------------------------ features
    def _extractor(self, n: int):
        cv2 = _cv2()
        return cv2.SIFT_create(nfeatures=n) if self.detector == "sift" else cv2.ORB_create(nfeatures=n)

    def _keypoints(self, pixels: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(m, 2) float32 positions and (m, D) uint8 descriptors of grey ``pixels`` (none for
        images under ``MIN_SIDE`` px or of one flat colour)."""
        dim = 128 if self.detector == "sift" else 32
        if min(pixels.shape) < MIN_SIDE or int(pixels.max()) == int(pixels.min()):
            return np.zeros((0, 2), np.float32), np.zeros((0, dim), np.uint8)
        keypoints, descriptors = self._extractor(n).detectAndCompute(pixels, None)
        if descriptors is None or not keypoints:
            return np.zeros((0, 2), np.float32), np.zeros((0, dim), np.uint8)
        points = np.array([k.pt for k in keypoints], dtype=np.float32)
        return points, np.clip(descriptors, 0, 255).astype(np.uint8)

    def describe(self, image) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A reference PIL image: keypoint positions (m, 2) float32 in its own pixels, (m, D)
        uint8 descriptors, and its (THUMB, THUMB) uint8 grey thumbnail (stretched square)."""
        from PIL import Image

        points, descriptors = [], []
        for side in self.reference_sides:
            pixels, scale = _grey(image, side, upscale=True)
            p, d = self._keypoints(pixels, self.features)
            points.append(p / scale), descriptors.append(d)
        thumb = np.asarray(image.convert("L").resize((THUMB, THUMB), Image.BOX), dtype=np.uint8)
        return np.concatenate(points), np.concatenate(descriptors), thumb

    def describe_query(self, image) -> QueryView:
        """A query PIL image reduced to ``query_side`` px on its long side, described."""
        pixels, scale = _grey(image, self.query_side, upscale=False)
        points, descriptors = self._keypoints(pixels, self.query_features)
        return QueryView(pixels, points, descriptors, scale)

    def fit(self, images: Sequence[Any]) -> "LocalFeatureVerifier":
        """Describe every reference (PIL images or paths, in collection order)."""
        from scicmr._progress import progress
        from scicmr.corpus.images import load_image

        if not len(images):
            raise InputError("LocalFeatureVerifier.fit needs at least one image")
        points, descriptors, sizes, thumbs = [], [], [], []
        # ~0.2 s a figure: a library's first photo search describes every figure once (then saved).
        for source in progress(images, total=len(images), desc="describing figures (SIFT)", unit="figure"):
            image = load_image(source)
            p, d, thumb = self.describe(image)
            points.append(p), descriptors.append(d), sizes.append(image.size), thumbs.append(thumb)
        return self._set_state(points, descriptors, sizes, thumbs)

    def _set_state(self, points, descriptors, sizes, thumbs) -> "LocalFeatureVerifier":
        self.offsets_ = np.concatenate([[0], np.cumsum([len(p) for p in points])]).astype(np.int64)
        self.points_ = np.concatenate(points).astype(np.float32)
        self.descriptors_ = np.concatenate(descriptors).astype(np.uint8)
        self.sizes_ = np.asarray(sizes, dtype=np.int64).reshape(-1, 2)
        self.thumbs_ = np.asarray(thumbs, dtype=np.uint8).reshape(-1, THUMB, THUMB)
        self._index = None
        return self

    def _check(self) -> None:
        if not hasattr(self, "offsets_"):
            raise NotFittedError("LocalFeatureVerifier")

    def __len__(self) -> int:
        self._check()
        return len(self.sizes_)

    # ------------------------------------------------------------------ matching
    def _owner(self, rows: np.ndarray) -> np.ndarray:
        """The figure position owning each descriptor row."""
        return np.searchsorted(self.offsets_, rows, side="right") - 1

    def _flann(self):
        """The approximate nearest-neighbour index over every reference descriptor (built on
        first use): a k-d forest for SIFT, LSH tables for ORB."""
        if self._index is None:
            cv2 = _cv2()
            cv2.setRNGSeed(0)  # FLANN's randomised trees draw from OpenCV's RNG: one seed, one index
            if self.detector == "sift":
                self._index = cv2.flann_Index(self.descriptors_.astype(np.float32), {"algorithm": 1, "trees": 4})
            else:
                self._index = cv2.flann_Index(self.descriptors_, {"algorithm": 6, "table_number": 6, "key_size": 12,
                                                                  "multi_probe_level": 1})
        return self._index

    def votes(self, descriptors: np.ndarray, neighbours: int = 8) -> np.ndarray:
        """(n,) votes per figure: a query descriptor ((m, D) uint8) votes for the figure of its
        nearest reference descriptor when it passes the ratio test against the nearest
        descriptor of any other figure."""
        self._check()
        counts = np.zeros(len(self.sizes_), dtype=np.float64)
        if len(descriptors) == 0 or len(self.descriptors_) < 2:
            return counts
        k = int(min(neighbours, len(self.descriptors_)))
        query = descriptors.astype(np.float32) if self.detector == "sift" else descriptors
        rows, dists = self._flann().knnSearch(query, k, params={"checks": 64})
        rows, dists = np.asarray(rows, dtype=np.int64).reshape(len(query), k), np.asarray(dists, np.float64).reshape(len(query), k)
        valid = rows >= 0
        owners = np.where(valid, self._owner(np.clip(rows, 0, None)), -1)
        other = valid & (owners != owners[:, :1])
        has_other = other.any(axis=1)
        second = np.where(has_other, dists[np.arange(len(query)), np.argmax(other, axis=1)], np.inf)
        ratio = self.ratio ** 2 if self.detector == "sift" else self.ratio  # FLANN L2 distances are squared
        passed = valid[:, 0] & (dists[:, 0] < ratio * second)
        np.add.at(counts, owners[passed, 0], 1.0)
        return counts

    def _pair_matches(self, descriptors: np.ndarray, position: int) -> tuple[np.ndarray, np.ndarray]:
        """Ratio-test matches between one figure's keypoints and the query's, each reference
        keypoint to its nearest query keypoint (the ratio against the second nearest), one
        match per query keypoint: (query rows, reference rows) int arrays."""
        start, stop = self.offsets_[position], self.offsets_[position + 1]
        reference = self.descriptors_[start:stop]
        if len(reference) < 2 or len(descriptors) < 2:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        ref_rows, q_rows, d1, d2 = _nearest_two(reference, descriptors, binary=self.detector == "orb")
        keep = d1 < self.ratio * d2
        order = np.argsort(d1[keep], kind="stable")  # the closest match of each query keypoint wins
        q_rows, ref_rows = q_rows[keep][order], ref_rows[keep][order]
        _, unique = np.unique(q_rows, return_index=True)
        return q_rows[unique], ref_rows[unique] + start

    def verify(self, view: QueryView, position: int) -> Verification:
        """Geometric evidence that figure ``position`` is in the described query ``view``;
        the quad is in the view's (working-size) pixels."""
        cv2 = _cv2()
        q_rows, r_rows = self._pair_matches(view.descriptors, position)
        if len(q_rows) < max(4, self.min_inliers):
            return Verification(0, len(q_rows))
        source = self.points_[r_rows].reshape(-1, 1, 2)
        target = view.points[q_rows].reshape(-1, 1, 2).astype(np.float32)
        matrix, mask = cv2.findHomography(source, target, cv2.RANSAC, self.ransac_px, maxIters=2000, confidence=0.995)
        if matrix is None or mask is None:
            return Verification(0, len(q_rows))
        inliers = int(mask.sum())
        w, h = self.sizes_[position]
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32).reshape(-1, 1, 2)
        quad = cv2.perspectiveTransform(corners, matrix).reshape(4, 2).astype(np.float64)
        if inliers < self.min_inliers or not np.all(np.isfinite(quad)) or not _plausible(quad, view.pixels.shape):
            return Verification(0, len(q_rows))
        return Verification(inliers, len(q_rows), quad, self.rectified_ncc(view.pixels, matrix, position))

    def rectified_ncc(self, pixels: np.ndarray, matrix: np.ndarray, position: int) -> float:
        """Band-passed NCC, in [-1, 1], between figure ``position``'s thumbnail and the query
        ``pixels`` (h, w) warped back into the figure's frame by the homography ``matrix``
        (figure px -> query px). Figures of one template (same axes and labels, other data)
        share many keypoints; their pixels do not."""
        from scipy.ndimage import gaussian_filter

        cv2 = _cv2()
        w, h = self.sizes_[position]
        to_query = matrix @ np.diag([w / THUMB, h / THUMB, 1.0])
        flags = cv2.INTER_AREA | cv2.WARP_INVERSE_MAP
        warped = cv2.warpPerspective(pixels, to_query, (THUMB, THUMB), flags=flags).astype(np.float32)
        seen = cv2.warpPerspective(np.full(pixels.shape, 255, np.uint8), to_query, (THUMB, THUMB), flags=flags) > 128
        if seen.mean() < 0.5:
            return 0.0
        a, b = (gaussian_filter(x, BAND[0]) - gaussian_filter(x, BAND[1])
                for x in (warped, self.thumbs_[position].astype(np.float32)))
        a, b = a[seen] - a[seen].mean(), b[seen] - b[seen].mean()
        norm = float(np.linalg.norm(a) * np.linalg.norm(b))
        return float(a @ b / norm) if norm > 1e-6 else 0.0

    def verify_image(self, image, positions: Sequence[int] | None = None) -> tuple[list[Verification], QueryView]:
        """Verify the figures at ``positions`` (all when None) in one query PIL image.

        Returns one :class:`Verification` per position (quads in the image's own pixels) and
        the described query (for :meth:`votes`)."""
        self._check()
        view = self.describe_query(image)
        positions = range(len(self.sizes_)) if positions is None else positions
        out = []
        for p in positions:
            found = self.verify(view, int(p))
            if found.quad is not None:
                found.quad = found.quad / view.scale
            out.append(found)
        return out, view

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | Path, prefix: str = "local") -> Path:
        """``<prefix>.json`` (parameters) and ``<prefix>_{points,descriptors,offsets,sizes,thumbs}.npy``
        under ``directory``, each written atomically."""
        from scicmr._io import atomic_save_npy, atomic_write_json

        self._check()
        directory = Path(directory)
        for name in ("points", "descriptors", "offsets", "sizes", "thumbs"):
            atomic_save_npy(directory / f"{prefix}_{name}.npy", getattr(self, f"{name}_"))
        atomic_write_json(directory / f"{prefix}.json", {"class": "LocalFeatureVerifier", **self.get_params()})
        return directory

    @classmethod
    def load(cls, directory: str | Path, prefix: str = "local") -> "LocalFeatureVerifier":
        from scicmr._io import read_json

        directory = Path(directory)
        params = {k: v for k, v in read_json(directory / f"{prefix}.json").items() if k != "class"}
        verifier = cls(**params)
        verifier.offsets_ = np.load(directory / f"{prefix}_offsets.npy")
        verifier.points_ = np.load(directory / f"{prefix}_points.npy")
        verifier.descriptors_ = np.load(directory / f"{prefix}_descriptors.npy")
        verifier.sizes_ = np.load(directory / f"{prefix}_sizes.npy")
        verifier.thumbs_ = np.load(directory / f"{prefix}_thumbs.npy")
        return verifier

    @staticmethod
    def saved(directory: str | Path, prefix: str = "local") -> bool:
        return (Path(directory) / f"{prefix}.json").exists()
