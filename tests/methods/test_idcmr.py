"""IDCMR: inner-product J2, the closed-form classifier (Algorithm 1 step 7), J = J1 + λJ2 + ηJ3,
learning, persistence and errors."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from factories.data import (  # noqa: E402
    assert_far_above_chance,
    assert_reloads_identically,
    class_pairs,
    class_splits,
    split_maps,
)
from scicmr.errors import InputError, NotFittedError  # noqa: E402
from scicmr.methods import create_method  # noqa: E402
from scicmr.methods.common_space.base import (  # noqa: E402
    closed_form_classifier,
    common_space_loss,
    invariance_loss,
    label_similarity,
    label_space_loss,
    likelihood_loss,
)
from scicmr.methods.common_space.idcmr import IDCMR  # noqa: E402

torch.set_num_threads(1)

# Other offsets and scales per view than the other method tests' data.
VIEWS = dict(x_offset=-3.0, y_scale=0.1)
SMALL = dict(hidden_dims=(32,), shared_dims=(32,), embed_dim=16, epochs=8, batch_size=64, lr=3e-3, seed=0)


def t(rows):
    return torch.tensor(rows, dtype=torch.float64)


@pytest.fixture(scope="module")
def data():
    return class_splits(**VIEWS)


# ----------------------------------------------------------------------------- the losses
def test_j2_inner_products_hand_computed():
    U, V = t([[1, 0], [0, 1]]), t([[1, 1], [0, 0]])
    S = label_similarity(t([[1, 0], [0, 1]]), 2).double()  # = I
    e = math.e
    # θ = UVᵀ = [[1, 0], [1, 0]]; log(1 + e^θ) − Sθ per pair:
    #   (0,0) log(1+e) − 1 = 0.313262, (0,1) log 2 = 0.693147, (1,0) log(1+e) = 1.313262,
    #   (1,1) log 2 → mean 3.012818 / 4 = 0.753205
    cross = (math.log(1 + e) - 1 + math.log(2) + math.log(1 + e) + math.log(2)) / 4
    # φ = UUᵀ = I → (2·0.313262 + 2·0.693147) / 4 = 0.503205
    image = (2 * (math.log(1 + e) - 1) + 2 * math.log(2)) / 4
    # ϕ = VVᵀ = [[2, 0], [0, 0]] → (log(1+e²) − 2 + 3·log 2) / 4 = (0.126928 + 2.079442) / 4 = 0.551592
    text = (math.log(1 + e**2) - 2 + 3 * math.log(2)) / 4
    assert (cross, image, text) == pytest.approx((0.753205, 0.503205, 0.551592), abs=1e-6)
    got = float(common_space_loss(U, V, S, "inner", 1.0))
    assert got == pytest.approx(cross + image + text, abs=1e-12)
    assert got == pytest.approx(1.808001, abs=1e-6)  # the three means, summed


def test_likelihood_is_stable_for_large_scores():
    theta = t([[80.0, -80.0]])
    S = t([[1.0, 0.0]])
    # both pairs are predicted right with certainty: −log σ(80) ≈ e^−80 ≈ 0, no overflow
    assert float(likelihood_loss(theta, S)) == pytest.approx(0.0, abs=1e-30)
    # wrong with certainty: the loss is |θ| = 80 per pair
    assert float(likelihood_loss(theta, 1 - S)) == pytest.approx(80.0, rel=1e-12)


def test_closed_form_classifier_hand_computed():
    # U = V = I (2×2), Z = I: UᵀU + VᵀV = 2I, r = ridge · trace(2I)/2 = 2·ridge,
    # (U + V)ᵀZ = 2I → P = 2I / (2 + 2·ridge) = I / (1 + ridge)
    P = closed_form_classifier(t(np.eye(2)), t(np.eye(2)), t(np.eye(2)), ridge=0.25)
    np.testing.assert_allclose(P.numpy(), np.eye(2) / 1.25, atol=1e-7)


def test_closed_form_classifier_minimises_j1_against_lstsq():
    rng = np.random.default_rng(0)
    U, V, Z = rng.normal(size=(9, 4)), rng.normal(size=(9, 4)), (rng.random((9, 3)) < 0.5).astype(float)
    ridge = 0.1
    r = ridge * np.trace(U.T @ U + V.T @ V) / 4
    # slow reference: the ridge problem as one stacked least-squares system [U; V; √r I] P ≈ [Z; Z; 0]
    A = np.vstack([U, V, math.sqrt(r) * np.eye(4)])
    B = np.vstack([Z, Z, np.zeros((4, 3))])
    expected = np.linalg.lstsq(A, B, rcond=None)[0]
    P = closed_form_classifier(t(U), t(V), t(Z), ridge)
    np.testing.assert_allclose(P.numpy(), expected, atol=1e-5)
    assert not P.requires_grad
    # it is the minimiser: the gradient of J1 + r‖P‖²/b at P vanishes
    Pv = P.clone().requires_grad_(True)
    (label_space_loss(t(U), t(V), Pv, t(Z)) + r * (Pv**2).sum() / 9).backward()
    assert float(Pv.grad.abs().max()) < 1e-4


def test_objective_weights_and_closed_form_default():
    rng = np.random.default_rng(3)
    U, V = torch.tensor(rng.normal(size=(6, 4))), torch.tensor(rng.normal(size=(6, 4)))
    Z = torch.tensor(np.eye(3)[[0, 1, 2, 0, 1, 2]])
    model = IDCMR(lam=0.4, eta=2.0, ridge=0.01)
    terms = model.objective(U, V, Z)  # no P: Algorithm 1 step 7 solves for it
    P = closed_form_classifier(U, V, Z, 0.01)
    S = label_similarity(Z, 6).double()
    assert float(terms["j1"]) == pytest.approx(float(label_space_loss(U, V, P, Z)), rel=1e-10)
    assert float(terms["j2"]) == pytest.approx(float(common_space_loss(U, V, S, "inner", 1.0)), rel=1e-12)
    assert float(terms["j3"]) == pytest.approx(float(invariance_loss(U, V)), rel=1e-12)
    assert float(terms["loss"]) == pytest.approx(float(terms["j1"] + 0.4 * terms["j2"] + 2.0 * terms["j3"]))
    no_labels = model.objective(U, V, None)
    assert float(no_labels["j1"]) == 0.0
    assert float(no_labels["j2"]) == pytest.approx(float(common_space_loss(U, V, torch.eye(6).double(), "inner", 1.0)))


# ----------------------------------------------------------------------------- the method


@pytest.mark.parametrize("classifier", ["closed_form", "learned"])
def test_learns_separable_classes_far_above_chance(data, classifier):
    X, Y, y = data["train"]
    model = IDCMR(classifier=classifier, **SMALL).fit(X, Y, y)
    assert_far_above_chance(model, data["test"], 0.8, dim=16)
    assert model.n_classes_ == (4 if classifier == "learned" else 0)
    assert (model.net_.classifier is None) == (classifier == "closed_form")
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]
    out = model.transform_text(data["test"][1])
    assert out.dtype == np.float32 and out.shape == (200, 16)


def test_sigmoid_activation_and_multilabel_targets(data):
    X, Y, y = data["train"]
    labels = np.eye(4)[y]
    labels[:, 0] = np.maximum(labels[:, 0], labels[:, 1])  # classes 0 and 1 overlap: multi-hot rows
    model = IDCMR(activation="sigmoid", **{**SMALL, "epochs": 12, "lr": 1e-2}).fit(X, Y, labels)
    i2t, t2i = split_maps(model, data["test"])
    assert i2t > 0.6 and t2i > 0.6


def test_shared_layers_are_one_module():
    X, Y, y = class_pairs(80, 4, **VIEWS)
    model = IDCMR(**{**SMALL, "epochs": 1}).fit(X, Y, y)
    net = model.net_
    # the shared hidden Linear and the last Linear are used by both towers
    assert len([m for m in net.shared if isinstance(m, torch.nn.Linear)]) == 2
    with torch.no_grad():
        net.shared[0].weight.zero_()
    assert np.array_equal(model.transform_image(X[:3]), model.transform_text(Y[:3]))


def test_deterministic_and_save_load_bit_identical(tmp_path, data):
    X, Y, y = data["train"]
    params = {**SMALL, "epochs": 3}
    model = IDCMR(**params).fit(X, Y, y, validation=data["val"])
    again = IDCMR(**params).fit(X, Y, y, validation=data["val"])
    Xt, Yt, _ = data["test"]
    assert np.array_equal(model.transform_image(Xt), again.transform_image(Xt))
    loaded = assert_reloads_identically(model, tmp_path / "idcmr", Xt, Yt)
    assert loaded.get_params() == {**model.get_params(), "hidden_dims": [32], "shared_dims": [32]}


def test_registry_and_defaults():
    model = create_method("idcmr", lam=0.5)
    assert isinstance(model, IDCMR) and model.lam == 0.5
    params = model.get_params()
    assert params["classifier"] == "closed_form" and params["batch_size"] == 128


def test_errors_name_the_problem(data):
    X, Y, y = data["train"]
    with pytest.raises(NotFittedError):
        IDCMR().transform_text(Y)
    for bad, match in [({"classifier": "svm"}, "classifier"), ({"ridge": 0.0}, "ridge"),
                       ({"eta": -0.1}, "weights"), ({"lam": float("nan")}, "weights"),
                       ({"shared_dims": (0,)}, "shared_dims"), ({"epochs": 0}, "epochs"),
                       ({"embed_dim": 0}, "embed_dim")]:
        with pytest.raises(InputError, match=match):
            IDCMR(**{**SMALL, **bad}).fit(X, Y, y)
    with pytest.raises(InputError, match="CUDA|device"):
        IDCMR(**{**SMALL, "device": "cuda:7" if not torch.cuda.is_available() else "nonsense"}).fit(X, Y, y)
    with pytest.raises(InputError, match="rows"):
        IDCMR(**SMALL).fit(X, Y[:-1], y)
