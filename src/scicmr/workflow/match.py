"""Image -> image search over a library: the mobile-visual-search path (a phone photo of a
figure finds the original, also inside its printed page). Needs no trained model: the global
features are the library's image encoder's (or a named one); local features (SIFT) verify and
localise candidates with a RANSAC homography, and crop-aligned correlation re-ranks when
nothing is verified (:mod:`scicmr.matching`). :meth:`scicmr.workflow.Searcher.search_similar_images` is the same
search with the matcher kept between queries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scicmr._io import read_json
from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.errors import InputError, LibraryError
from scicmr.matching.matcher import ImageMatcher
from scicmr.workflow.hits import Hit
from scicmr.workflow.library_data import as_library


def _matchable(lib: Library) -> list[Record]:
    records = [r for r in lib.records() if r.image and not r.extra.get("quarantine")]
    if not records:
        raise InputError(f"{lib.root} has no images to match against", fix="ingest a source with images first")
    return records


def _encoder_and_cache(lib: Library, encoder: Any):
    """(encoder, feature cache key or None): the library's own image encoder and features
    unless ``encoder`` names another one."""
    from scicmr.encoders import create_encoder, feature_key
    from scicmr.workflow.encode import load_query_encoder

    entry = lib.meta.get("encoders", {}).get("image") or {}
    if encoder is None and entry.get("key") and entry.get("name") != "precomputed" and lib.has_features(entry["key"]):
        return load_query_encoder(lib, "image"), entry["key"]
    made = create_encoder(encoder or "efficientnet-lite0")
    return made, feature_key(made)


def _verifier_params(verifier: Any) -> dict[str, Any] | None:
    """The saved form of a verifier argument (None, a detector name or a verifier)."""
    from scicmr.matching.local_features import LocalFeatureVerifier

    if verifier is None:
        return None
    return (LocalFeatureVerifier(detector=verifier) if isinstance(verifier, str) else verifier).get_params()


def image_matcher(lib: Library | str | Path, *, encoder: Any = None, **params: Any) -> ImageMatcher:
    """The library's image matcher, built once and saved under ``indexes/image-match-<key>``;
    rebuilt when the set of images changed (ingest, clean, restore) or the saved one has
    other local features than asked for (``verifier``, default "sift"; a matcher saved
    before local features existed is rebuilt too)."""
    lib = as_library(lib)
    records = _matchable(lib)
    ids = [r.id for r in records]
    query_encoder, key = _encoder_and_cache(lib, encoder)
    directory = lib.index_dir(f"image-match-{key}")
    wanted = _verifier_params(params.get("verifier", "sift"))
    saved = ImageMatcher.saved_config(directory)
    if (saved is not None and "verifier" in saved and saved["verifier"] == wanted
            and (directory / "ids.json").exists() and read_json(directory / "ids.json") == ids):
        matcher = ImageMatcher.load(directory, encoder=query_encoder)
        for name, value in params.items():
            if name != "verifier":
                setattr(matcher, name, value)
        return matcher
    features = None
    if lib.has_features(key):
        try:
            features = lib.load_features(key, ids)
        except LibraryError:
            features = None  # the cache lacks some images: encode them all
    matcher = ImageMatcher(query_encoder, **params).fit(ids, [str(lib.image_path(r)) for r in records], features)
    matcher.save(directory)
    return matcher


def similar_images(lib: Library | str | Path, image: Any, k: int = 10, *, encoder: Any = None,
                   rerank: bool = True, matcher: ImageMatcher | None = None) -> list[Hit]:
    """The ``k`` library figures most like ``image`` (a path or PIL image), best first.

    Each Hit's ``score`` is the ranking score; ``details`` hold ``global_score`` (cosine of
    the global features), ``ncc`` (crop-aligned correlation, None when not computed),
    ``inliers`` (RANSAC inliers of the local features, None when not verified), ``quad``
    (the figure's 4 corners in the query image, px: top-left, top-right, bottom-right,
    bottom-left; None when not verified) and ``rectified_ncc`` (the query warped back into
    the figure, correlated with it).
    """
    lib = as_library(lib)
    matcher = matcher or image_matcher(lib, encoder=encoder)
    matches = matcher.match_many([image], k, rerank=rerank)[0]
    records = lib.get_many([m.id for m in matches])
    return [Hit(m.rank, m.id, m.score, "image", record,
                {"global_score": m.global_score, "ncc": m.ncc, "inliers": m.inliers, "quad": m.quad,
                 "rectified_ncc": m.rectified_ncc})
            for m, record in zip(matches, records)]
