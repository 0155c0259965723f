"""Hybrid retrieval end to end: train fits the fusion on validation, evaluate and search rank
with it, the figure side never sees a caption, and CLI, Python API and service agree."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from factories.papers import make_papers_library


@pytest.fixture(scope="module")
def papers_lib(tmp_path_factory):
    from scicmr.workflow import encode_library, train_model

    lib = make_papers_library(tmp_path_factory.mktemp("hybrid") / "lib")
    encode_library(lib, image="thumbnail", text="tfidf")
    train_model(lib, "cca")
    return lib


def test_train_fits_the_fusion_on_validation(papers_lib):
    config = json.loads((papers_lib.model_dir("cca") / "hybrid.json").read_text())
    assert set(config["tasks"]) == {"t2i", "i2t", "search"}
    for task in ("t2i", "i2t"):
        entry = config["tasks"][task]
        assert entry["kind"] in ("linear", "rrf")
        assert abs(sum(entry["weights"].values()) - 1) < 1e-6
        assert entry["weights"]["lexical"] > 0  # the printed marker words are the evidence here
        assert entry["validation"]["queries"] == len(papers_lib.records("validation"))
    assert config["dense_encoder"] == {"features": papers_lib.meta["encoders"]["text"]["key"]}


def test_evaluate_reports_the_hybrid_above_the_model_alone(papers_lib):
    from scicmr.workflow import evaluate_model

    fused = evaluate_model(papers_lib, plots=False)
    alone = evaluate_model(papers_lib, plots=False, channels=("cross_modal",))
    assert fused["protocol"] == "pair" and fused["ranker"]["kind"] == "hybrid"
    assert alone["ranker"]["kind"] == "model"
    for task in ("t2i", "i2t"):
        assert fused[task]["mrr"] >= 0.8, fused[task]
        assert fused[task]["mrr"] > alone[task]["mrr"] + 0.2
        assert fused["ranker"]["channels"]["cross_modal"][task] == pytest.approx(alone[task]["mrr"], abs=1e-6)


def test_blanking_captions_and_citing_sentences_leaves_the_figure_side_unchanged(papers_lib):
    from scicmr.workflow.channels import TextEmbedder, dense_encoder_spec, pair_channels

    records = papers_lib.records("test")
    blanked = [dataclasses.replace(r, text="", context="", title="") for r in records]
    rng = np.random.default_rng(0)
    shared = {"image": rng.normal(size=(len(records), 8)), "text": rng.normal(size=(len(records), 8))}
    embedder = TextEmbedder(papers_lib, dense_encoder_spec(papers_lib, papers_lib.meta["encoders"]["text"]["key"]))
    bank = papers_lib.records("train")
    plain = pair_channels(records, shared, embedder, bank=bank)
    probe = pair_channels(records, shared, embedder, figures=blanked, bank=bank)
    for task in ("t2i", "i2t"):
        assert set(getattr(plain, task)) == {"lexical", "lexical_qb", "dense", "dense_qb", "cross_modal"}
        for name, matrix in getattr(plain, task).items():
            np.testing.assert_array_equal(matrix, getattr(probe, task)[name])


def test_search_explains_and_finds_the_cited_figure(papers_lib):
    from scicmr.workflow import Searcher

    searcher = Searcher(papers_lib)
    target = papers_lib.get("paper4-fig2")
    marker = target.extra["figure_text"].split()[0]
    hits = searcher.search_text(f"the {marker} signal", k=5)
    assert hits[0].id == target.id
    channels = hits[0].details["channels"]
    assert set(channels) == {"lexical", "context", "paper", "dense", "cross_modal"}
    fused = sum(c["contribution"] for c in channels.values())
    assert hits[0].score == pytest.approx(fused, abs=1e-4)
    alone = searcher.search_text(f"the {marker} signal", k=5, channels=["cross_modal"])
    assert all(not h.details for h in alone)
    np.testing.assert_allclose([h.score for h in alone],
                               [h.score for h in searcher.lookup(searcher.embed_text([f"the {marker} signal"]),
                                                                 "image", 5)[0]], atol=1e-6)


def test_a_damaged_fusion_file_falls_back_to_the_model(papers_lib, tmp_path):
    import shutil

    from scicmr.workflow import Searcher, evaluate_model

    copy = tmp_path / "copy"
    shutil.copytree(papers_lib.root, copy)
    (copy / "models" / "cca" / "hybrid.json").write_text("{not json")
    hits = Searcher(copy).search_text("galaxy", k=3)
    assert len(hits) == 3 and not hits[0].details
    assert evaluate_model(copy, plots=False)["ranker"]["kind"] == "model"


def test_cli_python_and_service_rank_through_the_same_searcher(papers_lib, capsys):
    from factories.service import client

    from scicmr.cli import main
    from scicmr.workflow import Searcher

    query = "gene expression betafront"
    page = Searcher(papers_lib).search("text", query, "image", k=8)
    want = [(h.id, round(h.score, 6)) for h in page.hits]
    assert page.hits[0].details["channels"]
    assert main(["search", str(papers_lib.root), query, "-k", "8", "--json"]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert [(h["id"], h["score"]) for h in cli] == want
    assert set(cli[0]["details"]["channels"]) == set(page.hits[0].details["channels"])
    with client(papers_lib.root) as http:
        body = http.get("/api/search", params={"q": query, "k": 8}).json()
    assert [(h["id"], h["score"]) for h in body["hits"]] == want
    assert body["hits"][0]["details"]["channels"] == page.hits[0].details["channels"]
    assert main(["search", str(papers_lib.root), query, "--explain"]) == 0
    explained = capsys.readouterr().out
    assert "contribution to the fused score" in explained and f"#1 {page.hits[0].id}: lexical" in explained


def test_held_out_citing_sentences_do_not_count_in_context_or_paper(papers_lib):
    from scicmr.workflow.hybrid import DocumentChannels, citing_queries

    records = papers_lib.records("validation")
    queries, targets = citing_queries(records)
    assert len(queries) == len(records)  # one citing sentence per figure in this corpus
    held = DocumentChannels(records, None).scores(queries, targets)
    rows = np.arange(len(queries))
    assert not held["context"][rows, targets].any()
    free = DocumentChannels(records, None).scores(queries)
    assert (free["context"][rows, targets] > 0).all()  # without holding out, the query finds itself
    # paper = the best context score in the figure's paper, the same for every figure of it
    groups = [r.group for r in records]
    for q in range(3):
        for j, group in enumerate(groups):
            members = [i for i, g in enumerate(groups) if g == group]
            assert held["paper"][q, j] == pytest.approx(max(held["context"][q, i] for i in members))


def test_figures_without_any_words_still_rank_by_the_cross_modal_channel(papers_lib):
    from scicmr.evaluation.metrics import mrr
    from scicmr.workflow.channels import pair_channels
    from scicmr.workflow.hybrid import fusion_for, hybrid_config
    from scicmr.workflow.index import shared_vectors

    records = papers_lib.records("test")
    wordless = [dataclasses.replace(r, extra={k: v for k, v in r.extra.items() if k != "figure_text"})
                for r in records]
    shared = shared_vectors(papers_lib, "cca", [r.id for r in records])
    channels = pair_channels(records, shared, None, figures=wordless)
    assert set(channels.t2i) == {"cross_modal"}  # nothing printed: the text channels are absent
    fused = fusion_for(hybrid_config(papers_lib, "cca"), "t2i").combine(channels.t2i)
    chance = float(np.mean(1.0 / np.arange(1, len(records) + 1)))
    score = mrr(fused, np.arange(len(records)))
    assert score > 1.5 * chance  # the image colours still tell the field


def test_evaluate_with_some_wordless_figures_reports_finite_scores(papers_lib, tmp_path):
    import shutil

    from scicmr.corpus.library import Library
    from scicmr.workflow import evaluate_model

    copy = Library.open(shutil.copytree(papers_lib.root, tmp_path / "copy"))
    test = copy.records("test")
    for record in test[::3]:
        record.extra.pop("figure_text")
    copy.update_records(test[::3])
    document = evaluate_model(copy, plots=False)
    assert document["ranker"]["kind"] == "hybrid"
    for task in ("t2i", "i2t"):
        assert 0 < document[task]["mrr"] <= 1
        assert all(np.isfinite(v[task]) for v in document["ranker"]["channels"].values())


def test_an_image_query_ranks_captions_by_its_printed_words_and_the_model(papers_lib, monkeypatch):
    import scicmr.workflow.hybrid as hybrid
    from scicmr.workflow import Searcher

    target = papers_lib.get("paper9-fig3")
    # OCR of the query image is stubbed: the test is about the ranking, not Tesseract.
    monkeypatch.setattr(hybrid, "printed_words", lambda image: target.extra["figure_text"])
    searcher = Searcher(papers_lib)
    hits = searcher.search_image(papers_lib.image_path(target), k=5)
    assert hits[0].id == target.id
    assert {"lexical", "lexical_qb", "cross_modal"} <= set(hits[0].details["channels"])
    assert hits[0].score == pytest.approx(sum(c["contribution"] for c in hits[0].details["channels"].values()),
                                          abs=1e-4)
    # No readable words: the model alone ranks, and the query still gets a full page.
    monkeypatch.setattr(hybrid, "printed_words", lambda image: "")
    wordless = searcher.search_image(papers_lib.image_path(target), k=5)
    assert len(wordless) == 5 and set(wordless[0].details["channels"]) == {"cross_modal"}
    model = searcher.search_image(papers_lib.image_path(target), k=5, channels=["cross_modal"])
    assert [h.id for h in wordless] == [h.id for h in model]
