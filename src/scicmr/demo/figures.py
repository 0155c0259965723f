"""Render one planned figure spec to pixels with matplotlib (Agg), deterministically.

A *spec* is a plain JSON-able dict made by :mod:`scicmr.demo.corpus` (``kind``, ``variant``,
texts such as ``title``/``xlabel``/``ylabel``, ``series``, ``categories``, ``labels``, numbers in
``params``, a ``style`` and a ``seed``). Everything random in a drawing comes from
``numpy.random.default_rng(spec["seed"])``, so a spec always gives the same pixels, whatever
order figures are rendered in.

Speed: :class:`FigureRenderer` keeps one Agg figure and clears it between drawings (creating a
figure costs more than drawing a small one) and reads pixels straight from the canvas buffer.
Geometry: the figure is 4 × 4 inches at ``image_size / 4`` dpi, which is exact in binary
floating point, so the canvas is always ``image_size`` pixels square and fonts keep their size
relative to the figure at any resolution.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any

import numpy as np

_INCHES = 4.0
# rcParams fixed for every drawing, so a user's matplotlibrc never changes the corpus.
_RC = {
    "font.size": 9.0,
    "axes.titlesize": 9.0,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.0,
    "legend.frameon": False,
    "axes.unicode_minus": True,
    "path.simplify": True,
    "image.interpolation": "bilinear",
}
_RECT = {"default": [0.17, 0.15, 0.78, 0.72], "hbar": [0.30, 0.15, 0.65, 0.72], "heatmap": [0.19, 0.15, 0.62, 0.72]}


def _wrap(text: str, width: int, lines: int = 2) -> str:
    """Wrap ``text`` to at most ``lines`` lines of ``width`` characters (ellipsis when cut)."""
    parts = textwrap.wrap(text, width) or [""]
    if len(parts) > lines:
        parts = parts[:lines]
        parts[-1] = parts[-1][: width - 1].rstrip() + "…"
    return "\n".join(parts)


def _colours(style: dict[str, Any], n: int) -> list:
    import matplotlib

    palette = matplotlib.colormaps[style["palette"]]
    colours = list(getattr(palette, "colors", palette(np.linspace(0.1, 0.9, 8))))
    offset = style.get("colour_offset", 0)
    return [colours[(offset + i) % len(colours)] for i in range(n)]


def _decorate(ax, spec: dict[str, Any], *, grid: bool = True) -> None:
    """Axis labels, title, grid and spines from the spec's texts and style."""
    style = spec["style"]
    if spec.get("xlabel"):
        ax.set_xlabel(_wrap(spec["xlabel"], 44, 1))
    if spec.get("ylabel"):
        ax.set_ylabel(_wrap(spec["ylabel"], 34, 2))
    if spec.get("title"):
        ax.set_title(_wrap(spec["title"], 46, 2), fontsize=9, loc=style.get("title_loc", "center"))
    if grid and style.get("grid"):
        ax.grid(True, linewidth=0.4, alpha=0.5)
    if style.get("open_spines"):
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)


def _curve(variant: str, x: np.ndarray, phase: float, k: int) -> np.ndarray:
    """A noiseless curve shape on x in [0, 1] for line plots; ``k`` varies it per series."""
    a = 1.0 + 0.35 * k
    if variant == "decay":
        return 0.15 + (1.0 - 0.12 * k) * np.exp(-x * 4.0 * a)
    if variant == "saturating":
        return (1.0 - 0.1 * k) * (1.0 - np.exp(-x * 5.0 / a))
    if variant == "peak":
        return np.exp(-((x - 0.35 - 0.12 * k) ** 2) / (0.012 * a))
    if variant == "periodic":
        return 0.6 + 0.3 * np.sin(2 * np.pi * x * (3 + k) + phase)
    if variant == "growth":
        return 0.1 + x ** (1.5 + 0.5 * k)
    return 0.2 * k + 0.8 * x ** 2 + 0.1 * np.sin(2 * np.pi * x * 6)  # timeseries: trend + cycle


