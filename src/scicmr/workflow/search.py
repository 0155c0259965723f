"""Search a library: one :class:`Searcher` for every query kind, one :class:`Hit` type.

- text, image or record queries against image or text candidates, through the trained
  cross-modal model and ranked by :mod:`scicmr.workflow.snapshot` (filters included);
- a photo of a figure → the library figure it shows (:mod:`scicmr.workflow.match`);
- an image → the library images nearest by ADHN codes (:mod:`scicmr.workflow.image_hashing`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.errors import InputError, LibraryError
from scicmr.methods import load_method
from scicmr.workflow.hits import Hit, Page, hits_from_ranking
from scicmr.workflow.index import project, shared_vectors
from scicmr.workflow.library_data import MODALITIES, as_library, paired_records, resolve_model_name, training_info
from scicmr.workflow.snapshot import Filters, Snapshot, caught_up, table_snapshot

__all__ = ["MAX_K", "Hit", "Page", "Searcher", "model_query_encoder"]

MAX_K = 1000
_log = logging.getLogger(__name__)
# Libraries with at least this many rows rebuild their hybrid text channels after an add in the
# background (a rebuild reads every record); smaller ones rebuild at once.
_SYNC_CHANNEL_ROWS = 50_000


class PaddedChannels:
    """Text channels built for the first rows of a snapshot, answering for all ``n`` of its
    rows: the rows added since get NaN (unknown) in every text channel."""

    def __init__(self, base: Any, n: int):
        self.base, self.n = base, n
        self.ids = base.ids

    def scores(self, *args: Any, **kwargs: Any) -> dict[str, np.ndarray]:
        out = {}
        for name, scores in self.base.scores(*args, **kwargs).items():
            padded = np.full((scores.shape[0], self.n), np.nan, dtype=np.float32)
            padded[:, : scores.shape[1]] = scores
            out[name] = padded
        return out
_BATCH = {"text": 32, "image": 16}  # query encoding batch sizes


def model_query_encoder(lib: Library, modality: str, feature_key: str | None = None):
    """The fitted encoder that produced the ``feature_key`` features, for new queries.

    A model must be queried with the encoders it was trained on (its training.json names
    their feature keys), not with whatever the library was re-encoded with since. ``None``
    (a model that names no features) falls back to the library's current encoder.
    """
    from scicmr.encoders import load_encoder
    from scicmr.workflow.encode import encoder_dir, load_query_encoder

    current = (lib.meta.get("encoders", {}).get(modality) or {}).get("key")
    if feature_key is None or feature_key == current:
        return load_query_encoder(lib, modality)  # also explains precomputed benchmark features
    if (encoder_dir(lib, feature_key) / "config.json").exists():
        return load_encoder(encoder_dir(lib, feature_key))
    raise LibraryError(
        f"{lib.root}: the encoder of the {modality} features {feature_key!r} this model was trained on is not "
        f"in the library (the library now uses {current!r})",
        fix="query with an existing record (`scicmr search LIB --query-id ID`) or retrain the model",
    )


def _check_target(target: str, what: str = "target") -> None:
    if target not in MODALITIES:
        raise InputError(f"unknown {what} {target!r}", fix="use image or text")


def _check_k(k: int) -> int:
    if not 1 <= int(k) <= MAX_K:
        raise InputError(f"k must be between 1 and {MAX_K}, got {k}", fix="pass e.g. -k 10")
    return int(k)


class Searcher:
    """Query a library through a trained model, and by image alone.

    Nothing heavy loads before a query needs it, and then once: the cross-modal model, its
    query encoders and the index snapshot of the library's paired records for text, image and
    record queries; the image matcher for :meth:`search_similar_images`; an ADHN model and its
    code index for :meth:`search_images_by_codes` (these two need no cross-modal model). Each
    ``search_*`` call is then one encode + one ranking + one read of the hits' records.

    The ranking is the snapshot's (:mod:`scicmr.workflow.snapshot`): the library's built index
    when it is current (``scicmr index``), else exact search. With a Hamming index (``scicmr
    index LIB --codes``) queries are hashed and ranked by Hamming distance; ``rerank=m``
    re-ranks a Hamming shortlist of m by exact cosine on relaxed vectors.

    Args:
        lib: the library (or its folder).
        model: the cross-modal model; None: the library's default. A named model that is not
            trained fails here, the default only at the first query that needs it.
        rerank: Hamming shortlist size for a hashing model's code index.
        backend: ``"milvus"``: rank with the library's Milvus index of the model (it must be
            built: ``scicmr index LIB --backend milvus``); ``"faiss"``: in-process indexes
            only; None: the library's built index, whichever backend (see
            :mod:`scicmr.workflow.backends`).
    """

    def __init__(self, lib: Library | str | Path, model: str | None = None, rerank: int | None = None,
                 backend: str | None = None):
        from scicmr.workflow.backends import check_backend

        self.lib = as_library(lib)
        self.rerank = rerank
        self.backend = check_backend(backend)
        self._model = model
        self._encoders: dict[str, Any] = {}
        self._snapshot: Snapshot | None = None
        self._matchers: dict[str | None, Any] = {}  # image matchers by encoder spec
        self._code_searches: dict[tuple[str, int | None], Any] = {}
        self._channels: dict[str, Any] = {}  # hybrid text channels of the current snapshot, by kind
        self._channels_lock = threading.Lock()
        self._rebuilding: set[str] = set()  # kinds whose channels are being rebuilt in the background
        self._channel_builds: list[threading.Thread] = []
        self._temporary: Any = None  # tempfile.TemporaryDirectory of the serving table of a read-only library
        if model is not None:
            resolve_model_name(self.lib, model)  # a wrong name is a clear error now, not at the first query

    @cached_property
    def model_name(self) -> str:
        """The cross-modal model queried (the library's default when none was named)."""
        return resolve_model_name(self.lib, self._model)

    @cached_property
    def method(self):
        """The fitted cross-modal method (``transform_image`` / ``transform_text``)."""
        return load_method(self.lib.model_dir(self.model_name))

    @cached_property
    def features(self) -> dict[str, str]:
        """The feature keys the model was trained on, per modality (its training.json)."""
        return training_info(self.lib, self.model_name)["features"]

    # ------------------------------------------------------------------ encoding
    def query_encoder(self, modality: str):
        """The encoder of the model's ``modality`` features (loaded once)."""
        if modality not in self._encoders:
            self._encoders[modality] = model_query_encoder(self.lib, modality, self.features.get(modality))
        return self._encoders[modality]

    def encode(self, modality: str, items: list[Any], batch_size: int = 32) -> np.ndarray:
        """(m,) texts or images (paths or PIL) → (m, d) raw features of the model's encoder."""
        return self.query_encoder(modality).encode(items, batch_size=batch_size)

    def transform(self, features: dict[str, np.ndarray], records: Sequence[Record]) -> dict[str, np.ndarray]:
        """Raw (m, d) features of ``records`` per modality → (m, k) shared-space vectors."""
        return project(self.method, features, records)

    def embed_text(self, queries: list[str]) -> np.ndarray:
        """(q,) strings → (q, k) shared-space vectors."""
        for query in queries:
            if not isinstance(query, str) or not query.strip():
                raise InputError("empty text query", fix="type some words to search for")
        return self.method.transform_text(self.encode("text", queries, _BATCH["text"]))

    def embed_image(self, images: list[Any]) -> np.ndarray:
        """(q,) image paths or PIL images → (q, k) shared-space vectors."""
        return self.method.transform_image(self.encode("image", images, _BATCH["image"]))

    def embed(self, modality: str, items: list[Any]) -> np.ndarray:
        """(q,) texts (``modality`` "text") or images → (q, k) shared-space vectors."""
        return self.embed_text(items) if modality == "text" else self.embed_image(items)

    def embed_record(self, record_id: str, modality: str) -> np.ndarray:
        """The shared-space vector of an existing record's ``modality`` (1, k), from its stored
        features through the loaded model (works on feature benchmarks)."""
        _check_target(modality, "query modality")
        record = self.lib.get(record_id)
        return shared_vectors(self.lib, self.model_name, [record.id], method=self.method,
                              feature_keys=self.features, modalities=(modality,))[modality]

    def warm_up(self) -> dict[str, str | None]:
        """Load both query encoders and run a probe through each now, so the first query does
        not pay for loading weights. Returns modality → None, or why it cannot be queried (a
        benchmark library of precomputed features has no encoder)."""
        from PIL import Image

        probes = {"text": "warm up", "image": Image.new("RGB", (64, 64), "white")}
        problems: dict[str, str | None] = {}
        for modality in MODALITIES:
            try:
                self.embed(modality, [probes[modality]])
                problems[modality] = None
            except (InputError, LibraryError) as exc:
                problems[modality] = exc.problem
        return problems

    # ------------------------------------------------------------------ the snapshot
    @property
    def snapshot(self) -> Snapshot:
        """The ranked rows: loaded from the library on first use, or the last one :meth:`use`d."""
        if self._snapshot is None:
            self._snapshot = self.load_snapshot()
        return self._snapshot

    def use(self, snapshot: Snapshot) -> None:
        """Rank ``snapshot`` from now on (a copy-on-write update: queries in flight keep the one
        they started with). Callers serialise writers themselves."""
        self._snapshot = snapshot

    def load_snapshot(self) -> Snapshot:
        """A fresh snapshot of the library's paired records under this model: the model's
        serving table memory-mapped when it is current (:mod:`scicmr.workflow.serving`), else
        projected from the stored features and stored for the next start."""
        from scicmr.corpus.table import DamagedTableError
        from scicmr.workflow import serving
        from scicmr.workflow.index import model_version

        version = model_version(self.lib, self.model_name)
        table = serving.current_table(self.lib, self.model_name, version)
        try:
            return self._table_snapshot(table or self._rebuild_table(version), version)
        except DamagedTableError as exc:
            if table is None:  # the table was just rebuilt: the damage is elsewhere
                raise
            # A damaged chunk must not stop a start: the table is derived data, rebuild it.
            _log.warning("%s; rebuilding the serving table from the stored features", exc.problem)
            return self._table_snapshot(self._rebuild_table(version), version)

    def _table_snapshot(self, table, version: str) -> Snapshot:
        if self.backend is not None:
            from scicmr.workflow.backends import backend_snapshot

            return backend_snapshot(self.lib, self.model_name, table, self.rerank, self.backend, version)
        return table_snapshot(self.lib, self.model_name, table, self.rerank, version)

    def _rebuild_table(self, version: str):
        from scicmr.workflow import serving

        generation = self.lib.records_generation()  # before reading: a write meanwhile leaves it stale, not wrong
        records = paired_records(self.lib, None)
        if records:
            vectors = shared_vectors(self.lib, self.model_name, [r.id for r in records], method=self.method,
                                     feature_keys=self.features)
        else:
            vectors = self._empty_vectors()
        try:
            return serving.write_table(self.lib, self.model_name, version, records, vectors, generation)
        except OSError as exc:  # a read-only library still searches: keep the table in a temporary folder
            import tempfile

            # str(exc): a kept log record must not hold the traceback (and through it this searcher)
            _log.warning("cannot store the serving table in %s (%s); using a temporary copy", self.lib.root, str(exc))
            if self._temporary is None:  # one per searcher, removed with it (or by close()); a rebuild replaces the table in it
                self._temporary = tempfile.TemporaryDirectory(prefix="scicmr-serving-", ignore_cleanup_errors=True)
            folder = Path(self._temporary.name) / serving.SERVING
            return serving.write_table(self.lib, self.model_name, version, records, vectors, generation, folder=folder)

    def close(self) -> None:
        """Remove the temporary copy of the serving table a read-only library made this
        searcher keep (it also goes when the searcher is garbage-collected). Snapshots already
        read keep working (their rows are memory-mapped); a later load writes a new copy."""
        temporary, self._temporary = self._temporary, None
        if temporary is not None:
            temporary.cleanup()

    def catch_up(self) -> bool:
        """Take in what another process wrote to this model's serving table since the current
        snapshot was read (service workers: one writes, every one reads): appended rows join as
        an exact delta, deleted ones die; a compaction or retrain reloads the snapshot. Returns
        whether the snapshot changed."""
        from scicmr.corpus.table import ChunkedTable
        from scicmr.workflow import serving

        snapshot = self.snapshot
        try:
            table = ChunkedTable.open(serving.serving_dir(self.lib, self.model_name))
        except LibraryError:
            return False
        if snapshot.source is None or (table.generation, table.compactions) == snapshot.source:
            return False
        if (table.compactions != snapshot.source[1] or snapshot.index_kind.startswith("hamming")
                or table.meta.get("model_version") != snapshot.model_version):
            self.use(self.load_snapshot())
        else:
            self.use(caught_up(snapshot, table))
        return True

    def _empty_vectors(self) -> dict[str, np.ndarray]:
        try:  # the dimension of the shared space, for an empty library that grows later
            dim = int(self.embed_text(["probe"]).shape[1])
        except (InputError, LibraryError):
            dim = 1
        return {m: np.zeros((0, dim), dtype=np.float32) for m in MODALITIES}

    def _exact_index(self, modality: str):
        """(exact cosine index, ids) over every pair, from the stored features: the slow
        reference the snapshot's built indexes are tested against."""
        from scicmr.index import create_index

        ids = [r.id for r in paired_records(self.lib, None)]
        vectors = shared_vectors(self.lib, self.model_name, ids, method=self.method, feature_keys=self.features,
                                 modalities=(modality,))[modality]
        index = create_index("exact", vectors.shape[1])
        index.add(vectors, np.arange(len(ids), dtype=np.int64))
        return index, ids

    # ------------------------------------------------------------------ ranking
    def lookup(self, vectors: np.ndarray, target: str, k: int) -> list[list[Hit]]:
        """Top-``k`` hits among ``target`` candidates for each row of (q, k) ``vectors``."""
        _check_target(target)
        k = _check_k(k)
        snapshot = self.snapshot  # read once: a concurrent update does not mix two snapshots
        scores, positions, _ = snapshot.top(vectors, target, k)
        return hits_from_ranking(self.lib, snapshot.ids, scores, positions, target)

    def rank(self, vector: np.ndarray, target: str, k: int, offset: int = 0, filters: Filters | None = None) -> Page:
        """Hits ``offset + 1 .. offset + k`` among ``target`` candidates for one (1, k) query
        vector, restricted by ``filters``."""
        _check_target(target)
        if int(k) < 1 or int(offset) < 0:
            raise InputError(f"k must be >= 1 and offset >= 0, got k={k}, offset={offset}")
        snapshot = self.snapshot
        scores, positions, total = snapshot.top(vector, target, int(offset) + int(k), filters or Filters())
        hits = hits_from_ranking(self.lib, snapshot.ids, scores[:, offset:], positions[:, offset:], target, offset)
        return Page(hits[0], total, snapshot.version)

    def search(self, modality: str, item: Any, target: str, k: int = 10, offset: int = 0,
               filters: Filters | None = None, channels: Sequence[str] | None = None) -> Page:
        """Encode one text or image (``modality``) and rank ``target`` candidates: one page.

        A text query of a model with a fitted fusion is ranked by the hybrid ranker
        (:mod:`scicmr.workflow.hybrid`): BM25 over each figure's title, caption and printed
        words and over its citing sentences, dense text similarity and the cross-modal score,
        fused with the weights chosen on validation; each hit's ``details["channels"]`` explain
        its score. ``channels`` keeps only some of them (``["cross_modal"]``: the model alone).
        """
        _check_target(modality, "query modality")
        _check_target(target)
        hybrid = self.fusion is not None and list(channels or []) != ["cross_modal"]
        if hybrid and modality == "text":
            return self._hybrid_page(item, target, k, offset, filters or Filters(), channels)
        if hybrid and target == "text":
            return self._hybrid_image_page(item, k, offset, filters or Filters(), channels)
        return self.rank(self.embed(modality, [item]), target, k, offset, filters)

    @cached_property
    def fusion(self) -> dict[str, Any] | None:
        """The model's fitted fusion (hybrid.json), or None: the model ranks alone."""
        from scicmr.workflow.hybrid import hybrid_config

        return hybrid_config(self.lib, self.model_name)

    def _text_channels(self, snapshot: Snapshot, kind: str):
        """The hybrid text channels of ``kind`` over ``snapshot``'s rows, built once per snapshot
        (``documents``: a text query against title, caption, printed words and citing
        sentences; ``captions``: an image query's printed words against each caption).

        Deleted rows keep their positions, so a delete reuses the channels. Rows added since the
        channels were built are scored on the cross-modal channel alone (their text channels
        are unknown: NaN, which the fusion renormalises) while new channels are built in the
        background — in a large library (``_SYNC_CHANNEL_ROWS``), where a rebuild takes long;
        a small one rebuilds at once."""
        with self._channels_lock:  # concurrent queries of a new snapshot build it once
            built_for, cached = self._channels.get(kind, (None, None))
            if built_for is snapshot:
                return cached
            base = getattr(cached, "base", cached)
            ids = tuple(snapshot.ids)
            if base is not None and tuple(base.ids) == ids:
                cached = base
            elif base is not None and len(ids) >= _SYNC_CHANNEL_ROWS and ids[: len(base.ids)] == tuple(base.ids):
                cached = PaddedChannels(base, len(ids))
                self._rebuild_channels_later(snapshot, kind)
            else:
                cached = self._build_channels(snapshot, kind)
            self._channels[kind] = (snapshot, cached)
        return cached

    def _build_channels(self, snapshot: Snapshot, kind: str):
        from scicmr.workflow.channels import TextEmbedder
        from scicmr.workflow.hybrid import CaptionChannels, DocumentChannels, query_bank

        by_id = {r.id: r for r in self.lib.get_many(list(snapshot.ids), skip_missing=True)}
        rows = [by_id.get(i) or Record(id=i) for i in snapshot.ids]  # a row deleted meanwhile matches nothing
        embedder = TextEmbedder(self.lib, self.fusion.get("dense_encoder"))
        return (DocumentChannels(rows, embedder) if kind == "documents"
                else CaptionChannels(rows, embedder, query_bank(self.lib)))

    def _rebuild_channels_later(self, snapshot: Snapshot, kind: str) -> None:
        """Build ``kind`` channels for ``snapshot`` in a thread; they replace the padded ones
        unless a newer build got there first. One build per kind at a time."""
        if kind in self._rebuilding:
            return
        self._rebuilding.add(kind)

        def build() -> None:
            try:
                built = self._build_channels(snapshot, kind)
                with self._channels_lock:
                    current = getattr(self._channels.get(kind, (None, None))[1], "base", None)
                    if current is None or len(current.ids) < len(built.ids):
                        self._channels[kind] = (snapshot, built)
            except Exception:  # noqa: BLE001 -- queries go on with the padded channels; the next write retries
                _log.exception("rebuilding the %s text channels failed", kind)
            finally:
                self._rebuilding.discard(kind)

        thread = threading.Thread(target=build, name=f"scicmr-{kind}-channels", daemon=True)
        self._channel_builds.append(thread)
        thread.start()

    def _hybrid_image_page(self, image: Any, k: int, offset: int, filters: Filters,
                           channels: Sequence[str] | None) -> Page:
        """An image → captions through the ``i2t`` fusion: the words printed in the image (OCR)
        against each caption, and the cross-modal score."""
        from scicmr.corpus.images import load_image
        from scicmr.workflow.hybrid import printed_words

        query = load_image(image)
        vector = self.embed_image([query])
        snapshot = self.snapshot
        scores = self._text_channels(snapshot, "captions").scores([printed_words(query)])
        return self._fused_page(snapshot, scores, vector, "text", "i2t", k, offset, filters, channels)

    def _hybrid_page(self, query: str, target: str, k: int, offset: int, filters: Filters,
                     channels: Sequence[str] | None) -> Page:
        vector = self.embed_text([query])
        snapshot = self.snapshot
        scores = self._text_channels(snapshot, "documents").scores([query])
        return self._fused_page(snapshot, scores, vector, target, "search", k, offset, filters, channels)

    def _fused_page(self, snapshot: Snapshot, scores: dict, vector: np.ndarray, target: str, task: str, k: int,
                    offset: int, filters: Filters, channels: Sequence[str] | None) -> Page:
        """Add the cross-modal channel to ``scores`` ((1, n) each), fuse them with ``task``'s
        weights and page the ranking; each hit explains its score."""
        from scicmr.workflow.hybrid import explain, fusion_for

        k = _check_k(k)
        if int(offset) < 0:
            raise InputError(f"offset must be >= 0, got {offset}")
        scores["cross_modal"] = (snapshot.vectors[target] @ (vector / max(np.linalg.norm(vector), 1e-12)).T).T
        fusion = fusion_for(self.fusion, task, channels)  # weighted channels a query lacks are skipped
        parts = fusion.parts(scores)
        fused = fusion.combine(scores)[0]
        mask = snapshot.mask(filters)
        rows = np.flatnonzero(snapshot.live if mask is None else mask)  # dead (deleted) rows never rank
        order = rows[np.argsort(-fused[rows], kind="stable")][offset:offset + int(k)]
        hits = hits_from_ranking(self.lib, snapshot.ids, fused[order][None, :], order[None, :], target, offset)[0]
        for hit, position in zip(hits, order[[h.rank - offset - 1 for h in hits]]):
            hit.details = {"ranker": f"hybrid ({fusion.kind})", "channels": explain(parts, scores, 0, int(position))}
        return Page(hits, int(rows.size), snapshot.version)

    # ------------------------------------------------------------------ convenience
    def search_text(self, query: str, k: int = 10, target: str = "image",
                    channels: Sequence[str] | None = None) -> list[Hit]:
        """Text → figures (target "image") or → texts (target "text"): :meth:`search`'s first page."""
        return self.search("text", query, target, k, channels=channels).hits

    def search_image(self, image: Any, k: int = 10, target: str = "text",
                     channels: Sequence[str] | None = None) -> list[Hit]:
        """Image (path or PIL) → captions (target "text": the hybrid ranker — the words printed
        in the image against each caption, and the cross-modal score) or → similar images
        (target "image", through the trained model): :meth:`search`'s first page."""
        return self.search("image", image, target, k, channels=channels).hits

    def search_record(self, record_id: str, k: int = 10, query_modality: str = "image", target: str = "text"):
        """Use an existing record's image or text as the query (works on feature benchmarks)."""
        return self.lookup(self.embed_record(record_id, query_modality), target, k)[0]

    def search_similar_images(self, image: Any, k: int = 10, *, encoder: str | dict | None = None,
                              rerank: bool = True) -> list[Hit]:
        """Image (path or PIL) → the library figure it shows and the most similar ones (mobile
        visual search: a photo of a printed figure finds the original). Uses the image matcher
        of :mod:`scicmr.workflow.match` (global features of the library's image encoder, or
        ``encoder``; local features verify and localise; ``rerank`` False gives the global
        ranking alone), not the cross-modal model; ``details`` hold ``global_score``,
        ``ncc``, ``inliers``, ``quad`` and ``rectified_ncc`` (see
        :func:`scicmr.workflow.match.similar_images`)."""
        import json

        from scicmr.workflow.match import image_matcher, similar_images

        key = encoder if encoder is None or isinstance(encoder, str) else json.dumps(encoder, sort_keys=True)
        if key not in self._matchers:
            self._matchers[key] = image_matcher(self.lib, encoder=encoder)
        return similar_images(self.lib, image, k, rerank=rerank, matcher=self._matchers[key])

    def search_images_by_codes(self, image: Any, k: int = 10, model: str = "adhn-32",
                               rerank: int | None = None) -> list[Hit]:
        """Image (path or PIL) → the library images whose codes under the ADHN model ``model``
        are nearest (``scicmr hash-images``), whatever this Searcher's model; ``details`` hold
        the Hamming ``distance``. See :class:`~scicmr.workflow.image_hashing.ImageCodeSearch`."""
        from scicmr.corpus.images import load_image
        from scicmr.workflow.image_hashing import ImageCodeSearch

        query = load_image(image)  # a clear error for a missing or non-image file, before the model loads
        if (model, rerank) not in self._code_searches:
            self._code_searches[(model, rerank)] = ImageCodeSearch(self.lib, model, rerank)
        return self._code_searches[(model, rerank)].search(query, k)
