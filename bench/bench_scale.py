"""Benchmarks at scale (issue 13): synthetic data, one named section per cost.

    PYTHONPATH=src .venv/bin/python bench/bench_scale.py --sections index --n 100000 --dims 512 64
    PYTHONPATH=src .venv/bin/python bench/bench_scale.py --sections index --n 1000000 --dims 512 64 \\
        --kinds flat ivfpq --hnsw-max-build 50000
    PYTHONPATH=src .venv/bin/python bench/bench_scale.py --sections storage service --n 100000 1000000

Sections (``--sections``; each is one function in ``SECTIONS`` returning table rows; ``storage``
and ``service``, on a synthetic library, are in bench/scale_library.py: see its docstring):

- ``index``: flat, HNSW, IVF-PQ (+ exact re-ranking of a shortlist from the memory-mapped
  vectors) and OPQ+IVF-PQ on n unit vectors of each dim, drawn from a Gaussian mixture
  (``--clusters`` random centres N(0, I), each item = centre + ``--noise`` x N(0, I), then
  L2-normalised; with noise 1 an item's cosine to its own cluster-mates is about 0.5 and to
  other clusters about 0 +- 1/sqrt(d)). Queries come from the same mixture but are not in the
  base set: a validation set tunes nprobe / shortlist / ef_search (the cheapest setting whose
  validation recall@k reaches ``--target``), a separate test set gives the reported figures.
  Ground truth: exact inner product (FAISS ``IndexFlatIP``, all threads).
  Per kind: build time and rate (rows/s; HNSW beyond ``--hnsw-max-build`` rows is built only
  on that prefix to report its rate), bytes per item on disk (saved index / n; the re-rank
  vectors, 4d bytes, separately), process memory per item measured in a fresh process that
  only loads the saved index and memory-maps the vectors (``/proc/self/status``: RssAnon = not
  backed by files, RssFile = mapped file pages, i.e. the page cache of the re-rank vectors),
  p50/p99 latency of one query per call with one thread (``faiss.omp_set_num_threads(1)``,
  query encoding excluded), recall@k against the exact truth.

Results: the printed table, and ``OUT/<section>.json`` (rows + settings). Data, truth and the
saved indexes are cached under ``OUT/work`` (delete it to regenerate). Figures depend on the
machine and its load: never assert on them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

KINDS = ("flat", "hnsw", "ivfpq", "opq-ivfpq")
CHUNK = 200_000  # rows per generated / added chunk: bounds the memory of every step
NPROBES = (16, 32, 64, 128, 256, 512)
SHORTLISTS = (0, 50, 100, 200)  # 0 = the index's own (approximate) ranking
EF_SEARCHES = (32, 64, 128, 256, 512)
COLUMNS = [
    ("n", "{:>9,}"), ("dim", "{:>4}"), ("kind", "{:<9}"), ("setting", "{:<22}"), ("build s", "{:>8.1f}"),
    ("rows/s", "{:>8,.0f}"), ("disk B/it", "{:>9.0f}"), ("vec B/it", "{:>8.0f}"), ("anon B/it", "{:>9.0f}"),
    ("file B/it", "{:>9.0f}"), ("p50 ms", "{:>7.2f}"), ("p99 ms", "{:>7.2f}"), ("recall", "{:>6.3f}"),
]


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- data
def mixture_rows(rng: np.random.Generator, centres: np.ndarray, rows: int, noise: float) -> np.ndarray:
    """(rows, d) float32 unit vectors: a random centre each, plus Gaussian noise."""
    out = centres[rng.integers(len(centres), size=rows)]
    out += noise * rng.standard_normal(out.shape, dtype=np.float32)
    out /= np.linalg.norm(out, axis=1, keepdims=True)
    return out


def make_data(args: argparse.Namespace, n: int, dim: int, work: Path) -> dict[str, Path]:
    """Write base (n, d), validation and test queries as .npy once; returns their paths."""
    tag = f"n{n}-d{dim}-c{args.clusters}-s{args.noise}-seed{args.seed}"
    paths = {name: work / f"{name}-{tag}.npy" for name in ("base", "val", "test")}
    if all(p.exists() for p in paths.values()):
        return paths
    centres = np.random.default_rng([args.seed, dim]).standard_normal((args.clusters, dim), dtype=np.float32)
    base = np.lib.format.open_memmap(paths["base"].with_suffix(".tmp"), "w+", np.float32, (n, dim))
    for start in range(0, n, CHUNK):
        rng = np.random.default_rng([args.seed, dim, start])  # per chunk: the same rows at any n
        base[start:start + CHUNK] = mixture_rows(rng, centres, min(CHUNK, n - start), args.noise)
    base.flush()
    del base
    rng = np.random.default_rng([args.seed, dim, 10**12])
    np.save(paths["val"], mixture_rows(rng, centres, args.val_queries, args.noise))
    np.save(paths["test"], mixture_rows(rng, centres, args.test_queries, args.noise))
    os.replace(paths["base"].with_suffix(".tmp"), paths["base"])
    return paths


def exact_truth(base_path: Path, queries: np.ndarray, k: int) -> np.ndarray:
    """(q, k) int64 exact top-k ids by inner product, chunk by chunk (FAISS IndexFlatIP)."""
    import faiss

    base = np.load(base_path, mmap_mode="r")
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_i = np.empty((len(queries), 0), np.int64)
    for start in range(0, len(base), CHUNK):
        flat = faiss.IndexFlatIP(base.shape[1])
        flat.add(np.ascontiguousarray(base[start:start + CHUNK]))
        scores, ids = flat.search(queries, k)
        best_s, best_i = np.hstack([best_s, scores]), np.hstack([best_i, ids + start])
        order = np.argsort(-best_s, axis=1, kind="stable")[:, :k]
        best_s, best_i = np.take_along_axis(best_s, order, 1), np.take_along_axis(best_i, order, 1)
    return best_i


# ---------------------------------------------------------------------------- child: build
def build_child(args: argparse.Namespace) -> dict:
    """Build one index from the base file (a prefix for partial HNSW builds), save, time it."""
    from scicmr.index import create_index
    from scicmr.index.ivfpq import choose_ivfpq_params

    base = np.load(args.base, mmap_mode="r")
    n, dim = base.shape
    rows = min(n, args.rows)
    params: dict = {}
    if args.kind == "hnsw":
        params = {"M": args.hnsw_m, "ef_construction": args.ef_construction}
    elif args.kind in ("ivfpq", "opq-ivfpq"):
        # Cells chosen for the final size: the first add (one chunk) only trains the codebooks.
        params = {"nlist": choose_ivfpq_params(n, dim)["nlist"]}
    index = create_index(args.kind, dim, **params)
    start = time.perf_counter()
    for first in range(0, rows, CHUNK):
        stop = min(rows, first + CHUNK)
        index.add(base[first:stop], np.arange(first, stop))
        progress(f"  {args.kind} n={n} d={dim}: {stop:,}/{rows:,} rows, {time.perf_counter() - start:.0f} s")
    seconds = time.perf_counter() - start
    if rows == n:
        index.save(args.index_dir)
    return {"build s": seconds, "rows/s": rows / seconds, "built rows": rows, "params": index.params}


# ---------------------------------------------------------------------------- child: measure
def rss() -> dict[str, int]:
    """RssAnon and RssFile of this process, bytes (/proc/self/status)."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) * 1024
    return fields


