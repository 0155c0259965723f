"""One machine-output convention: ``--json`` prints the verb's result as JSON on standard output
and nothing else there; files are written with ``--out``; ``evaluate --json OUT`` still writes
the file, with a deprecation warning on standard error."""

import json

import pytest

from factories.data import make_manifest
from scicmr.cli import main


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("json")
    lib = root / "lib"
    assert main(["ingest", str(make_manifest(root / "src")), "--out", str(lib), "--split", "0.6,0.2,0.2"]) == 0
    assert main(["encode", str(lib), "--image-encoder", "thumbnail", "--text-encoder", "tfidf"]) == 0
    return lib


def test_train_index_export_info_print_json(library, capsys, tmp_path):
    code, out, _ = _run(capsys, "train", library, "--method", "cca", "--json")
    report = json.loads(out)
    assert code == 0 and report["model"] == "cca" and report["train_pairs"] > 0
    code, out, _ = _run(capsys, "index", library, "--json")
    built = json.loads(out)
    assert code == 0 and set(built["indexes"]) == {"image", "text"} and built["kind"] == "flat"
    code, out, err = _run(capsys, "export", library, "--out", tmp_path / "r.jsonl", "--json")
    assert code == 0 and json.loads(out) == {"records": 36, "out": str(tmp_path / "r.jsonl")}
    assert len((tmp_path / "r.jsonl").read_text().splitlines()) == 36
    for flags in ([], ["--json"]):
        code, out, _ = _run(capsys, "info", library, *flags)
        assert code == 0 and json.loads(out)["records"] == 36
    code, _, err = _run(capsys, "export", library, "--out", "-", "--json")
    assert code == 2 and "standard output" in err


def test_evaluate_json_on_stdout_and_file_with_out(library, capsys, tmp_path):
    main(["train", str(library), "--method", "cca"])
    capsys.readouterr()
    code, out, err = _run(capsys, "evaluate", library, "--json", "--out", tmp_path / "m.json")
    assert code == 0 and json.loads(out)["model"] == "cca"
    assert json.loads((tmp_path / "m.json").read_text())["model"] == "cca"
    assert "deprecated" not in err and "metrics written to" in err


def test_evaluate_json_file_still_works_with_a_deprecation_warning(library, capsys, tmp_path):
    main(["train", str(library), "--method", "cca"])
    capsys.readouterr()
    code, out, err = _run(capsys, "evaluate", library, "--json", tmp_path / "old.json")
    assert code == 0 and (tmp_path / "old.json").is_file()
    assert "deprecated" in err and f"--out {tmp_path / 'old.json'}" in err
    assert "metrics written to" in out  # the old form: the table stays on standard output
    code, _, err = _run(capsys, "evaluate", library, "--json", tmp_path / "a.json", "--out", tmp_path / "b.json")
    assert code == 2 and "give only --out" in err


def test_benchmark_prints_json(library, capsys, tmp_path):
    code, out, _ = _run(capsys, "benchmark", library, "--methods", "cca", "--out", tmp_path / "bench", "--json")
    document = json.loads(out)
    assert code == 0 and [row["row"] for row in document["rows"]] == ["cca"]
    assert "map" in document["rows"][0]["test"]["t2i"] and "curves" not in document["rows"][0]["test"]
    assert (tmp_path / "bench" / "table.md").is_file()


def test_benchmark_over_seeds_prints_json(library, capsys, tmp_path):
    code, out, _ = _run(capsys, "benchmark", library, "--methods", "cca", "--seeds", "2", "--out", tmp_path / "b",
                        "--json")
    document = json.loads(out)
    assert code == 0 and document["seeds"] == [0, 1] and document["out"] == str(tmp_path / "b")
    assert document["rows"]["cca"]["t2i"]["map"]["n"] == 2


def test_ingest_accepts_a_folder_holding_one_manifest(tmp_path, capsys):
    manifest = make_manifest(tmp_path / "src")
    code, out, _ = _run(capsys, "ingest", manifest.parent, "--out", tmp_path / "lib", "--json")
    report = json.loads(out)
    assert code == 0 and report["kind"] == "manifest" and report["added"] == 36
    assert main(["ingest", str(manifest), "--out", str(tmp_path / "lib2")]) == 0  # the same as naming the file
    capsys.readouterr()
    code, out, _ = _run(capsys, "info", tmp_path / "lib2")
    assert json.loads(out)["records"] == 36


def test_benchmark_table_fits_the_terminal_and_names_the_file(library, capsys, tmp_path):
    code, out, _ = _run(capsys, "benchmark", library, "--methods", "cca", "--out", tmp_path / "bench")
    assert code == 0 and str(tmp_path / "bench" / "table.md") in out.replace("\n", "")
    table = [line for line in out.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and max(len(line) for line in table) <= 80  # rich fits the (80-column) console
    assert any(line.strip("│ ").startswith("cca") for line in table)
