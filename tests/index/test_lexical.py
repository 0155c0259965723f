"""BM25 lexical index (bm25s) against a slow reference of Lucene's BM25."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scicmr.errors import InputError, NotFittedError
from scicmr.index.lexical import LexicalIndex, tokenize


def reference_bm25(queries, documents, k1=1.2, b=0.75):
    """Lucene BM25, term by term: idf = ln(1 + (N - df + 0.5) / (df + 0.5)),
    tf part = tf / (tf + k1 (1 - b + b |d| / avgdl)); a repeated query word counts each time."""
    docs = tokenize(documents)
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    out = np.zeros((len(queries), n))
    for qi, words in enumerate(tokenize(queries)):
        for word in words:
            df = sum(1 for d in docs if word in d)
            if df == 0:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            for di, d in enumerate(docs):
                tf = d.count(word)
                if tf:
                    out[qi, di] += idf * tf / (tf + k1 * (1 - b + b * len(d) / avgdl))
    return out


DOCS = ["Loss curves of the training run over 100 epochs", "A map of sea surface temperature anomalies",
        "Gene expression heat map, 24 samples", "", "training loss and validation loss per epoch epoch",
        "temperature (K) versus pressure (GPa)"]


def test_scores_match_the_reference_formula():
    queries = ["training loss per epoch", "temperature map", "gene heat map", "nothing matches zebra", "the of and"]
    fast = LexicalIndex().fit(DOCS).scores(queries)
    assert fast.shape == (5, 6) and fast.dtype == np.float32
    np.testing.assert_allclose(fast, reference_bm25(queries, DOCS), rtol=1e-4, atol=1e-5)
    assert not fast[3].any() and not fast[4].any()  # unknown words and stop words score 0
    assert not fast[:, 3].any()  # the empty document never scores


def test_case_and_inflections_meet_numbers_do_not():
    index = LexicalIndex().fit(["Epoch 100 LOSS spectra", "epoch 20", "spectrum"])
    scores = index.scores(["losses 100"])
    assert scores[0, 0] > 0 and scores[0, 1] == 0 and scores[0, 2] == 0
    assert not index.scores(["100 20"]).any()  # numbers are not words here
    assert tokenize(["Measured spectra"]) == [["measur", "spectra"]]


def test_a_corpus_without_words_scores_zero_and_bad_input_is_refused():
    assert not LexicalIndex().fit(["", "   ", "the a"]).scores(["anything"]).any()
    with pytest.raises(NotFittedError):
        LexicalIndex().scores(["x"])
    with pytest.raises(InputError, match="list of documents"):
        LexicalIndex().fit("one string")
    with pytest.raises(InputError, match="k1"):
        LexicalIndex(k1=-1)


def test_chinese_runs_are_segmented_into_words():
    index = LexicalIndex().fit(["海洋温度异常的时间序列", "基因表达热图"])
    scores = index.scores(["温度异常"])
    assert scores[0, 0] > 0 and scores[0, 1] == 0
