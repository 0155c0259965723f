"""The serving engine: the workflow's :class:`~scicmr.workflow.Searcher` behind a write lock.

The searcher ranks an immutable :class:`~scicmr.workflow.snapshot.Snapshot` of the library.
Writers build a new snapshot off to the side and :meth:`SearchEngine.swap` it in while holding
:attr:`SearchEngine.write_lock` (copy-on-write), so a query in flight keeps the snapshot it
started with and never sees a half-updated index; reads never wait for the lock.
"""

from __future__ import annotations

import threading
from typing import Any

from scicmr.corpus.library import Library
from scicmr.workflow.search import Page, Searcher
from scicmr.workflow.snapshot import Filters, Snapshot


class SearchEngine:
    """Encodes queries with the library's trained model and answers them from the current
    snapshot (loaded now, not by the first query). Writers call :meth:`swap` with a new
    snapshot while holding :attr:`write_lock`.
    """

    def __init__(self, lib: Library, model: str | None = None, rerank: int | None = None,
                 backend: str | None = None):
        self.lib = lib
        self.searcher = Searcher(lib, model, rerank, backend)
        self.model_name = self.searcher.model_name
        self.rerank = rerank
        self.write_lock = threading.Lock()
        self.query_modalities: dict[str, str | None] = {}
        self._table_stamp: tuple | None = None
        self.searcher.use(self.searcher.load_snapshot())

    def warm_up(self) -> None:
        """Load both query encoders now and note the modalities that cannot be queried (see
        :meth:`~scicmr.workflow.Searcher.warm_up`)."""
        self.query_modalities = self.searcher.warm_up()

    def can_query(self, modality: str) -> bool:
        if modality not in self.query_modalities:
            self.warm_up()
        return self.query_modalities.get(modality) is None

    @property
    def snapshot(self) -> Snapshot:
        return self.searcher.snapshot  # one attribute read: readers never see a half-swapped state

    def swap(self, snapshot: Snapshot) -> None:
        if not self.write_lock.locked():
            raise RuntimeError("swap() must be called while holding write_lock")
        self.searcher.use(snapshot)

    def catch_up(self) -> bool:
        """Take in rows other service processes wrote (cheap when nothing changed: one stat).
        Callers that write hold :attr:`write_lock`; readers call :meth:`maybe_catch_up`."""
        from scicmr.workflow.serving import serving_dir

        try:
            stamp = (serving_dir(self.lib, self.model_name) / "table.json").stat()
        except OSError:
            return False
        key = (stamp.st_ino, stamp.st_mtime_ns, stamp.st_size)
        if key == self._table_stamp:
            return False
        caught = self.searcher.catch_up()
        self._table_stamp = key  # only once caught up: a failed catch-up is tried again next time
        return caught

    def maybe_catch_up(self) -> None:
        """Catch up unless a writer is busy (it catches up itself); never blocks a query."""
        if self.write_lock.acquire(blocking=False):
            try:
                self.catch_up()
            finally:
                self.write_lock.release()

    def current(self) -> Snapshot:
        """The snapshot a reader should see: caught up with other processes' writes first
        (facets, record details, health and metrics agree with search)."""
        self.maybe_catch_up()
        return self.snapshot

    def search(self, modality: str, item: Any, target: str, k: int, offset: int = 0,
               filters: Filters | None = None) -> Page:
        """Encode one query (text or PIL image) and rank ``target`` candidates: one page."""
        self.maybe_catch_up()
        return self.searcher.search(modality, item, target, k, offset, filters)
