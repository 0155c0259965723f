"""evaluate reports R@1/5/10, MedR and rsum (pair) and nDCG@k (labels) consistent with its own
hits@k and with slow references; TREC run/qrels files; two models compared by a paired test."""

from __future__ import annotations

import math

import numpy as np
import pytest

from factories.service import build_library, copy_library
from scicmr.cli import main
from scicmr.corpus.library import Library
from scicmr.errors import InputError
from scicmr.evaluation.trec import parse_run, trec_id
from scicmr.workflow import evaluate_model, train_model
from scicmr.workflow.compare import compare_models


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = copy_library(build_library(tmp_path_factory.mktemp("evalrank")), tmp_path_factory.mktemp("c") / "lib")
    train_model(root, "cca", {"n_components": 2}, name="cca2")
    return root


def test_pair_protocol_reports_recall_median_rank_and_rsum(library):
    doc = evaluate_model(library, "cca", protocol="pair", plots=False, per_query=True)
    for task in ("i2t", "t2i"):
        m = doc[task]
        assert m["R@1"] == pytest.approx(100 * m["hits@1"]) and m["R@10"] == pytest.approx(100 * m["hits@10"])
        ranks = np.round(1 / np.asarray(doc["per_query"][task]["rr"])).astype(int)
        assert np.mean(doc["per_query"][task]["rr"]) == pytest.approx(m["mrr"])
        assert np.mean(1 / ranks) == pytest.approx(m["mrr"])  # the per-query rr are reciprocals of whole ranks
        assert m["MedR"] == float(np.floor(np.median(ranks))) and m["MeanR"] == pytest.approx(ranks.mean())
        for k in (1, 5, 10):
            assert m[f"R@{k}"] == pytest.approx(100 * np.mean(ranks <= k))
    assert doc["rsum"] == pytest.approx(sum(doc[t][f"R@{k}"] for t in ("i2t", "t2i") for k in (1, 5, 10)))


def test_label_protocol_reports_ndcg(library):
    doc = evaluate_model(library, "cca", protocol="labels", ks=(5, 10), plots=False, per_query=True)
    for task in ("i2t", "t2i"):
        assert 0 < doc[task]["ndcg@5"] <= 1 and "R@1" not in doc[task]
        assert np.mean(doc["per_query"][task]["ndcg@10"]) == pytest.approx(doc[task]["ndcg@10"])
    assert "rsum" not in doc


def _slow_qrels(path):
    return [line.split() for line in path.read_text().splitlines()]


def test_trec_run_and_qrels_files(library, tmp_path):
    out = tmp_path / "trec"
    assert main(["evaluate", str(library), "--model", "cca", "--protocol", "pair", "--trec-run", str(out),
                 "--trec-k", "4"]) == 0
    lib = Library.open(library)
    ids = [r.id for r in lib.records("test") if r.kind == "pair"]
    doc = evaluate_model(library, "cca", protocol="pair", plots=False, per_query=True)
    for task in ("i2t", "t2i"):
        rows = parse_run((out / f"{task}.run").read_text())
        assert len(rows) == 4 * len(ids) and {r[4] for r in rows} == {"scicmr-cca"}
        by_query: dict[str, list] = {}
        for qid, docid, rank, score, _ in rows:
            by_query.setdefault(qid, []).append((rank, score, docid))
        assert list(by_query) == [trec_id(i) for i in ids]
        for qid, ranked in by_query.items():
            assert [r for r, _, _ in ranked] == [1, 2, 3, 4]
            assert all(a[1] >= b[1] for a, b in zip(ranked, ranked[1:]))  # scores descending
        # The own pair's position in the run agrees with the reported reciprocal ranks (when in the top 4).
        for qid, rr in zip(by_query, doc["per_query"][task]["rr"]):
            docs = [d for _, _, d in by_query[qid]]
            assert (qid in docs) == (round(1 / rr) <= 4) and (qid not in docs or docs.index(qid) + 1 == round(1 / rr))
        assert _slow_qrels(out / f"{task}.qrels") == [[trec_id(i), "0", trec_id(i), "1"] for i in ids]


