"""scicmr command line: a thin layer from argv to the library's workflows.

Every subcommand parses its arguments into plain values, calls one function of
:mod:`scicmr.workflow`, and prints the result (``--json`` for machine output). Errors derived
from :class:`~scicmr.errors.ScicmrError` print the problem and the fix and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Sequence

from scicmr import __version__
from scicmr.errors import InputError, ScicmrError


# ---------------------------------------------------------------------- argument helpers
def _parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``["epochs=20", "hidden_dims=[256]"]`` → {"epochs": 20, "hidden_dims": [256]}."""
    params: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise InputError(f"cannot read --param {pair!r}", fix="write it as NAME=VALUE, e.g. --param epochs=20")
        key, value = pair.split("=", 1)
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value
    return params


def _parse_ks(text: str) -> tuple[int, ...]:
    try:
        ks = tuple(int(k) for k in text.split(","))
    except ValueError:
        raise InputError(f"cannot read --ks {text!r}", fix="write cut-offs like 5,20,50") from None
    if not ks or min(ks) < 1:
        raise InputError(f"--ks cut-offs must be positive, got {text!r}")
    return ks


def _console():
    from rich.console import Console

    return Console(highlight=False)


def _print_json(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


# ---------------------------------------------------------------------- commands
def cmd_ingest(args: argparse.Namespace) -> int:
    from scicmr.workflow import ingest

    options = {k: getattr(args, k) for k in ("workers", "dpi", "max_pages", "max_mb") if getattr(args, k) is not None}
    report = ingest(args.source, args.out, overwrite=args.overwrite, split=args.split,
                    validation_fraction=args.validation, seed=args.seed, reader_options=options)
    if args.json:
        _print_json(report.to_dict())
        return 0
    console = _console()
    console.print(f"ingested [bold]{report.added}[/] records from {args.source} ({report.kind}) into {report.library}")
    console.print("splits: " + ", ".join(f"{k} {v}" for k, v in sorted(report.splits.items())))
    if report.features:
        console.print("precomputed features: " + ", ".join(report.features))
    for quirk in report.notes.get("quirks", []):
        console.print(f"[yellow]note[/]: {quirk}")
    if report.skipped:
        console.print(f"[yellow]skipped {len(report.skipped)}[/] (all listed in {report.library}/reports/ingest.json):")
        for item in report.skipped[:20]:
            console.print(f"  - {item['item']}: {item['reason']}")
        if len(report.skipped) > 20:
            console.print(f"  ... and {len(report.skipped) - 20} more")
    return 0


def cmd_encode(args: argparse.Namespace) -> int:
    from scicmr.workflow import encode_library

    keys = encode_library(args.library, image=args.image_encoder, text=args.text_encoder,
                          force=args.force, batch_size=args.batch_size)
    _print_json(keys) if args.json else _console().print(f"features: image {keys['image']}, text {keys['text']}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from scicmr.workflow import train_model

    params = _parse_params(args.param)
    if args.epochs is not None:
        params["epochs"] = args.epochs
    report = train_model(args.library, args.method, params, name=args.name)
    message = (f"trained {report.method} as model '{report.model}' on {report.train_pairs} pairs "
               f"(validation {report.validation_pairs}) in {report.seconds:.1f}s")
    if report.best_epoch is not None:
        message += f", best epoch {report.best_epoch}"
    _console().print(message + f"\nsaved to {report.directory}")
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    from scicmr.workflow import build_index

    kind = args.kind or ("hamming-flat" if args.codes else "flat")
    if args.codes and not kind.startswith("hamming"):
        raise InputError(f"--codes builds a Hamming index, not {kind!r}", fix="use --kind hamming-flat, hamming-hnsw or hamming-ivf")
    built = build_index(args.library, args.model, kind=kind)
    for modality, directory in built.items():
        _console().print(f"{modality} index ({kind}): {directory}")
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from scicmr.workflow import Searcher

    given = [x for x in (args.query, args.image, args.query_id) if x]
    if len(given) != 1:
        raise InputError("give exactly one query: TEXT, --image PATH or --query-id ID",
                         fix='e.g. scicmr search LIB "heat map of gene expression" -k 10')
    searcher = Searcher(args.library, args.model, rerank=args.rerank)
    if args.image:
        hits = searcher.search_image(args.image, args.k, target=args.target or "text")
    elif args.query_id:
        hits = searcher.search_record(args.query_id, args.k, query_modality=args.query_modality,
                                      target=args.target or ("text" if args.query_modality == "image" else "image"))
    else:
        hits = searcher.search_text(args.query, args.k, target=args.target or "image")
    if args.json:
        _print_json([hit.to_dict(searcher.lib) for hit in hits])
        return 0
    _print_hits(hits, searcher.lib)
    return 0


def _print_hits(hits, lib) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("#", "score", "id", "labels", "year", "text"):
        table.add_column(column, overflow="fold")
    for hit in hits:
        r = hit.record
        snippet = (r.text or r.title).replace("\n", " ")
        cells = (hit.id, ",".join(r.labels), str(r.year or ""), snippet[:90] + ("…" if len(snippet) > 90 else ""))
        table.add_row(str(hit.rank), f"{hit.score:.3f}", *(escape(c) for c in cells))
    _console().print(table)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from scicmr.evaluation.report import metrics_table
    from scicmr.workflow import evaluate_model

    document = evaluate_model(args.library, args.model or args.method, split=args.split, ks=_parse_ks(args.ks),
                              protocol=args.protocol, json_path=args.json)
    title = (f"{document['dataset']} — {document['split']} split "
             f"({document['pool']['queries']} queries, {document['pool']['candidates']} candidates)")
    _console().print(metrics_table({document["model"]: document}, title=title))
    if args.json:
        _console().print(f"metrics written to {args.json}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from scicmr.workflow import export_jsonl

    count = export_jsonl(args.library, args.out)
    _console().print(f"exported {count} records to {args.out}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from scicmr.corpus.library import Library

    lib = Library.open(args.library)
    info = {"library": str(lib.root), "records": len(lib), "splits": lib.split_counts(),
            "labels": lib.label_vocabulary()[:50], "features": lib.feature_keys(), "models": lib.models(),
            "meta": lib.meta}
    _print_json(info)
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    from scicmr.evaluation.suites import suite_rows
    from scicmr.workflow.benchmark import run_benchmark

    methods = [m for m in (args.methods or "").split(",") if m]
    rows = suite_rows(args.suite, methods)
    out = args.out or f"{args.library.rstrip('/')}/reports/benchmark-{args.suite or 'custom'}"
    results = run_benchmark(args.library, rows, out, seed=args.seed)
    _console().print((Path(out) / "table.md").read_text())
    _console().print(f"{len(results)} rows; metrics, table and plots in {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from scicmr.demo.run import run_demo

    run_demo(args.out, n_papers=args.papers, seed=args.seed, methods=args.methods.split(","))
    return 0


# ---------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="scicmr", description="Cross-media retrieval of scientific information.")
    parser.add_argument("--version", action="version", version=f"scicmr {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="build a library from a manifest, a Wikipedia-layout folder, .mat features or PDFs")
    p.add_argument("source")
    p.add_argument("--out", required=True, help="library folder to create")
    p.add_argument("--overwrite", action="store_true", help="replace an existing library's records")
    p.add_argument("--split", default="0.8,0.1,0.1", help="train,validation,test fractions (sources without a split)")
    p.add_argument("--validation", type=float, default=0.1, help="share of train carved for validation (fixed splits)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, help="PDF sources: parallel processes (default min(4, CPUs))")
    p.add_argument("--dpi", type=int, help="PDF sources: figure rendering resolution (default 150)")
    p.add_argument("--max-pages", type=int, help="PDF sources: skip longer files (default 200)")
    p.add_argument("--max-mb", type=float, help="PDF sources: skip bigger files (default 100 MB)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("encode", help="compute and cache image and text features")
    p.add_argument("library")
    p.add_argument("--image-encoder", help="a name (efficientnet-lite0 [default], efficientnet-lite2, thumbnail) or a "
                   'JSON spec, e.g. \'{"name": "checkpoint", "framework": "timm", "arch": "resnet50", "path": "w.pth"}\'')
    p.add_argument("--text-encoder", help="minilm (default for English), tfidf (default for Chinese), bow, lda, "
                   "or a JSON spec like '{\"name\": \"lda\", \"n_topics\": 20}'")
    p.add_argument("--force", action="store_true", help="recompute even when cached")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("train", help="train a cross-modal method (encodes first when needed)")
    p.add_argument("library")
    p.add_argument("--method", default="cca", help="registered method name, e.g. cca, cardl")
    p.add_argument("--name", help="model name (default: the method name)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE", help="method parameter (repeatable)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("index", help="index a trained model's vectors for fast search")
    p.add_argument("library")
    p.add_argument("--model", help="model name (default: last trained)")
    p.add_argument("--kind", choices=["exact", "flat", "hnsw", "hamming-exact", "hamming-flat", "hamming-hnsw",
                                      "hamming-ivf"], help="default flat, or hamming-flat with --codes")
    p.add_argument("--codes", action="store_true", help="index a hashing model's binary codes (Hamming search)")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("search", help="search with a text query, an image, or an existing record")
    p.add_argument("library")
    p.add_argument("query", nargs="?", help="text query")
    p.add_argument("--image", help="query image file")
    p.add_argument("--query-id", help="use this record's features as the query")
    p.add_argument("--query-modality", default="image", choices=["image", "text"], help="with --query-id")
    p.add_argument("--target", choices=["image", "text"], help="candidates (default: the other modality)")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--model")
    p.add_argument("--rerank", type=int, metavar="M", help="Hamming index: re-rank a shortlist of M by exact cosine")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("evaluate", help="retrieval metrics of a trained model on a split")
    p.add_argument("library")
    p.add_argument("--method", help="model to evaluate (its name; default: last trained)")
    p.add_argument("--model", help="same as --method")
    p.add_argument("--split", default="test")
    p.add_argument("--ks", default="5,20,50")
    p.add_argument("--protocol", default="auto", choices=["auto", "labels", "pair"])
    p.add_argument("--json", metavar="OUT.json", help="write the metrics JSON here")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("benchmark", help="train, select on validation and test several methods side by side")
    p.add_argument("library")
    p.add_argument("--suite", help="named suite: seeds-table, core, mfcmr-ablation, smcr-ablation, mfcmr-k, "
                   "mfcmr-alpha, mfcmr-beta, smcr-alpha, smcr-beta")
    p.add_argument("--methods", help="comma-separated methods (or rows of the suite) to run")
    p.add_argument("--out", help="output folder (default LIB/reports/benchmark-SUITE)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_benchmark)

    p = sub.add_parser("export", help="write every record as JSONL")
    p.add_argument("library")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("info", help="show what a library holds")
    p.add_argument("library")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="generate a scientific corpus, train, index, search and evaluate")
    p.add_argument("--out", default="demo_out")
    p.add_argument("--papers", type=int, default=240)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--methods", default="cca,cardl")
    p.set_defaults(func=cmd_demo)

    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(sub)
    return parser


# Subcommands that live in their own modules (each exposes ``register(subparsers)``); their
# imports must stay light: heavy libraries load inside the command functions.
COMMAND_MODULES: tuple[str, ...] = (
    "scicmr.commands.clean",
    "scicmr.commands.matching",
    "scicmr.commands.serve",
    "scicmr.commands.ocr",
    "scicmr.commands.image_hashing",
)


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # The compat shim's notice is for library users; on the command line it is noise.
    warnings.filterwarnings("ignore", message="torchvision's compiled ops")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ScicmrError as exc:
        print(f"error: {exc.problem}", file=sys.stderr)
        if exc.fix:
            print(f"  fix: {exc.fix}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
