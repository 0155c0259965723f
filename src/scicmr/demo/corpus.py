"""scicmr's own small scientific corpus: papers with figures, captions and metadata.

Generation has two stages, so tests and tools can inspect the corpus without drawing it:

- :func:`plan_corpus` decides everything (cheap, pure Python): papers with a field label, a
  year, authors, title, keywords and abstract; per paper 2–4 figures, each with a caption and a
  *render spec* (kind, texts, numbers, style, seed).
- :func:`generate_corpus` renders every spec with :mod:`scicmr.demo.figures` and writes
  ``images/<id>.png`` plus ``manifest.jsonl`` (one JSON object per figure) into ``out_dir``.

Structure the retrieval methods can learn from: captions, titles and the text inside figures use
the paper's field vocabulary; each field favours some figure kinds (genomics → heat maps,
astrophysics → spectra) without owning them; authors publish mostly in one or two fields; the
number of papers per year grows per field and dated terms (``transformer`` from 2018) never
appear before their year. Everything follows from ``seed``: same seed, same bytes.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import scicmr.demo.vocabulary as V
from scicmr.demo.vocabulary import FieldVocab, Term, axis_label, parts, split_quantity
from scicmr.errors import InputError

_PALETTES = ("tab10", "Set1", "Dark2", "Set2", "Paired", "tab20b")
_GENERIC_CMAPS = ("viridis", "plasma", "Greys", "cividis")
_CIFAR = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse")
_SPECTRUM_RANGES = {"deg": (10, 90), "cm⁻¹": (400, 4000), "eV": (0, 1100), "ppm": (0, 10), "m/z": (800, 2400),
                    "Å": (3800, 7000), "µm": (0.6, 5.0), "GHz": (1, 100), "Hz": (1, 100), "nm": (200, 800),
                    "years": (1, 20), "cycles/yr": (0.1, 6)}


@dataclass
class PlannedFigure:
    """One figure of the plan: its manifest line (``record``) and how to draw it (``spec``)."""

    record: dict[str, Any]
    spec: dict[str, Any]


@dataclass
class _Author:
    name: str
    fields: tuple[str, ...]  # home field first; a few authors also work in a second field
    weight: float  # productivity: some authors write many papers


class _Paper:
    """Everything one paper's text and figures draw from (field, year, picked vocabulary)."""

    def __init__(self, rng: random.Random, vocab: FieldVocab, year: int, index: int):
        self.rng, self.vocab, self.year, self.index = rng, vocab, year, index
        self.id = f"paper{index:04d}"
        self.topic, self.subject = self.pick("topics"), self.pick("subjects")
        self.method, self.method2 = self.pick_distinct("methods", 2)
        self.condition, self.application = self.pick("conditions"), self.pick("applications")
        self.samples = self.pick("samples")
        self.main = parts(self.pick_term("lines"))  # the paper's headline quantities (x, y, variant)

    def pick_term(self, key: str) -> Term:
        """A term of ``key`` available this year; dated terms weigh 3× (they are in fashion)."""
        terms = self.vocab.terms(key, self.year)
        return self.rng.choices(terms, weights=[3.0 if t.since else 1.0 for t in terms])[0]

    def pick(self, key: str) -> str:
        return self.pick_term(key).text

    def pick_distinct(self, key: str, k: int, *, ordered: bool = False) -> list[str]:
        """``k`` different texts of ``key`` (fewer if the list is short); vocabulary order when
        ``ordered`` (age groups, spectral classes read best in order)."""
        terms = self.vocab.terms(key, self.year)
        chosen = self.rng.sample(range(len(terms)), min(k, len(terms)))
        return [terms[i].text for i in (sorted(chosen) if ordered else chosen)]

    def fill(self, template: str, **extra: Any) -> str:
        """Format a template with the paper's picks; ``{Name}`` gives ``name`` capitalised."""
        xq, yq = split_quantity(self.main[0])[0], split_quantity(self.main[1])[0]
        values = dict(topic=self.topic, subject=self.subject, method=self.method, method2=self.method2,
                      condition=self.condition, application=self.application, samples=self.samples,
                      xname=xq, yname=yq, field=self.vocab.name)
        values.update(extra)
        values.update({k[:1].upper() + k[1:]: _cap(str(v)) for k, v in list(values.items())})
        return template.format(**values)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _lower_label(quantity: str) -> str:
    """Caption form of a quantity: ``"Firing rate [Hz]"`` → ``"firing rate (Hz)"``; acronyms
    (``BOLD``, ``UMAP 1``, ``CO₂``) and units keep their case."""
    label = axis_label(quantity)
    return label[:1].lower() + label[1:] if label[1:2].islower() else label


