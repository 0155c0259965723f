"""Service settings: one frozen dataclass, filled from arguments or ``SCICMR_*`` environment
variables.

===============================  ==========================================  =============
setting                          environment variable                        default
===============================  ==========================================  =============
library                          ``SCICMR_LIBRARY``                          (required)
model                            ``SCICMR_MODEL``                            library default
api_key                          the variable named by ``api_key_env``       unset: writes off
max_upload_bytes                 ``SCICMR_MAX_UPLOAD_BYTES``                 10 MiB
max_image_pixels                 ``SCICMR_MAX_IMAGE_PIXELS``                 40 megapixels
max_k                            ``SCICMR_MAX_K``                            100
rerank (hashing models)          ``SCICMR_RERANK``                           unset: Hamming only
backend (faiss or milvus)        ``SCICMR_BACKEND``                          the built index
max_offset                       ``SCICMR_MAX_OFFSET``                       1000
max_records_per_request          ``SCICMR_MAX_RECORDS_PER_REQUEST``          100
max_request_bytes (write bodies) ``SCICMR_MAX_REQUEST_BYTES``                64 MiB
max_pdf_bytes                    ``SCICMR_MAX_PDF_BYTES``                    50 MiB
extra_file_roots                 ``SCICMR_EXTRA_FILE_ROOTS`` (os.pathsep)     ()
===============================  ==========================================  =============

CORS is off: the web UI is served by the same origin, and a browser on another origin gets
no ``Access-Control-Allow-*`` header. The API key is never taken from the command line (it
would show in ``ps``); ``--api-key-env`` names the variable that holds it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Mapping, MutableMapping

from scicmr.errors import InputError

DEFAULT_API_KEY_ENV = "SCICMR_API_KEY"
_ENV_PREFIX = "SCICMR_"
_INT_SETTINGS = ("max_upload_bytes", "max_image_pixels", "max_k", "max_offset", "max_records_per_request",
                 "max_request_bytes", "max_pdf_bytes")


@dataclass(frozen=True)
class Settings:
    """Everything the app needs to serve one library (see the module table)."""

    library: Path
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    max_upload_bytes: int = 10 * 2**20
    max_image_pixels: int = 40_000_000
    max_k: int = 100
    rerank: int | None = None
    backend: str | None = None
    max_offset: int = 1000
    max_records_per_request: int = 100
    max_request_bytes: int = 64 * 2**20
    max_pdf_bytes: int = 50 * 2**20
    extra_file_roots: tuple[Path, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "library", Path(self.library))
        for name in _INT_SETTINGS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"setting {name} must be a positive integer, got {value!r}")
        if self.rerank is not None and (isinstance(self.rerank, bool) or not isinstance(self.rerank, int) or self.rerank < 1):
            raise InputError(f"setting rerank must be a positive integer, got {self.rerank!r}",
                             fix="give the Hamming shortlist size, e.g. 100, or leave it unset")
        if self.backend is not None and self.backend not in ("faiss", "milvus"):
            raise InputError(f"setting backend must be faiss or milvus, got {self.backend!r}",
                             fix="leave it unset to serve the library's built index")
        if self.api_key is not None and len(self.api_key) < 8:
            raise InputError("the API key is shorter than 8 characters",
                             fix="use a long random key, e.g. `python -c 'import secrets; print(secrets.token_urlsafe())'`")

    @property
    def writes_enabled(self) -> bool:
        return bool(self.api_key)

    def to_environ(self) -> dict[str, str]:
        """These settings as ``SCICMR_*`` variables that :meth:`from_env` reads back (how
        ``scicmr serve --workers N`` hands them to its worker processes; the API key travels
        in ``SCICMR_API_KEY``)."""
        env = {_ENV_PREFIX + "LIBRARY": str(self.library)}
        for name in ("model", "backend", "rerank", *_INT_SETTINGS):
            if getattr(self, name) is not None:
                env[_ENV_PREFIX + name.upper()] = str(getattr(self, name))
        if self.api_key:
            env[DEFAULT_API_KEY_ENV] = self.api_key
        if self.extra_file_roots:
            env[_ENV_PREFIX + "EXTRA_FILE_ROOTS"] = os.pathsep.join(str(p) for p in self.extra_file_roots)
        return env

    def export_environ(self, environ: MutableMapping[str, str]) -> None:
        """Put these settings into ``environ`` for worker processes, and remove the API key
        variable when writes are off: a worker reads ``SCICMR_API_KEY`` whatever
        ``--api-key-env`` named, so a stale one would turn writes on behind the parent's back."""
        if not self.api_key:
            environ.pop(DEFAULT_API_KEY_ENV, None)
        environ.update(self.to_environ())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, *, api_key_env: str = DEFAULT_API_KEY_ENV,
                 **overrides: Any) -> "Settings":
        """Settings from ``SCICMR_*`` variables; explicit ``overrides`` (not None) win."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        if environ.get(_ENV_PREFIX + "LIBRARY"):
            values["library"] = environ[_ENV_PREFIX + "LIBRARY"]
        for name in ("model", "backend"):
            if environ.get(_ENV_PREFIX + name.upper()):
                values[name] = environ[_ENV_PREFIX + name.upper()]
        if environ.get(api_key_env):
            values["api_key"] = environ[api_key_env]
        if environ.get(_ENV_PREFIX + "EXTRA_FILE_ROOTS"):
            values["extra_file_roots"] = tuple(Path(p) for p in environ[_ENV_PREFIX + "EXTRA_FILE_ROOTS"].split(os.pathsep))
        for name in (*_INT_SETTINGS, "rerank"):
            raw = environ.get(_ENV_PREFIX + name.upper())
            if raw:
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise InputError(f"{_ENV_PREFIX + name.upper()}={raw!r} is not an integer") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "library" not in values:
            raise InputError("no library to serve", fix=f"pass it (`scicmr serve LIB`) or set {_ENV_PREFIX}LIBRARY")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown settings {unknown}", fix=f"known settings: {sorted(known)}")
        return cls(**values)

    def with_changes(self, **changes: Any) -> "Settings":
        return replace(self, **changes)
