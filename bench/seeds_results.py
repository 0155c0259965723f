"""The seeds' tables over several training seeds: mean ± std of every test metric (issue 14).

Builds (or reuses) the Wikipedia and web_news_zh libraries as ``bench/methods_results.py`` does,
then runs the ``seeds-table`` suite once per seed (``scicmr benchmark LIB --suite seeds-table
--seeds N``); each dataset's ``table.md`` holds ``mean ± std`` cells.

    .venv/bin/python bench/seeds_results.py --data ../shared/data --out runs/seeds --seeds 3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("SCICMR_QUIET", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from methods_results import library_for  # noqa: E402

from scicmr.evaluation.suites import suite_rows  # noqa: E402
from scicmr.workflow.benchmark_seeds import run_benchmark_seeds  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("runs/seeds"))
    parser.add_argument("--datasets", default="wikipedia_xmodal_svcl,web_news_zh")
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    for name in args.datasets.split(","):
        started = time.perf_counter()
        library = library_for(name, args.data, args.out, demo_papers=240)
        out = args.out / name / "seeds-table"
        run_benchmark_seeds(library, suite_rows("seeds-table", []), out, seeds=range(args.seeds))
        print(f"== {name}: {args.seeds} seeds in {time.perf_counter() - started:.0f} s; {out / 'table.md'}")
        print((out / "table.md").read_text())


if __name__ == "__main__":
    main()
