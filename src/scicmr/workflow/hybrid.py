"""Hybrid retrieval: lexical, dense and cross-modal channels fused with weights chosen on the
validation split (:mod:`scicmr.workflow.channels`, :mod:`scicmr.index.fusion`).

``scicmr train`` fits a cross-modal model and then, when the library has texts, its fusion:
``models/<model>/hybrid.json`` holds, per task, the chosen strategy (``linear`` or ``rrf``),
its weights and every candidate's validation MRR (each channel alone, both strategies):

- ``t2i`` / ``i2t``: the cross-media pair protocol (caption ↔ figure; the figure side is the
  image and its printed words only);
- ``search``: a person's text query (a body sentence citing a figure) → figures, with the
  target's own citing sentences held out.

``scicmr evaluate`` and every :class:`~scicmr.workflow.search.Searcher` query then rank by the
fused score; ``--channels cross_modal`` (``channels=("cross_modal",)``) gives the model alone.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from scicmr._io import atomic_write_json, read_json
from scicmr.corpus.library import Library
from scicmr.corpus.pdf.captions import cited_numbers, split_sentences
from scicmr.corpus.record import Record
from scicmr.errors import InputError
from scicmr.workflow.channels import (TextEmbedder, bank_statistics, citing_sentences, cosine, dense_encoder_spec,
                                      document, figure_side, lexical_scores, normalised_by, pair_channels, text_side,
                                      words_only)
from scicmr.workflow.library_data import paired_records

HYBRID_FILE = "hybrid.json"
TASKS = ("t2i", "i2t", "search")
_MIN_VALIDATION = 8  # fewer validation queries cannot choose weights; equal weights are used


def hybrid_config(lib: Library, model: str) -> dict[str, Any] | None:
    """The fitted fusion of ``model`` (hybrid.json), or None when it has none or it is unreadable
    (the model alone then ranks: a damaged file must not stop searches)."""
    path = lib.model_dir(model) / HYBRID_FILE
    if not path.is_file():
        return None
    try:
        config = read_json(path)
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) and isinstance(config.get("tasks"), dict) else None


def fusion_for(config: dict[str, Any] | None, task: str, channels: Sequence[str] | None = None):
    """The fusion strategy of ``task`` (None without a config); ``channels`` restricts it to some
    channels (weights of the others dropped, the rest renormalised)."""
    from scicmr.index.fusion import make_fusion

    if config is None or task not in config["tasks"]:
        return None
    entry = config["tasks"][task]
    weights = dict(entry["weights"])
    if channels is not None:
        unknown = set(channels) - set(config.get("channels", weights))
        if unknown:
            raise InputError(f"unknown channel(s) {', '.join(sorted(unknown))}",
                             fix=f"choose from: {', '.join(config.get('channels', weights))}")
        weights = {n: (w if n in channels else 0.0) for n, w in weights.items()}
        if not any(weights.values()):
            weights = {n: 1.0 for n in channels}
    return make_fusion(entry["kind"], weights)


_BANK_SIZE = 2000  # train queries enough to estimate a candidate's mean and spread


def query_bank(lib: Library) -> list[Record]:
    """The training pairs (a fixed sample of at most 2,000) whose captions and figure words
    serve as the bank of typical queries of the ``*_qb`` channels."""
    train = paired_records(lib, "train")
    if len(train) <= _BANK_SIZE:
        return train
    keep = np.random.default_rng(0).choice(len(train), _BANK_SIZE, replace=False)
    return [train[i] for i in sorted(keep)]


def _has_words(records: Sequence[Record]) -> bool:
    return any((r.text or r.title) for r in records)


def citing_queries(records: Sequence[Record]) -> tuple[list[str], np.ndarray]:
    """Library-search queries from body sentences: every sentence of a record's ``context`` that
    cites its figure number ("… as shown in Fig. 3 …") → (queries, (q,) record positions)."""
    queries, targets = [], []
    for position, record in enumerate(records):
        number = str(record.extra.get("figure") or "")
        for sentence in split_sentences(citing_sentences(record)):
            if len(sentence.split()) >= 4 and (not number or number in cited_numbers(sentence)):
                queries.append(sentence)
                targets.append(position)
    return queries, np.asarray(targets, dtype=np.int64)


def search_channels(queries: Sequence[str], records: Sequence[Record], embedder: TextEmbedder | None,
                    cross_modal: np.ndarray | None, held_out: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Channels of text queries against ``records`` as library documents: (q, n) each
    (:class:`DocumentChannels`), plus ``cross_modal`` ((q, n) shared-space cosines, or None)."""
    channels = DocumentChannels(records, embedder).scores(queries, held_out)
    if cross_modal is not None:
        channels["cross_modal"] = cross_modal
    return channels


