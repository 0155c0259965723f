"""The serving engine: the library's trained model behind a swappable, immutable
:class:`~scicmr.workflow.snapshot.Snapshot` of the searchable records.

Writers build a new snapshot off to the side and swap the engine's reference under a lock
(copy-on-write), so a query in flight keeps the snapshot it started with and never sees a
half-updated index.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from scicmr.corpus.library import Library
from scicmr.errors import InputError, LibraryError
from scicmr.workflow.library_data import MODALITIES
from scicmr.workflow.snapshot import Filters, Snapshot, build_snapshot, extended, library_snapshot, without

# The snapshot's public pieces, for callers that used to find them here.
__all__ = ["Filters", "SearchEngine", "Snapshot", "build_snapshot", "extended", "without"]


class SearchEngine:
    """Encodes queries with the library's trained model and answers them from the current
    snapshot. Writers call :meth:`swap` with a new snapshot while holding :attr:`write_lock`.
    """

    def __init__(self, lib: Library, model: str | None = None, rerank: int | None = None):
        from scicmr.workflow.search import Searcher

        self.lib = lib
        self.searcher = Searcher(lib, model)
        self.model_name = self.searcher.model_name
        self.rerank = rerank
        self.write_lock = threading.Lock()
        self.query_modalities: dict[str, str | None] = {}
        self._snapshot = self._load_snapshot()

    # ------------------------------------------------------------------ loading
    def _load_snapshot(self) -> Snapshot:
        from scicmr.workflow.library_data import paired_records
        from scicmr.workflow.index import shared_vectors

        records = paired_records(self.lib, None)
        ids = [r.id for r in records]
        vectors = shared_vectors(self.lib, self.model_name, ids) if ids else self._empty_vectors()
        return library_snapshot(self.lib, self.model_name, records, vectors, self.rerank)

    def _empty_vectors(self) -> dict[str, np.ndarray]:
        dim = int(self.embed("text", ["probe"]).shape[1]) if self.can_query("text") else 1
        return {m: np.zeros((0, dim), dtype=np.float32) for m in MODALITIES}

    def warm_up(self) -> None:
        """Load both query encoders and run one probe query through each now, so the first
        request does not pay for loading weights; note the modalities that cannot be queried
        (a benchmark library of precomputed features has no encoder)."""
        from PIL import Image

        probes = {"text": "warm up", "image": Image.new("RGB", (64, 64), "white")}
        for modality in MODALITIES:
            try:
                self.embed(modality, [probes[modality]])
                self.query_modalities[modality] = None
            except (InputError, LibraryError) as exc:
                self.query_modalities[modality] = exc.problem

    def can_query(self, modality: str) -> bool:
        if modality not in self.query_modalities:
            self.warm_up()
        return self.query_modalities.get(modality) is None

    # ------------------------------------------------------------------ queries
    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot  # one attribute read: readers never see a half-swapped state

    def swap(self, snapshot: Snapshot) -> None:
        if not self.write_lock.locked():
            raise RuntimeError("swap() must be called while holding write_lock")
        self._snapshot = snapshot

    def encode_raw(self, modality: str, items: list[Any]) -> np.ndarray:
        """(m,) texts or image paths → (m, d) features of the library's own encoder."""
        return self.searcher.encode(modality, items)

    def embed(self, modality: str, items: list[Any]) -> np.ndarray:
        """(q,) texts or PIL images → (q, k) shared-space vectors."""
        if modality == "text":
            return self.searcher.embed_text(items)
        return self.searcher.embed_image(items)

    def search(self, modality: str, item: Any, target: str, k: int, offset: int = 0,
               filters: Filters = Filters()) -> tuple[Snapshot, list[tuple[int, float]], int]:
        """Encode one query and rank ``target`` candidates; returns the snapshot used too."""
        if target not in MODALITIES:
            raise InputError(f"unknown target {target!r}", fix="use target=image or target=text")
        snapshot = self.snapshot
        vector = self.embed(modality, [item])
        hits, total = snapshot.rank(vector, target, k, offset, filters)
        return snapshot, hits, total
