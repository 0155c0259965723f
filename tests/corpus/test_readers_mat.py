"""Readers for .mat feature benchmarks: Wikipedia SVCL raw_features.mat and DSCMR-style files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.io import savemat

from scicmr.corpus.readers import detect_source_kind, read_source
from scicmr.corpus.readers.matbench import WIKIPEDIA_CATEGORIES, read_matbench
from scicmr.errors import InputError


def block(result, modality: str, name: str):
    matches = [b for b in result.features if (b.modality, b.name) == (modality, name)]
    assert len(matches) == 1, [(b.modality, b.name) for b in result.features]
    return matches[0]


# ---------------------------------------------------------------------------- (a) SVCL
def write_svcl(folder: Path, n_train: int = 6, n_test: int = 4, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    data = {}
    for suffix, n in (("tr", n_train), ("te", n_test)):
        data[f"I_{suffix}"] = rng.random((n, 128))
        data[f"T_{suffix}"] = rng.random((n, 10))
        data[f"T_tfidf_{suffix}"] = rng.random((n, 1000))
    savemat(folder / "raw_features.mat", data)
    for name, prefix, n in (("trainset", "tr", n_train), ("testset", "te", n_test)):
        lines = [f"{prefix}text{i}\t{prefix}img{i}\t{(i % 10) + 1}" for i in range(n)]
        (folder / f"{name}_txt_img_cat.list").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return data


def test_svcl_records_and_features(tmp_path):
    data = write_svcl(tmp_path / "wiki")
    assert detect_source_kind(tmp_path / "wiki") == "mat"
    result = read_source(tmp_path / "wiki", tmp_path / "lib", progress=False)
    assert result.skipped == []
    ids = [r.id for r in result.records]
    assert ids == [f"trtext{i}" for i in range(6)] + [f"tetext{i}" for i in range(4)]
    first = result.records[0]
    assert (first.kind, first.group, first.images, first.extra["split"]) == ("pair", "trtext0", [], "train")
    assert first.extra["image_id"] == "trimg0"
    assert result.records[1].labels == ["biology"] and result.records[-1].labels == ["history"]
    assert [r.extra["split"] for r in result.records].count("test") == 4
    assert result.notes["default_features"] == {"image": "sift128", "text": "lda10"}
    assert result.notes["dataset"] == "wikipedia_xmodal_svcl" and result.notes["standard_split"] is True
    # Slow reference: look each record's row up in the original matrices.
    for modality, name, var in (("image", "sift128", "I"), ("text", "lda10", "T"), ("text", "tfidf1000", "T_tfidf")):
        features = block(result, modality, name)
        assert features.ids == ids and features.vectors.dtype == np.float32
        for i, record in enumerate(result.records):
            suffix = "tr" if record.extra["split"] == "train" else "te"
            expected = data[f"{var}_{suffix}"][record.extra["row"]].astype(np.float32)
            np.testing.assert_array_equal(features.vectors[i], expected)
    assert not (tmp_path / "lib").exists()  # nothing written: no images in this source


def test_svcl_category_names_follow_the_standard_order():
    assert WIKIPEDIA_CATEGORIES[0] == "art" and WIKIPEDIA_CATEGORIES[9] == "warfare"


def test_svcl_duplicate_and_non_finite_rows_are_skipped(tmp_path):
    folder = tmp_path / "wiki"
    data = write_svcl(folder)
    data["I_te"][2, 5] = np.nan
    savemat(folder / "raw_features.mat", data)
    lines = (folder / "testset_txt_img_cat.list").read_text().splitlines()
    lines[1] = lines[1].replace("tetext1", "trtext0")  # the same text id as a train row
    (folder / "testset_txt_img_cat.list").write_text("\n".join(lines) + "\n")
    result = read_matbench(folder / "raw_features.mat", progress=False)
    reasons = {s.item: s.reason for s in result.skipped}
    assert set(reasons) == {"trtext0", "tetext2"}
    assert reasons["trtext0"].startswith("duplicate id") and "NaN" in reasons["tetext2"]
    ids = [r.id for r in result.records]
    assert ids[-2:] == ["tetext0", "tetext3"]
    sift = block(result, "image", "sift128")
    assert sift.ids == ids and len(sift.vectors) == len(ids) == 8
    np.testing.assert_array_equal(sift.vectors[-1], data["I_te"][3].astype(np.float32))


def test_svcl_missing_or_mismatched_list_is_an_input_error(tmp_path):
    folder = tmp_path / "wiki"
    write_svcl(folder)
    (folder / "testset_txt_img_cat.list").write_text("a\tb\t1\n")
    with pytest.raises(InputError, match="1 lines but raw_features.mat has 4 test rows"):
        read_matbench(folder, progress=False)
    (folder / "testset_txt_img_cat.list").unlink()
    with pytest.raises(InputError, match="no testset_txt_img_cat.list"):
        read_matbench(folder, progress=False)


# ---------------------------------------------------------------------------- (b) DSCMR
def write_dscmr(folder: Path, splits: dict[str, int], *, skip: tuple[str, ...] = (), seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    data = {}
    for split, n in splits.items():
        arrays = {
            f"{split}_img": rng.random((n, 4096), dtype=np.float32),
            f"{split}_txt": rng.random((n, 300), dtype=np.float32),
            f"{split}_img_lab": rng.integers(0, 20, size=(n, 1)),
        }
        for name, array in arrays.items():
            data[name] = array
            if name not in skip:
                savemat(folder / f"{name}.mat", {name: array})
    return data


def test_dscmr_complete_splits(tmp_path):
    data = write_dscmr(tmp_path / "pascal", {"train": 5, "test": 3})
    result = read_source(tmp_path / "pascal", tmp_path / "lib", progress=False)
    ids = [r.id for r in result.records]
    assert ids == [f"train-{i}" for i in range(5)] + [f"test-{i}" for i in range(3)]
    assert result.notes["default_features"] == {"image": "vgg4096", "text": "text300"}
    assert result.notes["standard_split"] is True and result.quirks == [] and result.skipped == []
    image, text = block(result, "image", "vgg4096"), block(result, "text", "text300")
    for i, record in enumerate(result.records):
        split, row = record.id.split("-")
        assert record.labels == [str(int(data[f"{split}_img_lab"][int(row), 0]))]
        assert (record.kind, record.extra["split"], record.group) == ("pair", split, record.id)
        np.testing.assert_array_equal(image.vectors[i], data[f"{split}_img"][int(row)])
        np.testing.assert_array_equal(text.vectors[i], data[f"{split}_txt"][int(row)])
    assert image.ids == text.ids == ids


def test_dscmr_missing_train_images_keeps_the_complete_split(tmp_path):
    write_dscmr(tmp_path / "pascal", {"train": 8, "test": 4}, skip=("train_img",))
    result = read_matbench(tmp_path / "pascal", progress=False)
    assert [r.id for r in result.records] == [f"test-{i}" for i in range(4)]
    assert [s.item for s in result.skipped] == ["train_txt.mat"]
    assert "no train_img.mat" in result.skipped[0].reason
    assert [(q["item"], q["quirk"]) for q in result.quirks] == [("train", "incomplete split")]
    assert result.notes["standard_split"] is False and result.notes["splits"] == ["test"]
    assert all(len(b.ids) == 4 for b in result.features)


def test_dscmr_mismatched_rows_is_an_input_error(tmp_path):
    folder = tmp_path / "pascal"
    write_dscmr(folder, {"test": 4})
    savemat(folder / "test_txt.mat", {"test_txt": np.zeros((3, 300), dtype=np.float32)})
    with pytest.raises(InputError, match="4 image rows .* but 3 text rows"):
        read_matbench(folder, progress=False)


def test_dscmr_one_hot_labels_and_renamed_variable(tmp_path):
    folder = tmp_path / "d"
    write_dscmr(folder, {"val": 3}, skip=("val_img_lab", "val_txt"))
    savemat(folder / "val_txt.mat", {"features": np.ones((3, 7))})  # not named like the file
    savemat(folder / "val_img_lab.mat", {"val_img_lab": np.array([[1, 0, 1], [0, 1, 0], [0, 0, 0]])})
    result = read_matbench(folder, progress=False)
    assert [r.labels for r in result.records] == [["0", "2"], ["1"], []]
    assert {r.extra["split"] for r in result.records} == {"validation"}
    assert block(result, "text", "text7").dim == 7
    assert [q["quirk"] for q in result.quirks] == ["variable name"]


def test_unknown_and_broken_mat_files_are_input_errors(tmp_path):
    folder = tmp_path / "m"
    folder.mkdir()
    savemat(folder / "stuff.mat", {"X": np.zeros((2, 2))})
    with pytest.raises(InputError, match="no known .mat benchmark layout"):
        read_source(folder, tmp_path / "lib", progress=False)
    (folder / "stuff.mat").write_bytes(np.random.default_rng(0).bytes(200))
    with pytest.raises(InputError, match="cannot be read as a .mat file"):
        read_matbench(folder, progress=False)
    only_labels = tmp_path / "labels"
    write_dscmr(only_labels, {"test": 2}, skip=("test_img", "test_txt"))
    with pytest.raises(InputError, match=r"found test_img_lab.mat\)"):
        read_matbench(only_labels, progress=False)


def test_svcl_matrices_of_different_widths_are_an_input_error(tmp_path):
    folder = tmp_path / "wiki"
    data = write_svcl(folder)
    data["T_tr"] = np.zeros((6, 0))  # a zero-column block (found by bench/faults.py) used to crash np.concatenate
    savemat(folder / "raw_features.mat", data)
    with pytest.raises(InputError, match="widths"):
        read_matbench(folder, progress=False)
