"""``storage`` and ``service`` sections of bench/bench_scale.py (issue 13): a synthetic library.

    PYTHONPATH=src .venv/bin/python bench/bench_scale.py --sections storage service --n 100000
    PYTHONPATH=src .venv/bin/python bench/bench_scale.py --sections storage service --n 1000000 --workers 1

The library (``OUT/work/lib-n<n>``, rebuilt by every ``storage`` run, reused by ``service``):
n pair records (caption words drawn from the record's cluster, a year, 1-3 of 50 labels, 1-4
of 1000 authors, an image path with no file behind it), precomputed features of ``--feature-dim``
per modality (``image-synth`` / ``text-synth``: a Gaussian mixture of ``--lib-clusters`` clusters,
independent centres per modality, so CCA learns the shared cluster), splits of ``--train`` train
and ``--validation`` validation records (the rest test), a CCA model of ``--components``
components (no hybrid fusion) and a flat index (``build_index``, which writes the serving table).

``storage``: build time of each step; bytes per item on disk; one record added / deleted the
way ``scicmr.service.writes`` does after encoding (feature tables, SQLite, serving table, snapshot;
query encoding and projection excluded); ``compact_library`` afterwards; and, for context, one
``np.save`` of a whole (n, d) feature array (what every add cost before chunked tables).

``service``: in a fresh process, ``Library.open`` + ``SearchEngine`` + loading the model (the
serving table and built index mapped), RssAnon / RssFile after it, the first and the p50 query of
``Searcher.rank`` (a random shared-space vector, k=10, records read); run twice (the first run
follows the build, so the page cache is already mostly warm: caches cannot be dropped here).
Then q/s of ``scicmr serve LIB --workers N`` on ``GET /api/search?q=...``. A precomputed library
has no query encoder, and the service has no search-by-record endpoint, so the build attaches a
TF-IDF (LSA to ``--feature-dim``) text encoder fitted on the train captions as the library's
text encoder: the queries pay a real encoding, but its vectors are not those the features came
from (rankings are meaningless, costs are real). The load generator runs on the same machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

FEATURE_KEYS = {"image": "image-synth", "text": "text-synth"}
RECORD_CHUNK = 100_000
STORAGE_COLUMNS = [
    ("n", "{:>9,}"), ("records s", "{:>9.1f}"), ("features s", "{:>10.1f}"), ("train s", "{:>7.1f}"),
    ("index s", "{:>7.1f}"), ("sqlite B/it", "{:>11.0f}"), ("feat B/it", "{:>9.0f}"), ("serve B/it", "{:>10.0f}"),
    ("index B/it", "{:>10.0f}"), ("add p50 ms", "{:>10.1f}"), ("add p90 ms", "{:>10.1f}"),
    ("del p50 ms", "{:>10.1f}"), ("del p90 ms", "{:>10.1f}"), ("compact s", "{:>9.1f}"), ("old np.save s", "{:>13.3f}"),
]
STEP_COLUMNS = [("n", "{:>9,}"), ("write", "{:<6}"), ("step", "{:<10}"), ("p50 ms", "{:>8.2f}"), ("p90 ms", "{:>8.2f}"),
                ("max ms", "{:>8.2f}")]
START_COLUMNS = [("n", "{:>9,}"), ("run", "{:<17}"), ("import s", "{:>8.2f}"), ("start s", "{:>7.2f}"),
                 ("RssAnon MB", "{:>10.0f}"), ("RssFile MB", "{:>10.0f}"), ("1st query ms", "{:>12.1f}"),
                 ("p50 ms", "{:>7.2f}"), ("p99 ms", "{:>7.2f}")]
QPS_COLUMNS = [("n", "{:>9,}"), ("workers", "{:>7}"), ("clients", "{:>7}"), ("q/s", "{:>7.1f}"), ("p50 ms", "{:>7.1f}"),
               ("p99 ms", "{:>7.1f}"), ("errors", "{:>6}")]


def _bench():
    import bench_scale  # the runner's shared helpers (imported late: it imports this module)

    return bench_scale


def print_rows(columns: list[tuple[str, str]], rows: list[dict], header: bool = True) -> None:
    widths = [max(len(name), len(fmt.format(0))) for name, fmt in columns]
    if header:
        print("  ".join(name.rjust(width) for (name, _), width in zip(columns, widths)))
    for row in rows:
        cells = [(fmt.format(row[key]) if row.get(key) is not None else "-").rjust(width)
                 for (key, fmt), width in zip(columns, widths)]
        print("  ".join(cells), flush=True)


def library_path(out: Path, n: int) -> Path:
    return out / "work" / f"lib-n{n}"


# ---------------------------------------------------------------------------- synthetic library
def synthetic_records(rng: np.random.Generator, start: int, clusters: np.ndarray, splits: np.ndarray | None):
    """Records ``start, start + 1, ...`` (ids ``r0000000``...), one per entry of ``clusters``
    (which picks each caption's words) and of ``splits`` (None: no split)."""
    from scicmr.corpus.record import Record

    records = []
    for offset, c in enumerate(clusters.tolist()):
        i = start + offset
        words = [f"w{c}x{j}" for j in rng.integers(8, size=6)] + [f"common{j}" for j in rng.integers(200, size=4)]
        labels = sorted({f"label{(c + j) % 50}" for j in range(int(rng.integers(1, 4)))})
        authors = [f"Author {a}" for a in rng.integers(1000, size=int(rng.integers(1, 5)))]
        records.append(Record(id=f"r{i:07d}", title=f"Paper {i // 4}", text=" ".join(words),
                              date=str(1990 + int(rng.integers(35))), labels=labels, authors=authors,
                              images=[f"images/r{i:07d}.png"], group=f"p{i // 4}",
                              extra={} if splits is None else {"split": str(splits[offset])}))
    return records


def mixture_features(seed: int, clusters: np.ndarray, n_clusters: int, dim: int) -> dict[str, np.ndarray]:
    """(n, dim) float32 per modality: an independent random centre per (modality, cluster) + noise."""
    features = {}
    for m, modality in enumerate(FEATURE_KEYS):
        rng = np.random.default_rng([seed, m])
        centres = rng.standard_normal((n_clusters, dim), dtype=np.float32)
        rows = centres[clusters]
        rows += rng.standard_normal(rows.shape, dtype=np.float32)
        features[modality] = rows
    return features


def build_library(args: argparse.Namespace, n: int, out: Path) -> dict:
    """Build the synthetic library of n records (module docstring); returns the step times."""
    from scicmr.corpus.library import Library
    from scicmr.workflow.index import build_index
    from scicmr.workflow.train import train_model

    progress = _bench().progress
    root = library_path(out, n)
    shutil.rmtree(root, ignore_errors=True)
    rng = np.random.default_rng(args.seed)
    clusters = rng.integers(args.lib_clusters, size=n)
    splits = np.full(n, "test", dtype=object)
    chosen = rng.permutation(n)[: args.train + args.validation]
    splits[chosen[: args.train]], splits[chosen[args.train:]] = "train", "validation"
    times: dict = {}
    lib = Library.create(root)
    started = time.perf_counter()
    for first in range(0, n, RECORD_CHUNK):
        stop = min(n, first + RECORD_CHUNK)
        lib.add_records(synthetic_records(rng, first, clusters[first:stop], splits[first:stop]))
        progress(f"  records {min(n, first + RECORD_CHUNK):,}/{n:,}")
    times["records s"] = time.perf_counter() - started
    features = mixture_features(args.seed, clusters, args.lib_clusters, args.feature_dim)
    ids = [f"r{i:07d}" for i in range(n)]
    started = time.perf_counter()
    for modality, key in FEATURE_KEYS.items():
        lib.save_features(key, ids, features[modality], {"name": "precomputed", "feature": "synthetic"})
    times["features s"] = time.perf_counter() - started
    del features
    train_captions = [r.text for r in lib.records("train")]
    attach_text_encoder(lib, train_captions, args.feature_dim)
    progress("  train")
    started = time.perf_counter()
    train_model(lib, "cca", {"n_components": args.components}, fusion=False)
    times["train s"] = time.perf_counter() - started
    progress("  index")
    started = time.perf_counter()
    build_index(lib, kind="flat")
    times["index s"] = time.perf_counter() - started
    return times


def attach_text_encoder(lib, captions: list[str], dim: int) -> None:
    """Make a fitted TF-IDF (LSA to ``dim``) the library's text encoder of ``text-synth`` (so
    text queries can be served: module docstring); the image side stays precomputed."""
    from scicmr.encoders import create_encoder
    from scicmr.workflow.encode import encoder_dir

    spec = {"name": "tfidf", "svd_dim": dim, "min_df": 2}
    create_encoder(spec).fit(captions).save(encoder_dir(lib, FEATURE_KEYS["text"]))
    lib.update_meta(encoders={"image": {"name": "precomputed", "key": FEATURE_KEYS["image"]},
                              "text": {"name": "tfidf", "spec": spec, "key": FEATURE_KEYS["text"]}})


def disk_bytes(root: Path) -> dict[str, float]:
    dir_bytes = _bench().dir_bytes
    sqlite = sum(p.stat().st_size for p in root.glob("records.sqlite*"))
    return {"sqlite": sqlite, "features": dir_bytes(root / "features"),
            "serving": sum(dir_bytes(p) for p in (root / "models").glob("*/serving")),
            "index": dir_bytes(root / "indexes")}


# ---------------------------------------------------------------------------- one write
def _timed(steps: dict, name: str, fn, *a, **kw):
    start = time.perf_counter()
    value = fn(*a, **kw)
    steps[name] = steps.get(name, 0.0) + (time.perf_counter() - start) * 1000
    return value


def add_one(lib, searcher, record, raw: dict, shared: dict) -> dict:
    """The service's add path after encoding (scicmr.service.writes.add_records); step times in ms."""
    from scicmr.workflow.serving import publish_added

    steps: dict = {}
    with lib.writing():
        for modality, key in FEATURE_KEYS.items():
            _timed(steps, "features", lib.append_features, key, [record.id], raw[modality])
        _timed(steps, "records", lib.add_records, [record])
        searcher.use(_timed(steps, "publish", publish_added, lib, searcher.model_name, searcher.snapshot,
                            [record], shared))
    steps["total"] = sum(steps.values())
    return steps


def delete_one(lib, searcher, record_id: str) -> dict:
    """The service's delete path (scicmr.service.writes.delete_record); step times in ms."""
    from scicmr.workflow.serving import publish_deleted

    steps: dict = {}
    with lib.writing():
        _timed(steps, "records", lib.delete_records, [record_id])  # feature rows go at compact
        searcher.use(_timed(steps, "publish", publish_deleted, lib, searcher.model_name, searcher.snapshot,
                            [record_id]))
    steps["total"] = sum(steps.values())
    return steps


def write_latencies(args: argparse.Namespace, lib, n: int) -> tuple[dict, list[dict]]:
    """``--writes`` adds (new ids), then as many deletes of them, then one more add (after
    deletes: the snapshot then has dead rows). Returns the table cells and per-step rows."""
    from scicmr.workflow.index import project
    from scicmr.workflow.search import Searcher

    searcher = Searcher(lib)
    searcher.use(searcher.load_snapshot())
    rng = np.random.default_rng([args.seed, 7])
    rng_records = np.random.default_rng([args.seed, 8])
    adds, deletes, added = [], [], []
    for i in range(args.writes + 1):
        record = synthetic_records(rng_records, n + i, np.array([i]), None)[0]  # new records join no split
        raw = {m: rng.standard_normal((1, args.feature_dim), dtype=np.float32) for m in FEATURE_KEYS}
        shared = project(searcher.method, raw, [record])  # the encoding step: excluded
        adds.append(add_one(lib, searcher, record, raw, shared))
        added.append(record.id)
        if i == args.writes - 1:
            for rid in added:
                deletes.append(delete_one(lib, searcher, rid))
    cells, step_rows = {}, []
    for name, samples in (("add", adds), ("del", deletes)):
        for step in samples[0]:
            values = np.array([s[step] for s in samples])
            step_rows.append({"n": n, "write": name, "step": step, "p50 ms": float(np.median(values)),
                              "p90 ms": float(np.percentile(values, 90)), "max ms": float(values.max())})
        totals = np.array([s["total"] for s in samples])
        cells[f"{name} p50 ms"], cells[f"{name} p90 ms"] = float(np.median(totals)), float(np.percentile(totals, 90))
    cells["add after deletes ms"] = adds[-1]["total"]
    return cells, step_rows


def storage_section(args: argparse.Namespace, out: Path) -> list[dict]:
    """Rows of the storage table: build, disk, add/delete, compact, old full rewrite; per n."""
    from scicmr.corpus.library import Library
    from scicmr.workflow.maintenance import compact_library

    progress = _bench().progress
    rows, step_rows = [], []
    for n in args.n:
        progress(f"storage: build the library n={n:,}")
        row: dict = {"n": n, **build_library(args, n, out)}
        root = library_path(out, n)
        sizes = disk_bytes(root)
        row.update({"sqlite B/it": sizes["sqlite"] / n, "feat B/it": sizes["features"] / n,
                    "serve B/it": sizes["serving"] / n, "index B/it": sizes["index"] / n})
        lib = Library.open(root)
        progress(f"storage: {args.writes} adds and deletes n={n:,}")
        cells, steps = write_latencies(args, lib, n)
        row.update(cells)
        step_rows += steps
        progress(f"storage: compact n={n:,}")
        started = time.perf_counter()
        row["compact report"] = compact_library(lib)
        row["compact s"] = time.perf_counter() - started
        vectors = np.array(lib.load_features(FEATURE_KEYS["image"]))  # in memory: time the write only
        started = time.perf_counter()
        with open(out / "work" / "old-design.npy", "wb") as handle:  # durable, like the old atomic save
            np.save(handle, vectors)
            handle.flush()
            os.fsync(handle.fileno())
        row["old np.save s"] = time.perf_counter() - started
        (out / "work" / "old-design.npy").unlink()
        rows.append(row)
        print_rows(STORAGE_COLUMNS, [row], header=len(rows) == 1)
    print(f"\nadd / delete steps (ms, {args.writes} writes each; encoding excluded):")
    print_rows(STEP_COLUMNS, step_rows)
    return rows + [{"steps": step_rows}]


# ---------------------------------------------------------------------------- service
def startup_child(root: str, queries: int, seed: int) -> dict:
    """In a fresh process: open + SearchEngine, memory, first and later query latencies."""
    started = time.perf_counter()
    from scicmr.corpus.library import Library
    from scicmr.service.engine import SearchEngine

    imported = time.perf_counter()
    engine = SearchEngine(Library.open(root))
    engine.searcher.method  # the model: loaded by the first encoded query, counted in the start here
    ready = time.perf_counter()
    memory = _bench().rss()
    dim = engine.snapshot.vectors["image"].shape[1]
    vectors = np.random.default_rng(seed).standard_normal((queries + 1, dim), dtype=np.float32)
    times = []
    for row in range(queries + 1):
        start = time.perf_counter()
        engine.searcher.rank(vectors[row:row + 1], "image", 10)
        times.append((time.perf_counter() - start) * 1000)
    return {"import s": imported - started, "start s": ready - imported, "RssAnon MB": memory["RssAnon"] / 2**20,
            "RssFile MB": memory["RssFile"] / 2**20, "1st query ms": times[0],
            "p50 ms": float(np.median(times[1:])), "p99 ms": float(np.percentile(times[1:], 99))}


def serve_qps(args: argparse.Namespace, root: Path, workers: int) -> dict:
    """q/s and latency of ``scicmr serve --workers N`` under ``--clients`` client threads."""
    import httpx

    port = args.port
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in [str(Path(__file__).parents[1] / "src"),
                                                                    os.environ.get("PYTHONPATH", "")] if p)}
    command = [sys.executable, "-m", "scicmr.cli", "serve", str(root), "--workers", str(workers), "--port", str(port),
               "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + args.serve_start_timeout
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError(f"scicmr serve --workers {workers} did not start")
            time.sleep(0.5)
        load(base, args.clients, args.warmup_s)  # every worker loads its encoder, caches warm
        return load(base, args.clients, args.duration_s)
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


def load(base: str, clients: int, seconds: float) -> dict:
    """``clients`` threads sending text searches for ``seconds``: q/s, latency, errors."""
    import threading

    import httpx

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client(seed: int) -> None:
        rng = np.random.default_rng(seed)
        with httpx.Client(base_url=base, timeout=30) as http:
            while time.perf_counter() < stop:
                c = int(rng.integers(1000))
                query = " ".join(f"w{c}x{j}" for j in rng.integers(8, size=3))
                start = time.perf_counter()
                ok = http.get("/api/search", params={"q": query, "k": 10}).status_code == 200
                with lock:
                    latencies.append((time.perf_counter() - start) * 1000) if ok else None
                    errors[0] += not ok

    began = time.perf_counter()
    threads = [threading.Thread(target=client, args=(s,)) for s in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    return {"q/s": len(latencies) / elapsed, "p50 ms": float(np.median(latencies)) if latencies else None,
            "p99 ms": float(np.percentile(latencies, 99)) if latencies else None, "errors": errors[0]}


def service_section(args: argparse.Namespace, out: Path) -> list[dict]:
    """Rows of the service tables: startup (twice) per n, then q/s per worker count."""
    progress = _bench().progress
    starts, rates = [], []
    for n in args.n:
        root = library_path(out, n)
        if not (root / "library.json").exists():
            progress(f"service: no library n={n:,} yet, building it")
            build_library(args, n, out)
        for run in ("1st (after build)", "2nd (warm cache)"):
            progress(f"service: startup n={n:,}, {run}")
            command = [sys.executable, __file__, "--startup", str(root), "--queries", str(args.startup_queries)]
            done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
            starts.append({"n": n, "run": run, **json.loads(done.stdout.strip().splitlines()[-1])})
            print_rows(START_COLUMNS, starts[-1:], header=len(starts) == 1)
        if n > args.qps_max_n:
            continue
        for workers in args.workers:
            progress(f"service: q/s n={n:,}, {workers} worker(s)")
            rates.append({"n": n, "workers": workers, "clients": args.clients, **serve_qps(args, root, workers)})
    print(f"\nq/s of `scicmr serve --workers N` (GET /api/search?q=, k=10; {os.cpu_count()} cpus shared by the "
          f"server and the load generator, {args.clients} client threads, {args.duration_s:.0f} s):")
    print_rows(QPS_COLUMNS, rates)
    return starts + rates


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of the storage and service sections."""
    group = parser.add_argument_group("storage / service sections")
    group.add_argument("--feature-dim", type=int, default=128, help="width of each precomputed feature")
    group.add_argument("--components", type=int, default=64, help="CCA components (the shared space)")
    group.add_argument("--lib-clusters", type=int, default=1000, help="clusters of the synthetic library")
    group.add_argument("--train", type=int, default=5000)
    group.add_argument("--validation", type=int, default=1000)
    group.add_argument("--writes", type=int, default=20, help="records added, then deleted, one at a time")
    group.add_argument("--startup-queries", type=int, default=200)
    group.add_argument("--workers", nargs="+", type=int, default=[1, 2, 4])
    group.add_argument("--clients", type=int, default=8, help="load-generator threads")
    group.add_argument("--duration-s", type=float, default=10.0)
    group.add_argument("--warmup-s", type=float, default=3.0)
    group.add_argument("--qps-max-n", type=int, default=100_000, help="measure q/s only up to this n")
    group.add_argument("--port", type=int, default=8765)
    group.add_argument("--serve-start-timeout", type=float, default=600.0)


if __name__ == "__main__":  # the fresh process of a startup measurement
    parser = argparse.ArgumentParser()
    parser.add_argument("--startup", required=True)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    print(json.dumps(startup_child(options.startup, options.queries, options.seed)))