def _choose(channels: dict[str, np.ndarray], positive: np.ndarray) -> dict[str, Any]:
    """Fit both strategies on validation; keep the better (ties: linear). Records every score."""
    from scicmr.evaluation.metrics import mrr
    from scicmr.index.fusion import fit_fusion, make_fusion

    if len(positive) < _MIN_VALIDATION:
        return {"kind": "linear", "weights": {n: 1.0 / len(channels) for n in channels},
                "validation": {"queries": int(len(positive)), "note": "too few validation queries: equal weights"}}
    alone = {n: mrr(make_fusion("linear", {n: 1.0}).combine(channels), positive) for n in channels}
    fitted = {kind: fit_fusion(channels, positive, kind) for kind in ("linear", "rrf")}
    kind = max(fitted, key=lambda k: (fitted[k][1], k == "linear"))
    return {"kind": kind, "weights": fitted[kind][0].weights,
            "validation": {"queries": int(len(positive)), "channel_mrr": alone,
                           "fused_mrr": {k: v[1] for k, v in fitted.items()}}}


def fit_hybrid(lib: Library, model: str, method: Any, feature_keys: dict[str, str],
               embedder: TextEmbedder | None = None) -> dict[str, Any] | None:
    """Choose the fusion of every task on the validation split and save it beside ``model``.

    Returns the saved config, or None when the library has no texts to fuse (a feature
    benchmark): the model then ranks alone.
    """
    from scicmr.workflow.index import shared_vectors

    records = paired_records(lib, "validation")
    if not _has_words(paired_records(lib, None)) or (lib.meta.get("encoders", {}).get("text") or {}).get(
            "name") == "precomputed":
        return None
    started = time.perf_counter()
    embedder = embedder or TextEmbedder(lib, dense_encoder_spec(lib, feature_keys["text"]))
    shared = shared_vectors(lib, model, [r.id for r in records], method=method, feature_keys=feature_keys) \
        if records else None
    tasks: dict[str, Any] = {}
    pairs = pair_channels(records, shared, embedder, bank=query_bank(lib)) if records else None
    positive = np.arange(len(records), dtype=np.int64)
    for task in ("t2i", "i2t"):
        channels = getattr(pairs, task) if pairs else {"cross_modal": np.zeros((0, 0), np.float32)}
        tasks[task] = _choose(channels, positive if pairs else positive[:0])
    queries, targets = citing_queries(records)
    if len(queries):
        from scicmr.workflow.search import model_query_encoder

        encoder = model_query_encoder(lib, "text", feature_keys["text"])
        text_vectors = method.transform_text(encoder.encode(queries, batch_size=32))
        channels = search_channels(queries, records, embedder, cosine(text_vectors, shared["image"]), targets)
        tasks["search"] = _choose(channels, targets)
    else:
        tasks["search"] = {"kind": "linear", "weights": {"lexical": 0.4, "dense": 0.3, "context": 0.1,
                                                         "cross_modal": 0.2},
                           "validation": {"queries": 0, "note": "no citing sentences in validation: default weights"}}
    config = {"model": model, "tasks": tasks, "dense_encoder": embedder.spec,
              "channels": sorted({n for t in tasks.values() for n in t["weights"]}),
              "validation_pairs": len(records), "seconds": round(time.perf_counter() - started, 3)}
    atomic_write_json(lib.model_dir(model) / HYBRID_FILE, config)
    return config


