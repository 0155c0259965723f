"""Write endpoints (API key required): add image–caption records, delete a record."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, File, Form, UploadFile

from scicmr.service.deps import AppState, WriteRoute, get_settings, get_state, require_api_key
from scicmr.service.problems import ApiError
from scicmr.service.schemas import ERROR_RESPONSES, WriteResult
from scicmr.service.settings import Settings
from scicmr.service.uploads import read_bounded

# WriteRoute checks the key before the body is read; the dependency documents the header.
router = APIRouter(prefix="/api", tags=["admin"], dependencies=[Depends(require_api_key)], route_class=WriteRoute)
_SAFE_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,120}$")


def _file_name(upload: UploadFile) -> str:
    name = upload.filename or ""
    if not _SAFE_FILE_NAME.match(name):
        raise ApiError(400, f"file name {name!r} is not a plain file name",
                       fix="use letters, digits, '.', '_' and '-' only, no folders (e.g. fig1.png)")
    return name


@router.post("/records", response_model=WriteResult, status_code=201, responses=ERROR_RESPONSES)
def add_records(
    records: str | None = Form(None, description='JSON object or list of objects in manifest fields: id, title, '
                                                 'caption, authors, date, labels, source_file, page, and image = an '
                                                 'uploaded file name. Optional when only PDFs are sent.'),
    files: list[UploadFile] = File(..., description="figures (JPEG, PNG or WebP) named as in the records, and/or "
                                                    "PDF papers (their captioned figures become records)"),
    state: AppState = Depends(get_state),
    settings: Settings = Depends(get_settings),
) -> WriteResult:
    """Add figure–caption records, or PDF papers: they are encoded with the library's
    encoders and model and become searchable at once; queries running meanwhile are not
    interrupted."""
    from scicmr.service.writes import add_records as add, parse_rows

    images: dict[str, bytes] = {}
    pdfs: dict[str, bytes] = {}
    for upload in files:
        name = _file_name(upload)
        if name in images or name in pdfs:
            raise ApiError(400, f"two uploaded files are named {name!r}", fix="give every file its own name")
        data = read_bounded(upload.file, max(settings.max_upload_bytes, settings.max_pdf_bytes), f"file {name!r}")
        if data.startswith(b"%PDF-"):  # sniffed, like images: the name and content type are not trusted
            pdfs[name] = data
        elif len(data) > settings.max_upload_bytes:
            raise ApiError(413, f"file {name!r} is larger than the {settings.max_upload_bytes:,}-byte image limit",
                           fix="send a smaller image")
        else:
            images[name] = data
    if records is None and not pdfs:
        raise ApiError(422, "records is required unless PDF papers are uploaded",
                       fix='send records=[{"id": ..., "caption": ..., "image": "fig1.png"}] with the images')
    rows = parse_rows(records, settings.max_records_per_request) if records is not None else []
    added = add(state, rows, images, settings.max_image_pixels, pdfs=pdfs)
    snapshot = state.engine.snapshot
    return WriteResult(added=added, indexed=len(snapshot), snapshot=snapshot.version)


@router.delete("/records/{record_id}", response_model=WriteResult, responses=ERROR_RESPONSES)
def delete_record(record_id: str, state: AppState = Depends(get_state)) -> WriteResult:
    """Remove a record from the library and the index."""
    from scicmr.service.writes import delete_record as delete

    delete(state, record_id)
    snapshot = state.engine.snapshot
    return WriteResult(deleted=[record_id], indexed=len(snapshot), snapshot=snapshot.version)
