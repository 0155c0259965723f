"""What a library holds: ``scicmr export`` (every record as JSONL) and ``scicmr info``."""

from __future__ import annotations

import argparse

from scicmr.cli._output import add_json_option, add_library_argument, console, print_json
from scicmr.errors import InputError


def register(subparsers) -> None:
    p = subparsers.add_parser("export", help="write every record as JSONL")
    add_library_argument(p)
    p.add_argument("--out", required=True, help="the JSONL file to write (- for standard output)")
    add_json_option(p, "a summary (records written, file)")
    p.set_defaults(func=cmd_export)

    p = subparsers.add_parser("info", help="show what a library holds")
    add_library_argument(p)
    p.add_argument("--json", action="store_true",
                   help="print as JSON on standard output (what info always prints; accepted for the one convention)")
    p.set_defaults(func=cmd_info)


def cmd_export(args: argparse.Namespace) -> int:
    from scicmr.workflow import export_jsonl

    if args.json and args.out == "-":
        raise InputError("--json and --out - would both write to standard output",
                         fix="write the records to a file (--out records.jsonl) or drop --json")
    count = export_jsonl(args.library, args.out)
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
