"""scicmr: cross-media retrieval of scientific and technological information.

Importing the package is light: torch, faiss and the pretrained models load only where
they are used. The usual entry points:

>>> from scicmr import Library                      # doctest: +SKIP
>>> lib = Library.open("lib/")                      # doctest: +SKIP
>>> from scicmr.workflow import train, search       # doctest: +SKIP
"""

__version__ = "0.1.0"

__all__ = ["__version__", "Library", "Record"]


def __getattr__(name):
    # Lazy re-exports keep `import scicmr` free of numpy/sqlite work.
    if name == "Library":
        from scicmr.corpus.library import Library

        return Library
    if name == "Record":
        from scicmr.corpus.record import Record

        return Record
    raise AttributeError(f"module 'scicmr' has no attribute {name!r}")
