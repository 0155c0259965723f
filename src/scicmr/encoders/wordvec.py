"""Word-vector text encoders trained on the library's own texts: CBOW, skip-gram and GloVe.

IDCMR (seed 004, "Background" and "Results", Fig. 4) compares text vectorisation methods:
bag-of-words, word2vec's continuous bag-of-words (CBOW) and skip-gram (SG) (Mikolov et al.
2013, eq. (1)–(12) of the seed), and GloVe (Pennington et al. 2014, eq. (13)–(17)). The seed
uses vectors pretrained on Google News; nothing may be downloaded here, so these encoders learn
word vectors from the train split's texts at ``fit`` time (well under a minute for ~2k texts):

- **skip-gram** predicts each context word from the centre word. The full softmax of eq. (3)
  is replaced by negative sampling (Mikolov et al. 2013b), the standard way to train it:
  −log σ(u_oᵀv_c) − Σ_{k≤K} log σ(−u_kᵀv_c), negatives drawn from the unigram distribution
  raised to ¾.
- **CBOW** predicts the centre word from the mean of its context vectors (eq. (7)–(12)), with
  the same negative-sampling loss.
- **GloVe** factorises the global co-occurrence counts X_ij (window-weighted by 1/distance,
  symmetric): eq. (17) Σ f(X_ij)(w_iᵀw̃_j + b_i + b̃_j − log X_ij)² over the non-zero X_ij,
  with GloVe's weighting f(x) = min(1, (x/x_max)^¾) (eq. (17) prints it unweighted; f stops rare
  pairs dominating), AdaGrad, and word vectors w + w̃.

word2vec details kept: a dynamic window (each centre uses a window drawn uniformly from 1 to
``window``), sub-sampling of frequent words (keep probability (√(f/t) + 1)·t/f, t =
``sample``), input vectors as the word vectors, SGD with a linearly decaying rate. The updates
are word2vec's and GloVe's (AdaGrad) hand-written gradients applied to minibatches with torch
``index_add_`` (tests check them against autograd); all randomness comes from one numpy
generator seeded by ``seed`` and training runs on one thread, so a fit is deterministic.

Document vector: the mean of the vectors of its in-vocabulary tokens, each token weighted by
its word's IDF when ``weighting="tfidf"`` (a term seen tf times weighs tf·idf), then
L2-normalised; a text with no known word maps to zeros. Tokens come from
:func:`scicmr.encoders.tokenize.tokenize` (jieba for Chinese, stopwords removed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from scicmr._io import atomic_save_npy, atomic_write_json, read_json
from scicmr.encoders.base import Encoder, fingerprint
from scicmr.encoders.tokenize import Tokenizer, tokenize
from scicmr.encoders.wordvec_training import *  # noqa: F401,F403  (re-exported: they were defined here)
from scicmr.encoders.wordvec_training import (
    build_vocabulary,
    cooccurrence,
    idf_weights,
    to_ids,
    train_glove,
    train_word2vec,
)
from scicmr.errors import InputError

WEIGHTINGS = ("tfidf", "mean")


# ----------------------------------------------------------------------------- encoders
def _check(name: str, value: Any, minimum: float, *, integer: bool = True, strict: bool = False,
           allow_none: bool = False) -> None:
    """InputError unless ``value`` is a number (an int when ``integer``) >= / > ``minimum``."""
    if value is None and allow_none:
        return
    kinds = (int, np.integer) if integer else (int, float, np.number)
    if isinstance(value, bool) or not isinstance(value, kinds) or not (value > minimum if strict else value >= minimum):
        what = "an integer" if integer else "a number"
        raise InputError(f"{name} must be {what} {'>' if strict else '>='} {minimum}"
                         f"{' or None' if allow_none else ''}, got {value!r}")


class _WordVectorEncoder(Encoder):
    """Shared machinery: vocabulary, training call, document pooling, persistence.

    Subclasses store their parameters (``vector_size``, ``window``, ``min_count``,
    ``max_vocab``, ``epochs``, ``lr``, ``batch_size``, ``weighting``, ``seed`` and their own),
    call ``self._validate()`` and implement ``_train(sequences, counts) -> (V, d) float32``.
    Learned state: ``vocabulary_`` (V words), ``vectors_`` ((V, d) float32 word vectors),
    ``idf_`` ((V,) float64).
    """

    modality = "text"
    fittable = True

    def _store(self, params: dict[str, Any]) -> None:
        """Keep the constructor arguments (``locals()`` of ``__init__``) and validate them."""
        for name in self._param_names():
            setattr(self, name, params[name])
        self._validate()

    def _validate(self) -> None:
        for name in ("vector_size", "window", "min_count", "epochs", "batch_size"):
            _check(name, getattr(self, name), 1)
        _check("max_vocab", self.max_vocab, 1, allow_none=True)
        _check("seed", self.seed, 0)
        _check("lr", self.lr, 0, integer=False, strict=True)
        if self.weighting not in WEIGHTINGS:
            raise InputError(f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")

    def _identity(self) -> dict[str, Any]:
        return {"tokenizer": Tokenizer().config()}

    def _set_vocabulary(self, words: list[str]) -> None:
        self.vocabulary_ = list(words)
        self._index = {word: i for i, word in enumerate(self.vocabulary_)}

    def _fit(self, items: list[str]) -> None:
        import torch

        token_lists = [tokenize(text) for text in items]
        words, counts = build_vocabulary(token_lists, int(self.min_count), self.max_vocab)
        if len(words) < 2:
            raise InputError(
                f"the {self.name} encoder found {len(words)} word(s) seen >= {self.min_count} times "
                f"in {len(items)} training texts; word vectors need a vocabulary",
                fix="fit on more text, or lower min_count (e.g. min_count=1)",
            )
        self._set_vocabulary(words)
        sequences = to_ids(token_lists, self._index)
        self.idf_ = idf_weights(sequences, len(words))
        # One thread: the result of a fit must not depend on the caller's thread count.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            self.vectors_ = np.ascontiguousarray(self._train(sequences, counts), dtype=np.float32)
        finally:
            torch.set_num_threads(threads)

    def _train(self, sequences: list[np.ndarray], counts: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _dim(self) -> int:
        return int(self.vector_size)

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        """(n,) texts -> (n, d): (tf·idf- or tf-) weighted mean of word vectors, L2-normalised.

        The mean's denominator cancels in the normalisation, so the weighted sum is used."""
        import scipy.sparse as sp

        sequences = to_ids([tokenize(text) for text in batch], self._index)
        lengths = np.asarray([len(s) for s in sequences], dtype=np.int64)
        columns = np.concatenate(sequences) if len(sequences) else np.zeros(0, np.int64)
        weights = self.idf_[columns] if self.weighting == "tfidf" else np.ones(len(columns))
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        matrix = sp.csr_matrix((weights, columns, indptr), shape=(len(batch), len(self.vocabulary_)))
        docs = np.asarray(matrix @ self.vectors_.astype(np.float64))
        norms = np.linalg.norm(docs, axis=1, keepdims=True)
        return docs / np.where(norms > 0, norms, 1.0)

    # -- inspection
    def word_vector(self, word: str) -> np.ndarray:
        """The (d,) float32 vector of ``word`` (tokenised like the texts, e.g. lowercased)."""
        self._check_fitted()
        if word not in self._index:
            raise InputError(f"{word!r} is not in the {self.name} vocabulary", fix="pick a word seen in training")
        return self.vectors_[self._index[word]]

    def most_similar(self, word: str, n: int = 10) -> list[tuple[str, float]]:
        """The ``n`` words with the highest cosine to ``word`` (itself excluded)."""
        query = self.word_vector(word).astype(np.float64)
        vectors = self.vectors_.astype(np.float64)
        cosine = vectors @ query / np.maximum(np.linalg.norm(vectors, axis=1) * np.linalg.norm(query), 1e-12)
        cosine[self._index[word]] = -np.inf
        order = np.argsort(-cosine, kind="stable")[:n]
        return [(self.vocabulary_[i], float(cosine[i])) for i in order]

    # -- persistence
    def _save_state(self, directory: Path) -> list[str]:
        atomic_write_json(directory / "vocabulary.json", self.vocabulary_)
        atomic_save_npy(directory / "vectors.npy", self.vectors_)
        atomic_save_npy(directory / "idf.npy", self.idf_)
        return ["vocabulary.json", "vectors.npy", "idf.npy"]

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        self._set_vocabulary(read_json(directory / "vocabulary.json"))
        self.vectors_ = np.load(directory / "vectors.npy", allow_pickle=False)
        self.idf_ = np.load(directory / "idf.npy", allow_pickle=False)

    def _state_fingerprint(self) -> str:
        return fingerprint(self.vocabulary_, self.vectors_, self.idf_)


