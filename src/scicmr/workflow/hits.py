"""What every search returns: :class:`Hit` (one result) and :class:`Page` (one page of them).

Text, image and record queries, photo-of-a-figure matching and ADHN code search all answer
with the same :class:`Hit`; a ranking with component scores (matching, Hamming distance) puts
them in :attr:`Hit.details`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scicmr.corpus.library import Library
from scicmr.corpus.record import Record


@dataclass
class Hit:
    """One search result.

    ``score`` is what the ranking sorted by (cosine in the shared space, ``1 - 2 d / bits`` for
    Hamming ranking, the re-ranked match score for photo matching). ``details`` holds the
    ranking's component scores when it has any: ``distance`` (Hamming distance, ADHN code
    search), ``global_score``, ``ncc``, ``inliers``, ``quad`` and ``rectified_ncc`` (photo
    matching: global cosine, aligned correlation, local-feature inliers, the figure's corners
    in the photo, rectified correlation).
    """

    rank: int
    id: str
    score: float
    modality: str
    record: Record
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self, lib: Library | None = None) -> dict[str, Any]:
        r = self.record
        image = str(lib.image_path(r)) if (lib is not None and r.image) else r.image
        return {
            "rank": self.rank,
            "id": self.id,
            "score": round(self.score, 6),
            "modality": self.modality,
            "title": r.title,
            "text": r.text,
            "labels": r.labels,
            "authors": r.authors,
            "date": r.date,
            "image": image,
            "source": r.source.to_dict(),
            **({"details": self.details} if self.details else {}),
        }


@dataclass
class Page:
    """One page of ranked hits: ``hits`` (ranks ``offset + 1 ...``), ``total`` candidates that
    passed the filters, and the ``version`` of the snapshot that was ranked."""

    hits: list[Hit]
    total: int
    version: int


def hits_from_ranking(lib: Library, ids: Sequence[str], scores: np.ndarray, positions: np.ndarray,
                      modality: str, offset: int = 0) -> list[list[Hit]]:
    """Hits of ranked rows, the records read in one query.

    Args:
        lib: the library the records are read from.
        ids: record id of every row position.
        scores, positions: (q, m) ranking of each query, best first; position -1 is padding.
        modality: what the rows are ("image" or "text").
        offset: rank of the first column minus one (a later page).

    Returns:
        q lists of Hits. A record deleted since ``ids`` was taken is left out; the others keep
        their rank in the ranking.
    """
    wanted = [ids[p] for row in positions for p in row if p >= 0]
    records = {r.id: r for r in lib.get_many(list(dict.fromkeys(wanted)), skip_missing=True)}
    results = []
    for row_scores, row_positions in zip(scores, positions):
        hits = []
        for column, (score, position) in enumerate(zip(row_scores, row_positions)):
            record = records.get(ids[position]) if position >= 0 else None
            if record is not None:
                hits.append(Hit(offset + column + 1, record.id, float(score), modality, record))
        results.append(hits)
    return results
