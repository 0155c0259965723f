"""Feature-benchmark libraries (.mat) and user checkpoints through the workflows and CLI."""

import json

import numpy as np
import pytest

from factories.data import make_manifest
from scicmr.cli import main
from scicmr.errors import InputError
from scicmr.workflow import Searcher, evaluate_model, ingest, train_model


def _svcl_folder(folder, n_train=60, n_test=30, seed=0):
    """A tiny Wikipedia-SVCL layout: raw_features.mat + the two list files."""
    import scipy.io as sio

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    data = {}
    for split, n in (("tr", n_train), ("te", n_test)):
        classes = rng.integers(1, 4, size=n)
        centres_i, centres_t = np.eye(3, 16) * 4, np.eye(3, 10) * 4
        data[f"I_{split}"] = centres_i[classes - 1] + rng.normal(size=(n, 16))
        data[f"T_{split}"] = centres_t[classes - 1] + rng.normal(size=(n, 10))
        data[f"T_tfidf_{split}"] = np.abs(rng.normal(size=(n, 20)))
        name = "trainset_txt_img_cat.list" if split == "tr" else "testset_txt_img_cat.list"
        (folder / name).write_text("".join(f"{split}{i}\timg{split}{i}\t{c}\n" for i, c in enumerate(classes)))
    sio.savemat(folder / "raw_features.mat", data)
    return folder


def test_mat_benchmark_keeps_standard_split_and_trains(tmp_path):
    report = ingest(_svcl_folder(tmp_path / "svcl"), tmp_path / "lib")
    assert report.splits["test"] == 30 and report.splits["train"] + report.splits["validation"] == 60
    train_model(report.library, "cca")
    document = evaluate_model(report.library, "cca")
    assert document["pool"] == {"queries": 30, "candidates": 30}
    assert document["i2t"]["map"] > 0.6 and document["t2i"]["map"] > 0.6  # chance ~0.33


def test_text_query_on_precomputed_features_explains_query_id(tmp_path, capsys):
    report = ingest(_svcl_folder(tmp_path / "svcl"), tmp_path / "lib")
    train_model(report.library, "cca")
    with pytest.raises(InputError, match="precomputed") as info:
        Searcher(report.library).search_text("music", k=3)
    assert "--query-id" in str(info.value)
    code = main(["search", str(report.library), "--query-id", "te0", "-k", "5", "--json"])
    output = capsys.readouterr().out
    assert code == 0
    hits = json.loads(output[output.index("["):])
    assert len(hits) == 5 and all(h["modality"] == "text" for h in hits)


def test_user_checkpoint_encoder_through_cli(tmp_path, capsys):
    """A user's own timm weights (tiny random model) drive encode → train → image search."""
    import torch

    from scicmr.encoders._torchvision_compat import import_torchvision

    import_torchvision(optional=True)
    import timm

    torch.manual_seed(0)
    weights = tmp_path / "resnet10t.pth"
    torch.save(timm.create_model("resnet10t", pretrained=False, num_classes=0).state_dict(), weights)
    manifest = make_manifest(tmp_path / "src", per_field=4)
    assert main(["ingest", str(manifest), "--out", str(tmp_path / "lib")]) == 0
    capsys.readouterr()
    spec = json.dumps({"name": "checkpoint", "framework": "timm", "arch": "resnet10t", "path": str(weights),
                       "image_size": 64})
    assert main(["encode", str(tmp_path / "lib"), "--image-encoder", spec, "--text-encoder", "tfidf", "--json"]) == 0
    keys = json.loads(capsys.readouterr().out)
    assert keys["image"].startswith("image-checkpoint-")
    assert main(["train", str(tmp_path / "lib"), "--method", "cca"]) == 0
    hits = Searcher(tmp_path / "lib").search_image(tmp_path / "src" / "images" / "genomics-0.png", k=3)
    assert len(hits) == 3