class _Word2VecEncoder(_WordVectorEncoder):
    mode: str  # "skipgram" or "cbow"

    def __init__(
        self,
        vector_size: int = 100,
        window: int = 5,
        min_count: int = 2,
        max_vocab: int | None = 50000,
        negative: int = 5,
        sample: float = 1e-3,
        epochs: int = 20,
        lr: float = 0.1,
        batch_size: int = 4096,
        weighting: str = "tfidf",
        seed: int = 0,
    ):
        self._store(locals())
        _check("negative", negative, 1)
        _check("sample", sample, 0, integer=False)

    def _train(self, sequences: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
        return train_word2vec(
            sequences, counts, mode=self.mode, dim=int(self.vector_size), window=int(self.window),
            negative=int(self.negative), sample=float(self.sample), epochs=int(self.epochs), lr=float(self.lr),
            batch_size=int(self.batch_size), seed=int(self.seed),
        )


class SkipGramEncoder(_Word2VecEncoder):
    """word2vec skip-gram with negative sampling, trained on the fit texts (see module doc).

    Args:
        vector_size: word (and document) vector size.
        window: largest context distance (dynamic window 1..window).
        min_count: ignore words seen fewer times; max_vocab: keep the most frequent words.
        negative: negative samples per example; sample: sub-sampling threshold t (0: off).
        epochs, lr, batch_size: SGD, the rate decaying linearly from lr.
        weighting: "tfidf" (IDF-weighted mean of word vectors) or "mean".
        seed: seeds initialisation, sub-sampling, windows, order and negatives.
    """

    name = "skipgram"
    mode = "skipgram"


class CbowEncoder(_Word2VecEncoder):
    """word2vec continuous bag-of-words with negative sampling (parameters as SkipGramEncoder)."""

    name = "cbow"
    mode = "cbow"


class GloveEncoder(_WordVectorEncoder):
    """GloVe word vectors from the fit texts' co-occurrence counts (see module doc).

    Args:
        vector_size: word (and document) vector size.
        window: co-occurrence window (pairs at distance d count 1/d).
        min_count, max_vocab: vocabulary as for word2vec.
        x_max, alpha: weighting f(x) = min(1, (x/x_max)^alpha); x_max is 10 rather than GloVe's
            100 because counts in a corpus of a few thousand texts are small.
        epochs, lr, batch_size: AdaGrad over the non-zero co-occurrences.
        weighting: "tfidf" or "mean" document pooling.
        seed: seeds initialisation and order.
    """

    name = "glove"

    def __init__(
        self,
        vector_size: int = 100,
        window: int = 10,
        min_count: int = 2,
        max_vocab: int | None = 50000,
        x_max: float = 10.0,
        alpha: float = 0.75,
        epochs: int = 20,
        lr: float = 0.05,
        batch_size: int = 8192,
        weighting: str = "tfidf",
        seed: int = 0,
    ):
        self._store(locals())
        _check("x_max", x_max, 0, integer=False, strict=True)
        _check("alpha", alpha, 0, integer=False, strict=True)

    def _train(self, sequences: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
        rows, cols, values = cooccurrence(sequences, int(self.window), len(counts))
        if not len(values):
            raise InputError("the glove encoder found no co-occurring words in its training texts",
                             fix="fit on longer texts, or lower min_count")
        return train_glove(
            rows, cols, values, len(counts), dim=int(self.vector_size), x_max=float(self.x_max),
            alpha=float(self.alpha), epochs=int(self.epochs), lr=float(self.lr),
            batch_size=int(self.batch_size), seed=int(self.seed),
        )
