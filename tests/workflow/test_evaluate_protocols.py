"""``evaluate`` under both protocols: the pair protocol reports hits@k at the asked cut-offs,
and each protocol's report and plots have their own names (one never overwrites the other)."""

import json

import pytest

from factories.service import build_library
from scicmr.cli import main
from scicmr.workflow import evaluate_model


@pytest.fixture(scope="module")
def lib_root(tmp_path_factory):
    return build_library(tmp_path_factory.mktemp("protocols"))


@pytest.mark.parametrize("channels", [None, ("cross_modal",)])  # the hybrid ranker and the model alone
def test_pair_protocol_honours_ks(lib_root, channels):
    document = evaluate_model(lib_root, protocol="pair", ks=(1, 2, 4), plots=False, channels=channels)
    for direction in ("i2t", "t2i"):
        assert {key for key in document[direction] if key.startswith("hits@")} == {"hits@1", "hits@2", "hits@4"}
        assert document[direction]["hits@1"] <= document[direction]["hits@2"] <= document[direction]["hits@4"]


def test_protocols_write_their_own_reports(lib_root, capsys):
    reports = lib_root / "reports"
    assert main(["evaluate", str(lib_root), "--protocol", "labels", "--ks", "1,3"]) == 0
    labels_json = reports / "eval-cca-test-labels.json"
    plots = sorted(p.name for p in reports.glob("eval-cca-test-labels*.png"))
    assert labels_json.is_file() and plots
    before = labels_json.read_bytes()
    capsys.readouterr()
    assert main(["evaluate", str(lib_root), "--protocol", "pair", "--ks", "1,5,10", "--json"]) == 0
    pair = json.loads(capsys.readouterr().out)
    assert pair["protocol"] == "pair" and {"hits@1", "hits@5", "hits@10"} <= set(pair["t2i"])
    assert json.loads((reports / "eval-cca-test-pair.json").read_text())["protocol"] == "pair"
    assert labels_json.read_bytes() == before  # the label report and its plots are untouched
    assert sorted(p.name for p in reports.glob("eval-cca-test-labels*.png")) == plots
    assert not list(reports.glob("eval-cca-test-pair*.png"))  # no stale label plots under the pair name
