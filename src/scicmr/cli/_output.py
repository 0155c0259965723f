"""What the verb modules share: the console, JSON output, tables, reading ``--param`` and
``--ks`` values, and the ``--ray`` option. rich loads only when something is printed."""

from __future__ import annotations

import argparse
import json
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence

from scicmr.errors import InputError


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every subcommand's help: each option's default is shown (unless its help already names
    one, or it is an on/off flag), and line breaks in descriptions and epilogs are kept (lists)."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (action.nargs == 0 or default is None or default is False or default == [] or default == argparse.SUPPRESS
                or "default" in text.lower()):
            return text
        return text + " (default: %(default)s)"

    def _fill_text(self, text, width, indent):
        # A line starting with two spaces is a list item, kept as written; other lines are wrapped.
        fill = super()._fill_text
        return "\n".join(indent + line if line.startswith("  ") else fill(line, width, indent)
                         for line in text.splitlines())


LIBRARY_HELP = "the library folder (made by `scicmr ingest … --out LIB`)"


def add_library_argument(parser) -> None:
    """The positional ``library`` argument most verbs take."""
    parser.add_argument("library", help=LIBRARY_HELP)


def add_json_option(parser, what: str = "the result") -> None:
    """``--json``, the one machine-output convention: print ``what`` as JSON on standard output
    (human messages, if any, go to standard error); files are written with ``--out``."""
    parser.add_argument("--json", action="store_true",
                        help=f"print {what} as JSON on standard output (machine-readable) instead of text")


def lazy_epilog(parser, heading: str, catalog: Callable[[], dict[str, str]]) -> None:
    """End ``parser``'s help with ``heading`` and ``catalog()``, one ``name  line`` each, read
    when the help is shown, not when the parser is built (the registries live below the light
    CLI imports)."""
    plain_help = parser.format_help

    def format_help() -> str:
        entries = catalog()
        width = max(map(len, entries), default=0)
        parser.epilog = heading + "\n" + "\n".join(f"  {name:<{width}}  {line}" for name, line in entries.items())
        return plain_help()

    parser.format_help = format_help


def warn(message: str) -> None:
    """A diagnostic for the user on standard error (through logging: ``--quiet`` hides it)."""
    import logging

    logging.getLogger("scicmr.cli").warning(message)


def console(stderr: bool = False):
    """A rich Console for the command's human output; ``stderr`` for a summary line when the
    command's data itself goes to standard output (``--out -``). Markup and highlighting are off:
    what is printed holds the user's paths, titles and captions, whose brackets ("[draft]",
    "[/]") are text (colour goes through ``style=``)."""
    from rich.console import Console

    return Console(highlight=False, markup=False, stderr=stderr)


def print_json(obj: Any) -> None:
    """Print ``obj`` as indented JSON (non-ASCII kept, unknown types as str)."""
    print(json.dumps(obj, indent=2, ensure_ascii=False, default=str))


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]], *, title: str | None = None,
                overflow: str = "ellipsis") -> None:
    """Print ``rows`` of cell strings under ``columns`` as one rich table. Cells and title are
    plain text: a caption's "[a]" or "[/]" is shown as written, not read as rich markup."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=None if title is None else Text(title))
    for column in columns:
        table.add_column(column, overflow=overflow)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    console().print(table)


def print_skipped(out, skipped: Sequence[dict[str, str]], where: str, limit: int = 20) -> None:
    """Print a report's skipped items (``{"item", "reason"}``): a count naming ``where`` they are
    all kept, then the first ``limit``, one ``item: reason`` a line."""
    _print_listing(out, f"skipped {len(skipped)} (all listed in {where}):",
                   [f"{item['item']}: {item['reason']}" for item in skipped], limit)


def print_quirks(out, quirks: Sequence[dict[str, str]], where: str, limit: int = 20) -> None:
    """Print a reader's worked-around quirks (``{"item", "quirk", "detail"}``) the same way,
    one ``item: quirk (detail)`` a line."""
    _print_listing(out, f"notes {len(quirks)} (worked around; all kept in {where}):",
                   [f"{q.get('item', '')}: {q.get('quirk', '')}" + (f" ({q['detail']})" if q.get("detail") else "")
                    for q in quirks], limit)


def _print_listing(out, header: str, lines: Sequence[str], limit: int) -> None:
    if not lines:
        return
    out.print(header, style="yellow")
    for line in lines[:limit]:
        out.print(f"  - {line}")
    if len(lines) > limit:
        out.print(f"  ... and {len(lines) - limit} more")


def parse_params(pairs: Sequence[str]) -> dict[str, Any]:
    """``["epochs=20", "hidden_dims=[256]"]`` → {"epochs": 20, "hidden_dims": [256]}."""
    params: dict[str, Any] = {}
    for pair in pairs or []:
        if "=" not in pair:
            raise InputError(f"cannot read --param {pair!r}", fix="write it as NAME=VALUE, e.g. --param epochs=20")
        key, value = pair.split("=", 1)
        try:
            params[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            params[key.strip()] = value  # a bare word: the value is the string itself
    return params


def parse_ks(text: str) -> tuple[int, ...]:
    """``"5,20,50"`` → (5, 20, 50): positive rank cut-offs."""
    try:
        ks = tuple(int(k) for k in text.split(","))
    except ValueError:
        raise InputError(f"cannot read --ks {text!r}", fix="write cut-offs like 5,20,50") from None
    if not ks or min(ks) < 1:
        raise InputError(f"--ks cut-offs must be positive, got {text!r}")
    return ks


def add_ray_option(parser, what: str, how: str) -> None:
    """``--ray [ADDRESS]`` on a verb whose heavy work (``what``, run as ``how``) can run on Ray."""
    parser.add_argument(
        "--ray", nargs="?", const="local", metavar="ADDRESS",
        help=f"run {what} on Ray ({how}; needs the ray extra: pip install 'scicmr[ray]'). Without ADDRESS: a local "
             "Ray using this machine's cores; with ADDRESS: join that cluster, e.g. host:6379, ray://host:10001 or "
             "auto (the one started on this machine). On a cluster of several machines the source and the library "
             "must be on storage every node mounts at the same path. Put --ray after the positional arguments "
             "(or write --ray=ADDRESS)")


@contextmanager
def ray_executor(args) -> Iterator[Any]:
    """The Ray executor ``--ray`` asks for (None without the flag), closed when the verb ends;
    InputError when ``--workers`` (local processes) is given too."""
    address = getattr(args, "ray", None)
    if not address:
        yield None
        return
    if getattr(args, "workers", None) is not None:
        raise InputError("--workers sets local processes and --ray runs on Ray's workers; give one of them",
                         fix="drop --workers (Ray uses every core of the machine or cluster)")
    from scicmr.workflow import RayExecutor

    executor = RayExecutor(address)
    try:
        yield executor
    finally:
        executor.close()
