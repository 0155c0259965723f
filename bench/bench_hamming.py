"""Hamming vs real-valued search: bytes per item, queries/s, and shortlist re-ranking recall.

    OMP_NUM_THREADS=1 PYTHONPATH=src .venv/bin/python bench/bench_hamming.py --sizes 100000,1000000

Data: seeded synthetic "relaxed codes" — tanh of a clustered gaussian mixture in ``--bits``
dimensions (about sqrt(n) clusters), like the tanh outputs of a hashing model; the binary
codes are their signs (``pack_codes``). The real-valued indexes search the same relaxed
vectors by cosine, so the comparison is at equal information: b float32 (4b bytes) against b
bits (b/8 bytes) per item.

Reported per size:

- per index kind: build seconds, index file bytes per item (saved to disk: payload, ids and
  any graph/list overhead) and the payload alone, batch queries/s (all queries in one call,
  best of 3, one thread), and recall@10 against the exact search of its own kind (Hamming
  kinds against ``hamming-flat``, float kinds against ``exact``; sets, so Hamming ties that
  the tie rule settles count as misses for an approximate index only when it found others);
- the re-ranking table: Hamming shortlist of m (``hamming-flat``), then exact cosine on the
  relaxed vectors, for several m: recall@10 against exact cosine search, and queries/s.

Timings depend on the machine and its load; medians/best-of are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from scicmr.hashing import pack_codes
from scicmr.index import create_index, recall_at_k_against
from scicmr.index.codes_search import CodeSearch


def make_relaxed(size: int, bits: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(size, bits) items and (queries, bits) queries: tanh of a clustered gaussian mixture, float32."""
    rng = np.random.default_rng(seed)
    clusters = max(8, int(np.sqrt(size)))
    centres = rng.standard_normal((clusters, bits), dtype=np.float32)
    items = np.empty((size, bits), dtype=np.float32)
    for start in range(0, size, 200_000):  # chunks keep the temporaries small
        stop = min(size, start + 200_000)
        block = centres[rng.integers(clusters, size=stop - start)]
        block += rng.standard_normal((stop - start, bits), dtype=np.float32)
        items[start:stop] = np.tanh(block)
    query_rows = centres[rng.integers(clusters, size=queries)] + rng.standard_normal((queries, bits), dtype=np.float32)
    return items, np.tanh(query_rows).astype(np.float32)


def best_qps(search, queries, repeats: int = 3) -> tuple[float, np.ndarray]:
    """(queries per second of the fastest of ``repeats`` batch calls, the ids it returned)."""
    best, ids = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        _, ids = search(queries)
        best = min(best, time.perf_counter() - start)
    return len(queries) / best, ids


def file_bytes(index) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        index.save(Path(tmp) / "ix")
        return sum(p.stat().st_size for p in (Path(tmp) / "ix").iterdir() if p.name != "config.json")


def index_rows(items, queries, bits: int, k: int, kind_list: str) -> tuple[list[dict], dict]:
    size = len(items)
    codes, query_codes = pack_codes(items), pack_codes(queries)
    kinds = {
        "exact": ({}, False), "flat": ({}, False), "hnsw": ({"M": 32, "ef_construction": 80, "ef_search": 64}, False),
        "hamming-exact": ({}, True), "hamming-flat": ({}, True),
        "hamming-hnsw": ({"M": 16, "ef_construction": 80, "ef_search": 64}, True),
        # ~4 sqrt(n) lists, capped: binary k-means with more centroids takes minutes on one thread.
        "hamming-ivf": ({"nlist": int(np.clip(4 * np.sqrt(size), 16, 1024)), "nprobe": 16}, True),
    }
    rows, truth, built = [], {}, {}
    for kind in kind_list.split(","):
        params, binary = kinds[kind]
        data, q = (codes, query_codes) if binary else (items, queries)
        start = time.perf_counter()
        index = create_index(kind, bits, **params)
        index.add(data, np.arange(size))
        build = time.perf_counter() - start
        qps, ids = best_qps(lambda x: index.search(x, k), q, repeats=1 if kind in ("hamming-exact", "exact") else 3)
        reference = "hamming-flat" if binary else "exact"
        truth.setdefault(kind, ids)
        built[kind] = index
        payload = codes.shape[1] if binary else 4 * bits
        rows.append({"size": size, "index": kind, "build_s": build, "file_bytes_per_item": file_bytes(index) / size,
                     "payload_bytes_per_item": payload, "qps": qps, "reference": reference, "ids": ids})
        print(json.dumps({k2: v for k2, v in rows[-1].items() if k2 != "ids"}), flush=True)
    for row in rows:
        ref = truth.get(row["reference"])
        row["recall@10"] = recall_at_k_against(ref, row.pop("ids"), k) if ref is not None else None
    return rows, built


