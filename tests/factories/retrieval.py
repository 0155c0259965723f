"""Retrieval-quality checks that hold on any CPU: averaged over many queries, with a margin.

A single query's top-5 on a 36-figure fixture can flip with the last bits of a BLAS sum (one
test did, on another machine); the mean over the nine field phrases of
:data:`factories.data.FIELDS` cannot move by a whole margin that way.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from factories.data import FIELDS

FIELD_PHRASES = [(field, phrase) for field, (_, phrases) in FIELDS.items() for phrase in phrases]
CHANCE = 1 / len(FIELDS)


def mean_field_precision(search_labels: Callable[[str, int], list[list[str]]], k: int) -> float:
    """Mean share of the top ``k`` hits in the query phrase's own field, over the nine phrases.

    ``search_labels(phrase, k)`` returns the label lists of the top ``k`` hits, best first.
    Chance is ``CHANCE`` (1/3) on the balanced fixture.
    """
    shares = [np.mean([labels == [field] for labels in search_labels(phrase, k)]) for field, phrase in FIELD_PHRASES]
    return float(np.mean(shares))


def assert_same_ranking(ids, scores, want_ids, want_scores, atol: float = 1e-5) -> None:
    """``ids``/``scores`` equal a reference top-k up to float noise: scores within ``atol``, and
    the same ids in the same order except among candidates whose reference scores tie within
    ``atol`` (another BLAS can swap a near-tie; it cannot move a clear gap). The last tie group
    may continue past k, so which of its members made the cut is not checked."""
    np.testing.assert_allclose(scores, want_scores, atol=atol)
    assert len(ids) == len(want_ids) and len(set(ids)) == len(ids)
    start = 0
    for end in range(1, len(want_ids)):
        if abs(want_scores[end] - want_scores[start]) > atol:  # a clear gap closes a tie group
            assert set(ids[start:end]) == set(want_ids[start:end]), (ids, want_ids)
            start = end
