"""Shared training machinery: losses (hand-computed + slow loops) and the loop. The validation
score (scicmr.evaluation.metrics.cross_modal_score) is tested with the metrics."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scicmr.errors import InputError  # noqa: E402
from scicmr.methods.common_space.cardl_losses import cardl_loss, in_batch_cross_entropy, soft_targets_from_labels  # noqa: E402
from scicmr.methods.training import adam, loss_step, minibatches, train_loop  # noqa: E402

torch.set_num_threads(1)


# -- losses -------------------------------------------------------------------------------


def slow_cross_entropy(logits, targets):
    """-(1/b) Σ_i Σ_j y_ij log(exp s_ij / Σ_k exp s_ik), one element at a time."""
    b = len(logits)
    total = 0.0
    for i in range(b):
        z = sum(math.exp(logits[i][k]) for k in range(b))
        for j in range(b):
            if targets[i][j]:
                total -= targets[i][j] * math.log(math.exp(logits[i][j]) / z)
    return total / b


def test_in_batch_cross_entropy_hand_2x2():
    # row 0 logits (log 1, log 3) -> softmax (1/4, 3/4); row 1 (log 2, log 2) -> (1/2, 1/2).
    logits = torch.tensor([[0.0, math.log(3.0)], [math.log(2.0), math.log(2.0)]], dtype=torch.float64)
    eye = torch.eye(2, dtype=torch.float64)
    # identity targets: -(log 1/4 + log 1/2)/2 = (2 log 2 + log 2)/2 = 1.5 log 2
    assert float(in_batch_cross_entropy(logits, eye)) == pytest.approx(1.5 * math.log(2.0), abs=1e-12)
    # soft row 0 (1/2, 1/2): -(1/2 log 1/4 + 1/2 log 3/4) = 1/2 (log 4 + log 4/3);
    # row 1 identity: log 2; mean over the 2 rows.
    soft = torch.tensor([[0.5, 0.5], [0.0, 1.0]], dtype=torch.float64)
    expected = (0.5 * (math.log(4.0) + math.log(4.0 / 3.0)) + math.log(2.0)) / 2
    assert float(in_batch_cross_entropy(logits, soft)) == pytest.approx(expected, abs=1e-12)


def test_in_batch_cross_entropy_matches_slow_loop():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(5, 5, generator=gen, dtype=torch.float64) * 3
    targets = torch.rand(5, 5, generator=gen, dtype=torch.float64)
    targets = targets / targets.sum(dim=1, keepdim=True)
    fast = float(in_batch_cross_entropy(logits, targets))
    assert fast == pytest.approx(slow_cross_entropy(logits.tolist(), targets.tolist()), abs=1e-10)


def test_in_batch_cross_entropy_rejects_shape_mismatch():
    with pytest.raises(ValueError):
        in_batch_cross_entropy(torch.zeros(2, 2), torch.zeros(2, 3))


def test_soft_targets_hand_3x3():
    # item 0 {a}, item 1 {a, b}, item 2 {} (no label):
    # 0 shares with 0, 1 -> (1/2, 1/2, 0); 1 shares with 0, 1 -> (1/2, 1/2, 0);
    # 2 shares with nobody, its own pair stays the positive -> (0, 0, 1).
    labels = torch.tensor([[1, 0], [1, 1], [0, 0]])
    expected = torch.tensor([[0.5, 0.5, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    assert torch.equal(soft_targets_from_labels(labels), expected)


def test_soft_targets_match_slow_loop():
    rng = np.random.default_rng(3)
    labels = (rng.random((7, 3)) < 0.35).astype(np.float32)
    fast = soft_targets_from_labels(torch.from_numpy(labels)).numpy()
    for i in range(7):
        share = [1.0 if (i == j or any(labels[i, c] and labels[j, c] for c in range(3))) else 0.0 for j in range(7)]
        np.testing.assert_allclose(fast[i], np.array(share) / sum(share), atol=1e-7)


def test_cardl_loss_hand_2x2():
    # u0 = (1, 0), u1 = (0, 1); v0 = (1, 0), v1 = (1, 1)/sqrt2 after normalising (3, 3).
    # cosines s = [[1, c], [0, c]] with c = 1/sqrt2; temperature 1, identity targets.
    # L_I2T rows:    -log(e/(e + e^c)) - log(e^c/(1 + e^c))            (mean of 2)
    # L_T2I columns: -log(e/(e + 1))   - log(e^c/(e^c + e^c)) = .. + log 2 (mean of 2)
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    txt = torch.tensor([[1.0, 0.0], [3.0, 3.0]], dtype=torch.float64)
    c, e = 1 / math.sqrt(2), math.e
    i2t = (-math.log(e / (e + math.exp(c))) - math.log(math.exp(c) / (1 + math.exp(c)))) / 2
    t2i = (-math.log(e / (e + 1)) + math.log(2.0)) / 2
    assert float(cardl_loss(img, txt, 1.0)) == pytest.approx(i2t + t2i, abs=1e-12)


def test_cardl_loss_matches_slow_loop_with_labels_and_temperature():
    gen = torch.Generator().manual_seed(7)
    img = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    txt = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    labels = torch.tensor([[1, 0], [0, 1], [1, 0], [1, 1]])
    tau = 0.3

    def unit(row):
        norm = math.sqrt(sum(x * x for x in row))
        return [x / norm for x in row]

    u, v = [unit(r) for r in img.tolist()], [unit(r) for r in txt.tolist()]
    sims = [[sum(a * b for a, b in zip(u[i], v[j])) / tau for j in range(4)] for i in range(4)]
    sims_t = [[sims[j][i] for j in range(4)] for i in range(4)]
    targets = soft_targets_from_labels(labels).tolist()
    expected = slow_cross_entropy(sims, targets) + slow_cross_entropy(sims_t, targets)
    assert float(cardl_loss(img, txt, tau, labels)) == pytest.approx(expected, abs=1e-10)
    # without labels the targets are one-hot on the own pair
    eye = torch.eye(4).tolist()
    expected_eye = slow_cross_entropy(sims, eye) + slow_cross_entropy(sims_t, eye)
    assert float(cardl_loss(img, txt, tau)) == pytest.approx(expected_eye, abs=1e-10)


# -- the loop -----------------------------------------------------------------------------


def test_minibatches_are_seeded_partitions():
    a = minibatches(10, 4, torch.Generator().manual_seed(5))
    b = minibatches(10, 4, torch.Generator().manual_seed(5))
    assert [t.tolist() for t in a] == [t.tolist() for t in b]
    assert [len(t) for t in a] == [4, 4, 2]
    assert sorted(torch.cat(a).tolist()) == list(range(10))
    # a last batch smaller than min_batch is dropped
    assert [len(t) for t in minibatches(9, 4, torch.Generator().manual_seed(5), min_batch=2)] == [4, 4]


def _regression_problem():
    gen = torch.Generator().manual_seed(0)
    X = torch.randn(64, 3, generator=gen)
    y = X @ torch.tensor([[1.0], [-2.0], [0.5]])
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    return X, y, model


def test_train_loop_without_validation_runs_all_epochs_and_learns():
    X, y, model = _regression_problem()
    opt = adam(model, lr=0.05)
    step = loss_step(lambda idx: ((model(X[idx]) - y[idx]) ** 2).mean(), opt)
    result = train_loop(model, len(X), step, epochs=30, batch_size=16, seed=0, validate=None)
    losses = [h["train_loss"] for h in result.history]
    assert len(losses) == 30 and result.best_epoch == 30 and result.best_score is None
    assert losses[-1] < 0.05 * losses[0]
    assert all(h["val_score"] is None for h in result.history)
    assert not model.training  # left in eval mode


def test_early_stopping_restores_best_epoch():
    model = torch.nn.Linear(1, 1, bias=False)
    torch.nn.init.zeros_(model.weight)
    scores = [0.1, 0.5, 0.3, 0.2, 0.9, 0.95]
    seen = []

    def step(index):  # one batch per epoch (n=1): the weight counts the epochs
        with torch.no_grad():
            model.weight += 1.0
        return float(model.weight.detach())

    def validate():
        assert not model.training and not torch.is_grad_enabled()
        seen.append(float(model.weight.detach()))
        return scores[len(seen) - 1]

    result = train_loop(model, 1, step, epochs=6, batch_size=1, validate=validate, patience=2)
    # epochs 3 and 4 do not beat 0.5 -> stop after epoch 4; weights of epoch 2 restored
    assert len(result.history) == 4 and result.stopped_early
    assert result.best_epoch == 2 and result.best_score == 0.5
    assert float(model.weight.detach()) == 2.0
    assert [h["val_score"] for h in result.history] == scores[:4]

    # patience=None never stops early but still restores the best
    seen.clear()
    torch.nn.init.zeros_(model.weight)
    scores[:] = [0.1, 0.5, 0.3, 0.2, 0.4, 0.45]
    result = train_loop(model, 1, step, epochs=6, batch_size=1, validate=validate, patience=None)
    assert len(result.history) == 6 and result.best_epoch == 2 and float(model.weight.detach()) == 2.0


def test_dict_steps_are_averaged_per_epoch():
    model = torch.nn.Linear(1, 1)
    calls = iter(range(100))

    def step(index):
        k = next(calls)
        return {"gen": float(k), "disc": 10.0}

    result = train_loop(model, 4, step, epochs=2, batch_size=2, validate=None)
    assert result.history[0]["gen"] == 0.5 and result.history[1]["gen"] == 2.5
    assert result.history[0]["train_loss"] == 0.5 and result.history[0]["disc"] == 10.0


def test_train_loop_rejects_bad_arguments():
    model = torch.nn.Linear(1, 1)
    with pytest.raises(InputError):
        train_loop(model, 4, lambda i: 0.0, epochs=0, batch_size=2)
    with pytest.raises(InputError):
        train_loop(model, 4, lambda i: 0.0, epochs=1, batch_size=0)
