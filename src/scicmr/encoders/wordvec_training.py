"""The word-vector training behind :mod:`scicmr.encoders.wordvec`: corpus preparation
(vocabulary, ids, sub-sampling, context windows, co-occurrence counts, IDF) and the two
trainers, word2vec with negative sampling (skip-gram and CBOW) and GloVe.

The encoders (vocabulary fitting, document pooling, persistence) live in
:mod:`scicmr.encoders.wordvec`, whose docstring explains the models and the choices kept from
the papers. Here: pure numpy for the corpus, torch (imported inside the functions, so importing
this module stays light) for the updates, which are word2vec's and GloVe's hand-written
gradients applied to minibatches with ``index_add_`` (the tests check them against autograd).
All randomness comes from the numpy generator passed in.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

__all__ = [
    "build_vocabulary",
    "to_ids",
    "subsample",
    "context_windows",
    "cooccurrence",
    "idf_weights",
    "negative_sampler",
    "negative_sampling_loss",
    "hidden_vectors",
    "sgns_step",
    "train_word2vec",
    "glove_loss",
    "adagrad_rows",
    "glove_step",
    "train_glove",
]

# ----------------------------------------------------------------------------- corpus
def build_vocabulary(token_lists: list[list[str]], min_count: int, max_vocab: int | None) -> tuple[list[str], np.ndarray]:
    """Words seen at least ``min_count`` times, most frequent first (ties alphabetical).

    Returns:
        (words, counts): the V words and their (V,) int64 corpus counts.
    """
    counts = Counter(token for tokens in token_lists for token in tokens)
    kept = sorted((w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w))
    if max_vocab is not None:
        kept = kept[:max_vocab]
    return kept, np.asarray([counts[w] for w in kept], dtype=np.int64)


def to_ids(token_lists: list[list[str]], index: dict[str, int]) -> list[np.ndarray]:
    """Each text as an (L,) int64 array of vocabulary ids (out-of-vocabulary tokens dropped)."""
    return [np.asarray([index[t] for t in tokens if t in index], dtype=np.int64) for tokens in token_lists]


def subsample(sequences: list[np.ndarray], counts: np.ndarray, sample: float, rng: np.random.Generator) -> list[np.ndarray]:
    """word2vec's sub-sampling: keep each occurrence of word w with probability
    min(1, (√(f_w/t) + 1)·t/f_w), f_w = count_w / total, t = ``sample`` (0 keeps everything)."""
    if sample <= 0:
        return sequences
    freq = counts / max(counts.sum(), 1)
    keep = np.minimum(1.0, (np.sqrt(freq / sample) + 1.0) * sample / freq)
    return [s[rng.random(len(s)) < keep[s]] for s in sequences]


def context_windows(sequences: list[np.ndarray], window: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Centre words and their dynamic-window contexts, never crossing a text boundary.

    Every centre draws its own window b uniformly from 1..``window`` (word2vec's dynamic
    window, which weights near words more); the contexts are the words at offsets
    −b..−1, 1..b that lie inside the same text.

    Returns:
        centres (m,) int64 and contexts (m, 2·window) int64 padded with −1; centres without any
        context are dropped. Column j holds offset −window + j (j < window), else j − window + 1.
    """
    lengths = np.asarray([len(s) for s in sequences], dtype=np.int64)
    flat = np.concatenate(sequences) if len(sequences) else np.zeros(0, dtype=np.int64)
    doc = np.repeat(np.arange(len(sequences)), lengths)
    pos = np.arange(len(flat))
    reach = rng.integers(1, window + 1, size=len(flat))
    offsets = [o for o in range(-window, window + 1) if o != 0]
    contexts = np.full((len(flat), len(offsets)), -1, dtype=np.int64)
    for j, offset in enumerate(offsets):
        target = pos + offset
        inside = (target >= 0) & (target < len(flat))
        ok = inside & (np.abs(offset) <= reach)
        ok[inside] &= doc[target[inside]] == doc[inside]
        contexts[ok, j] = flat[target[ok]]
    has_context = (contexts >= 0).any(axis=1)
    return flat[has_context], contexts[has_context]


def cooccurrence(sequences: list[np.ndarray], window: int, vocab_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """GloVe's symmetric co-occurrence counts: each pair at distance d ≤ ``window`` inside one
    text adds 1/d to X_ij and to X_ji.

    Returns:
        rows, cols (nnz,) int64 and values (nnz,) float64 of the non-zero X_ij, sorted by (i, j).
    """
    import scipy.sparse as sp

    rows, cols, vals = [], [], []
    for seq in sequences:
        for d in range(1, window + 1):
            if len(seq) <= d:
                break
            left, right = seq[:-d], seq[d:]
            rows += [left, right]
            cols += [right, left]
            vals += [np.full(len(left), 1.0 / d)] * 2
    if not rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    matrix = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(vocab_size, vocab_size)).tocsr()
    matrix.sum_duplicates()
    coo = matrix.tocoo()
    return coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(np.float64)


