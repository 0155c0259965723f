"""PNG plots of evaluation results: precision-recall curves, mAP@k curves, training losses.

matplotlib is imported inside the functions (``import scicmr`` stays light) and drawn on an
Agg canvas owned by each call: no pyplot global state, no display needed. Each plot is
rendered in memory and written atomically, so an interrupted run never leaves a torn PNG.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Callable, Mapping, Sequence

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


def _line_plot(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    path: str | os.PathLike,
    labels: tuple[str, str, str],
    what: str,
    style: Callable[[np.ndarray], dict],
    *,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    xscale: str | None = None,
) -> Path:
    """One line per ``{name: (x, y)}`` on fresh axes (``labels`` = title, x label, y label),
    each drawn with ``style(y)`` (matplotlib keyword arguments), a legend, written to ``path``.
    ``what`` names the expected values in the error for an empty ``curves``."""
    _require_curves(curves, what)
    figure, axes = _new_axes(*labels)
    for name, (x_values, y_values) in curves.items():
        x, y = _xy(name, x_values, y_values)
        axes.plot(x, y, label=str(name), **style(y))
    if xlim is not None:
        axes.set_xlim(*xlim)
    if ylim is not None:
        axes.set_ylim(*ylim)
    if xscale is not None:
        axes.set_xscale(xscale)
    axes.legend(loc="best", fontsize="small")
    return _save(figure, path)


def plot_pr_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    path: str | os.PathLike,
    title: str = "Precision-recall",
) -> Path:
    """Plot ``{name: (recall, precision)}`` (e.g. from ``metrics.precision_recall_curve``)."""
    return _line_plot(curves, path, (title, "recall", "precision"), "(recall, precision) pairs",
                      lambda y: {"marker": "o", "markersize": 3}, xlim=(0.0, 1.0), ylim=(0.0, 1.05))


def plot_map_at_k(
    curves: Mapping[str, tuple[Sequence[int], Sequence[float]]],
    path: str | os.PathLike,
    title: str = "mAP@k",
) -> Path:
    """Plot ``{name: (ks, map_values)}``, one line per method or direction."""
    return _line_plot(curves, path, (title, "k", "mAP@k"), "(ks, values) pairs",
                      lambda y: {"marker": "o", "markersize": 4}, ylim=(0.0, 1.05))


def plot_loss_curves(
    history: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    title: str = "Training loss",
) -> Path:
    """Plot ``{name: [value per epoch]}`` against epochs 1, 2, ...; NaN values leave gaps."""
    curves = {}
    for name, values in history.items():
        y = np.asarray(values, dtype=np.float64).ravel()
        curves[name] = (np.arange(1, len(y) + 1), y)
    # Dots mark the epochs while there are few enough to tell apart.
    return _line_plot(curves, path, (title, "epoch", "loss"), "loss lists",
                      lambda y: {"marker": "." if len(y) < 50 else None})


def plot_sensitivity(
    param: str,
    values: Sequence[float],
    series: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    title: str = "Parameter sensitivity",
    metric: str = "test mAP",
) -> Path:
    """Plot ``{name: [metric at each value]}`` against a swept parameter's ``values``
    (log-scaled x when the values are positive and span more than a factor of 10); ``metric``
    labels the y axis."""
    x = np.asarray(values, dtype=np.float64)
    log_x = bool(len(x) and (x > 0).all() and x.max() / x.min() > 10)
    return _line_plot({name: (x, metric) for name, metric in series.items()}, path, (title, param, metric),
                      "metric lists", lambda y: {"marker": "o"}, xscale="log" if log_x else None)
