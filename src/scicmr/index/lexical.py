"""Lexical retrieval: BM25 over documents' words (the ``bm25s`` library, Lucene's variant).

Words are lower-cased runs of two or more letters, English stop words removed, stemmed with
the Snowball English stemmer (PyStemmer), so "temperatures" in a caption meets "Temperature" printed in
a figure. Numbers are left out: tick labels (0, 0.5, 10, 20 ...) are printed in most charts and
match nothing in particular — measured on real papers' validation split, dropping them and
stemming raised figure→caption MRR of BM25 from 0.48 to 0.53 (bench/real_papers.py). The
index holds one document per candidate; :meth:`LexicalIndex.scores` gives every candidate's
score for each query, so a lexical channel can be fused with dense ones over the same
candidates. Documents without a single word score 0 for every query.

bm25s rebuilds its matrix on ``fit``; indexing a few thousand captions takes milliseconds,
so a library re-fits it when its records change instead of appending.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from collections.abc import Sequence

import numpy as np

from scicmr.errors import InputError, NotFittedError


#: Two or more letters (any script), no digits or underscores.
WORD_PATTERN = r"(?u)\b[^\W\d_][^\W\d_]+\b"


@functools.lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


def _spaced(text: str) -> str:
    """Runs of Chinese characters segmented into words (jieba), so each word is a token."""
    from scicmr.encoders.tokenize import segment_cjk

    return _CJK_RUN.sub(lambda run: " " + " ".join(segment_cjk(run.group())) + " ", text)


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    """Each text → its lower-cased, stemmed word tokens, English stop words and numbers removed
    (Chinese runs segmented into words first)."""
    import bm25s

    texts = [_spaced(t) if _CJK_RUN.search(t) else t for t in texts]
    with contextlib.redirect_stderr(io.StringIO()):  # bm25s prints a progress bar per call
        return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer().stemWords, token_pattern=WORD_PATTERN,
                              return_ids=False, show_progress=False)


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