def latencies(search, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[float]]:
    """Ids of one search call per query, and each call's time in ms."""
    ids, times = [], []
    for row in range(len(queries)):
        start = time.perf_counter()
        ids.append(search(queries[row:row + 1], k)[1][0])
        times.append((time.perf_counter() - start) * 1000)
    return np.array(ids), times


def settings_for(kind: str) -> list[dict]:
    if kind == "hnsw":
        return [{"ef_search": ef} for ef in EF_SEARCHES]
    if kind in ("ivfpq", "opq-ivfpq"):
        return [{"nprobe": p, "shortlist": s} for p in NPROBES for s in SHORTLISTS]
    return [{}]


def searcher(index, vectors, setting: dict):
    """The search callable for one setting (applied to the loaded index)."""
    from scicmr.index.rerank import ShortlistRerank

    if "ef_search" in setting:
        index.ef_search = setting["ef_search"]
    if "nprobe" in setting:
        index.nprobe = setting["nprobe"]
        if setting["shortlist"]:
            return ShortlistRerank(index, vectors, setting["shortlist"]).search
    return index.search


def tune(index, vectors, val: np.ndarray, truth: np.ndarray, k: int, target: float) -> tuple[dict, list[dict]]:
    """The cheapest validation setting reaching ``target`` recall (else the best recall)."""
    from scicmr.index import recall_at_k_against

    trials = []
    for setting in settings_for(index.kind):
        ids, times = latencies(searcher(index, vectors, setting), val, k)
        trials.append({**setting, "recall": recall_at_k_against(truth, ids, k), "p50 ms": float(np.median(times))})
    good = [t for t in trials if t["recall"] >= target]
    best = min(good, key=lambda t: t["p50 ms"]) if good else max(trials, key=lambda t: t["recall"])
    return {key: best[key] for key in ("ef_search", "nprobe", "shortlist") if key in best}, trials


