"""``scicmr search`` shows each hit's paper title; ``-q/--quiet`` and ``-v/--verbose`` set the
level of diagnostics on standard error, before or after the command, and never touch stdout."""

import json
import logging

import pytest

from factories.service import build_library
from scicmr.cli import main


@pytest.fixture(scope="module")
def lib_root(tmp_path_factory):
    return build_library(tmp_path_factory.mktemp("search"))


def test_search_table_has_a_paper_title_column(lib_root, capsys):
    assert main(["search", str(lib_root), "ocean temperature", "-k", "3"]) == 0
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines() if "score" in line)
    assert [c.strip() for c in header.strip("┃│ ").split("┃")][:4] == ["#", "score", "id", "paper"]
    assert "Study" in out  # the factory's paper titles: "Study N in FIELD"


def test_search_table_shows_brackets_in_captions_as_written(capsys):
    from types import SimpleNamespace

    from scicmr.cli._output import print_table
    from scicmr.cli.search import _hit_row

    record = SimpleNamespace(title="On [a] things", labels=["x"], year=2020, text="Panels [a] and [b] [/]")
    print_table(("#", "score", "id", "paper", "labels", "year", "text"),
                [_hit_row(SimpleNamespace(rank=1, score=0.5, id="r1", record=record))], overflow="fold")
    out = capsys.readouterr().out
    assert "Panels [a] and [b] [/]" in out and "On [a] things" in out and "\\[" not in out


def test_search_json_is_unchanged_by_verbosity(lib_root, capsys):
    outputs = []
    for flags in ([], ["-q"], ["-vv"]):
        assert main([*flags, "search", str(lib_root), "ocean temperature", "-k", "3", "--json"]) == 0
        outputs.append(json.loads(capsys.readouterr().out))
    assert outputs[0] == outputs[1] == outputs[2]


@pytest.mark.parametrize(("argv", "level"), [
    (["info", "LIB"], logging.WARNING), (["-q", "info", "LIB"], logging.ERROR), (["info", "LIB", "-q"], logging.ERROR),
    (["-v", "info", "LIB"], logging.INFO), (["info", "LIB", "-vv"], logging.DEBUG),
    (["-vv", "info", "LIB"], logging.DEBUG),
])
def test_quiet_and_verbose_set_the_log_level(lib_root, capsys, monkeypatch, argv, level):
    from scicmr.cli import contents

    seen, real = [], contents.cmd_info
    monkeypatch.setattr(contents, "cmd_info", lambda args: seen.append(logging.getLogger("scicmr").level) or real(args))
    before = logging.getLogger("scicmr").level
    assert main([str(lib_root) if a == "LIB" else a for a in argv]) == 0
    assert seen == [level] and logging.getLogger("scicmr").level == before  # restored after the command
    json.loads(capsys.readouterr().out)  # results still on stdout


def test_warnings_go_to_stderr_unless_quiet(capsys):
    from scicmr.cli import cli_logging

    log = logging.getLogger("scicmr.workflow.test")
    with cli_logging():
        log.warning("a diagnostic")
        log.info("a detail")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == "warning: a diagnostic\n"
    with cli_logging(verbose=1):
        log.info("a detail")
    assert capsys.readouterr().err == "info: a detail\n"
    with cli_logging(quiet=True):
        log.warning("a diagnostic")
    assert capsys.readouterr().err == ""
