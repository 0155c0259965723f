"""`scicmr export --embeddings`: the clip-retrieval layout reloads with numpy/pandas into the
vectors a search ranks, with metadata in the same order; records export as Parquet too."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scicmr.cli import main
from scicmr.cli import contents
from scicmr.corpus.library import Library
from scicmr.errors import InputError
from scicmr.workflow import Searcher
from scicmr.workflow.export import FORMATS, export_records
from scicmr.workflow.export_embeddings import DEFAULT_SHARD_SIZE, export_embeddings
from scicmr.workflow.index import shared_vectors
from scicmr.workflow.library_data import paired_records

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")


@pytest.fixture()
def library(trained_library_copy):
    return trained_library_copy  # the shared small trained library (tests/conftest.py), copied


def _reload(out, name):
    files = sorted((out / name).glob(f"{name}_*.npy"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    return np.concatenate([np.load(f) for f in files]), len(files)


def _metadata(out):
    files = sorted((out / "metadata").glob("metadata_*.parquet"), key=lambda p: int(p.stem.rsplit("_", 1)[1]))
    return pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)


def test_export_reloads_as_the_searchers_vectors_in_order(library, tmp_path):
    out = tmp_path / "emb"
    assert main(["export", str(library), "--embeddings", "--model", "cca", "--out", str(out),
                 "--shard-size", "7"]) == 0
    image, shards = _reload(out, "img_emb")
    text, _ = _reload(out, "text_emb")
    snapshot = Searcher(library).snapshot
    n = len(snapshot.ids)
    assert shards == -(-n // 7) and image.dtype == np.float32 and image.shape[0] == n
    np.testing.assert_allclose(image, np.asarray(snapshot.vectors["image"][np.arange(n)]), atol=1e-6)
    np.testing.assert_allclose(text, np.asarray(snapshot.vectors["text"][np.arange(n)]), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(image, axis=1), 1.0, atol=1e-4)
    meta = _metadata(out)
    assert list(meta["id"]) == list(snapshot.ids)
    lib = Library.open(library)
    first = lib.get_many([meta["id"][0]])[0]
    assert meta["caption"][0] == first.text and meta["title"][0] == first.title
    assert list(meta["labels"][0]) == first.labels and meta["image_path"][0] == str(lib.image_path(first))
    assert {"year", "authors", "doi", "url", "split"} <= set(meta.columns)


def test_a_stale_serving_table_is_not_used_and_not_written(library, tmp_path):
    lib = Library.open(library)
    victim = lib.records()[0].id
    lib.delete_records([victim])  # the serving table is now stale
    done = export_embeddings(library, tmp_path / "emb", model="cca")
    image, _ = _reload(tmp_path / "emb", "img_emb")
    ids = [r.id for r in paired_records(lib, None)]
    expected = shared_vectors(lib, "cca", ids)["image"]
    expected = expected / np.linalg.norm(expected, axis=1, keepdims=True)
    assert done["rows"] == len(ids) and victim not in list(_metadata(tmp_path / "emb")["id"])
    np.testing.assert_allclose(image, expected, atol=1e-5)


def test_a_smaller_export_into_the_same_folder_drops_the_old_shards(library, tmp_path):
    out = tmp_path / "emb"
    export_embeddings(library, out, shard_size=3)
    export_embeddings(library, out, shard_size=10_000)
    assert sorted(p.name for p in (out / "img_emb").iterdir()) == ["img_emb_0.npy"]
    assert sorted(p.name for p in (out / "metadata").iterdir()) == ["metadata_0.parquet"]


def test_bad_shard_size_and_a_file_as_folder_are_refused_before_work(library, tmp_path):
    with pytest.raises(InputError, match="shard size"):
        export_embeddings(library, tmp_path / "emb", shard_size=0)
    (tmp_path / "file").write_text("x")
    with pytest.raises(InputError, match="not a folder"):
        export_embeddings(library, tmp_path / "file")


def test_records_export_as_parquet_the_same_rows_as_jsonl(library, tmp_path):
    assert main(["export", str(library), "--format", "parquet", "--out", str(tmp_path / "r.parquet")]) == 0
    assert main(["export", str(library), "--out", str(tmp_path / "r.jsonl")]) == 0  # jsonl stays the default
    table = pd.read_parquet(tmp_path / "r.parquet")
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert list(table["id"]) == [r["id"] for r in rows] and len(rows) == len(Library.open(library))
    assert list(table["text"]) == [r["text"] for r in rows]
    assert list(table.columns) == list(rows[0])
    with pytest.raises(InputError, match="standard output"):
        export_records(library, "-", "parquet")
    with pytest.raises(InputError, match="unknown export format"):
        export_records(library, tmp_path / "x", "csv")


def test_the_cli_repeats_the_workflow_defaults():
    assert contents.FORMATS == FORMATS and contents.DEFAULT_SHARD_SIZE == DEFAULT_SHARD_SIZE


def test_options_of_the_other_export_kind_are_refused(library, tmp_path, capsys):
    assert main(["export", str(library), "--model", "cca", "--out", str(tmp_path / "r.jsonl")]) != 0
    assert "--embeddings" in capsys.readouterr().err
    assert main(["export", str(library), "--embeddings", "--format", "parquet", "--out", str(tmp_path / "e")]) != 0
    assert "drop --format" in capsys.readouterr().err
    # Given explicitly, even at their default values, they are still refused for the other kind.
    assert main(["export", str(library), "--shard-size", str(DEFAULT_SHARD_SIZE), "--out", str(tmp_path / "r.jsonl")]) != 0
    assert "--embeddings" in capsys.readouterr().err
    assert main(["export", str(library), "--embeddings", "--format", "jsonl", "--out", str(tmp_path / "e")]) != 0
    assert "drop --format" in capsys.readouterr().err
    assert not (tmp_path / "r.jsonl").exists() and not (tmp_path / "e").exists()


def test_parquet_in_embeddings_out_round_trip(tmp_path):
    """A Parquet table → a library → a model → its embeddings exported and reloaded with
    numpy/pandas: the vectors the library searches with, rows in the table's pair order."""
    from factories.data import make_manifest
    from scicmr.workflow import encode_library, ingest, train_model

    manifest = make_manifest(tmp_path / "src", per_field=6)
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    table = tmp_path / "src" / "pairs.parquet"
    pd.DataFrame(rows).to_parquet(table)
    lib = ingest(table, tmp_path / "lib", split=(0.6, 0.2, 0.2)).library
    assert [r.id for r in Library.open(lib).records()] == [r["id"] for r in rows]
    encode_library(lib, image="thumbnail", text="tfidf")
    train_model(lib, "cca", fusion=False)
    out = tmp_path / "emb"
    assert main(["export", str(lib), "--embeddings", "--out", str(out)]) == 0
    image, _ = _reload(out, "img_emb")
    text, _ = _reload(out, "text_emb")
    ids = [r.id for r in paired_records(Library.open(lib), None)]
    expected = shared_vectors(Library.open(lib), "cca", ids)
    norm = lambda v: v / np.linalg.norm(v, axis=1, keepdims=True)  # noqa: E731
    np.testing.assert_allclose(image, norm(expected["image"]), atol=1e-5)
    np.testing.assert_allclose(text, norm(expected["text"]), atol=1e-5)
    assert list(_metadata(out)["id"]) == ids == [r["id"] for r in rows]
