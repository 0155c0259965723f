"""Thresholds of image data cleaning, as one named configuration.

Every threshold is a field with a documented default; :data:`PRESETS` holds named variants
(``"default"``, ``"strict"``, ``"lenient"``) and :func:`cleaning_config` builds one from a name
or a dict, so a run's report can state exactly what it used.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from scicmr.errors import InputError

# Check groups a run can select (``scicmr clean --checks``); each yields the reasons listed.
CHECKS: dict[str, tuple[str, ...]] = {
    "integrity": ("corrupt",),
    "size": ("too_small",),
    "aspect": ("extreme_aspect",),
    "blank": ("blank", "low_information"),
    "exact": ("exact_duplicate",),
    "near": ("near_duplicate",),
    "outlier": ("outlier",),
    "domain": ("out_of_domain",),
}
# The cheap pixel-level checks; the two model-based ones (outlier, domain) encode images.
FAST_CHECKS = ("integrity", "size", "aspect", "blank", "exact", "near")


@dataclass(frozen=True)
class CleaningConfig:
    """Thresholds (all inclusive of the flagged side). Defaults in brackets.

    Size and shape:
        min_side: an image whose shorter side is below this many pixels is ``too_small`` [32].
        max_aspect: long side / short side above this is ``extreme_aspect`` [8.0].
    Blank and low information (measured on the grey image box-averaged to ``probe_side``
    pixels, which averages sensor or JPEG noise away but keeps one-pixel lines visible):
        probe_side: side of the averaged probe image [64].
        blank_std: probe standard deviation (0-255 grey) below this is ``blank`` [2.0].
        content_delta: a probe pixel differing from the background grey by more than this
            counts as content [24].
        min_content: content fraction below this is ``low_information`` (almost all
            background) [0.01].
        min_entropy: Shannon entropy (bits) of the 32-bin probe histogram below this is
            ``low_information`` [0.15].
    Duplicates:
        phash_max: pHash Hamming distance (of 64 bits) at or below this makes a pair a
            near-duplicate candidate when the dHash distance also passes [16].
        dhash_max: dHash Hamming distance (of 64 bits) at or below this [16].
        near_coarse_min: a candidate pair is verified when its crop-aligned 24 px NCC is at
            least this [0.85] ...
        near_detail_min: ... and its aligned high-pass 64 px NCC at least this [0.83]
            (measured: re-encoded, rescaled, 3 %-cropped copies of demo figures >= 0.86;
            distinct figures of one template <= 0.79) ...
        near_colour_max: ... and its mean RGB difference at the aligned 24 px crop at most
            this (0-255) [8.0] (copies <= 6.9; recoloured figures of one template 8.7-27).
    Anomalies (image features: the library's cached features when they cover every image,
    else ``encoder``):
        encoder: image encoder spec used when no cached features fit ["efficientnet-lite0"].
        knn: neighbours averaged in the kNN outlier score [5].
        contamination: the largest share of images the outlier detector may flag; the score
            threshold is at least the (1 - contamination) quantile [0.02].
        outlier_z: and at least median + outlier_z * robust sigma (1.4826 MAD) of the scores,
            so a clean collection does not lose its top quantile [5.0].
        in_domain_threshold: the domain classifier flags an image whose out-of-fold
            in-domain probability is below this [0.2] (a collection's rare figure kinds, e.g.
            3 micrographs among 24 plots, score 0.4-0.6 out of fold; a texture < 0.1).
        domain_c: inverse L2 strength of the classifier's logistic regression [0.01]; strong
            regularisation because the in-domain class is small.
        folds: cross-fitting folds of the domain classifier [5].
        augment: augmented views per in-domain training image (flip + crop) [1].
        out_of_domain: generated out-of-domain training images [160].
        seed: seed of the generated out-of-domain set, the folds and the augmentation [0].
    """

    min_side: int = 32
    max_aspect: float = 8.0
    probe_side: int = 64
    blank_std: float = 2.0
    content_delta: float = 24.0
    min_content: float = 0.01
    min_entropy: float = 0.15
    phash_max: int = 16
    dhash_max: int = 16
    near_coarse_min: float = 0.85
    near_detail_min: float = 0.83
    near_colour_max: float = 8.0
    encoder: Any = "efficientnet-lite0"
    knn: int = 5
    contamination: float = 0.02
    outlier_z: float = 5.0
    in_domain_threshold: float = 0.2
    domain_c: float = 0.01
    folds: int = 5
    augment: int = 1
    out_of_domain: int = 160
    seed: int = 0

    def __post_init__(self) -> None:
        if self.min_side < 1 or self.max_aspect < 1 or self.probe_side < 8:
            raise InputError("cleaning needs min_side >= 1, max_aspect >= 1 and probe_side >= 8")
        if not 0 < self.contamination < 0.5:
            raise InputError(f"contamination must be in (0, 0.5), got {self.contamination}",
                             fix="pass e.g. contamination=0.02 (the largest expected share of anomalies)")
        if not 0 < self.in_domain_threshold < 1:
            raise InputError(f"in_domain_threshold must be in (0, 1), got {self.in_domain_threshold}")
        if self.knn < 1 or self.folds < 2 or self.augment < 0 or self.out_of_domain < 2:
            raise InputError("cleaning needs knn >= 1, folds >= 2, augment >= 0 and out_of_domain >= 2")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


PRESETS: dict[str, dict[str, Any]] = {
    "default": {},
    # Catch more: looser duplicate radius, lower outlier bar, stricter domain probability.
    "strict": {"phash_max": 20, "dhash_max": 20, "near_detail_min": 0.78, "near_colour_max": 12.0, "outlier_z": 4.0, "contamination": 0.05, "in_domain_threshold": 0.4},
    # Flag only the obvious.
    "lenient": {"phash_max": 10, "dhash_max": 12, "near_detail_min": 0.9, "near_colour_max": 5.0, "outlier_z": 8.0, "contamination": 0.01, "in_domain_threshold": 0.05},
}


def cleaning_config(spec: str | dict[str, Any] | CleaningConfig | None = None, **overrides: Any) -> CleaningConfig:
    """A config from a preset name, a dict (``{"preset": "strict", "min_side": 64}``) or None."""
    if isinstance(spec, CleaningConfig):
        return dataclasses.replace(spec, **overrides) if overrides else spec
    params = {"preset": spec} if isinstance(spec, str) else dict(spec or {})
    preset = params.pop("preset", "default")
    if preset not in PRESETS:
        raise InputError(f"unknown cleaning preset {preset!r}", fix=f"choose one of: {', '.join(PRESETS)}")
    merged = {**PRESETS[preset], **params, **overrides}
    known = {f.name for f in dataclasses.fields(CleaningConfig)}
    unknown = sorted(set(merged) - known)
    if unknown:
        raise InputError(f"unknown cleaning parameter(s) {', '.join(unknown)}", fix=f"valid: {', '.join(sorted(known))}")
    return CleaningConfig(**merged)


def parse_checks(checks: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
    """``"integrity,blank"`` / a list / None (all) → check names in canonical order."""
    if checks is None:
        return tuple(CHECKS)
    names = [c.strip() for c in (checks.split(",") if isinstance(checks, str) else checks) if c.strip()]
    if "fast" in names:
        names = [n for n in names if n != "fast"] + list(FAST_CHECKS)
    unknown = sorted(set(names) - set(CHECKS))
    if unknown or not names:
        raise InputError(f"unknown cleaning check(s) {', '.join(unknown) or '(none given)'}",
                         fix=f"choose from: {', '.join(CHECKS)} (or 'fast' for the pixel checks)")
    return tuple(c for c in CHECKS if c in names)
