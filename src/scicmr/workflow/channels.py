"""The evidence channels of hybrid retrieval: what each side of a record says, and each
channel's (q, n) score matrix.

Texts (:mod:`scicmr.corpus.figure_text` for the figure's printed words):

- the **text side** of a pair: the caption without its "Figure N:" label;
- the **figure side**: the figure's own printed words (text layer or OCR) — never its caption
  or citing sentences, so the cross-media protocol stays honest;
- a **library document** for people's searches: title, caption and printed words (lexical and
  dense channels) and, apart, the body sentences citing the figure (``context`` channel).

Channels (every one scores every candidate, so they can be fused):

- ``lexical``: BM25 (:class:`scicmr.index.lexical.LexicalIndex`) of the query's words against
  the candidates' words;
- ``dense``: cosine of MiniLM sentence embeddings of the same texts;
- ``context``: BM25 against the sentences citing each figure (library search only);
- ``cross_modal``: cosine in the trained model's shared space (image vs text features).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from scicmr.corpus.figure_text import caption_without_label, figure_words
from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.errors import LibraryError

DENSE_ENCODER = {"name": "minilm"}
_CACHE_LOCK = threading.Lock()


def text_side(record: Record) -> str:
    """The text side of a pair for the lexical and dense channels: the caption, label removed."""
    return caption_without_label(record.text) or record.title


def figure_side(record: Record) -> str:
    """The figure side: only the words printed in the figure."""
    return figure_words(record)


def document(record: Record) -> str:
    """What a person's text query is matched against (besides the citing sentences)."""
    return "\n".join(p for p in (record.title, caption_without_label(record.text), figure_words(record)) if p)


def citing_sentences(record: Record) -> str:
    return record.context or ""


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 1e-12)


