"""The search service: a FastAPI app and a web UI over one library.

>>> from scicmr.service import Settings, create_app          # doctest: +SKIP
>>> app = create_app(Settings(library="lib/"))                # doctest: +SKIP

Importing this package does not import FastAPI; :func:`create_app` does.
"""

from scicmr.service.settings import Settings


def create_app(settings: Settings):
    from scicmr.service.app import create_app as _create

    return _create(settings)


__all__ = ["Settings", "create_app"]
