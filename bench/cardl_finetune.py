"""What CARDL's domain fine-tuning of the text encoder (seed 000, section 2) adds to retrieval.

On a COPY of a library (never the original), the sentence encoder is fine-tuned on
(title, abstract sentence) pairs of the TRAIN split only (negatives from other fields), all
records' texts are encoded with it and stored as a feature key, and CARDL is trained on those
text features and on the plain ones (same image features, same CARDL params, several CARDL
seeds). Fine-tuning settings, when several are given, are chosen on the validation split;
the test split is reported once per feature set.

    .venv/bin/python bench/cardl_finetune.py                       # demo corpus library
    .venv/bin/python bench/cardl_finetune.py --library /tmp/runs/core/web_news_zh --plain-minilm

Columns: mean ± std over CARDL seeds of full mAP and map@k on the test split (i2t: image
queries, t2i: text queries), the validation score used for selection, text→text full mAP of
the raw text features on test (what the encoder alone gives), and fine-tuning seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("SCICMR_QUIET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
warnings.filterwarnings("ignore", category=RuntimeWarning, message=".*compiled ops.*")

METRICS = ("map", "map@5", "map@20", "map@50")


def copy_library(source: Path, work: Path):
    from scicmr.corpus.library import Library

    if work.exists():
        shutil.rmtree(work)
    work.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(source, work, ignore=shutil.ignore_patterns("models", "reports"))
    return Library.open(work)


def store_text_features(lib, encoder, tag: str) -> str:
    """Encode every pair's text with ``encoder``, save vectors + encoder; returns the feature key."""
    from scicmr.encoders import feature_key
    from scicmr.workflow.library_data import paired_records
    from scicmr.workflow.encode import encoder_dir, record_text

    records = paired_records(lib, None)
    started = time.perf_counter()
    vectors = encoder.encode([record_text(r) for r in records], batch_size=32)
    key = feature_key(encoder)
    encoder.save(encoder_dir(lib, key))
    lib.save_features(key, [r.id for r in records], vectors, encoder.config())
    print(f"  {tag}: encoded {len(records)} texts in {time.perf_counter() - started:.0f}s -> {key}", flush=True)
    return key


def finetune(lib, params: dict) -> tuple[object, float]:
    """Fit the fine-tuned encoder on the train split's pairs; returns (encoder, seconds)."""
    from scicmr.encoders.finetune import FinetunedSentenceEncoder, pairs_from_records
    from scicmr.workflow.library_data import paired_records

    titles, bodies, labels, groups = pairs_from_records(paired_records(lib, "train"))
    encoder = FinetunedSentenceEncoder(**params)
    started, cpu = time.perf_counter(), time.process_time()
    encoder.fit_pairs(titles, bodies, labels, groups)
    seconds = time.perf_counter() - started
    history = encoder.history_
    history["cpu_seconds"] = time.process_time() - cpu  # all threads; wall time depends on machine load
    print(f"  fine-tune {params}: {len(titles)} anchors, {history['pairs']} positives, "
          f"loss {['%.3f' % x for x in history['loss']]}, acc {['%.3f' % x for x in history['accuracy']]}, "
          f"{seconds:.0f}s wall, {history['cpu_seconds']:.0f}s CPU", flush=True)
    return encoder, seconds


def _self_map(vectors: np.ndarray, labels: np.ndarray) -> float:
    """Full-ranking mAP of each row against all other rows (label relevance; ties by index)."""
    sims = vectors @ vectors.T
    relevant = (labels @ labels.T) > 0
    aps = []
    for i in range(len(vectors)):
        others = np.delete(np.arange(len(vectors)), i)
        order = others[np.argsort(-sims[i, others], kind="stable")]
        rel = relevant[i, order]
        if not rel.any():
            aps.append(0.0)
            continue
        hits = np.cumsum(rel)
        aps.append(float(np.sum(hits[rel] / (np.flatnonzero(rel) + 1)) / rel.sum()))
    return float(np.mean(aps))


