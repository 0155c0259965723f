"""The benchmark runner: validation selection, one test evaluation, table, JSON and plots."""

import json

import pytest

from factories.service import encoded_library
from scicmr.cli import main
from scicmr.errors import InputError
from scicmr.evaluation.suites import BenchmarkRow, suite_rows, sweep
from scicmr.workflow.benchmark import run_benchmark, table_cells, table_columns, validation_score


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return encoded_library(tmp_path_factory.mktemp("bench"))


def test_grid_is_selected_on_validation_and_others_removed(library, tmp_path):
    rows = [BenchmarkRow("cca", "cca", grid={"reg": [1e-3, 0.5, 5.0]}),
            BenchmarkRow("cardl", "cardl", {"epochs": 5, "batch_size": 8})]
    results = run_benchmark(library, rows, tmp_path / "out")
    cca = results[0]
    assert len(cca.validation_scores) == 3
    best = max(range(3), key=lambda i: (cca.validation_scores[i], -i))
    assert cca.selected["reg"] == [1e-3, 0.5, 5.0][best]
    models = sorted(p.name for p in (library / "models").iterdir())
    assert [m for m in models if m.startswith("bench-cca")] == [f"bench-cca-g{best}"]
    document = json.loads((tmp_path / "out" / "metrics" / "cca.json").read_text())
    assert document["split"] == "test" and document["selected_params"]["reg"] == cca.selected["reg"]
    table = (tmp_path / "out" / "table.md").read_text()
    assert "| cca |" in table and "| cardl |" in table and "txt2img @25" in table
    plots = {p.name for p in (tmp_path / "out" / "plots").iterdir()}
    assert {"map-at-k-i2t.png", "map-at-k-t2i.png", "loss.png"} <= plots


def test_sweep_rows_make_a_sensitivity_plot(library, tmp_path):
    rows = sweep("cca", "reg", (0.01, 1.0, 100.0))
    assert [r.name for r in rows] == ["cca-reg=0.01", "cca-reg=1", "cca-reg=100"]
    run_benchmark(library, rows, tmp_path / "out")
    assert (tmp_path / "out" / "plots" / "sensitivity-reg.png").exists()


def test_validation_score_is_mean_of_directions():
    doc = {"protocol": "labels", "i2t": {"map": 0.2}, "t2i": {"map": 0.4}}
    assert validation_score(doc) == pytest.approx(0.3)
    assert validation_score({"protocol": "pair", "i2t": {"mrr": 1.0}, "t2i": {"mrr": 0.0}}) == 0.5


def test_suites_are_data():
    assert [r.name for r in suite_rows("smcr-ablation")] == ["smcr", "smcr-no-imi", "smcr-no-con"]
    assert [r.method for r in suite_rows(None, ["cca", "cardl"])] == ["cca", "cardl"]
    with pytest.raises(InputError, match="unknown benchmark suite"):
        suite_rows("nope")


def test_benchmark_cli(library, tmp_path, capsys):
    code = main(["benchmark", str(library), "--methods", "cca", "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert code == 0 and any(line.strip("│ ").startswith("cca") for line in out.splitlines())  # the terminal table
    assert "| cca |" in (tmp_path / "o" / "table.md").read_text()  # the paper-style table in its file


def _table_row(table: str, name: str) -> dict[str, str]:
    """The Markdown table's row ``name`` as header → cell."""
    lines = [line for line in table.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    row = next(line for line in lines if line.startswith(f"| {name} |"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    assert len(cells) == len(header)
    return dict(zip(header, cells))


def test_a_library_without_labels_is_benchmarked_under_the_pair_protocol(tmp_path):
    library = encoded_library(tmp_path / "nolabels", labels=False)
    results = run_benchmark(library, sweep("cca", "reg", (0.01, 1.0)), tmp_path / "out")  # a sweep: its plot too
    test = results[0].test
    assert test["protocol"] == "pair" and "map" not in test["t2i"]
    row = _table_row((tmp_path / "out" / "table.md").read_text(), "cca-reg=0.01")
    assert row["txt2img R@1"] == f"{test['t2i']['R@1']:.4f}" and row["img2txt MedR"] == f"{test['i2t']['MedR']:.4f}"
    assert row["rsum"] == f"{test['rsum']:.4f}" and "train s" in row
    assert table_cells(test) == [test[t][m] for t in ("t2i", "i2t") for m in ("R@1", "R@5", "R@10", "MedR")] + [test["rsum"]]
    assert (tmp_path / "out" / "plots" / "sensitivity-reg.png").exists()


def test_the_benchmark_command_prints_the_pair_table_of_a_library_without_labels(tmp_path, capsys):
    from scicmr.cli import main

    library = encoded_library(tmp_path / "nolabels", labels=False)
    assert main(["benchmark", str(library), "--methods", "cca", "--out", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "R@1/5/10" in out and "rsum" in out and "table.md" in out


def test_the_label_table_header_and_cells_come_from_one_list(library, tmp_path):
    results = run_benchmark(library, [BenchmarkRow("cca", "cca")], tmp_path / "out", ks=(5, 20))
    row = _table_row((tmp_path / "out" / "table.md").read_text(), "cca")
    test = results[0].test
    assert list(row)[1:-1] == [name for name, _ in table_columns("labels", (5, 20))]
    assert row["img2txt @20"] == f"{test['i2t']['map@20']:.4f}"
    assert row["avg full"] == f"{(test['i2t']['map'] + test['t2i']['map']) / 2:.4f}"
