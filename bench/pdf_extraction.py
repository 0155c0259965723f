"""PDF figure extraction: recall, caption exactness, crop fidelity and speed.

    PYTHONPATH=src OMP_NUM_THREADS=1 .venv/bin/python bench/pdf_extraction.py \\
        --data ../shared/data/jose_jats_figures --workers 2 --write-docs docs/pdf.md

The data folder has each paper's exact figure images and JATS captions but no paper PDFs, so
the papers are typeset again first (bench/pdf_rebuild.py: real titles, real figure images,
exact captions, generated body text; three producers/layouts). Each layout's PDFs are then
ingested with ``scicmr.workflow.ingest`` — the same path as ``scicmr ingest`` — and compared
with the ground truth by (paper, figure number):

- recall: ground-truth figures that became a record / all ground-truth figures;
- caption exact: share of ground-truth captions equal to the record's caption after
  ``scicmr.corpus.pdf.captions.normalise_caption`` (NFKC, dashes and quotes to ASCII, soft
  hyphens dropped, whitespace collapsed, hyphens between letters removed with the spaces
  around them); a missing figure counts as not exact;
- caption similarity: difflib's ratio of the two normalised strings (0 when missing), mean;
- crop correlation: Pearson correlation of the crop and the ground-truth image, both
  composited on white, gray, 64×64; median and minimum over found figures (near 1: the crop
  is the figure, tight);
- context recall: share of the generated citing sentences found in the record's context;
- title exact: papers whose extracted title equals the real one (normalised);
- pages/s: pages / seconds of reading one paper in a worker (layout, captions, regions,
  rendering, PNG writing), median over papers, by wall clock and by the worker's CPU time
  (which other jobs on a shared machine do not inflate); also the wall time of the ingest.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("SCICMR_QUIET", "1")

from pdf_rebuild import (LAYOUTS, build_chromium, build_html, build_reportlab,  # noqa: E402
                         citing_sentences, paper_text)

from scicmr.corpus.pdf.captions import normalise_caption  # noqa: E402

MARK_BEGIN, MARK_END = "<!-- bench:pdf_extraction:begin -->", "<!-- bench:pdf_extraction:end -->"


def load_truth(data: Path) -> dict[str, dict]:
    papers: dict[str, dict] = {}
    for line in (data / "pairs.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        paper = papers.setdefault(row["paper"], {"title": row["title"], "keywords": row.get("keywords", []), "figures": {}})
        paper["figures"][int(row["figure_index"])] = (data / "images" / row["image"], row["caption"])
    return papers


def build_pdfs(papers: dict[str, dict], layout: str, folder: Path) -> dict[str, dict[int, list[str]]]:
    """Typeset every paper in ``layout`` into ``folder``; returns the citing sentences."""
    folder.mkdir(parents=True, exist_ok=True)
    cites, chromium_jobs = {}, []
    for name, paper in sorted(papers.items()):
        numbers = sorted(paper["figures"])
        summary, paragraphs = paper_text(paper["title"], paper["keywords"], numbers)
        cites[name] = citing_sentences(paragraphs)
        pdf = folder / f"{name}.pdf"
        if layout.startswith("chromium"):
            html_file = folder / f"{name}.html"
            html_file.write_text(build_html(layout, paper["title"], summary, paragraphs, paper["figures"]), encoding="utf-8")
            chromium_jobs.append((layout, html_file, pdf, paper["title"]))
        else:
            build_reportlab(pdf, paper["title"], summary, paragraphs, paper["figures"])
    if chromium_jobs:
        build_chromium(chromium_jobs)
        for _, html_file, _, _ in chromium_jobs:
            html_file.unlink()
    return cites


def crop_correlation(a: Path, b: Path) -> float:
    from PIL import Image

    def gray(path: Path) -> np.ndarray:
        with Image.open(path) as im:
            # Transparent pixels are printed on white paper: composite before comparing.
            rgba = im.convert("RGBA")
            page = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
            return np.asarray(page.convert("L").resize((64, 64), Image.BILINEAR), dtype=np.float64).ravel()

    x, y = gray(a), gray(b)
    if x.std() == 0 or y.std() == 0:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def evaluate(papers: dict[str, dict], layout: str, work: Path, workers: int) -> dict:
    from scicmr.corpus.library import Library
    from scicmr.workflow import ingest

    pdfs = work / layout / "pdfs"
    cites = build_pdfs(papers, layout, pdfs)
    lib_dir = work / layout / "lib"
    start = time.perf_counter()
    report = ingest(pdfs, lib_dir, overwrite=True, reader_options={"workers": workers})
    wall = time.perf_counter() - start
    lib = Library.open(lib_dir)
    found = {(r.group, int(re.sub(r"\D", "", r.extra["figure"]) or 0)): r for r in lib.records()}
    rows, exact, sims, corrs, ctx_hit, ctx_all, titles = [], 0, [], [], 0, 0, 0
    for name, paper in sorted(papers.items()):
        rec_any = next((r for (g, _), r in found.items() if g == name), None)
        titles += bool(rec_any and normalise_caption(rec_any.title) == normalise_caption(paper["title"]))
        for n, (image, caption) in sorted(paper["figures"].items()):
            rec = found.get((name, n))
            truth = normalise_caption(caption)
            got = normalise_caption(rec.text) if rec else ""
            exact += got == truth
            sims.append(difflib.SequenceMatcher(None, got, truth).ratio() if rec else 0.0)
            if rec:
                corrs.append(crop_correlation(lib_dir / rec.image, image))
            for sentence in cites[name].get(n, []):
                ctx_all += 1
                ctx_hit += bool(rec and normalise_caption(sentence) in normalise_caption(rec.context))
            if got != truth:
                rows.append({"figure": f"{name} #{n}", "truth": caption[:90], "got": (rec.text[:90] if rec else None)})
    total = sum(len(p["figures"]) for p in papers.values())
    stats = report.notes.get("pdf_stats", {})
    speeds = [s["pages"] / s["seconds"] for s in stats.values() if s.get("seconds")]
    cpu_speeds = [s["pages"] / s["cpu_seconds"] for s in stats.values() if s.get("cpu_seconds")]
    return {
        "layout": layout, "papers": len(papers), "figures": total, "records": report.added,
        "recall": sum(1 for (g, n) in found if n in papers.get(g, {}).get("figures", {})) / total,
        "extra_records": sum(1 for (g, n) in found if n not in papers.get(g, {}).get("figures", {})),
        "caption_exact": exact / total, "caption_similarity": float(np.mean(sims)),
        "crop_correlation_median": float(np.median(corrs)) if corrs else 0.0,
        "crop_correlation_min": float(np.min(corrs)) if corrs else 0.0,
        "context_recall": ctx_hit / max(ctx_all, 1), "title_exact": titles / len(papers),
        "pages": int(sum(s["pages"] for s in stats.values())),
        "pages_per_s_median": float(statistics.median(speeds)) if speeds else 0.0,
        "pages_per_cpu_s_median": float(statistics.median(cpu_speeds)) if cpu_speeds else 0.0,
        "ingest_wall_s": wall, "skipped": report.skipped, "misses": rows,
    }


def table(results: list[dict]) -> str:
    head = ("| layout | figures | recall | caption exact | caption similarity | crop corr. median / min "
            "| context recall | title exact | extra records | pages | pages/s wall / CPU (median) | ingest wall s |")
    lines = [head, "|" + "---|" * 12]
    for r in results:
        lines.append(f"| {r['layout']} | {r['figures']} | {r['recall']:.3f} | {r['caption_exact']:.3f} | "
                     f"{r['caption_similarity']:.3f} | {r['crop_correlation_median']:.3f} / {r['crop_correlation_min']:.3f} | {r['context_recall']:.3f} | "
                     f"{r['title_exact']:.3f} | {r['extra_records']} | {r['pages']} | {r['pages_per_s_median']:.1f} / {r['pages_per_cpu_s_median']:.1f} | "
                     f"{r['ingest_wall_s']:.1f} |")
    return "\n".join(lines)


def write_docs(path: Path, text: str) -> None:
    doc = path.read_text(encoding="utf-8") if path.exists() else ""
    block = f"{MARK_BEGIN}\n{text}\n{MARK_END}"
    if MARK_BEGIN in doc and MARK_END in doc:
        doc = doc[: doc.index(MARK_BEGIN)] + block + doc[doc.index(MARK_END) + len(MARK_END):]
    else:
        doc = doc.rstrip() + "\n\n" + block + "\n"
    path.write_text(doc, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/jose_jats_figures")
    parser.add_argument("--layouts", default=",".join(LAYOUTS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--work", help="folder for the PDFs and libraries (default: a temporary one)")
    parser.add_argument("--json", help="write all results (with every miss) to this file")
    parser.add_argument("--write-docs", help="replace the results block in this markdown file")
    args = parser.parse_args()
    data = Path(args.data)
    if not (data / "pairs.jsonl").is_file():
        print(f"no pairs.jsonl in {data}: pass --data pointing at the jose_jats_figures folder", file=sys.stderr)
        return 2
    papers = load_truth(data)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        results = [evaluate(papers, layout, work, args.workers) for layout in args.layouts.split(",")]
    text = table(results)
    print(text)
    for r in results:
        for miss in r["misses"]:
            print(f"  {r['layout']}: {miss}")
        for skip in r["skipped"]:
            print(f"  {r['layout']}: skipped {skip}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    if args.write_docs:
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        write_docs(Path(args.write_docs), text + f"\n\n{len(papers)} papers; {os.cpu_count()} CPUs, load average "
                   f"{load} after the run (the machine is shared); workers={args.workers}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
