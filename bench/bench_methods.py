"""Training time per epoch and inference throughput of every registered method.

Synthetic labelled features of Wikipedia-like or CNN-like size (seeded), fixed epochs, no
validation (so every method runs the same number of epochs):

    .venv/bin/python bench/bench_methods.py --n 2000 --image-dim 1280 --text-dim 384 --epochs 5

Prints: fit seconds, seconds per epoch (fit / epochs for iterative methods), inference
vectors/s for transform_image and transform_text over --n-infer rows, and peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np

os.environ.setdefault("SCICMR_QUIET", "1")


def synthetic(n: int, image_dim: int, text_dim: int, classes: int, seed: int):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    image_centres = rng.normal(size=(classes, image_dim))
    text_centres = rng.normal(size=(classes, text_dim))
    X = (image_centres[labels] + 2.0 * rng.normal(size=(n, image_dim))).astype(np.float32)
    Y = (text_centres[labels] + 2.0 * rng.normal(size=(n, text_dim))).astype(np.float32)
    years = rng.integers(2005, 2025, size=n)
    authors = [[f"author{rng.integers(0, 50)}"] for _ in range(n)]
    return X, Y, labels, {"years": years, "authors": authors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--n-infer", type=int, default=20000)
    parser.add_argument("--image-dim", type=int, default=1280)
    parser.add_argument("--text-dim", type=int, default=384)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--methods", default="")
    args = parser.parse_args()

    import torch

    from scicmr.methods import available_methods, create_method

    torch.set_num_threads(args.threads)
    X, Y, labels, side = synthetic(args.n, args.image_dim, args.text_dim, args.classes, seed=0)
    Xi, Yi, _, side_i = synthetic(args.n_infer, args.image_dim, args.text_dim, args.classes, seed=1)
    names = [m for m in args.methods.split(",") if m] or available_methods()
    print(f"# n={args.n} image_dim={args.image_dim} text_dim={args.text_dim} epochs={args.epochs} "
          f"threads={args.threads}; inference over {args.n_infer} rows")
    print(f"| {'method':10} | {'fit s':>7} | {'s/epoch':>8} | {'img vec/s':>10} | {'txt vec/s':>10} | {'peak MiB':>8} |")
    print(f"|{'-' * 12}|{'-' * 9}|{'-' * 10}|{'-' * 12}|{'-' * 12}|{'-' * 10}|")
    for name in names:
        try:
            model = create_method(name)
        except Exception as exc:  # noqa: BLE001 - a missing method is reported, not fatal
            print(f"| {name:10} | not available: {exc}")
            continue
        iterative = "epochs" in model.get_params()
        if iterative:
            model.set_params(epochs=args.epochs)
            if "patience" in model.get_params():
                model.set_params(patience=args.epochs)
        started = time.perf_counter()
        model.fit(X, Y, labels, **side)
        fit = time.perf_counter() - started
        per_epoch = fit / args.epochs if iterative else float("nan")
        started = time.perf_counter()
        model.transform_image(Xi, **side_i)
        image_rate = args.n_infer / (time.perf_counter() - started)
        started = time.perf_counter()
        model.transform_text(Yi, **side_i)
        text_rate = args.n_infer / (time.perf_counter() - started)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"| {name:10} | {fit:7.2f} | {per_epoch:8.3f} | {image_rate:10,.0f} | {text_rate:10,.0f} | {peak:8.0f} |")


if __name__ == "__main__":
    main()
