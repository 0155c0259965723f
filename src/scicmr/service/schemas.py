"""Response models of the HTTP API (they also document it in /openapi.json)."""

from __future__ import annotations

from typing import Optional

from pydantic import BaseModel, Field


class Hit(BaseModel):
    rank: int = Field(description="1-based rank over the whole result list (offset included)")
    id: str
    score: float = Field(description="the ranking score: the fused hybrid score (text queries of a model with a "
                                     "fitted fusion), else the cosine similarity in the model's shared space")
    modality: str = Field(description="what was matched: 'image' (the figure) or 'text' (its caption)")
    title: str
    caption: str
    authors: list[str]
    year: Optional[int]
    labels: list[str]
    page: Optional[int] = Field(description="1-based page of the figure in its source file")
    source_file: Optional[str]
    image_url: Optional[str]
    thumbnail_url: Optional[str]
    page_url: Optional[str] = Field(description="rendered PDF page with the figure outlined, when the PDF is reachable")
    detail_url: str
    details: dict = Field(default_factory=dict, description="why the hit ranks here: for the hybrid ranker, "
                          "'channels' maps each channel (lexical, context, dense, cross_modal) to its own score "
                          "and its contribution to the fused score")


class SearchResponse(BaseModel):
    query: Optional[str] = Field(description="the text query, or null for an image query")
    query_kind: str = Field(description="'text' or 'image'")
    target: str
    k: int
    offset: int
    total: int = Field(description="candidates that passed the filters (upper bound of offset + k)")
    took_ms: float
    model: str
    snapshot: int = Field(description="version of the index the query ran on (grows with each write)")
    hits: list[Hit]


class SourceOut(BaseModel):
    file: Optional[str]
    page: Optional[int]
    bbox: Optional[list[float]]


class RecordDetail(BaseModel):
    id: str
    kind: str
    title: str
    text: str
    keywords: list[str]
    authors: list[str]
    date: Optional[str]
    year: Optional[int]
    labels: list[str]
    split: Optional[str]
    group: Optional[str]
    context: str
    abstract: Optional[str] = Field(None, description="the paper's abstract, when the record has one besides its caption")
    doi: Optional[str] = Field(None, description="the paper's DOI (e.g. 10.1234/x), when the record has one")
    doi_url: Optional[str] = Field(None, description="the DOI as a https://doi.org/ link")
    url: Optional[str] = Field(None, description="a link to the paper (http or https), when the record has one")
    link: Optional[str] = Field(None, description="where to open the paper: url, else the DOI link")
    source: SourceOut
    indexed: bool = Field(description="whether the record is in the search index (image–text pairs are)")
    image_url: Optional[str]
    thumbnail_url: Optional[str]
    page_url: Optional[str]


class FacetCount(BaseModel):
    value: str = Field(description="a label, a year or an author name (lower-cased, as the filters match it)")
    count: int = Field(description="records holding it among those passing the filters")


class FacetsResponse(BaseModel):
    total: int = Field(description="indexed records passing the filters")
    labels: list[FacetCount] = Field(description="most frequent labels (fields), most records first")
    years: list[FacetCount] = Field(description="year histogram, in year order")
    authors: list[FacetCount] = Field(description="most frequent authors, most records first")


class Health(BaseModel):
    status: str
    library: str
    model: str
    records: int
    indexed: int
    index_kind: str
    snapshot: int
    writes_enabled: bool
    text_queries: bool
    image_queries: bool
    notes: list[str]


class WriteResult(BaseModel):
    added: list[str] = Field(default_factory=list)
    deleted: list[str] = Field(default_factory=list)
    indexed: int
    snapshot: int


class ErrorDetail(BaseModel):
    status: int
    problem: str
    fix: Optional[str]


class ErrorBody(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES = {code: {"model": ErrorBody} for code in (400, 401, 403, 404, 409, 413, 415, 422, 503)}
