"""HTTP errors with the project's shape: every 4xx/5xx body is
``{"error": {"status": int, "problem": str, "fix": str | null}}``.

:class:`ApiError` is raised by routes; :func:`install_handlers` maps it, the library's
:class:`~scicmr.errors.ScicmrError` (InputError → 400, LibraryError → 503), FastAPI's request
validation errors (→ 422, one readable sentence per bad field) and Starlette's HTTP errors
(404 for unknown paths, 405...) to that shape.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException as StarletteHTTPException


class ApiError(StarletteHTTPException):
    """An HTTP error naming the problem and the fix."""

    def __init__(self, status: int, problem: str, fix: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(status_code=status, detail=problem, headers=headers)
        self.problem = problem
        self.fix = fix


def error_body(status: int, problem: str, fix: str | None = None) -> dict[str, Any]:
    return {"error": {"status": status, "problem": problem, "fix": fix}}


def _describe_validation(errors: list[dict[str, Any]]) -> str:
    parts = []
    for error in errors:
        where = [str(p) for p in error.get("loc", ()) if p not in ("query", "body", "path", "header", "form")]
        parts.append(f"{'.'.join(where) or 'request'}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install_handlers(app) -> None:
    """Register the JSON error handlers on a FastAPI ``app``."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    from scicmr.errors import InputError, LibraryError, ScicmrError

    @app.exception_handler(StarletteHTTPException)
    async def _http(request, exc: StarletteHTTPException):
        problem = getattr(exc, "problem", None) or str(exc.detail)
        fix = getattr(exc, "fix", None)
        if exc.status_code == 404 and fix is None:
            fix = "see /docs for the endpoints"
        return JSONResponse(error_body(exc.status_code, problem, fix), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation(request, exc: RequestValidationError):
        problem = _describe_validation(exc.errors())
        return JSONResponse(error_body(422, problem, "see /docs for the parameters and their ranges"), status_code=422)

    @app.exception_handler(ScicmrError)
    async def _library(request, exc: ScicmrError):
        status = 400 if isinstance(exc, InputError) else 503 if isinstance(exc, LibraryError) else 500
        return JSONResponse(error_body(status, exc.problem, exc.fix), status_code=status)
