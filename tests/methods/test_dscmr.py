"""DSCMR: the three losses (hand-computed and slow-loop references), learning, persistence."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from factories.data import (  # noqa: E402
    assert_far_above_chance,
    assert_reloads_identically,
    assert_seeded_and_rng_isolated,
    class_pairs,
)
from scicmr.errors import InputError, NotFittedError  # noqa: E402
from scicmr.methods import create_method  # noqa: E402
from scicmr.methods.common_space.base import (  # noqa: E402
    common_space_loss,
    invariance_loss,
    label_similarity,
    label_space_loss,
    pair_scores,
)
from scicmr.methods.common_space.dscmr import DSCMR  # noqa: E402
from scicmr.evaluation.metrics import cross_modal_score  # noqa: E402

torch.set_num_threads(1)

SMALL = dict(hidden_dims=(32,), embed_dim=16, epochs=8, batch_size=64, lr=3e-3, alpha=0.1, beta=0.1, seed=0)


def t(rows):
    return torch.tensor(rows, dtype=torch.float64)


def softplus(x):
    return math.log1p(math.exp(x))


# ----------------------------------------------------------------------------- the losses
def test_j1_label_space_hand_computed():
    U, V = t([[1, 0], [0, 1]]), t([[1, 1], [0, 0]])
    P, Z = t([[1, 0], [0, 1]]), t([[1, 0], [0, 1]])
    # UP − Z = 0; VP − Z = [[0, 1], [0, −1]], squared sum 2; J1 = (0 + 2) / b = 2 / 2 = 1
    assert float(label_space_loss(U, V, P, Z)) == pytest.approx(1.0, abs=1e-12)


def test_j3_invariance_hand_computed():
    U, V = t([[1, 0], [0, 1]]), t([[1, 1], [0, 0]])
    # U − V = [[0, −1], [0, 1]], squared sum 2, divided by b = 2 → 1
    assert float(invariance_loss(U, V)) == pytest.approx(1.0, abs=1e-12)
    assert float(invariance_loss(U, U)) == 0.0


def test_j2_half_cosine_hand_computed():
    U, V = t([[1, 0], [0, 2]]), t([[3, 0], [0, -1]])
    S = label_similarity(t([[1, 0], [0, 1]]), 2).double()  # = I
    # Θ = ½cos(U, V) = [[.5, 0], [0, −.5]]; per pair softplus(θ) − Sθ:
    #   (0,0) softplus(.5) − .5 = 0.474077, (0,1) = (1,0) = log 2 = 0.693147,
    #   (1,1) softplus(−.5) + .5 = 0.974077 → mean 2.834448 / 4 = 0.708612
    # Γ = ½cos(U, U) = ½I and Φ = ½cos(V, V) = ½I → each (2·0.474077 + 2·0.693147) / 4 = 0.583612
    cross = (softplus(0.5) - 0.5 + 2 * math.log(2) + softplus(-0.5) + 0.5) / 4
    within = (2 * (softplus(0.5) - 0.5) + 2 * math.log(2)) / 4
    assert cross == pytest.approx(0.708612, abs=1e-6) and within == pytest.approx(0.583612, abs=1e-6)
    got = float(common_space_loss(U, V, S, "cosine", 0.5))
    assert got == pytest.approx(cross + 2 * within, abs=1e-12)
    assert got == pytest.approx(1.875836, abs=1e-6)


def slow_j2(U, V, S, cosine, scale):
    """Triple loop over the three pair sets, straight from DSCMR eq. (2)."""
    def sim(a, b):
        dot = sum(x * y for x, y in zip(a, b))
        if cosine:
            dot /= max(math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)), 1e-6)
        return scale * dot

    n, total = len(U), 0.0
    for A, B in ((U, V), (U, U), (V, V)):
        for i in range(n):
            for j in range(n):
                theta = sim(A[i], B[j])
                total += (math.log(1 + math.exp(theta)) - S[i][j] * theta) / (n * n)
    return total


@pytest.mark.parametrize("cosine,scale", [(True, 0.5), (False, 1.0)])
def test_j2_matches_slow_loop(cosine, scale):
    rng = np.random.default_rng(0)
    U, V = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    labels = (rng.random((7, 3)) < 0.4).astype(float)
    S = label_similarity(t(labels), 7).double()
    expected = slow_j2(U.tolist(), V.tolist(), S.tolist(), cosine, scale)
    got = float(common_space_loss(t(U), t(V), S, "cosine" if cosine else "inner", scale))
    assert got == pytest.approx(expected, rel=1e-10)


def test_j1_j3_match_slow_loops():
    rng = np.random.default_rng(1)
    U, V, P, Z = rng.normal(size=(5, 3)), rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.random((5, 4))
    j1 = sum((sum(M[i][a] * P[a][c] for a in range(3)) - Z[i][c]) ** 2
             for M in (U, V) for i in range(5) for c in range(4)) / 5
    j3 = sum((U[i][a] - V[i][a]) ** 2 for i in range(5) for a in range(3)) / 5
    assert float(label_space_loss(t(U), t(V), t(P), t(Z))) == pytest.approx(j1, rel=1e-12)
    assert float(invariance_loss(t(U), t(V))) == pytest.approx(j3, rel=1e-12)


def test_label_similarity_shares_a_label_and_keeps_the_diagonal():
    Z = t([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 0, 0]])  # the last item has no label
    expected = [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    assert label_similarity(Z, 4).tolist() == expected
    assert label_similarity(None, 3).tolist() == np.eye(3).tolist()


def test_cosine_scores_survive_zero_vectors():
    scores = pair_scores(t([[0, 0], [1, 0]]), t([[1, 0]]), "cosine", 0.5)
    assert torch.isfinite(scores).all() and scores.tolist() == [[0.0], [0.5]]
    with pytest.raises(ValueError, match="similarity"):
        pair_scores(t([[1, 0]]), t([[1, 0]]), "euclid", 1.0)


def test_objective_is_j1_plus_alpha_j2_plus_beta_j3():
    rng = np.random.default_rng(2)
    U, V = torch.tensor(rng.normal(size=(6, 4))), torch.tensor(rng.normal(size=(6, 4)))
    P, Z = torch.tensor(rng.normal(size=(4, 3))), torch.tensor(np.eye(3)[[0, 1, 2, 0, 1, 2]])
    terms = DSCMR(alpha=0.3, beta=0.7).objective(U, V, Z, P)
    assert float(terms["j2"]) == pytest.approx(float(common_space_loss(U, V, label_similarity(Z, 6).double())))
    total = terms["j1"] + 0.3 * terms["j2"] + 0.7 * terms["j3"]
    assert float(terms["loss"]) == pytest.approx(float(total), rel=1e-12)


# ----------------------------------------------------------------------------- the method


def test_learns_separable_classes_far_above_chance(class_data):
    X, Y, y = class_data["train"]
    model = DSCMR(**SMALL).fit(X, Y, y)
    assert_far_above_chance(model, class_data["test"], 0.8, dim=16)
    assert model.n_classes_ == 4 and model.net_.classifier.weight.shape == (4, 16)
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]
    assert {"j1", "j2", "j3"} <= set(model.history_[0])


def test_last_layer_is_shared():
    X, Y, y = class_pairs(80, 4)
    model = DSCMR(**{**SMALL, "epochs": 1}).fit(X, Y, y)
    shared = model.net_.shared[-1]
    with torch.no_grad():
        shared.weight.zero_()
        shared.bias.fill_(1.0)
    # both media now land on the same point: the last Linear is one module used by both towers
    assert np.allclose(model.transform_image(X[:3]), model.transform_text(Y[:3]))


def latent_pairs(n, seed, latent=4, dx=20, dy=12):
    """Pairs that share a continuous latent z (each pair is its own "class"): X = zA + noise,
    Y = zB + noise, the maps fixed across splits. Returns X (n, dx), Y (n, dy) float32."""
    rng = np.random.default_rng(2000)
    A, B = rng.normal(size=(latent, dx)), rng.normal(size=(latent, dy))
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, latent))
    X, Y = z @ A + 0.1 * rng.normal(size=(n, dx)), z @ B + 0.1 * rng.normal(size=(n, dy))
    return X.astype(np.float32), Y.astype(np.float32)


def test_without_labels_pairs_still_align():
    X, Y = latent_pairs(400, 1)
    model = DSCMR(**SMALL).fit(X, Y)
    assert model.n_classes_ == 0 and model.net_.classifier is None
    assert model.history_[0]["j1"] == 0.0
    Xt, Yt = latent_pairs(200, 3)
    # S = I: each pair is its own class; pair MRR by chance is about H_200 / 200 ≈ 0.03
    assert cross_modal_score(model.transform_image(Xt), model.transform_text(Yt), None) > 0.3


def test_same_seed_same_model_and_rng_untouched(class_data):
    assert_seeded_and_rng_isolated(DSCMR, {**SMALL, "epochs": 2}, *class_data["train"])


def test_save_load_bit_identical(tmp_path, class_data):
    X, Y, y = class_data["train"]
    model = DSCMR(**{**SMALL, "epochs": 4, "patience": 2}).fit(X, Y, y, validation=class_data["val"])
    loaded = assert_reloads_identically(model, tmp_path / "dscmr", *class_data["test"][:2])
    assert torch.equal(loaded.net_.classifier.weight, model.net_.classifier.weight)
    best = model.history_[model.best_epoch_ - 1]["val_score"]
    Xv, Yv, yv = class_data["val"]
    onehot = np.eye(4)[yv]
    assert cross_modal_score(loaded.transform_image(Xv), loaded.transform_text(Yv), onehot) == pytest.approx(best)


def test_registry_and_defaults():
    model = create_method("dscmr", alpha=0.5)
    assert isinstance(model, DSCMR) and model.alpha == 0.5
    assert model.get_params()["beta"] == 0.1 and model.embed_dim == 1024


def test_errors_name_the_problem(class_data):
    X, Y, y = class_data["train"]
    with pytest.raises(NotFittedError):
        DSCMR().transform_image(X)
    for bad, match in [({"alpha": -1.0}, "weights"), ({"batch_size": 1}, "batch_size"),
                       ({"hidden_dims": ()}, "hidden_dims"), ({"activation": "gelu"}, "activation"),
                       ({"dropout": 1.0}, "dropout"), ({"lr": 0.0}, "lr")]:
        with pytest.raises(InputError, match=match):
            DSCMR(**{**SMALL, **bad}).fit(X, Y, y)
    with pytest.raises(InputError, match="validation"):
        DSCMR(**SMALL).fit(X, Y, y, validation=(X[:10], Y[:9], None))
    model = DSCMR(**{**SMALL, "epochs": 1}).fit(X[:80], Y[:80], y[:80])
    with pytest.raises(InputError, match="columns"):
        model.transform_image(Y)
