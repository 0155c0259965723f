"""Reading speed of the tabular sources: the same N items as a JSONL manifest, a Parquet table
(image bytes), WebDataset shards and a saved HF dataset; prints items/s per format.

    PYTHONPATH=src:. python bench/bench_readers.py --n 2000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scicmr.corpus.readers import read_source  # noqa: E402
from tests.factories import sources  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="items per format (default 2000)")
    args = parser.parse_args()
    base = list(sources.ITEMS)
    sources.ITEMS[:] = [{**base[i % len(base)], "id": f"item-{i}"} for i in range(args.n)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inputs = {
            "jsonl manifest": sources.write_manifest(tmp / "m"),
            "parquet (bytes)": sources.write_parquet(tmp / "t", as_bytes=True),
            "webdataset": sources.write_shards(tmp / "w", per_shard=1000),
            "hf save_to_disk": f"hf:{sources.write_saved_dataset(tmp / 'h')}",
        }
        for name, source in inputs.items():
            start = time.perf_counter()
            result = read_source(source, tmp / f"lib-{len(name)}-{name[:3]}", progress=False)
            seconds = time.perf_counter() - start
            print(f"{name:18s} {len(result.records):6d} records  {seconds:6.2f} s  {len(result.records) / seconds:8.0f} items/s")


if __name__ == "__main__":
    main()
