"""Lexical retrieval: BM25 over documents' words (the ``bm25s`` library, Lucene's variant).

Words are lower-cased ``\\w\\w+`` tokens with English stop words removed (bm25s's tokenizer);
numbers count as words, because tick labels and units printed in a figure are evidence. The
index holds one document per candidate; :meth:`LexicalIndex.scores` gives every candidate's
score for each query, so a lexical channel can be fused with dense ones over the same
candidates. Documents without a single word score 0 for every query.

bm25s rebuilds its matrix on ``fit``; indexing a few thousand captions takes milliseconds,
so a library re-fits it when its records change instead of appending.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence

import numpy as np

from scicmr.errors import InputError, NotFittedError


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Each text → its lower-cased word tokens, English stop words removed."""
    import bm25s

    with contextlib.redirect_stderr(io.StringIO()):  # bm25s prints a progress bar per call
        return bm25s.tokenize(list(texts), stopwords="en", return_ids=False, show_progress=False)


class LexicalIndex:
    """BM25 scores of queries against a fixed set of documents.

    Args:
        k1: term-frequency saturation.
        b: document-length normalisation.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75):
        if not (k1 >= 0 and 0 <= b <= 1):
            raise InputError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1 = float(k1)
        self.b = float(b)

    def fit(self, documents: Sequence[str]) -> "LexicalIndex":
        """Index ``documents`` (n strings; candidate i is row i of every score matrix)."""
        import bm25s

        if isinstance(documents, str):
            raise InputError("fit takes a list of documents, got one string", fix="wrap it in a list")
        tokens = tokenize(documents)
        self.n_documents_ = len(tokens)
        self.has_words_ = any(tokens)
        self.model_ = bm25s.BM25(k1=self.k1, b=self.b, method="lucene")
        if self.has_words_:
            with contextlib.redirect_stderr(io.StringIO()):
                self.model_.index(tokens, show_progress=False)
        return self

    def _check(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("LexicalIndex")

    def scores(self, queries: Sequence[str]) -> np.ndarray:
        """(q, n) float32 BM25 score of every document for each query (0: no shared word)."""
        self._check()
        out = np.zeros((len(queries), self.n_documents_), dtype=np.float32)
        if not self.has_words_ or not len(queries):
            return out
        vocabulary = self.model_.vocab_dict
        for row, words in enumerate(tokenize(queries)):
            known = [w for w in words if w in vocabulary]
            if known:
                out[row] = self.model_.get_scores(known)
        return out
