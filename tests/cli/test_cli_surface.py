"""The command line's shape: every verb module registers its subcommands with a handler, in the
order ``scicmr --help`` lists them; the entry points work; importing the CLI stays light."""

import argparse
import subprocess
import sys

import pytest

from factories.data import make_manifest
from scicmr.cli import VERB_MODULES, build_parser, main
from scicmr.cli._output import console, parse_ks, parse_params, print_quirks, print_skipped, print_table
from scicmr.errors import InputError

VERBS = ["ingest", "encode", "train", "index", "search", "evaluate", "benchmark", "export", "info", "demo",
         "clean", "match", "serve", "ocr", "hash-images", "hash-search", "compact", "upgrade"]


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_verb_in_order_with_a_handler():
    subparsers = _subparsers(build_parser())
    assert list(subparsers) == VERBS
    for name, parser in subparsers.items():
        assert callable(parser.get_default("func")), name


def test_each_verb_module_registers_its_own_verbs():
    for module in VERB_MODULES:
        parser = argparse.ArgumentParser()
        module.register(parser.add_subparsers())
        for name, sub in _subparsers(parser).items():
            assert sub.get_default("func").__module__ == module.__name__, name


@pytest.mark.parametrize("module", ["scicmr", "scicmr.cli"])
def test_python_dash_m_runs_the_cli(module):
    result = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("scicmr ")
    if module == "scicmr":
        return
    result = subprocess.run([sys.executable, "-m", "scicmr.cli", "nosuch"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and "invalid choice: 'nosuch'" in result.stderr


def test_importing_the_cli_loads_no_heavy_library():
    code = ("import sys, scicmr.cli; scicmr.cli.build_parser(); "
            "print(sorted(m for m in ('torch', 'numpy', 'rich', 'fastapi') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_parse_params_reads_json_values_and_bare_words():
    assert parse_params(["epochs=20", "hidden_dims=[256, 128]", "name=plain", "eq=a=b"]) == {
        "epochs": 20, "hidden_dims": [256, 128], "name": "plain", "eq": "a=b"}
    assert parse_params([]) == {}
    with pytest.raises(InputError, match="NAME=VALUE"):
        parse_params(["epochs"])


@pytest.mark.parametrize(("text", "message"), [("5,x", "cannot read --ks"), ("0,5", "must be positive"),
                                               ("", "cannot read --ks")])
def test_parse_ks_rejects_bad_cut_offs(text, message):
    with pytest.raises(InputError, match=message):
        parse_ks(text)
    assert parse_ks("5,20,50") == (5, 20, 50)


def test_evaluate_prints_the_metrics_table(tmp_path, capsys):
    manifest = make_manifest(tmp_path / "src", per_field=10)
    library = str(tmp_path / "lib")
    assert main(["ingest", str(manifest), "--out", library, "--split", "0.6,0.2,0.2"]) == 0
    assert main(["encode", library, "--image-encoder", "thumbnail", "--text-encoder", "tfidf"]) == 0
    assert main(["train", library, "--method", "cca"]) == 0
    capsys.readouterr()
    assert main(["evaluate", library, "--ks", "1,3", "--out", str(tmp_path / "m.json")]) == 0
    output = capsys.readouterr().out
    assert "lib — test split" in output and "map@1" in output and "map@3" in output
    rows = [[cell.strip() for cell in line.split("│")[1:3]] for line in output.splitlines() if line.startswith("│")]
    assert rows == [["cca", "i2t"], ["cca", "t2i"]]
    assert "metrics written to" in output and (tmp_path / "m.json").is_file()


def test_ingest_quirks_print_one_readable_line_each_and_brackets_stay_text(capsys):
    # A reader's quirks are dicts; the user sees "item: quirk (detail)", never a dict repr, and
    # brackets from file names are not taken as rich markup (which would raise on "[/]").
    quirks = [{"item": f"paper[/]{i}.pdf page 2", "quirk": "caption 'Figure 5' has no figure", "detail": "[bold] x"}
              for i in range(23)]
    print_quirks(console(), quirks, "LIB/reports/ingest.json", limit=20)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "notes 23 (worked around; all kept in LIB/reports/ingest.json):"
    assert lines[1] == "  - paper[/]0.pdf page 2: caption 'Figure 5' has no figure ([bold] x)"
    assert lines[-1] == "  ... and 3 more" and len(lines) == 22
    print_quirks(console(), [], "LIB/reports/ingest.json")
    assert capsys.readouterr().out == ""


def test_skipped_items_keep_brackets_as_text(capsys):
    print_skipped(console(), [{"item": "a[/]b.pdf", "reason": "no captioned figures [found]"}], "R/ingest.json")
    assert capsys.readouterr().out.splitlines() == ["skipped 1 (all listed in R/ingest.json):",
                                                    "  - a[/]b.pdf: no captioned figures [found]"]
    print_skipped(console(), [], "R/ingest.json")
    assert capsys.readouterr().out == ""


def test_table_cells_and_title_are_text_not_markup(capsys):
    # A caption with subfigure tags "[a]"/"[b]" or a stray "[/]" is printed as written (rich
    # markup would hide the tags and raise on the closing one).
    print_table(("id", "text"), [("fig[/]1", "panels [a] and [b] compared")], title="matching photo[1].jpg")
    out = capsys.readouterr().out
    assert "fig[/]1" in out and "panels [a] and [b] compared" in out and "matching photo[1].jpg" in out
