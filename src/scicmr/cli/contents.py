"""What a library holds: ``scicmr export`` (every record as JSONL) and ``scicmr info``."""

from __future__ import annotations

import argparse

from scicmr.cli._output import add_library_argument, console, print_json


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="write every record as JSONL")
    add_library_argument(p)
    p.add_argument("--out", required=True, help="the JSONL file to write (- for standard output)")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser("info", help="show what a library holds")
    add_library_argument(p)
    p.set_defaults(func=cmd_info)


def cmd_export(args: argparse.Namespace) -> int:
    from scicmr.workflow import export_jsonl

    count = export_jsonl(args.library, args.out)
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
