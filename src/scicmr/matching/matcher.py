"""Image -> image matching: a photo of a figure finds the original.

Three stages:

1. Shortlist: global CNN features (EfficientNet-Lite0 by default, L2-normalised; cosine
   similarity through :mod:`scicmr.index`'s exact index) give the ``shortlist`` most similar
   collection images.
2. Verify (the default ``verifier``, :class:`~scicmr.matching.local_features.LocalFeatureVerifier`):
   a phone photo shows the figure inside its page, so whole-image descriptors mostly describe
   the surroundings. The query's SIFT keypoints vote for figures (one approximate
   nearest-neighbour search over all reference keypoints); the ``verify`` most-voted figures
   and the ``verify_global`` best by cosine get a RANSAC homography; a plausible fit with at
   least ``min_inliers`` inliers *verifies* the figure, localises it (``quad``: its corners
   in the photo) and warps the photo back into the figure's frame for a band-passed
   correlation (``rectified_ncc``). Verified figures rank first (:func:`order_verified`,
   default "region": figures localised at the same place compete on that correlation, which
   tells apart figures of one template; places rank by inliers, so the photographed figure
   beats a cut-off neighbour), scored ``3 +`` their evidence.
3. Re-rank the rest: when nothing is verified (a tiny, blank or featureless query), the
   crop-aligned thumbnail correlation of :mod:`scicmr.matching.align` re-ranks the
   shortlist: the best NCC of the query's 24 px thumbnail over crops of the candidate
   (fractions 70-100 %, 5 x 5 offsets), the query also turned by each of ``angles``
   degrees; score ``ncc + global_weight * cosine``. When some figure is verified, the
   unverified ones follow by cosine.

``verifier=None`` gives the global + crop-aligned path alone. The candidates' crop
thumbnails are computed when first shortlisted and kept in memory; the local features are
computed in ``fit`` and saved with the matcher.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scicmr._io import atomic_save_npy, atomic_write_json, read_json
from scicmr.errors import InputError, LibraryError, NotFittedError


ORDERS = ("region", "inliers", "rectified_ncc")
VERIFIED = 3.0  # verified figures score VERIFIED + rectified NCC, above any unverified score


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


@dataclass
class Match:
    rank: int
    id: str
    score: float  # the ranking score
    global_score: float  # cosine of the global features
    ncc: float | None  # crop-aligned correlation (None when not computed)
    inliers: int | None = None  # RANSAC inliers of the local features (None when not verified)
    quad: list[list[float]] | None = None  # the figure's corners in the query (px), when verified
    rectified_ncc: float | None = None  # correlation of the query warped back into the figure

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "id": self.id, "score": round(self.score, 6),
                "global_score": round(self.global_score, 6), "ncc": _rounded(self.ncc), "inliers": self.inliers,
                "quad": self.quad, "rectified_ncc": _rounded(self.rectified_ncc)}


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def _make_verifier(verifier: Any):
    """None, a detector name ("sift", "orb") or a LocalFeatureVerifier (used as given)."""
    if verifier is None or not isinstance(verifier, str):
        return verifier
    from scicmr.matching.local_features import LocalFeatureVerifier

    return LocalFeatureVerifier(detector=verifier)


def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of the bounding boxes of two (4, 2) quads."""
    lo, hi = np.maximum(a.min(0), b.min(0)), np.minimum(a.max(0), b.max(0))
    inter = float(np.prod(np.clip(hi - lo, 0, None)))
    union = float(np.prod(a.max(0) - a.min(0)) + np.prod(b.max(0) - b.min(0))) - inter
    return inter / union if union > 0 else 0.0


