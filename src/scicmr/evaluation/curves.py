"""Precision–recall and map@k curves of a cross-modal evaluation, and their PNGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from scicmr.evaluation.metrics import cosine_scores, label_relevance, map_at_k, precision_recall_curve

DIRECTIONS = ("i2t", "t2i")


def curve_ks(n_candidates: int, most: int = 100) -> list[int]:
    """Cut-offs 1, 2, 5, 10, 15, … up to min(most, n_candidates)."""
    top = max(1, min(most, n_candidates))
    ks = sorted({1, 2, *range(5, top + 1, 5), top})
    return [k for k in ks if k <= top]


def retrieval_curves(image_vectors: np.ndarray, text_vectors: np.ndarray, labels: np.ndarray) -> dict:
    """PR and map@k curves for both directions.

    Args:
        image_vectors: (n, k) float32; text_vectors: (n, k) float32 (row i pairs with row i).
        labels: (n, C) multi-hot; relevance = shares a label.

    Returns:
        {"pr": {direction: (recall (11,), precision (11,))},
         "map_at_k": {direction: (ks, values)}}
    """
    relevance = label_relevance(labels, labels)
    scores = {"i2t": cosine_scores(image_vectors, text_vectors), "t2i": cosine_scores(text_vectors, image_vectors)}
    ks = curve_ks(len(text_vectors))
    return {
        "pr": {d: precision_recall_curve(scores[d], relevance) for d in DIRECTIONS},
        "map_at_k": {d: (ks, [map_at_k(scores[d], relevance, k) for k in ks]) for d in DIRECTIONS},
    }


def curves_to_json(curves: dict) -> dict:
    """The curves as plain lists: {"pr": {d: [recall, precision]}, "map_at_k": {d: [ks, values]}}."""
    return {
        kind: {d: [np.asarray(x).tolist(), np.asarray(y).tolist()] for d, (x, y) in per_direction.items()}
        for kind, per_direction in curves.items()
    }


def write_curve_plots(curves: dict, stem: Path, title: str) -> list[Path]:
    """``<stem>-pr.png`` and ``<stem>-map-at-k.png``; returns the written paths."""
    from scicmr.evaluation.plots import plot_map_at_k, plot_pr_curves

    return [
        plot_pr_curves(curves["pr"], stem.with_name(stem.name + "-pr.png"), f"{title}: precision–recall"),
        plot_map_at_k(curves["map_at_k"], stem.with_name(stem.name + "-map-at-k.png"), f"{title}: mAP@k"),
    ]
