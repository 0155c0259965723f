"""Real papers, three ways: cross-media pairs, library search by citing sentence, and (with
bench/photo_matching.py) photo → figure — with the default commands a new user runs.

    python bench/real_pdfs.py                       # the PDFs (bench/real_pdfs_cache, recorded sources)
    python bench/real_papers.py --pdfs bench/real_pdfs_cache --work bench/out/real_papers

Steps (each timed; a step whose output exists is reused unless --fresh):

1. the default commands, exactly: ``scicmr ingest PDFS --out LIB``, ``scicmr train LIB``,
   ``scicmr evaluate LIB --json`` (pair protocol on the test split, split by paper);
2. the pinned baseline of the same run: TF-IDF cosine (fitted on the train split's captions,
   English stop words, sublinear tf) between the caption without its "Figure N:" label and
   tesseract-eng OCR text of the figure crop, over every test pair of evaluate's pool (a figure
   without OCR text scores 0 everywhere: it ranks by pool order, the metrics' tie rule); the
   same with the figure's stored words (text layer, else OCR) for reference;
3. (a) every registered pair method trained on the library's features (a copy of the library,
   so the default model stays), evaluated alone and as the cross-modal channel of its hybrid;
4. (b) library search: every test-split body sentence citing a figure ("… as shown in Fig. 3 …")
   → that figure among all test figures, the figure's own citing sentences held out; hits@1,
   hits@10, MRR of the fused ranking and of each channel alone.

Prints a markdown table and writes ``WORK/real_papers.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("SCICMR_QUIET", "1")
SCICMR = [sys.executable, "-m", "scicmr.cli"]
FAST_METHODS = ("cca", "cca-hash", "cardl", "idcmr", "dscmr", "corr-ae", "cmdn", "acmr", "ssacr", "mfcmr", "smcr",
                "dcmh", "ms-sch-gan", "mask-hash-transformer")


def run(argv: list[str], log: Path) -> float:
    """Run one scicmr command (stdout+stderr to ``log``); its wall-clock seconds."""
    started = time.perf_counter()
    with open(log, "w") as out:
        code = subprocess.call(SCICMR + argv, stdout=out, stderr=subprocess.STDOUT)
    if code:
        raise SystemExit(f"{' '.join(argv)} failed (exit {code}); see {log}")
    return time.perf_counter() - started


def default_commands(pdfs: Path, work: Path, fresh: bool) -> dict:
    lib = work / "lib"
    times = {}
    if fresh or not (lib / "library.json").exists():
        times["ingest_s"] = run(["ingest", str(pdfs), "--out", str(lib), "--overwrite"], work / "ingest.log")
        times["train_s"] = run(["train", str(lib)], work / "train.log")
    times["evaluate_s"] = run(["evaluate", str(lib), "--json", str(work / "evaluate.json")], work / "evaluate.log")
    report = json.loads((lib / "reports" / "ingest.json").read_text()) if (lib / "reports" / "ingest.json").exists() else {}
    stats = (report.get("notes") or {}).get("pdf_stats") or {}
    pages = sum(int(v.get("pages", 0)) for v in stats.values()) if isinstance(stats, dict) else 0
    return {"library": str(lib), "pages": pages, **times,
            "pages_per_s": pages / times["ingest_s"] if pages and "ingest_s" in times else None,
            "evaluate": json.loads((work / "evaluate.json").read_text())}


def ocr_texts(lib, records, cache: Path) -> list[str]:
    """tesseract-eng text of each record's figure crop (cached by record id in ``cache``)."""
    from scicmr._progress import progress
    from scicmr.corpus.ocr import OcrSettings, ocr_image

    known = json.loads(cache.read_text()) if cache.exists() else {}
    for record in progress(records, desc="OCR (baseline)", unit="figure"):
        if record.id not in known:
            known[record.id] = ocr_image(lib.image_path(record), OcrSettings(lang="eng"))
    cache.write_text(json.dumps(known))
    return [known[r.id] for r in records]


def tfidf_baseline(train_captions: list[str], captions: list[str], figure_texts: list[str]) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from scicmr.evaluation.metrics import score_metrics

    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True).fit(train_captions)
    c, f = vectorizer.transform(captions), vectorizer.transform(figure_texts)
    scores = (c @ f.T).toarray()
    positive = np.arange(len(captions))
    return {"t2i": score_metrics(scores, positive_index=positive), "i2t": score_metrics(scores.T, positive_index=positive),
            "figures_with_text": int(sum(1 for t in figure_texts if t.strip()))}


def baselines(lib_path: Path, work: Path) -> dict:
    from scicmr.corpus.figure_text import caption_without_label, figure_words
    from scicmr.corpus.library import Library
    from scicmr.workflow.library_data import paired_records

    lib = Library.open(lib_path)
    test, train = paired_records(lib, "test"), paired_records(lib, "train")
    captions = [caption_without_label(r.text) for r in test]
    train_captions = [caption_without_label(r.text) for r in train]
    return {"tfidf_ocr": tfidf_baseline(train_captions, captions, ocr_texts(lib, test, work / "ocr_cache.json")),
            "tfidf_figure_words": tfidf_baseline(train_captions, captions, [figure_words(r) for r in test])}


