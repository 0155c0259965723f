"""Operations: /health, /metrics (Prometheus text) and an offline /docs page."""

from __future__ import annotations

import html

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, PlainTextResponse

from scicmr.service.deps import AppState, get_state
from scicmr.service.schemas import Health
from scicmr.workflow.backends import served_by_external_index

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health)
def health(state: AppState = Depends(get_state)) -> Health:
    """Liveness and what is being served."""
    engine, snapshot = state.engine, state.engine.current()
    notes = [f"{m} queries are off: {why}" for m, why in engine.query_modalities.items() if why]
    if served_by_external_index(snapshot):
        notes.append("ranked by Milvus: writes are refused (rebuild with `scicmr index LIB --backend milvus`)")
    return Health(
        status="ok", library=str(state.library.root), model=engine.model_name, records=len(state.library),
        indexed=len(snapshot), index_kind="milvus" if served_by_external_index(snapshot) else snapshot.index_kind, snapshot=snapshot.version,
        writes_enabled=state.settings.writes_enabled, text_queries=engine.can_query("text"),
        image_queries=engine.can_query("image"), notes=notes,
    )


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(state: AppState = Depends(get_state)) -> PlainTextResponse:
    """Request counts and latency histograms in the Prometheus text format."""
    snapshot = state.engine.current()
    gauges = {
        "scicmr_indexed_records": ("Records in the search index.", float(len(snapshot))),
        "scicmr_index_snapshot": ("Index version; grows with every write.", float(snapshot.version)),
    }
    return PlainTextResponse(state.metrics.render(gauges), media_type="text/plain; version=0.0.4")


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(request: Request) -> HTMLResponse:
    """The endpoints listed from the OpenAPI schema on a plain page: Swagger UI would need
    scripts from a CDN, which a machine without internet (or a privacy-minded user) lacks."""
    schema = request.app.openapi()
    rows = []
    for path, operations in schema.get("paths", {}).items():
        for verb, op in operations.items():
            params = ", ".join(
                f"{p['name']}{'' if p.get('required') else '?'}" for p in op.get("parameters", []))
            body = op.get("requestBody", {}).get("content", {})
            form = next(iter(body.values()), {}).get("schema", {}) if body else {}
            if form:
                ref = form.get("$ref", "").rsplit("/", 1)[-1]
                fields = schema.get("components", {}).get("schemas", {}).get(ref, {}).get("properties", {})
                params += (", " if params else "") + "form: " + ", ".join(fields)
            doc = (op.get("description") or op.get("summary") or "").strip().split("\n\n")[0]
            rows.append(f"<tr><td><code>{verb.upper()}</code></td><td><code>{html.escape(path)}</code></td>"
                        f"<td>{html.escape(params)}</td><td>{html.escape(doc)}</td></tr>")
    page = (
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width,initial-scale=1'>"
        "<title>scicmr API</title><style>body{font:15px system-ui,sans-serif;margin:1rem;max-width:70rem}"
        "td{border-top:1px solid #ddd;padding:.4rem;vertical-align:top}code{white-space:nowrap}</style>"
        f"<h1>{html.escape(schema['info']['title'])} API</h1>"
        "<p>Machine-readable schema: <a href='/openapi.json'>/openapi.json</a> (load it into any OpenAPI tool). "
        "Errors are JSON: <code>{\"error\": {\"status\", \"problem\", \"fix\"}}</code>. "
        "Write endpoints need the <code>X-API-Key</code> header.</p>"
        "<table><tr><th>method</th><th>path</th><th>parameters (? = optional)</th><th>what it does</th></tr>"
        + "".join(rows) + "</table>"
    )
    return HTMLResponse(page)
