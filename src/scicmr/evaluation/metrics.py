"""Retrieval metrics: pure, vectorised numpy functions (the definitions of DESIGN.md).

Conventions shared by every function here:

- ``scores`` is a (q, n) matrix, one row per query and one column per candidate; higher is
  better. The ranking of a row is by descending score, **ties broken by ascending candidate
  index** (a stable sort of ``-scores``), so results never depend on the sort implementation.
- ``relevance`` is a (q, n) bool matrix. On labelled data a candidate is relevant to a query
  when they share at least one label (:func:`label_relevance`).
- ``k`` larger than the number of candidates n is clamped to n (the whole ranking), so
  ``map@k`` with k >= n equals the full ``map``, and ``precision@k`` divides by min(k, n).
- AP@k = (1 / R_k) * sum_{r <= k} P(r) * rel(r), with R_k the number of relevant candidates in
  the top k and P(r) the precision of the top r; AP@k = 0 when R_k = 0 (the seeds' definition).
  ``map`` is AP over the full ranking (k = n); mAP is the mean over all queries.
- recall@k = (relevant in the top k) / (all relevant candidates of that query). A query with
  no relevant candidate at all has recall 0 and still counts in the mean (like AP = 0), so a
  metric never silently drops queries.
- Pair protocol: query i's only relevant candidate is ``positive_index[i]``; its 1-based rank
  under the tie rule gives ``mrr`` = mean(1 / rank) and ``hits@k`` = mean(rank <= k).

Large evaluations are processed in row chunks so that the (q, n) score, order and cumulative
matrices of one chunk stay within a fixed number of cells (about 2**23); per-query values are
gathered and averaged once at the end, so chunked and unchunked runs give identical numbers.
Sums happen in float64; dictionaries hold plain Python floats. Cosine scores are float32 by
default (what search ranks by); ``dtype=np.float64`` is for model selection
(:func:`cross_modal_score`), where float32 rounding would turn near-equal scores into ties.
"""

from __future__ import annotations

from typing import Callable, Iterator, Sequence

import numpy as np

from scicmr._progress import progress
from scicmr.errors import InputError

# Cells (query x candidate) per chunk: ~30 bytes of temporaries per cell -> ~250 MB peak.
_MAX_CELLS = 1 << 23

ScoreRows = Callable[[slice], np.ndarray]