def _line(fig, spec, rng) -> None:
    ax = fig.add_axes(_RECT["default"])
    p, style = spec["params"], spec["style"]
    x0, x1 = p["xrange"]
    x = np.linspace(0.0, 1.0, 160 if spec["variant"] in ("timeseries", "periodic") else 60)
    names, phase = spec["series"], rng.uniform(0, 2 * np.pi)
    for k, (name, colour) in enumerate(zip(names, _colours(style, len(names)))):
        y = _curve(spec["variant"], x, phase, k) + rng.normal(0, p["noise"], x.size)
        ax.plot(x0 + x * (x1 - x0), p["scale"] * y, color=colour, lw=style["linewidth"], label=name,
                marker=style["marker"] if style.get("markers") and x.size <= 60 else None, ms=2.5, markevery=6)
    if p.get("overlay"):
        trend = _curve(spec["variant"], x, phase, 0)  # the fit follows the first series
        ax.plot(x0 + x * (x1 - x0), p["scale"] * trend, "k--", lw=1.0, label=p["overlay"])
    if len(names) > 1 or p.get("overlay"):
        ax.legend(loc=style.get("legend_loc", "best"))
    _decorate(ax, spec)


def _bar(fig, spec, rng) -> None:
    variant, style, p = spec["variant"], spec["style"], spec["params"]
    ax = fig.add_axes(_RECT["hbar" if variant == "horizontal" else "default"])
    cats, names = spec["categories"], spec["series"] if variant in ("grouped", "stacked") else spec["series"][:1]
    pos = np.arange(len(cats))
    heights = p["scale"] * rng.uniform(0.3, 1.0, (len(names), len(cats)))
    colours = _colours(style, len(names))
    width = 0.8 / len(names) if variant == "grouped" else 0.7
    bottom = np.zeros(len(cats))
    for k, name in enumerate(names):
        err = heights[k] * rng.uniform(0.03, 0.12, len(cats)) if style.get("error_bars") else None
        if variant == "horizontal":
            ax.barh(pos, heights[k], color=colours[k], xerr=err, capsize=2, label=name)
        elif variant == "stacked":
            ax.bar(pos, heights[k], 0.7, bottom=bottom, color=colours[k], label=name, edgecolor="white", lw=0.5)
            bottom += heights[k]
        else:
            offset = (k - (len(names) - 1) / 2) * width
            ax.bar(pos + offset, heights[k], width, color=colours[k], yerr=err, capsize=2, label=name,
                   hatch=style.get("hatch") if k == 1 else None)
    if variant == "horizontal":
        ax.set_yticks(pos, cats)
        ax.invert_yaxis()
        spec = {**spec, "xlabel": spec["ylabel"], "ylabel": ""}
    else:
        tilt = max(len(c) for c in cats) > 4  # long names are tilted so they do not overlap
        ax.set_xticks(pos, cats, rotation=35 if tilt else 0, ha="right" if tilt else "center")
    if len(names) > 1:
        ax.legend(loc="upper right", ncol=min(3, len(names)))
    _decorate(ax, spec)


