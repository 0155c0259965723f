"""Evaluate a trained model on a split with the metrics pinned in DESIGN.md."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from scicmr._io import atomic_write_json
from scicmr.corpus.library import Library
from scicmr.errors import InputError, LibraryError
from scicmr.hashing.base import produces_codes
from scicmr.methods import load_method
from scicmr.workflow.evaluate_rankings import add_rankings, score_rows
from scicmr.workflow.library_data import (MIN_EVALUATION_PAIRS, SMALL_SPLIT_PAIRS, SPLIT_FIX, as_library,
                                          pairs_phrase, resolve_model_name, split_data, training_info)
from scicmr.workflow.outputs import check_output_dir, check_output_file, write_output_json

_log = logging.getLogger(__name__)
_MAX_PLOT_POOL = 20_000  # full (q, n) score matrices for the curves stay small below this
# Default cut-offs: map@k of the label tables; R@k (hits@k) of the image-text pair literature.
DEFAULT_KS = {"labels": (5, 20, 50), "pair": (1, 5, 10)}
PROTOCOLS = ("auto", "labels", "pair")


def evaluate_model(
    lib: Library | str | Path,
    model: str | None = None,
    *,
    split: str = "test",
    ks: tuple[int, ...] | None = None,
    protocol: str = "auto",
    json_path: str | Path | None = None,
    plots: bool = True,
    channels: tuple[str, ...] | None = None,
    trec_run: str | Path | None = None,
    trec_k: int = 100,
    per_query: bool = False,
    save_report: bool = True,
) -> dict[str, Any]:
    """Retrieval metrics of ``model`` on ``split``, both directions.

    Protocol ``labels``: relevance = shares a label; reports map@k, full map, precision@k and
    recall@k. Protocol ``pair``: the query's own pair is the only relevant item; reports mrr and
    hits@k (k in ``ks``). ``ks`` defaults to (5, 20, 50) under labels and (1, 5, 10) under
    pair (R@1/5/10 of the image-text literature). ``auto`` picks labels when the library has them. The report is saved as
    ``reports/eval-MODEL-SPLIT-PROTOCOL.json`` (plots beside it, same stem), so the two
    protocols never overwrite each other. With ``plots`` (label protocol,
    pools up to 20,000) PR and map@k curves are written beside the report as PNG (their points are
    in the document's ``curves``). Queries and candidates are the split's pairs (image queries vs
    all text candidates of the split, and the reverse). ``json_path`` (a copy of the document
    for the user; ``-``: standard output) is checked before any work.

    A model with a fitted fusion (:mod:`scicmr.workflow.hybrid`: ``scicmr train`` fits one on
    libraries with texts) is evaluated as the hybrid ranker under the pair protocol: ``i2t`` /
    ``t2i`` are the fused rankings, and ``ranker`` reports the fusion and each channel alone.
    The figure side of a pair is its image and printed words only, never its caption or citing
    sentences. ``channels`` keeps only some channels (``("cross_modal",)``: the model alone).

    Also reported (:mod:`scicmr.workflow.evaluate_rankings`): R@1/5/10 (percent), MedR, MeanR
    and ``rsum`` under the pair protocol, ``ndcg@k`` (binary gains) under labels; with
    ``per_query`` the per-query values (``per_query``: for paired significance tests); with
    ``trec_run`` (a folder, checked before any work) TREC run and qrels files of both
    directions, ``trec_k`` documents per query.

    ``save_report=False`` writes nothing to the library's reports folder (neither the report nor
    plots): for callers that only need the numbers (:func:`~scicmr.workflow.compare.compare_models`),
    so the model's saved report is never replaced by an evaluation with other ``ks``.
    """
    from scicmr.evaluation.metrics import cross_modal_metrics

    ks = _check_options(protocol, ks, trec_k)  # before the work, like the outputs
    if json_path is not None:
        check_output_file(json_path, "metrics JSON file")  # before the work, not after it
    trec_dir = check_output_dir(trec_run, "TREC run folder") if trec_run is not None else None
    lib = as_library(lib)
    model = resolve_model_name(lib, model)
    info = training_info(lib, model)
    method = load_method(lib.model_dir(model))
    vocabulary = info.get("label_vocabulary") or lib.label_vocabulary()
    data = split_data(lib, split, info["features"]["image"], info["features"]["text"], vocabulary)
    if not data.records and split not in ("train", "validation", "test"):
        raise LibraryError(f"{lib.root} has no pairs in split {split!r}", fix="choose --split train, validation or test")
    _check_split_size(lib, split, len(data.records))
    if protocol == "auto":
        protocol = "labels" if data.labels is not None and data.labels.any() else "pair"
    if ks is None:
        ks = DEFAULT_KS[protocol]
    plots = plots and save_report
    started = time.perf_counter()
    image_vectors = method.transform_image(data.image, **data.side)
    text_vectors = method.transform_text(data.text, **data.side)
    labels = data.labels if protocol == "labels" else None
    from scicmr.workflow.hybrid import hybrid_config

    fusion = hybrid_config(lib, model) if protocol == "pair" and channels != ("cross_modal",) else None
    ranker: dict[str, Any] = {"kind": "model"}
    fused = None
    if fusion is not None:
        metrics, ranker, fused = _hybrid_metrics(lib, fusion, data.records, image_vectors, text_vectors, channels, ks)
    else:
        metrics = cross_modal_metrics(image_vectors, text_vectors, labels, ks=ks, hits=ks, pair=protocol == "pair")
    document = {
        "dataset": lib.name,
        "method": info["method"],
        "model": model,
        "split": split,
        "protocol": protocol,
        "i2t": metrics["i2t"],
        "t2i": metrics["t2i"],
        "ranker": ranker,
        "pool": {"queries": len(data.records), "candidates": len(data.records)},
        "config": {"params": method.get_params(), "features": info["features"]},
        "seconds": time.perf_counter() - started,
    }
    add_rankings(document, score_rows(image_vectors, text_vectors, fused), [r.id for r in data.records],
                 labels, ks, trec_dir=trec_dir, trec_k=trec_k, per_query=per_query)
    stem = lib.reports_dir() / f"eval-{model}-{split}-{protocol}"
    if protocol == "labels" and produces_codes(method):
        document["hamming"] = _hamming_section(method, image_vectors, text_vectors, labels, ks, stem, plots)
    if protocol == "labels" and len(data.records) <= _MAX_PLOT_POOL:
        from scicmr.evaluation.curves import curves_to_json, retrieval_curves, write_curve_plots

        curves = retrieval_curves(image_vectors, text_vectors, labels)
        document["curves"] = curves_to_json(curves)
        if plots:
            document["plots"] = [str(p) for p in write_curve_plots(curves, stem, f"{model} on {lib.name} ({split})")]
    if save_report:
        atomic_write_json(stem.with_suffix(".json"), document)
    if json_path is not None:
        write_output_json(json_path, document, "metrics JSON file")
    return document


def _check_options(protocol: str, ks: tuple[int, ...] | None, trec_k: int) -> tuple[int, ...] | None:
    """The user's protocol, cut-offs and TREC depth, refused with an InputError naming the
    option before any work; returns ``ks`` as a tuple of ints (None stays None: the default)."""
    from scicmr.evaluation.metrics import check_k, check_ks

    if protocol not in PROTOCOLS:
        raise InputError(f"unknown protocol {protocol!r}", fix="use --protocol auto, labels or pair")
    check_k(trec_k, name="--trec-k (documents per query in the TREC run files)",
            fix="pass a positive count, e.g. --trec-k 100")
    if ks is None:
        return None
    return check_ks(ks, "--ks", fix="pass positive cut-offs, e.g. --ks 5,20,50 (labels) or --ks 1,5,10 (pair)",
                    required=True)


_WARNED: set[tuple[str, str, int]] = set()  # (library, split, pairs) already warned about in this process


def _check_split_size(lib: Library, split: str, pairs: int) -> None:
    """InputError below 5 pairs (a metric of 1 query is a coin), a warning below 20 (once per
    library and split: a benchmark evaluates the validation split once per setting)."""
    if pairs < MIN_EVALUATION_PAIRS:
        raise InputError(f"the {split} split holds only {pairs_phrase(pairs)}: too few to evaluate (at least "
                         f"{MIN_EVALUATION_PAIRS}; {SMALL_SPLIT_PAIRS} or more for metrics worth reading)",
                         fix=SPLIT_FIX)
    if pairs < SMALL_SPLIT_PAIRS and (str(lib.root), split, pairs) not in _WARNED:
        _WARNED.add((str(lib.root), split, pairs))
        _log.warning("evaluating on %d %s pairs (fewer than %d): the metrics are noise; %s", pairs, split,
                     SMALL_SPLIT_PAIRS, SPLIT_FIX)


def _hamming_section(method, image_vectors, text_vectors, labels, ks, stem: Path, plots: bool) -> dict[str, Any]:
    """Metrics of a hashing model's binary codes (Hamming ranking and radius 2) in both
    directions, and the precision-recall curve over Hamming radius (PNG beside the report)."""
    from scicmr.evaluation.hashing_metrics import cross_modal_hamming_metrics, radius_pr_curve
    from scicmr.evaluation.metrics import label_relevance
    from scicmr.hashing.codes import hamming_distances, pack_codes

    image_codes, text_codes = pack_codes(image_vectors), pack_codes(text_vectors)
    section: dict[str, Any] = {"n_bits": int(method.n_bits),
                               **cross_modal_hamming_metrics(image_codes, text_codes, labels, ks)}
    relevance = label_relevance(labels, labels)
    curves = {"i2t": radius_pr_curve(hamming_distances(image_codes, text_codes), relevance, int(method.n_bits)),
              "t2i": radius_pr_curve(hamming_distances(text_codes, image_codes), relevance, int(method.n_bits))}
    section["pr_radius"] = {name: {key: value.tolist() for key, value in curve.items()} for name, curve in curves.items()}
    if plots:
        from scicmr.evaluation.plots import plot_pr_curves

        path = plot_pr_curves({name: (c["recall"], c["precision"]) for name, c in curves.items()},
                              stem.parent / f"{stem.name}-hamming-pr.png", "Precision-recall over Hamming radius")
        section["plot"] = str(path)
    return section


def _hybrid_metrics(lib: Library, config: dict[str, Any], records, image_vectors, text_vectors,
                    channels: tuple[str, ...] | None,
                    ks: tuple[int, ...]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Pair-protocol metrics (mrr, hits@k for k in ``ks``) of the fused ranking and of each
    channel alone (mrr), both directions, and the fused (n, n) score matrices."""
    import numpy as np

    from scicmr.evaluation.metrics import score_metrics
    from scicmr.workflow.channels import TextEmbedder, pair_channels
    from scicmr.index.fusion import make_fusion
    from scicmr.workflow.hybrid import fusion_for, query_bank

    scores = pair_channels(records, {"image": image_vectors, "text": text_vectors},
                           TextEmbedder(lib, config.get("dense_encoder")), bank=query_bank(lib))
    positive = np.arange(len(records))
    metrics, ranker, fused = {}, {"kind": "hybrid", "fusion": {}, "channels": {}}, {}
    for task in ("i2t", "t2i"):
        available = getattr(scores, task)
        fusion = fusion_for(config, task, channels)
        fused[task] = fusion.combine(available)
        metrics[task] = score_metrics(fused[task], positive_index=positive, hits=ks)
        ranker["fusion"][task] = {"kind": fusion.kind, "weights": fusion.weights}
        for name, matrix in available.items():  # alone: its own z-scores (unknown entries 0)
            alone = make_fusion("linear", {name: 1.0}).combine({name: matrix})
            ranker["channels"].setdefault(name, {})[task] = score_metrics(alone, positive_index=positive)["mrr"]
    return metrics, ranker, fused
