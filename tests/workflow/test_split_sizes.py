"""Tiny splits do not pass silently: ingest warns when validation or test holds fewer than 20
pairs, evaluate warns below 20 and refuses below 5 (naming the fix), training still works."""

import logging

import pytest

from factories.data import make_manifest
from scicmr.cli import main
from scicmr.errors import InputError
from scicmr.workflow import encode_library, evaluate_model, ingest, train_model
import scicmr.workflow.evaluate as evaluate_module
from scicmr.workflow.library_data import pairs_phrase, small_split_warnings


def test_small_split_warnings_name_the_split_and_the_fix():
    assert small_split_warnings({"train": 500, "validation": 20, "test": 40}) == []
    messages = small_split_warnings({"train": 22, "test": 1})
    assert [m.split(" split")[0] for m in messages] == ["the validation", "the test"]
    assert "only 0 pairs" in messages[0] and "only 1 pair (" in messages[1] and "--split 0.6,0.2,0.2" in messages[1]


@pytest.fixture(scope="module")
def tiny_library(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    return make_manifest(root / "src", per_field=8), root  # 24 pairs


def test_a_one_pair_test_split_warns_trains_and_refuses_to_evaluate(tiny_library, caplog, capsys):
    manifest, root = tiny_library
    library = root / "lib-tiny"
    with caplog.at_level(logging.WARNING, logger="scicmr"):
        report = ingest(manifest, library, split=(0.92, 0.04, 0.04), seed=0)
    assert report.splits.get("test", 0) < 5
    assert any("test split holds only" in r.getMessage() for r in caplog.records)
    encode_library(library, image="thumbnail", text="tfidf")
    assert train_model(library, "cca").train_pairs > 0  # training still works
    with pytest.raises(InputError, match="too few to evaluate") as caught:
        evaluate_model(library, "cca", plots=False)
    assert "--split" in caught.value.fix
    assert f"holds only {pairs_phrase(report.splits.get('test', 0))}: too few" in caught.value.problem  # not 'pair(s)'
    code = main(["evaluate", str(library)])
    err = capsys.readouterr().err
    assert code == 2 and "too few to evaluate" in err and "fix:" in err


def test_a_small_test_split_evaluates_with_a_warning(tiny_library, capsys, monkeypatch):
    manifest, root = tiny_library
    library = root / "lib-small"
    assert main(["ingest", str(manifest), "--out", str(library), "--split", "0.5,0.25,0.25"]) == 0
    assert "test split holds only" in capsys.readouterr().err  # ingest warns on stderr
    assert main(["encode", str(library), "--image-encoder", "thumbnail", "--text-encoder", "tfidf"]) == 0
    assert main(["train", str(library)]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(library)]) == 0
    captured = capsys.readouterr()
    assert "fewer than 20" in captured.err and "map" in captured.out
    monkeypatch.setattr(evaluate_module, "_WARNED", set())  # else once-per-process hides it, --quiet or not
    assert main(["-q", "evaluate", str(library)]) == 0  # --quiet hides the warning
    assert "fewer than 20" not in capsys.readouterr().err