def _scatter(fig, spec, rng) -> None:
    ax = fig.add_axes(_RECT["default"])
    variant, style, p = spec["variant"], spec["style"], spec["params"]
    n = p["n"]
    if variant == "clusters":
        for k, (name, colour) in enumerate(zip(spec["series"], _colours(style, len(spec["series"])))):
            centre = rng.uniform(-6, 6, 2) + (10.0 if p.get("positive") else 0.0)  # physical axes stay > 0
            pts = centre + rng.normal(0, rng.uniform(0.6, 1.6), (n // len(spec["series"]), 2))
            ax.scatter(pts[:, 0], pts[:, 1], s=6, color=colour, label=name, marker=style["marker"], alpha=0.8, lw=0)
        ax.legend(loc="best", markerscale=1.5)
    elif variant == "volcano":
        fc = rng.normal(0, 1.4, n)
        logp = np.abs(fc) * rng.uniform(0.5, 3.0, n) + rng.exponential(0.4, n)
        hit = (np.abs(fc) > 1) & (logp > 2)
        colours = np.where(hit, np.where(fc > 0, "#c0392b", "#2c7fb8"), "#aaaaaa")
        ax.scatter(fc, logp, s=5, c=colours, lw=0)
        ax.axhline(2, color="k", ls="--", lw=0.7)
        for v in (-1, 1):
            ax.axvline(v, color="k", ls="--", lw=0.7)
    elif variant == "hr":
        colour = rng.uniform(-0.3, 1.8, n)
        mag = 4.0 * colour + 1.5 + rng.normal(0, 0.6, n)
        giants = rng.random(n) < 0.15
        mag[giants] = rng.uniform(-2, 1.5, giants.sum())
        ax.scatter(colour, mag, s=4, c=colour, cmap="RdYlBu_r", lw=0)
        ax.invert_yaxis()
    else:
        x = rng.uniform(*p["xrange"], n)
        span = p["xrange"][1] - p["xrange"][0]
        noise = np.sqrt(max(1e-6, 1 - p["r"] ** 2)) / max(p["r"], 0.05)
        y = x + rng.normal(0, noise * span / 3.5, n)
        ax.scatter(x, y, s=8, color=_colours(style, 1)[0], marker=style["marker"], alpha=0.75, lw=0)
        slope, icpt = np.polyfit(x, y, 1)
        ax.plot(p["xrange"], np.polyval([slope, icpt], p["xrange"]), "k--", lw=1.0)
        ax.text(0.04, 0.92, f"r = {p['r']:.2f}", transform=ax.transAxes, fontsize=8)
    _decorate(ax, spec)


def _heatmap(fig, spec, rng) -> None:
    ax = fig.add_axes(_RECT["heatmap"])
    variant, p = spec["variant"], spec["params"]
    rows, cols = p["shape"]
    if variant == "confusion":
        m = np.eye(rows) * rng.uniform(3, 8, rows)[:, None] + rng.uniform(0, 1, (rows, cols))
        m = m / m.sum(1, keepdims=True)
    elif variant == "matrix":
        z = rng.normal(0, 1, (rows, 4)) @ rng.normal(0, 1, (4, 40)) + rng.normal(0, 1, (rows, 40))
        m = np.corrcoef(z)
        cols = rows
    elif variant == "field":
        m = _smooth_noise(rng, max(rows, cols), 2.4)[:rows, :cols]
        m = m + np.linspace(0, rng.uniform(-1, 1), cols)[None, :]
    elif variant == "raster":
        m = rng.poisson(rng.uniform(0.2, 2, (rows, 1)) * (1 + 3 * _smooth_noise(rng, cols, 2.0)[0][None, :cols] ** 2))
    else:  # clustered: block structure, as after hierarchical clustering
        blocks = rng.integers(0, 3, (rows, 1)) == rng.integers(0, 3, (1, cols))
        m = np.where(blocks, 1.5, -1.0) + rng.normal(0, 0.6, (rows, cols))
    extent = p.get("extent") if variant == "field" else None
    image = ax.imshow(m, cmap=spec["style"]["cmap"], aspect="auto", interpolation="nearest", extent=extent)
    if variant == "confusion" and rows <= 8:
        for i in range(rows):
            for j in range(cols):
                ax.text(j, i, f"{m[i, j]:.2f}".lstrip("0"), ha="center", va="center", fontsize=5.5,
                        color="white" if m[i, j] > 0.5 else "black")
    names = spec.get("categories") or []
    if names and variant in ("confusion", "matrix") and len(names) >= rows:
        ax.set_xticks(range(cols), names[:cols], rotation=90)
        ax.set_yticks(range(rows), names[:rows])
    cax = fig.add_axes([0.84, 0.15, 0.035, 0.72])
    fig.colorbar(image, cax=cax).set_label(_wrap(spec.get("clabel", ""), 30, 1), fontsize=7.5)
    cax.tick_params(labelsize=6.5)
    _decorate(ax, spec, grid=False)


def _smooth_noise(rng: np.random.Generator, n: int, power: float) -> np.ndarray:
    """(n, n) float64 smooth random field in [0, 1]: white noise filtered by 1/f^power."""
    noise = rng.normal(0, 1, (n, n))
    f = np.hypot(*np.meshgrid(np.fft.fftfreq(n), np.fft.fftfreq(n)))
    f[0, 0] = 1.0
    field = np.real(np.fft.ifft2(np.fft.fft2(noise) / f**power))
    return (field - field.min()) / (np.ptp(field) + 1e-12)


def _histogram(fig, spec, rng) -> None:
    ax = fig.add_axes(_RECT["default"])
    variant, p, style = spec["variant"], spec["params"], spec["style"]
    n, centre = p["n"], p["centre"]
    if variant == "lognormal":
        data = centre * rng.lognormal(0, 0.45, n)
    elif variant == "bimodal":
        data = np.concatenate([rng.normal(0.6 * centre, 0.12 * centre, n // 2),
                               rng.normal(1.4 * centre, 0.15 * centre, n - n // 2)])
    elif variant == "exponential":
        data = rng.exponential(centre, n)
    else:
        data = rng.normal(centre, 0.2 * centre, n)
    colour = _colours(style, 1)[0]
    ax.hist(data, bins=p["bins"], color=colour, edgecolor="white" if style.get("edges") else colour,
            lw=0.4, histtype="stepfilled" if style.get("step") else "bar", alpha=0.85)
    ax.axvline(np.median(data), color="k", ls="--", lw=1.0, label=f"median = {np.median(data):.3g}")
    ax.legend(loc="upper right")
    _decorate(ax, {**spec, "ylabel": spec.get("ylabel") or "Count"})


def _spectrum(fig, spec, rng) -> None:
    ax = fig.add_axes(_RECT["default"])
    variant, p, style = spec["variant"], spec["params"], spec["style"]
    x0, x1 = p["xrange"]
    x = np.linspace(x0, x1, 900)
    width = (x1 - x0) * p["width"]
    peaks = np.zeros_like(x)
    for centre, height in zip(p["peaks"], p["heights"]):
        peaks += height / (1 + ((x - centre) / width) ** 2)
    base = variant.removesuffix("-rev")
    if base == "emission":
        y = 0.3 + 0.2 * (x - x0) / (x1 - x0) + peaks + rng.normal(0, 0.02, x.size)
    elif base == "absorption":
        y = 1.0 - 0.8 * peaks / max(p["heights"]) + rng.normal(0, 0.01, x.size)
    elif base == "powerlaw":
        y = 10 * np.log10((x - x0 + 0.05 * (x1 - x0)) ** -1.2 + 0.3 * peaks) + rng.normal(0, 0.3, x.size)
    else:
        y = peaks + 0.03 + rng.normal(0, 0.01, x.size)
    ax.plot(x, y, color=_colours(style, 1)[0], lw=style["linewidth"] * 0.8)
    for label, centre in zip(spec.get("labels", []), p["peaks"]):
        top = y[np.argmin(np.abs(x - centre))]
        ax.annotate(label, (centre, top), xytext=(0, 6 if base != "absorption" else -10),
                    textcoords="offset points", ha="center", fontsize=6.5)
    if base in ("peaks", "emission"):  # head-room for the peak labels
        ax.set_ylim(top=float(y.max()) + 0.15 * float(np.ptp(y)))
    if variant.endswith("-rev"):
        ax.invert_xaxis()
    if style.get("no_yticks"):  # many spectra are shown in arbitrary units without ticks
        ax.set_yticks([])
    _decorate(ax, spec)


def _texture(variant: str, rng: np.random.Generator, n: int = 128) -> np.ndarray:
    """A micrograph-like image, (n, n) float in [0, 1] or (n, n, 3) for fluorescence."""
    yy, xx = np.mgrid[0:n, 0:n] / n
    if variant == "grains":  # Voronoi grains with dark boundaries (SEM / optical metallography)
        seeds = rng.uniform(0, 1, (int(rng.integers(25, 70)), 2))
        dist = (xx[..., None] - seeds[:, 0]) ** 2 + (yy[..., None] - seeds[:, 1]) ** 2
        owner = dist.argmin(-1)
        img = rng.uniform(0.3, 0.8, len(seeds))[owner]
        edge = (np.diff(owner, axis=0, prepend=owner[:1]) != 0) | (np.diff(owner, axis=1, prepend=owner[:, :1]) != 0)
        return np.clip(np.where(edge, 0.1, img) + rng.normal(0, 0.04, (n, n)), 0, 1)
    if variant == "terrain":
        return _smooth_noise(rng, n, 1.6)
    if variant == "fibres":  # bright neurites: distance to random line segments
        img = np.zeros((n, n))
        for _ in range(int(rng.integers(8, 18))):
            (ax_, ay), (bx, by) = rng.uniform(0, 1, (2, 2))
            length2 = (bx - ax_) ** 2 + (by - ay) ** 2 + 1e-9
            t = np.clip(((xx - ax_) * (bx - ax_) + (yy - ay) * (by - ay)) / length2, 0, 1)
            d2 = (xx - ax_ - t * (bx - ax_)) ** 2 + (yy - ay - t * (by - ay)) ** 2
            img += rng.uniform(0.4, 1.0) * np.exp(-d2 / 2e-5)
        return np.clip(img + 0.15 * _smooth_noise(rng, n, 1.5), 0, 1)
    count = {"sky": 60, "particles": 35, "cells": 22}[variant]
    centres, radii = rng.uniform(0, 1, (count, 2)), rng.uniform(0.015, 0.06, count)
    if variant == "sky":
        radii = rng.exponential(0.006, count) + 0.003
    blobs = np.exp(-(((xx[..., None] - centres[:, 0]) ** 2 + (yy[..., None] - centres[:, 1]) ** 2) / (2 * radii**2)))
    img = np.clip((blobs * rng.uniform(0.3, 1.0, count)).sum(-1), 0, 1)
    if variant == "cells":  # two-channel fluorescence: nuclei (blue) inside cytoplasm (green)
        body = np.clip(_smooth_noise(rng, n, 1.2) * 1.6 - 0.4, 0, 1) * np.clip(img * 3, 0, 1)
        return np.clip(np.stack([0.1 * img, 0.2 * img + 0.9 * body, img], -1), 0, 1)
    if variant == "particles":
        img = 0.25 + 0.6 * (img > 0.5) + 0.1 * img
    return np.clip(img + rng.normal(0, 0.03, (n, n)), 0, 1)


_MICROGRAPH_CMAPS = {"grains": ("gray", "gray", "bone"), "particles": ("gray", "copper", "gray"),
                     "terrain": ("afmhot", "gist_earth", "terrain"), "sky": ("gray", "afmhot", "inferno"),
                     "fibres": ("gray", "magma", "bone"), "cells": ("gray",) * 3}


def _micrograph(fig, spec, rng) -> None:
    style = spec["style"]
    ax = fig.add_axes([0, 0.1, 1, 0.9])
    img = _texture(spec["variant"], rng)
    cmap = _MICROGRAPH_CMAPS[spec["variant"]][style["colour_offset"] % 3]  # electron images are grey, AFM warm
    ax.imshow(img, cmap=None if img.ndim == 3 else cmap, interpolation="bilinear")
    ax.set_axis_off()
    light = spec["variant"] in ("sky", "cells", "fibres")
    bar = img.shape[1] * spec["params"]["bar_fraction"]
    ax.add_patch(_patches().Rectangle((img.shape[1] * 0.94 - bar, img.shape[0] * 0.93), bar, img.shape[0] * 0.02,
                                      color="white" if light or style.get("dark") else "black"))
    strip = fig.add_axes([0, 0, 1, 0.1])
    strip.set_axis_off()
    strip.add_patch(_patches().Rectangle((0, 0), 1, 1, color="black", transform=strip.transAxes))
    text = dict(color="white", va="center", fontsize=7.5, transform=strip.transAxes)
    strip.text(0.02, 0.5, _wrap(spec["title"], 44, 1), **text)
    strip.text(0.98, 0.5, spec["params"]["scale"], ha="right", **text)
    if spec.get("panel"):
        ax.text(0.03, 0.95, spec["panel"], transform=ax.transAxes, va="top", fontsize=10, weight="bold",
                color="white" if light else "black")


def _patches():
    from matplotlib import patches

    return patches


def _diagram_layout(variant: str, n: int) -> list[tuple[float, float]]:
    """Box centres in axes coordinates for n boxes."""
    if variant == "cycle":
        angles = np.pi / 2 - 2 * np.pi * np.arange(n) / n
        return [(0.5 + 0.33 * np.cos(a), 0.47 + 0.33 * np.sin(a)) for a in angles]
    if variant == "network":
        return [(0.08 + 0.84 * i / max(n - 1, 1), 0.45) for i in range(n)]
    if n <= 4:  # pipeline: a vertical column, or a two-column snake for long pipelines
        return [(0.5, 0.84 - 0.75 * i / max(n - 1, 1)) for i in range(n)]
    rows = (n + 1) // 2
    column = [0.84 - 0.75 * r / max(rows - 1, 1) for r in range(rows)]
    return [(0.25, column[i]) if i < rows else (0.75, column[rows - 1 - (i - rows)]) for i in range(n)]


def _diagram(fig, spec, rng) -> None:
    patches = _patches()
    ax = fig.add_axes([0.02, 0.02, 0.96, 0.88])
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    style, steps, variant = spec["style"], spec["labels"], spec["variant"]
    colours = _colours(style, len(steps))
    centres = _diagram_layout(variant, len(steps))
    boxstyle = style.get("boxstyle", "round,pad=0.02")
    boxes = []
    for k, (label, (cx, cy)) in enumerate(zip(steps, centres)):
        if variant == "network":
            h, w = 0.35 + 0.45 * rng.uniform(0.2, 1.0), 0.56 / len(steps)
            box = patches.FancyBboxPatch((cx - w / 2, cy - h / 2), w, h, boxstyle=boxstyle, fc=colours[k], ec="k",
                                         lw=0.6, alpha=0.85)
            ax.text(cx, cy, _wrap(label, 16, 2), rotation=90, ha="center", va="center", fontsize=7)
        else:
            w, h = (0.3, 0.13) if variant == "cycle" else (0.42 if len(steps) <= 4 else 0.36, 0.12)
            fill = colours[k] if style.get("filled_boxes") else "white"
            box = patches.FancyBboxPatch((cx - w / 2, cy - h / 2), w, h, boxstyle=boxstyle, fc=fill, ec=colours[k],
                                         lw=1.2)
            ax.text(cx, cy, _wrap(label, 16, 2), ha="center", va="center", fontsize=7.5)
        boxes.append(ax.add_patch(box))
    # Arrows run centre to centre and are clipped at the two boxes' outlines (patchA / patchB).
    links = list(zip(range(len(steps)), range(1, len(steps))))
    if variant == "cycle":
        links.append((len(steps) - 1, 0))
    for a, b in links:
        ax.annotate("", xy=centres[b], xytext=centres[a],
                    arrowprops=dict(arrowstyle="-|>", color="0.2", lw=1.0, patchA=boxes[a], patchB=boxes[b],
                                    shrinkA=2, shrinkB=2,
                                    connectionstyle="arc3,rad=0.2" if variant == "cycle" else "arc3"))
    if spec.get("title"):
        fig.text(0.5, 0.95, _wrap(spec["title"], 46, 2), ha="center", va="center", fontsize=9, weight="bold")


_DRAW = {
    "line": _line, "bar": _bar, "scatter": _scatter, "heatmap": _heatmap, "histogram": _histogram,
    "spectrum": _spectrum, "diagram": _diagram, "micrograph": _micrograph,
}


class FigureRenderer:
    """Draw specs into one reused Agg figure. Use as a context manager::

        with FigureRenderer(256) as renderer:
            pixels = renderer.render(spec)      # (256, 256, 3) uint8

    The context fixes matplotlib's rcParams for the drawings and restores them afterwards.
    """

    def __init__(self, image_size: int = 256):
        self.image_size = int(image_size)
        self._figure = None
        self._context = None

    def __enter__(self) -> "FigureRenderer":
        # Figure + FigureCanvasAgg directly: no pyplot, no global figure manager, no GUI backend.
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self._context = matplotlib.rc_context()
        self._context.__enter__()
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(_RC)
        self._figure = Figure(figsize=(_INCHES, _INCHES), dpi=self.image_size / _INCHES)
        FigureCanvasAgg(self._figure)
        return self

    def __exit__(self, *exc) -> None:
        self._figure = None
        if self._context is not None:
            self._context.__exit__(*exc)
            self._context = None

    def render(self, spec: dict[str, Any]) -> np.ndarray:
        """Draw ``spec`` and return its pixels, (image_size, image_size, 3) uint8."""
        import matplotlib

        if self._figure is None:
            raise RuntimeError("use FigureRenderer inside a `with` block")
        fig = self._figure
        fig.clear()
        style = spec["style"]
        matplotlib.rcParams["font.family"] = style["font"]
        fig.set_facecolor(style.get("facecolor", "white"))
        _DRAW[spec["kind"]](fig, spec, np.random.default_rng(spec["seed"]))
        fig.canvas.draw()
        pixels = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
        fig.clear()  # drop artists now, so memory stays flat between figures
        return pixels


def render_figure(spec: dict[str, Any], image_size: int = 256) -> np.ndarray:
    """Render one spec on its own: (image_size, image_size, 3) uint8 pixels."""
    with FigureRenderer(image_size) as renderer:
        return renderer.render(spec)


def png_bytes(pixels: np.ndarray) -> bytes:
    """Encode (h, w, 3) uint8 pixels as PNG with PIL: no timestamps or software tags, so equal
    pixels always give equal bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, format="PNG", optimize=False, compress_level=6)
    return buffer.getvalue()
