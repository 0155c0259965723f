"""Measuring models: ``scicmr evaluate`` (one model on a split) and ``scicmr benchmark``
(several methods side by side, selected on validation)."""

from __future__ import annotations

import argparse
from pathlib import Path

from scicmr.cli._output import (add_json_option, add_library_argument, console, parse_ks, print_json, print_table,
                                warn)
from scicmr.errors import InputError


def register(subparsers) -> None:
    p = subparsers.add_parser("evaluate", help="retrieval metrics of a trained model on a split")
    add_library_argument(p)
    p.add_argument("--method", help="model to evaluate (its name; default: last trained)")
    p.add_argument("--model", help="same as --method")
    p.add_argument("--split", default="test", choices=["train", "validation", "test"],
                   help="the pairs to evaluate on")
    p.add_argument("--ks", help="rank cut-offs k, comma-separated: map@k, precision@k, recall@k (label protocol; "
                   "default 5,20,50) or hits@k, i.e. R@k (pair protocol; default 1,5,10)")
    p.add_argument("--protocol", default="auto", choices=["auto", "labels", "pair"],
                   help="relevance: labels (shares a label: mAP), pair (only its own pair: MRR, hits@k), auto "
                   "(labels when the library has them)")
    p.add_argument("--json", nargs="?", const=True, metavar="OUT.json",
                   help="print the metrics JSON on standard output (the table goes to standard error). "
                   "Deprecated: --json OUT.json writes a file; use --out OUT.json")
    p.add_argument("--out", metavar="OUT.json", help="also write the metrics JSON (with --compare: the comparison) "
                   "to this file")
    p.add_argument("--channels", metavar="NAMES", help="hybrid ranker: fuse only these channels, comma-separated "
                   "(lexical, dense, cross_modal; cross_modal alone evaluates the model without fusion)")
    p.add_argument("--trec-run", metavar="DIR", help="also write TREC run and qrels files of both directions "
                   "(DIR/i2t.run, DIR/i2t.qrels, DIR/t2i.run, DIR/t2i.qrels) for trec_eval or ranx")
    p.add_argument("--trec-k", type=int, default=100, help="documents per query in the TREC run files (default 100)")
    p.add_argument("--compare", metavar="MODEL", help="compare with this second model on the same queries: "
                   "paired randomisation test and bootstrap interval per direction")
    p.set_defaults(func=cmd_evaluate)

    p = subparsers.add_parser("benchmark", help="train, select on validation and test several methods side by side")
    add_library_argument(p)
    p.add_argument("--suite", help="named suite: seeds-table, core, mfcmr-ablation, smcr-ablation, mfcmr-k, "
                   "mfcmr-alpha, mfcmr-beta, smcr-alpha, smcr-beta")
    p.add_argument("--methods", help="comma-separated methods (or rows of the suite) to run")
    p.add_argument("--out", help="output folder (default LIB/reports/benchmark-SUITE)")
    p.add_argument("--seed", type=int, default=0, help="random seed of the methods' training")
    p.add_argument("--seeds", type=int, default=1, metavar="N",
                   help="run every row with N seeds (--seed, --seed+1, ...) and report mean ± std")
    add_json_option(p, "every row's test metrics")
    p.set_defaults(func=cmd_benchmark)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from scicmr.evaluation.report import metrics_table
    from scicmr.workflow import evaluate_model

    if args.compare:
        return _compare(args)
    to_stdout, out_file = _json_outputs(args)
    document = evaluate_model(args.library, args.model or args.method, split=args.split,
                              ks=parse_ks(args.ks) if args.ks else None,
                              protocol=args.protocol, json_path=out_file,
                              channels=tuple(c.strip() for c in args.channels.split(",") if c.strip())
                              if args.channels else None, trec_run=args.trec_run, trec_k=args.trec_k)
    title = (f"{document['dataset']} — {document['split']} split "
             f"({document['pool']['queries']} queries, {document['pool']['candidates']} candidates)")
    if to_stdout:
        print_json(document)
    # With --json the JSON is standard output: the table and summary go to stderr.
    out = console(stderr=to_stdout)
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
    if out_file:
        out.print(f"metrics written to {out_file}")
    return 0


def _compare(args: argparse.Namespace) -> int:
    from scicmr.workflow.compare import compare_models
    from scicmr.workflow.outputs import check_output_file, write_output_json

    unused = [flag for flag, given in (("--channels", args.channels), ("--trec-run", args.trec_run)) if given]
    if unused:
        raise InputError(f"{' and '.join(unused)}: not used by --compare (it tests two models' per-query scores)",
                         fix="drop them, or evaluate one model without --compare")
    to_stdout, out_file = _json_outputs(args)
    if out_file:
        check_output_file(out_file, "comparison JSON file")  # before the work, not after it
    result = compare_models(args.library, args.model or args.method, args.compare, split=args.split,
                            protocol=args.protocol, ks=parse_ks(args.ks) if args.ks else None)
    if out_file:
        write_output_json(out_file, result, "comparison JSON file")
    if to_stdout:
        print_json(result)
        return 0
    first = result["models"][0]
    out = console()
    out.print(f"{first} vs {args.compare} on {result['n_queries']} {result['split']} queries, "
              f"per-query {result['metric']} ({result['protocol']} protocol):")
    for task in ("i2t", "t2i"):
        r = result[task]
        out.print(f"  {task}: {r['a']:.4f} vs {r['b']:.4f}, difference {r['mean_diff']:+.4f} "
                  f"(95% bootstrap {r['bootstrap']['low']:+.4f} to {r['bootstrap']['high']:+.4f}), "
                  f"randomisation p = {r['p_value']:.4f}")
    return 0


