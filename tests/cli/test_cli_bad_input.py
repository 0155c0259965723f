"""Every bad input gets a clear message naming the problem and the fix; batch work goes on."""

import json

import pytest

from factories.data import make_manifest, write_image
from scicmr.cli import main


@pytest.fixture()
def messy_manifest(tmp_path):
    src = tmp_path / "src"
    (src / "images").mkdir(parents=True)
    (src / "images" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    write_image(src / "images" / "blank-text.png", "red", seed=1)
    bad_rows = [
        json.dumps({"id": "corrupt", "image": "images/corrupt.png", "caption": "a caption", "labels": ["x"]}),
        json.dumps({"id": "empty-text", "image": "images/blank-text.png", "caption": "  ", "labels": ["x"]}),
        json.dumps({"id": "missing", "image": "images/nowhere.png", "caption": "lost figure", "labels": ["x"]}),
        '{"id": "broken", "image": ',
    ]
    return make_manifest(src, per_field=4, extra_rows=bad_rows)


def _run(argv, capsys):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_ingest_skips_each_bad_row_with_reason(messy_manifest, tmp_path, capsys):
    code, output = _run(["ingest", messy_manifest, "--out", tmp_path / "lib", "--json"], capsys)
    assert code == 0
    report = json.loads(output[output.index("{"):output.rindex("}") + 1])  # stderr (split warnings) follows
    assert report["added"] == 12
    reasons = {item["item"]: item["reason"] for item in report["skipped"]}
    assert set(reasons) == {"corrupt", "empty-text", "missing", "line 16"}
    assert "decode" in reasons["corrupt"]
    assert "empty text" in reasons["empty-text"]
    assert "not found" in reasons["missing"]
    assert "malformed" in reasons["line 16"].lower()


def test_unknown_method(tmp_path, capsys):
    manifest = make_manifest(tmp_path / "src", per_field=3)
    assert _run(["ingest", manifest, "--out", tmp_path / "lib"], capsys)[0] == 0
    code, output = _run(["train", tmp_path / "lib", "--method", "nosuch"], capsys)
    assert code == 2
    assert "unknown method 'nosuch'" in output and "choose one of" in output and "cca" in output


def test_search_without_trained_model(tmp_path, capsys):
    manifest = make_manifest(tmp_path / "src", per_field=3)
    _run(["ingest", manifest, "--out", tmp_path / "lib"], capsys)
    code, output = _run(["search", tmp_path / "lib", "galaxy"], capsys)
    assert code == 2
    assert "no trained model" in output and "scicmr train" in output


def test_not_a_library(tmp_path, capsys):
    code, output = _run(["search", tmp_path / "nothing", "galaxy"], capsys)
    assert code == 2 and "not a scicmr library" in output and "scicmr ingest" in output


def test_unsupported_source(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("hello")
    code, output = _run(["ingest", tmp_path / "notes.txt", "--out", tmp_path / "lib"], capsys)
    assert code == 2 and "fix:" in output


@pytest.fixture()
def trained(tmp_path, capsys):
    manifest = make_manifest(tmp_path / "src", per_field=6)
    _run(["ingest", manifest, "--out", tmp_path / "lib"], capsys)
    _run(["encode", tmp_path / "lib", "--image-encoder", "thumbnail", "--text-encoder", "tfidf"], capsys)
    assert _run(["train", tmp_path / "lib", "--method", "cca"], capsys)[0] == 0
    return tmp_path / "lib"


def test_search_bad_queries(trained, tmp_path, capsys):
    code, output = _run(["search", trained, "   "], capsys)
    assert code == 2 and "empty text query" in output
    code, output = _run(["search", trained, "galaxy", "-k", "0"], capsys)
    assert code == 2 and "k must be between" in output
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    code, output = _run(["search", trained, "--image", bad], capsys)
    assert code == 2 and "bad.jpg" in output
    code, output = _run(["search", trained], capsys)
    assert code == 2 and "exactly one query" in output


def test_search_json_output(trained, capsys):
    code, output = _run(["search", trained, "galaxy redshift spectrum", "-k", "4", "--json"], capsys)
    assert code == 0
    hits = json.loads(output[output.index("["):])
    assert len(hits) == 4 and {"rank", "id", "score", "title", "text", "image", "labels"} <= set(hits[0])


def test_bad_param_syntax(trained, capsys):
    code, output = _run(["train", trained, "--method", "cca", "--param", "reg"], capsys)
    assert code == 2 and "NAME=VALUE" in output
    code, output = _run(["train", trained, "--method", "cca", "--param", "bogus=1"], capsys)
    assert code == 2 and "bogus" in output


def test_index_params_that_clash_with_the_kind_or_width_are_refused(trained, capsys):
    for param in ("kind=hnsw", "dim=8"):
        code, output = _run(["index", trained, "--kind", "hnsw", "--param", param], capsys)
        assert code == 2 and f"--param {param.split('=')[0]}" in output and "--kind" in output
    code, output = _run(["index", trained, "--kind", "hnsw", "--param", "M=8", "--json"], capsys)
    assert code == 0 and json.loads(output[output.index("{"):])["model"] == "cca"  # resolved, not null