def measure_child(args: argparse.Namespace) -> dict:
    """In a fresh process: load the index, map the vectors, tune on val, measure on test."""
    import faiss

    from scicmr.index import load_index, recall_at_k_against

    faiss.omp_set_num_threads(1)
    val, test = np.load(args.val), np.load(args.test)
    truth = np.load(args.truth)
    val_truth, test_truth = truth[: len(val)], truth[len(val):]
    before = rss()
    index = load_index(args.index_dir)
    vectors = np.load(args.base, mmap_mode="r")  # re-rank vectors: file-backed, never copied
    loaded = rss()
    setting, trials = tune(index, vectors, val, val_truth, args.k, args.target)
    search = searcher(index, vectors, setting)
    timed = test[: args.flat_latency_queries] if index.kind == "flat" else test
    _, times = latencies(search, timed, args.k)
    ids = search(test, args.k)[1]
    after = rss()
    n = len(index)
    return {
        "setting": setting, "trials": trials,
        "p50 ms": float(np.percentile(times, 50)), "p99 ms": float(np.percentile(times, 99)),
        "recall": recall_at_k_against(test_truth, ids, args.k),
        "anon B/it": (after["RssAnon"] - before["RssAnon"]) / n,
        "anon B/it loaded": (loaded["RssAnon"] - before["RssAnon"]) / n,
        "file B/it": (after["RssFile"] - before["RssFile"]) / n,
    }


# ---------------------------------------------------------------------------- parent: index section
def run_child(mode: str, args: argparse.Namespace, **extra) -> dict:
    command = [sys.executable, __file__, "--child", mode, "--k", str(args.k), "--target", str(args.target),
               "--hnsw-m", str(args.hnsw_m), "--ef-construction", str(args.ef_construction),
               "--flat-latency-queries", str(args.flat_latency_queries)]
    command += [item for key, value in extra.items() for item in (f"--{key.replace('_', '-')}", str(value))]
    done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"bench child {mode} {extra} failed (its stderr is above)")
    return json.loads(done.stdout.strip().splitlines()[-1])


def dir_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def index_section(args: argparse.Namespace, out: Path) -> list[dict]:
    """Rows of the index table: every (n, dim, kind)."""
    work = out / "work"
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.n:
        for dim in args.dims:
            progress(f"data n={n:,} d={dim}")
            paths = make_data(args, n, dim, work)
            truth = work / f"truth-{paths['base'].stem}-k{args.k}.npy"
            if not truth.exists():
                queries = np.vstack([np.load(paths["val"]), np.load(paths["test"])])
                np.save(truth, exact_truth(paths["base"], queries, args.k))
            for kind in args.kinds:
                index_dir = work / f"{kind}-{paths['base'].stem}"
                limit = args.hnsw_max_build if kind == "hnsw" else n
                progress(f"build {kind} n={n:,} d={dim}" + (f" (first {limit:,} rows)" if limit < n else ""))
                built = run_child("build", args, kind=kind, base=paths["base"], rows=limit, index_dir=index_dir)
                row = {"n": n, "dim": dim, "kind": kind, **built, "vec B/it": 0.0}
                if built["built rows"] == n:
                    row["disk B/it"] = dir_bytes(index_dir) / n
                    if kind in ("ivfpq", "opq-ivfpq"):
                        row["vec B/it"] = paths["base"].stat().st_size / n  # the memory-mapped re-rank vectors
                    progress(f"measure {kind} n={n:,} d={dim}")
                    row.update(run_child("measure", args, index_dir=index_dir, base=paths["base"],
                                         val=paths["val"], test=paths["test"], truth=truth))
                rows.append(row)
                print_table([row], args.k, header=len(rows) == 1)
    return rows


