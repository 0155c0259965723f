"""PDF ingest throughput (pages/s): one process vs a local Ray with 1 and 2 worker CPUs.

Reads the first ``--papers`` PDFs by file name from the real-paper cache (``bench/real_pdfs.py``
fills ``bench/real_pdfs_cache/``), with the default ingest settings (figure OCR ``auto``: every
figure read by Tesseract) unless ``--figure-ocr`` says otherwise. Each run starts with an empty
figure-OCR cache, so every run OCRs every figure. Ray's start-up is timed apart from the ingest
(a long-lived cluster pays it once); the ingest time includes starting its worker processes.
Every run must give the same records (checked: ids, captions, figure words).

    python bench/bench_ray_ingest.py                       # 16 papers, OCR auto
    python bench/bench_ray_ingest.py --papers 8 --figure-ocr off --cpus 1 2

Prints a table; writes ``bench/out/scale/ray_ingest.json``. On a machine whose cores are
shared with other work the figures are noisy lower bounds of what Ray gives.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _source(cache: Path, papers: int, root: Path) -> tuple[Path, list[str]]:
    """A folder linking the first ``papers`` PDFs of ``cache`` by name."""
    names = sorted(p.name for p in cache.glob("*.pdf"))[:papers]
    if not names:
        raise SystemExit(f"no PDFs in {cache}: fill it with `python bench/real_pdfs.py` or pass --cache")
    folder = root / "papers"
    folder.mkdir()
    for name in names:
        (folder / name).symlink_to(cache / name)
    return folder, names


def _run(label: str, source: Path, root: Path, figure_ocr: str, cpus: int | None) -> tuple[dict, list]:
    """One ingest into a new library under ``root``; ``cpus`` None: one local process."""
    from scicmr.corpus.library import Library
    from scicmr.workflow import RayExecutor, ingest

    os.environ["SCICMR_CACHE_DIR"] = tempfile.mkdtemp(prefix="ocr-cache-", dir=root)  # cold OCR cache
    executor, startup = None, 0.0
    if cpus is not None:
        executor = RayExecutor("local", num_cpus=cpus)
        started = time.perf_counter()
        executor.connect()
        startup = time.perf_counter() - started
    try:
        started = time.perf_counter()
        report = ingest(source, root / label, reader_options={"workers": 1, "figure_ocr": figure_ocr},
                        executor=executor)
        seconds = time.perf_counter() - started
    finally:
        if executor is not None:
            executor.close()
    stats = report.notes["pdf_stats"].values()
    pages = sum(s["pages"] for s in stats)
    records = [(r.id, r.text, r.extra.get("figure_text"), r.extra.get("ocr_text"))
               for r in Library.open(root / label).records()]
    row = {"run": label, "ray_cpus": cpus, "ray_startup_s": round(startup, 2), "ingest_s": round(seconds, 2),
           "pages": pages, "figures": report.added, "ocr_figures": sum(s["ocr_figures"] for s in stats),
           "skipped": len(report.skipped), "pages_per_s": round(pages / seconds, 3),
           "cpu_s_in_files": round(sum(s["cpu_seconds"] for s in stats), 1)}
    return row, records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=HERE / "real_pdfs_cache", help="folder of real PDFs")
    parser.add_argument("--papers", type=int, default=16, help="the first N PDFs by name (default 16)")
    parser.add_argument("--figure-ocr", default="auto", choices=["auto", "missing", "off"])
    parser.add_argument("--cpus", type=int, nargs="+", default=[1, 2], help="local Ray sizes to run (default 1 2)")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "scale" / "ray_ingest.json")
    args = parser.parse_args()
    os.environ.setdefault("SCICMR_QUIET", "1")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    root = Path(tempfile.mkdtemp(prefix="bench-ray-ingest-"))
    try:
        source, names = _source(args.cache, args.papers, root)
        rows, reference = [], None
        for label, cpus in [("one process", None)] + [(f"ray {c} cpu", c) for c in args.cpus]:
            row, records = _run(label.replace(" ", "-"), source, root, args.figure_ocr, cpus)
            row["run"], row["same_records_as_one_process"] = label, reference is None or records == reference
            reference = reference or records
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    base = rows[0]["ingest_s"]
    print(f"\n{len(names)} PDFs (first by name in {args.cache}), figure OCR {args.figure_ocr}, "
          f"{os.cpu_count()} cores seen (shared with other work)")
    print(f"{'run':<14}{'pages':>7}{'figures':>9}{'start s':>9}{'ingest s':>10}{'pages/s':>9}{'speed-up':>10}{'same':>6}")
    for r in rows:
        print(f"{r['run']:<14}{r['pages']:>7}{r['figures']:>9}{r['ray_startup_s']:>9.1f}{r['ingest_s']:>10.1f}"
              f"{r['pages_per_s']:>9.2f}{base / r['ingest_s']:>9.2f}x{str(r['same_records_as_one_process']):>6}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "papers": names, "figure_ocr": args.figure_ocr, "cores": os.cpu_count(), "machine": platform.platform(),
        "note": "cores shared with other work: noisy lower bounds", "runs": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
