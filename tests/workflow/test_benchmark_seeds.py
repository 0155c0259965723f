"""benchmark --seeds N: one benchmark per seed, every test metric as mean ± std over them."""

from __future__ import annotations

import json
import statistics

import pytest

from factories.service import encoded_library
from scicmr.cli import main
from scicmr.errors import InputError
from scicmr.evaluation.suites import BenchmarkRow
from scicmr.workflow.benchmark_seeds import run_benchmark_seeds, seeds_table


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return encoded_library(tmp_path_factory.mktemp("seeds"), per_field=12)  # test split >= 5 pairs


def test_mean_and_std_over_seeds_match_the_per_seed_documents(library, tmp_path):
    rows = [BenchmarkRow("cardl", "cardl", {"epochs": 2, "batch_size": 8})]
    summary = run_benchmark_seeds(library, rows, tmp_path / "out", seeds=(0, 1))
    per_seed = [json.loads((tmp_path / "out" / f"seed-{s}" / "metrics" / "cardl.json").read_text()) for s in (0, 1)]
    got = summary["rows"]["cardl"]["i2t"]["map"]
    values = [d["i2t"]["map"] for d in per_seed]
    assert got["n"] == 2 and got["mean"] == pytest.approx(sum(values) / 2)
    assert got["std"] == pytest.approx(statistics.stdev(values))
    assert json.loads((tmp_path / "out" / "mean-std.json").read_text())["seeds"] == [0, 1]
    table = (tmp_path / "out" / "table.md").read_text()
    assert "| cardl | " in table and " ± " in table and "seeds 0, 1" in table


def test_pair_protocol_table_shows_recall_and_median_rank():
    doc = {"protocol": "pair", "rsum": 300.0, **{t: {"R@1": 10.0, "R@5": 40.0, "R@10": 50.0, "MedR": 6.0}
                                                 for t in ("i2t", "t2i")}}
    table = seeds_table({"m": [doc, {**doc, "rsum": 310.0}]}, [0, 1])
    assert "txt2img R@1" in table and "rsum" in table and "305.0000 ± 7.0711" in table


def test_seeds_must_be_given(library, tmp_path, capsys):
    with pytest.raises(InputError, match="seeds"):
        run_benchmark_seeds(library, [], tmp_path / "o", seeds=[])
    assert main(["benchmark", str(library), "--methods", "cca", "--seeds", "0", "--out", str(tmp_path / "o")]) != 0
    assert "--seeds 3" in capsys.readouterr().err


def test_a_library_without_labels_gets_the_pair_seeds_table(tmp_path):
    library = encoded_library(tmp_path / "nolabels", per_field=12, labels=False)
    summary = run_benchmark_seeds(library, [BenchmarkRow("cca", "cca")], tmp_path / "out", seeds=(0, 1))
    assert summary["rows"]["cca"]["rsum"]["n"] == 2
    table = (tmp_path / "out" / "table.md").read_text()
    assert "txt2img R@1" in table and "| cca | " in table
    assert "txt2img R@1" in (tmp_path / "out" / "seed-0" / "table.md").read_text()  # each seed's own table too