# ---------------------------------------------------------------------------- papers
def _author_pool(rng: random.Random, fields: Sequence[str], n_papers: int) -> list[_Author]:
    """About 0.8 authors per paper (at least 4 per field), each at home in one field and 35%
    of them also in a second; names are unique."""
    size = max(4 * len(fields), int(0.8 * n_papers))
    combos = [(f, s) for f in V.FIRST_NAMES for s in V.SURNAMES]
    rng.shuffle(combos)
    # Spread first names and surnames evenly, so a paper rarely has three authors called Silva.
    cap_first, cap_last = -(-size // len(V.FIRST_NAMES)), -(-size // len(V.SURNAMES))
    used: dict[str, int] = {}
    names = []
    for first, last in combos:
        if len(names) < size and used.get(first, 0) < cap_first and used.get(last, 0) < cap_last:
            names.append(f"{first} {last}")
            used[first], used[last] = used.get(first, 0) + 1, used.get(last, 0) + 1
    extra = 0
    while len(names) < size:  # more authors than name pairs: middle initials (A., B., …, AA., …) keep them unique
        (first, last), round_ = combos[extra % len(combos)], extra // len(combos)
        initials = ""
        while True:
            initials, round_ = chr(65 + round_ % 26) + initials, round_ // 26 - 1
            if round_ < 0:
                break
        names.append(f"{first} {initials}. {last}")
        extra += 1
    pool = []
    for i in range(size):
        home = fields[i % len(fields)]
        second = rng.choice([f for f in fields if f != home]) if rng.random() < 0.35 else None
        pool.append(_Author(names[i], (home, second) if second else (home,), min(rng.paretovariate(1.5), 6.0)))
    return pool


def _pick_authors(rng: random.Random, pool: list[_Author], field: str) -> list[str]:
    """1–4 authors who work in ``field``; 4% of papers add one outside collaborator."""
    count = rng.choices((1, 2, 3, 4), weights=(0.15, 0.35, 0.3, 0.2))[0]
    local = [a for a in pool if field in a.fields]
    chosen: list[_Author] = []
    while len(chosen) < min(count, len(local)):
        author = rng.choices(local, weights=[a.weight for a in local])[0]
        if author not in chosen:
            chosen.append(author)
    if rng.random() < 0.04:
        outsider = rng.choice([a for a in pool if field not in a.fields])
        chosen[-1:] = [chosen[-1], outsider] if len(chosen) < 4 else [outsider]
    return [a.name for a in chosen]


def _pick_year(rng: random.Random, vocab: FieldVocab) -> int:
    """Years 2005–2024, growing by the field's rate; a surge multiplies years from its start."""
    years = list(range(V.FIRST_YEAR, V.LAST_YEAR + 1))
    weights = []
    for year in years:
        w = (1.0 + vocab.growth) ** (year - V.FIRST_YEAR)
        if vocab.surge and year >= vocab.surge[0]:
            w *= vocab.surge[1]
        weights.append(w)
    return rng.choices(years, weights=weights)[0]


def _paper_text(paper: _Paper) -> dict[str, Any]:
    """Title, abstract (2–4 sentences) and keywords of a paper."""
    rng = paper.rng
    title = _cap(paper.fill(rng.choice(V.TITLES), adjective=rng.choice(V.ADJECTIVES)))
    baseline = rng.choice(["previous reports", "the control", f"conventional {paper.method2}", "earlier estimates"])
    sentences = [paper.fill(rng.choice(V.OPENERS))]
    middle = [paper.fill(rng.choice(V.METHOD_SENTENCES)),
              paper.fill(rng.choice(V.RESULT_SENTENCES), trend=rng.choice(V.TRENDS), pct=rng.randint(5, 60),
                         baseline=baseline),
              paper.fill(rng.choice(V.CLOSERS))]
    keep = sorted(rng.sample(range(3), rng.randint(1, 3)))
    sentences += [middle[i] for i in keep]
    keywords = [paper.topic, paper.method, paper.subject.removeprefix("the "), paper.vocab.name]
    keywords += rng.sample([paper.method2, split_quantity(paper.main[1])[0]], rng.randint(0, 2))
    keywords = list(dict.fromkeys(keywords))
    return {"title": title, "abstract": " ".join(_cap(s) for s in sentences), "keywords": keywords}


def _paper_style(rng: random.Random, vocab: FieldVocab) -> dict[str, Any]:
    """Colours, fonts and decorations shared by a paper's figures (papers look different)."""
    cmaps = [t.text for t in vocab.lists["cmaps"]]
    return {
        "palette": rng.choice(_PALETTES), "colour_offset": rng.randint(0, 4),
        "cmap": rng.choice(cmaps) if rng.random() < 0.8 else rng.choice(_GENERIC_CMAPS),
        "font": rng.choice(("DejaVu Sans", "DejaVu Sans", "DejaVu Serif")),
        "grid": rng.random() < 0.4, "linewidth": rng.choice((1.0, 1.3, 1.6, 2.0)),
        "marker": rng.choice("os^Dv"), "markers": rng.random() < 0.4, "open_spines": rng.random() < 0.5,
        "facecolor": rng.choice(("white", "white", "white", "#f7f7f2")), "title_loc": rng.choice(("center", "left")),
        "error_bars": rng.random() < 0.6, "hatch": rng.choice((None, "//", "..")), "edges": rng.random() < 0.6,
        "step": rng.random() < 0.3, "filled_boxes": rng.random() < 0.5, "no_yticks": rng.random() < 0.3,
        "boxstyle": rng.choice(("round,pad=0.02", "square,pad=0.02", "round4,pad=0.02")),
        "legend_loc": rng.choice(("upper right", "upper left", "lower right")), "dark": rng.random() < 0.3,
    }


# ---------------------------------------------------------------------------- figures
def _panel_title(paper: _Paper, k: int) -> str:
    """Axes title: often the subject or method (more field words inside the image), or none."""
    rng = paper.rng
    choice = rng.random()
    if choice < 0.3:
        return ""
    text = paper.subject if choice < 0.6 else (paper.method if choice < 0.8 else f"{paper.subject}, {paper.condition}")
    return f"({'abcd'[k % 4]}) {_cap(text)}" if rng.random() < 0.4 else _cap(text)


def _quantities(paper: _Paper, key: str) -> tuple[str, str, str]:
    """(x, y, variant) for a line or scatter plot; line plots mostly use the paper's headline pair."""
    if key == "lines" and paper.rng.random() < 0.6:
        return tuple(paper.main)  # type: ignore[return-value]
    return tuple(parts(paper.pick_term(key)))  # type: ignore[return-value]


def _xrange(paper: _Paper, xq: str) -> list[float]:
    name, unit = split_quantity(xq)
    rng = paper.rng
    if name == "year":
        end = min(paper.year - 1, V.LAST_YEAR)
        return [end - rng.choice((30, 40, 60, 100)), end]
    if name == "month":
        return [1, 12]
    return [0, rng.choice((1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 1000))]


def _scale(rng: random.Random, quantity: str) -> float:
    """Magnitude of plotted values: percentages stay below 100, other units vary by decades."""
    return 100.0 if split_quantity(quantity)[1] == "%" else rng.choice((1, 2.5, 5, 10, 50, 100, 1000))


def _spec_line(paper: _Paper, spec: dict, fmt: dict) -> str:
    rng = paper.rng
    xq, yq, variant = _quantities(paper, "lines")
    series = paper.pick_distinct("series", rng.choice((1, 1, 2, 3)))
    overlay = rng.choice(V.OVERLAYS[variant]) if rng.random() < 0.6 else ""
    spec.update(variant=variant, xlabel=axis_label(xq), ylabel=axis_label(yq), series=series,
                params={"xrange": _xrange(paper, xq), "scale": _scale(rng, yq),
                        "noise": round(rng.uniform(0.01, 0.05), 3), "overlay": overlay})
    fmt.update(x=_lower_label(xq), y=_lower_label(yq), series=_join(series), overlay=overlay)
    return "line" if overlay else ""


def _spec_bar(paper: _Paper, spec: dict, fmt: dict) -> str:
    rng = paper.rng
    yq, variant = parts(paper.pick_term("bars"))
    cats = paper.pick_distinct("categories", rng.randint(3, 7), ordered=True)
    series = paper.pick_distinct("series", rng.randint(2, 3) if variant in ("grouped", "stacked") else 1)
    spec.update(variant=variant, xlabel="", ylabel=axis_label(yq), series=series, categories=cats,
                params={"scale": _scale(rng, yq) / (len(series) if variant == "stacked" else 1)})
    err = rng.choice(("the standard deviation", "the standard error of the mean", "95% confidence intervals"))
    fmt.update(y=_lower_label(yq), cats=_join(cats), ncats=len(cats), series=_join(series), err=err)
    return "bar" if spec["style"]["error_bars"] and variant in ("simple", "grouped", "horizontal") else ""


def _spec_scatter(paper: _Paper, spec: dict, fmt: dict) -> str:
    rng = paper.rng
    xq, yq, variant = _quantities(paper, "scatters")
    series = paper.pick_distinct("series", rng.randint(2, 5)) if variant == "clusters" else []
    n, r = rng.randint(60, 300), round(rng.uniform(0.45, 0.95), 2)
    spec.update(variant=variant, xlabel=axis_label(xq), ylabel=axis_label(yq), series=series,
                params={"n": n, "r": r, "xrange": _xrange(paper, xq),
                        "positive": not any(w in xq for w in ("UMAP", "t-SNE", "PC"))})
    fmt.update(x=_lower_label(xq), y=_lower_label(yq), n=n, r=f"{r:.2f}", series=_join(series))
    return f"scatter_{variant}"


def _spec_heatmap(paper: _Paper, spec: dict, fmt: dict) -> str:
    rng = paper.rng
    name, variant, rows_q, cols_q, clabel = parts(paper.pick_term("heatmaps"))
    shape = {"confusion": (8, 8), "matrix": (rng.randint(6, 14),) * 2, "field": (48, 48),
             "raster": (rng.randint(20, 40), 100)}.get(variant, (rng.randint(12, 30), rng.randint(6, 12)))
    classes = list(_CIFAR) if "CIFAR" in paper.subject else [str(d) for d in range(8)] if "MNIST" in paper.subject \
        else []
    # Geographic axes get real coordinates (a map), other axes keep cell indices.
    spans = {"°E": [-180, 180], "°N": [-90, 90]}
    extent = spans.get(split_quantity(cols_q)[1], [0, shape[1]]) + spans.get(split_quantity(rows_q)[1], [shape[0], 0])
    spec.update(variant=variant, xlabel=axis_label(cols_q), ylabel=axis_label(rows_q), clabel=axis_label(clabel),
                categories=classes, params={"shape": list(shape), "extent": extent})
    fmt.update(name=name, rows=shape[0], cols=shape[1], clabel=_lower_label(clabel),
               rowname=split_quantity(rows_q)[0], colname=split_quantity(cols_q)[0])
    return ""


def _spec_diagram(paper: _Paper, spec: dict, fmt: dict) -> str:
    name, variant, steps = parts(paper.pick_term("diagrams"))
    labels = [s.strip() for s in steps.split(",")]
    spec.update(variant=variant, title=_cap(name), labels=labels, params={})
    fmt.update(name=name, steps=" → ".join(labels), first=labels[0], last=labels[-1], nsteps=len(labels))
    return ""


def _spec_histogram(paper: _Paper, spec: dict, fmt: dict) -> str:
    rng = paper.rng
    quantity, variant = parts(paper.pick_term("hists"))
    n, centre = rng.randint(100, 2000), rng.choice((0.5, 2, 5, 12, 40, 150, 600))
    unit = split_quantity(quantity)[1]
    spec.update(variant=variant, xlabel=axis_label(quantity), ylabel="Count",
                params={"n": n, "centre": centre, "bins": rng.choice((15, 20, 30, 40))})
    fmt.update(y=_lower_label(quantity), n=n, centre=f"{centre:g} {unit}".strip())
    return ""


def _spec_spectrum(paper: _Paper, spec: dict, fmt: dict) -> str:
    rng = paper.rng
    name, xq, yq, variant, labels = parts(paper.pick_term("spectra"))
    labels = [s.strip() for s in labels.split(",")]
    x0, x1 = _SPECTRUM_RANGES.get(split_quantity(xq)[1], (0, 100))
    positions = sorted(round(x0 + (x1 - x0) * rng.uniform(0.1, 0.9), 3 if x1 < 20 else 1) for _ in labels)
    width = {"emission": 0.003, "absorption": 0.015, "powerlaw": 0.02}.get(variant.removesuffix("-rev"), 0.006)
    spec.update(variant=variant, xlabel=axis_label(xq), ylabel=axis_label(yq), labels=labels,
                params={"xrange": [x0, x1], "peaks": positions,
                        "heights": [round(rng.uniform(0.3, 1), 2) for _ in labels],
                        "width": width * rng.uniform(0.7, 1.4)})
    unit = split_quantity(xq)[1]
    fmt.update(name=name, x=_lower_label(xq), y=_lower_label(yq), labels=_join(labels),
               positions=_join([f"{p:g} {unit}".strip() for p in positions]))
    return ""


def _spec_micrograph(paper: _Paper, spec: dict, fmt: dict) -> str:
    name, variant, scale = parts(paper.pick_term("images"))
    spec.update(variant=variant, title=_cap(paper.subject),
                params={"scale": scale, "bar_fraction": round(paper.rng.uniform(0.15, 0.3), 3)})
    fmt.update(name=name, scale=scale, feature=V.TEXTURE_FEATURES[variant])
    return ""


_SPEC = {"line": _spec_line, "bar": _spec_bar, "scatter": _spec_scatter, "heatmap": _spec_heatmap,
         "diagram": _spec_diagram, "histogram": _spec_histogram, "spectrum": _spec_spectrum,
         "micrograph": _spec_micrograph}


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1] if items else ""


