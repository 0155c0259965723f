"""What OCR of figures adds to caption↔figure retrieval, on papers ingested from PDFs.

Pair protocol (the only relevant item is the query's own pair), test split of a library split by
paper (all figures of a paper in one split), both directions, pool = all test pairs:

  (a1) CCA on plain EfficientNet-Lite0 image features vs MiniLM record-text features;
  (b1) the same with the OCR-aware image encoder (``ocr-fusion``: EfficientNet ⊕ w·MiniLM(OCR));
  (a2) CCA on EfficientNet vs TF-IDF-LSA (256-d) record-text features;
  (b2) the same with ``ocr-fusion`` whose text part is that TF-IDF-LSA, fitted on the training
       records' texts (so OCR words land in the caption vocabulary);
  (c)  no training: TF-IDF cosine between a figure's OCR text and its record text
       (IDF from the train split's texts; no pairs used).

The record text is what every text encoder sees: title, caption and keywords.

CCA's ``reg`` / ``n_components`` and fusion's ``w`` are chosen on the validation split (mean of
both directions' MRR); the test split is evaluated once, by :func:`scicmr.workflow.evaluate_model`.

    python bench/pdf_papers.py /tmp/pdfbench --papers 200            # the PDFs (+ ground truth)
    python bench/pdf_retrieval.py /tmp/pdfbench/pdfs --work /tmp/pdfbench/run
    python bench/pdf_retrieval.py ../shared/data/jose_jats_figures/pairs.jsonl --work /tmp/jose

The source is a folder of PDFs (needs scicmr's PDF reader) or any manifest scicmr ingests.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import time
from pathlib import Path

import numpy as np

GRID_REG = (0.1, 0.5, 2.0)
GRID_COMPONENTS = (64, 128, 256)
GRID_WEIGHT = (0.5, 1.0, 2.0, 4.0)
LSA_DIM = 256
HITS = (1, 10)


def _mrr_both(metrics: dict) -> float:
    return 0.5 * (metrics["i2t"]["mrr"] + metrics["t2i"]["mrr"])


def _pair_metrics(image_vectors: np.ndarray, text_vectors: np.ndarray) -> dict:
    from scicmr.evaluation.metrics import cross_modal_metrics

    return cross_modal_metrics(image_vectors, text_vectors, None, pair=True, hits=HITS)


def tune_cca(train, validation, text_scale: tuple[int, float] | None = None) -> tuple[dict, float]:
    """Best CCA params on validation MRR. ``text_scale=(offset, w)`` multiplies image columns
    from ``offset`` on by w: the fusion encoder's output at weight w, from its output at 1."""
    from scicmr.methods import create_method

    def scaled(x):
        if text_scale is None:
            return x
        out = x.copy()
        out[:, text_scale[0]:] *= text_scale[1]
        return out

    best, best_score = None, -1.0
    for reg, k in itertools.product(GRID_REG, GRID_COMPONENTS):
        k = min(k, len(train.records) - 1, train.text.shape[1])
        method = create_method("cca", reg=reg, n_components=k).fit(scaled(train.image), train.text)
        score = _mrr_both(_pair_metrics(method.transform_image(scaled(validation.image)),
                                        method.transform_text(validation.text)))
        if score > best_score:
            best, best_score = {"reg": reg, "n_components": k}, score
    return best, best_score


def _splits(lib):
    from scicmr.workflow.library_data import split_data, stored_feature_key

    image_key, text_key = stored_feature_key(lib, "image"), stored_feature_key(lib, "text")
    return split_data(lib, "train", image_key, text_key, []), split_data(lib, "validation", image_key, text_key, [])


def run_trained(lib, image_spec: dict, text_spec, name: str, weights: tuple[float, ...] | None) -> dict:
    """Encode with ``image_spec`` / ``text_spec``, tune on validation, train on train, evaluate
    test once."""
    from scicmr.workflow import encode_library, evaluate_model, train_model

    encode_library(lib, image=image_spec, text=text_spec)
    train, validation = _splits(lib)
    tuning = []
    if weights is None:
        params, score = tune_cca(train, validation)
        tuning.append({"params": params, "validation_mrr": score})
    else:
        offset = 1280  # EfficientNet-Lite0's part comes first in the fused vector
        for w in weights:
            params, score = tune_cca(train, validation, (offset, w / image_spec["weight"]))
            tuning.append({"weight": w, "params": params, "validation_mrr": score})
        best = max(tuning, key=lambda row: row["validation_mrr"])
        params = best["params"]
        if best["weight"] != image_spec["weight"]:
            image_spec = {**image_spec, "weight": best["weight"]}
            encode_library(lib, image=image_spec, text=text_spec)  # the chosen w, through the encoder
    model = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")  # a folder name
    train_model(lib, "cca", params, name=model, use_labels=False)
    document = evaluate_model(lib, model, split="test", protocol="pair", plots=False)
    return {"system": name, "image_encoder": image_spec, "text_encoder": text_spec, "params": params, "tuning": tuning,
            "i2t": document["i2t"], "t2i": document["t2i"], "pool": document["pool"]}


