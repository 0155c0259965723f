import json

import numpy as np
import pytest

from scicmr.corpus.library import Library, config_key
from scicmr.corpus.record import Record, Source
from scicmr.errors import InputError, LibraryError


def _records(n, groups=None):
    return [
        Record(id=f"r{i}", title=f"t{i}", text=f"caption {i}", labels=[f"L{i % 3}"],
               authors=["A. Author"], date="2020", group=(groups[i] if groups else None),
               source=Source(file="p.pdf", page=i, bbox=(0.0, 1.0, 2.0, 3.0)))
        for i in range(n)
    ]


def test_create_open_roundtrip(tmp_path):
    lib = Library.create(tmp_path / "lib", name="demo")
    lib.add_records(_records(5))
    again = Library.open(tmp_path / "lib")
    assert len(again) == 5
    assert again.ids() == [f"r{i}" for i in range(5)]
    record = again.get("r3")
    assert record.source.bbox == (0.0, 1.0, 2.0, 3.0) and record.source.page == 3
    assert record.year == 2020 and again.name == "demo"


def test_open_missing_library_names_fix(tmp_path):
    with pytest.raises(LibraryError, match="not a scicmr library") as info:
        Library.open(tmp_path / "nothing")
    assert "scicmr ingest" in str(info.value)


def test_create_refuses_existing_without_overwrite(tmp_path):
    Library.create(tmp_path / "lib")
    with pytest.raises(LibraryError, match="already holds"):
        Library.create(tmp_path / "lib")
    Library.create(tmp_path / "lib", overwrite=True)


def test_duplicate_ids_write_nothing(tmp_path):
    lib = Library.create(tmp_path / "lib")
    lib.add_records(_records(3))
    with pytest.raises(InputError, match="duplicate"):
        lib.add_records(_records(4))  # r0..r2 clash; r3 must not land either
    assert len(lib) == 3


def _cached(lib, name, vectors):
    key = config_key(name, {})
    lib.save_features(key, lib.ids(), vectors, {})
    return key


def test_a_deleted_id_added_again_does_not_keep_the_old_records_vectors(tmp_path):
    from scicmr.workflow.maintenance import compact_library

    lib = Library.create(tmp_path / "lib")
    lib.add_records(_records(3))
    key = _cached(lib, "text-test", np.arange(6, dtype=np.float32).reshape(3, 2))
    lib.delete_records(["r1"])
    new = Record(id="r1", title="another figure", text="a different caption")
    lib.add_records([new])
    assert lib.has_features(key) and not lib.has_features(key, lib.ids())  # encode computes r1's again
    with pytest.raises(LibraryError, match="lack"):
        lib.load_features(key, ["r1"])
    lib.append_features(key, ["r1"], np.full((1, 2), 9, dtype=np.float32))
    np.testing.assert_array_equal(lib.load_features(key, ["r1"]), [[9, 9]])
    compact_library(lib)
    assert lib.feature_table(key).ids() == ["r0", "r2", "r1"] and lib.deleted_since_compaction() == []
    np.testing.assert_array_equal(lib.load_features(key), [[0, 1], [4, 5], [9, 9]])


def test_a_deleted_id_whose_new_features_are_appended_before_it_is_added_keeps_only_them(tmp_path):
    # The service's order: a new record's rows join the caches it searches, then the record.
    lib = Library.create(tmp_path / "lib")
    lib.add_records(_records(3))
    image = _cached(lib, "image-test", np.zeros((3, 2), dtype=np.float32))
    text = _cached(lib, "text-test", np.zeros((3, 2), dtype=np.float32))
    other = _cached(lib, "text-other", np.zeros((3, 2), dtype=np.float32))
    lib.delete_records(["r1"])
    lib.append_features(image, ["r1"], np.ones((1, 2), dtype=np.float32))
    lib.append_features(text, ["r1"], np.ones((1, 2), dtype=np.float32))
    lib.add_records([Record(id="r1", title="another figure", text="a different caption")])
    for key in (image, text):
        assert lib.feature_table(key).ids().count("r1") == 1
        np.testing.assert_array_equal(lib.load_features(key, ["r1"]), [[1, 1]])
    assert not lib.has_features(other, lib.ids()) and lib.deleted_since_compaction() == []