def methods_table(lib_path: Path, work: Path, methods: list[str]) -> dict:
    """Each method trained on a copy of the library: evaluated alone and inside its hybrid."""
    from scicmr.workflow import evaluate_model, train_model

    copy = work / "methods_lib"
    if not copy.exists():
        shutil.copytree(lib_path, copy, ignore=shutil.ignore_patterns("models", "indexes"))
    rows = {}
    for method in methods:
        started = time.perf_counter()
        try:
            train_model(copy, method)
        except Exception as exc:  # noqa: BLE001 -- one method failing must not hide the others
            rows[method] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
            continue
        seconds = time.perf_counter() - started
        alone = evaluate_model(copy, method, plots=False, protocol="pair", channels=("cross_modal",))
        fused = evaluate_model(copy, method, plots=False, protocol="pair")
        rows[method] = {"train_s": round(seconds, 1),
                        "alone": {t: alone[t]["mrr"] for t in ("t2i", "i2t")},
                        "hybrid": {t: fused[t]["mrr"] for t in ("t2i", "i2t")},
                        "hybrid_hits@10": {t: fused[t]["hits@10"] for t in ("t2i", "i2t")},
                        "fusion": fused["ranker"].get("fusion")}
        print(f"  {method:24s} alone t2i {rows[method]['alone']['t2i']:.3f} i2t {rows[method]['alone']['i2t']:.3f}"
              f" | hybrid t2i {rows[method]['hybrid']['t2i']:.3f} i2t {rows[method]['hybrid']['i2t']:.3f}", flush=True)
    return rows


def citing_search(lib_path: Path) -> dict:
    """(b): test-split citing sentences → test figures, own citing sentences held out."""
    from scicmr.corpus.library import Library
    from scicmr.evaluation.metrics import score_metrics
    from scicmr.methods import load_method
    from scicmr.workflow.channels import TextEmbedder, cosine
    from scicmr.workflow.hybrid import citing_queries, fusion_for, hybrid_config, search_channels
    from scicmr.workflow.index import shared_vectors
    from scicmr.workflow.library_data import paired_records, resolve_model_name, training_info
    from scicmr.workflow.search import model_query_encoder

    lib = Library.open(lib_path)
    model = resolve_model_name(lib, None)
    config = hybrid_config(lib, model)
    features = training_info(lib, model)["features"]
    method = load_method(lib.model_dir(model))
    records = paired_records(lib, "test")
    queries, targets = citing_queries(records)
    image = shared_vectors(lib, model, [r.id for r in records], method=method, feature_keys=features,
                           modalities=("image",))["image"]
    text = method.transform_text(model_query_encoder(lib, "text", features["text"]).encode(queries, batch_size=32))
    channels = search_channels(queries, records, TextEmbedder(lib, config.get("dense_encoder")), cosine(text, image),
                               targets)
    fused = fusion_for(config, "search").combine(channels)
    result = {"queries": len(queries), "figures": len(records),
              "fused": score_metrics(fused, positive_index=targets),
              "fusion": config["tasks"]["search"]}
    for name, matrix in channels.items():
        result[f"alone:{name}"] = score_metrics(matrix, positive_index=targets)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pdfs", default="bench/real_pdfs_cache")
    ap.add_argument("--work", default="bench/out/real_papers")
    ap.add_argument("--methods", default=",".join(FAST_METHODS), help="comma-separated; '' skips (a)")
    ap.add_argument("--fresh", action="store_true", help="re-run ingest and train even if the library exists")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    result = {"default_commands": default_commands(Path(args.pdfs), work, args.fresh)}
    lib = Path(result["default_commands"]["library"])
    ev = result["default_commands"]["evaluate"]
    result["baselines"] = baselines(lib, work)
    base = result["baselines"]["tfidf_ocr"]
    result["ratios"] = {t: ev[t]["mrr"] / max(base[t]["mrr"], 1e-9) for t in ("t2i", "i2t")}
    result["citing_search"] = citing_search(lib)
    print(f"default commands: t2i MRR {ev['t2i']['mrr']:.3f} (hits@10 {ev['t2i']['hits@10']:.3f}), "
          f"i2t MRR {ev['i2t']['mrr']:.3f} (hits@10 {ev['i2t']['hits@10']:.3f}); pool {ev['pool']['queries']}")
    print(f"baseline TF-IDF on OCR: t2i {base['t2i']['mrr']:.3f}, i2t {base['i2t']['mrr']:.3f} → ratios "
          f"t2i {result['ratios']['t2i']:.2f}×, i2t {result['ratios']['i2t']:.2f}×")
    words = result["baselines"]["tfidf_figure_words"]
    print(f"TF-IDF on stored figure words: t2i {words['t2i']['mrr']:.3f}, i2t {words['i2t']['mrr']:.3f}")
    cs = result["citing_search"]
    print(f"citing sentence → figure: {cs['queries']} queries over {cs['figures']} figures: hits@1 "
          f"{cs['fused']['hits@1']:.3f}, hits@10 {cs['fused']['hits@10']:.3f}, MRR {cs['fused']['mrr']:.3f}")
    (work / "real_papers.json").write_text(json.dumps(result, indent=2))
    methods = [m for m in args.methods.split(",") if m]
    if methods:
        result["methods"] = methods_table(lib, work, methods)
        (work / "real_papers.json").write_text(json.dumps(result, indent=2))
    print(f"written {work / 'real_papers.json'}")


if __name__ == "__main__":
    main()