def order_verified(found: dict[int, Any], cosines: np.ndarray, order: str = "region") -> tuple[list[int], dict[int, float]]:
    """Verified positions best first, and each one's score (higher is better, ranks agree).

    ``found``: {position: Verification with inliers > 0, a quad and a rectified ncc};
    ``cosines``: (n,) global scores (the last tie-breaker). Orders:

    - "inliers": by inliers, then rectified NCC.
    - "rectified_ncc": by rectified NCC (the photo warped back into the figure), then inliers.
    - "region": figures whose quads cover the same region of the photo (box IoU >= 0.5)
      compete on rectified NCC (figures of one template share keypoints, not pixels), and
      regions rank by their most inliers (the photographed figure, not a cut-off neighbour).
    """
    if order not in ORDERS:
        raise InputError(f"unknown order {order!r}", fix=f"choose one of: {', '.join(ORDERS)}")
    unit = {p: (float(v.ncc) + 1) / 2 * 0.999 for p, v in found.items()}  # [0, 1): below one inlier
    if order == "rectified_ncc":
        scores = {p: 2 * unit[p] - 1 for p in found}
        key = {p: (-found[p].ncc, -found[p].inliers) for p in found}
    else:
        strength = {p: float(v.inliers) for p, v in found.items()}
        if order == "region":
            strength = {p: max(strength[q] for q in found if _overlap(found[p].quad, found[q].quad) >= 0.5)
                        for p in found}
        scores = {p: strength[p] + unit[p] for p in found}
        key = {p: (-strength[p], -found[p].ncc, -found[p].inliers) for p in found}
    ranked = sorted(found, key=lambda p: (*key[p], -float(cosines[p]), p))
    return ranked, scores


