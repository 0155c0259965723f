"""Load test of the search service on loopback: queries/s and p50/p99 latency for text and
image queries, libraries of 10k and 100k items, error count (must be 0).

    .venv/bin/python bench/bench_service.py --sizes 10000,100000 --requests 300 --workers 4

What runs: a real library is built once from the project's generated corpus (``--papers``
papers with matplotlib figures) — ingest, encode (``--encoders fast``: thumbnail + TF-IDF;
``default``: EfficientNet-Lite0 + MiniLM, the demo's), train CCA, build a flat index. For each
size, a copy is grown to that many items with *synthetic* records: each one copies a real
record's metadata and takes that record's encoder features plus Gaussian noise (0.5 x the
per-dimension standard deviation), so every synthetic item goes through the real trained model
into the real index, and the candidate pool has the size under test. The queries are real: text
phrases (also with a year + author filter, ranked exactly over the rows that pass) and PNG
figures, encoded per request by the library's own encoders. ``scicmr serve``
runs in a subprocess (uvicorn, one worker process); an httpx client with ``--workers``
concurrent threads sends a fixed number of requests of each kind after a short warm-up (``--repeats``
runs of each; medians reported, errors summed). The 1-minute load average after each kind is
printed too: on a shared machine it explains most of the spread.
Timings depend on the machine and its load: never assert on them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH_KEY = "bench-service-key-0123"
TEXT_QUERIES = (
    "heat map of gene expression across samples", "X-ray diffraction pattern of a thin film",
    "training loss curve of a neural network", "absorption spectrum of a galaxy", "rainfall anomaly by decade",
    "transmission electron micrograph", "phase diagram of a superconductor", "accuracy versus model size",
)


def build_base(work: Path, papers: int, encoders: str) -> Path:
    """A trained, indexed library of the generated corpus (reused when already built)."""
    from scicmr.demo.corpus import generate_corpus
    from scicmr.workflow import build_index, encode_library, ingest, train_model

    library = work / f"base-{encoders}-{papers}"
    if (library / "indexes").exists():
        return library
    manifest = generate_corpus(work / "corpus", n_papers=papers, seed=0)
    report = ingest(manifest, library, overwrite=True, seed=0)
    if encoders == "fast":
        encode_library(report.library, image="thumbnail", text="tfidf")
    else:
        encode_library(report.library)
    train_model(report.library, "cca")
    build_index(report.library, kind="flat")
    return library


def grow(base: Path, dest: Path, size: int, seed: int = 0) -> Path:
    """Copy ``base`` to ``dest`` and add synthetic records until it holds ``size`` pairs."""
    from scicmr._io import read_json
    from scicmr.corpus.library import Library
    from scicmr.corpus.record import Record
    from scicmr.workflow import build_index
    from scicmr.workflow.library_data import paired_records, training_info

    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(base, dest)
    lib = Library.open(dest)
    real = paired_records(lib, None)
    extra = size - len(real)
    if extra <= 0:
        return dest
    rng = np.random.default_rng(seed)
    source = rng.integers(0, len(real), extra)
    records = []
    for j, s in enumerate(source):
        data = real[s].to_dict()
        data.update(id=f"syn{j:07d}", group=f"syn-group-{j // 3}", extra={})
        records.append(Record.from_dict(data))
    lib.add_records(records)
    ids = [r.id for r in real]
    for key in training_info(lib, lib.meta["default_model"])["features"].values():
        vectors = lib.load_features(key, ids)
        noise = rng.normal(size=(extra, vectors.shape[1])).astype(np.float32) * (0.5 * vectors.std(axis=0))
        everything = np.concatenate([lib.load_features(key), vectors[source] + noise])
        all_ids = read_json(lib.features_dir(key) / "ids.json") + [r.id for r in records]
        lib.save_features(key, all_ids, everything, lib.feature_config(key))
    build_index(lib, kind="flat")
    return dest


def start_server(library: Path, port: int) -> tuple[subprocess.Popen, float]:
    """``scicmr serve`` in a subprocess; returns it and the seconds until /health answered."""
    import httpx

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "HF_HUB_OFFLINE": "1"}
    env["SCICMR_API_KEY"] = BENCH_KEY
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "scicmr.cli", "serve", str(library), "--port", str(port),
                                "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL)
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return process, time.perf_counter() - started
        except httpx.TransportError:
            pass
        time.sleep(0.25)


def load(base_url: str, kind: str, requests: int, workers: int, images: list[bytes]) -> dict:
    """Send ``requests`` queries of ``kind`` with ``workers`` threads; latency per request."""
    import httpx

    def one(i: int, client: httpx.Client) -> tuple[float, bool]:
        started = time.perf_counter()
        try:
            if kind in ("text", "text+filter"):
                params = {"q": TEXT_QUERIES[i % len(TEXT_QUERIES)], "k": 10}
                if kind == "text+filter":  # ranked exactly over the rows that pass (about half)
                    params.update(year_min=2015, author="a")
                response = client.get("/api/search", params=params)
            else:
                response = client.post("/api/search/image", params={"k": 10},
                                       files={"image": ("q.png", images[i % len(images)], "image/png")})
            ok = response.status_code == 200 and len(response.json()["hits"]) == 10
        except httpx.HTTPError:
            ok = False
        return time.perf_counter() - started, ok

    with httpx.Client(base_url=base_url, timeout=60) as client, ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda i: one(i, client), range(min(10, requests))))  # warm-up, not counted
        started = time.perf_counter()
        results = list(pool.map(lambda i: one(i, client), range(requests)))
        wall = time.perf_counter() - started
    latencies = np.array([r[0] for r in results]) * 1000
    return {"kind": kind, "requests": requests, "errors": sum(not r[1] for r in results), "seconds": round(wall, 2),
            "qps": round(requests / wall, 1), "p50_ms": round(float(np.percentile(latencies, 50)), 1),
            "p99_ms": round(float(np.percentile(latencies, 99)), 1)}


def writes(base_url: str, count: int, images: list[bytes]) -> dict:
    """Seconds per add (one record with its figure, over HTTP) and for one delete."""
    import httpx

    headers = {"X-API-Key": BENCH_KEY}
    adds = []
    with httpx.Client(base_url=base_url, timeout=300) as client:
        for i in range(count):
            rows = [{"id": f"bench-add-{i}", "title": "Added while serving", "caption": TEXT_QUERIES[i % 8],
                     "image": "fig.png"}]
            started = time.perf_counter()
            response = client.post("/api/records", headers=headers, data={"records": json.dumps(rows)},
                                   files=[("files", ("fig.png", images[i % len(images)], "image/png"))])
            adds.append(time.perf_counter() - started)
            response.raise_for_status()
        started = time.perf_counter()
        client.delete("/api/records/bench-add-0", headers=headers).raise_for_status()
        deleted = time.perf_counter() - started
    return {"add_s_median": round(float(np.median(adds)), 2), "delete_s": round(deleted, 2), "adds": count}


def median_of(runs: list[dict]) -> dict:
    """One row from repeated runs: median q/s and latencies, all errors, all requests."""
    row = dict(runs[0])
    for key in ("qps", "p50_ms", "p99_ms", "seconds"):
        row[key] = float(np.median([r[key] for r in runs]))
    row["errors"] = sum(r["errors"] for r in runs)
    row["requests"] = sum(r["requests"] for r in runs)
    row["repeats"] = len(runs)
    return row


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--requests", type=int, default=300, help="requests of each kind per size")
    parser.add_argument("--workers", type=int, default=4, help="concurrent client threads")
    parser.add_argument("--repeats", type=int, default=1, help="runs per query kind; medians are reported")
    parser.add_argument("--writes", type=int, default=0, help="also time this many adds and one delete")
    parser.add_argument("--papers", type=int, default=60, help="papers of the generated corpus (2-4 figures each)")
    parser.add_argument("--encoders", default="fast", choices=["fast", "default"])
    parser.add_argument("--work", help="folder for the libraries (default: a temporary folder, removed)")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    os.environ.setdefault("SCICMR_QUIET", "1")
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="scicmr-bench-service-"))
    base = build_base(work, args.papers, args.encoders)
    images = [p.read_bytes() for p in sorted((work / "corpus" / "images").glob("*.png"))[:16]]
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        library = grow(base, work / f"lib-{size}", size)
        from scicmr.service.background import free_port

        port = free_port()
        server, startup = start_server(library, port)
        try:
            for kind in ("text", "text+filter", "image"):
                runs = [load(f"http://127.0.0.1:{port}", kind, args.requests, args.workers, images)
                        for _ in range(args.repeats)]
                row = {"size": size, "encoders": args.encoders, "workers": args.workers, "startup_s": round(startup, 1),
                       **median_of(runs), "load_avg_1min": round(os.getloadavg()[0], 1)}
                row["server_rss_mib"] = round(rss_mib(server.pid))
                rows.append(row)
                print(json.dumps(row), flush=True)
            if args.writes:
                timed = writes(f"http://127.0.0.1:{port}", args.writes, images)
                print(json.dumps({"size": size, **timed}), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
        shutil.rmtree(library, ignore_errors=True)
    print("\n| items | encoders | query | requests | errors | q/s | p50 ms | p99 ms | server RSS MiB | startup s | load avg |")
    print("|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['size']:,} | {r['encoders']} | {r['kind']} | {r['requests']} | {r['errors']} | {r['qps']:.1f} | "
              f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['server_rss_mib']} | {r['startup_s']} | {r['load_avg_1min']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
