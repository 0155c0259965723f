"""End-to-end workflows over a library: ingest, encode, train, index, search, evaluate, export.

These are the library's public verbs; the CLI and the service are thin layers over them.
Each function takes a :class:`~scicmr.corpus.library.Library` (or a path) and plain values;
the heavy ones (``ingest`` of PDFs, ``ocr_figures``, ``encode_library``) also an ``executor``
(:class:`LocalExecutor`, the default, or :class:`RayExecutor` to run on Ray).
"""

from scicmr.parallel import LocalExecutor, RayExecutor
from scicmr.workflow.encode import encode_library
from scicmr.workflow.evaluate import evaluate_model
from scicmr.workflow.export import export_jsonl
from scicmr.workflow.hits import Hit
from scicmr.workflow.index import build_index
from scicmr.workflow.ingest import ingest
from scicmr.workflow.search import Searcher
from scicmr.workflow.train import train_model

__all__ = [
    "Hit",
    "LocalExecutor",
    "RayExecutor",
    "Searcher",
    "build_index",
    "encode_library",
    "evaluate_model",
    "export_jsonl",
    "ingest",
    "train_model",
]