def test_trec_ids_escape_spaces_and_percent():
    assert trec_id("fig 1%") == "fig%201%25" and trec_id("plain-id.3") == "plain-id.3"


def test_two_models_are_compared_by_a_paired_test(library):
    result = compare_models(library, "cca", "cca2", protocol="pair", n_resamples=500)
    assert result["metric"] == "rr" and result["n_queries"] > 0
    for task in ("i2t", "t2i"):
        part = result[task]
        assert part["mean_diff"] == pytest.approx(part["a"] - part["b"])
        assert 0 < part["p_value"] <= 1 and part["bootstrap"]["low"] <= part["bootstrap"]["high"]
    assert not math.isnan(result["t2i"]["b"])


@pytest.mark.parametrize(("options", "option"), [
    ({"protocol": "pairs"}, "--protocol"),
    ({"ks": ()}, "--ks"),
    ({"ks": (5, 0)}, "--ks"),
    ({"protocol": "labels", "ks": (-1,)}, "--ks"),
    ({"trec_k": 0}, "--trec-k"),
    ({"trec_k": -3}, "--trec-k"),
])
def test_bad_options_are_refused_before_any_work(library, tmp_path, options, option):
    before = _reports(library)
    with pytest.raises(InputError, match=option) as caught:
        evaluate_model(library, "cca", plots=False, trec_run=tmp_path / "trec", **options)
    assert caught.value.fix and option.split()[0] in caught.value.fix
    assert not (tmp_path / "trec").exists() and _reports(library) == before  # nothing written


def test_a_negative_trec_depth_is_refused_by_add_rankings_too(tmp_path):
    from scicmr.workflow.evaluate_rankings import add_rankings, score_rows

    vectors = np.eye(3, dtype=np.float32)
    document = {"protocol": "pair", "model": "m", "i2t": {}, "t2i": {}}
    with pytest.raises(InputError, match="trec_k"):
        add_rankings(document, score_rows(vectors, vectors), ["a", "b", "c"], None, (1,), trec_dir=tmp_path, trec_k=-1)
    assert not list(tmp_path.iterdir())


def _reports(library) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((library / "reports").iterdir()) if p.is_file()}


def test_a_comparison_leaves_the_models_saved_reports_alone(library):
    evaluate_model(library, "cca", protocol="pair")  # cca's saved report, at the default ks
    evaluate_model(library, "cca", protocol="labels")
    before = _reports(library)
    assert "eval-cca-test-pair.json" in before and "eval-cca2-test-pair.json" not in before
    compare_models(library, "cca", "cca2", protocol="pair", ks=(1, 2), n_resamples=50)
    labels = compare_models(library, "cca", "cca2", protocol="labels", n_resamples=50)
    assert labels["metric"] == "ndcg@50"  # ks None: the label protocol's default (5, 20, 50)
    assert _reports(library) == before  # nothing rewritten (per-query values, other ks), nothing added


def test_evaluate_compare_prints_the_test(library, capsys):
    import json

    assert main(["evaluate", str(library), "--model", "cca", "--compare", "cca2", "--protocol", "pair",
                 "--json", "-"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["models"] == ["cca", "cca2"] and set(result["i2t"]) >= {"p_value", "bootstrap"}


def test_evaluate_compare_writes_out_and_refuses_options_it_does_not_use(library, tmp_path, capsys):
    import json

    out = tmp_path / "compare.json"
    assert main(["evaluate", str(library), "--compare", "cca", "--protocol", "pair", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["models"] == ["cca2", "cca"]  # the first: the library's last trained
    capsys.readouterr()
    assert main(["evaluate", str(library), "--compare", "cca2", "--trec-run", str(tmp_path / "t")]) == 2
    assert "--trec-run" in capsys.readouterr().err and not (tmp_path / "t").exists()
