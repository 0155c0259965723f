"""Dependency functions of the routes. Tests replace them with ``app.dependency_overrides``
(e.g. ``app.dependency_overrides[get_settings] = lambda: other_settings``)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Coroutine

from fastapi import Depends, Header, Request, Response
from fastapi.routing import APIRoute

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


def check_api_key(settings: Settings, key: str | None) -> None:
    """Writes need the key from the settings in the ``X-API-Key`` header; with no key
    configured, writes are off (403), without it or with another one 401."""
    from scicmr.service.settings import DEFAULT_API_KEY_ENV

    if not settings.writes_enabled:
        raise ApiError(403, "writes are disabled on this server: no API key is configured",
                       fix=f"start the server with the key in ${DEFAULT_API_KEY_ENV} (or --api-key-env NAME)")
    if not key:
        raise ApiError(401, "this endpoint needs an API key", fix="send it in the X-API-Key header",
                       headers={"WWW-Authenticate": "X-API-Key"})
    # Constant-time comparison: the response time must not leak how much of the key matched.
    if not hmac.compare_digest(key.encode(), settings.api_key.encode()):
        raise ApiError(401, "wrong API key", fix="check the X-API-Key header", headers={"WWW-Authenticate": "X-API-Key"})


def require_api_key(settings: Settings = Depends(get_settings),
                    x_api_key: str | None = Header(default=None, alias="X-API-Key")) -> None:
    """The key check as a dependency (it documents the header in the OpenAPI schema). Write
    routes use :class:`WriteRoute`, which solves it before any body byte is read."""
    check_api_key(settings, x_api_key)


def _headers_only(_: None = Depends(require_api_key)) -> None:
    """What :class:`WriteRoute` solves first: the key check and nothing that reads the body."""


class WriteRoute(APIRoute):
    """The route class of every write endpoint: :func:`require_api_key` is solved on the
    headers alone, before the body is read. (FastAPI reads and parses a form body before it
    solves a route's dependencies, so an unauthenticated client could otherwise make the server
    receive and spool up to ``max_request_bytes`` before hearing 401; declared lengths over
    that limit are refused earlier still, by the body-limit middleware.) Dependency overrides
    apply as they do to the route's own dependencies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        from contextlib import AsyncExitStack

        from fastapi.dependencies.utils import get_dependant, solve_dependencies
        from fastapi.exceptions import RequestValidationError

        handler = super().get_route_handler()
        key_check = get_dependant(path=self.path_format, call=_headers_only)

        async def key_first(request: Request) -> Response:
            async with AsyncExitStack() as stack:
                solved = await solve_dependencies(
                    request=request, dependant=key_check, async_exit_stack=stack, embed_body_fields=False,
                    dependency_overrides_provider=self.dependency_overrides_provider or request.app)
            if solved.errors:
                raise RequestValidationError(solved.errors)
            return await handler(request)

        return key_first
