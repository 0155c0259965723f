"""ACMR: the triplet invariance loss by hand, gradient reversal, learning, persistence, errors."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from factories.data import assert_far_above_chance, assert_reloads_identically  # noqa: E402
from scicmr.errors import InputError, NotFittedError  # noqa: E402
from scicmr.methods import create_method  # noqa: E402
from scicmr.methods.adversarial.acmr import ACMR  # noqa: E402
from scicmr.methods.adversarial.base import dann_schedule, grad_reverse, joint_step  # noqa: E402
from scicmr.methods.adversarial.losses import acmr_invariance_loss, pairwise_distance, relevance_mask  # noqa: E402

torch.set_num_threads(1)

SMALL = dict(hidden_dims=(32,), embed_dim=16, disc_hidden=(16, 8), epochs=6, batch_size=64, lr=3e-3, seed=0)


def t(rows):
    return torch.tensor(rows, dtype=torch.float32)


# -- the invariance (triplet) loss, by hand

V = [[0.0, 0.0], [2.0, 0.0]]  # images v0, v1
T = [[1.0, 0.0], [2.0, 0.0]]  # texts t0, t1
# distances: d(v0,t0) = 1, d(v0,t1) = 2, d(v1,t0) = 1, d(v1,t1) = 0


def test_invariance_loss_two_classes_by_hand():
    # labels: pair 0 in class A, pair 1 in class B; margin mu = 1.5, lambda = 1
    # image anchors: v0: pull d(v0,t0) = 1, push max(0, 1.5 - d(v0,t1) = 2) = 0 -> 1
    #                v1: pull d(v1,t1) = 0, push max(0, 1.5 - d(v1,t0) = 1) = 0.5 -> 0.5;   mean 0.75
    # text anchors:  t0: pull 1, push max(0, 1.5 - d(t0,v1) = 1) = 0.5 -> 1.5
    #                t1: pull 0, push max(0, 1.5 - d(t1,v0) = 2) = 0 -> 0;                  mean 0.75
    # L_imi = 0.75 + 0.75 = 1.5
    labels = t([[1, 0], [0, 1]])
    assert float(acmr_invariance_loss(t(V), t(T), labels, margin=1.5, neg_weight=1.0)) == pytest.approx(1.5)
    # lambda = 2 doubles the push terms: images (1 + 0, 0 + 1) -> 1; texts (1 + 1, 0 + 0) -> 1; total 2
    assert float(acmr_invariance_loss(t(V), t(T), labels, margin=1.5, neg_weight=2.0)) == pytest.approx(2.0)


def test_invariance_loss_one_class_has_no_negatives_by_hand():
    # both pairs in one class: every cross item is a positive, no negatives, no push
    # image anchors: v0: (1 + 2) / 2 = 1.5; v1: (1 + 0) / 2 = 0.5; mean 1
    # text anchors:  t0: (d(t0,v0) 1 + d(t0,v1) 1) / 2 = 1; t1: (2 + 0) / 2 = 1; mean 1
    # L_imi = 2
    labels = t([[1], [1]])
    assert float(acmr_invariance_loss(t(V), t(T), labels, margin=1.5)) == pytest.approx(2.0)


def test_invariance_helpers_against_loops():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 3)), rng.normal(size=(4, 3))
    expected = np.array([[np.linalg.norm(x - y) for y in b] for x in a])
    np.testing.assert_allclose(pairwise_distance(t(a), t(b)).numpy(), expected, rtol=1e-5)
    # multi-label: rows 0 and 1 share label 1; row 2 is unlabelled and matches only itself
    mask = relevance_mask(t([[1, 1, 0], [0, 1, 0], [0, 0, 0]])).numpy()
    assert mask.tolist() == [[True, True, False], [True, True, False], [False, False, True]]


# -- gradient reversal


def test_gradient_reversal_flips_and_scales_gradients():
    x = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
    weights = torch.tensor([0.5, 1.0, -4.0])
    out = grad_reverse(x, 0.25)
    assert torch.equal(out, x)  # identity forward
    (out * weights).sum().backward()
    # d/dx of sum(w * x) is w; reversed and scaled: -0.25 * w
    assert torch.allclose(x.grad, torch.tensor([-0.125, -0.25, 1.0]))
    y = torch.tensor([2.0], requires_grad=True)
    (grad_reverse(y) ** 2).sum().backward()  # default scale 1: -(2 * 2) = -4
    assert float(y.grad) == -4.0


def test_reversal_trains_discriminator_down_and_projector_up():
    # One joint step with gradient reversal between a projector p and a discriminator d.
    # d gets the plain gradient of L (descends it); p gets the negated one (ascends it).
    torch.manual_seed(0)
    p, d = torch.nn.Linear(2, 2), torch.nn.Linear(2, 1)
    x = torch.randn(6, 2)
    loss_of = lambda index: {"loss": torch.nn.functional.softplus(d(grad_reverse(p(x[index]), 1.0))).mean()}
    plain = torch.nn.functional.softplus(d(p(x))).mean()
    grads = torch.autograd.grad(plain, [*p.parameters(), *d.parameters()])
    step = joint_step(loss_of, torch.optim.SGD([*p.parameters(), *d.parameters()], lr=0.1))
    before = [q.detach().clone() for q in [*p.parameters(), *d.parameters()]]
    step(torch.arange(6))
    after = [q.detach() for q in [*p.parameters(), *d.parameters()]]
    for i, (b, a, g) in enumerate(zip(before, after, grads)):
        sign = 1.0 if i < 2 else -1.0  # projector parameters first: they move *up* the gradient
        assert torch.allclose(a, b + sign * 0.1 * g, atol=1e-6)


def test_dann_schedule_ramps_from_zero_to_one():
    # 2 / (1 + e^{-10 p}) - 1: p = 0 -> 0; p = 0.5 -> 2 / (1 + e^-5) - 1 = 0.986614; p = 1 -> 0.999909
    assert dann_schedule(0.0) == 0.0
    assert dann_schedule(0.5) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert dann_schedule(1.0) == pytest.approx(0.999909, abs=1e-6)


# -- the method


def test_learns_separable_classes_far_above_chance(class_data):
    X, Y, y = class_data["train"]
    model = ACMR(**SMALL).fit(X, Y, y)
    assert_far_above_chance(model, class_data["test"], 0.8, dim=16)
    history = model.history_
    assert {"imd", "imi", "adv"} <= set(history[0]) and history[-1]["emb"] < history[0]["emb"]


def test_multilabel_and_no_ramp_run(class_data):
    X, Y, y = class_data["train"]
    multi = np.eye(4)[y]
    multi[::5, (y[::5] + 1) % 4] = 1  # every fifth pair carries a second label
    model = ACMR(**{**SMALL, "epochs": 2}, adv_ramp=False, adv_weight=0.5).fit(X, Y, multi)
    assert np.isfinite(model.transform_text(Y[:5])).all() and model.n_classes_ == 4


def test_adversary_changes_the_model(class_data):
    X, Y, y = class_data["train"]
    params = {**SMALL, "epochs": 2, "adv_ramp": False}
    with_adv = ACMR(**params).fit(X, Y, y).transform_image(X[:10])
    without = ACMR(**{**params, "adv_weight": 0.0}).fit(X, Y, y).transform_image(X[:10])
    assert not np.array_equal(with_adv, without)


def test_save_load_bit_identical_and_deterministic(tmp_path, class_data):
    X, Y, y = class_data["train"]
    model = ACMR(**{**SMALL, "epochs": 3}).fit(X, Y, y, validation=class_data["val"])
    again = ACMR(**{**SMALL, "epochs": 3}).fit(X, Y, y, validation=class_data["val"])
    Xt, Yt, _ = class_data["test"]
    assert np.array_equal(again.transform_image(Xt), model.transform_image(Xt))
    assert_reloads_identically(model, tmp_path / "acmr", Xt, Yt)


def test_registry_and_errors(class_data):
    assert isinstance(create_method("acmr", margin=2.0), ACMR)
    X, Y, y = class_data["train"]
    with pytest.raises(NotFittedError):
        ACMR().transform_text(Y)
    with pytest.raises(InputError, match="labels"):
        ACMR(**SMALL).fit(X, Y, np.zeros((len(X), 3)))
    for bad, word in [({"margin": -1}, "margin"), ({"neg_weight": -1}, "neg_weight"),
                      ({"adv_weight": -0.1}, "adv_weight"), ({"embed_dim": 0}, "embed_dim")]:
        with pytest.raises(InputError, match=word):
            ACMR(**{**SMALL, **bad}).fit(X, Y, y)
    with pytest.raises(InputError, match="CUDA|device"):
        ACMR(**SMALL, **{"device": "cuda:7" if not torch.cuda.is_available() else "nonsense"}).fit(X, Y, y)
