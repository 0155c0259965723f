"""PNG plots of evaluation results: precision-recall curves, mAP@k curves, training losses.

matplotlib is imported inside the functions (``import scicmr`` stays light) and drawn on an
Agg canvas owned by each call: no pyplot global state, no display needed. Each plot is
rendered in memory and written atomically, so an interrupted run never leaves a torn PNG.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from scicmr._io import atomic_write_bytes
from scicmr.errors import InputError

_DPI = 120


def _new_axes(title: str, xlabel: str, ylabel: str):
    """A fresh (figure, axes) pair on its own Agg canvas."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 4.5), dpi=_DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(1, 1, 1)
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    return figure, axes


def _save(figure, path: str | os.PathLike) -> Path:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=_DPI)
    return atomic_write_bytes(path, buffer.getvalue())


def _xy(name: str, x: Sequence[float], y: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """x and y as 1-D float arrays of equal, nonzero length; InputError otherwise."""
    x_arr = np.asarray(x, dtype=np.float64).ravel()
    y_arr = np.asarray(y, dtype=np.float64).ravel()
    if len(x_arr) == 0 or len(x_arr) != len(y_arr):
        raise InputError(
            f"curve {name!r} has {len(x_arr)} x values and {len(y_arr)} y values",
            fix="give each curve two equally long, non-empty sequences",
        )
    return x_arr, y_arr


def _require_curves(curves: Mapping, what: str) -> None:
    if not curves:
        raise InputError(f"no {what} to plot", fix=f"pass a non-empty dict of name -> {what}")


def plot_pr_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    path: str | os.PathLike,
    title: str = "Precision-recall",
) -> Path:
    """Plot ``{name: (recall, precision)}`` (e.g. from ``metrics.precision_recall_curve``)."""
    _require_curves(curves, "(recall, precision) pairs")
    figure, axes = _new_axes(title, "recall", "precision")
    for name, (recall, precision) in curves.items():
        x, y = _xy(name, recall, precision)
        axes.plot(x, y, marker="o", markersize=3, label=str(name))
    axes.set_xlim(0.0, 1.0)
    axes.set_ylim(0.0, 1.05)
    axes.legend(loc="best", fontsize="small")
    return _save(figure, path)


def plot_map_at_k(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    path: str | os.PathLike,
    title: str = "mAP@k",
) -> Path:
    """Plot ``{name: (ks, map_values)}``, one line per method or direction."""
    _require_curves(curves, "(ks, values) pairs")
    figure, axes = _new_axes(title, "k", "mAP@k")
    for name, (ks, values) in curves.items():
        x, y = _xy(name, ks, values)
        axes.plot(x, y, marker="o", markersize=4, label=str(name))
    axes.set_ylim(0.0, 1.05)
    axes.legend(loc="best", fontsize="small")
    return _save(figure, path)


def plot_loss_curves(
    history: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    title: str = "Training loss",
) -> Path:
    """Plot ``{name: [value per epoch]}`` against epochs 1, 2, ...; NaN values leave gaps."""
    _require_curves(history, "loss lists")
    figure, axes = _new_axes(title, "epoch", "loss")
    for name, values in history.items():
        y = np.asarray(values, dtype=np.float64).ravel()
        x, y = _xy(name, np.arange(1, len(y) + 1), y)
        axes.plot(x, y, marker="." if len(y) < 50 else None, label=str(name))
    axes.legend(loc="best", fontsize="small")
    return _save(figure, path)


def plot_sensitivity(
    param: str,
    values: Sequence[float],
    series: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    title: str = "Parameter sensitivity",
) -> Path:
    """Plot ``{name: [metric at each value]}`` against a swept parameter's ``values``
    (log-scaled x when the values are positive and span more than a factor of 10)."""
    _require_curves(series, "metric lists")
    figure, axes = _new_axes(title, param, "test mAP")
    x = np.asarray(values, dtype=np.float64)
    for name, metric in series.items():
        xs, ys = _xy(name, x, metric)
        axes.plot(xs, ys, marker="o", label=str(name))
    if len(x) and (x > 0).all() and x.max() / x.min() > 10:
        axes.set_xscale("log")
    axes.legend(loc="best", fontsize="small")
    return _save(figure, path)
