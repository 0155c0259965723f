"""A small library of paper figures with printed words, captions and citing sentences: what
hybrid retrieval reads (no PDFs: the records are written directly)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from factories.data import write_image

TOPICS = {
    "red": ["galaxy", "redshift", "spectrum", "luminosity", "telescope", "photometry"],
    "green": ["gene", "expression", "sequencing", "protein", "assay", "coverage"],
    "blue": ["ocean", "temperature", "rainfall", "carbon", "flux", "anomaly"],
}
# Words printed in one figure and named by its caption only: the exact evidence the lexical
# channel keeps and a projection learned from a few dozen pairs cannot.
MARKERS = [f"{a}{b}" for a in ("alpha", "beta", "gamma", "delta", "kappa", "sigma", "omega", "zeta", "theta",
                                           "lambda", "rho", "tau")
           for b in ("ridge", "delta", "plume", "front", "wave", "field", "trace", "shelf", "core")]


def make_papers_library(root: Path, papers: int = 24, per_paper: int = 4):
    """``papers`` papers × ``per_paper`` figures; splits by paper: 60 % train, 20 % validation,
    20 % test. Figure i prints its marker word and two topic words; its caption names the
    marker and a topic; a body sentence cites it by number with another marker word."""
    from scicmr.corpus.library import Library
    from scicmr.corpus.record import Record

    lib = Library.create(root)
    lib.images_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    colours = list(TOPICS)
    records, splits = [], {}
    for p in range(papers):
        colour = colours[p % 3]
        words = TOPICS[colour]
        split = ("train", "train", "train", "validation", "test")[p % 5]
        for f in range(1, per_paper + 1):
            i = p * per_paper + f - 1
            rid = f"paper{p}-fig{f}"
            marker, other = MARKERS[i % len(MARKERS)], f"station{i}"
            write_image(lib.images_dir / f"{rid}.png", colour, seed=i)
            topic = words[int(rng.integers(len(words)))]
            records.append(Record(
                id=rid, title=f"Paper {p} on {words[0]}", text=f"Figure {f}: {topic} {marker} measured in {other}",
                images=[f"images/{rid}.png"], group=f"paper{p}",
                context=f"As shown in Fig. {f}, the {marker} {topic} changes with {words[(f + 2) % 6]} {other}.",
                extra={"figure": str(f), "figure_text": f"{marker} {words[f % 6]} {10 * f} {other}",
                       "figure_text_source": "text-layer"},
            ))
            splits[rid] = split
    lib.add_records(records)
    lib.set_splits(splits)
    return lib