class DocumentChannels:
    """The text channels of a person's query against a fixed list of records (a snapshot's
    rows), built once and reused by every query:

    - ``lexical``: BM25 over each figure's title, caption and printed words;
    - ``dense``: sentence-embedding cosine over the same document;
    - ``context``: BM25 over the body sentences citing the figure;
    - ``paper``: the best ``context`` score among the figures of the same paper (group) — a
      body sentence shares the words of its paper's other citing sentences, so this finds the
      paper, and the document channels then find the figure within it.
    """

    def __init__(self, records: Sequence[Record], embedder: TextEmbedder | None):
        from scicmr.index.lexical import LexicalIndex

        self.ids = tuple(r.id for r in records)
        docs = [document(r) for r in records]
        self.lexical = LexicalIndex().fit(docs)
        contexts = [citing_sentences(r) for r in records]
        self.context = LexicalIndex().fit(contexts) if any(c.strip() for c in contexts) else None
        _, self.groups = np.unique([r.group_key for r in records], return_inverse=True)
        self.embedder = embedder
        self.dense = embedder.embed(docs, list(self.ids), "document") if embedder is not None and docs else None

    def scores(self, queries: Sequence[str], held_out: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """name → (q, n) scores of ``queries`` against the records. ``held_out``: (q,) record
        position per query whose citing sentences must not count (the query is one of them,
        an evaluation): its ``context`` score is 0, as if it had none, in ``paper`` too."""
        out = {"lexical": self.lexical.scores(queries)}
        if self.context is not None:
            context = self.context.scores(queries)
            if held_out is not None:
                context[np.arange(len(queries)), held_out] = 0.0
            out["context"] = context
            out["paper"] = _group_max(context, self.groups)
        if self.dense is not None:
            out["dense"] = cosine(self.embedder.embed(list(queries)), self.dense)
        return out


def _group_max(scores: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """(q, n) scores → each column replaced by the maximum over its group's columns."""
    best = np.full((scores.shape[0], int(groups.max()) + 1 if groups.size else 0), -np.inf, dtype=np.float32)
    np.maximum.at(best.T, groups, scores.T)
    return best[:, groups]


class CaptionChannels:
    """The text channels of an image query against the records' captions (the ``i2t`` task):
    the words printed in the query image (OCR) against each caption, BM25 and dense, each also
    normalised against a bank of training figures' words, as the pair protocol fitted them."""

    def __init__(self, records: Sequence[Record], embedder: TextEmbedder | None, bank: Sequence[Record]):
        from scicmr.index.lexical import LexicalIndex

        self.ids = tuple(r.id for r in records)
        captions = [text_side(r) for r in records]
        self.lexical = LexicalIndex().fit(captions)
        bank_words = [figure_side(r) for r in bank]
        self.lexical_bank = bank_statistics(self.lexical.scores(bank_words)) if bank else (None, None)
        self.embedder, self.dense, self.dense_bank = embedder, None, (None, None)
        if embedder is not None and captions:
            self.dense = embedder.embed(captions, list(self.ids), "caption")
            if bank:
                rows = embedder.embed([words_only(t) for t in bank_words], [r.id for r in bank], "figure")
                self.dense_bank = bank_statistics(rows @ self.dense.T)

    def scores(self, words: Sequence[str]) -> dict[str, np.ndarray]:
        """name → (q, n) scores of each query image's printed ``words`` ({} when none has any)."""
        if not any(w.strip() for w in words):
            return {}
        lexical = self.lexical.scores(words)
        out = {"lexical": lexical, "lexical_qb": normalised_by(lexical, *self.lexical_bank)}
        if self.dense is not None:
            dense = cosine(self.embedder.embed([words_only(w) for w in words]), self.dense)
            out["dense"], out["dense_qb"] = dense, normalised_by(dense, *self.dense_bank)
        return out


def printed_words(image: Any) -> str:
    """The words printed in a query image (Tesseract, English), "" when Tesseract is missing or
    cannot read it: the query is then ranked on its other channels."""
    from scicmr.corpus.ocr import OcrSettings, ocr_image, tesseract_path
    from scicmr.errors import ScicmrError

    if tesseract_path() is None:
        return ""
    try:
        return ocr_image(image, OcrSettings(lang="eng"))
    except (ScicmrError, RuntimeError, OSError):
        return ""


def explain(parts: dict[str, np.ndarray], channels: dict[str, np.ndarray], row: int, column: int) -> dict[str, Any]:
    """One hit's score by channel: the channel's own score and its share of the fused score."""
    out = {}
    for name in channels:
        score = float(channels[name][row, column])
        out[name] = {"score": round(score, 6) if np.isfinite(score) else None,  # None: nothing to say
                     "contribution": round(float(parts[name][row, column]) if name in parts else 0.0, 6)}
    return out
