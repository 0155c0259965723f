"""Measuring models: ``scicmr evaluate`` (one model on a split) and ``scicmr benchmark``
(several methods side by side, selected on validation)."""

from __future__ import annotations

import argparse
from pathlib import Path

from scicmr.cli._output import console, parse_ks


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="retrieval metrics of a trained model on a split")
    p.add_argument("library")
    p.add_argument("--method", help="model to evaluate (its name; default: last trained)")
    p.add_argument("--model", help="same as --method")
    p.add_argument("--split", default="test")
    p.add_argument("--ks", default="5,20,50")
    p.add_argument("--protocol", default="auto", choices=["auto", "labels", "pair"])
    p.add_argument("--json", metavar="OUT.json", help="write the metrics JSON here (- for standard output)")
    p.add_argument("--channels", metavar="NAMES", help="hybrid ranker: fuse only these channels, comma-separated "
                   "(lexical, dense, cross_modal; cross_modal alone evaluates the model without fusion)")
    p.add_argument("--trec-run", metavar="DIR", help="also write TREC run and qrels files of both directions "
                   "(DIR/i2t.run, DIR/i2t.qrels, DIR/t2i.run, DIR/t2i.qrels) for trec_eval or ranx")
    p.add_argument("--trec-k", type=int, default=100, help="documents per query in the TREC run files (default 100)")
    p.add_argument("--compare", metavar="MODEL", help="compare with this second model on the same queries: "
                   "paired randomisation test and bootstrap interval per direction")
    p.set_defaults(func=cmd_evaluate)

    p = subparsers.add_parser("benchmark", help="train, select on validation and test several methods side by side")
    p.add_argument("library")
    p.add_argument("--suite", help="named suite: seeds-table, core, mfcmr-ablation, smcr-ablation, mfcmr-k, "
                   "mfcmr-alpha, mfcmr-beta, smcr-alpha, smcr-beta")
    p.add_argument("--methods", help="comma-separated methods (or rows of the suite) to run")
    p.add_argument("--out", help="output folder (default LIB/reports/benchmark-SUITE)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", type=int, default=1, metavar="N",
                   help="run every row with N seeds (--seed, --seed+1, ...) and report mean ± std (default 1)")
    p.set_defaults(func=cmd_benchmark)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from scicmr.evaluation.report import metrics_table
    from scicmr.workflow import evaluate_model

    if args.compare:
        return _compare(args)
    document = evaluate_model(args.library, args.model or args.method, split=args.split, ks=parse_ks(args.ks),
                              protocol=args.protocol, json_path=args.json,
                              channels=tuple(c.strip() for c in args.channels.split(",") if c.strip())
                              if args.channels else None, trec_run=args.trec_run, trec_k=args.trec_k)
    title = (f"{document['dataset']} — {document['split']} split "
             f"({document['pool']['queries']} queries, {document['pool']['candidates']} candidates)")
    # With --json - the JSON is standard output: the table and summary go to stderr.
    out = console(stderr=args.json == "-")
    out.print(metrics_table({document["model"]: document}, title=title))
    ranker = document.get("ranker") or {}
    if ranker.get("kind") == "hybrid":
        alone = ", ".join(f"{name} {v['t2i']:.3f}/{v['i2t']:.3f}" for name, v in ranker["channels"].items())
        out.print(f"hybrid ranker ({ranker['fusion']['t2i']['kind']}); each channel alone, MRR t2i/i2t: {alone}")
    if "rsum" in document:
        out.print("R@1/5/10 " + "; ".join(
            f"{task} {document[task]['R@1']:.1f}/{document[task]['R@5']:.1f}/{document[task]['R@10']:.1f} "
            f"MedR {document[task]['MedR']:g}" for task in ("i2t", "t2i")) + f"; rsum {document['rsum']:.1f}")
    if document.get("trec"):
        out.print(f"TREC run and qrels files in {args.trec_run}")
    if args.json:
        out.print(f"metrics written to {args.json}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from scicmr.cli._output import print_json
    from scicmr.workflow.compare import compare_models
    from scicmr.workflow.library_data import as_library, resolve_model_name

    lib = as_library(args.library)
    first = resolve_model_name(lib, args.model or args.method)
    result = compare_models(lib, first, args.compare, split=args.split, protocol=args.protocol, ks=parse_ks(args.ks))
    if args.json == "-":
        print_json(result)
        return 0
    out = console()
    out.print(f"{first} vs {args.compare} on {result['n_queries']} {result['split']} queries, "
              f"per-query {result['metric']} ({result['protocol']} protocol):")
    for task in ("i2t", "t2i"):
        r = result[task]
        out.print(f"  {task}: {r['a']:.4f} vs {r['b']:.4f}, difference {r['mean_diff']:+.4f} "
                  f"(95% bootstrap {r['bootstrap']['low']:+.4f} to {r['bootstrap']['high']:+.4f}), "
                  f"randomisation p = {r['p_value']:.4f}")
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    from scicmr.evaluation.suites import suite_rows
    from scicmr.workflow.benchmark import run_benchmark

    methods = [m for m in (args.methods or "").split(",") if m]
    rows = suite_rows(args.suite, methods)
    out = args.out or f"{args.library.rstrip('/')}/reports/benchmark-{args.suite or 'custom'}"
    if args.seeds != 1:  # 0 or fewer is refused there, with a fix
        from scicmr.workflow.benchmark_seeds import run_benchmark_seeds

        summary = run_benchmark_seeds(args.library, rows, out, seeds=range(args.seed, args.seed + args.seeds))
        console().print((Path(out) / "table.md").read_text())
        console().print(f"{len(summary['rows'])} rows × {args.seeds} seeds; mean ± std in {out}/mean-std.json")
        return 0
    results = run_benchmark(args.library, rows, out, seed=args.seed)
    console().print((Path(out) / "table.md").read_text())
    console().print(f"{len(results)} rows; metrics, table and plots in {out}")
    return 0
