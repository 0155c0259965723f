"""Search benchmark: exact vs FAISS flat vs FAISS HNSW on seeded, clustered random vectors.

    .venv/bin/python bench/bench_search.py --sizes 10000,100000 --dim 64 --queries 200 --k 10

For every size and index kind it reports build time, single-query latency (p50 / p99 over
``--queries`` queries, one search call each), batch throughput (all queries in one call, best
of three), recall@k against the exact index, and peak resident memory. Each (size, kind) runs
in its own child process so that its peak RSS (``resource.getrusage``) is its own; the exact
run writes its result ids to a temporary file that the others read to compute recall.
Timings depend on the machine and its load: never assert on them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

KINDS = ("exact", "flat", "hnsw")
COLUMNS = [
    ("size", "{:>9,}"), ("index", "{:<6}"), ("build s", "{:>8.2f}"), ("p50 ms", "{:>8.3f}"),
    ("p99 ms", "{:>8.3f}"), ("batch q/s", "{:>10,.0f}"), ("recall@k", "{:>8.4f}"),
    ("data MiB", "{:>8.0f}"), ("peak MiB", "{:>8.0f}"),
]


def make_data(size: int, dim: int, queries: int, seed: int, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(size, dim) items and (queries, dim) queries, float32, from one gaussian mixture.

    Clusters (about sqrt(size) of them) make the neighbourhoods uneven, like real
    embeddings, which is harder for a graph index than uniform noise. Centres and ``noise``
    are in units of one standard deviation; with noise 1.0 clusters overlap.
    """
    rng = np.random.default_rng(seed)
    clusters = max(8, int(np.sqrt(size)))
    centres = rng.standard_normal((clusters, dim), dtype=np.float32)
    items = centres[rng.integers(clusters, size=size)]
    items += noise * rng.standard_normal((size, dim), dtype=np.float32)
    query_rows = centres[rng.integers(clusters, size=queries)]
    query_rows += noise * rng.standard_normal((queries, dim), dtype=np.float32)
    return items, query_rows


def peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_worker(args: argparse.Namespace) -> dict:
    """Build one index, time it, and return one row of the table."""
    from scicmr.index import create_index, recall_at_k_against

    items, queries = make_data(args.size, args.dim, args.queries, args.seed, args.noise)
    data_mib = peak_rss_mib()
    params = {"M": args.M, "ef_construction": args.ef_construction, "ef_search": args.ef_search}
    index = create_index(args.kind, args.dim, **(params if args.kind == "hnsw" else {}))
    start = time.perf_counter()
    index.add(items, np.arange(args.size, dtype=np.int64))
    build = time.perf_counter() - start

    latencies = []
    for row in range(len(queries)):
        start = time.perf_counter()
        index.search(queries[row : row + 1], args.k)
        latencies.append((time.perf_counter() - start) * 1000)
    batch_seconds = []
    for _ in range(3):
        start = time.perf_counter()
        _, ids = index.search(queries, args.k)
        batch_seconds.append(time.perf_counter() - start)

    truth_path = Path(args.truth)
    if args.kind == "exact":
        np.save(truth_path, ids)
    recall = recall_at_k_against(np.load(truth_path), ids, args.k) if truth_path.exists() else float("nan")
    return {
        "size": args.size, "index": args.kind, "build s": build,
        "p50 ms": float(np.percentile(latencies, 50)), "p99 ms": float(np.percentile(latencies, 99)),
        "batch q/s": len(queries) / min(batch_seconds), "recall@k": recall,
        "data MiB": data_mib, "peak MiB": peak_rss_mib(),
    }


def run_child(args: argparse.Namespace, kind: str, size: int, truth: Path) -> dict:
    shared = {
        "--dim": args.dim, "--queries": args.queries, "--k": args.k, "--seed": args.seed, "--noise": args.noise,
        "--M": args.M, "--ef-construction": args.ef_construction, "--ef-search": args.ef_search,
    }
    command = [sys.executable, __file__, "--worker", "--kind", kind, "--size", str(size), "--truth", str(truth)]
    command += [item for flag, value in shared.items() for item in (flag, str(value))]
    # Thread counts must be set before numpy / faiss load, hence in the child's environment.
    threads = str(args.threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        sys.exit(f"benchmark child {kind} @ {size} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_table(rows: list[dict], k: int) -> None:
    names = [name.replace("@k", f"@{k}") for name, _ in COLUMNS]
    widths = [max(len(name), len(fmt.format(rows[0][key]) if rows else "")) for name, (key, fmt) in zip(names, COLUMNS)]
    print("  ".join(name.rjust(width) for name, width in zip(names, widths)))
    print("  ".join("-" * width for width in widths))
    for row in rows:
        cells = [fmt.format(row[key]) for key, fmt in COLUMNS]
        print("  ".join(cell.rjust(width) for cell, width in zip(cells, widths)), flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated index sizes")
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--noise", type=float, default=1.0, help="spread of points around their cluster centre")
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset of exact,flat,hnsw")
    parser.add_argument("--M", type=int, default=32, help="HNSW neighbours per node")
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--ef-search", type=int, default=128)
    parser.add_argument(
        "--threads", type=int, default=1,
        help="BLAS / OpenMP threads per run (default 1: on a small shared machine, extra threads "
        "mostly wait for a core and single-query latency becomes scheduler noise)",
    )
    # Internal: one (size, kind) measurement in a child process.
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--truth", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(run_worker(args)))
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        sys.exit(f"unknown --kinds {unknown}; choose from {', '.join(KINDS)}")
    # Exact first: its ids are the truth for the others' recall.
    kinds = sorted(kinds, key=KINDS.index)
    print(
        f"dim={args.dim} queries={args.queries} k={args.k} seed={args.seed} noise={args.noise} "
        f"HNSW M={args.M} ef_construction={args.ef_construction} ef_search={args.ef_search}; "
        f"threads={args.threads} of {os.cpu_count()} cpus; cosine metric; recall vs exact.\n"
        "data MiB: peak RSS of the child after imports and data generation; "
        "peak MiB: after building and searching (its index's cost is the difference).\n"
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="scicmr-bench-") as tmp:
        for size in sizes:
            for kind in kinds:
                rows.append(run_child(args, kind, size, Path(tmp) / f"truth-{size}.npy"))
    print_table(rows, args.k)


if __name__ == "__main__":
    main()
