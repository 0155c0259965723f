"""Every argument of every subcommand is described, defaults are shown, help speaks the user's
language (no internal jargon), and ``train --help`` lists every registered method."""

import argparse
import re

import pytest

from scicmr.cli import build_parser
from scicmr.methods import available_methods, method_summary


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


SUBPARSERS = _subparsers(build_parser())


def _described(action: argparse.Action) -> bool:
    return bool(action.help and action.help.strip())


@pytest.mark.parametrize("verb", sorted(SUBPARSERS))
def test_every_argument_and_option_has_help(verb):
    missing = [a.option_strings or a.dest for a in SUBPARSERS[verb]._actions if not _described(a)]
    assert not missing, f"scicmr {verb}: no help for {missing}"


@pytest.mark.parametrize("verb", sorted(SUBPARSERS))
def test_help_shows_every_default(verb):
    parser = SUBPARSERS[verb]
    text = re.sub(r"\s+", " ", parser.format_help())
    for action in parser._actions:
        default = action.default
        if action.nargs == 0 or default is None or default == [] or default == argparse.SUPPRESS:
            continue
        help_text = parser._get_formatter()._expand_help(action)
        assert "default" in help_text.lower(), f"scicmr {verb} {action.option_strings}: default {default!r} not shown"
        assert re.sub(r"\s+", " ", help_text) in text


@pytest.mark.parametrize("verb", sorted(SUBPARSERS))
def test_help_has_no_internal_jargon(verb):
    text = SUBPARSERS[verb].format_help()
    assert not re.search(r"seed (paper )?\d{3}", text), f"scicmr {verb} help mentions a seed-paper number"


def test_top_level_help_lists_every_command():
    text = build_parser().format_help()
    for verb in SUBPARSERS:
        assert verb in text


def test_train_help_lists_every_method_with_one_line():
    text = SUBPARSERS["train"].format_help()
    lines = {line.split()[0]: line for line in text.split("methods (--method NAME):")[1].splitlines() if line.strip()}
    assert sorted(lines) == available_methods("pairs")
    for name, line in lines.items():
        assert method_summary(name) and method_summary(name) in line
    assert "adhn" not in lines  # images-only: trained by hash-images, not train


def test_ingest_help_lists_every_source_kind():
    from scicmr.workflow.ingest import source_kinds

    text = SUBPARSERS["ingest"].format_help()
    lines = {line.split()[0]: line for line in text.split("sources (SOURCE):")[1].splitlines() if line.strip()}
    assert sorted(lines) == sorted(source_kinds()) and {"table", "webdataset", "hf", "pdf"} <= set(lines)
    assert "hf:DIR" in text and ".parquet" in text


def test_every_registered_pair_method_has_a_summary():
    assert all(method_summary(name) for name in available_methods(None))