def _plan_figure(paper: _Paper, kind: str, k: int, style: dict) -> tuple[dict, str]:
    """Render spec and caption of figure ``k`` (1-based) of ``paper``."""
    rng = paper.rng
    spec: dict[str, Any] = {"kind": kind, "field": paper.vocab.name, "seed": rng.getrandbits(32), "style": style,
                            "title": _panel_title(paper, k - 1), "series": [], "categories": [], "labels": []}
    fmt: dict[str, Any] = {}
    extra = _SPEC[kind](paper, spec, fmt)
    templates = V.CAPTIONS[kind]
    if len(spec["series"]) < 2:  # "comparing {series}" needs at least two things to compare
        templates = [t for t in templates if "{series}" not in t]
    caption = paper.fill(rng.choice(templates), **fmt)
    if extra:
        caption = caption[:-1] + "; " + paper.fill(V.CAPTION_EXTRAS[extra], **fmt)
    if rng.random() < 0.6:  # a closing sentence, as real captions often have
        caption += " " + _cap(paper.fill(rng.choice(V.CAPTION_TAILS), nrep=rng.randint(3, 12),
                                         section=rng.randint(2, 6), table=rng.randint(1, 4)))
    return spec, f"Figure {k}: {_cap(caption)}"


def _figure_kinds(rng: random.Random, vocab: FieldVocab, count: int) -> list[str]:
    """Kinds by the field's weights; a kind already used in the paper is 3× less likely."""
    weights = dict(vocab.kind_weights)
    kinds = []
    for _ in range(count):
        kind = rng.choices(list(weights), weights=list(weights.values()))[0]
        weights[kind] /= 3.0
        kinds.append(kind)
    return kinds


