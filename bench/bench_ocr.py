"""OCR of figures: speed (figures/s, median over runs, 1 and 2 worker processes) and, with
``--compare``, the reading quality of Tesseract settings on rendered figures whose printed words
are known (the demo corpus's render specs: titles, axis labels, legends, categories).

    python bench/bench_ocr.py --papers 20 --runs 3
    python bench/bench_ocr.py --papers 20 --compare --image-size 256

Quality: token recall = share of the words drawn in the figure (2+ letters) that the OCR text
contains; token precision = share of OCR tokens that are drawn words (case-insensitive).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

_TOKEN = re.compile(r"[A-Za-z][A-Za-z\-]+")


def drawn_words(spec) -> set[str]:
    """Lower-cased words of every string in a render spec (recursively)."""
    words: set[str] = set()
    if isinstance(spec, str):
        words.update(t.lower().strip("-") for t in _TOKEN.findall(spec))
    elif isinstance(spec, dict):
        for key, value in spec.items():
            if key not in ("kind", "style", "variant", "cmap", "palette"):
                words |= drawn_words(value)
    elif isinstance(spec, (list, tuple)):
        for value in spec:
            words |= drawn_words(value)
    return {w for w in words if len(w) >= 2}


def make_library(folder: Path, papers: int, image_size: int, seed: int):
    from scicmr.demo.corpus import generate_corpus, plan_corpus
    from scicmr.workflow import ingest

    manifest = generate_corpus(folder / "corpus", n_papers=papers, seed=seed, image_size=image_size, progress=False)
    ingest(manifest, folder / "lib", overwrite=True)
    specs = {item.record["id"]: item.spec for item in plan_corpus(n_papers=papers, seed=seed)}
    from scicmr.corpus.library import Library

    return Library.open(folder / "lib"), specs


def speed(lib, workers: int, runs: int) -> float:
    """Median figures/s of ``scicmr ocr --force`` over ``runs`` runs."""
    from scicmr.corpus.ocr_library import ocr_library

    rates = []
    for _ in range(runs):
        started = time.perf_counter()
        report = ocr_library(lib, lang="eng", workers=workers, force=True)
        rates.append(report.done / (time.perf_counter() - started))
    return statistics.median(rates)


def quality(lib, specs: dict, settings) -> tuple[float, float, float]:
    """(token recall, token precision, seconds per figure) of ``settings`` over the library."""
    from scicmr.corpus.ocr import ocr_image

    recalls, precisions, started = [], [], time.perf_counter()
    records = [r for r in lib.records() if r.image]
    for record in records:
        truth = drawn_words(specs[record.id])
        got = {t.lower().strip("-") for t in _TOKEN.findall(ocr_image(lib.image_path(record), settings))}
        if truth:
            recalls.append(len(truth & got) / len(truth))
        if got:
            precisions.append(len(truth & got) / len(got))
    seconds = (time.perf_counter() - started) / len(records)
    return statistics.mean(recalls), statistics.mean(precisions) if precisions else 0.0, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=20)
    parser.add_argument("--image-size", type=int, default=256)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--compare", action="store_true", help="compare page segmentation / binarisation")
    args = parser.parse_args()
    from scicmr.corpus.ocr import OcrSettings, tesseract_version

    with tempfile.TemporaryDirectory() as tmp:
        lib, specs = make_library(Path(tmp), args.papers, args.image_size, args.seed)
        n = len(lib)
        print(f"tesseract {tesseract_version()}, {n} demo figures of {args.image_size} px, OMP_THREAD_LIMIT=1 per process")
        if args.compare:
            print("| psm | binarize | token recall | token precision | s/figure |\n|---|---|---|---|---|")
            for psm in (3, 6, 11):
                for binarize in ("none", "otsu"):
                    recall, precision, seconds = quality(lib, specs, OcrSettings(psm=psm, binarize=binarize))
                    print(f"| {psm} | {binarize} | {recall:.3f} | {precision:.3f} | {seconds:.3f} |")
            return
        print("| workers | figures/s (median of %d runs) |\n|---|---|" % args.runs)
        for workers in (1, 2):
            print(f"| {workers} | {speed(lib, workers, args.runs):.2f} |")


if __name__ == "__main__":
    main()
