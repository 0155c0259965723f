"""``scicmr serve LIB``: the search service and web UI over one library (uvicorn)."""

from __future__ import annotations

import argparse

from scicmr.cli._output import add_library_argument


def register(subparsers) -> None:
    from scicmr.service.settings import DEFAULT_API_KEY_ENV

    p = subparsers.add_parser("serve", help="serve a library as a search engine with a web UI (FastAPI + uvicorn)")
    add_library_argument(p)
    p.add_argument("--host", default="127.0.0.1",
                   help="interface to listen on (default 127.0.0.1; 0.0.0.0 lets phones on your network in)")
    p.add_argument("--port", type=int, default=8000, help="TCP port to listen on")
    p.add_argument("--model", help="model name (default: the library's default model)")
    p.add_argument("--api-key-env", default=DEFAULT_API_KEY_ENV, metavar="NAME",
                   help=f"environment variable holding the API key for write endpoints (default {DEFAULT_API_KEY_ENV}); "
                        "unset: writes are disabled")
    p.add_argument("--max-k", type=int, help="largest page size (default 100)")
    p.add_argument("--rerank", type=int, metavar="M",
                   help="hashing models and IVF-PQ indexes: re-rank a shortlist of M by exact cosine (IVF-PQ default 100)")
    p.add_argument("--backend", choices=["faiss", "milvus"],
                   help="milvus: serve from the library's Milvus index (`scicmr index LIB --backend milvus`; embedded "
                   "Milvus Lite unless built with --milvus-uri); writes are then refused (409). faiss: in-process "
                   "indexes. Default: the library's built index. Hashing models stay on the FAISS backend")
    p.add_argument("--max-upload-mb", type=float, help="largest uploaded image in MiB (default 10)")
    p.add_argument("--allow-root", action="append", default=[], metavar="DIR",
                   help="extra folder source PDFs may be rendered from (repeatable)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="serve from N processes (default 1) sharing the library's memory-mapped vectors and index "
                        "files; a write taken by any of them is published through the model's serving table and the "
                        "others switch to it at their next query")
    p.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"],
                   help="server log level")
    p.set_defaults(func=cmd_serve)


def settings_from_args(args: argparse.Namespace):
    from pathlib import Path

    from scicmr.service.settings import Settings

    return Settings.from_env(
        api_key_env=args.api_key_env, library=args.library, model=args.model, max_k=args.max_k, rerank=args.rerank,
        backend=args.backend,
        max_upload_bytes=int(args.max_upload_mb * 2**20) if args.max_upload_mb else None,
        extra_file_roots=tuple(Path(p) for p in args.allow_root) or None,
    )


def cmd_serve(args: argparse.Namespace) -> int:
    from scicmr.errors import InputError
    from scicmr.workflow.backends import milvus_lite_file
    from scicmr.workflow.library_data import as_library, resolve_model_name

    try:
        import uvicorn
    except ImportError:
        from scicmr.errors import MissingDependencyError

        raise MissingDependencyError("uvicorn", "serve") from None
    if not 0 < args.port < 65536:
        raise InputError(f"--port must be 1..65535, got {args.port}")
    if not 1 <= args.workers <= 64:
        raise InputError(f"--workers must be 1..64, got {args.workers}")
    settings = settings_from_args(args)
    # Fail here with the CLI's clear message rather than inside the server's startup.
    lib = as_library(settings.library)
    model = resolve_model_name(lib, settings.model)
    if args.workers > 1 and (lite := milvus_lite_file(lib, model, settings.backend)) is not None:
        raise InputError(f"--workers {args.workers}: model {model!r} is served from the Milvus Lite file {lite}, "
                         "which only one process can open",
                         fix="serve it with --workers 1, or index it into a Milvus server "
                             f"(scicmr index {args.library} --backend milvus --milvus-uri http://HOST:19530)")
    from scicmr.service.app import create_app

    state = "on" if settings.writes_enabled else f"off (set ${args.api_key_env} to enable)"
    workers = f", {args.workers} worker processes" if args.workers > 1 else ""
    print(f"serving {settings.library} at http://{args.host}:{args.port}/{workers} — API docs at /docs, writes {state}")
    if args.workers > 1:
        import os

        # Each worker process builds its app from these variables (uvicorn imports the factory).
        settings.export_environ(os.environ)
        uvicorn.run("scicmr.service.app:app_from_env", factory=True, workers=args.workers, host=args.host,
                    port=args.port, log_level=args.log_level)
        return 0
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
    return 0