# ---------------------------------------------------------------------------- public API
def _check_arguments(n_papers: Any, figures_per_paper: Any, seed: Any, image_size: Any = 256) -> tuple[int, int]:
    if isinstance(n_papers, bool) or not isinstance(n_papers, int) or n_papers < 1:
        raise InputError(f"n_papers must be a positive integer, got {n_papers!r}", fix="pass e.g. n_papers=120")
    try:
        low, high = (int(v) for v in figures_per_paper)
    except (TypeError, ValueError):
        raise InputError(f"figures_per_paper must be a (min, max) pair, got {figures_per_paper!r}",
                         fix="pass e.g. figures_per_paper=(2, 4)") from None
    if not 1 <= low <= high:
        raise InputError(f"figures_per_paper must satisfy 1 <= min <= max, got {figures_per_paper!r}",
                         fix="pass e.g. figures_per_paper=(2, 4)")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"seed must be an integer, got {seed!r}")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or not 32 <= image_size <= 4096:
        raise InputError(f"image_size must be an integer between 32 and 4096 pixels, got {image_size!r}",
                         fix="pass e.g. image_size=256")
    return low, high


def plan_corpus(
    *, n_papers: int = 120, figures_per_paper: tuple[int, int] = (2, 4), seed: int = 0
) -> list[PlannedFigure]:
    """Plan the corpus without drawing anything: one :class:`PlannedFigure` per figure.

    ``record`` is the manifest line (see :func:`generate_corpus`); ``spec`` is what
    :func:`scicmr.demo.figures.render_figure` draws. Fields are dealt round-robin in a shuffled
    order, so every field appears once there are at least as many papers as fields.
    """
    low, high = _check_arguments(n_papers, figures_per_paper, seed)
    rng = random.Random(seed)
    fields = V.load_fields()
    names = list(fields)
    authors = _author_pool(rng, names, n_papers)
    order: list[str] = []
    planned = []
    for index in range(n_papers):
        if not order:
            order = rng.sample(names, len(names))
        vocab = fields[order.pop()]
        paper = _Paper(rng, vocab, _pick_year(rng, vocab), index)
        text = _paper_text(paper)
        base = {"title": text["title"], "abstract": text["abstract"], "keywords": text["keywords"],
                "authors": _pick_authors(rng, authors, vocab.name), "date": str(paper.year),
                "labels": [vocab.name], "group": paper.id}
        style = _paper_style(rng, vocab)
        page = 1
        for k, kind in enumerate(_figure_kinds(rng, vocab, rng.randint(low, high)), start=1):
            spec, caption = _plan_figure(paper, kind, k, style)
            page += rng.randint(0, 2)
            fig_id = f"{paper.id}-fig{k}"
            record = {"id": fig_id, "image": f"images/{fig_id}.png", "title": base["title"], "caption": caption,
                      **{key: base[key] for key in ("abstract", "keywords", "authors", "date", "labels", "group")},
                      "figure_kind": kind, "page": page, "source_file": f"papers/{paper.id}.pdf"}
            planned.append(PlannedFigure(record=record, spec=spec))
    return planned


