"""Evaluation: retrieval metrics (pure numpy functions) and plots.

- :mod:`scicmr.evaluation.metrics` — ranking, relevance, mAP@k / full mAP, precision@k,
  recall@k, pair-protocol MRR and hits@k, interpolated precision–recall curves, and the
  ``retrieval_metrics`` / ``cross_modal_metrics`` summaries (``i2t`` = image queries against
  text candidates, ``t2i`` = text queries against image candidates).
- :mod:`scicmr.evaluation.plots` — PNG plots of PR curves, mAP@k curves and loss curves
  (matplotlib is imported only when a plot is drawn).

Nothing is imported here, so ``import scicmr.evaluation`` stays light.
"""
