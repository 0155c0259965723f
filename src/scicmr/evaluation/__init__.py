"""Evaluation: retrieval metrics (pure numpy functions) and plots.

- :mod:`scicmr.evaluation.metrics` — ranking, relevance, mAP@k / full mAP, precision@k,
  recall@k, pair-protocol MRR and hits@k, interpolated precision–recall curves, and the
  ``retrieval_metrics`` / ``cross_modal_metrics`` summaries (``i2t`` = image queries against
  text candidates, ``t2i`` = text queries against image candidates).
- :mod:`scicmr.evaluation.hashing_metrics` — the same measures for Hamming ranking, and
  precision / recall within a Hamming radius.
- :mod:`scicmr.evaluation.curves` — PR and mAP@k curves of a model, as JSON and plots.
- :mod:`scicmr.evaluation.plots` — PNG plots of PR curves, mAP@k curves and loss curves
  (matplotlib is imported only when a plot is drawn).
- :mod:`scicmr.evaluation.report` — the metrics table (a rich Table the CLI and demo print).
- :mod:`scicmr.evaluation.suites` — the benchmark suites as data (rows of method + params).

This package sits below :mod:`scicmr.methods`: training validates with these metrics too.

Nothing is imported here, so ``import scicmr.evaluation`` stays light.
"""
