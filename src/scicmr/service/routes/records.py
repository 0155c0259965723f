"""Read endpoints for records and their files: details, figure, thumbnail, PDF page, and
``/files/`` for library images. Every file path is resolved inside the allowed roots only."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import FileResponse, Response

from scicmr.corpus.library import UnreadableRecordError
from scicmr.corpus.pdf import PageTooLarge
from scicmr.corpus.record import Record
from scicmr.errors import InputError
from scicmr.service.deps import AppState, get_state
from scicmr.service.media import SERVABLE_FOLDERS, media_type, render_pdf_page, render_thumbnail, resolve_inside
from scicmr.service.problems import ApiError
from scicmr.service.schemas import ERROR_RESPONSES, RecordDetail
from scicmr.service.views import fetch_records, page_source, to_detail

router = APIRouter(tags=["records"])
# Figures rarely change (a write makes a new record); let browsers and proxies keep them a day.
_CACHE = {"Cache-Control": "public, max-age=86400"}


def _record(state: AppState, record_id: str) -> Record:
    record = fetch_records(state.library, [record_id]).get(record_id)
    if record is None:
        try:  # absent, or stored but unreadable (then say why instead of "no record")
            return state.library.get(record_id)
        except UnreadableRecordError as exc:
            raise ApiError(422, exc.problem, fix=exc.fix) from None
        except InputError:
            raise ApiError(404, f"no record with id {record_id!r}", fix="take ids from /api/search results") from None
    return record


def _image_file(state: AppState, record: Record):
    path = resolve_inside([state.library.root], record.image)
    if path is None:
        raise ApiError(404, f"record {record.id!r} has no image file in the library")
    return path


@router.get("/api/records/{record_id}", response_model=RecordDetail, responses=ERROR_RESPONSES)
def record_detail(record_id: str, state: AppState = Depends(get_state)) -> RecordDetail:
    """Everything about one record, with links to its figure, thumbnail and PDF page."""
    record = _record(state, record_id)
    indexed = state.engine.current().row_of(record_id) is not None
    return to_detail(record, indexed, state.library.root, state.file_roots)


@router.get("/api/records/{record_id}/image", responses=ERROR_RESPONSES, response_class=FileResponse)
def record_image(record_id: str, state: AppState = Depends(get_state)):
    """The original figure file."""
    path = _image_file(state, _record(state, record_id))
    return FileResponse(path, media_type=media_type(path), headers=_CACHE)


@router.get("/api/records/{record_id}/thumbnail", responses=ERROR_RESPONSES, response_class=Response)
def record_thumbnail(record_id: str, state: AppState = Depends(get_state)):
    """A JPEG of the figure at most 320 pixels on a side (cached)."""
    path = _image_file(state, _record(state, record_id))
    return Response(render_thumbnail(path, state.renders), media_type="image/jpeg", headers=_CACHE)


@router.get("/api/records/{record_id}/page", responses=ERROR_RESPONSES, response_class=Response)
def record_page(record_id: str, state: AppState = Depends(get_state)):
    """The PDF page the figure is on, rendered as PNG with the figure outlined."""
    record = _record(state, record_id)
    pdf = page_source(record, state.file_roots)
    if pdf is None:
        raise ApiError(404, f"record {record_id!r} has no reachable PDF page",
                       fix="only records ingested from PDFs inside the library (or its source folder) have one")
    try:
        data = render_pdf_page(pdf, int(record.source.page), record.source.bbox, state.renders)
    except ApiError:  # 503: every render slot is busy
        raise
    except IndexError as exc:
        raise ApiError(404, f"record {record_id!r}: {exc}") from None
    except PageTooLarge as exc:
        raise ApiError(422, f"record {record_id!r}: its PDF page cannot be shown: {exc}",
                       fix="open the PDF itself; the page is too large to render on the server") from None
    except Exception as exc:  # noqa: BLE001 -- pdfium raises its own error types for damaged files
        raise ApiError(404, f"record {record_id!r}: its PDF cannot be rendered ({type(exc).__name__}: {exc})") from None
    return Response(data, media_type="image/png", headers=_CACHE)


@router.get("/files/{path:path}", responses=ERROR_RESPONSES, response_class=FileResponse)
def library_file(path: str, state: AppState = Depends(get_state)):
    """A file under the library's images/, pages/ or pdfs/ folders (nothing else)."""
    top = path.split("/", 1)[0]
    resolved = resolve_inside([state.library.root / top], path.split("/", 1)[1] if "/" in path else "") \
        if top in SERVABLE_FOLDERS else None
    if resolved is None:
        raise ApiError(404, f"no file {path!r}", fix=f"files are served from {', '.join(SERVABLE_FOLDERS)} only")
    return FileResponse(resolved, media_type=media_type(resolved), headers=_CACHE)
