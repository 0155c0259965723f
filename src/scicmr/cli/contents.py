"""What a library holds: ``scicmr export`` (records as JSONL or Parquet, or a model's vectors) and ``scicmr info``."""

from __future__ import annotations

import argparse

from scicmr.cli._output import add_json_option, add_library_argument, console, print_json
from scicmr.errors import InputError

# The workflow's values, repeated: importing the workflow here would load numpy for `--help`
# (tests/workflow/test_export_embeddings.py checks they agree).
FORMATS = ("jsonl", "parquet")
DEFAULT_SHARD_SIZE = 1_000_000


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export", help="write every record (JSONL or Parquet), or a model's vectors (--embeddings)",
        description="Write every record as JSONL (default) or Parquet to --out; with --embeddings, "
                    "write a model's shared-space vectors and metadata into the folder --out in the "
                    "clip-retrieval layout (img_emb/, text_emb/ .npy shards, metadata/ Parquet).")
    add_library_argument(p)
    p.add_argument("--out", required=True,
                   help="the file to write (- for standard output, JSONL only); with --embeddings a folder")
    p.add_argument("--format", choices=FORMATS, help="records file format (default jsonl)")
    p.add_argument("--embeddings", action="store_true",
                   help="export the model's image and text vectors (clip-retrieval layout) instead of records")
    p.add_argument("--model", default=None, help="with --embeddings: the trained model (default: the library's)")
    p.add_argument("--shard-size", type=int,
                   help=f"with --embeddings: at most this many rows per .npy / .parquet shard (default {DEFAULT_SHARD_SIZE})")
    add_json_option(p, "a summary (records or vectors written, where)")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser("info", help="show what a library holds")
    add_library_argument(p)
    p.add_argument("--json", action="store_true",
                   help="print as JSON on standard output (what info always prints; accepted for the one convention)")
    p.set_defaults(func=cmd_info)


def cmd_export(args: argparse.Namespace) -> int:
    from scicmr.workflow.export import export_records
    from scicmr.workflow.export_embeddings import export_embeddings

    # Given or not is told by None (an explicit value equal to the default is still given).
    if not args.embeddings and (args.model is not None or args.shard_size is not None):
        raise InputError("--model and --shard-size apply to an embeddings export",
                         fix="add --embeddings, or drop them to export the records")
    if args.embeddings and args.format is not None:
        raise InputError("--format names the records file; --embeddings always writes .npy shards and Parquet metadata",
                         fix="drop --format, or drop --embeddings to export the records as Parquet")
    if args.json and args.out == "-":
        raise InputError("--json and --out - would both write to standard output",
                         fix="write the records to a file (--out records.jsonl) or drop --json")
    if args.embeddings:
        done = export_embeddings(args.library, args.out, model=args.model,
                                 shard_size=DEFAULT_SHARD_SIZE if args.shard_size is None else args.shard_size)
        if args.json:
            print_json(done)
            return 0
        console().print(f"exported {done['rows']} image and text vectors ({done['dim']}-d, model "
                        f"{done['model']}) in {done['shards']} shard(s) to {done['out']}")
        return 0
    count = export_records(args.library, args.out, args.format or "jsonl")
    if args.json:
        print_json({"records": count, "out": args.out})
        return 0
    # With --out - the records are standard output: the summary goes to stderr, not into them.
    console(stderr=args.out == "-").print(f"exported {count} records to {args.out}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from scicmr.workflow.library_data import as_library

    lib = as_library(args.library)
    print_json({"library": str(lib.root), "records": len(lib), "splits": lib.split_counts(),
                "labels": lib.label_vocabulary()[:50], "features": lib.feature_keys(), "models": lib.models(),
                "meta": lib.meta})
    return 0
