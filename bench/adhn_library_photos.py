"""ADHN hash-search with simulated phone photos: does a degraded copy of a library figure find it?

    OMP_NUM_THREADS=2 PYTHONPATH=src .venv/bin/python bench/adhn_library_photos.py LIB --model adhn-32

For every test-split image of LIB (trained with ``scicmr hash-images``) a "photo" is made —
rotated by up to ±3°, cropped to 90 % around a jittered centre, brightness ×0.8–1.2, JPEG
quality 60 — and searched with :meth:`scicmr.workflow.Searcher.search_images_by_codes`.
Printed: the fraction of photos whose original is at rank 1 and within the top 10, the Hamming
distance photo → original (median), the share of top-10 hits sharing the original's label,
and the median seconds per query (model load included: each query uses a fresh Searcher, as the CLI does).
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import numpy as np


def photo_of(image, rng: np.random.Generator):
    """A degraded copy of a PIL image: small rotation, off-centre crop, brightness, JPEG."""
    from PIL import Image, ImageEnhance

    image = image.convert("RGB").rotate(float(rng.uniform(-3, 3)), fillcolor=(255, 255, 255))
    w, h = image.size
    cw, ch = int(0.9 * w), int(0.9 * h)
    left, top = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    image = ImageEnhance.Brightness(image.crop((left, top, left + cw, top + ch))).enhance(float(rng.uniform(0.8, 1.2)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=60)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("library")
    parser.add_argument("--model", default="adhn-32")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from scicmr.corpus.library import Library
    from scicmr.corpus.images import load_image
    from scicmr.workflow import Searcher

    lib = Library.open(args.library)
    rng = np.random.default_rng(args.seed)
    first, top_k, same_label, distances, seconds = [], [], [], [], []
    queries = [r for r in lib.records("test") if r.image]
    labels = {r.id: set(r.labels) for r in lib.records()}
    for record in queries:
        photo = photo_of(load_image(lib.image_path(record)), rng)
        started = time.perf_counter()
        hits = Searcher(lib).search_images_by_codes(photo, k=len(lib), model=args.model)
        seconds.append(time.perf_counter() - started)
        ids = [h.id for h in hits]
        first.append(ids[0] == record.id)
        top_k.append(record.id in ids[: args.k])
        distances.append(next(h.details["distance"] for h in hits if h.id == record.id))
        same_label.append(np.mean([bool(labels[i] & set(record.labels)) for i in ids[1 : args.k + 1]]))
    print(f"{args.library} {args.model}: {len(queries)} photo queries of test images against {len(lib)} images")
    print(f"original at rank 1: {np.mean(first):.3f}; within top {args.k}: {np.mean(top_k):.3f}")
    print(f"median Hamming distance photo -> original: {statistics.median(distances)}")
    print(f"top-{args.k} hits (original excluded) sharing its label: {np.mean(same_label):.3f}")
    print(f"median seconds per query (model load included): {statistics.median(seconds):.3f}")


if __name__ == "__main__":
    main()