def idf_weights(sequences: list[np.ndarray], vocab_size: int) -> np.ndarray:
    """Smoothed IDF (sklearn's): log((1 + N)/(1 + df)) + 1, (V,) float64."""
    df = np.zeros(vocab_size, dtype=np.float64)
    for seq in sequences:
        df[np.unique(seq)] += 1
    return np.log((1.0 + len(sequences)) / (1.0 + df)) + 1.0


# ----------------------------------------------------------------------------- training
def negative_sampler(counts: np.ndarray, power: float = 0.75):
    """A function (rng, shape) -> int64 ids drawn from the unigram distribution ^ ``power``."""
    weights = counts.astype(np.float64) ** power
    cumulative = np.cumsum(weights / weights.sum())
    cumulative[-1] = 1.0  # guard against round-off leaving the last bucket unreachable

    def draw(rng: np.random.Generator, shape) -> np.ndarray:
        return np.searchsorted(cumulative, rng.random(shape), side="right").astype(np.int64)

    return draw


def negative_sampling_loss(hidden, out_vectors, targets, negatives):
    """Σ over the batch of −log σ(u_tᵀh) − Σ_k log σ(−u_kᵀh): the word2vec objective that
    :func:`sgns_step` descends (kept as the autograd reference of its hand-written gradient).

    Args:
        hidden: (B, d) centre vectors (skip-gram) or mean context vectors (CBOW).
        out_vectors: (V, d) output ("context") vectors; targets (B,), negatives (B, K) int64.
    """
    import torch.nn.functional as F

    positive = F.logsigmoid((hidden * out_vectors[targets]).sum(dim=1))
    negative = F.logsigmoid(-(out_vectors[negatives] @ hidden.unsqueeze(2)).squeeze(2)).sum(dim=1)
    return -(positive + negative).sum()