import scale_library  # noqa: E402 -- the storage and service sections (bench/scale_library.py)

# name -> fn(args, out) -> rows; later: ingest
SECTIONS = {"index": index_section, "storage": scale_library.storage_section, "service": scale_library.service_section}


# ---------------------------------------------------------------------------- output
def print_table(rows: list[dict], k: int, header: bool = True) -> None:
    names = [name.replace("recall", f"rec@{k}") for name, _ in COLUMNS]
    widths = [max(len(name), len(fmt.format(0))) for name, (_, fmt) in zip(names, COLUMNS)]
    widths[3] = 22
    if header:
        print("  ".join(name.rjust(width) for name, width in zip(names, widths)))
    for row in rows:
        cells = []
        for (key, fmt), width in zip(COLUMNS, widths):
            value = row.get(key)
            if key == "setting":
                value = ",".join(f"{a}={b}" for a, b in (value or {}).items()) or "-"
            cells.append((fmt.format(value) if value is not None else "-").rjust(width))
        print("  ".join(cells), flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sections", nargs="+", default=list(SECTIONS), choices=list(SECTIONS))
    parser.add_argument("--n", nargs="+", type=int, default=[100_000])
    parser.add_argument("--dims", nargs="+", type=int, default=[512, 64])
    parser.add_argument("--out", type=Path, default=Path("bench/out/scale"))
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--clusters", type=int, default=10_000)
    parser.add_argument("--noise", type=float, default=1.0, help="within-cluster noise per dimension (centres: N(0, 1))")
    parser.add_argument("--val-queries", type=int, default=300)
    parser.add_argument("--test-queries", type=int, default=1000)
    parser.add_argument("--flat-latency-queries", type=int, default=100, help="flat is slow at 1M: time fewer queries")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--target", type=float, default=0.95, help="validation recall@k the tuning aims for")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--hnsw-m", type=int, default=32)
    parser.add_argument("--ef-construction", type=int, default=200)
    parser.add_argument("--hnsw-max-build", type=int, default=1_000_000,
                        help="HNSW beyond this many rows: build only the prefix and report its rate")
    scale_library.add_arguments(parser)
    # Internal: one build or measurement in a child process.
    parser.add_argument("--child", choices=["build", "measure"], help=argparse.SUPPRESS)
    for name in ("kind", "base", "index-dir", "val", "test", "truth"):
        parser.add_argument(f"--{name}", help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        result = (build_child if args.child == "build" else measure_child)(args)
        print(json.dumps(result))
        return
    args.out.mkdir(parents=True, exist_ok=True)
    if "index" in args.sections:
        print(f"clusters={args.clusters} noise={args.noise} k={args.k} target={args.target} seed={args.seed} "
              f"val/test queries={args.val_queries}/{args.test_queries}; {os.cpu_count()} cpus; latency on 1 thread.\n"
              "disk B/it: saved index / n; vec B/it: memory-mapped re-rank vectors on disk; anon/file B/it: "
              "RssAnon/RssFile growth per item in a fresh process (load + queries).\n")
    for section in args.sections:
        rows = SECTIONS[section](args, args.out)
        settings = {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()}
        (args.out / f"{section}.json").write_text(json.dumps({"settings": settings, "rows": rows}, indent=1))
        print(f"\nwrote {args.out / f'{section}.json'}")


if __name__ == "__main__":
    main()
