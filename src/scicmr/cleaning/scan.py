"""The cleaning pass: run the selected checks over (id, path) items and build the report.

Order matters: per-image checks first; duplicates only among images that survived the blank
screen (uniform images all hash alike); anomaly models only on the images left after that
(duplicates and degenerate shapes would otherwise be their own outliers).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence

import numpy as np

from scicmr._progress import progress
import scicmr.cleaning.anomalies as anomalies
from scicmr.cleaning.checks import ImageFacts, inspect_image
from scicmr.cleaning.config import CHECKS, CleaningConfig, cleaning_config, parse_checks
from scicmr.cleaning.duplicates import DuplicateGroup, exact_duplicates, near_duplicates
from scicmr.cleaning.report import CleaningReport, Flag

# Per-image reasons that make an image unusable for hashing and for the anomaly models.
_SCREENED = ("corrupt", "blank", "low_information", "too_small")


class _Flags:
    """Accumulates reasons per id, keeping library order."""

    def __init__(self, facts: Sequence[ImageFacts]):
        self.facts = {f.id: f for f in facts}
        self.flags: dict[str, Flag] = {}

    def add(self, record_id: str, reason: str, detail: str, scores: dict | None = None, duplicate_of=None) -> None:
        facts = self.facts[record_id]
        flag = self.flags.setdefault(record_id, Flag(record_id, facts.path))
        flag.reasons[reason] = detail
        flag.scores.update(scores or {})
        flag.duplicate_of = duplicate_of or flag.duplicate_of

    def ordered(self) -> list[Flag]:
        for record_id, flag in self.flags.items():
            flag.scores = {**self.facts[record_id].scores, **flag.scores}
        return [self.flags[i] for i in self.facts if i in self.flags]


def _add_groups(flags: _Flags, groups: list[DuplicateGroup]) -> set[str]:
    dropped = set()
    for group in groups:
        for member in group.members[1:]:
            flags.add(member, group.kind, f"duplicate of {group.canonical}", group.scores.get(member), group.canonical)
            dropped.add(member)
    return dropped


def _features(encoder, images: list, cached: Callable[[list[str]], np.ndarray | None] | None, ids: list[str]):
    if cached is not None:
        vectors = cached(ids)
        if vectors is not None:
            return vectors
    return encoder.encode(images, batch_size=16)


def _anomalies(flags: _Flags, ids, paths, checks, config, encoder, cached, report) -> None:
    """The two model-based checks on the surviving images."""
    from scicmr.cleaning.outofdomain import out_of_domain_images
    from scicmr.corpus.images import load_image

    if len(ids) < max(config.knn + 1, 3):
        report.notes.append(f"anomaly checks skipped: only {len(ids)} usable images")
        return
    start = time.perf_counter()
    features = _features(encoder, list(paths), cached, list(ids))
    if "outlier" in checks:
        scores = anomalies.knn_outlier_scores(features, config.knn)
        mask, threshold = anomalies.outlier_mask(scores, config.contamination, config.outlier_z)
        report.thresholds["outlier_knn_distance"] = threshold
        for i in np.nonzero(mask)[0]:
            flags.add(ids[i], "outlier", f"kNN distance {scores[i]:.4f} > {threshold:.4f}",
                      {"knn_distance": float(scores[i])})
        report.seconds["outlier"] = time.perf_counter() - start
    if "domain" in checks:
        start = time.perf_counter()
        outside = encoder.encode(out_of_domain_images(config.out_of_domain, seed=config.seed), batch_size=16)
        views = [v for p in paths for v in anomalies.augmented_views(load_image(p), config.augment)]
        augmented = encoder.encode(views, batch_size=16).reshape(len(ids), config.augment, -1) if views else None
        probability = anomalies.in_domain_probability(features, outside, augmented, folds=config.folds, seed=config.seed,
                                                           C=config.domain_c)
        report.thresholds["in_domain_probability"] = config.in_domain_threshold
        for i in np.nonzero(probability < config.in_domain_threshold)[0]:
            flags.add(ids[i], "out_of_domain", f"in-domain probability {probability[i]:.3f} < {config.in_domain_threshold:g}",
                      {"in_domain_probability": float(probability[i])})
        report.seconds["domain"] = time.perf_counter() - start


def scan_images(
    items: Sequence[tuple[str, str]],
    *,
    config: CleaningConfig | str | dict | None = None,
    checks: Sequence[str] | str | None = None,
    encoder: Any = None,
    cached_features: Callable[[list[str]], np.ndarray | None] | None = None,
) -> CleaningReport:
    """Check ``items`` ((id, image path) pairs, in library order) and report what is flagged.

    Args:
        config: a :class:`CleaningConfig`, a preset name or a dict of overrides.
        checks: subset of :data:`CHECKS` (default all).
        encoder: image encoder for the anomaly checks (default ``create_encoder(config.encoder)``).
        cached_features: ``f(ids) -> (n, d) features or None``; used instead of encoding the
            collection when it returns vectors (the library's cached CNN features).
    """
    from scicmr.corpus.images import load_image

    config = cleaning_config(config)
    checks = parse_checks(checks)
    report = CleaningReport(n_images=len(items), checks=list(checks), config=config.to_dict())
    start = time.perf_counter()
    facts = [inspect_image(i, p, config) for i, p in progress(items, total=len(items), desc="cleaning: inspect", unit="img")]
    report.seconds["inspect"] = time.perf_counter() - start
    flags = _Flags(facts)
    wanted = {reason for check in checks for reason in CHECKS[check]}
    for f in facts:
        for reason, detail in f.reasons.items():
            if reason in wanted:
                flags.add(f.id, reason, detail)
    usable = [f for f in facts if not set(f.reasons) & set(_SCREENED)]
    dropped: set[str] = set()
    if "exact" in checks:
        start = time.perf_counter()
        dropped |= _add_groups(flags, exact_duplicates([f.id for f in usable], [f.sha256 for f in usable]))
        report.seconds["exact"] = time.perf_counter() - start
    if "near" in checks:
        start = time.perf_counter()
        rest = [f for f in usable if f.id not in dropped]
        groups = near_duplicates([f.id for f in rest], np.stack([f.phash for f in rest]) if rest else np.zeros((0, 8), np.uint8),
                                 np.stack([f.dhash for f in rest]) if rest else np.zeros((0, 8), np.uint8),
                                 lambda i: load_image(rest[i].path), phash_max=config.phash_max,
                                 dhash_max=config.dhash_max, coarse_min=config.near_coarse_min,
                                 detail_min=config.near_detail_min, colour_max=config.near_colour_max)
        dropped |= _add_groups(flags, groups)
        report.seconds["near"] = time.perf_counter() - start
    if {"outlier", "domain"} & set(checks):
        from scicmr.encoders import create_encoder

        left = [f for f in usable if f.id not in dropped and "extreme_aspect" not in f.reasons]
        encoder = encoder if encoder is not None else create_encoder(config.encoder)
        _anomalies(flags, [f.id for f in left], [f.path for f in left], checks, config, encoder, cached_features, report)
    report.flags = flags.ordered()
    return report
