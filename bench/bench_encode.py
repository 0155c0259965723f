"""Encoding throughput of scicmr's encoders on generated data (no download, no shared data).

Text encoders (tfidf, lda, minilm) run on generated sentences; image encoders
(efficientnet-lite0, a timm resnet18 checkpoint with random weights saved to a temp file) on
generated 256x256 JPEG files, so decoding and resizing are part of the cost. Each encoder gets
one warm-up batch (model loading, lazy imports) that is not timed. Peak RSS is the process's
high-water mark after each encoder.

    .venv/bin/python bench/bench_encode.py --n-texts 2000 --n-images 128 --batch-size 32
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("SCICMR_QUIET", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

WORDS = (
    "graphene lattice electron microscopy crystal nanotube diffraction spectrum protein cell membrane "
    "gene expression tissue staining neural network training accuracy patent claim device sensor "
    "battery electrode voltage catalyst reaction yield polymer fibre thermal conductivity model figure "
    "shows measured simulated results increase decrease temperature pressure sample surface"
).split()


def make_sentences(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return [" ".join(rng.choice(WORDS, size=int(rng.integers(8, 25)))).capitalize() + "." for _ in range(n)]


def make_images(n: int, folder: Path, seed: int = 0) -> list[str]:
    """Smooth random colour fields with a few shapes, as 256x256 JPEG files."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:256, 0:256] / 256.0
    paths = []
    for i in range(n):
        a, b, c = rng.uniform(1, 6, size=3)
        field = np.stack([np.sin(a * xx + b * yy), np.cos(b * xx - c * yy), np.sin(c * xx * yy * 4)], axis=-1)
        image = Image.fromarray(((field + 1) * 127.5).astype(np.uint8))
        draw = ImageDraw.Draw(image)
        for _ in range(3):
            x0, y0 = rng.integers(0, 200, size=2)
            draw.rectangle([int(x0), int(y0), int(x0) + 40, int(y0) + 40], fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
        path = folder / f"img{i:05d}.jpg"
        image.save(path, quality=90)
        paths.append(str(path))
    return paths


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux, bytes on macOS.
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def run(name: str, encoder, items: list, batch_size: int, fit_items: list | None = None) -> dict:
    fit_seconds = 0.0
    if fit_items is not None:
        start = time.perf_counter()
        encoder.fit(fit_items)
        fit_seconds = time.perf_counter() - start
    encoder.encode(items[:batch_size], batch_size=batch_size)  # warm-up: loads weights, imports
    start = time.perf_counter()
    vectors = encoder.encode(items, batch_size=batch_size)
    seconds = time.perf_counter() - start
    return {
        "encoder": name,
        "items": len(items),
        "dim": vectors.shape[1],
        "fit_s": fit_seconds,
        "encode_s": seconds,
        "items_per_s": len(items) / seconds if seconds > 0 else float("inf"),
        "peak_rss_mib": peak_rss_mib(),
    }


def timm_checkpoint(folder: Path):
    """A timm resnet18 with random weights saved to ``folder``, loaded as a checkpoint encoder."""
    import torch

    from scicmr.encoders import create_encoder
    from scicmr.encoders._torchvision_compat import import_torchvision

    import_torchvision()
    import timm

    torch.manual_seed(0)
    path = folder / "resnet18-random.pth"
    torch.save(timm.create_model("resnet18", pretrained=False).state_dict(), path)
    return create_encoder({"name": "checkpoint", "framework": "timm", "arch": "resnet18", "path": str(path)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-texts", type=int, default=2000, help="generated sentences per text encoder")
    parser.add_argument("--n-images", type=int, default=128, help="generated 256x256 images per image encoder")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's own)")
    parser.add_argument("--only", nargs="*", default=None, help="subset of: tfidf lda minilm efficientnet-lite0 timm-resnet18")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", RuntimeWarning)  # the torchvision compat notice

    import torch

    from scicmr.encoders import create_encoder

    if args.threads:
        torch.set_num_threads(args.threads)
    wanted = set(args.only or ["tfidf", "lda", "minilm", "efficientnet-lite0", "timm-resnet18"])
    texts = make_sentences(args.n_texts)
    rows = []
    with tempfile.TemporaryDirectory(prefix="scicmr-bench-") as tmp:
        images = make_images(args.n_images, Path(tmp)) if wanted & {"efficientnet-lite0", "timm-resnet18"} else []
        jobs = [
            ("tfidf", lambda: create_encoder("tfidf"), texts, texts),
            ("lda", lambda: create_encoder("lda"), texts, texts),
            ("minilm", lambda: create_encoder("minilm"), texts, None),
            ("efficientnet-lite0", lambda: create_encoder("efficientnet-lite0"), images, None),
            ("timm-resnet18", lambda: timm_checkpoint(Path(tmp)), images, None),
        ]
        for name, build, items, fit_items in jobs:
            if name in wanted:
                rows.append(run(name, build(), items, args.batch_size, fit_items))
                print(f"  done {name}", file=sys.stderr, flush=True)
    print(f"# scicmr encode benchmark: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch size {args.batch_size}")
    print(f"| {'encoder':<19} | {'items':>6} | {'dim':>6} | {'fit s':>7} | {'encode s':>8} | {'items/s':>9} | {'peak RSS MiB':>12} |")
    print(f"|{'-' * 21}|{'-' * 8}|{'-' * 8}|{'-' * 9}|{'-' * 10}|{'-' * 11}|{'-' * 14}|")
    for r in rows:
        print(f"| {r['encoder']:<19} | {r['items']:>6} | {r['dim']:>6} | {r['fit_s']:>7.2f} | {r['encode_s']:>8.2f} "
              f"| {r['items_per_s']:>9.1f} | {r['peak_rss_mib']:>12.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
