"""``scicmr demo``: generate a scientific corpus, then ingest, encode, train, index, search and
evaluate it (:func:`scicmr.demo.run.run_demo`)."""

from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("demo", help="generate a scientific corpus, train, index, search and evaluate")
    p.add_argument("--out", default="demo_out", help="folder for the generated corpus, library and reports")
    p.add_argument("--papers", type=int, default=240, help="papers to generate")
    p.add_argument("--seed", type=int, default=0, help="random seed of the corpus and training")
    p.add_argument("--methods", default="cca,cardl",
                   help="methods to train, comma-separated (see `scicmr train --help`)")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from scicmr.demo.run import run_demo

    run_demo(args.out, n_papers=args.papers, seed=args.seed, methods=args.methods.split(","))
    return 0
