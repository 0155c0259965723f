"""Is one trained model better than another on the same test queries? A paired test per direction."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scicmr.corpus.library import Library
from scicmr.errors import InputError
from scicmr.evaluation.significance import paired_bootstrap, paired_randomization_test
from scicmr.workflow.evaluate import DEFAULT_KS, evaluate_model
from scicmr.workflow.library_data import as_library, resolve_model_name


def compare_models(lib: Library | str | Path, model_a: str | None, model_b: str, *, split: str = "test",
                   protocol: str = "auto", ks: tuple[int, ...] | None = None, n_resamples: int = 10_000,
                   seed: int = 0) -> dict[str, Any]:
    """Evaluate both models on ``split`` and test, per direction, whether their mean per-query
    score differs: reciprocal rank of the own pair (pair protocol) or nDCG@max(ks) (labels;
    ``ks`` None: the protocol's default, :data:`~scicmr.workflow.evaluate.DEFAULT_KS`), by a
    paired randomisation test and a paired bootstrap (:mod:`scicmr.evaluation.significance`).
    Nothing is written: the models' saved evaluation reports stay as they were. ``model_a``
    None: the library's last trained model.

    Returns {"protocol", "metric", "models": [a, b], "n_queries", "i2t"/"t2i": {"a", "b" (means),
    "mean_diff" (a - b), "p_value" (randomisation), "bootstrap": {"low", "high", "p_value"}}}.
    """
    lib = as_library(lib)
    model_a = resolve_model_name(lib, model_a)
    if model_a == model_b:
        raise InputError(f"both models are {model_a!r}", fix="compare two different trained models")
    docs = [evaluate_model(lib, m, split=split, protocol=protocol, ks=ks, plots=False, per_query=True,
                           save_report=False)
            for m in (model_a, model_b)]
    if docs[0]["protocol"] != docs[1]["protocol"] or docs[0]["per_query"]["ids"] != docs[1]["per_query"]["ids"]:
        raise InputError("the two evaluations did not rank the same queries",
                         fix="pass --protocol explicitly; both models must belong to this library")
    if ks is None:
        ks = DEFAULT_KS[docs[0]["protocol"]]
    key = "rr" if docs[0]["protocol"] == "pair" else f"ndcg@{max(ks)}"
    result: dict[str, Any] = {"protocol": docs[0]["protocol"], "metric": key, "models": [model_a, model_b],
                              "split": split, "n_queries": len(docs[0]["per_query"]["ids"])}
    for task in ("i2t", "t2i"):
        a, b = (np.asarray(d["per_query"][task][key]) for d in docs)
        test = paired_randomization_test(a, b, n_resamples=n_resamples, seed=seed)
        boot = paired_bootstrap(a, b, n_resamples=n_resamples, seed=seed)
        result[task] = {"a": float(a.mean()), "b": float(b.mean()), "mean_diff": test["mean_diff"],
                        "p_value": test["p_value"],
                        "bootstrap": {k: boot[k] for k in ("low", "high", "p_value")}}
    return result
