"""Dependency functions of the routes. Tests replace them with ``app.dependency_overrides``
(e.g. ``app.dependency_overrides[get_settings] = lambda: other_settings``)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Depends, Header, Request

from scicmr.corpus.library import Library
from scicmr.service.engine import SearchEngine
from scicmr.service.media import RenderCache
from scicmr.service.middleware import Metrics
from scicmr.service.problems import ApiError
from scicmr.service.settings import Settings


@dataclass
class AppState:
    """What the lifespan handler loads once: the library, the engine (model, encoders, index
    snapshot) and the shared caches."""

    settings: Settings
    library: Library
    engine: SearchEngine
    metrics: Metrics
    renders: RenderCache = field(default_factory=RenderCache)
    file_roots: tuple[Path, ...] = ()


def get_state(request: Request) -> AppState:
    state = getattr(request.app.state, "scicmr", None)
    if state is None:
        raise ApiError(503, "the library is not loaded yet", fix="wait for startup to finish and retry")
    return state


def get_settings(request: Request) -> Settings:
    return get_state(request).settings


def get_engine(request: Request) -> SearchEngine:
    return get_state(request).engine


def require_api_key(settings: Settings = Depends(get_settings),
                    x_api_key: str | None = Header(default=None, alias="X-API-Key")) -> None:
    """Writes need the key from the settings in the ``X-API-Key`` header; with no key
    configured, writes are off (403)."""
    from scicmr.service.settings import DEFAULT_API_KEY_ENV

    if not settings.writes_enabled:
        raise ApiError(403, "writes are disabled on this server: no API key is configured",
                       fix=f"start the server with the key in ${DEFAULT_API_KEY_ENV} (or --api-key-env NAME)")
    if not x_api_key:
        raise ApiError(401, "this endpoint needs an API key", fix="send it in the X-API-Key header",
                       headers={"WWW-Authenticate": "X-API-Key"})
    # Constant-time comparison: the response time must not leak how much of the key matched.
    if not hmac.compare_digest(x_api_key.encode(), settings.api_key.encode()):
        raise ApiError(401, "wrong API key", fix="check the X-API-Key header", headers={"WWW-Authenticate": "X-API-Key"})
