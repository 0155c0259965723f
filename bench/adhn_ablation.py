"""ADHN ablation (seed 003): with and without SE-G at 16/32/48/64 bits, image → image retrieval.

    OMP_NUM_THREADS=2 PYTHONPATH=src .venv/bin/python bench/adhn_ablation.py --out runs/adhn

Data: figures the project renders itself (:mod:`scicmr.demo`), labelled by figure kind (line,
bar, scatter, heatmap, diagram, histogram, spectrum, micrograph: 8 classes). Papers are split
into train / validation / test (all figures of a paper in one split). Each configuration is
trained on train, its epoch chosen on validation (validation queries against the training
database), and evaluated once on test: test images query the training images by Hamming
ranking. Reported: full mAP, mAP@50, precision and recall within Hamming radius 2,
precision@50, training time (the whole ``fit``, including the frozen-prefix pass) and parameter
counts. Writes ``results.json``, ``results.md`` and ``pr_radius.png`` (precision-recall over
Hamming radius) under ``--out``. Times depend on the machine and its load.

``--step-timing`` instead times one training step per attention setting, the settings
interleaved so that they see the same load (``fit`` times of separate runs on a shared machine
are not comparable).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from scicmr.demo import plan_corpus
from scicmr.demo.figures import FigureRenderer
from scicmr.demo.vocabulary import FIGURE_KINDS
from scicmr.evaluation.hashing_metrics import hamming_metrics, radius_pr_curve
from scicmr.evaluation.metrics import label_relevance
from scicmr.evaluation.plots import plot_pr_curves
from scicmr.hashing import hamming_distances
from scicmr.methods.hashing.adhn import ADHN


def figure_set(n_papers: int, image_size: int, seed: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{"train" | "validation" | "test": ((n, S, S, 3) uint8 images, (n,) figure-kind ids)}, split by paper."""
    plan = plan_corpus(n_papers=n_papers, figures_per_paper=(2, 4), seed=seed)
    kinds = {kind: i for i, kind in enumerate(FIGURE_KINDS)}
    groups = sorted({item.record["group"] for item in plan})
    order = np.random.default_rng(seed).permutation(len(groups))
    cut_val, cut_test = int(0.6 * len(groups)), int(0.75 * len(groups))
    split_of = {groups[g]: ("train" if r < cut_val else "validation" if r < cut_test else "test")
                for r, g in enumerate(order)}
    out: dict[str, tuple[list, list]] = {"train": ([], []), "validation": ([], []), "test": ([], [])}
    with FigureRenderer(image_size) as renderer:
        for item in plan:
            images, labels = out[split_of[item.record["group"]]]
            images.append(renderer.render(item.spec))
            labels.append(kinds[item.record["figure_kind"]])
    return {name: (np.stack(images), np.array(labels)) for name, (images, labels) in out.items()}


def run_one(data, bits: int, attention: str, args) -> tuple[dict, dict]:
    model = ADHN(n_bits=bits, backbone=args.backbone, attention=attention, excite_bias=args.excite_bias,
                 image_size=args.image_size,
                 epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, backbone_lr=args.backbone_lr,
                 seed=args.seed)
    model.fit(*data["train"], validation=data["validation"])
    train_codes, test_codes = model.codes(data["train"][0]), model.codes(data["test"][0])
    metrics = hamming_metrics(test_codes, train_codes, data["test"][1], data["train"][1], ks=(50,), radius=2)
    curve = radius_pr_curve(hamming_distances(test_codes, train_codes),
                            label_relevance(data["test"][1], data["train"][1]), bits)
    row = {"bits": bits, "attention": attention, **metrics, "train_seconds": model.train_seconds_,
           "best_epoch": model.best_epoch_, **{f"params_{k}": v for k, v in model.parameters_.items()}}
    return row, curve


def step_timing(args, repeats: int = 7) -> list[dict]:
    """Median seconds of one training step (batch of ``--batch-size``, forward + backward from the
    cached frozen prefix) per attention setting, the settings interleaved so that they share the
    machine's load; plus the one-off frozen-prefix pass per image. Random pixels, 32 bits."""
    import torch

    from scicmr.methods.hashing.adhn_net import ADHNNet, build_backbone
    from scicmr.methods.hashing.adhn_losses import adhn_loss

    torch.manual_seed(args.seed)
    pixels = torch.randn(args.batch_size, 3, args.image_size, args.image_size)
    labels = torch.arange(args.batch_size) % 8
    nets, times = {}, {}
    for attention in args.attention.split(","):
        net = ADHNNet(build_backbone(args.backbone), 32, attention).train()
        start = net.first_trainable()
        with torch.no_grad():
            began = time.perf_counter()
            cached = net.run(pixels, 0, start)
            prefix = (time.perf_counter() - began) / len(pixels)
        nets[attention], times[attention] = (net, start, cached, prefix), []
    for _ in range(repeats):
        for attention, (net, start, cached, _) in nets.items():
            began = time.perf_counter()
            loss, _ = adhn_loss(net.codes_from(cached, start), labels, 0.1)
            loss.backward()
            times[attention].append(time.perf_counter() - began)
    return [{"attention": a, "step_s_median": float(np.median(t)), "prefix_s_per_image": nets[a][3]}
            for a, t in times.items()]


def markdown(rows: list[dict], sizes: dict[str, int]) -> str:
    head = ("| bits | attention | mAP | mAP@50 | P@r2 | R@r2 | P@50 | train s | best epoch | params (trainable) | SE-G params |\n"
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [f"Figures: {sizes} (train / validation / test), 8 figure-kind classes.", "", head]
    for r in rows:
        lines.append(f"| {r['bits']} | {r['attention']} | {r['map']:.4f} | {r['map@50']:.4f} | {r['precision@r2']:.4f} | "
                     f"{r['recall@r2']:.4f} | {r['precision@50']:.4f} | {r['train_seconds']:.1f} | {r['best_epoch']} | "
                     f"{r['params_total']:,} ({r['params_trainable']:,}) | {r['params_attention']:,} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/adhn"))
    parser.add_argument("--papers", type=int, default=80)
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--bits", default="16,32,48,64")
    parser.add_argument("--attention", default="se-g,none")
    parser.add_argument("--backbone", default="efficientnet-lite0")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--backbone-lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--excite-bias", type=float, default=None, help="ADHN excite_bias (SE-G initialisation)")
    parser.add_argument("--step-timing", action="store_true", help="only time training steps (see step_timing)")
    args = parser.parse_args()
    if args.step_timing:
        for row in step_timing(args):
            print(json.dumps(row))
        return
    started = time.perf_counter()
    data = figure_set(args.papers, args.image_size, args.seed)
    sizes = {name: len(labels) for name, (_, labels) in data.items()}
    print(f"rendered {sizes} figures in {time.perf_counter() - started:.1f} s", flush=True)
    rows, curves = [], {}
    for bits in [int(b) for b in args.bits.split(",")]:
        for attention in args.attention.split(","):
            row, curve = run_one(data, bits, attention, args)
            rows.append(row)
            curves[f"{bits} bits, {attention}"] = (curve["recall"], curve["precision"])
            print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"args": vars(args) | {"out": str(args.out)}, "sizes": sizes,
                                                       "rows": rows}, indent=2))
    table = markdown(rows, sizes)
    (args.out / "results.md").write_text(table)
    plot_pr_curves(curves, args.out / "pr_radius.png", title="ADHN: precision-recall over Hamming radius (test)")
    print(table)


if __name__ == "__main__":
    main()
