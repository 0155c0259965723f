"""Evaluation plots: each writes a valid, non-empty PNG atomically and returns its path."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from scicmr.errors import InputError
from scicmr.evaluation import metrics, plots


def assert_png(path):
    assert path.is_file() and path.stat().st_size > 0
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()  # raises on a truncated or corrupt file
    with Image.open(path) as image:
        width, height = image.size
        assert width > 100 and height > 100
        # not a blank canvas: something was drawn
        assert len(set(image.convert("L").getdata())) > 2
    # no temporary files left beside it
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_plot_pr_curves(tmp_path):
    rng = np.random.default_rng(0)
    scores = rng.random((12, 30))
    relevance = rng.random((12, 30)) < 0.3
    curves = {"i2t": metrics.precision_recall_curve(scores, relevance),
              "t2i": metrics.precision_recall_curve(scores.T, relevance.T)}
    path = plots.plot_pr_curves(curves, tmp_path / "sub" / "pr.png", "PR curves")
    assert path == tmp_path / "sub" / "pr.png"
    assert_png(path)


def test_plot_map_at_k(tmp_path):
    curves = {"cca": ([5, 20, 50], [0.30, 0.28, 0.25]), "cardl": ((5, 20, 50), np.array([0.50, 0.45, 0.41]))}
    assert_png(plots.plot_map_at_k(curves, str(tmp_path / "map.png"), "mAP@k"))


def test_plot_loss_curves_overwrites(tmp_path):
    target = tmp_path / "loss.png"
    target.write_bytes(b"old")
    history = {"train": [2.0, 1.5, 1.1, 0.9], "validation": [2.1, 1.7, float("nan"), 1.2]}
    path = plots.plot_loss_curves(history, target, "loss")
    assert_png(path)


def test_bad_plot_input(tmp_path):
    with pytest.raises(InputError):
        plots.plot_pr_curves({}, tmp_path / "x.png", "empty")
    with pytest.raises(InputError):
        plots.plot_map_at_k({"a": ([5, 20], [0.1])}, tmp_path / "x.png", "ragged")
    with pytest.raises(InputError):
        plots.plot_loss_curves({"a": []}, tmp_path / "x.png", "no values")
    assert not (tmp_path / "x.png").exists()
