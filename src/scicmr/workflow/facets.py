"""Facet counts of the searchable records: how many records each label (field), year and
author holds among those passing the filters, for a search page's clickable filters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from scicmr.workflow.snapshot import Filters, Snapshot


@dataclass(frozen=True)
class Facets:
    """Counts over the live records passing the filters.

    ``labels`` and ``authors`` are the ``top`` most frequent (count descending, then name; names
    lower-cased as the filters match them); ``years`` is the whole histogram in year order
    (records without a year are left out).
    """

    total: int
    labels: list[tuple[str, int]] = field(default_factory=list)
    years: list[tuple[int, int]] = field(default_factory=list)
    authors: list[tuple[str, int]] = field(default_factory=list)


def _top_counts(inverted: Mapping[str, np.ndarray], keep: np.ndarray, top: int) -> list[tuple[str, int]]:
    """(name, rows kept) of the ``top`` names holding most kept rows; one pass over the names."""
    counts = [(name, int(np.count_nonzero(keep[rows]))) for name, rows in inverted.items()]
    counts = [(name, n) for name, n in counts if n]
    counts.sort(key=lambda item: (-item[1], item[0]))
    return counts[:top]


def facet_counts(snapshot: Snapshot, filters: Filters = Filters(), top: int = 12) -> Facets:
    """Label, year and author counts of ``snapshot``'s live rows passing ``filters``."""
    keep = snapshot.mask(filters)
    if keep is None:
        keep = snapshot.live
    years = np.asarray(snapshot.years)[keep]
    values, counts = np.unique(years[years > 0], return_counts=True)
    return Facets(
        total=int(np.count_nonzero(keep)),
        labels=_top_counts(snapshot.label_rows, keep, top),
        years=[(int(y), int(n)) for y, n in zip(values, counts)],
        authors=_top_counts(snapshot.author_rows, keep, top),
    )
