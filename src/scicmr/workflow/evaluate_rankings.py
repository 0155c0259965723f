"""Per-query rankings of an evaluation: the literature's metrics and the TREC run files.

:func:`evaluate_model` ranks the split once per direction for scicmr's own metrics; this pass
ranks it again chunk by chunk (the (q, n) score matrix never exists whole unless the hybrid
ranker already built it) for what users of other tools expect: under the pair protocol R@1/5/10,
MedR, MeanR and rsum (:mod:`scicmr.evaluation.ranking_metrics`), under label relevance nDCG@k;
per-query values for paired significance tests (:mod:`scicmr.evaluation.significance`); and,
when asked, ``OUT/{i2t,t2i}.run`` and ``.qrels`` in TREC format for ``trec_eval`` / ``ranx``
(:mod:`scicmr.evaluation.trec`): query and document ids are record ids.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from scicmr.evaluation.metrics import check_k, cosine_scores, label_relevance, pair_ranks, rank_candidates
from scicmr.evaluation.ranking_metrics import RECALL_KS, ndcg_of_order, recall_metrics, rsum
from scicmr.evaluation.trec import qrels_lines, run_lines
from scicmr.workflow.outputs import write_output_bytes

TASKS = ("i2t", "t2i")
TREC_K = 100  # documents per query in a run file: trec_eval's usual depth
_CHUNK = 1024

ScoreRows = Callable[[slice], np.ndarray]


def score_rows(image_vectors: np.ndarray, text_vectors: np.ndarray,
               fused: dict[str, np.ndarray] | None = None) -> dict[str, ScoreRows]:
    """Per direction, rows → (rows, n) scores: the hybrid ranker's ``fused`` (n, n) matrices
    when given, else cosines of the (n, k) shared-space vectors."""
    if fused is not None:
        return {task: (lambda rows, m=fused[task]: m[rows]) for task in TASKS}
    return {"i2t": lambda rows: cosine_scores(image_vectors[rows], text_vectors),
            "t2i": lambda rows: cosine_scores(text_vectors[rows], image_vectors)}


def ranking_pass(rows_of: ScoreRows, n: int, labels: np.ndarray | None, ks: Sequence[int],
                 trec_k: int = 0) -> dict[str, Any]:
    """One direction over n paired queries: {"rank": (n,) 1-based rank of the own pair} (pair
    protocol: ``labels`` None) or {"ndcg@k": (n,) per k of ``ks``} (label relevance), and with
    ``trec_k`` {"top": ((n, trec_k) candidate indices best first, their scores)}."""
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, n, _CHUNK):
        rows = slice(start, min(n, start + _CHUNK))
        scores = rows_of(rows)
        # One stable sort per chunk serves every nDCG cut and the run file.
        order = rank_candidates(scores) if labels is not None or trec_k else None
        if labels is None:
            parts.setdefault("rank", []).append(pair_ranks(scores, np.arange(rows.start, rows.stop), chunk=None))
        else:
            for k, values in ndcg_of_order(order, label_relevance(labels[rows], labels), ks).items():
                parts.setdefault(f"ndcg@{k}", []).append(values)
        if trec_k:
            order = order[:, :trec_k]
            parts.setdefault("top_index", []).append(order)
            parts.setdefault("top_score", []).append(np.take_along_axis(scores, order, axis=1))
    result = {key: np.concatenate(values) for key, values in parts.items()}
    if trec_k:
        result["top"] = (result.pop("top_index"), result.pop("top_score"))
    return result


def add_rankings(document: dict[str, Any], rows_of: dict[str, ScoreRows], ids: list[str],
                 labels: np.ndarray | None, ks: Sequence[int], *, trec_dir: Path | None = None,
                 trec_k: int = TREC_K, per_query: bool = False) -> None:
    """Add to an evaluation ``document`` (whose ``protocol`` says which): R@1/5/10, MedR,
    MeanR per direction and ``rsum`` (pair), or ``ndcg@k`` for ``ks`` (labels); with
    ``per_query`` the per-query values under ``per_query`` ({"ids", task: {"rr" | "ndcg@k":
    list}}); with ``trec_dir`` the TREC run and qrels files there (``trec`` lists them)."""
    pair = document["protocol"] == "pair"
    labels = None if pair else labels
    if trec_dir is not None:  # 0 would write no run, a negative count would cut from the end
        trec_k = check_k(trec_k, name="trec_k", fix="pass a positive count, e.g. trec_k=100")
    per: dict[str, Any] = {"ids": list(ids)}
    for task in TASKS:
        ranked = ranking_pass(rows_of[task], len(ids), labels, ks, trec_k if trec_dir is not None else 0)
        if pair:
            document[task].update(recall_metrics(ranked["rank"], RECALL_KS))
            per[task] = {"rr": (1.0 / ranked["rank"]).tolist()}
        else:
            document[task].update({f"ndcg@{k}": float(ranked[f"ndcg@{k}"].mean()) for k in ks})
            per[task] = {f"ndcg@{k}": ranked[f"ndcg@{k}"].tolist() for k in ks}
        if trec_dir is not None:
            document.setdefault("trec", []).extend(str(p) for p in _write_trec(
                trec_dir, task, ids, ranked["top"], labels, f"scicmr-{document['model']}"))
    if pair:
        document["rsum"] = rsum(document["i2t"], document["t2i"], RECALL_KS)
    if per_query:
        document["per_query"] = per


def _write_trec(folder: Path, task: str, ids: list[str], top: tuple[np.ndarray, np.ndarray],
                labels: np.ndarray | None, tag: str) -> list[Path]:
    """``folder/<task>.run`` and ``folder/<task>.qrels`` (relevant: the own pair, or every
    candidate sharing a label)."""
    run = "\n".join(run_lines(ids, ids, top[0], top[1], tag)) + "\n"
    if labels is None:
        relevant = [[rid] for rid in ids]
    else:
        relevant = []
        for start in range(0, len(ids), _CHUNK):
            block = label_relevance(labels[start:start + _CHUNK], labels)
            relevant.extend([ids[j] for j in np.flatnonzero(row)] for row in block)
    qrels = "\n".join(qrels_lines(ids, relevant)) + "\n"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{task}.run", folder / f"{task}.qrels"]
    for path, text in zip(paths, (run, qrels)):
        write_output_bytes(path, text.encode("utf-8"), str(path))
    return paths
