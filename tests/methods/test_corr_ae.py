"""Corr-AE: its losses by hand, learning on separable pairs, determinism, save/load, errors."""

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
from scicmr.methods.common_space.corr_ae import CorrAE, CorrAENet  # noqa: E402
from scicmr.evaluation.metrics import cross_modal_score  # noqa: E402

torch.set_num_threads(1)

SMALL = dict(hidden_dims=(32,), embed_dim=8, epochs=20, batch_size=64, lr=3e-3, seed=0)


@pytest.fixture(scope="module")
def fitted(class_data):
    X, Y, y = class_data["train"]
    return CorrAE(**SMALL).fit(X, Y, validation=class_data["val"])


# -- losses, by hand


def test_reconstruction_loss_by_hand():
    recon = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    target = torch.tensor([[1.0, 0.0], [0.0, 4.0]])
    # squared errors 0, 4, 9, 0 -> sum 13 over b*d = 4 entries -> 3.25
    assert float(ae.reconstruction_loss(recon, target)) == pytest.approx(3.25)


def test_correlation_loss_by_hand():
    f = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    g = torch.tensor([[0.0, 3.0], [0.0, 0.0]])
    # ||f1 - g1||^2 = 1 + 4 = 5, ||f2 - g2||^2 = 0 -> 5 over b*k = 4 entries -> 1.25
    assert float(ae.correlation_loss(f, g)) == pytest.approx(1.25)
    with pytest.raises(ValueError):
        ae.correlation_loss(f, g[:, :1])


def test_corr_ae_objective_by_hand():
    # (1 - 0.25) * (1 + 3) + 0.25 * 2 = 3 + 0.5 = 3.5
    total = ae.corr_ae_objective([torch.tensor(1.0), torch.tensor(3.0)], torch.tensor(2.0), 0.25)
    assert float(total) == pytest.approx(3.5)


def _constant_net(variant):
    """One-layer Corr-AE whose weights are all zero: the image code is sigmoid(0) = 0.5, the text
    code sigmoid(ln 3) = 0.75 (text encoder bias ln 3), every decoder outputs 0."""
    net = CorrAENet(image_dim=2, text_dim=1, hidden_dims=(), code_dim=2, activation="sigmoid", variant=variant)
    with torch.no_grad():
        for param in net.parameters():
            param.zero_()
        net.encoders["text"][0].bias.fill_(float(np.log(3.0)))
    return net


@pytest.mark.parametrize("variant, expected", [
    # x = [1, 3]: mean(x^2) = (1 + 9) / 2 = 5; y = [2]: mean(y^2) = 4; every decoder outputs 0, so
    # each reconstruction term is 5 (image target) or 4 (text target), whichever code decodes.
    # L_C = mean((0.5 - 0.75)^2) = 0.0625; alpha = 0.5.
    ("basic", 0.5 * (5 + 4) + 0.5 * 0.0625),  # image<-image, text<-text: 4.53125
    ("cross", 0.5 * (4 + 5) + 0.5 * 0.0625),  # text<-image, image<-text: 4.53125
    ("full", 0.5 * (5 + 4 + 5 + 4) + 0.5 * 0.0625),  # all four: 9.03125
])
def test_variant_losses_by_hand(variant, expected):
    parts = _constant_net(variant).losses(torch.tensor([[1.0, 3.0]]), torch.tensor([[2.0]]), alpha=0.5)
    assert parts["loss"].item() == pytest.approx(expected)
    assert parts["corr"].item() == pytest.approx(0.0625)


