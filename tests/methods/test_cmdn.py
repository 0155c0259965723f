"""CMDN: stage losses by hand, two-stage learning on separable pairs, save/load, errors."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from factories.data import (  # noqa: E402
    assert_far_above_chance,
    assert_reloads_identically,
    assert_seeded_and_rng_isolated,
)
from scicmr.errors import InputError, NotFittedError  # noqa: E402
from scicmr.methods import create_method  # noqa: E402
from scicmr.methods.common_space import autoencoders as ae  # noqa: E402
from scicmr.methods.common_space.cmdn import CMDN, CMDNNet  # noqa: E402
from scicmr.evaluation.metrics import cross_modal_score  # noqa: E402

torch.set_num_threads(1)

SMALL = dict(intra_dims=(32, 16), inter_dims=(32, 16), shared_dims=(16,), embed_dim=8,
             pretrain_epochs=5, epochs=40, batch_size=64, lr=3e-3, seed=0)


@pytest.fixture(scope="module")
def fitted(class_data):
    X, Y, y = class_data["train"]
    return CMDN(**SMALL).fit(X, Y, y, validation=class_data["val"])


# -- losses, by hand


def test_label_loss_by_hand():
    logits = torch.tensor([[0.0, math.log(3.0)]] * 3)  # softmax = [1/4, 3/4] on every row
    labels = torch.tensor([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    # row 1: -ln(3/4) = 0.287682; row 2 (two labels, 1/2 each): -(ln(1/4) + ln(3/4)) / 2 = 0.836988;
    # row 3 has no label: 0. Mean over the 3 rows: 1.124670 / 3 = 0.374890
    assert ae.label_loss(logits, labels).item() == pytest.approx(0.374890, abs=1e-6)
    assert ae.label_loss(logits[:1], labels[:1]).item() == pytest.approx(-math.log(0.75))


def _zeroed(module):
    with torch.no_grad():
        for param in module.parameters():
            param.zero_()
    return module


def test_bimodal_loss_by_hand():
    net = _zeroed(ae.BimodalAutoencoder(2, 1, (), 2, "sigmoid"))
    with torch.no_grad():
        net.image_decoder[0].bias.fill_(1.0)  # the image is rebuilt as [1, 1], the text as [0]
    x, y = torch.tensor([[1.0, 3.0]]), torch.tensor([[2.0]])
    # every condition: image mean((1-1)^2, (3-1)^2) = 2, text (2-0)^2 = 4 -> 6; mean of 3 conditions: 6
    assert ae.bimodal_loss(net, x, y).item() == pytest.approx(6.0)


def test_bimodal_loss_matches_a_spelled_out_reference():
    torch.manual_seed(0)
    net = ae.BimodalAutoencoder(5, 3, (4,), 2, "tanh")
    x, y = torch.randn(6, 5), torch.randn(6, 3)

    def mse(a, b):
        return ((a - b) ** 2).sum() / a.numel()

    total = 0.0
    for a, t in ((x, y), (x, torch.zeros(6, 3)), (torch.zeros(6, 5), y)):
        code = net.joint(torch.cat([net.image_path(a), net.text_path(t)], dim=1))
        total = total + mse(net.image_decoder(code), x) + mse(net.text_decoder(code), y)
    assert ae.bimodal_loss(net, x, y).item() == pytest.approx(total.item() / 3, rel=1e-6)
    assert torch.equal(net.encode_image(x), net.encode(x, torch.zeros(6, 3)))
    assert torch.equal(net.encode_text(y), net.encode(torch.zeros(6, 5), y))


def test_masking_noise_zeroes_entries_at_the_rate():
    x = torch.arange(1.0, 20001.0)
    assert ae.masking_noise(x, 0.0) is x
    torch.manual_seed(0)
    noisy = ae.masking_noise(x, 0.3)
    kept = noisy != 0
    assert torch.equal(noisy[kept], x[kept])  # survivors are untouched
    assert abs(1.0 - kept.float().mean().item() - 0.3) < 0.02


def _constant_top():
    """Stage 2 with zero weights: image code sigmoid(0) = 0.5, text code sigmoid(ln 3) = 0.75,
    decoders output 0, the classifier gives logits 0 (probability 1/2 per class)."""
    net = _zeroed(CMDNNet({"image": 3, "text": 3}, (1,), (1,), (), 2, "sigmoid", n_classes=2))
    with torch.no_grad():
        net.top_encoders["text"][0].bias.fill_(math.log(3.0))
    return net


def test_stage_two_loss_by_hand():
    reps = {"image": torch.tensor([[1.0, 3.0]]), "text": torch.tensor([[2.0, 0.0]])}
    # rec: mean(r_I^2) = (1 + 9) / 2 = 5, mean(r_T^2) = 4 / 2 = 2 -> 7; corr: (0.5 - 0.75)^2 = 0.0625;
    # label: -ln(1/2) per modality -> 2 ln 2 = 1.386294. alpha = lambda = 0.5:
    # 0.5 * 7 + 0.5 * 0.0625 + 0.5 * 1.386294 = 4.224397
    parts = _constant_top().top_losses(reps, torch.tensor([[1.0, 0.0]]), alpha=0.5, label_weight=0.5)
    assert parts["loss"].item() == pytest.approx(4.224397, abs=1e-6)
    assert parts["rec"].item() == pytest.approx(7.0) and parts["corr"].item() == pytest.approx(0.0625)
    assert parts["label"].item() == pytest.approx(2 * math.log(2))
    # without labels (or with lambda = 0) only the Corr-AE part remains: 3.5 + 0.03125
    assert _constant_top().top_losses(reps, None, 0.5, 0.5)["loss"].item() == pytest.approx(3.53125)
    unweighted = _constant_top().top_losses(reps, torch.tensor([[1.0, 0.0]]), 0.5, 0.0)
    assert unweighted["loss"].item() == pytest.approx(3.53125)


def test_separate_representation_is_intra_then_inter():
    torch.manual_seed(0)
    net = CMDNNet({"image": 5, "text": 3}, (4, 2), (4, 3), (2,), 2, "sigmoid", 0)
    x = torch.randn(4, 5)
    rep = net.separate("image", x)
    assert rep.shape == (4, 5)
    assert torch.equal(rep[:, :2], net.intra["image"].encode(x))
    assert torch.equal(rep[:, 2:], net.inter.encode_image(x))


# -- the method


@pytest.mark.parametrize("use_labels", [True, False])
def test_learns_separable_classes_far_above_chance(class_data, use_labels):
    X, Y, y = class_data["train"]
    model = CMDN(**SMALL).fit(X, Y, y if use_labels else None)
    assert_far_above_chance(model, class_data["test"], 0.7, dim=8)
    assert model.n_classes_ == (4 if use_labels else 0)
    assert set(model.stage_histories_) == {"intra_image", "intra_text", "inter", "top"}
    assert all(len(h) == 5 for key, h in model.stage_histories_.items() if key != "top")
    assert len(model.history_) == SMALL["epochs"] and model.history_[-1]["train_loss"] < model.history_[0]["train_loss"]
    for stage in ("intra_image", "intra_text", "inter"):
        losses = [h["train_loss"] for h in model.stage_histories_[stage]]
        assert losses[-1] < losses[0]


def test_each_stage_stops_on_its_validation_score(fitted, class_data):
    for stage in ("intra_image", "intra_text", "inter"):
        scores = [h["val_score"] for h in fitted.stage_histories_[stage]]
        assert all(s < 0 for s in scores)  # stage 1: minus the validation reconstruction loss
    scores = [h["val_score"] for h in fitted.history_]
    assert scores[fitted.best_epoch_ - 1] == max(scores)
    Xv, Yv, yv = class_data["val"]
    rescored = cross_modal_score(fitted.transform_image(Xv), fitted.transform_text(Yv), np.eye(4)[yv])
    assert rescored == pytest.approx(max(scores), abs=1e-9)


def test_same_seed_same_model_different_seed_differs_global_rng_untouched(class_data):
    assert_seeded_and_rng_isolated(CMDN, {**SMALL, "pretrain_epochs": 2, "epochs": 2}, *class_data["train"])


def test_save_load_bit_identical(tmp_path, fitted, class_data):
    loaded = assert_reloads_identically(fitted, tmp_path / "cmdn", *class_data["test"][:2])
    assert loaded.n_classes_ == 4 and loaded.stage_histories_ == fitted.stage_histories_


def test_label_weight_zero_builds_no_classifier(class_data):
    X, Y, y = class_data["train"]
    model = CMDN(**{**SMALL, "pretrain_epochs": 1, "epochs": 1, "label_weight": 0.0}).fit(X, Y, y)
    assert model.n_classes_ == 0 and model.net_.classifier is None


def test_registry_and_params():
    model = create_method("cmdn", noise=0.1, label_weight=0.0)
    assert isinstance(model, CMDN) and model.noise == 0.1 and model.get_params()["embed_dim"] == 64


@pytest.mark.parametrize("bad, match", [
    ({"intra_dims": ()}, "intra_dims"),
    ({"inter_dims": (8, 0)}, "inter_dims"),
    ({"shared_dims": (1.5,)}, "shared_dims"),
    ({"noise": 1.0}, "noise"),
    ({"alpha": 1.5}, "alpha"),
    ({"label_weight": -1.0}, "label_weight"),
    ({"pretrain_epochs": 0}, "pretrain_epochs"),
    ({"activation": "softplus"}, "activation"),
    ({"batch_size": 0}, "batch_size"),
    ({"embed_dim": "big"}, "number"),
])
def test_bad_params_raise_input_error(class_data, bad, match):
    X, Y, y = class_data["train"]
    with pytest.raises(InputError, match=match):
        CMDN(**{**SMALL, **bad}).fit(X[:40], Y[:40], y[:40])


def test_errors_name_the_problem(fitted, class_data):
    X, Y, y = class_data["train"]
    with pytest.raises(NotFittedError):
        CMDN().transform_text(Y)
    with pytest.raises(InputError, match="rows"):
        CMDN(**SMALL).fit(X, Y[:-1])
    with pytest.raises(InputError, match="validation"):
        CMDN(**SMALL).fit(X, Y, y, validation=(X[:10], Y[:9], None))
    with pytest.raises(InputError, match="CUDA|device"):
        CMDN(**{**SMALL, "device": "cuda:7" if not torch.cuda.is_available() else "nonsense"}).fit(X, Y)
    with pytest.raises(InputError, match="columns"):
        fitted.transform_text(X)
