"""Image data cleaning (seed 003): flag corrupt, blank, tiny, oddly shaped, duplicate and
anomalous images, report them, and quarantine them (never delete).

>>> from scicmr.cleaning import scan_images        # doctest: +SKIP
>>> report = scan_images([("fig1", "images/fig1.png"), ...], checks="fast")  # doctest: +SKIP
>>> report.counts()                                        # doctest: +SKIP

One concept per module: :mod:`.config` (thresholds), :mod:`.checks` (per-image checks),
:mod:`.phash` (perceptual hashes), :mod:`.duplicates`, :mod:`.anomalies`,
:mod:`.outofdomain` (the generated negative class), :mod:`.report`, :mod:`.scan` (the pass),
:mod:`.quarantine` (move flagged images aside and mark their records; restore).
"""

from scicmr.cleaning.config import CHECKS, FAST_CHECKS, PRESETS, CleaningConfig, cleaning_config, parse_checks
from scicmr.cleaning.report import CleaningReport, Flag
from scicmr.cleaning.scan import scan_images

__all__ = ["CHECKS", "FAST_CHECKS", "PRESETS", "CleaningConfig", "CleaningReport", "Flag", "cleaning_config",
           "parse_checks", "scan_images"]
