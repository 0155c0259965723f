"""The FastAPI application: ``create_app(settings)``.

The library, the trained model, its query encoders and the index snapshot are loaded once by
the lifespan handler into an :class:`~scicmr.service.deps.AppState` (``app.state.scicmr``);
routes reach it through the dependency functions of :mod:`scicmr.service.deps`, which tests
override. Read endpoints are open; write endpoints need the API key. CORS is off.

Run it with ``scicmr serve LIB`` (uvicorn), or ``uvicorn --factory`` on :func:`app_from_env`.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from scicmr.service.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
# A magnifier over a bar chart, as SVG: browsers take it at /favicon.ico by its content type.
FAVICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
           b'<rect width="32" height="32" rx="6" fill="#0b63c5"/>'
           b'<path d="M7 24V15h3v9zm5 0V9h3v15zm5 0v-6h3v6z" fill="#fff"/>'
           b'<circle cx="21" cy="12" r="5" fill="none" stroke="#fff" stroke-width="2"/>'
           b'<path d="M24.5 15.5L28 19" stroke="#fff" stroke-width="2.5" stroke-linecap="round"/></svg>')
log = logging.getLogger("scicmr.service")


def file_roots(lib, settings: Settings) -> tuple[Path, ...]:
    """Folders record files (figures, source PDFs) may be served from: the library, the
    folder it was ingested from (PDF papers usually stay there) and any extra roots."""
    roots = [lib.root, *settings.extra_file_roots]
    source = (lib.meta.get("source") or {}).get("path")
    if source:
        source = Path(source)
        roots.append(source if source.is_dir() else source.parent)
    return tuple(Path(r) for r in roots)


def load_state(settings: Settings, metrics=None):
    """Open the library and load the engine (model, encoders, index snapshot)."""
    from scicmr.corpus.library import Library
    from scicmr.service.deps import AppState
    from scicmr.service.engine import SearchEngine
    from scicmr.service.middleware import Metrics

    lib = Library.open(settings.library)
    engine = SearchEngine(lib, settings.model, settings.rerank, settings.backend)
    engine.warm_up()
    return AppState(settings=settings, library=lib, engine=engine, metrics=metrics or Metrics(),
                    file_roots=file_roots(lib, settings))


def create_app(settings: Settings):
    """A FastAPI app serving ``settings.library``; nothing is loaded until startup."""
    from fastapi import FastAPI
    from fastapi.responses import FileResponse, Response
    from fastapi.staticfiles import StaticFiles

    from scicmr import __version__
    from scicmr.service.middleware import BodyLimitMiddleware, Metrics, MetricsMiddleware
    from scicmr.service.problems import install_handlers
    from scicmr.service.routes import admin, ops, records, search

    metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app):
        state = load_state(settings, metrics)
        app.state.scicmr = state
        log.info("serving %s: model %s, %d records indexed", state.library.root, state.engine.model_name,
                 len(state.engine.snapshot))
        yield
        app.state.scicmr = None

    app = FastAPI(title="scicmr", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Cross-media search of scientific figures and captions.")
    install_handlers(app)
    for module in (search, records, admin, ops):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC_DIR / "index.html", headers={
            "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; style-src 'self'",
            "X-Content-Type-Options": "nosniff",
        })

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(FAVICON, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"})

    def body_limit(path: str) -> int:
        if path == "/api/search/image":
            return settings.max_upload_bytes + 64 * 1024  # the image plus multipart framing
        if path.startswith("/api/records"):
            return settings.max_request_bytes
        return 64 * 1024

    app.add_middleware(BodyLimitMiddleware, limit_for=body_limit)
    app.add_middleware(MetricsMiddleware, metrics=metrics)  # outermost: it times the 413s too
    return app


def app_from_env():
    """``uvicorn --factory scicmr.service.app:app_from_env`` with ``SCICMR_LIBRARY`` set."""
    return create_app(Settings.from_env())
