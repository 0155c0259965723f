"""Search a library: text, image or record queries against image or text candidates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.errors import InputError
from scicmr.methods import load_method
from scicmr.workflow.library_data import MODALITIES, as_library, paired_records, resolve_model_name, training_info
from scicmr.workflow.encode import load_query_encoder
from scicmr.workflow.index import load_built_index, shared_vectors

MAX_K = 1000


@dataclass
class Hit:
    """One search result."""

    rank: int
    id: str
    score: float
    modality: str
    record: Record

    def to_dict(self, lib: Library | None = None) -> dict[str, Any]:
        r = self.record
        image = str(lib.image_path(r)) if (lib is not None and r.image) else r.image
        return {
            "rank": self.rank,
            "id": self.id,
            "score": round(self.score, 6),
            "modality": self.modality,
            "title": r.title,
            "text": r.text,
            "labels": r.labels,
            "authors": r.authors,
            "date": r.date,
            "image": image,
            "source": r.source.to_dict(),
        }


class Searcher:
    """Query a library through a trained model.

    Loads the model, the query encoders and the built indexes once; each ``search_*`` call is
    then one encode + one index lookup. Without a built index it falls back to exact search.
    With a Hamming index (``scicmr index LIB --codes``) queries are hashed and ranked by Hamming
    distance; ``rerank=m`` re-ranks a Hamming shortlist of m by exact cosine on relaxed vectors.
    """

    def __init__(self, lib: Library | str | Path, model: str | None = None, rerank: int | None = None):
        self.lib = as_library(lib)
        self.model_name = resolve_model_name(self.lib, model)
        self.method = load_method(self.lib.model_dir(self.model_name))
        self.features = training_info(self.lib, self.model_name)["features"]
        self._encoders: dict[str, Any] = {}
        self._indexes: dict[str, tuple[Any, list[str]]] = {}
        self.rerank = rerank

    # ------------------------------------------------------------------ encoding
    def _encoder(self, modality: str):
        if modality not in self._encoders:
            self._encoders[modality] = load_query_encoder(self.lib, modality)
        return self._encoders[modality]

    def embed_text(self, queries: list[str]) -> np.ndarray:
        """(q,) strings → (q, k) shared-space vectors."""
        for query in queries:
            if not isinstance(query, str) or not query.strip():
                raise InputError("empty text query", fix="type some words to search for")
        return self.method.transform_text(self._encoder("text").encode(queries, batch_size=32))

    def embed_image(self, images: list[Any]) -> np.ndarray:
        """(q,) image paths or PIL images → (q, k) shared-space vectors."""
        return self.method.transform_image(self._encoder("image").encode(images, batch_size=16))

    def embed_record(self, record_id: str, modality: str) -> np.ndarray:
        """The shared-space vector of an existing record's ``modality`` (1, k)."""
        record = self.lib.get(record_id)
        return shared_vectors(self.lib, self.model_name, [record.id])[modality]

    # ------------------------------------------------------------------ lookup
    def _index(self, modality: str):
        if modality not in self._indexes:
            kind = self.lib.meta.get("indexes", {}).get(self.model_name)
            built = load_built_index(self.lib, self.model_name, modality, kind, self.rerank) if kind else None
            if built is None:
                built = self._exact_index(modality)
            self._indexes[modality] = built
        return self._indexes[modality]

    def _exact_index(self, modality: str):
        from scicmr.index import create_index

        ids = [r.id for r in paired_records(self.lib, None)]
        vectors = shared_vectors(self.lib, self.model_name, ids)[modality]
        index = create_index("exact", vectors.shape[1])
        index.add(vectors, np.arange(len(ids), dtype=np.int64))
        return index, ids

    def lookup(self, vectors: np.ndarray, target: str, k: int) -> list[list[Hit]]:
        """Top-``k`` hits among ``target`` candidates for each row of ``vectors``."""
        if target not in MODALITIES:
            raise InputError(f"unknown target {target!r}", fix="use image or text")
        if not 1 <= int(k) <= MAX_K:
            raise InputError(f"k must be between 1 and {MAX_K}, got {k}", fix="pass e.g. -k 10")
        index, ids = self._index(target)
        scores, positions = index.search(np.asarray(vectors, dtype=np.float32), int(k))
        results = []
        for row_scores, row_positions in zip(scores, positions):
            hits = []
            for score, position in zip(row_scores, row_positions):
                if position < 0:
                    continue
                record = self.lib.get(ids[position])
                hits.append(Hit(len(hits) + 1, record.id, float(score), target, record))
            results.append(hits)
        return results

    # ------------------------------------------------------------------ convenience
    def search_text(self, query: str, k: int = 10, target: str = "image") -> list[Hit]:
        """Text → figures (target "image") or → texts (target "text")."""
        return self.lookup(self.embed_text([query]), target, k)[0]

    def search_image(self, image: Any, k: int = 10, target: str = "text") -> list[Hit]:
        """Image (path or PIL) → texts (target "text") or → similar images (target "image")."""
        return self.lookup(self.embed_image([image]), target, k)[0]

    def search_similar_images(self, image: Any, k: int = 10) -> list[Hit]:
        """Image (path or PIL) → the library figure it shows and the most similar ones (mobile
        visual search: a photo of a printed figure finds the original). Uses the image matcher
        of :mod:`scicmr.workflow.match`, not the trained cross-modal model."""
        from scicmr.workflow.match import image_matcher, match_image

        if getattr(self, "_matcher", None) is None:
            self._matcher = image_matcher(self.lib)
        return [Hit(m.rank, m.id, m.score, "image", r) for m, r in match_image(self.lib, image, k, matcher=self._matcher)]

    def search_record(self, record_id: str, k: int = 10, query_modality: str = "image", target: str = "text"):
        """Use an existing record's image or text as the query (works on feature benchmarks)."""
        return self.lookup(self.embed_record(record_id, query_modality), target, k)[0]
