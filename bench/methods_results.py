"""Reproduce the methods tables of docs/results.md (issue 3): every method side by side on
each dataset, the ablations and the sensitivity sweeps.

    .venv/bin/python bench/methods_results.py --data ../shared/data --out runs/methods

Libraries are built (or reused) under --out: Wikipedia from its .mat features, web_news_zh
from the raw files (EfficientNet-Lite0 + jieba TF-IDF/SVD), and the generated scientific
corpus (EfficientNet-Lite0 + MiniLM; it has years and authors, so MFCMR's side features act).
Each suite writes OUT/<dataset>/<suite>/{table.md, metrics/, plots/}; all tables are
concatenated into OUT/results.md.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("SCICMR_QUIET", "1")

from scicmr.corpus.library import Library  # noqa: E402
from scicmr.evaluation.suites import suite_rows  # noqa: E402
from scicmr.workflow import encode_library, ingest  # noqa: E402
from scicmr.workflow.benchmark import run_benchmark  # noqa: E402

# dataset -> suites run on it (sweeps on the datasets the papers use them on).
PLAN = {
    "wikipedia_xmodal_svcl": ["seeds-table", "smcr-ablation", "smcr-alpha", "smcr-beta"],
    "web_news_zh": ["seeds-table", "mfcmr-ablation", "smcr-ablation"],
    "scicmr_demo_corpus": ["seeds-table", "mfcmr-ablation", "mfcmr-k", "mfcmr-alpha", "mfcmr-beta"],
}


def library_for(name: str, data: Path, out: Path, demo_papers: int) -> Path:
    """The dataset's library under ``out`` (ingested and encoded once, then reused)."""
    root = out / "libraries" / name
    if (root / "library.json").exists():
        return root
    if name == "scicmr_demo_corpus":
        from scicmr.demo.corpus import generate_corpus

        source = generate_corpus(out / "demo_corpus", n_papers=demo_papers, seed=0, progress=False)
    else:
        source = data / name
    report = ingest(source, root)
    encode_library(report.library)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("runs/methods"))
    parser.add_argument("--demo-papers", type=int, default=240)
    parser.add_argument("--datasets", default=",".join(PLAN))
    parser.add_argument("--suites", default="", help="restrict to these suites")
    parser.add_argument("--methods", default="", help="restrict to these methods / rows")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    only_suites = {s for s in args.suites.split(",") if s}
    methods = [m for m in args.methods.split(",") if m] or None
    sections = []
    for dataset in [d for d in args.datasets.split(",") if d]:
        if dataset != "scicmr_demo_corpus" and not (args.data / dataset).exists():
            print(f"skip {dataset}: not found under {args.data}")
            continue
        lib = library_for(dataset, args.data, args.out, args.demo_papers)
        for suite in PLAN[dataset]:
            if only_suites and suite not in only_suites:
                continue
            try:
                rows = suite_rows(suite, methods)
            except Exception as exc:  # noqa: BLE001 - a suite filtered to nothing is skipped
                print(f"skip {dataset}/{suite}: {exc}")
                continue
            started = time.perf_counter()
            folder = args.out / dataset / suite
            run_benchmark(lib, rows, folder, seed=args.seed, title=f"{dataset} — {suite}")
            table = (folder / "table.md").read_text()
            sections.append(table)
            print(table, f"({time.perf_counter() - started:.0f}s)\n", flush=True)
        print(f"{dataset}: {Library.open(lib).split_counts()}")
    (args.out / "results.md").write_text("\n".join(sections), encoding="utf-8")


if __name__ == "__main__":
    main()
