"""scicmr command line: a thin layer from argv to the library's workflows.

Every subcommand parses its arguments into plain values, calls the library's public API
(mostly :mod:`scicmr.workflow`), and prints the result (``--json`` for machine output). Errors
derived from :class:`~scicmr.errors.ScicmrError` print the problem and the fix and exit with
status 2.

One module per verb group, each exposing ``register(subparsers)`` that adds its parsers and
sets their handler (``set_defaults(func=…)``); shared output and argument helpers live in
:mod:`scicmr.cli._output`. The library never imports the CLI.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from typing import Sequence

from scicmr import __version__
from scicmr.cli import clean, contents, demo, evaluate, image_hashing, library, maintenance, match, ocr, search, serve
from scicmr.cli._output import HelpFormatter
from scicmr.errors import ScicmrError

__all__ = ["build_parser", "main"]

# In the order `scicmr --help` lists their subcommands. The modules' imports stay light: heavy
# libraries load inside the handlers, so `scicmr --help` and a mistyped flag answer at once.
VERB_MODULES = (library, search, evaluate, contents, demo, clean, match, serve, ocr, image_hashing, maintenance)


def build_parser() -> argparse.ArgumentParser:
    """The ``scicmr`` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="scicmr", description="Cross-media retrieval of scientific information.",
                                     epilog="`scicmr COMMAND --help` describes a command's arguments.",
                                     formatter_class=HelpFormatter)
    parser.add_argument("--version", action="version", version=f"scicmr {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in VERB_MODULES:
        module.register(subparsers)
    for subparser in subparsers.choices.values():
        subparser.formatter_class = HelpFormatter  # defaults shown, lists kept
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``scicmr`` command; the exit status (2 for a ScicmrError, 130 on Ctrl-C, 141
    when stdout's reader closed the pipe)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # The compat shim's notice is for library users; on the command line it is noise.
    warnings.filterwarnings("ignore", message="torchvision's compiled ops")
    args = build_parser().parse_args(argv)
    try:
        status = args.func(args)
        sys.stdout.flush()  # here, not at exit: a closed pipe must raise inside this try
        return status
    except ScicmrError as exc:
        print(f"error: {exc.problem}", file=sys.stderr)
        if exc.fix:
            print(f"  fix: {exc.fix}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`scicmr info LIB | head`): not an error of ours. Point stdout
        # at devnull so the interpreter's final flush cannot raise again, and exit quietly.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 141  # 128 + SIGPIPE, what a shell reports for a killed pipeline member