def run_tfidf_baseline(lib) -> dict:
    """(c): OCR text vs caption text, TF-IDF cosine; IDF fitted on train texts, no pairs used."""
    from scicmr.corpus.ocr_library import ocr_text
    from scicmr.encoders import create_encoder
    from scicmr.workflow.library_data import paired_records
    from scicmr.workflow.encode import record_text

    train, test = paired_records(lib, "train"), paired_records(lib, "test")
    encoder = create_encoder({"name": "tfidf", "min_df": 1})
    encoder.fit([record_text(r) for r in train] + [ocr_text(r) for r in train if ocr_text(r)])
    image_side = encoder.encode([ocr_text(r) for r in test])
    text_side = encoder.encode([record_text(r) for r in test])
    metrics = _pair_metrics(image_side, text_side)
    return {"system": "tfidf-ocr-vs-caption", "i2t": metrics["i2t"], "t2i": metrics["t2i"],
            "pool": {"queries": len(test), "candidates": len(test)},
            "empty_ocr_share": float(np.mean([not ocr_text(r) for r in test]))}


def ingest_source(source: Path, lib_dir: Path, seed: int):
    """Ingest ``source`` split 60/20/20 by paper; returns (library, how it was read)."""
    from scicmr.corpus.readers import detect_source_kind
    from scicmr.workflow import ingest

    kind = detect_source_kind(source)
    report = ingest(source, lib_dir, overwrite=True, split=(0.6, 0.2, 0.2), seed=seed)
    from scicmr.corpus.library import Library

    return Library.open(lib_dir), {"kind": kind, "added": report.added, "skipped": len(report.skipped),
                                   "splits": report.splits}


def markdown(results: list[dict]) -> str:
    head = "| system | pool | i2t mrr | i2t hits@1 | i2t hits@10 | t2i mrr | t2i hits@1 | t2i hits@10 |"
    lines = [head, "|" + "---|" * 8]
    for row in results:
        cells = [row["i2t"]["mrr"], row["i2t"]["hits@1"], row["i2t"]["hits@10"],
                 row["t2i"]["mrr"], row["t2i"]["hits@1"], row["t2i"]["hits@10"]]
        lines.append(f"| {row['system']} | {row['pool']['queries']} | " + " | ".join(f"{c:.3f}" for c in cells) + " |")
    return "\n".join(lines)


def plot(results: list[dict], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["system"] for r in results]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for offset, direction in ((-0.2, "i2t"), (0.2, "t2i")):
        ax.bar(x + offset, [r[direction]["mrr"] for r in results], width=0.4, label=f"{direction} MRR")
    ax.set_xticks(x, [n.split(" ", 1)[0] for n in names], fontsize=9)
    ax.set_ylabel("MRR (test)")
    ax.set_title(title, fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description="caption↔figure retrieval with and without OCR of figures")
    parser.add_argument("source", type=Path, help="a folder of PDFs or a manifest")
    parser.add_argument("--work", type=Path, required=True, help="folder for the library and the results")
    parser.add_argument("--workers", type=int, default=2, help="OCR processes")
    parser.add_argument("--lang", default="eng")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--psm", type=int, default=3, help="Tesseract page segmentation mode")
    parser.add_argument("--reuse-library", action="store_true",
                        help="keep WORK/lib from an earlier run (its records and cached features); OCR again")
    args = parser.parse_args()
    from scicmr.corpus.ocr import OcrSettings
    from scicmr.corpus.ocr_library import ocr_library

    args.work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    if args.reuse_library:
        from scicmr.corpus.library import Library

        lib = Library.open(args.work / "lib")
        ingested = {"kind": "reused", "added": len(lib), "skipped": None, "splits": lib.split_counts()}
    else:
        lib, ingested = ingest_source(args.source, args.work / "lib", args.seed)
    ocr = ocr_library(lib, lang=args.lang, workers=args.workers, settings=OcrSettings(psm=args.psm),
                      force=args.reuse_library)
    fusion = {"name": "ocr-fusion", "weight": 1.0}
    # LSA needs more training texts than dimensions: small libraries get fewer.
    lsa = {"name": "tfidf", "svd_dim": min(LSA_DIM, ingested["splits"].get("train", 0) - 1)}
    results = [
        run_trained(lib, {"name": "efficientnet-lite0"}, "minilm", "a1 cca effnet vs minilm", None),
        run_trained(lib, fusion, "minilm", "b1 cca ocr-fusion(minilm) vs minilm", GRID_WEIGHT),
        run_trained(lib, {"name": "efficientnet-lite0"}, lsa, "a2 cca effnet vs tfidf-lsa", None),
        run_trained(lib, {**fusion, "text_encoder": lsa}, lsa, "b2 cca ocr-fusion(tfidf-lsa) vs tfidf-lsa", GRID_WEIGHT),
        run_tfidf_baseline(lib),
    ]
    summary = {"source": str(args.source), "ingested": ingested,
               "ocr": {k: v for k, v in ocr.to_dict().items() if k != "skipped"},
               "protocol": "pair, test split, split by paper (60/20/20 of papers), pool = all test pairs",
               "grid": {"reg": GRID_REG, "n_components": GRID_COMPONENTS, "weight": GRID_WEIGHT},
               "results": results, "seconds": time.perf_counter() - started}
    (args.work / "results.json").write_text(json.dumps(summary, indent=2, default=str))
    table = markdown(results)
    (args.work / "results.md").write_text(table + "\n")
    plot(results, args.work / "results.png", f"{args.source.name}: caption↔figure retrieval (test)")
    print(json.dumps({"ingested": ingested, "ocr_seconds": ocr.seconds, "ocr_empty": ocr.empty}, default=str))
    print(table)


if __name__ == "__main__":
    main()
