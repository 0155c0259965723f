"""Search endpoints: text → figures or captions, image upload → captions or similar figures."""

from __future__ import annotations

import time
from dataclasses import dataclass

from fastapi import APIRouter, Depends, File, Query, UploadFile

from scicmr.service.deps import AppState, get_settings, get_state
from scicmr.service.problems import ApiError
from scicmr.service.schemas import ERROR_RESPONSES, FacetCount, FacetsResponse, SearchResponse
from scicmr.service.settings import Settings
from scicmr.service.uploads import ACCEPTED_FORMATS, decode_query_image, read_bounded
from scicmr.service.views import to_hit
from scicmr.workflow.facets import facet_counts
from scicmr.workflow.snapshot import Filters

router = APIRouter(prefix="/api", tags=["search"])
TARGETS = ("image", "text")


@dataclass(frozen=True)
class Paging:
    k: int
    offset: int
    target: str | None
    filters: Filters


def paging(
    k: int = Query(10, description="results per page, 1..max_k (see /health)"),
    offset: int = Query(0, description="results to skip, for the next pages"),
    target: str | None = Query(None, description="'image' (figures) or 'text' (captions); default: the other modality"),
    year_min: int | None = Query(None, description="keep records from this year on"),
    year_max: int | None = Query(None, description="keep records up to this year"),
    label: list[str] = Query([], description="keep records with any of these labels (fields); repeatable"),
    author: str | None = Query(None, description="keep records with an author name containing this"),
    settings: Settings = Depends(get_settings),
) -> Paging:
    """Shared, bounded query parameters of both search endpoints."""
    if not 1 <= k <= settings.max_k:
        raise ApiError(422, f"k must be between 1 and {settings.max_k}, got {k}", fix="ask for fewer results per page")
    if not 0 <= offset <= settings.max_offset:
        raise ApiError(422, f"offset must be between 0 and {settings.max_offset}, got {offset}",
                       fix="refine the query instead of paging that deep")
    if target is not None and target not in TARGETS:
        raise ApiError(422, f"target must be 'image' or 'text', got {target!r}")
    if year_min is not None and year_max is not None and year_min > year_max:
        raise ApiError(422, f"year_min {year_min} is after year_max {year_max}", fix="swap them")
    labels = tuple(x.strip() for x in label if x.strip())
    return Paging(k, offset, target, Filters(year_min, year_max, labels, (author or "").strip() or None))


def _respond(state: AppState, modality: str, item, query: str | None, page: Paging, started: float) -> SearchResponse:
    engine = state.engine
    if not engine.can_query(modality):
        raise ApiError(400, f"this library cannot take {modality} queries: {engine.query_modalities[modality]}",
                       fix="query with the other modality")
    target = page.target or ("image" if modality == "text" else "text")
    result = engine.search(modality, item, target, page.k, page.offset, page.filters)
    hits = [to_hit(h.record, h.rank, h.score, h.modality, state.library.root, state.file_roots, h.details) for h in result.hits]
    return SearchResponse(query=query, query_kind=modality, target=target, k=page.k, offset=page.offset,
                          total=result.total, took_ms=round((time.perf_counter() - started) * 1000, 2),
                          model=engine.model_name, snapshot=result.version, hits=hits)


@router.get("/search", response_model=SearchResponse, responses=ERROR_RESPONSES)
def search_text(
    q: str | None = Query(None, description="the text query (words, a title, a caption)", max_length=2000),
    page: Paging = Depends(paging),
    state: AppState = Depends(get_state),
) -> SearchResponse:
    """Text query → figures (target=image, default) or captions (target=text)."""
    started = time.perf_counter()
    if q is None or not q.strip():
        raise ApiError(422, "empty query", fix="pass some words in q, e.g. /api/search?q=gene+expression")
    return _respond(state, "text", q.strip(), q.strip(), page, started)


@router.post("/search/image", response_model=SearchResponse, responses=ERROR_RESPONSES)
def search_image(
    image: UploadFile = File(..., description=f"a {', '.join(ACCEPTED_FORMATS)} image (a phone photo is fine)"),
    page: Paging = Depends(paging),
    state: AppState = Depends(get_state),
    settings: Settings = Depends(get_settings),
) -> SearchResponse:
    """Image upload → captions and papers (target=text, default) or similar figures (target=image).

    The format is sniffed from the bytes; the header's content type is ignored."""
    started = time.perf_counter()
    data = read_bounded(image.file, settings.max_upload_bytes, "the uploaded image")
    picture = decode_query_image(data, settings.max_image_pixels, "the uploaded image")
    return _respond(state, "image", picture, None, page, started)


@router.get("/facets", response_model=FacetsResponse, responses=ERROR_RESPONSES)
def facets(
    top: int = Query(12, ge=1, le=100, description="labels and authors to list, most frequent first"),
    page: Paging = Depends(paging),
    state: AppState = Depends(get_state),
) -> FacetsResponse:
    """Counts of labels (fields), years and authors among the indexed records passing the
    filters (year_min, year_max, label, author), for clickable filters."""
    found = facet_counts(state.engine.current(), page.filters, top)
    as_counts = lambda pairs: [FacetCount(value=str(v), count=n) for v, n in pairs]  # noqa: E731
    return FacetsResponse(total=found.total, labels=as_counts(found.labels), years=as_counts(found.years),
                          authors=as_counts(found.authors))