def _json_outputs(args: argparse.Namespace) -> tuple[bool, str | None]:
    """(print the JSON on standard output?, the file to write it to or None). ``--json OUT``
    (a file, the old meaning) still works for a release, with a deprecation warning."""
    if args.out == "-":  # standard output is the --json stream
        return True, None
    if not isinstance(args.json, str):
        return bool(args.json), args.out
    warn(f"`--json {args.json}` is deprecated and will be removed in the next release: use "
         + ("--json (standard output)" if args.json == "-"
            else f"--out {args.json} (a file), --json for standard output"))
    if args.json == "-":
        return True, args.out
    if args.out:
        raise InputError(f"--json {args.json} and --out {args.out} both name the metrics file", fix="give only --out")
    return False, args.json


def cmd_benchmark(args: argparse.Namespace) -> int:
    from scicmr.evaluation.suites import suite_rows
    from scicmr.workflow.benchmark import run_benchmark

    methods = [m for m in (args.methods or "").split(",") if m]
    rows = suite_rows(args.suite, methods)
    out = args.out or f"{args.library.rstrip('/')}/reports/benchmark-{args.suite or 'custom'}"
    if args.seeds != 1:  # 0 or fewer is refused there, with a fix
        from scicmr.workflow.benchmark_seeds import run_benchmark_seeds

        summary = run_benchmark_seeds(args.library, rows, out, seeds=range(args.seed, args.seed + args.seeds))
        if args.json:
            print_json({"out": out, **summary})
            return 0
        console().print((Path(out) / "table.md").read_text())
        console().print(f"{len(summary['rows'])} rows × {args.seeds} seeds; mean ± std in {out}/mean-std.json")
        return 0
    results = run_benchmark(args.library, rows, out, seed=args.seed)
    if args.json:
        print_json({"out": out, "rows": [_row_json(result) for result in results]})
        return 0
    _print_benchmark_table(results, f"{Path(args.library).name}: test split")
    console().print(f"{len(results)} rows; the full table is {Path(out) / 'table.md'}; metrics and plots in {out}")
    return 0


def _print_benchmark_table(results, title: str) -> None:
    """The benchmark's summary as a terminal table that fits (every cell of the paper-style
    table is in table.md). Labels: full-ranking mAP per direction, the average map@k of both
    directions, train seconds. Pair protocol (no labels): R@1/5/10 per direction, MedR, rsum."""
    if not results:
        return
    if results[0].test["protocol"] == "pair":
        columns = ["method", "txt2img R@1/5/10", "img2txt R@1/5/10", "MedR t2i/i2t", "rsum", "train s"]
        def recall(task_metrics):
            return "/".join(f"{task_metrics[f'R@{k}']:.1f}" for k in (1, 5, 10))

        rows = [[r.row.name, recall(r.test["t2i"]), recall(r.test["i2t"]),
                 f"{r.test['t2i']['MedR']:g}/{r.test['i2t']['MedR']:g}", f"{r.test['rsum']:.1f}",
                 f"{r.train_seconds:.1f}"] for r in results]
        print_table(columns, rows, title=title)
        return
    ks = sorted(int(key.split("@")[1]) for key in results[0].test["t2i"] if key.startswith("map@"))
    columns = ["method", "txt2img mAP", "img2txt mAP", "avg mAP", *(f"avg map@{k}" for k in ks), "train s"]
    rows = []
    for result in results:
        t2i, i2t = result.test["t2i"], result.test["i2t"]
        cells = [t2i["map"], i2t["map"], (t2i["map"] + i2t["map"]) / 2,
                 *((t2i[f"map@{k}"] + i2t[f"map@{k}"]) / 2 for k in ks)]
        rows.append([result.row.name, *(f"{v:.4f}" for v in cells), f"{result.train_seconds:.1f}"])
    print_table(columns, rows, title=title)


def _row_json(result) -> dict:
    """A benchmark row for ``--json``: its test metrics (curves left in the metrics files)."""
    test = {key: value for key, value in result.test.items() if key not in ("curves", "plots")}
    return {"row": result.row.name, "test": test, "selected_params": result.selected,
            "validation_scores": result.validation_scores, "train_seconds": result.train_seconds}