def hidden_vectors(in_vectors, inputs, mode: str):
    """Skip-gram: the centre vectors in_vectors[inputs] (B, d). CBOW: for (B, 2w) context ids
    padded with −1, the mean of each row's valid context vectors (B, d)."""
    if mode == "skipgram":
        return in_vectors[inputs]
    mask = (inputs >= 0).unsqueeze(2).to(in_vectors.dtype)
    return (in_vectors[inputs.clamp(min=0)] * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def sgns_step(in_vectors, out_vectors, inputs, targets, negatives, lr: float, mode: str) -> None:
    """One SGD step of lr on :func:`negative_sampling_loss`, in place, gradients by hand.

    word2vec's update, batched: with g = lr·(label − σ(uᵀh)) per (target or negative) word,
    u += g·h and h's words += Σ g·u (CBOW: divided among the context words as the mean's
    gradient), all computed from the vectors before the step.
    """
    import torch

    hidden = hidden_vectors(in_vectors, inputs, mode)
    ids = torch.cat([targets.unsqueeze(1), negatives], dim=1)  # (B, 1 + K)
    u = out_vectors[ids]  # (B, 1 + K, d)
    labels = torch.zeros(ids.shape, dtype=u.dtype)
    labels[:, 0] = 1.0
    g = lr * (labels - torch.sigmoid((u @ hidden.unsqueeze(2)).squeeze(2)))
    step_hidden = (g.unsqueeze(2) * u).sum(dim=1)  # (B, d)
    dim = u.shape[2]
    out_vectors.index_add_(0, ids.reshape(-1), (g.unsqueeze(2) * hidden.unsqueeze(1)).reshape(-1, dim))
    if mode == "skipgram":
        in_vectors.index_add_(0, inputs, step_hidden)
    else:
        valid = inputs >= 0
        share = step_hidden / valid.sum(dim=1, keepdim=True).clamp(min=1)
        rows = valid.nonzero()[:, 0]
        in_vectors.index_add_(0, inputs[valid], share[rows])


def train_word2vec(
    sequences: list[np.ndarray], counts: np.ndarray, *, mode: str, dim: int, window: int, negative: int,
    sample: float, epochs: int, lr: float, batch_size: int, seed: int,
) -> np.ndarray:
    """Skip-gram (``mode="skipgram"``) or CBOW (``mode="cbow"``) with negative sampling.

    word2vec's schedule: input vectors uniform in ±0.5/d, output vectors 0, the learning rate
    decaying linearly from ``lr`` to lr·1e-4. Each epoch re-draws the sub-sampling, the dynamic
    windows, the order and the negatives from one numpy generator. Returns (V, dim) float32
    input vectors.
    """
    import torch

    rng = np.random.default_rng(seed)
    in_vectors = torch.from_numpy(rng.uniform(-0.5 / dim, 0.5 / dim, size=(len(counts), dim)).astype(np.float32))
    out_vectors = torch.zeros((len(counts), dim), dtype=torch.float32)
    draw = negative_sampler(counts)
    for epoch in range(epochs):
        centres, contexts = context_windows(subsample(sequences, counts, sample, rng), window, rng)
        if mode == "skipgram":
            keep = contexts >= 0  # one (centre, context) example per valid context slot
            inputs, targets = np.repeat(centres, keep.sum(axis=1)), contexts[keep]
        else:
            inputs, targets = contexts, centres
        order = rng.permutation(len(targets))
        starts = range(0, len(order), batch_size)
        for b, start in enumerate(starts):
            rows = order[start : start + batch_size]
            rate = lr * max(1e-4, 1.0 - (epoch + b / len(starts)) / epochs)
            sgns_step(in_vectors, out_vectors, torch.from_numpy(inputs[rows]), torch.from_numpy(targets[rows]),
                      torch.from_numpy(draw(rng, (len(rows), negative))), rate, mode)
    return in_vectors.numpy()


def glove_loss(w_i, c_j, b_i, b_j, log_x, weight):
    """Σ over the batch of ½ f(X_ij)(w_iᵀw̃_j + b_i + b̃_j − log X_ij)² (GloVe; seed eq. (17))."""
    residual = (w_i * c_j).sum(dim=1) + b_i + b_j - log_x
    return 0.5 * (weight * residual**2).sum()


def adagrad_rows(param, accumulator, index, grad, lr: float) -> None:
    """Sparse AdaGrad on the rows ``index`` (repeats summed), in place, as torch.optim.Adagrad:
    accumulator += g², param −= lr·g/(√accumulator + 1e-10)."""
    import torch

    rows, inverse = torch.unique(index, return_inverse=True)
    total = torch.zeros((len(rows),) + tuple(grad.shape[1:]), dtype=grad.dtype).index_add_(0, inverse, grad)
    accumulator[rows] += total**2
    param[rows] -= lr * total / (accumulator[rows].sqrt() + 1e-10)


def glove_step(state: dict, i, j, log_x, weight, lr: float) -> None:
    """One AdaGrad step on :func:`glove_loss` over the co-occurrences (i, j), gradients by hand.

    ``state`` holds "w", "c" ((V, d) main and context vectors), "bw", "bc" ((V,) biases) and
    their accumulators "gw", "gc", "gbw", "gbc"."""
    w_i, c_j = state["w"][i], state["c"][j]
    residual = (w_i * c_j).sum(dim=1) + state["bw"][i] + state["bc"][j] - log_x
    fdiff = weight * residual
    adagrad_rows(state["w"], state["gw"], i, fdiff.unsqueeze(1) * c_j, lr)
    adagrad_rows(state["c"], state["gc"], j, fdiff.unsqueeze(1) * w_i, lr)
    adagrad_rows(state["bw"], state["gbw"], i, fdiff, lr)
    adagrad_rows(state["bc"], state["gbc"], j, fdiff, lr)


def train_glove(
    rows: np.ndarray, cols: np.ndarray, values: np.ndarray, vocab_size: int, *, dim: int, x_max: float,
    alpha: float, epochs: int, lr: float, batch_size: int, seed: int,
) -> np.ndarray:
    """Weighted least-squares factorisation of log X by AdaGrad (GloVe). Returns w + w̃, (V, dim).

    Vectors start uniform in ±0.5/d, biases at 0 and the AdaGrad accumulators at 1 (as in the
    reference GloVe code, so the first steps are not huge)."""
    import torch

    rng = np.random.default_rng(seed)
    scale = 0.5 / dim

    def uniform():
        return torch.from_numpy(rng.uniform(-scale, scale, size=(vocab_size, dim)).astype(np.float32))

    state = {"w": uniform(), "c": uniform(), "bw": torch.zeros(vocab_size), "bc": torch.zeros(vocab_size)}
    state.update({f"g{k}": torch.ones_like(state[k]) for k in ("w", "c", "bw", "bc")})
    log_x = torch.from_numpy(np.log(values).astype(np.float32))
    weight = torch.from_numpy(np.minimum(1.0, (values / x_max) ** alpha).astype(np.float32))
    rows_t, cols_t = torch.from_numpy(rows), torch.from_numpy(cols)
    for _ in range(epochs):
        order = torch.from_numpy(rng.permutation(len(values)))
        for index in torch.split(order, batch_size):
            glove_step(state, rows_t[index], cols_t[index], log_x[index], weight[index], lr)
    return (state["w"] + state["c"]).numpy()
