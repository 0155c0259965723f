"""Adding and deleting records while the service runs.

Adding: the uploaded rows and images (or PDF papers, read by :mod:`scicmr.corpus.pdf` into
one record per captioned figure) are validated in a staging folder inside the library
(nothing else touched), encoded with the library's fitted encoders and projected by the
trained model; then, in this order, the feature caches are extended (new rows appended: the
old rows stay readable whatever happens next), the images are moved into ``images/added/`` (PDFs
into ``pdfs/``, where the detail view renders their pages) and the records are inserted in one
SQLite transaction — the commit point. Only then are the new rows appended to the model's
serving table (:func:`scicmr.workflow.serving.publish_added`: what other service processes and
the next start read) and a new snapshot, the old one plus an exact delta, swapped in under the
engine's write lock, so queries in flight finish on the old snapshot. A delete commits, then
tombstones its serving row (its feature rows go at ``scicmr compact``).

A failure before the commit point leaves the library as it was (stray appended feature rows
are never read, moved images are removed); a failure while updating the serving table is
harmless too: the table is then stale by the records' change counter and rebuilt from the
stored features at the next start. Writes are serialised by the engine's lock and, across
processes (``serve --workers N``), by the library's writer lock; reads never wait for either.

A library served from a Milvus index (``--backend milvus``) refuses writes with 409: the
copy-on-write snapshots cannot keep a Milvus collection in step (its rows would be renumbered
on every delete), so records are added offline and the index rebuilt.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from scicmr._faults import crash_point
from scicmr.corpus.record import Record
from scicmr.service.deps import AppState
from scicmr.service.engine import SearchEngine
from scicmr.service.problems import ApiError
from scicmr.service.uploads import check_stored_image
from scicmr.service.views import fetch_records
from scicmr.workflow.backends import served_by_external_index
from scicmr.workflow.encode import record_text
from scicmr.workflow.library_data import MODALITIES
from scicmr.workflow.serving import publish_added, publish_deleted
from scicmr.workflow.snapshot import Snapshot, save_indexes

log = logging.getLogger("scicmr.service")
# Row fields that could make the reader open files on the server are refused.
_PATH_FIELDS = ("images",)
# Fields the server decides: new records join no split (evaluation never sees them).
_SERVER_FIELDS = ("split",)


def parse_rows(text: str, limit: int) -> list[dict[str, Any]]:
    """The ``records`` form field: a JSON object or a list of objects (manifest fields)."""
    try:
        rows = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, f"records is not valid JSON: {exc}",
                       fix='send a list like [{"id": "p1-fig1", "title": ..., "caption": ..., "image": "fig1.png"}]') from None
    rows = [rows] if isinstance(rows, dict) else rows
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise ApiError(400, "records must be a JSON object or a non-empty list of objects")
    if len(rows) > limit:
        raise ApiError(413, f"{len(rows)} records in one request, over the limit of {limit}", fix="send them in batches")
    return rows


def _stage(staging: Path, rows: list[dict], files: dict[str, bytes], max_pixels: int) -> list[Record]:
    """Validated pair records whose images sit under ``staging/images`` (paths relative to
    ``staging``)."""
    from scicmr.corpus.readers.manifest import read_manifest

    if not rows:
        if files:
            raise ApiError(400, f"images {sorted(files)[:5]} were uploaded without records describing them",
                           fix="send a records field with one object per figure")
        return []
    uploads = staging / "uploads"
    uploads.mkdir()
    for name, data in files.items():
        check_stored_image(data, max_pixels, f"file {name!r}")
        (uploads / name).write_bytes(data)
    for n, row in enumerate(rows, start=1):
        bad = [f for f in _PATH_FIELDS if f in row]
        image = row.get("image")
        if bad or not isinstance(image, str) or image not in files:
            raise ApiError(400, f"record {n}: 'image' must name one of the uploaded files ({', '.join(files) or 'none'})",
                           fix="upload each figure as a file part and put its file name in the record's image field")
    # The source is the client's file name (checked by the route: a plain name) unless the row
    # names one, never the staging manifest's internal name.
    manifest = staging / f"upload-{secrets.token_hex(4)}.jsonl"
    manifest.write_text("\n".join(json.dumps({**{k: v for k, v in row.items() if k not in _SERVER_FIELDS},
                                                          "source_file": row.get("source_file") or row["image"],
                                                          "image": f"uploads/{row['image']}"}) for row in rows) + "\n",
                        encoding="utf-8")
    result = read_manifest(manifest, staging, progress=False)
    if result.skipped:
        reasons = "; ".join(f"{s.item}: {s.reason}" for s in result.skipped[:5])
        raise ApiError(400, f"{len(result.skipped)} record(s) are unusable: {reasons}", fix="fix them and send again")
    not_pairs = [r.id for r in result.records if r.kind != "pair"]
    if not_pairs:
        raise ApiError(400, f"records {not_pairs[:5]} lack an image or a text", fix="each record needs both")
    return result.records


def _stage_pdfs(lib_root: Path, staging: Path, pdfs: dict[str, bytes]) -> list[Record]:
    """Records of the captioned figures of uploaded PDF papers; figures under
    ``staging/images/pdf``, the papers under ``staging/pdfs`` (``source.file`` = ``pdfs/<name>``)."""
    if not pdfs:
        return []
    from scicmr.corpus.pdf import read_pdf

    (staging / "pdfs").mkdir()
    records = []
    for name, data in pdfs.items():
        if (lib_root / "pdfs" / name).exists():
            raise ApiError(409, f"a PDF named {name!r} is already in the library", fix="rename the file")
        (staging / "pdfs" / name).write_bytes(data)
        result = read_pdf(staging / "pdfs" / name, staging / "images" / "pdf", relative_to=staging,
                          source_name=f"pdfs/{name}")
        if not result.records:
            reasons = "; ".join(p.reason for p in result.skipped) or "no captioned figures found"
            raise ApiError(400, f"PDF {name!r} gave no figures: {reasons}",
                           fix="send papers with a text layer and captions like 'Figure 1: ...'")
        records += result.records
    return records


def _project(engine: SearchEngine, staging: Path, records: list[Record]) -> tuple[dict, dict]:
    """(raw features, shared-space vectors) of staged records, per modality: (m, d) float32,
    with the encoders and the model the engine searches with."""
    searcher = engine.searcher
    raw = {"image": searcher.encode("image", [staging / r.image for r in records]),
           "text": searcher.encode("text", [record_text(r) for r in records])}
    return raw, searcher.transform(raw, records)


def _append_features(engine: SearchEngine, records: list[Record], raw: dict[str, np.ndarray]) -> None:
    for modality in MODALITIES:
        engine.lib.append_features(engine.searcher.features[modality], [r.id for r in records], raw[modality])


def _move_images(lib_root: Path, staging: Path, records: list[Record]) -> list[Path]:
    batch = Path("images") / "added" / secrets.token_hex(6)
    (lib_root / batch).mkdir(parents=True)
    moved = []
    for record in records:
        target = batch / Path(record.image).name
        os.replace(staging / record.image, lib_root / target)
        moved.append(lib_root / target)
        record.images = [target.as_posix()] + record.images[1:]
    return moved


def _move_pdfs(lib_root: Path, staging: Path, pdfs: dict[str, bytes]) -> list[Path]:
    moved = []
    for name in pdfs:
        (lib_root / "pdfs").mkdir(exist_ok=True)
        os.replace(staging / "pdfs" / name, lib_root / "pdfs" / name)
        moved.append(lib_root / "pdfs" / name)
    return moved


def persist_index(engine: SearchEngine, snapshot: Snapshot) -> None:
    """Save a code snapshot's indexes where ``scicmr index`` keeps them (float indexes need no
    saving: the rows added since they were built are read from the serving table)."""
    save_indexes(engine.lib, engine.model_name, snapshot)


def _swap_and_persist(engine: SearchEngine, snapshot: Snapshot) -> None:
    engine.swap(snapshot)
    try:
        persist_index(engine, snapshot)
    except Exception:  # noqa: BLE001 -- the records are committed; a stale index is rebuilt on load
        log.exception("could not save the updated index; it will be rebuilt when the library is next opened")


def refuse_external_index(engine: SearchEngine) -> None:
    """409 when the engine ranks through Milvus (see the module docstring)."""
    if served_by_external_index(engine.snapshot):
        root = engine.lib.root
        raise ApiError(409, "this library is served from a Milvus index, which the service does not update: "
                       "records cannot be added or deleted here",
                       fix=f"add records offline (`scicmr ingest`), then rebuild the index with `scicmr index {root} "
                       "--backend milvus` and restart the service; or serve with the FAISS backend "
                       f"(`scicmr index {root}` then `scicmr serve {root}`)")


def add_records(state: AppState, rows: list[dict], files: dict[str, bytes], max_pixels: int,
                pdfs: dict[str, bytes] | None = None) -> list[str]:
    """Add image–caption pairs described by ``rows`` and the captioned figures of ``pdfs``
    (name → bytes); returns the new ids. See the module docstring for the order."""
    engine, lib = state.engine, state.library
    refuse_external_index(engine)
    with engine.write_lock, lib.writing():
        engine.catch_up()  # another worker's writes first: rows append in commit order
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=lib.root))
        moved: list[Path] = []
        try:
            records = _stage(staging, rows, files, max_pixels) + _stage_pdfs(lib.root, staging, pdfs or {})
            ids = [r.id for r in records]
            clash = sorted(fetch_records(lib, ids)) or sorted({i for i in ids if ids.count(i) > 1})
            if clash:
                raise ApiError(409, f"records {clash[:5]} already exist", fix="delete them first or use new ids")
            raw, shared = _project(engine, staging, records)
            _append_features(engine, records, raw)
            crash_point("serve.features_appended")
            moved = _move_images(lib.root, staging, records) + _move_pdfs(lib.root, staging, pdfs or {})
            lib.add_records(records)  # the commit point: one SQLite transaction
            crash_point("serve.records_committed")
        except ApiError:
            _remove(moved)
            raise
        except Exception as exc:
            _remove(moved)
            log.exception("adding records failed")
            raise ApiError(500, f"adding the records failed ({type(exc).__name__}: {exc}); the library is unchanged",
                           fix="check the server log and the disk, then send the request again") from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        _swap_and_persist(engine, publish_added(lib, engine.model_name, engine.snapshot, records, shared))
    return [r.id for r in records]


def delete_record(state: AppState, record_id: str) -> None:
    """Remove one record from the library and the index (its image file is kept)."""
    engine, lib = state.engine, state.library
    refuse_external_index(engine)
    with engine.write_lock, lib.writing():
        engine.catch_up()
        if not fetch_records(lib, [record_id]):
            raise ApiError(404, f"no record with id {record_id!r}")
        lib.delete_records([record_id])  # the commit point; its feature rows go at `scicmr compact`
        # Caught up above: the snapshot's row positions are the serving table's.
        _swap_and_persist(engine, publish_deleted(lib, engine.model_name, engine.snapshot, [record_id]))


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
