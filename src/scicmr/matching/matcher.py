"""Image -> image matching: a photo of a figure finds the original.

Two stages:

1. Shortlist: global CNN features (EfficientNet-Lite0 by default, L2-normalised; cosine
   similarity through :mod:`scicmr.index`'s exact index) give the ``shortlist`` most similar
   collection images.
2. Re-rank: for each shortlisted image, the crop-aligned thumbnail correlation of
   :mod:`scicmr.matching.align`: the best NCC of the query's 24 px thumbnail over crops of the
   candidate (fractions 70-100 %, 5 x 5 offsets), with the query also turned by each of
   ``angles`` degrees (a photo is rarely square to the page). The final score is
   ``ncc + global_weight * cosine``. A global CNN vector knows *what kind* of figure it sees
   (a bar chart); the aligned correlation checks that the pixels *are* this figure.

The candidates' crop thumbnails are computed when first shortlisted and kept in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scicmr._io import atomic_save_npy, atomic_write_json, read_json
from scicmr.errors import InputError, LibraryError, NotFittedError


@dataclass
class Match:
    rank: int
    id: str
    score: float  # the ranking score
    global_score: float  # cosine of the global features
    ncc: float | None  # crop-aligned correlation (None without re-ranking)

    def to_dict(self) -> dict[str, Any]:
        return {"rank": self.rank, "id": self.id, "score": round(self.score, 6),
                "global_score": round(self.global_score, 6), "ncc": None if self.ncc is None else round(self.ncc, 6)}


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


class ImageMatcher:
    """Shortlist by global features, re-rank by crop-aligned correlation.

    Args:
        encoder: image encoder spec (name or dict) for the global features.
        shortlist: candidates re-ranked per query.
        rerank: False gives the global ranking alone.
        global_weight: weight of the cosine in the re-ranked score (0.25: chosen on validation
            queries in bench/query_matching.py, see docs/matching.md).
        angles: query rotations (degrees) tried by the correlation.
    """

    def __init__(self, encoder: Any = "efficientnet-lite0", shortlist: int = 30, rerank: bool = True,
                 global_weight: float = 0.25, angles: Sequence[float] = (-8.0, -4.0, 0.0, 4.0, 8.0)):
        if int(shortlist) < 1:
            raise InputError(f"shortlist must be >= 1, got {shortlist}")
        self.encoder = encoder
        self.shortlist = int(shortlist)
        self.rerank = bool(rerank)
        self.global_weight = float(global_weight)
        self.angles = tuple(float(a) for a in angles)
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
        self._check()
        queries = _unit(self.encoder_().encode(list(images), batch_size=16))
        return self._index().search(queries, min(int(m), len(self.ids_)))

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
        cosines, positions = self.shortlist_for(images, max(self.shortlist, k) if rerank else k)
        return self.rank(cosines, positions, self.correlations(images, positions) if rerank else None, k)

    # ------------------------------------------------------------------ persistence
    def config(self) -> dict[str, Any]:
        encoder = self.encoder_().config() if not isinstance(self.encoder, (str, dict)) else self.encoder
        return {"class": "ImageMatcher", "encoder": encoder, "shortlist": self.shortlist, "rerank": self.rerank,
                "global_weight": self.global_weight, "angles": list(self.angles)}

    def save(self, directory: str | Path) -> Path:
        """config.json, ids.json, sources.json (paths) and features.npy."""
        self._check()
        if not all(isinstance(s, (str, Path)) for s in self.sources_):
            raise InputError("only a matcher fitted on image paths can be saved", fix="fit it on file paths")
        directory = Path(directory)
        atomic_write_json(directory / "ids.json", self.ids_)
        atomic_write_json(directory / "sources.json", [str(s) for s in self.sources_])
        atomic_write_json(directory / "config.json", self.config())
        atomic_save_npy(directory / "features.npy", self.features_)
        return directory

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
        matcher = cls(spec, config["shortlist"], config["rerank"], config["global_weight"], config["angles"])
        matcher.ids_ = read_json(directory / "ids.json")
        matcher.sources_ = read_json(directory / "sources.json")
        matcher.features_ = np.load(directory / "features.npy")
        return matcher
