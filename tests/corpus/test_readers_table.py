"""Parquet tables: the same records as the equivalent manifest; bad rows skipped with reasons."""

from __future__ import annotations

import pytest

from scicmr.corpus.readers import detect_source_kind, read_source
from scicmr.errors import InputError
from tests.factories.data import write_image
from tests.factories.sources import ITEMS, comparable, image_bytes, write_manifest, write_parquet

pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")


@pytest.mark.parametrize("as_bytes", [True, False], ids=["image-bytes", "image-path"])
def test_parquet_gives_the_records_of_the_equivalent_manifest(tmp_path, as_bytes):
    manifest = read_source(write_manifest(tmp_path / "m"), tmp_path / "lib-m", progress=False)
    table_path = write_parquet(tmp_path / "t", as_bytes=as_bytes)
    assert detect_source_kind(table_path) == "table"
    table = read_source(table_path, tmp_path / "lib-t", progress=False)
    assert not table.skipped and not manifest.skipped
    assert comparable(table.records) == comparable(manifest.records)
    assert {r.source.file for r in table.records} == {"table.parquet"}
    for a, b in zip(manifest.records, table.records):  # the stored images are the same bytes
        assert (tmp_path / "lib-m" / a.image).read_bytes() == (tmp_path / "lib-t" / b.image).read_bytes()
    assert table.records[0].doi == "10.1000/genes" and table.records[2].extra["instrument"] == "TEM"


def test_bad_rows_are_skipped_with_their_reason_and_the_rest_read(tmp_path):
    bad = [
        {"id": "broken", "Image": b"not an image", "Caption": "x"},
        {"id": "remote", "Image": "https://example.org/a.jpg", "Caption": "x"},
        {"id": "fig-1", "Image": image_bytes(9), "Caption": "a duplicate id"},
        {"id": "nothing", "Image": None, "Caption": None},
        {"id": "badyear", "Image": image_bytes(8), "Caption": "x", "date": "someday"},
    ]
    result = read_source(write_parquet(tmp_path, as_bytes=True, extra_rows=bad), tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == [item["id"] for item in ITEMS]
    reasons = {s.item: s.reason for s in result.skipped}
    assert reasons["broken"].startswith("image cannot be decoded")
    assert "img2dataset --url_list" in reasons["remote"] and "--output_format webdataset" in reasons["remote"]
    assert reasons["fig-1"].startswith("duplicate id")
    assert reasons["nothing"] == "row has neither an image nor text"
    assert "not a year or an ISO date" in reasons["badyear"]


def test_timestamps_nan_and_default_ids(tmp_path):
    write_image(tmp_path / "a.png", "red", 0)
    frame = pd.DataFrame({"img": ["a.png", "a.png"], "text": ["one", "two"],
                          "date": pd.to_datetime(["2020-03-04", None]), "score": [0.5, float("nan")]})
    frame.to_parquet(tmp_path / "t.parquet")
    result = read_source(tmp_path / "t.parquet", tmp_path / "lib", progress=False)
    one, two = result.records
    assert (one.id, one.date, one.extra["score"], one.text) == ("t-1", "2020-03-04", 0.5, "one")
    assert (two.id, two.date, "score" not in two.extra) == ("t-2", None, True)
    assert one.image and two.image  # "img" is an image column name


def test_an_img2dataset_url_list_is_refused_with_the_img2dataset_command(tmp_path):
    pd.DataFrame({"url": ["https://e.org/a.jpg", "https://e.org/b.png"], "caption": ["a", "b"]}).to_parquet(
        tmp_path / "urls.parquet")
    with pytest.raises(InputError) as info:
        read_source(tmp_path / "urls.parquet", tmp_path / "lib", progress=False)
    assert "img2dataset --url_list" in info.value.fix and "urls.parquet" in info.value.fix


def test_a_table_without_useful_columns_or_not_parquet_is_refused(tmp_path):
    pd.DataFrame({"a": [1], "b": [2]}).to_parquet(tmp_path / "x.parquet")
    with pytest.raises(InputError, match="no column is named image"):
        read_source(tmp_path / "x.parquet", tmp_path / "lib", progress=False)
    (tmp_path / "y.parquet").write_bytes(b"PAR1 truncated")
    with pytest.raises(InputError, match="cannot be read as Parquet"):
        read_source(tmp_path / "y.parquet", tmp_path / "lib", progress=False)


def test_a_csv_table_with_an_image_path_column_gives_the_same_records(tmp_path):
    manifest = read_source(write_manifest(tmp_path / "m"), tmp_path / "lib-m", progress=False)
    table = pd.read_parquet(write_parquet(tmp_path / "t", as_bytes=False)).rename(columns={"Image": "Image_Path"})
    for column in ("authors", "labels"):
        table[column] = table[column].map(";".join)
    table.to_csv(tmp_path / "t" / "table.csv", index=False)
    assert detect_source_kind(tmp_path / "t" / "table.csv") == "manifest"  # CSV tables are manifests
    result = read_source(tmp_path / "t" / "table.csv", tmp_path / "lib-c", progress=False)
    assert not result.skipped
    assert comparable(result.records) == comparable(manifest.records)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_an_img2dataset_url_list_manifest_is_refused_too(tmp_path, suffix):
    frame = pd.DataFrame({"url": ["https://e.org/a.jpg", "https://e.org/b.png?s=1"], "caption": ["a", "b"]})
    path = tmp_path / f"urls{suffix}"
    frame.to_csv(path, index=False) if suffix == ".csv" else frame.to_json(path, orient="records", lines=True)
    with pytest.raises(InputError) as info:
        read_source(path, tmp_path / "lib", progress=False)
    assert "img2dataset" in info.value.fix


@pytest.mark.parametrize("image_column", ["image_path", "file_name", "Image_Path"])
def test_image_aliases_and_case_give_the_same_records_in_jsonl_csv_and_parquet(tmp_path, image_column):
    # Each row also links its figure's page as a .jpg address: the local image column makes
    # that a link, not an img2dataset URL list, in every format.
    frame = pd.DataFrame({"ID": ["a", "b"], image_column: ["a.png", "b.png"], "Caption": ["one", "two"],
                          "url": ["https://e.org/a.jpg", "https://e.org/b.jpg"]})
    writers = {".jsonl": lambda path: frame.to_json(path, orient="records", lines=True),
               ".csv": lambda path: frame.to_csv(path, index=False), ".parquet": frame.to_parquet}
    results = {}
    for suffix, write in writers.items():
        folder = tmp_path / suffix.lstrip(".")
        folder.mkdir()
        write_image(folder / "a.png", "red", 0)
        write_image(folder / "b.png", "blue", 1)
        write(folder / f"t{suffix}")
        results[suffix] = read_source(folder / f"t{suffix}", tmp_path / f"lib-{suffix}", progress=False)
    for result in results.values():
        assert not result.skipped
        assert [(r.id, r.kind, r.text, r.url) for r in result.records] == [
            ("a", "pair", "one", "https://e.org/a.jpg"), ("b", "pair", "two", "https://e.org/b.jpg")]
    assert comparable(results[".jsonl"].records) == comparable(results[".csv"].records) == comparable(
        results[".parquet"].records)
