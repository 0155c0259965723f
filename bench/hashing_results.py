"""Cross-modal hashing table: map@k by Hamming ranking per method × bit length, both directions,
beside a real-valued method of the same run.

    PYTHONPATH=src .venv/bin/python bench/hashing_results.py --data ../shared/data --out runs/hashing \\
        --datasets wikipedia_xmodal_svcl --text-features text-tfidf1000 --methods cca-hash --bits 16,32,48,64 --real cca

For every dataset the library is built (or reused) under --out exactly as bench/methods_results.py
builds it. Each hashing method (any registered method following scicmr.hashing.base, e.g.
cca-hash, dcmh) is trained at each bit length on the train split (its validation split for
selection, where the method uses one) and evaluated once on the test split: image queries
against text candidates (i2t) and back (t2i), ranked by Hamming distance with ties by
ascending index; precision within Hamming radius 2 too. The real-valued methods are evaluated
by cosine on the same split. Writes OUT/hashing.md and OUT/hashing.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("SCICMR_QUIET", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from methods_results import library_for  # noqa: E402

from scicmr.workflow import evaluate_model, train_model  # noqa: E402


def use_text_features(lib: Path, key: str) -> None:
    """Point the library's text encoder at another precomputed feature key."""
    from scicmr.corpus.library import Library

    library = Library.open(lib)
    if not library.has_features(key):
        raise SystemExit(f"{lib} has no features {key!r}")
    library.update_meta(encoders={"text": {"name": "precomputed", "spec": {"name": "precomputed", "key": key}, "key": key}})


def row(dataset: str, name: str, bits, source: dict, ks: tuple[int, ...]) -> dict:
    out = {"dataset": dataset, "method": name, "bits": bits}
    for direction in ("i2t", "t2i"):
        for key in [f"map@{k}" for k in ks] + ["map", "precision@r2"]:
            out[f"{direction} {key}"] = source[direction].get(key)
    return out


def markdown(rows: list[dict]) -> str:
    keys = [k for k in rows[0] if k not in ("dataset", "method", "bits")]
    lines = ["| dataset | method | bits | " + " | ".join(keys) + " |", "|---|---|---:|" + "---:|" * len(keys)]
    for r in rows:
        cells = ["—" if r[k] is None else f"{r[k]:.4f}" for k in keys]
        lines.append(f"| {r['dataset']} | {r['method']} | {r['bits'] or 'float'} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("runs/hashing"))
    parser.add_argument("--datasets", default="wikipedia_xmodal_svcl")
    parser.add_argument("--methods", default="cca-hash")
    parser.add_argument("--bits", default="16,32,48,64")
    parser.add_argument("--real", default="cca", help="real-valued methods evaluated beside (cosine ranking)")
    parser.add_argument("--demo-papers", type=int, default=240)
    parser.add_argument("--text-features", default="",
                        help="use this precomputed text feature key (e.g. text-tfidf1000 on Wikipedia, whose default "
                        "10-d LDA caps CCA hashing at 10 bits)")
    args = parser.parse_args()
    ks = (5, 50)
    rows = []
    for dataset in [d for d in args.datasets.split(",") if d]:
        lib = library_for(dataset, args.data, args.out, args.demo_papers)
        if args.text_features:
            use_text_features(lib, args.text_features)
        for method in [m for m in args.real.split(",") if m]:
            train_model(lib, method, name=f"{method}-real")
            rows.append(row(dataset, method, None, evaluate_model(lib, f"{method}-real", ks=ks, plots=False), ks))
            print(json.dumps(rows[-1]), flush=True)
        for method in [m for m in args.methods.split(",") if m]:
            for bits in [int(b) for b in args.bits.split(",")]:
                name = f"{method}-{bits}"
                train_model(lib, method, params={"n_bits": bits}, name=name)
                document = evaluate_model(lib, name, ks=ks, plots=bits == 32)
                rows.append(row(dataset, method, bits, document["hamming"], ks))
                print(json.dumps(rows[-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "hashing.json").write_text(json.dumps(rows, indent=2))
    table = markdown(rows)
    (args.out / "hashing.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
