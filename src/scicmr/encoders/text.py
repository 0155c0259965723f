"""Bag-of-words text encoders: TF-IDF (optionally LSA-reduced), raw counts (BoW) and LDA topics.

All three share the tokenizer in :mod:`scicmr.encoders.tokenize` and learn a vocabulary in
``fit`` (train split only). sklearn does the fitting; encoding is our own sparse numpy code
over the saved arrays, so a saved encoder is plain JSON + .npy (no pickles) and reloads to
bit-identical outputs. Tests compare every encode path with sklearn's own ``transform``.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from scicmr._io import atomic_save_npy, atomic_write_json, read_json
from scicmr.encoders.base import Encoder, fingerprint
from scicmr.encoders.tokenize import Tokenizer
from scicmr.errors import InputError

# sklearn's LDA E-step constants (LatentDirichletAllocation defaults), kept so our
# inference matches LatentDirichletAllocation.transform.
_LDA_DOC_ITERS = 100
_LDA_MEAN_CHANGE_TOL = 1e-3


def _check_int(name: str, value: Any, *, minimum: int = 1, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}{' or None' if allow_none else ''}, got {value!r}")


def _check_min_df(value: Any) -> None:
    # sklearn semantics: an int is a document count, a float in (0, 1] a fraction of documents.
    if isinstance(value, float) and 0.0 < value <= 1.0:
        return
    _check_int("min_df", value)


def l2_normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm; all-zero rows stay zero. (n, d) -> (n, d)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)


class _VocabularyEncoder(Encoder):
    """Shared machinery: tokenising, vocabulary fitting and sparse count matrices."""

    modality = "text"
    fittable = True

    def _tokenize_all(self, texts: list[str]) -> list[list[str]]:
        tokenizer = Tokenizer()
        return [tokenizer(text) for text in texts]

    def _fit_vocabulary(self, token_lists: list[list[str]]):
        """Pick the vocabulary (sklearn CountVectorizer rules) and return the (n, V) counts."""
        from sklearn.feature_extraction.text import CountVectorizer

        vectorizer = CountVectorizer(analyzer=_identity, min_df=self.min_df, max_features=self.max_features)
        try:
            vectorizer.fit(token_lists)
        except ValueError as exc:  # empty vocabulary, or min_df prunes every term
            raise InputError(
                f"the {self.name} encoder found no usable terms in {len(token_lists)} training texts ({exc})",
                fix="fit on more text, or lower min_df (e.g. min_df=1)",
            ) from None
        terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.get)
        self._set_vocabulary(terms)
        return self._count_matrix(token_lists)

    def _set_vocabulary(self, terms: list[str]) -> None:
        self.vocabulary_ = list(terms)
        self._index = {term: column for column, term in enumerate(self.vocabulary_)}

    def _count_matrix(self, token_lists: list[list[str]]):
        """(n, V) float64 CSR term counts; out-of-vocabulary tokens are ignored."""
        import scipy.sparse as sp

        indptr, indices, data = [0], [], []
        for tokens in token_lists:
            counts = Counter(self._index[t] for t in tokens if t in self._index)
            columns = sorted(counts)
            indices.extend(columns)
            data.extend(counts[c] for c in columns)
            indptr.append(len(indices))
        return sp.csr_matrix(
            (np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
            shape=(len(token_lists), len(self.vocabulary_)),
        )

    def _identity(self) -> dict[str, Any]:
        return {"tokenizer": Tokenizer().config()}

    # -- persistence: vocabulary.json + one .npy per array in _arrays()
    def _arrays(self) -> dict[str, np.ndarray]:
        return {}

    def _save_state(self, directory: Path) -> list[str]:
        atomic_write_json(directory / "vocabulary.json", self.vocabulary_)
        files = ["vocabulary.json"]
        for name, array in self._arrays().items():
            atomic_save_npy(directory / f"{name}.npy", array)
            files.append(f"{name}.npy")
        return files

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        self._set_vocabulary(read_json(directory / "vocabulary.json"))
        for name in config.get("state_files", []):
            if name.endswith(".npy"):
                setattr(self, f"{name[:-4]}_", np.load(directory / name, allow_pickle=False))

    def _state_fingerprint(self) -> str:
        arrays = self._arrays()
        return fingerprint(self.vocabulary_, *[arrays[k] for k in sorted(arrays)])


def _identity(tokens):
    # Module-level (not a lambda) so a CountVectorizer holding it stays picklable.
    return tokens


class BowEncoder(_VocabularyEncoder):
    """Raw term counts over the fitted vocabulary: text -> (V,) float32 counts.

    Args:
        max_features: keep the most frequent terms (None: all).
        min_df: drop terms in fewer documents (int count or float fraction).
    """

    name = "bow"

    def __init__(self, max_features: int | None = 20000, min_df: int | float = 2):
        _check_int("max_features", max_features, allow_none=True)
        _check_min_df(min_df)
        self.max_features = max_features
        self.min_df = min_df

    def _fit(self, items: list[str]) -> None:
        self._fit_vocabulary(self._tokenize_all(items))

    def _dim(self) -> int:
        return len(self.vocabulary_)

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        return self._count_matrix(self._tokenize_all(batch)).toarray()


class TfidfEncoder(_VocabularyEncoder):
    """TF-IDF vectors (sklearn TfidfVectorizer semantics: smooth idf, L2-normalised rows).

    With ``svd_dim`` set, a TruncatedSVD (LSA) fitted on the same training texts projects the
    TF-IDF rows to ``svd_dim`` dimensions, and the projections are L2-normalised again.

    Args:
        max_features: keep the most frequent terms (None: all).
        min_df: drop terms in fewer documents (int count or float fraction).
        sublinear_tf: use 1 + log(tf) instead of tf.
        svd_dim: output dimension after LSA, or None for the full vocabulary.
        seed: random state of the randomized SVD.
    """

    name = "tfidf"

    def __init__(
        self,
        max_features: int | None = 20000,
        min_df: int | float = 2,
        sublinear_tf: bool = True,
        svd_dim: int | None = None,
        seed: int = 0,
    ):
        _check_int("max_features", max_features, allow_none=True)
        _check_min_df(min_df)
        _check_int("svd_dim", svd_dim, allow_none=True)
        _check_int("seed", seed, minimum=0)
        self.max_features = max_features
        self.min_df = min_df
        self.sublinear_tf = bool(sublinear_tf)
        self.svd_dim = svd_dim
        self.seed = seed

    def _fit(self, items: list[str]) -> None:
        from sklearn.feature_extraction.text import TfidfTransformer

        counts = self._fit_vocabulary(self._tokenize_all(items))
        transformer = TfidfTransformer(norm="l2", use_idf=True, smooth_idf=True, sublinear_tf=self.sublinear_tf)
        transformer.fit(counts)
        self.idf_ = np.asarray(transformer.idf_, dtype=np.float64)
        self.svd_components_ = None
        if self.svd_dim is not None:
            self.svd_components_ = self._fit_svd(self._tfidf(counts), len(items))

    def _fit_svd(self, tfidf, n_docs: int) -> np.ndarray:
        from sklearn.decomposition import TruncatedSVD

        limit = min(n_docs, len(self.vocabulary_))
        if self.svd_dim >= limit:
            raise InputError(
                f"svd_dim={self.svd_dim} needs more than {self.svd_dim} training texts and terms "
                f"(have {n_docs} texts, {len(self.vocabulary_)} terms)",
                fix=f"use svd_dim < {limit}, or svd_dim=None for plain TF-IDF",
            )
        svd = TruncatedSVD(n_components=self.svd_dim, algorithm="randomized", random_state=self.seed)
        svd.fit(tfidf)
        return np.asarray(svd.components_, dtype=np.float64)  # (svd_dim, V)

    def _tfidf(self, counts):
        """(n, V) CSR counts -> (n, V) CSR L2-normalised TF-IDF."""
        import scipy.sparse as sp

        tf = counts.copy()
        if self.sublinear_tf:
            tf.data = 1.0 + np.log(tf.data)
        weighted = tf @ sp.diags(self.idf_)
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        return sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ weighted

    def _dim(self) -> int:
        return self.svd_dim if self.svd_dim is not None else len(self.vocabulary_)

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        tfidf = self._tfidf(self._count_matrix(self._tokenize_all(batch)))
        if self.svd_components_ is None:
            return tfidf.toarray()
        return l2_normalize_rows(np.asarray(tfidf @ self.svd_components_.T))

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {"idf": self.idf_}
        if self.svd_components_ is not None:
            arrays["svd_components"] = self.svd_components_
        return arrays

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        self.svd_components_ = None
        super()._load_state(directory, config)


class LdaEncoder(_VocabularyEncoder):
    """Topic proportions from latent Dirichlet allocation: text -> (n_topics,) float32 summing to 1.

    sklearn's LatentDirichletAllocation (batch variational Bayes, seeded) fits the topics;
    encoding runs the same per-document variational E-step, vectorised over a batch.

    Args:
        n_topics: number of topics (the output dimension).
        max_features, min_df: vocabulary as for BoW.
        max_iter: passes over the training texts.
        seed: random state of the topic initialisation.
    """

    name = "lda"

    def __init__(
        self,
        n_topics: int = 10,
        max_features: int | None = 20000,
        min_df: int | float = 2,
        max_iter: int = 10,
        seed: int = 0,
    ):
        _check_int("n_topics", n_topics, minimum=2)
        _check_int("max_features", max_features, allow_none=True)
        _check_min_df(min_df)
        _check_int("max_iter", max_iter)
        _check_int("seed", seed, minimum=0)
        self.n_topics = n_topics
        self.max_features = max_features
        self.min_df = min_df
        self.max_iter = max_iter
        self.seed = seed

    def _fit(self, items: list[str]) -> None:
        from sklearn.decomposition import LatentDirichletAllocation

        counts = self._fit_vocabulary(self._tokenize_all(items))
        lda = LatentDirichletAllocation(
            n_components=self.n_topics, learning_method="batch", max_iter=self.max_iter, random_state=self.seed
        )
        lda.fit(counts)
        self.components_ = np.asarray(lda.components_, dtype=np.float64)  # (n_topics, V)

    def _dim(self) -> int:
        return self.n_topics

    def _encode_batch(self, batch: list[str]) -> np.ndarray:
        return lda_doc_topics(self._count_matrix(self._tokenize_all(batch)), self.components_, 1.0 / self.n_topics)

    def top_words(self, n: int = 10) -> list[list[str]]:
        """The ``n`` highest-weight terms of each topic (for inspecting what topics mean)."""
        self._check_fitted()
        order = np.argsort(-self.components_, axis=1, kind="stable")[:, :n]
        return [[self.vocabulary_[j] for j in row] for row in order]

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"components": self.components_}


def _exp_dirichlet_expectation(alpha: np.ndarray) -> np.ndarray:
    """exp(E[log x]) for x ~ Dirichlet(row of alpha): (n, k) -> (n, k)."""
    from scipy.special import digamma

    return np.exp(digamma(alpha) - digamma(alpha.sum(axis=1, keepdims=True)))


def lda_doc_topics(counts, components: np.ndarray, doc_topic_prior: float) -> np.ndarray:
    """Normalised document-topic proportions by the variational E-step of batch LDA.

    For every document d: gamma_d = exp(E[log theta_d]) * (c_d / phi_norm_d) @ beta^T + prior,
    iterated from gamma_d = 1 until the mean absolute change of gamma_d drops below 1e-3 (or
    100 iterations), each document stopping on its own, as sklearn does.

    Args:
        counts: (n, V) CSR term counts.
        components: (k, V) topic-word pseudo-counts (sklearn's ``components_``).
        doc_topic_prior: Dirichlet prior of the document-topic distribution.

    Returns:
        (n, k) float64, rows summing to 1 (uniform for documents with no known term).
    """
    import scipy.sparse as sp

    counts = sp.csr_matrix(counts, dtype=np.float64)
    counts.sum_duplicates()
    n = counts.shape[0]
    k = components.shape[0]
    exp_topic_word = _exp_dirichlet_expectation(components)  # (k, V)
    rows = np.repeat(np.arange(n), np.diff(counts.indptr))
    beta_nz = exp_topic_word[:, counts.indices].T  # (nnz, k): beta at each nonzero count
    eps = np.finfo(np.float64).eps
    gamma = np.ones((n, k))
    exp_doc_topic = _exp_dirichlet_expectation(gamma)
    active = np.arange(n)
    for _ in range(_LDA_DOC_ITERS):
        norm_phi = np.einsum("ij,ij->i", exp_doc_topic[rows], beta_nz) + eps  # (nnz,)
        # Sum over each document's nonzeros of (count / norm_phi) * beta, as one sparse product.
        ratio = sp.csr_matrix((counts.data / norm_phi, np.arange(len(rows)), counts.indptr), shape=(n, len(rows)))
        updated = exp_doc_topic * np.asarray(ratio @ beta_nz) + doc_topic_prior
        change = np.abs(updated[active] - gamma[active]).mean(axis=1)
        gamma[active] = updated[active]
        exp_doc_topic[active] = _exp_dirichlet_expectation(gamma[active])
        active = active[change >= _LDA_MEAN_CHANGE_TOL]
        if not len(active):
            break
    return gamma / gamma.sum(axis=1, keepdims=True)
