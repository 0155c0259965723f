"""Records as the API shows them: hits and details with links to their media."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence
from urllib.parse import quote

from scicmr.corpus.library import Library
from scicmr.corpus.record import Record
from scicmr.service.media import resolve_inside
from scicmr.service.schemas import Hit, RecordDetail, SourceOut


def fetch_records(lib: Library, ids: Sequence[str]) -> dict[str, Record]:
    """Records of ``ids`` in one query (a page of hits), keyed by id; missing ids are absent
    (a record deleted after the snapshot was taken)."""
    return {record.id: record for record in lib.get_many(ids, skip_missing=True)}


def _record_url(record_id: str, what: str = "") -> str:
    return f"/api/records/{quote(record_id, safe='')}" + (f"/{what}" if what else "")


def page_source(record: Record, roots: Sequence[Path]) -> Path | None:
    """The PDF a record's figure comes from, when it is reachable under ``roots``."""
    source = record.source
    if not source.file or source.page is None or not str(source.file).lower().endswith(".pdf"):
        return None
    return resolve_inside(roots, source.file)


def links(record: Record, lib_root: Path, roots: Sequence[Path]) -> dict[str, str | None]:
    has_image = resolve_inside([lib_root], record.image) is not None
    return {
        "image_url": _record_url(record.id, "image") if has_image else None,
        "thumbnail_url": _record_url(record.id, "thumbnail") if has_image else None,
        "page_url": _record_url(record.id, "page") if page_source(record, roots) else None,
    }


def to_hit(record: Record, rank: int, score: float, modality: str, lib_root: Path, roots: Sequence[Path],
           details: dict | None = None) -> Hit:
    return Hit(details=details or {},
        rank=rank, id=record.id, score=round(score, 6), modality=modality, title=record.title, caption=record.text,
        authors=record.authors, year=record.year, labels=record.labels, page=record.source.page,
        source_file=record.source.file, detail_url=_record_url(record.id), **links(record, lib_root, roots),
    )


def _extra_text(record: Record, key: str) -> str | None:
    value = record.extra.get(key)
    return value.strip() or None if isinstance(value, str) else None


def to_detail(record: Record, indexed: bool, lib_root: Path, roots: Sequence[Path]) -> RecordDetail:
    source = record.source
    return RecordDetail(
        id=record.id, kind=record.kind, title=record.title, text=record.text, keywords=record.keywords,
        authors=record.authors, date=record.date, year=record.year, labels=record.labels,
        split=record.extra.get("split"), group=record.group, context=record.context,
        abstract=_extra_text(record, "abstract"), doi=record.doi, doi_url=record.doi_url, url=record.url,
        link=record.link,
        source=SourceOut(file=source.file, page=source.page, bbox=list(source.bbox) if source.bbox else None),
        indexed=indexed, **links(record, lib_root, roots),
    )