# --------------------------------------------------------------------------- validation
def _check_scores(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape[0] == 0 or scores.shape[1] == 0:
        raise InputError(
            f"scores must be a non-empty 2-D (queries, candidates) matrix, got shape {scores.shape}",
            fix="pass one row per query and one column per candidate",
        )
    if not np.issubdtype(scores.dtype, np.floating):
        # Negating unsigned or bool scores would wrap; float64 holds ints exactly up to 2**53.
        scores = scores.astype(np.float64)
    if not np.isfinite(scores).all():
        raise InputError("scores contain NaN or infinite values", fix="check the vectors that produced them")
    return scores


def _check_relevance(relevance: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    relevance = np.asarray(relevance)
    if relevance.shape != shape:
        raise InputError(
            f"relevance has shape {relevance.shape} but scores have shape {shape}",
            fix="give one relevance flag per (query, candidate) cell",
        )
    return relevance.astype(bool, copy=False)


def check_k(k: int | None, n: int | None = None, *, name: str = "k",
            fix: str = "use e.g. k=5, 20 or 50") -> int:
    """``k`` as a positive int (a bool is refused), clamped to ``n`` when given; None means the
    full ranking (``n``). InputError naming ``name`` (an argument or a CLI option) with ``fix``
    otherwise."""
    if k is None and n is not None:
        return n
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise InputError(f"{name} must be a positive integer, got {k!r}", fix=fix)
    return int(k) if n is None else min(int(k), n)


def check_ks(ks: Sequence[int], name: str = "ks", *, fix: str | None = None, required: bool = False) -> tuple[int, ...]:
    """``ks`` as a tuple of positive ints (:func:`check_k` each); ``required``: at least one.
    InputError naming ``name`` with ``fix`` (default: an example) otherwise."""
    fix = fix or f"use e.g. {name}=(5, 20, 50)"
    if isinstance(ks, (str, bytes)) or not hasattr(ks, "__iter__"):
        raise InputError(f"{name} must be a sequence of positive integers, got {ks!r}", fix=fix)
    ks = tuple(ks)
    if required and not ks:
        raise InputError(f"{name} must hold at least one cut-off, got none", fix=fix)
    return tuple(check_k(k, name=f"every value of {name}", fix=fix) for k in ks)


def _check_positive(positive_index: np.ndarray, q: int, n: int) -> np.ndarray:
    positive = np.asarray(positive_index)
    if positive.shape != (q,) or not np.issubdtype(positive.dtype, np.integer):
        raise InputError(
            f"positive_index must be a ({q},) integer array, got shape {positive.shape} dtype {positive.dtype}",
            fix="give, for each query, the column index of its paired candidate",
        )
    positive = positive.astype(np.int64)
    if positive.min() < 0 or positive.max() >= n:
        raise InputError(f"positive_index values must lie in [0, {n}), got {positive.min()}..{positive.max()}")
    return positive


def _check_dtype(dtype) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise InputError(f"dtype must be float32 or float64, got {dtype}")
    return dtype


def _check_vectors(name: str, vectors: np.ndarray, dtype=np.float32) -> np.ndarray:
    array = np.asarray(vectors, dtype=_check_dtype(dtype))
    if array.ndim != 2 or array.shape[0] == 0:
        raise InputError(f"{name} must be a non-empty 2-D (n, d) array, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise InputError(f"{name} contains NaN or infinite values", fix="check the model or encoder output")
    return array


def _row_slices(q: int, n: int, chunk: int | None) -> Iterator[slice]:
    """Row slices of at most ``chunk`` queries and at most ~_MAX_CELLS cells each."""
    if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1):
        raise InputError(f"chunk must be a positive integer, got {chunk!r}")
    rows = max(1, _MAX_CELLS // max(n, 1))
    if chunk is not None:
        rows = min(rows, int(chunk))
    for start in range(0, q, rows):
        yield slice(start, min(start + rows, q))


# --------------------------------------------------------------------------- building blocks
def rank_candidates(scores: np.ndarray) -> np.ndarray:
    """(q, n) int64 candidate indices, best first: descending score, ties by ascending index.

    A stable sort of ``-scores`` keeps equal scores in index order, which is the tie rule.
    """
    scores = _check_scores(scores)
    return np.argsort(-scores, axis=1, kind="stable").astype(np.int64, copy=False)


def _label_kind(labels: np.ndarray, name: str) -> np.ndarray:
    """(n,) class vector as is, (n, C) labels as float32 0/1 (any nonzero entry = label present)."""
    labels = np.asarray(labels)
    if labels.ndim == 1:
        return labels
    if labels.ndim == 2:
        # float32 0/1 products are exact counts up to 2**24 shared labels.
        return (labels != 0).astype(np.float32)
    raise InputError(f"{name} must be (n,) class ids or an (n, C) multi-hot matrix, got shape {labels.shape}")


def _relevance_of(query_labels: np.ndarray, candidate_labels: np.ndarray) -> np.ndarray:
    """Relevance from labels already passed through :func:`_label_kind`."""
    if query_labels.ndim == 1:
        return query_labels[:, None] == candidate_labels[None, :]
    return (query_labels @ candidate_labels.T) > 0


def _prepare_labels(query_labels, candidate_labels) -> tuple[np.ndarray, np.ndarray]:
    query = _label_kind(query_labels, "query_labels")
    candidate = _label_kind(candidate_labels, "candidate_labels")
    if query.ndim != candidate.ndim:
        raise InputError(
            f"query labels are {query.ndim}-D but candidate labels are {candidate.ndim}-D",
            fix="give both sides as (n,) class ids or both as (n, C) multi-hot matrices",
        )
    if query.ndim == 2 and query.shape[1] != candidate.shape[1]:
        raise InputError(
            f"query labels have {query.shape[1]} classes but candidate labels have {candidate.shape[1]}",
            fix="build both label matrices over the same class list",
        )
    return query, candidate


def label_relevance(query_labels: np.ndarray, candidate_labels: np.ndarray) -> np.ndarray:
    """(q, n) bool: query i and candidate j share at least one label.

    ``query_labels`` (q, C) and ``candidate_labels`` (n, C) are multi-hot (any nonzero entry
    means the label is present); (q,) and (n,) class-id vectors are accepted too (equal ids =
    relevant). A row without any label is relevant to nothing.
    """
    query, candidate = _prepare_labels(query_labels, candidate_labels)
    return _relevance_of(query, candidate)


def _pow2_normalise(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(vectors scaled by a power of two, inverse row norms; 0 for zero rows), both in the
    dtype of ``vectors`` (float32 or float64).

    The power-of-two scale is exact in floating point and keeps dot products of large
    features from overflowing float32; it changes no cosine. Scaling by the inverse norms
    only after the dot products keeps ties exact: integer-valued vectors have exact dot
    products, and rows of equal norm share one inverse, so ±1 sign vectors of any length
    score 1 - 2·hamming / bits with Hamming ties as exact ties.
    """
    peak = float(np.abs(vectors).max()) if vectors.size else 0.0
    if peak > 0:
        vectors = vectors * vectors.dtype.type(np.ldexp(1.0, -int(np.frexp(peak)[1])))
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64))
    inverse = np.zeros_like(norms)
    np.divide(1.0, norms, out=inverse, where=norms > 0)
    return vectors, inverse.astype(vectors.dtype)


def _cosine_from_prepared(query: tuple[np.ndarray, np.ndarray], candidate: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    # Raw dot products first, then elementwise scaling: the scaling is the same whatever the
    # chunking, so chunked and unchunked scores agree bit for bit whenever the dot products do.
    scores = query[0] @ candidate[0].T
    scores *= query[1][:, None]
    scores *= candidate[1][None, :]
    return scores


def cosine_scores(queries: np.ndarray, candidates: np.ndarray, *, dtype=np.float32) -> np.ndarray:
    """(q, n) cosine similarities cos(q_i, c_j) = q_i·c_j / (‖q_i‖ ‖c_j‖) of (q, d) queries
    and (n, d) candidates, computed in ``dtype`` (float32, or float64 for fewer rounding ties).

    A zero vector scores 0 against everything (no NaN).
    """
    queries = _check_vectors("queries", queries, dtype)
    candidates = _check_vectors("candidates", candidates, dtype)
    if queries.shape[1] != candidates.shape[1]:
        raise InputError(
            f"queries have {queries.shape[1]} dimensions but candidates have {candidates.shape[1]}",
            fix="project both sides into the same shared space",
        )
    return _cosine_from_prepared(_pow2_normalise(queries), _pow2_normalise(candidates))


# --------------------------------------------------------------------------- label protocol
def _sorted_relevance(scores: np.ndarray, relevance: np.ndarray) -> np.ndarray:
    order = np.argsort(-scores, axis=1, kind="stable")
    return np.take_along_axis(relevance, order, axis=1)


def _cumulative(ranked: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(hits, precision_sum), both (q, n): relevant items in the top r, and sum_{s<=r} P(s) rel(s)."""
    hits = np.cumsum(ranked, axis=1, dtype=np.int64)
    ranks = np.arange(1, ranked.shape[1] + 1, dtype=np.float64)
    precision_sum = np.where(ranked, hits / ranks, 0.0)
    np.cumsum(precision_sum, axis=1, out=precision_sum)
    return hits, precision_sum


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator as float64, 0 where the denominator is 0."""
    out = np.zeros(numerator.shape, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def _label_rows(ranked: np.ndarray, ks: tuple[int, ...]) -> dict[str, np.ndarray]:
    """Per-query (q,) float64 values of map@k, map, precision@k and recall@k."""
    n = ranked.shape[1]
    hits, precision_sum = _cumulative(ranked)
    total = hits[:, -1]
    rows: dict[str, np.ndarray] = {}
    for k in ks:
        top = min(k, n)
        rows[f"map@{k}"] = _ratio(precision_sum[:, top - 1], hits[:, top - 1])
    rows["map"] = _ratio(precision_sum[:, -1], total)
    for k in ks:
        top = min(k, n)
        rows[f"precision@{k}"] = hits[:, top - 1] / float(top)
    for k in ks:
        rows[f"recall@{k}"] = _ratio(hits[:, min(k, n) - 1], total)
    return rows


def _per_query(scores, relevance, k: int | None, key: str, chunk: int | None) -> np.ndarray:
    scores = _check_scores(scores)
    relevance = _check_relevance(relevance, scores.shape)
    q, n = scores.shape
    kk = check_k(k, n)
    name = f"{key}@{kk}" if k is not None or key != "map" else "map"
    parts = [
        _label_rows(_sorted_relevance(scores[rows], relevance[rows]), (kk,))[name]
        for rows in _row_slices(q, n, chunk)
    ]
    return np.concatenate(parts)


def average_precision_at_k(scores, relevance, k: int | None = None, *, chunk: int | None = None) -> np.ndarray:
    """(q,) float64 AP@k of each query (k=None: full ranking); 0 when no relevant item in the top k."""
    return _per_query(scores, relevance, k, "map", chunk)


def map_at_k(scores, relevance, k: int | None = None, *, chunk: int | None = None) -> float:
    """Mean over queries of AP@k (k=None: the full-ranking ``map``)."""
    return float(average_precision_at_k(scores, relevance, k, chunk=chunk).mean())


def precision_at_k(scores, relevance, k: int, *, chunk: int | None = None) -> float:
    """Mean over queries of (relevant in the top k) / min(k, n)."""
    return float(_per_query(scores, relevance, _require_k(k), "precision", chunk).mean())


def recall_at_k(scores, relevance, k: int, *, chunk: int | None = None) -> float:
    """Mean over queries of (relevant in the top k) / (all relevant); 0 for queries with none."""
    return float(_per_query(scores, relevance, _require_k(k), "recall", chunk).mean())


def _require_k(k) -> int:
    if k is None:
        raise InputError("k is required here", fix="pass a positive integer k")
    return k


def precision_recall_curve(
    scores, relevance, *, points: int = 11, chunk: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolated precision at fixed recall levels, averaged over queries; for plotting.

    Returns ``(recall_levels, precision)``, both (points,) float64, recall_levels =
    linspace(0, 1, points) (11-point by default). For one query the interpolated precision at
    level L is the best precision at any rank whose recall is >= L (the classic TREC / VOC
    rule). Queries without any relevant candidate have no curve and are left out of the
    average; if no query has one, the precision is all zeros.
    """
    scores = _check_scores(scores)
    relevance = _check_relevance(relevance, scores.shape)
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 2:
        raise InputError(f"points must be an integer >= 2, got {points!r}")
    levels = np.linspace(0.0, 1.0, int(points))
    total = np.zeros(len(levels), dtype=np.float64)
    counted = 0
    q, n = scores.shape
    for rows in _row_slices(q, n, chunk):
        ranked = _sorted_relevance(scores[rows], relevance[rows])
        ranked = ranked[ranked.any(axis=1)]
        if not len(ranked):
            continue
        hits = np.cumsum(ranked, axis=1, dtype=np.int64)
        precision = hits / np.arange(1, n + 1, dtype=np.float64)
        recall = hits / hits[:, -1:].astype(np.float64)
        # best precision at this rank or any later one (a running max from the right)
        best_after = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
        for i, level in enumerate(levels):
            # first rank reaching the level; the tolerance absorbs 0.1 * 3 != 0.3 style rounding
            first = np.count_nonzero(recall < level - 1e-12, axis=1)
            total[i] += best_after[np.arange(len(ranked)), first].sum()
        counted += len(ranked)
    return levels, (total / counted if counted else total)


# --------------------------------------------------------------------------- pair protocol
def _pair_rank_rows(scores: np.ndarray, positive: np.ndarray) -> np.ndarray:
    """1-based rank of each positive: candidates scoring higher, plus equal ones with a lower index."""
    rows = np.arange(scores.shape[0])
    target = scores[rows, positive][:, None]
    higher = np.count_nonzero(scores > target, axis=1)
    before = np.arange(scores.shape[1])[None, :] < positive[:, None]
    tied_before = np.count_nonzero((scores == target) & before, axis=1)
    return (1 + higher + tied_before).astype(np.int64)


def pair_ranks(scores, positive_index, *, chunk: int | None = None) -> np.ndarray:
    """(q,) int64 1-based rank of candidate ``positive_index[i]`` in query i's ranking."""
    scores = _check_scores(scores)
    q, n = scores.shape
    positive = _check_positive(positive_index, q, n)
    parts = [_pair_rank_rows(scores[rows], positive[rows]) for rows in _row_slices(q, n, chunk)]
    return np.concatenate(parts)


def mrr(scores, positive_index, *, chunk: int | None = None) -> float:
    """Mean reciprocal rank of each query's paired candidate."""
    return float(np.mean(1.0 / pair_ranks(scores, positive_index, chunk=chunk)))


def hits_at_k(scores, positive_index, k: int, *, chunk: int | None = None) -> float:
    """Fraction of queries whose paired candidate ranks in the top k."""
    (k,) = check_ks((_require_k(k),), "k")
    return float(np.mean(pair_ranks(scores, positive_index, chunk=chunk) <= k))


# --------------------------------------------------------------------------- summaries
def _summarise(
    q: int,
    n: int,
    score_rows: ScoreRows,
    relevance_rows: Callable[[slice], np.ndarray] | None,
    positive: np.ndarray | None,
    ks: tuple[int, ...],
    hits: tuple[int, ...],
    chunk: int | None,
) -> dict[str, float]:
    """Gather per-query values chunk by chunk, then average each metric once."""
    parts: dict[str, list[np.ndarray]] = {}
    slices = list(_row_slices(q, n, chunk))
    # A bar only when there is more than one chunk: a one-chunk evaluation (every epoch's
    # validation score of a small set) would just flash one.
    chunks = progress(slices, total=len(slices), desc="evaluating", unit="chunk") if len(slices) > 1 else slices
    for rows in chunks:
        scores = score_rows(rows)
        if relevance_rows is not None:
            for key, values in _label_rows(_sorted_relevance(scores, relevance_rows(rows)), ks).items():
                parts.setdefault(key, []).append(values)
        if positive is not None:
            parts.setdefault("rank", []).append(_pair_rank_rows(scores, positive[rows]))
    result = {key: float(np.concatenate(values).mean()) for key, values in parts.items() if key != "rank"}
    if positive is not None:
        ranks = np.concatenate(parts["rank"])
        result["mrr"] = float(np.mean(1.0 / ranks))
        for k in hits:
            result[f"hits@{k}"] = float(np.mean(ranks <= k))
    return result


def score_metrics(
    scores,
    relevance=None,
    *,
    positive_index=None,
    ks: Sequence[int] = (5, 20, 50),
    hits: Sequence[int] = (1, 3, 10),
    chunk: int | None = 1024,
) -> dict[str, float]:
    """Metrics of a precomputed (q, n) score matrix.

    With ``relevance`` (q, n) bool: ``map@k`` for k in ``ks``, ``map``, ``precision@k``,
    ``recall@k``. With ``positive_index`` (q,) ints: ``mrr`` and ``hits@k`` for k in ``hits``.
    Both may be given; at least one is required.
    """
    scores = _check_scores(scores)
    q, n = scores.shape
    if relevance is None and positive_index is None:
        raise InputError("no ground truth given", fix="pass relevance=(q, n) bools and/or positive_index=(q,) ints")
    rel = None if relevance is None else _check_relevance(relevance, scores.shape)
    positive = None if positive_index is None else _check_positive(positive_index, q, n)
    return _summarise(
        q, n, lambda rows: scores[rows], None if rel is None else (lambda rows: rel[rows]),
        positive, check_ks(ks), check_ks(hits, "hits"), chunk,
    )


def retrieval_metrics(
    query_vecs,
    candidate_vecs,
    query_labels=None,
    candidate_labels=None,
    *,
    ks: Sequence[int] = (5, 20, 50),
    pair: bool = False,
    hits: Sequence[int] = (1, 3, 10),
    chunk: int | None = 1024,
    dtype=np.float32,
) -> dict[str, float]:
    """Cosine-similarity retrieval metrics of (q, d) queries against (n, d) candidates.

    With labels ((q, C) and (n, C) multi-hot, or (q,) / (n,) class ids): ``map@k`` for k in
    ``ks``, ``map`` (full ranking), ``precision@k``, ``recall@k``. With ``pair=True`` query i
    pairs with candidate i (so q <= n; extra candidates are distractors): ``mrr`` and
    ``hits@k`` for k in ``hits``. Both sets when both are asked for. Scores are computed
    ``chunk`` queries at a time, so the full (q, n) matrix never exists, in ``dtype``
    (see :func:`cosine_scores`).
    """
    queries = _check_vectors("query_vecs", query_vecs, dtype)
    candidates = _check_vectors("candidate_vecs", candidate_vecs, dtype)
    (q, d), (n, d_c) = queries.shape, candidates.shape
    if d != d_c:
        raise InputError(f"query vectors have {d} dimensions but candidates have {d_c}",
                         fix="project both sides into the same shared space")
    relevance_rows = _labels_to_rows(query_labels, candidate_labels, q, n)
    if relevance_rows is None and not pair:
        raise InputError("no ground truth: labels are None and pair=False",
                         fix="pass query_labels and candidate_labels, or pair=True for paired data")
    positive = None
    if pair:
        if q > n:
            raise InputError(f"pair=True needs at least as many candidates as queries, got {q} > {n}",
                             fix="query i pairs with candidate i; pass the paired candidates first")
        positive = np.arange(q, dtype=np.int64)
    query_prep, candidate_prep = _pow2_normalise(queries), _pow2_normalise(candidates)

    def score_rows(rows: slice) -> np.ndarray:
        return _cosine_from_prepared((query_prep[0][rows], query_prep[1][rows]), candidate_prep)

    return _summarise(q, n, score_rows, relevance_rows, positive, check_ks(ks), check_ks(hits, "hits"), chunk)


def _labels_to_rows(query_labels, candidate_labels, q: int, n: int):
    """A rows -> (rows, n) relevance function, or None when no labels are given."""
    if query_labels is None and candidate_labels is None:
        return None
    if query_labels is None or candidate_labels is None:
        raise InputError("only one side has labels", fix="pass both query_labels and candidate_labels, or neither")
    query, candidate = _prepare_labels(query_labels, candidate_labels)
    if len(query) != q or len(candidate) != n:
        raise InputError(f"labels cover {len(query)} queries and {len(candidate)} candidates, "
                         f"but there are {q} queries and {n} candidates")
    return lambda rows: _relevance_of(query[rows], candidate)


def cross_modal_metrics(
    image_vecs,
    text_vecs,
    labels=None,
    *,
    ks: Sequence[int] = (5, 20, 50),
    pair: bool | None = None,
    hits: Sequence[int] = (1, 3, 10),
    chunk: int | None = 1024,
    dtype=np.float32,
) -> dict[str, dict[str, float]]:
    """Both retrieval directions of n image-text pairs in a shared space.

    ``image_vecs`` (n, d) and ``text_vecs`` (n, d): image i and text i are a pair; ``labels``
    ((n, C) multi-hot or (n,) class ids) is shared by both sides. ``pair`` defaults to
    ``labels is None``. Returns ``{"i2t": image queries vs text candidates, "t2i": text
    queries vs image candidates}``, each a :func:`retrieval_metrics` dict.
    """
    images = _check_vectors("image_vecs", image_vecs, dtype)
    texts = _check_vectors("text_vecs", text_vecs, dtype)
    if len(images) != len(texts):
        raise InputError(f"got {len(images)} image vectors but {len(texts)} text vectors",
                         fix="image i and text i must be a pair; pass the same number of each")
    if pair is None:
        pair = labels is None
    options = dict(ks=ks, pair=pair, hits=hits, chunk=chunk, dtype=dtype)
    return {
        "i2t": retrieval_metrics(images, texts, labels, labels, **options),
        "t2i": retrieval_metrics(texts, images, labels, labels, **options),
    }


def cross_modal_score(image_vecs, text_vecs, labels=None, *, dtype=np.float64) -> float:
    """One number for model selection (early stopping) on n validation pairs, higher is better:
    ½ (i2t map + t2i map) of the full ranking when ``labels`` are given, else ½ (i2t mrr +
    t2i mrr) of the pair protocol — the :func:`cross_modal_metrics` definitions.

    ``image_vecs``, ``text_vecs``: (n, d) paired rows; ``labels``: (n, C) multi-hot or (n,)
    class ids, or None. Scores are float64 cosines by default: float32 rounding would turn
    near-equal scores into ties and let the chosen epoch depend on it. Vectors that are not
    all finite (a diverged network) score -inf, so such an epoch is never the best one.
    """
    images, texts = np.asarray(image_vecs), np.asarray(text_vecs)
    if images.size and texts.size and not (np.isfinite(images).all() and np.isfinite(texts).all()):
        return float("-inf")
    key = "mrr" if labels is None else "map"
    result = cross_modal_metrics(images, texts, labels, ks=(), hits=(), pair=labels is None, dtype=dtype)
    return 0.5 * (result["i2t"][key] + result["t2i"][key])
