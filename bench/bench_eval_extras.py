"""What evaluate's added pass costs: R@k/MedR (pair) or nDCG@k (labels) and a TREC top-100,
against the metrics evaluate already computed, on random (n, 64) pairs; and how long the
significance tests take on n per-query scores.

    PYTHONPATH=src python bench/bench_eval_extras.py [n]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from scicmr.evaluation.metrics import cross_modal_metrics
from scicmr.evaluation.significance import paired_bootstrap, paired_randomization_test
from scicmr.workflow.evaluate_rankings import ranking_pass, score_rows


def _seconds(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def main(n: int = 4000) -> None:
    rng = np.random.default_rng(0)
    image = rng.standard_normal((n, 64)).astype(np.float32)
    text = (image + rng.standard_normal((n, 64))).astype(np.float32)
    labels = rng.integers(0, 10, n)
    rows = score_rows(image, text)["i2t"]
    print(f"n = {n} pairs, one direction")
    print(f"  existing metrics, pair:         {_seconds(lambda: cross_modal_metrics(image, text, pair=True)) / 2:.2f} s")
    print(f"  added pass, pair (R@k, MedR):   {_seconds(lambda: ranking_pass(rows, n, None, ())):.2f} s")
    print(f"  + TREC top-100:                 {_seconds(lambda: ranking_pass(rows, n, None, (), trec_k=100)):.2f} s")
    print(f"  existing metrics, labels:       {_seconds(lambda: cross_modal_metrics(image, text, labels)) / 2:.2f} s")
    print(f"  added pass, labels (nDCG@5/20/50): {_seconds(lambda: ranking_pass(rows, n, labels, (5, 20, 50))):.2f} s")
    a, b = rng.random(n), rng.random(n)
    print(f"  randomisation test, 10,000 resamples: {_seconds(lambda: paired_randomization_test(a, b)):.2f} s")
    print(f"  bootstrap, 10,000 resamples:          {_seconds(lambda: paired_bootstrap(a, b)):.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 4000)