def cosine(queries: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """(q, d) × (n, d) → (q, n) float32 cosines (zero rows score 0)."""
    return unit_rows(queries) @ unit_rows(candidates).T


def dense_encoder_spec(lib: Library, text_key: str) -> dict:
    """The dense channel's encoder for a library whose model reads text features ``text_key``:
    MiniLM when those are sentence embeddings (or for a library of precomputed features),
    else that fitted text encoder itself (``{"features": key}``: TF-IDF-LSA of a Chinese corpus,
    a fine-tuned MiniLM), so the channel speaks the library's language."""
    from scicmr.workflow.encode import encoder_dir

    if text_key.startswith("text-minilm-") or not (encoder_dir(lib, text_key) / "config.json").exists():
        return dict(DENSE_ENCODER)
    return {"features": text_key}


class TextEmbedder:
    """Dense sentence embeddings of record texts, cached in the library per field.

    Rows are cached under ``<record id>:<hash of the text>``, so an edited text is embedded
    again and an unchanged one never is; each field (``figure``, ``document``...) has its own
    cache folder, apart from the text encoder's features of the records' full text.

    Args:
        lib: the library (cache and fitted encoders), or None for no cache.
        spec: an encoder spec (``{"name": "minilm"}``) or ``{"features": key}``: the library's
            fitted encoder of those text features (:func:`dense_encoder_spec`).
    """

    def __init__(self, lib: Library | None, spec: dict | None = None):
        self.lib = lib
        self.spec = dict(spec or DENSE_ENCODER)
        self._encoder = None
        self._width: int | None = None  # the encoder's output width, once known

    @property
    def encoder(self):
        if self._encoder is None:
            from scicmr.encoders import create_encoder, load_encoder
            from scicmr.workflow.encode import encoder_dir

            if "features" in self.spec:
                self._encoder = load_encoder(encoder_dir(self.lib, self.spec["features"]))
            else:
                self._encoder = create_encoder(self.spec)
        return self._encoder

    def embed(self, texts: Sequence[str], ids: Sequence[str] | None = None, field: str = "") -> np.ndarray:
        """(m,) texts → (m, d) float32 unit rows; empty texts give zero rows. With ``ids`` (the
        records the texts belong to) and a library, rows go through the library's cache."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        present = [i for i, t in enumerate(texts) if t.strip()]
        out: np.ndarray | None = None
        if present:
            chosen = [texts[i] for i in present]
            if ids is not None and self.lib is not None:
                from scicmr.corpus.library import config_key
                from scicmr.encoders import encode_cached

                keyed = [f"{ids[i]}:{hashlib.sha1(texts[i].encode()).hexdigest()[:12]}" for i in present]
                unique = dict(zip(keyed, chosen))  # one row per (record, text)
                key = config_key(f"text-{self.spec.get('name', 'fitted')}-{field or 'field'}", self.spec)
                with _CACHE_LOCK:  # one writer per process; the cache is two files
                    try:
                        vectors = encode_cached(self.encoder, self.lib, list(unique), list(unique.values()), key=key)
                    except LibraryError:  # a cache another process is rewriting: do without it this time
                        vectors = self.encoder.encode(list(unique.values()), batch_size=32)
                lookup = dict(zip(unique, vectors))
                rows = np.stack([lookup[k] for k in keyed])
            else:
                rows = self.encoder.encode(chosen, batch_size=32)
            out = np.zeros((len(texts), rows.shape[1]), dtype=np.float32)
            out[present] = unit_rows(rows)
        if out is None:  # nothing to embed: zero rows of the encoder's width, so products still line up
            if self._width is None:
                self._width = int(self.encoder.encode(["x"], batch_size=1).shape[1])
            out = np.zeros((len(texts), self._width), dtype=np.float32)
        else:
            self._width = out.shape[1]
        return out


def lexical_scores(queries: Sequence[str], candidates: Sequence[str]) -> np.ndarray:
    """(q, n) BM25 scores of ``queries`` against ``candidates`` (the candidates are the corpus)."""
    from scicmr.index.lexical import LexicalIndex

    return LexicalIndex().fit(list(candidates)).scores(list(queries))


@dataclass
class PairChannels:
    """Channel scores of the cross-media pair protocol over n records (queries = candidates =
    the same records, row i's relevant candidate is column i)."""

    t2i: dict[str, np.ndarray] = field(default_factory=dict)
    i2t: dict[str, np.ndarray] = field(default_factory=dict)


def words_only(text: str) -> str:
    """``text`` without numbers and symbols: what the dense channel embeds of a figure's printed
    words (tick labels would fill the sentence encoder's window with digits)."""
    from scicmr.index.lexical import WORD_PATTERN

    return " ".join(re.findall(WORD_PATTERN, text))


def bank_normalised(scores: np.ndarray, bank_scores: np.ndarray) -> np.ndarray:
    """(q, n) scores standardised per candidate by its scores for a bank of typical queries
    ((b, n): the train split's queries, never the evaluated ones).

    A candidate that scores high for every query (a figure printing many common words, a
    hub of the embedding space) is discounted, one that stands out only for its own query is
    kept: query-bank normalisation against hubness (Bogolin et al., CVPR 2022, in its simplest
    form: a z-score per candidate)."""
    return normalised_by(scores, *bank_statistics(bank_scores))


def bank_statistics(bank_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray] | tuple[None, None]:
    """(n,) mean and spread of each candidate's scores over a bank of queries ((b, n)); None,
    None for a bank too small to tell."""
    bank_scores = np.asarray(bank_scores, dtype=np.float64)
    if len(bank_scores) < 2:
        return None, None
    return bank_scores.mean(axis=0), bank_scores.std(axis=0)


def normalised_by(scores: np.ndarray, mean: np.ndarray | None, spread: np.ndarray | None) -> np.ndarray:
    """(q, n) scores as z-scores per candidate under bank statistics (unchanged without them)."""
    if mean is None:
        return np.asarray(scores, dtype=np.float32)
    return ((scores - mean) / np.maximum(spread, 1e-6)).astype(np.float32)


def pair_channels(records: Sequence[Record], shared: dict[str, np.ndarray] | None,
                  embedder: TextEmbedder | None, figures: Sequence[Record] | None = None,
                  bank: Sequence[Record] = ()) -> PairChannels:
    """The channels of both directions for paired ``records``.

    Args:
        records: n paired records; their text sides (captions) are read here.
        shared: {"image": (n, k), "text": (n, k)} shared-space vectors of a trained model
            (the ``cross_modal`` channel), or None.
        embedder: the dense channel's embedder, or None to leave that channel out.
        figures: the records whose figure sides are read (default ``records``): a test passes
            copies with blanked captions to show that nothing of a caption reaches the figure side.
        bank: training records whose captions and figure words are the query bank of the
            ``lexical_qb`` and ``dense_qb`` channels (:func:`bank_normalised`); empty: none.

    Returns:
        :class:`PairChannels`; each matrix is (n, n), rows = queries.
    """
    captions = [text_side(r) for r in records]
    figure_texts = [figure_side(r) for r in (records if figures is None else figures)]
    out = PairChannels()
    if any(t.strip() for t in figure_texts):
        _text_channels(out, captions, figure_texts, [r.id for r in records], embedder, bank)
        # A figure that prints nothing has no text evidence, not bad evidence: NaN lets the
        # fusion rank it on the channels it has (index.fusion.weighted_parts).
        wordless = np.array([not t.strip() for t in figure_texts])
        for name in list(out.t2i):
            out.t2i[name][:, wordless] = np.nan
            out.i2t[name][wordless, :] = np.nan
    if shared is not None:
        scores = cosine(shared["text"], shared["image"])
        out.t2i["cross_modal"], out.i2t["cross_modal"] = scores, scores.T.copy()
    return out


def _text_channels(out: PairChannels, captions: list[str], figure_texts: list[str], ids: list[str],
                   embedder: TextEmbedder | None, bank: Sequence[Record]) -> None:
    bank_captions = [text_side(r) for r in bank]
    bank_figures = [figure_side(r) for r in bank]
    out.t2i["lexical"] = lexical_scores(captions, figure_texts)
    out.i2t["lexical"] = lexical_scores(figure_texts, captions)
    if bank:
        out.t2i["lexical_qb"] = bank_normalised(out.t2i["lexical"], lexical_scores(bank_captions, figure_texts))
        out.i2t["lexical_qb"] = bank_normalised(out.i2t["lexical"], lexical_scores(bank_figures, captions))
    if embedder is None:
        return
    caption_rows = embedder.embed(captions, ids, "caption")
    figure_rows = embedder.embed([words_only(t) for t in figure_texts], ids, "figure")
    dense = caption_rows @ figure_rows.T
    out.t2i["dense"], out.i2t["dense"] = dense, dense.T.copy()
    if bank:
        bank_ids = [r.id for r in bank]
        bank_caption_rows = embedder.embed(bank_captions, bank_ids, "caption")
        bank_figure_rows = embedder.embed([words_only(t) for t in bank_figures], bank_ids, "figure")
        out.t2i["dense_qb"] = bank_normalised(dense, bank_caption_rows @ figure_rows.T)
        out.i2t["dense_qb"] = bank_normalised(dense.T, bank_figure_rows @ caption_rows.T)