def rerank_rows(items, queries, k: int, built: dict, shortlists: list[int]) -> list[dict]:
    exact = built.get("exact") or create_index("exact", items.shape[1])
    if "exact" not in built:
        exact.add(items, np.arange(len(items)))
    _, truth = exact.search(queries, k)
    hamming = built.get("hamming-flat") or create_index("hamming-flat", items.shape[1])
    if "hamming-flat" not in built:
        hamming.add(pack_codes(items), np.arange(len(items)))
    rows = []
    for m in [None, *shortlists]:
        qps, ids = best_qps(lambda x: CodeSearch(hamming, items, m).search(x, k), queries)
        rows.append({"size": len(items), "shortlist": m or "none (Hamming only)", "recall@10": recall_at_k_against(truth, ids, k),
                     "qps": qps})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def markdown(index_table: list[dict], rerank_table: list[dict]) -> str:
    lines = ["| items | index | build s | file B/item | payload B/item | queries/s | recall@10 (vs) |",
             "|---:|---|---:|---:|---:|---:|---|"]
    for r in index_table:
        recall = "—" if r["recall@10"] is None else f"{r['recall@10']:.4f} ({r['reference']})"
        lines.append(f"| {r['size']:,} | {r['index']} | {r['build_s']:.2f} | {r['file_bytes_per_item']:.1f} | "
                     f"{r['payload_bytes_per_item']} | {r['qps']:,.0f} | {recall} |")
    lines += ["", "| items | Hamming shortlist m | recall@10 vs exact cosine | queries/s |", "|---:|---|---:|---:|"]
    for r in rerank_table:
        lines.append(f"| {r['size']:,} | {r['shortlist']} | {r['recall@10']:.4f} | {r['qps']:,.0f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--bits", type=int, default=64)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--kinds", default="exact,flat,hnsw,hamming-flat,hamming-hnsw,hamming-ivf",
                        help="index kinds up to --large items (hamming-exact, the numpy oracle, is slow)")
    parser.add_argument("--large", type=int, default=200_000)
    parser.add_argument("--kinds-large", default="exact,flat,hamming-flat,hamming-ivf",
                        help="index kinds above --large items (graph builds take too long there on a CPU)")
    parser.add_argument("--shortlists", default="10,50,100,500,1000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="write results.md and results.json here")
    args = parser.parse_args()
    try:
        import faiss

        faiss.omp_set_num_threads(1)
    except ImportError:
        pass
    index_table, rerank_table = [], []
    for size in [int(s) for s in args.sizes.split(",")]:
        items, queries = make_relaxed(size, args.bits, args.queries, args.seed)
        kinds = args.kinds if size <= args.large else args.kinds_large
        rows, built = index_rows(items, queries, args.bits, 10, kinds)
        index_table += rows
        rerank_table += rerank_rows(items, queries, 10, built, [int(m) for m in args.shortlists.split(",")])
        del built, items
    table = markdown(index_table, rerank_table)
    print(table)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "results.md").write_text(table)
        (args.out / "results.json").write_text(json.dumps({"args": vars(args) | {"out": str(args.out)},
                                                           "indexes": index_table, "rerank": rerank_table}, indent=2))


if __name__ == "__main__":
    main()