def test_splits_keep_groups_whole(tmp_path):
    groups = [f"paper{i // 4}" for i in range(80)]
    lib = Library.create(tmp_path / "lib")
    lib.add_records(_records(80, groups))
    counts = lib.assign_splits((0.6, 0.2, 0.2), seed=1)
    assert sum(counts.values()) == 80
    split_of_group = {}
    for record in lib.records():
        split_of_group.setdefault(record.group, set()).add(record.extra["split"])
    assert all(len(s) == 1 for s in split_of_group.values())
    assert 0.45 < counts["train"] / 80 < 0.75


def test_validation_carved_from_train_keeps_test(tmp_path):
    records = _records(50)
    for i, record in enumerate(records):
        record.extra["split"] = "test" if i >= 40 else "train"
    lib = Library.create(tmp_path / "lib")
    lib.add_records(records)
    counts = lib.assign_splits(validation_from_train=0.25, seed=0)
    assert counts["test"] == 10
    assert lib.ids("test") == [f"r{i}" for i in range(40, 50)]
    assert counts["validation"] == 10 and counts["train"] == 30


def test_feature_cache_orders_rows_by_ids(tmp_path):
    lib = Library.create(tmp_path / "lib")
    lib.add_records(_records(4))
    vectors = np.arange(8, dtype=np.float32).reshape(4, 2)
    key = config_key("text-test", {"a": 1})
    lib.save_features(key, lib.ids(), vectors, {"a": 1})
    assert lib.has_features(key) and key in lib.feature_keys()
    np.testing.assert_array_equal(lib.load_features(key, ["r2", "r0"]), vectors[[2, 0]])
    with pytest.raises(LibraryError, match="lack"):
        lib.load_features(key, ["zz"])
    assert config_key("x", {"a": 1, "b": 2}) == config_key("x", {"b": 2, "a": 1})


def test_label_matrix(tmp_path):
    lib = Library.create(tmp_path / "lib")
    lib.add_records(_records(4))
    assert lib.label_vocabulary() == ["L0", "L1", "L2"]
    matrix = lib.label_matrix(lib.records())
    np.testing.assert_array_equal(matrix.argmax(1), [0, 1, 2, 0])


def test_meta_update_is_merged_and_valid_json(tmp_path):
    lib = Library.create(tmp_path / "lib")
    lib.update_meta(encoders={"image": {"key": "a"}})
    lib.update_meta(encoders={"text": {"key": "b"}})
    meta = json.loads((tmp_path / "lib" / "library.json").read_text())
    assert meta["encoders"] == {"image": {"key": "a"}, "text": {"key": "b"}}


def test_overwrite_drops_derived_data(tmp_path):
    lib = Library.create(tmp_path / "lib")
    lib.add_records(_records(2))
    lib.save_features("text-x", lib.ids(), np.zeros((2, 3), np.float32), {})
    (lib.model_dir("cca")).mkdir(parents=True)
    lib = Library.create(tmp_path / "lib", overwrite=True)
    assert len(lib) == 0 and lib.feature_keys() == [] and not (tmp_path / "lib" / "models").exists()


def test_get_many_reads_by_id_in_chunks_and_matches_a_full_scan(tmp_path):
    lib = Library.create(tmp_path / "lib")
    lib.add_records([Record(id=f"r{i}", kind="text", text=f"text {i}") for i in range(1203)])
    wanted = [f"r{i}" for i in (1202, 5, 700, 5, 0)]  # order kept, repeats allowed, > one chunk of ids
    by_scan = {r.id: r for r in lib.records()}
    assert [r.to_dict() for r in lib.get_many(wanted)] == [by_scan[i].to_dict() for i in wanted]
    assert len(lib.get_many([f"r{i}" for i in range(1203)])) == 1203
    assert [r.id for r in lib.get_many(["r3", "gone", "r4"], skip_missing=True)] == ["r3", "r4"]
    with pytest.raises(InputError, match="gone"):
        lib.get_many(["r3", "gone"])
    with pytest.raises(InputError, match="no record with id 'gone'"):
        lib.get("gone")