def run_cardl(lib, text_key: str, tag: str, seeds: list[int]) -> dict:
    """Train CARDL once per seed on ``text_key``; returns per-seed validation and test metrics."""
    from scicmr.workflow import evaluate_model, train_model

    entry = {"name": tag, "spec": {"name": tag}, "key": text_key}
    lib.update_meta(encoders={**lib.meta["encoders"], "text": entry})
    runs = []
    for seed in seeds:
        name = f"cardl-{tag}-s{seed}"
        train_model(lib, "cardl", {"seed": seed}, name=name)
        val = evaluate_model(lib, name, split="validation", plots=False)
        test = evaluate_model(lib, name, split="test", plots=False)
        runs.append({"seed": seed, "val": (val["i2t"]["map"] + val["t2i"]["map"]) / 2,
                     **{f"{d}_{m}": test[d][m] for d in ("i2t", "t2i") for m in METRICS}})
    return {"runs": runs, "text_self_map": _self_map_for(lib, text_key)}


def _self_map_for(lib, text_key: str) -> float:
    from scicmr.workflow.library_data import split_data

    data = split_data(lib, "test", lib.meta["encoders"]["image"]["key"], text_key)
    return float("nan") if data.labels is None else _self_map(data.text, data.labels)


def summarise(rows: dict[str, dict]) -> str:
    """The results table (mean ± std over CARDL seeds)."""
    keys = [f"{d}_{m}" for d in ("i2t", "t2i") for m in METRICS]
    header = ["text features", "FT s", "val", *keys, "t2t map"]
    lines = [" | ".join(header), " | ".join("---" for _ in header)]
    for tag, row in rows.items():
        cells = [tag, f"{row.get('seconds', 0.0):.0f}", _mean_std([r["val"] for r in row["runs"]])]
        cells += [_mean_std([r[k] for r in row["runs"]]) for k in keys]
        cells.append(f"{row['text_self_map']:.4f}")
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def _mean_std(values: list[float]) -> str:
    return f"{np.mean(values):.4f}±{np.std(values):.4f}" if len(values) > 1 else f"{values[0]:.4f}"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, default=Path("/tmp/runs/core/scicmr_demo_corpus"))
    parser.add_argument("--work", type=Path, default=None,
                        help="where the copy goes (default /tmp/cardl_finetune/<library name>)")
    parser.add_argument("--grid", default='[{"lr": 5e-5, "epochs": 1}]',
                        help="JSON list of fine-tuning settings; the one with the best validation score is named")
    parser.add_argument("--max-pairs", type=int, default=1000)
    parser.add_argument("--max-seq-length", type=int, default=256, help="256 = plain MiniLM's own limit (parity)")
    parser.add_argument("--cardl-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--plain-minilm", action="store_true", help="also encode plain MiniLM (library uses another)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    import torch

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    work = args.work or Path("/tmp/cardl_finetune") / args.library.name
    lib = copy_library(args.library, work)
    base_entry = lib.meta["encoders"]["text"]
    print(f"library copy: {work} (text features: {base_entry['key']})", flush=True)
    rows = {base_entry["name"]: run_cardl(lib, base_entry["key"], base_entry["name"], args.cardl_seeds)}
    if args.plain_minilm:
        from scicmr.encoders import create_encoder

        rows["minilm"] = run_cardl(lib, store_text_features(lib, create_encoder("minilm"), "minilm"), "minilm",
                                   args.cardl_seeds)
    for i, setting in enumerate(json.loads(args.grid)):
        params = {"max_pairs": args.max_pairs, "max_seq_length": args.max_seq_length, **setting}
        encoder, seconds = finetune(lib, params)
        tag = f"minilm-ft{i}(lr={params.get('lr', 5e-5):g},ep={params.get('epochs', 1)})"
        rows[tag] = {**run_cardl(lib, store_text_features(lib, encoder, tag), f"ft{i}", args.cardl_seeds),
                     "seconds": seconds, "params": params, "history": encoder.history_}
        print(summarise(rows), flush=True)
    print(f"\n{lib.name}: CARDL test metrics, mean±std over CARDL seeds {args.cardl_seeds}\n")
    print(summarise(rows))
    tuned = {tag: row for tag, row in rows.items() if "params" in row}
    if tuned:
        best = max(tuned, key=lambda tag: np.mean([r["val"] for r in tuned[tag]["runs"]]))
        print(f"\nfine-tuning setting selected on validation: {best}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
