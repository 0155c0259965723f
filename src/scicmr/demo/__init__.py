"""The demo corpus: scicmr's own small collection of rendered scientific figures.

>>> from scicmr.demo import generate_corpus                 # doctest: +SKIP
>>> manifest = generate_corpus("demo_data", n_papers=120)   # doctest: +SKIP

Used by ``make demo``, the benchmarks and the end-to-end tests. Importing this package is light;
matplotlib loads only when figures are rendered.
"""

from scicmr.demo.corpus import PlannedFigure, generate_corpus, plan_corpus
from scicmr.demo.vocabulary import FIGURE_KINDS, dated_terms, field_names

__all__ = ["FIGURE_KINDS", "PlannedFigure", "dated_terms", "field_names", "generate_corpus", "plan_corpus",
           "render_figure"]


def render_figure(spec, image_size: int = 256):
    """Render one planned spec: (image_size, image_size, 3) uint8 pixels (see demo.figures)."""
    from scicmr.demo.figures import render_figure as _render

    return _render(spec, image_size)
