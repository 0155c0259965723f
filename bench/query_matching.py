"""Query-image matching benchmark: phone-photo-like queries of the demo corpus's figures.

Every figure of a generated demo corpus is in the collection. Queries are distorted copies
(:mod:`scicmr.matching.distortions`) of a sample of figures; the original is the only relevant
item. Figures are split in two halves: validation queries (even positions) choose the
re-ranking weight of the global cosine; test queries (odd positions) are evaluated once with
it. Prints hits@1 / hits@10 per distortion, global-only vs re-ranked, and the time per query.

    PYTHONPATH=src python bench/query_matching.py --papers 100 --per-kind 60 --encoder efficientnet-lite0
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("SCICMR_QUIET", "1")


def hits(ranked: list[list[str]], truth: list[str], k: int) -> float:
    return float(np.mean([t in r[:k] for r, t in zip(ranked, truth)]))


def make_queries(ids: list[str], paths: list[str], per_kind: int) -> dict:
    """{(half, kind): (distorted images, original ids)}; validation queries come from the
    even-positioned figures, test queries from the odd ones."""
    from PIL import Image

    from scicmr.matching.distortions import KINDS, distort

    rng = np.random.default_rng(0)
    halves = {"validation": np.arange(0, len(ids), 2), "test": np.arange(1, len(ids), 2)}
    queries = {}
    for half, positions in halves.items():
        for kind in KINDS:
            chosen = rng.choice(positions, size=min(per_kind, len(positions)), replace=False)
            seeds = rng.integers(0, 2**31, len(chosen))
            images = [distort(Image.open(paths[p]).convert("RGB"), kind, int(s))[0] for p, s in zip(chosen, seeds)]
            queries[(half, kind)] = (images, [ids[p] for p in chosen])
    return queries


def main() -> None:
    from scicmr.demo.corpus import generate_corpus
    from scicmr.matching.distortions import KINDS
    from scicmr.matching.matcher import ImageMatcher

    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default="bench/out/demo_corpus")
    ap.add_argument("--papers", type=int, default=100)
    ap.add_argument("--per-kind", type=int, default=60, help="queries per distortion kind and half")
    ap.add_argument("--encoder", default="efficientnet-lite0")
    ap.add_argument("--shortlist", type=int, default=30)
    ap.add_argument("--out", default="bench/out/query_matching.json")
    args = ap.parse_args()

    corpus = Path(args.corpus)
    manifest = corpus / "manifest.jsonl"
    if not manifest.exists() or sum(1 for _ in manifest.open()) == 0:
        generate_corpus(corpus, n_papers=args.papers, seed=0)
    rows = [json.loads(line) for line in manifest.open()]
    ids = [r["id"] for r in rows]
    paths = [str(corpus / r["image"]) for r in rows]
    start = time.perf_counter()
    matcher = ImageMatcher(args.encoder, shortlist=args.shortlist).fit(ids, paths)
    print(f"collection: {len(ids)} figures, encoded in {time.perf_counter() - start:.1f} s with {args.encoder}")

    queries = make_queries(ids, paths, args.per_kind)

    # Shortlists and correlations once per query set; each weight only re-sorts them.
    staged = {}
    for key, (images, truth) in queries.items():
        t0 = time.perf_counter()
        cosines, positions = matcher.shortlist_for(images, args.shortlist)
        t1 = time.perf_counter()
        ncc = matcher.correlations(images, positions)
        t2 = time.perf_counter()
        staged[key] = (cosines, positions, ncc, truth, (t1 - t0) / len(images), (t2 - t1) / len(images))

    def run(half: str, weight: float | None) -> dict:
        out = {}
        matcher.global_weight = weight or 0.0
        for kind in KINDS:
            cosines, positions, ncc, truth, _, _ = staged[(half, kind)]
            ranked = [[m.id for m in row] for row in matcher.rank(cosines, positions, None if weight is None else ncc, 10)]
            out[kind] = {"hits@1": hits(ranked, truth, 1), "hits@10": hits(ranked, truth, 10), "queries": len(truth)}
        out["overall"] = {m: float(np.mean([out[k][m] for k in KINDS])) for m in ("hits@1", "hits@10")}
        return out

    validation = {w: run("validation", w) for w in (0.0, 0.25, 0.5, 1.0)}
    best = max(validation, key=lambda w: (validation[w]["overall"]["hits@1"], -w))
    print("validation hits@1 by global_weight:", {w: round(v["overall"]["hits@1"], 4) for w, v in validation.items()},
          "-> chosen", best)
    results = {"global": run("test", None), "reranked": run("test", best)}
    print(f"\n| distortion | global hits@1 | global hits@10 | re-ranked hits@1 | re-ranked hits@10 |")
    print("|---|---|---|---|---|")
    for kind in (*KINDS, "overall"):
        g, r = results["global"][kind], results["reranked"][kind]
        print(f"| {kind} | {g['hits@1']:.3f} | {g['hits@10']:.3f} | {r['hits@1']:.3f} | {r['hits@10']:.3f} |")
    global_s = statistics.median(v[4] for v in staged.values())
    rerank_s = statistics.median(v[5] for v in staged.values())
    results["seconds_per_query"] = {"global": global_s, "rerank_extra": rerank_s}
    print(f"\nmedian seconds per query: global shortlist {global_s:.4f} (encode + search), "
          f"re-ranking adds {rerank_s:.4f} ({args.shortlist} candidates)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"encoder": args.encoder, "collection": len(ids), "chosen_weight": best,
                                          "validation": {str(k): v for k, v in validation.items()}, **results},
                                         indent=2))


if __name__ == "__main__":
    main()
