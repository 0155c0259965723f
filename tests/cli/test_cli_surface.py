"""The command line's shape: every verb module registers its subcommands with a handler, in the
order ``scicmr --help`` lists them; the entry points work; importing the CLI stays light."""

import argparse
import subprocess
import sys

import pytest

from factories.data import make_manifest
from scicmr.cli import VERB_MODULES, build_parser, main
from scicmr.cli._output import parse_ks, parse_params
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


def test_python_dash_m_runs_the_cli():
    result = subprocess.run([sys.executable, "-m", "scicmr.cli", "--version"], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("scicmr ")
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
