"""Cleaning throughput: images per second per check and overall, on generated demo figures.

Generates (once) a demo corpus of ~1,200 figures, then times the cleaning pass: the
per-image inspection (decode + integrity + size/aspect + blankness + both perceptual hashes,
one read per image), exact duplicates, near duplicates, and the two model-based checks (with
the encoder given). Fast stages are repeated ``--repeats`` times and the median reported.
Also prints how many images of this clean corpus each check flags (its false-positive count).

    PYTHONPATH=src python bench/bench_clean.py --papers 400 --encoder efficientnet-lite0
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("SCICMR_QUIET", "1")


def defect_acceptance(encoder_name: str, n_clean: int, folder: str) -> dict:
    """Plant the defects of :mod:`scicmr.demo.defects` among ``n_clean`` figures and scan with
    every check: which planted ids are caught (and why), which clean ones are flagged."""
    from scicmr.cleaning import scan_images
    from scicmr.demo.defects import plant_defects
    from scicmr.encoders import create_encoder

    planted = plant_defects(folder, n_clean=n_clean, seed=0)
    items = [(r.id, str(planted.library.image_path(r))) for r in planted.library.records()]
    report = scan_images(items, encoder=create_encoder(encoder_name))
    found = {f.id: sorted(f.reasons) for f in report.flags}
    print(f"\nplanted defects among {n_clean} clean figures, encoder {encoder_name}:")
    print("| planted | expected | flagged as |")
    print("|---|---|---|")
    for defect, expected in planted.expected.items():
        print(f"| {defect} | {' or '.join(sorted(expected))} | {', '.join(found.get(defect, ['MISSED']))} |")
    false = sorted(set(found) - set(planted.expected))
    print(f"clean figures flagged: {len(false)} {false}")
    return {"found": found, "clean_flagged": false}


def main() -> None:
    from scicmr.cleaning import scan_images
    from scicmr.demo.corpus import generate_corpus
    from scicmr.encoders import create_encoder

    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="bench/out/clean_corpus")
    ap.add_argument("--papers", type=int, default=400)
    ap.add_argument("--encoder", default="efficientnet-lite0")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--model-limit", type=int, default=300,
                    help="run the model-based checks (outlier, domain) on the first N figures only (CNN cost)")
    ap.add_argument("--out", default="bench/out/bench_clean.json")
    ap.add_argument("--defects", type=int, default=60, help="clean figures in the planted-defect check (0: skip)")
    args = ap.parse_args()
    acceptance = defect_acceptance(args.encoder, args.defects, "bench/out/defects_lib") if args.defects else None

    manifest = Path(args.corpus) / "manifest.jsonl"
    if not manifest.exists():
        generate_corpus(args.corpus, n_papers=args.papers, seed=1)
    rows = [json.loads(line) for line in manifest.open()]
    items = [(r["id"], str(Path(args.corpus) / r["image"])) for r in rows]
    n = len(items)
    print(f"{n} figures in {args.corpus}")

    fast = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        report = scan_images(items, checks="fast")
        fast.append({**report.seconds, "total": time.perf_counter() - t0})
    stage = {k: statistics.median(r[k] for r in fast) for k in fast[0]}
    flagged = report.counts()
    t0 = time.perf_counter()
    model_items = items[: args.model_limit]
    model = scan_images(model_items, checks="outlier,domain", encoder=create_encoder(args.encoder))
    model_total = time.perf_counter() - t0
    stage.update({k: v for k, v in model.seconds.items() if k in ("outlier", "domain")})
    sizes = {k: (len(model_items) if k in ("outlier", "domain") else n) for k in stage}
    flagged.update(model.counts())

    print("\n| stage | seconds (median) | images/s |")
    print("|---|---|---|")
    names = {"inspect": "inspect (integrity, size, aspect, blank, hashes)", "exact": "exact duplicates",
             "near": "near duplicates", "outlier": f"outlier (incl. encoding, {args.encoder})",
             "domain": "domain classifier (OOD set + augmented views + 5 folds)"}
    for key, label in names.items():
        if key in stage:
            print(f"| {label} ({sizes[key]} images) | {stage[key]:.2f} | {sizes[key] / max(stage[key], 1e-9):.1f} |")
    print(f"| all pixel checks (fast) | {stage['total']:.2f} | {n / stage['total']:.1f} |")
    overall = stage["total"] / n + model_total / len(model_items)  # seconds per image, all checks
    print(f"| everything (per-image cost summed) | - | {1 / overall:.1f} |")
    print(f"\nflagged on this clean corpus: {flagged or 'nothing'}")
    for flag in report.flags[:10] + model.flags[:10]:
        print(f"  {flag.id}: {', '.join(flag.reasons)}" + (f" (= {flag.duplicate_of})" if flag.duplicate_of else ""))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"images": n, "encoder": args.encoder, "seconds": stage,
                                          "overall_seconds_per_image": overall, "model_images": len(model_items), "flagged": flagged,
                                          "defects": acceptance}, indent=2))


if __name__ == "__main__":
    main()
