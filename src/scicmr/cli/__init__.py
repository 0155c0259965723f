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
import logging
import os
import sys
import warnings
from contextlib import contextmanager
from typing import Iterator, Sequence

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
    _add_verbosity_options(parser)
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in VERB_MODULES:
        module.register(subparsers)
    for subparser in subparsers.choices.values():
        subparser.formatter_class = HelpFormatter  # defaults shown, lists kept
        _add_verbosity_options(subparser, argparse.SUPPRESS)  # also after the command: `scicmr search -q …`
    return parser


def _add_verbosity_options(parser: argparse.ArgumentParser, default=None) -> None:
    """``-q/--quiet`` and ``-v/--verbose``; on a subcommand with SUPPRESS defaults, so a flag given
    before the command is not reset by the subcommand's own defaults."""
    parser.add_argument("-q", "--quiet", action="store_true", default=default if default else False,
                        help="show only errors on standard error (no warnings, notes or progress bars)")
    parser.add_argument("-v", "--verbose", action="count", default=default if default else 0,
                        help="more diagnostics on standard error: -v info, -vv debug")


class _LevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage()}"


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (tests and callers may swap it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


_LOG_HANDLER = _StderrHandler()
_LOG_HANDLER.setFormatter(_LevelFormatter())


@contextmanager
def cli_logging(quiet: bool = False, verbose: int = 0) -> Iterator[None]:
    """While a command runs, diagnostics of the ``scicmr`` loggers go to standard error (stdout
    stays for results): errors only with ``quiet`` (progress bars off too), warnings by default,
    info with ``verbose`` 1, debug with 2. Restored afterwards (``main`` may run in-process)."""
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    logger = logging.getLogger("scicmr")
    old_level, old_quiet = logger.level, os.environ.get("SCICMR_QUIET")
    logger.setLevel(level)
    logger.addHandler(_LOG_HANDLER)
    if quiet:
        os.environ["SCICMR_QUIET"] = "1"
    try:
        yield
    finally:
        logger.removeHandler(_LOG_HANDLER)
        logger.setLevel(old_level)
        if quiet and old_quiet is None:
            os.environ.pop("SCICMR_QUIET", None)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``scicmr`` command; the exit status (2 for a ScicmrError, 130 on Ctrl-C, 141
    when stdout's reader closed the pipe)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # The compat shim's notice is for library users; on the command line it is noise.
    warnings.filterwarnings("ignore", message="torchvision's compiled ops")
    args = build_parser().parse_args(argv)
    with cli_logging(args.quiet, args.verbose):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    """The parsed command, its errors turned into messages and exit statuses."""
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
