"""``scicmr compact LIB`` and ``scicmr upgrade LIB``: keep a library's files lean and current."""

from __future__ import annotations

import argparse

from scicmr.cli._output import add_json_option, add_library_argument, console, print_json


def register(subparsers) -> None:
    p = subparsers.add_parser("compact", help="drop deleted rows and merge appended chunks of the feature caches and "
                                              "model serving tables (rebuilds the indexes that follow them)")
    add_library_argument(p)
    add_json_option(p, "the report")
    p.set_defaults(func=cmd_compact)
    p = subparsers.add_parser("upgrade", help="migrate a library written by an older scicmr to this release's "
                                              "on-disk format, in place (crash-safe; re-run after a crash)")
    add_library_argument(p)
    add_json_option(p, "the report")
    p.set_defaults(func=cmd_upgrade)


def cmd_compact(args: argparse.Namespace) -> int:
    from scicmr.workflow.maintenance import compact_library

    report = compact_library(args.library)
    if args.json:
        print_json(report)
        return 0
    out = console()
    if not report["tables"]:
        out.print(f"{args.library}: nothing to compact")
    for name, before in report["tables"].items():
        out.print(f"{name}: {before['rows']} rows kept, {before['dropped']} deleted rows dropped, "
                  f"{before['chunks']} chunks merged into 1")
    for model in report["reindexed"]:
        out.print(f"rebuilt the index of model {model}")
    return 0


def cmd_upgrade(args: argparse.Namespace) -> int:
    from scicmr.workflow.maintenance import upgrade_library

    report = upgrade_library(args.library)
    if args.json:
        print_json(report.to_dict())
        return 0
    out = console()
    if report.from_version == report.to_version:
        out.print(f"{args.library} is already at format {report.to_version}: nothing to do")
        return 0
    out.print(f"{args.library}: format {report.from_version} → {report.to_version}; "
              f"{len(report.converted)} feature caches converted")
    for key, why in report.dropped.items():
        out.print(f"  dropped unreadable cache {key} ({why}); `scicmr encode {args.library}` rebuilds it")
    return 0