def generate_corpus(
    out_dir: str | Path,
    *,
    n_papers: int = 120,
    figures_per_paper: tuple[int, int] = (2, 4),
    seed: int = 0,
    image_size: int = 256,
    progress: bool = True,
) -> Path:
    """Write the demo corpus into ``out_dir`` and return the path of ``out_dir/manifest.jsonl``.

    Writes ``images/<id>.png`` ((image_size, image_size) RGB PNGs) and ``manifest.jsonl``, one
    JSON object per figure with keys ``id, image, title, caption, abstract, keywords, authors,
    date, labels, group, figure_kind, page, source_file`` (``image`` relative to ``out_dir``).
    Every file is written atomically and the manifest last, so a manifest always points at
    complete images. Same arguments give the same bytes. Figures of an earlier run into the same
    folder that the new manifest does not list are deleted; other files are left alone.
    """
    from scicmr._io import atomic_write_bytes, atomic_write_text
    from scicmr._progress import progress as progress_bar
    from scicmr.demo.figures import FigureRenderer, png_bytes

    _check_arguments(n_papers, figures_per_paper, seed, image_size)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir} exists and is not a folder", fix="choose another output folder")
    plan = plan_corpus(n_papers=n_papers, figures_per_paper=figures_per_paper, seed=seed)
    items = progress_bar(plan, total=len(plan), desc="rendering demo figures", unit="fig") if progress else plan
    with FigureRenderer(image_size) as renderer:
        for item in items:
            atomic_write_bytes(out_dir / item.record["image"], png_bytes(renderer.render(item.spec)))
    lines = [json.dumps(item.record, ensure_ascii=False, sort_keys=False) for item in plan]
    manifest = atomic_write_text(out_dir / "manifest.jsonl", "\n".join(lines) + "\n")
    _remove_stale_images(out_dir / "images", {Path(item.record["image"]).name for item in plan})
    return manifest


def _remove_stale_images(folder: Path, keep: set[str]) -> None:
    """Delete figures an earlier, different run left behind (only files named like ours), so the
    images folder always matches the manifest."""
    for path in folder.glob("paper*-fig*.png"):
        if path.name not in keep and re.fullmatch(r"paper\d{4,}-fig\d+\.png", path.name):
            path.unlink()