@pytest.mark.parametrize("variant", ["basic", "cross", "full"])
def test_variant_losses_match_a_spelled_out_reference(variant):
    torch.manual_seed(0)
    net = CorrAENet(5, 3, (4,), 2, "tanh", variant)
    x, y = torch.randn(6, 5), torch.randn(6, 3)
    f, g = net.encoders["image"](x), net.encoders["text"](y)
    dec = net.decoders

    def mse(a, b):
        return ((a - b) ** 2).sum() / a.numel()

    spelled = {
        "basic": lambda: [mse(dec["image_from_image"](f), x), mse(dec["text_from_text"](g), y)],
        "cross": lambda: [mse(dec["text_from_image"](f), y), mse(dec["image_from_text"](g), x)],
        "full": lambda: [mse(dec["image_from_image"](f), x), mse(dec["text_from_image"](f), y),
                         mse(dec["image_from_text"](g), x), mse(dec["text_from_text"](g), y)],
    }
    terms = spelled[variant]()
    expected = 0.3 * sum(terms) + 0.7 * ((f - g) ** 2).sum() / f.numel()
    assert net.losses(x, y, alpha=0.7)["loss"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert len(dec) == len(terms)


# -- the method


@pytest.mark.parametrize("variant", ["basic", "cross", "full"])
def test_learns_separable_classes_far_above_chance(class_data, variant):
    X, Y, _ = class_data["train"]  # unsupervised: no labels in the loss
    model = CorrAE(variant=variant, **SMALL).fit(X, Y)
    assert_far_above_chance(model, class_data["test"], 0.7, dim=8)
    assert len(model.history_) == SMALL["epochs"] and model.best_epoch_ == SMALL["epochs"]
    assert model.history_[-1]["train_loss"] < model.history_[0]["train_loss"]
    assert {"rec", "corr"} <= set(model.history_[0])


def test_same_seed_same_model_different_seed_differs_global_rng_untouched(class_data):
    X, Y, _ = class_data["train"]  # unsupervised
    assert_seeded_and_rng_isolated(CorrAE, {**SMALL, "epochs": 3}, X, Y)


def test_early_stopping_restores_the_best_epoch(fitted, class_data):
    scores = [h["val_score"] for h in fitted.history_]
    assert scores[fitted.best_epoch_ - 1] == max(scores)
    Xv, Yv, yv = class_data["val"]
    rescored = cross_modal_score(fitted.transform_image(Xv), fitted.transform_text(Yv), np.eye(4)[yv])
    assert rescored == pytest.approx(max(scores), abs=1e-9)


def test_save_load_bit_identical(tmp_path, fitted, class_data):
    loaded = assert_reloads_identically(fitted, tmp_path / "corr-ae", *class_data["test"][:2])
    assert list(loaded.hidden_dims) == list(fitted.hidden_dims)


def test_registry_and_params():
    model = create_method("corr-ae", variant="full", alpha=0.5)
    assert isinstance(model, CorrAE) and model.variant == "full" and model.get_params()["alpha"] == 0.5


@pytest.mark.parametrize("bad, match", [
    ({"variant": "deep"}, "variant"),
    ({"alpha": 1.0}, "alpha"),
    ({"alpha": 0.0}, "alpha"),
    ({"activation": "gelu"}, "activation"),
    ({"embed_dim": 0}, "embed_dim"),
    ({"hidden_dims": (16, -1)}, "hidden_dims"),
    ({"batch_size": 0}, "batch_size"),
    ({"lr": 0.0}, "lr"),
    ({"patience": 0}, "patience"),
    ({"epochs": "many"}, "number"),
])
def test_bad_params_raise_input_error(class_data, bad, match):
    X, Y, _ = class_data["train"]
    with pytest.raises(InputError, match=match):
        CorrAE(**{**SMALL, **bad}).fit(X[:40], Y[:40])


def test_errors_name_the_problem(fitted, class_data):
    X, Y, y = class_data["train"]
    with pytest.raises(NotFittedError):
        CorrAE().transform_image(X)
    with pytest.raises(NotFittedError):
        CorrAE().save("unused")
    with pytest.raises(InputError, match="rows"):
        CorrAE(**SMALL).fit(X, Y[:-1])
    with pytest.raises(InputError, match="validation"):
        CorrAE(**SMALL).fit(X, Y, validation=(X[:10], Y[:9], None))
    with pytest.raises(InputError, match="CUDA|device"):
        CorrAE(**{**SMALL, "device": "cuda:7" if not torch.cuda.is_available() else "nonsense"}).fit(X, Y)
    with pytest.raises(InputError, match="columns"):
        fitted.transform_image(Y)
