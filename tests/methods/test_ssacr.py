"""SSACR: the semantic-similarity loss by hand, learning, variants, persistence, errors."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from factories.data import assert_far_above_chance, assert_reloads_identically, split_maps  # noqa: E402
from scicmr.errors import InputError, NotFittedError  # noqa: E402
from scicmr.methods import create_method  # noqa: E402
from scicmr.methods.adversarial.losses import cosine_matrix, label_similarity, ssacr_similarity_loss  # noqa: E402
from scicmr.methods.adversarial.ssacr import SSACR  # noqa: E402

torch.set_num_threads(1)

SMALL = dict(hidden_dims=(32,), embed_dim=16, disc_hidden=(16, 8), epochs=6, batch_size=64, lr=3e-3, seed=0)


def t(rows):
    return torch.tensor(rows, dtype=torch.float32)


def test_label_similarity_by_hand():
    # [1,0]·[1,1] / (1 * sqrt 2) = 0.707107; the unlabelled row 2 matches only itself
    sim = label_similarity(t([[1, 0], [1, 1], [0, 0]])).numpy()
    s = 1 / math.sqrt(2)
    np.testing.assert_allclose(sim, [[1, s, 0], [s, 1, 0], [0, 0, 1]], atol=1e-6)


def test_similarity_loss_by_hand():
    # images v0 = [1,0], v1 = [0,1]; texts t0 = t1 = [1,0]; labels: two classes -> Sim_L = I
    # cross cos(v_i, t_j) = [[1, 1], [0, 0]]; minus I = [[0, 1], [0, -1]] -> squares mean (0+1+0+1)/4 = 0.5
    # image-image cos = I -> 0;  text-text cos = [[1,1],[1,1]] minus I = [[0,1],[1,0]] -> mean 0.5
    # L_sim = 0.5 + gamma * (0 + 0.5)
    img, txt, labels = t([[1, 0], [0, 1]]), t([[1, 0], [1, 0]]), t([[1, 0], [0, 1]])
    assert float(ssacr_similarity_loss(img, txt, labels, intra_weight=0.0)) == pytest.approx(0.5)
    assert float(ssacr_similarity_loss(img, txt, labels, intra_weight=1.0)) == pytest.approx(1.0)
    assert float(ssacr_similarity_loss(img, txt, labels, intra_weight=2.0)) == pytest.approx(1.5)
    # scale does not matter: similarities are cosines
    assert float(ssacr_similarity_loss(3 * img, 0.5 * txt, labels)) == pytest.approx(1.0)


def test_cosine_matrix_against_loop():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    expected = [[x @ y / np.linalg.norm(x) / np.linalg.norm(y) for y in b] for x in a]
    np.testing.assert_allclose(cosine_matrix(t(a), t(b)).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_learns_separable_classes_far_above_chance(class_data):
    X, Y, y = class_data["train"]
    model = SSACR(**SMALL).fit(X, Y, y)
    assert_far_above_chance(model, class_data["test"], 0.8, dim=16)
    history = model.history_
    assert {"imd", "sim", "adv"} <= set(history[0]) and history[-1]["emb"] < history[0]["emb"]


@pytest.mark.parametrize("variant", [dict(intra_weight=0.0), dict(alpha=10.0, k=4), dict(adv_weight=0.0)])
def test_variants_run(class_data, variant):
    X, Y, y = class_data["train"]
    model = SSACR(**{**SMALL, "epochs": 3}, **variant).fit(X, Y, y)
    assert split_maps(model, class_data["test"])[0] > 0.6  # image-to-text mAP; chance ~0.25


def test_save_load_bit_identical(tmp_path, class_data):
    X, Y, y = class_data["train"]
    model = SSACR(**{**SMALL, "epochs": 3}).fit(X, Y, y, validation=class_data["val"])
    assert_reloads_identically(model, tmp_path / "ssacr", *class_data["test"][:2])


def test_registry_and_errors(class_data):
    assert isinstance(create_method("ssacr", intra_weight=0.5), SSACR)
    X, Y, y = class_data["train"]
    with pytest.raises(NotFittedError):
        SSACR().transform_image(X)
    with pytest.raises(InputError, match="labels"):
        SSACR(**SMALL).fit(X, Y, None)
    for bad, word in [({"alpha": -1}, "alpha"), ({"intra_weight": -1}, "intra_weight"), ({"k": 0}, "k must"),
                      ({"disc_lr_scale": 0}, "disc_lr_scale"), ({"epochs": 0}, "epochs")]:
        with pytest.raises(InputError, match=word):
            SSACR(**{**SMALL, **bad}).fit(X, Y, y)
    model = SSACR(**{**SMALL, "epochs": 1}).fit(X[:80], Y[:80], y[:80])
    with pytest.raises(InputError, match="columns"):
        model.transform_image(Y)


@pytest.mark.parametrize("bad", [{"hidden_dims": 64}, {"hidden_dims": (0,)}, {"disc_hidden": (8, 8, 8)}, {"hidden_dims": ("x",)}])
def test_bad_widths_are_input_errors(class_data, bad):
    X, Y, y = class_data["train"]
    with pytest.raises(InputError, match="hidden"):
        SSACR(**{**SMALL, **bad}).fit(X, Y, y)