class ImageMatcher:
    """Shortlist by global features, verify by local features, re-rank by crop-aligned correlation.

    Args:
        encoder: image encoder spec (name or dict) for the global features.
        shortlist: candidates re-ranked per query by the crop-aligned correlation.
        rerank: False gives the global ranking alone (no verification either).
        global_weight: weight of the cosine in the re-ranked score (0.25: chosen on validation
            queries in bench/query_matching.py, see docs/matching.md).
        angles: query rotations (degrees) tried by the correlation.
        verifier: local-feature verifier: "sift" (default), "orb", a
            :class:`~scicmr.matching.local_features.LocalFeatureVerifier`, or None (global +
            crop-aligned correlation only).
        verify: most-voted figures verified per query; None verifies every figure (the slow
            reference the shortlist is tested against).
        verify_global: best-by-cosine figures verified as well.
        order: how verified figures are ordered (:func:`order_verified`): "region",
            "inliers" or "rectified_ncc"; chosen on validation photos in bench/photo_matching.py.
    """

    def __init__(self, encoder: Any = "efficientnet-lite0", shortlist: int = 30, rerank: bool = True,
                 global_weight: float = 0.25, angles: Sequence[float] = (-8.0, -4.0, 0.0, 4.0, 8.0),
                 verifier: Any = "sift", verify: int | None = 20, verify_global: int = 0,
                 order: str = "region"):
        if int(shortlist) < 1:
            raise InputError(f"shortlist must be >= 1, got {shortlist}")
        if verify is not None and int(verify) < 0 or int(verify_global) < 0:
            raise InputError(f"verify and verify_global must be >= 0, got {verify}, {verify_global}")
        if order not in ORDERS:
            raise InputError(f"unknown order {order!r}", fix=f"choose one of: {', '.join(ORDERS)}")
        self.encoder = encoder
        self.order = order
        self.shortlist = int(shortlist)
        self.rerank = bool(rerank)
        self.global_weight = float(global_weight)
        self.angles = tuple(float(a) for a in angles)
        self.verifier = _make_verifier(verifier)
        self.verify = None if verify is None else int(verify)
        self.verify_global = int(verify_global)
        self._encoder = None
        self._refs: dict[int, Any] = {}

    # ------------------------------------------------------------------ fitting
    def encoder_(self):
        if self._encoder is None:
            from scicmr.encoders import Encoder, create_encoder

            self._encoder = self.encoder if isinstance(self.encoder, Encoder) else create_encoder(self.encoder)
        return self._encoder

    def fit(self, ids: Sequence[str], sources: Sequence[Any], features: np.ndarray | None = None) -> "ImageMatcher":
        """Index ``sources`` (image paths or PIL images) under ``ids``; ``features`` ((n, d),
        from the same encoder) skip encoding them."""
        if len(ids) != len(sources) or not ids:
            raise InputError(f"fit needs one source per id and at least one, got {len(ids)} ids, {len(sources)} sources")
        self.ids_ = list(ids)
        self.sources_ = list(sources)
        vectors = features if features is not None else self.encoder_().encode(self.sources_, batch_size=16)
        self.features_ = _unit(vectors)
        if self.verifier is not None:
            self.verifier.fit(self.sources_)
        self._refs = {}
        self._built = None
        return self

    def _check(self) -> None:
        if not hasattr(self, "features_"):
            raise NotFittedError("ImageMatcher")

    # ------------------------------------------------------------------ matching
    def _reference(self, position: int):
        from scicmr.corpus.images import load_image
        from scicmr.matching.align import AlignedThumbs

        if position not in self._refs:
            self._refs[position] = AlignedThumbs.from_image(load_image(self.sources_[position]))
        return self._refs[position]

    def _query_thumbs(self, image) -> np.ndarray:
        from PIL import Image

        from scicmr.matching.align import thumb_vector

        return np.stack([thumb_vector(image if a == 0 else image.rotate(-a, Image.BILINEAR, fillcolor=(255, 255, 255)))
                         for a in self.angles])

    def _index(self):
        from scicmr.index import create_index

        if getattr(self, "_built", None) is None:
            self._built = create_index("exact", self.features_.shape[1], metric="ip")
            self._built.add(self.features_, np.arange(len(self.ids_), dtype=np.int64))
        return self._built

    def shortlist_for(self, images: Sequence[Any], m: int) -> tuple[np.ndarray, np.ndarray]:
        """Global stage: (q, m) cosines and (q, m) collection positions, best first (ties by
        ascending position, the index contract)."""
        return self._index().search(self.encode(images), min(int(m), len(self.ids_)))

    def encode(self, images: Sequence[Any]) -> np.ndarray:
        """(q, d) unit global vectors of query images."""
        self._check()
        return _unit(self.encoder_().encode(list(images), batch_size=16))

    def match(self, image: Any, k: int = 10) -> list[Match]:
        """Top ``k`` collection images for one query (path or PIL image)."""
        return self.match_many([image], k)[0]

    def correlations(self, images: Sequence[Any], positions: np.ndarray) -> np.ndarray:
        """(q, m) crop-aligned NCC of each query image against its shortlisted positions."""
        from scicmr.corpus.images import load_image
        from scicmr.matching.align import refined_correlation

        out = np.empty(np.shape(positions), dtype=np.float64)
        for row, (image, order) in enumerate(zip(images, positions)):
            thumbs = self._query_thumbs(load_image(image))
            out[row] = [refined_correlation(thumbs, self._reference(int(p)))[0] for p in order]
        return out

    def rank(self, cosines: np.ndarray, positions: np.ndarray, ncc: np.ndarray | None, k: int) -> list[list[Match]]:
        """Top-``k`` Matches from shortlist arrays ((q, m) each); ``ncc`` None ranks by cosine."""
        out = []
        for q, (row, order) in enumerate(zip(cosines, positions)):
            if ncc is None:
                out.append([Match(r + 1, self.ids_[p], float(c), float(c), None)
                            for r, (c, p) in enumerate(zip(row[:k], order[:k]))])
                continue
            final = ncc[q] + self.global_weight * row
            ranked = np.argsort(-final, kind="stable")[:k]
            out.append([Match(r + 1, self.ids_[order[i]], float(final[i]), float(row[i]), float(ncc[q][i]))
                        for r, i in enumerate(ranked)])
        return out

    def match_many(self, images: Sequence[Any], k: int = 10, *, rerank: bool | None = None) -> list[list[Match]]:
        """Top ``k`` matches of each query image (re-ranked unless ``rerank`` is False)."""
        if int(k) < 1:
            raise InputError(f"k must be >= 1, got {k}")
        rerank = self.rerank if rerank is None else rerank
        if rerank and self.verifier is not None:
            from scicmr.corpus.images import load_image

            loaded = [load_image(image) for image in images]
            return [self._match_verified(image, vector, int(k)) for image, vector in zip(loaded, self.encode(loaded))]
        cosines, positions = self.shortlist_for(images, max(self.shortlist, k) if rerank else k)
        return self.rank(cosines, positions, self.correlations(images, positions) if rerank else None, k)

    def verifications(self, image, cosines: np.ndarray) -> dict[int, Any]:
        """{collection position: Verification} of one query PIL image's candidates: the
        ``verify`` most-voted figures (every figure when ``verify`` is None) and the
        ``verify_global`` best by ``cosines`` ((n,) global scores). Quads are in the image's px."""
        self._check()
        if getattr(self.verifier, "offsets_", None) is None:
            raise NotFittedError("ImageMatcher's verifier")
        view = self.verifier.describe_query(image)
        if self.verify is None:
            positions = list(range(len(self.ids_)))
        else:
            votes = self.verifier.votes(view.descriptors)
            voted = [int(p) for p in np.argsort(-votes, kind="stable")[: self.verify] if votes[p] > 0]
            positions = list(dict.fromkeys(voted + [int(p) for p in np.argsort(-cosines, kind="stable")[: self.verify_global]]))
        out = {}
        for position in positions:
            found = self.verifier.verify(view, position)
            if found.quad is not None:
                found.quad = found.quad / view.scale
            out[position] = found
        return out

    def _match_verified(self, image, vector: np.ndarray, k: int) -> list[Match]:
        """Top ``k`` for one query: verified figures by rectified NCC (then inliers, cosine),
        then the rest by cosine; with nothing verified, the crop-aligned re-ranking."""
        cosines = self.features_ @ vector
        found = {p: v for p, v in self.verifications(image, cosines).items() if v.inliers > 0}
        if not found:
            order = np.argsort(-cosines, kind="stable")[: max(self.shortlist, k)]
            return self.rank(cosines[order][None], order[None], self.correlations([image], order[None]), k)[0]
        verified, scores = order_verified(found, cosines, self.order)
        rest = [int(p) for p in np.argsort(-cosines, kind="stable")[: k + len(found)] if int(p) not in found]
        out = []
        for rank, position in enumerate((verified + rest)[:k], start=1):
            evidence = found.get(position)
            if evidence is None:
                out.append(Match(rank, self.ids_[position], float(cosines[position]), float(cosines[position]), None))
                continue
            out.append(Match(rank, self.ids_[position], VERIFIED + scores[position], float(cosines[position]), None,
                             evidence.inliers, np.round(evidence.quad, 2).tolist(), evidence.ncc))
        return out

    # ------------------------------------------------------------------ persistence
    def config(self) -> dict[str, Any]:
        encoder = self.encoder_().config() if not isinstance(self.encoder, (str, dict)) else self.encoder
        verifier = None if self.verifier is None else self.verifier.get_params()
        return {"class": "ImageMatcher", "encoder": encoder, "shortlist": self.shortlist, "rerank": self.rerank,
                "global_weight": self.global_weight, "angles": list(self.angles), "verifier": verifier,
                "verify": self.verify, "verify_global": self.verify_global, "order": self.order}

    def save(self, directory: str | Path) -> Path:
        """config.json, ids.json, sources.json (paths), features.npy and the verifier's local
        features (local*.npy, local.json); every file written atomically, config.json last."""
        self._check()
        if not all(isinstance(s, (str, Path)) for s in self.sources_):
            raise InputError("only a matcher fitted on image paths can be saved", fix="fit it on file paths")
        directory = Path(directory)
        atomic_write_json(directory / "ids.json", self.ids_)
        atomic_write_json(directory / "sources.json", [str(s) for s in self.sources_])
        atomic_save_npy(directory / "features.npy", self.features_)
        if self.verifier is not None:
            self.verifier.save(directory)
        atomic_write_json(directory / "config.json", self.config())
        return directory

    @staticmethod
    def saved_config(directory: str | Path) -> dict[str, Any] | None:
        """The config.json of a matcher saved at ``directory``, or None."""
        path = Path(directory) / "config.json"
        return read_json(path) if path.exists() else None

    @classmethod
    def load(cls, directory: str | Path, encoder: Any = None) -> "ImageMatcher":
        """A saved matcher; ``encoder`` (an Encoder) replaces the saved spec for queries."""
        directory = Path(directory)
        if not (directory / "features.npy").exists():
            raise LibraryError(f"no saved image matcher at {directory}", fix="build one with ImageMatcher().fit(...).save(dir)")
        config = read_json(directory / "config.json")
        spec = encoder if encoder is not None else config["encoder"]
        if isinstance(spec, dict) and "params" in spec and encoder is None:
            spec = {"name": spec["name"], **spec["params"]}
        verifier = None
        if config.get("verifier") is not None:
            from scicmr.matching.local_features import LocalFeatureVerifier

            verifier = LocalFeatureVerifier.load(directory)
        matcher = cls(spec, config["shortlist"], config["rerank"], config["global_weight"], config["angles"],
                      verifier=verifier, verify=config.get("verify", 20), verify_global=config.get("verify_global", 0),
                      order=config.get("order", "region"))
        matcher.ids_ = read_json(directory / "ids.json")
        matcher.sources_ = read_json(directory / "sources.json")
        matcher.features_ = np.load(directory / "features.npy")
        return matcher
