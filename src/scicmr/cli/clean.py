"""`scicmr clean LIB`: flag bad images, report them, quarantine them (`--restore` undoes)."""

from __future__ import annotations

import argparse

from scicmr.cli._output import add_json_option, add_library_argument, console, parse_params, print_json


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "clean", help="flag corrupt, blank, tiny, duplicate and anomalous images; quarantine them",
        description="Scan the library's images, write reports/cleaning.json, and move flagged images to "
        "LIB/quarantine/ (records are marked and skipped by encode/train/search). Nothing is deleted.",
    )
    add_library_argument(p)
    p.add_argument("--dry-run", action="store_true", help="report only; move nothing")
    p.add_argument("--checks", default=None,
                   help="comma-separated: integrity,size,aspect,blank,exact,near,outlier,domain or 'fast' (default all)")
    p.add_argument("--preset", default="default", help="threshold preset: default, strict, lenient")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                   help="override a threshold, e.g. --param min_side=64 (repeatable)")
    p.add_argument("--encoder", default=None, help="image encoder for the anomaly checks (default: the library's)")
    p.add_argument("--restore", action="store_true", help="move every quarantined image back and unmark its record")
    add_json_option(p, "the cleaning report")
    p.set_defaults(func=cmd_clean)


def cmd_clean(args: argparse.Namespace) -> int:
    from scicmr.workflow.clean import clean_library, restore_library

    if args.restore:
        result = restore_library(args.library)
        if args.json:
            print_json({"restored": result.records, "files": result.files})
        else:
            console().print(f"restored {len(result.records)} records ({len(result.files)} files moved back)")
        return 0
    config = {"preset": args.preset, **parse_params(args.param)}
    report, moved = clean_library(args.library, checks=args.checks, config=config, dry_run=args.dry_run,
                                   encoder=args.encoder)
    if args.json:
        print_json(report.to_dict())
        return 0
    out = console()
    out.print(report.summary_table())
    out.print(f"report: {args.library}/reports/cleaning.json")
    if moved is None:
        out.print("dry run: nothing moved", style="yellow")
    else:
        out.print(f"quarantined {len(moved.records)} records ({len(moved.files)} files) in {args.library}/quarantine/;"
                  f" undo with `scicmr clean {args.library} --restore`")
    return 0
