"""Photo matching benchmark on a real library: a phone photo of a printed page finds the figure.

The collection is every figure of the library (``workflow.match.image_matcher``: the
library's EfficientNet-Lite0 features plus SIFT local features, built once and saved under
the library's ``indexes/``). Queries are simulated photos (``distort(kind="photo")``: the
figure on a printed page with text lines and a neighbouring figure, taken from another
library figure, on a desk; the figure covers at most 60 % of the frame; tilt, rotation,
lighting, blur, noise, JPEG) of the figures of the ``test`` split; the original is the only
relevant item. A validation set (photos of ``validation``-split figures) chooses how many
voted candidates are verified (``verify``), whether the best-by-cosine ones are added
(``verify_global``) and the order of verified figures (rectified correlation or inliers);
the test photos are evaluated once with that choice, for the old matcher (global +
crop-aligned NCC, ``verifier=None``) and the new one. The old distortion kinds are also run
(bare figures) to show the new path does not lose there.

    cp -r /tmp/realpdf_lib /tmp/photo_lib   # the bench writes the matcher under indexes/
    PYTHONPATH=src python bench/photo_matching.py --library /tmp/photo_lib
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("SCICMR_QUIET", "1")

OLD_KINDS = ("crop", "scale", "rotate", "perspective", "blur", "jpeg", "photometric", "moire", "phone")


def photos(lib, records, all_paths, kind: str, seed: int):
    """(query images, truth ids): one ``kind`` query per record; a photo's neighbouring
    figure is another library figure drawn from ``seed``."""
    from PIL import Image

    from scicmr.matching.distortions import distort

    rng = np.random.default_rng(seed)
    images, truth = [], []
    for record in records:
        path = str(lib.image_path(record))
        other = all_paths[int(rng.integers(len(all_paths)))]
        while other == path:
            other = all_paths[int(rng.integers(len(all_paths)))]
        neighbour = Image.open(other).convert("RGB") if kind in ("page", "photo") else None
        image, _ = distort(Image.open(path).convert("RGB"), kind, int(rng.integers(2**31)), neighbour=neighbour)
        images.append(image), truth.append(record.id)
    return images, truth


def evaluate(matcher, images, truth) -> dict:
    """hits@1, hits@10 and median ms per query of one matcher (queries one at a time)."""
    ranked, times = [], []
    for image in images:
        start = time.perf_counter()
        ranked.append([m.id for m in matcher.match(image, 10)])
        times.append(1000 * (time.perf_counter() - start))
    return {"hits@1": float(np.mean([r[:1] == [t] for r, t in zip(ranked, truth)])),
            "hits@10": float(np.mean([t in r for r, t in zip(ranked, truth)])),
            "median_ms": float(statistics.median(times)), "queries": len(truth)}


def validation_table(matcher, images, truth) -> dict:
    """Validation hits@1 and verification ms per variant: verify in {5, 10, 20} voted figures,
    verify_global in {0, 5}, verified order (``matcher.ORDERS``: region, inliers, rectified NCC). Each query is
    described and verified once (20 voted + 5 by cosine); variants filter those results."""
    from scicmr.matching.matcher import ORDERS, order_verified

    ids = matcher.ids_
    records = []
    for image in images:
        start = time.perf_counter()
        view = matcher.verifier.describe_query(image)
        votes = matcher.verifier.votes(view.descriptors)
        described = time.perf_counter() - start
        cosines = matcher.features_ @ matcher.encode([image])[0]
        voted = [int(p) for p in np.argsort(-votes, kind="stable")[:20] if votes[p] > 0]
        best_cos = [int(p) for p in np.argsort(-cosines, kind="stable")[:5]]
        found, cost = {}, {}
        for p in dict.fromkeys(voted + best_cos):
            t0 = time.perf_counter()
            found[p] = matcher.verifier.verify(view, p)
            cost[p] = time.perf_counter() - t0
        records.append((voted, best_cos, found, cost, cosines, described))
    table = {}
    for verify in (5, 10, 20):
        for extra in (0, 5):
            for order in ORDERS:
                top, ms = [], []
                for voted, best_cos, found, cost, cosines, described in records:
                    cands = list(dict.fromkeys(voted[:verify] + best_cos[:extra]))
                    ok = {p: found[p] for p in cands if found[p].inliers > 0}
                    top.append(ids[order_verified(ok, cosines, order)[0][0] if ok else int(np.argmax(cosines))])
                    ms.append(1000 * (described + sum(cost[p] for p in cands)))
                table[f"verify={verify},verify_global={extra},order={order}"] = {
                    "hits@1": float(np.mean([a == b for a, b in zip(top, truth)])), "median_ms": float(np.median(ms))}
    return table


def main() -> None:
    from PIL import Image  # noqa: F401

    from scicmr.corpus.library import Library
    from scicmr.workflow.match import image_matcher

    ap = argparse.ArgumentParser()
    ap.add_argument("--library", default="/tmp/photo_lib")
    ap.add_argument("--old-kinds", type=int, default=20, help="test queries per old distortion kind")
    ap.add_argument("--out", default="bench/out/photo_matching.json")
    args = ap.parse_args()

    lib = Library.open(args.library)
    start = time.perf_counter()
    new = image_matcher(lib)
    print(f"collection: {len(new.ids_)} figures; matcher ready in {time.perf_counter() - start:.1f} s "
          f"({len(new.verifier.descriptors_)} SIFT keypoints)")
    old = copy.copy(new)
    old.verifier = None
    all_paths = [str(p) for p in new.sources_]
    test, validation = lib.records("test"), lib.records("validation")

    val_images, val_truth = photos(lib, validation, all_paths, "photo", seed=1)
    table = validation_table(new, val_images, val_truth)
    print("validation (photo) hits@1 / ms by variant:")
    for name, row in table.items():
        print(f"  {name:45s} {row['hits@1']:.3f}  {row['median_ms']:.0f} ms")
    chosen = max(table, key=lambda name: (round(table[name]["hits@1"], 3), -table[name]["median_ms"]))
    settings = dict(part.split("=") for part in chosen.split(","))
    new.verify, new.verify_global, new.order = int(settings["verify"]), int(settings["verify_global"]), settings["order"]
    print(f"chosen on validation: {chosen}")
    results = {"collection": len(new.ids_), "validation": table, "chosen": chosen, "test": {}}
    for kind in ("photo", "page"):
        images, truth = photos(lib, test, all_paths, kind, seed=2)
        results["test"][kind] = {"old": evaluate(old, images, truth), "new": evaluate(new, images, truth)}
    rng = np.random.default_rng(3)
    for kind in OLD_KINDS:
        chosen = [test[int(i)] for i in rng.choice(len(test), size=min(args.old_kinds, len(test)), replace=False)]
        images, truth = photos(lib, chosen, all_paths, kind, seed=int(rng.integers(2**31)))
        results["test"][kind] = {"old": evaluate(old, images, truth), "new": evaluate(new, images, truth)}
    print("\n| queries (test) | n | old hits@1 | old hits@10 | old ms | new hits@1 | new hits@10 | new ms |")
    print("|---|---|---|---|---|---|---|---|")
    for kind, row in results["test"].items():
        o, n = row["old"], row["new"]
        print(f"| {kind} | {n['queries']} | {o['hits@1']:.3f} | {o['hits@10']:.3f} | {o['median_ms']:.0f} | "
              f"{n['hits@1']:.3f} | {n['hits@10']:.3f} | {n['median_ms']:.0f} |")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
