"""What end-to-end training on raw images costs the deep cross-modal hashers, against the same
methods on precomputed feature vectors: seconds per epoch (median), parameters, and the test
Hamming-ranking mAP reached, on generated tiny images (class-coloured quadrants + noise).

    OMP_NUM_THREADS=1 .venv/bin/python bench/deep_hashing_end_to_end.py --n 2000 --size 32

Feature-vector rows use a 1280-d vector (the width of EfficientNet-Lite0 features) made from the
same classes, so the comparison isolates the cost of the pixel CNN / patch-grid tokens.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("SCICMR_QUIET", "1")

import numpy as np  # noqa: E402

from scicmr.evaluation.hashing_metrics import cross_modal_hamming_metrics  # noqa: E402
from scicmr.methods import create_method  # noqa: E402


def make_data(n: int, size: int, classes: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(size=(classes, 1280 + 64)).astype(np.float32)
    y = rng.integers(0, classes, n)
    images = 0.5 * rng.normal(size=(n, 3, size, size)).astype(np.float32)
    half = size // 2
    for i, c in enumerate(y):
        row, col = divmod(int(c) // 3 % 4, 2)
        images[i, int(c) % 3, row * half:(row + 1) * half, col * half:(col + 1) * half] += 1.0
    noisy = centres[y] + 1.5 * rng.normal(size=(n, 1280 + 64)).astype(np.float32)
    return {"pixels": images.reshape(n, -1), "features": noisy[:, :1280], "text": noisy[:, 1280:], "y": y}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--classes", type=int, default=8)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--bits", type=int, default=32)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    train, test = make_data(args.n, args.size, args.classes, 1), make_data(500, args.size, args.classes, 2)
    print(f"{args.n} training pairs, {args.size}x{args.size} RGB images, {args.bits} bits, {args.epochs} epochs\n")
    print("| method | image input | s / epoch (median) | parameters | test i2t map | test t2i map |")
    print("|---|---|---|---|---|---|")
    for method in ("dcmh", "mask-hash-transformer"):
        for kind in ("features", "pixels"):
            extra = {"image_shape": (3, args.size, args.size)} if kind == "pixels" else {}
            model = create_method(method, n_bits=args.bits, epochs=args.epochs, patience=None, **extra)
            started = time.perf_counter()
            model.fit(train[kind], train["text"], train["y"])
            total = time.perf_counter() - started
            per_epoch = statistics.median(h["seconds"] for h in model.history_)
            params = sum(p.numel() for p in model.net_.parameters())
            result = cross_modal_hamming_metrics(model.codes_image(test[kind]), model.codes_text(test["text"]), test["y"])
            print(f"| {method} | {kind} | {per_epoch:.2f} | {params:,} | {result['i2t']['map']:.3f} | "
                  f"{result['t2i']['map']:.3f} |  (fit {total:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
