"""Hugging Face datasets saved with save_to_disk (``hf:DIR``): the same records as the manifest.

The ``datasets`` package is not needed to read them; the folders here are built as
``save_to_disk`` lays them out (tests/factories/sources.py). When ``datasets`` is installed, one
test also reads a folder it saved itself."""

from __future__ import annotations

import pytest

from scicmr.corpus.readers import detect_source_kind, read_source
from scicmr.errors import InputError
from tests.factories.sources import ITEMS, comparable, write_manifest, write_saved_dataset

pytest.importorskip("pyarrow")


def _without_class_label(records):
    for record in records:
        record.extra.pop("first_label", None)
    return comparable(records)


def test_a_saved_dataset_gives_the_records_of_the_equivalent_manifest(tmp_path):
    manifest = read_source(write_manifest(tmp_path / "m"), tmp_path / "lib-m", progress=False)
    folder = write_saved_dataset(tmp_path / "ds")
    assert detect_source_kind(f"hf:{folder}") == "hf" and detect_source_kind(folder) == "hf"
    result = read_source(f"hf:{folder}", tmp_path / "lib-h", progress=False)
    assert not result.skipped
    assert [r.extra["first_label"] for r in result.records] == ["biology", "climate", "materials"]  # ClassLabel names
    assert _without_class_label(result.records) == comparable(manifest.records)
    for a, b in zip(manifest.records, result.records):
        assert (tmp_path / "lib-m" / a.image).read_bytes() == (tmp_path / "lib-h" / b.image).read_bytes()


def test_a_dataset_dict_gives_its_splits(tmp_path):
    folder = write_saved_dataset(tmp_path / "dd", splits={"train": [0, 1], "test": [2]})
    result = read_source(f"hf:{folder}", tmp_path / "lib", progress=False)
    assert [(r.id, r.extra["split"]) for r in result.records] == [("fig-1", "train"), ("fig-2", "train"),
                                                                  ("fig-3", "test")]
    assert result.notes["standard_split"] is True


def test_hf_prefix_on_a_folder_that_is_not_a_saved_dataset_names_save_to_disk(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(InputError) as info:
        detect_source_kind(f"hf:{tmp_path / 'plain'}")
    assert "save_to_disk" in info.value.fix


def test_a_folder_saved_by_the_datasets_package(tmp_path):
    datasets = pytest.importorskip("datasets")
    from tests.factories.sources import image_bytes

    ds = datasets.Dataset.from_dict({
        "image": [{"bytes": image_bytes(i), "path": None} for i in range(len(ITEMS))],
        "caption": [item["caption"] for item in ITEMS], "id": [item["id"] for item in ITEMS],
    }).cast_column("image", datasets.Image())
    ds.save_to_disk(str(tmp_path / "saved"))
    result = read_source(f"hf:{tmp_path / 'saved'}", tmp_path / "lib", progress=False)
    assert [r.id for r in result.records] == [item["id"] for item in ITEMS] and all(r.image for r in result.records)


def test_an_empty_split_is_read_as_no_rows(tmp_path):
    folder = write_saved_dataset(tmp_path / "dd", splits={"train": [0, 1], "validation": [], "test": [2]})
    result = read_source(f"hf:{folder}", tmp_path / "lib", progress=False)
    assert not result.skipped
    assert [(r.id, r.extra["split"]) for r in result.records] == [("fig-1", "train"), ("fig-2", "train"),
                                                                  ("fig-3", "test")]


def test_every_split_is_checked_before_any_row_is_read(tmp_path):
    folder = write_saved_dataset(tmp_path / "dd", splits={"train": [0, 1], "test": [2]})
    (folder / "test" / "data-00000-of-00001.arrow").unlink()
    with pytest.raises(InputError, match="missing") as info:
        read_source(f"hf:{folder}", tmp_path / "lib", progress=False)
    assert "copy the whole saved dataset folder" in info.value.fix
    assert not list(tmp_path.glob("lib/images/*"))  # no image of the train split was stored


def test_a_folder_with_some_other_state_json_is_not_taken_for_a_dataset(tmp_path):
    folder = tmp_path / "app"
    folder.mkdir()
    (folder / "state.json").write_text('{"window": [800, 600]}')  # an app's state, say
    (folder / "paper.pdf").write_bytes(b"%PDF-1.4\n")
    assert detect_source_kind(folder) == "pdf"
    write_saved_dataset(tmp_path / "ds")
    assert detect_source_kind(tmp_path / "ds") == "hf"  # with the prefix or without
