"""`scicmr demo`: the whole pipeline on a corpus the project generates itself.

Generate figures + captions → ingest → encode (EfficientNet-Lite0, MiniLM) → train CCA and
CARDL → index → sample queries in both directions → a metrics table on the test split.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Sequence

SAMPLE_TEXT_QUERIES = (
    "heat map of gene expression across samples",
    "X-ray diffraction pattern of a thin film",
    "training loss curve of a neural network",
)


def run_demo(out: str | Path = "demo_out", *, n_papers: int = 240, seed: int = 0,
             methods: Sequence[str] = ("cca", "cardl")) -> dict[str, dict]:
    """Run the demo in ``out`` (recreated) and return the metrics documents per model."""
    from rich.console import Console

    from scicmr.demo.corpus import generate_corpus
    from scicmr.evaluation.report import metrics_table
    from scicmr.workflow import Searcher, build_index, encode_library, evaluate_model, ingest, train_model

    console = Console(highlight=False, markup=False)  # paths and captions are text, not markup
    out = Path(out)
    if out.exists():
        shutil.rmtree(out)
    started = time.perf_counter()

    console.rule("1. generate a scientific corpus")
    manifest = generate_corpus(out / "corpus", n_papers=n_papers, seed=seed)
    console.print(f"manifest: {manifest}")

    console.rule("2. ingest")
    report = ingest(manifest, out / "library", seed=seed)
    console.print(f"{report.added} figure–caption pairs, splits {report.splits}, skipped {len(report.skipped)}")

    console.rule("3. encode (EfficientNet-Lite0 images, MiniLM text)")
    keys = encode_library(report.library)
    console.print(f"features: {keys}")

    documents = {}
    for method in methods:
        console.rule(f"4. train {method}")
        trained = train_model(report.library, method)
        console.print(f"{method}: {trained.train_pairs} train pairs, {trained.seconds:.1f}s")
        documents[method] = evaluate_model(report.library, method)
    build_index(report.library, methods[-1], kind="flat")

    console.rule(f"5. search with '{methods[-1]}'")
    searcher = Searcher(report.library, methods[-1])
    for query in SAMPLE_TEXT_QUERIES:
        hits = searcher.search_text(query, k=3)
        console.print(f"text → figures {query!r}", style="bold")
        _print_hits(console, hits)
    test_records = searcher.lib.records("test")
    if test_records:
        query_record = test_records[0]
        hits = searcher.search_image(searcher.lib.image_path(query_record), k=3)
        console.print(f"figure → captions: query {query_record.id} {_labels(query_record)} "
                      f"{query_record.text[:70]}", style="bold")
        _print_hits(console, hits)

    console.rule("6. evaluation on the test split (label relevance: same field)")
    first = next(iter(documents.values()))
    title = f"{first['pool']['queries']} queries × {first['pool']['candidates']} candidates"
    console.print(metrics_table(documents, title=title))
    console.print(f"done in {time.perf_counter() - started:.0f}s; library at {report.library}")
    return documents


def _labels(record) -> str:
    return "[" + ",".join(record.labels) + "]"


def _print_hits(console, hits) -> None:
    for hit in hits:
        console.print(f"   {hit.rank}. {hit.score:.3f} {_labels(hit.record)} {hit.record.text[:80]}")
