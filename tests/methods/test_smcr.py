"""SMCR: its loss terms by hand, the alternating min–max step, learning, variants, persistence."""

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from factories.data import (  # noqa: E402
    assert_far_above_chance,
    assert_reloads_identically,
    assert_seeded_and_rng_isolated,
    split_maps,
)
from scicmr.errors import InputError, NotFittedError  # noqa: E402
from scicmr.methods import create_method  # noqa: E402
from scicmr.methods.adversarial.base import MediaDiscriminator, alternating_step, frozen  # noqa: E402
from scicmr.methods.adversarial.losses import (  # noqa: E402
    label_prediction_loss,
    media_adversarial_loss,
    smcr_consistency_loss,
    smcr_constraint_loss,
)
from scicmr.methods.adversarial.smcr import SMCR  # noqa: E402

torch.set_num_threads(1)

SMALL = dict(hidden_dims=(32,), embed_dim=16, disc_hidden=(16, 8), epochs=6, batch_size=64, lr=3e-3, seed=0)


def t(rows):
    return torch.tensor(rows, dtype=torch.float32)


# -- the loss terms, by hand


def test_label_prediction_loss_by_hand():
    # row 0: image logits [ln 3, 0] -> p = [3/4, 1/4]; text logits [0, 0] -> p = [1/2, 1/2]; class 0
    #   -> -(ln 3/4 + ln 1/2) = 0.287682 + 0.693147 = 0.980829
    # row 1: labels [1, 1] -> target [1/2, 1/2]; both logits [0, 0]
    #   -> -(1/2 ln 1/2 + 1/2 ln 1/2) * 2 media = 2 ln 2 = 1.386294
    # mean over the 2 rows = (0.980829 + 1.386294) / 2 = 1.183562
    img, txt = t([[math.log(3), 0.0], [0.0, 0.0]]), t([[0.0, 0.0], [0.0, 0.0]])
    labels = t([[1, 0], [1, 1]])
    assert float(label_prediction_loss(img, txt, labels)) == pytest.approx(1.183562, abs=1e-5)
    # an unlabelled row adds 0 but still counts in the mean: (0.980829 + 0) / 2
    assert float(label_prediction_loss(img, txt, t([[1, 0], [0, 0]]))) == pytest.approx(0.490415, abs=1e-5)


def test_media_adversarial_loss_by_hand():
    # D = sigmoid(logit) = P(text). Image logit 0 -> P(image) = 1/2; text logit ln 3 -> P(text) = 3/4
    #   -> -(ln 1/2 + ln 3/4) = 0.693147 + 0.287682 = 0.980829
    assert float(media_adversarial_loss(t([0.0]), t([math.log(3)]))) == pytest.approx(0.980829, abs=1e-5)
    # a perfect discriminator (image logit -inf-ish, text +inf-ish) has loss ~0; swapped media ~huge
    assert float(media_adversarial_loss(t([-30.0]), t([30.0]))) < 1e-6
    assert float(media_adversarial_loss(t([30.0]), t([-30.0]))) == pytest.approx(60.0, abs=1e-4)


def test_consistency_loss_by_hand():
    # row 0: semantics [1, 0] vs [0, 1] -> sqrt(2) = 1.414214; embeddings [3, 0] vs [0, 4] -> 5
    # row 1: identical semantics and embeddings -> 0 + 0
    # mean of the semantic distances (1.414214 + 0) / 2 + mean of embedding distances (5 + 0) / 2 = 3.207107
    sem_v, sem_t = t([[1, 0], [0.5, 0.5]]), t([[0, 1], [0.5, 0.5]])
    emb_v, emb_t = t([[3, 0], [1, 1]]), t([[0, 4], [1, 1]])
    assert float(smcr_consistency_loss(sem_v, sem_t, emb_v, emb_t)) == pytest.approx(3.207107, abs=1e-5)


def test_constraint_loss_by_hand():
    # row 0: S_V = [0, 0], S_T = [4, 0], S'_V = [1, 0], S'_T = [0, 0]
    #   L_con,V = max(0, |S'_V - S_T| - |S'_V - S_V|) = max(0, 3 - 1) = 2
    #   L_con,T = max(0, |S'_T - S_V| - |S'_T - S_T|) = max(0, 0 - 4) = 0
    # row 1: S_V = [0, 0], S_T = [0, 2], S'_V = [0, 2] (on S_T), S'_T = [0, 3]
    #   L_con,V = max(0, 0 - 2) = 0;  L_con,T = max(0, |[0,3]-[0,0]| - |[0,3]-[0,2]|) = max(0, 3 - 1) = 2
    # L_con = mean(2, 0) + mean(0, 2) = 1 + 1 = 2
    s_v, s_t = t([[0, 0], [0, 0]]), t([[4, 0], [0, 2]])
    r_v, r_t = t([[1, 0], [0, 2]]), t([[0, 0], [0, 3]])
    assert float(smcr_constraint_loss(s_v, s_t, r_v, r_t)) == pytest.approx(2.0, abs=1e-6)
    # margin 1: row 0 -> (3, 0); row 1 -> (max(0, -2 + 1) = 0, 3) -> mean(3, 0) + mean(0, 3) = 3
    assert float(smcr_constraint_loss(s_v, s_t, r_v, r_t, margin=1.0)) == pytest.approx(3.0, abs=1e-6)


def test_losses_have_finite_gradients_when_pairs_coincide():
    emb = torch.zeros(3, 4, requires_grad=True)
    sem = torch.full((3, 2), 0.5, requires_grad=True)
    (smcr_consistency_loss(sem, sem, emb, emb) + smcr_constraint_loss(emb, emb, emb, emb)).backward()
    assert torch.isfinite(emb.grad).all() and torch.isfinite(sem.grad).all()


# -- the alternating min-max step (Algorithm 1)


def test_alternating_step_updates_discriminator_once_per_k_and_freezes_it_for_the_generator():
    torch.manual_seed(0)
    gen, disc = torch.nn.Linear(3, 4), MediaDiscriminator(4, (16, 8))
    x = torch.randn(8, 3)
    gen_opt = torch.optim.SGD(gen.parameters(), lr=0.1)
    disc_opt = torch.optim.SGD(disc.parameters(), lr=0.1)
    seen = {}

    def generator_loss(index):
        emb = gen(x[index])
        adv = media_adversarial_loss(disc(emb[:4]), disc(emb[4:]))
        seen["disc_grad"] = [p.requires_grad for p in disc.parameters()]
        # a plain term besides -adv keeps the generator's gradient non-zero whatever D does
        return {"objective": emb.pow(2).mean() - adv, "adv": adv}

    def discriminator_loss(index):
        with torch.no_grad():
            emb = gen(x[index])
        return media_adversarial_loss(disc(emb[:4]), disc(emb[4:]))

    step = alternating_step(generator_loss, discriminator_loss, gen_opt, disc_opt, discriminator=disc, k=3)
    index = torch.arange(8)
    snapshots = []
    for _ in range(6):
        before = [p.detach().clone() for p in disc.parameters()]
        gen_before = gen.weight.detach().clone()
        logs = step(index)
        changed = any(not torch.equal(b, p) for b, p in zip(before, disc.parameters()))
        snapshots.append(changed)
        assert not torch.equal(gen_before, gen.weight)  # the generator moves every call
        assert set(logs) == {"objective", "adv"} and all(isinstance(v, float) for v in logs.values())
    assert snapshots == [False, False, True, False, False, True]
    assert seen["disc_grad"] == [False] * 6  # frozen during the generator's pass ...
    assert all(p.requires_grad for p in disc.parameters())  # ... and unfrozen after
    with pytest.raises(InputError, match="k"):
        alternating_step(generator_loss, discriminator_loss, gen_opt, disc_opt, discriminator=disc, k=0)


def test_frozen_restores_flags_even_on_error():
    layer = torch.nn.Linear(2, 2)
    layer.bias.requires_grad_(False)
    with pytest.raises(RuntimeError):
        with frozen(layer):
            assert not layer.weight.requires_grad
            raise RuntimeError("boom")
    assert layer.weight.requires_grad and not layer.bias.requires_grad


def test_discriminator_has_three_layers():
    disc = MediaDiscriminator(16, (8, 4))
    assert sum(isinstance(m, torch.nn.Linear) for m in disc.modules()) == 3
    assert disc(torch.zeros(5, 16)).shape == (5,)
    with pytest.raises(InputError, match="three layers"):
        MediaDiscriminator(16, (8,))


# -- the method


def test_learns_separable_classes_far_above_chance(class_data):
    X, Y, y = class_data["train"]
    model = SMCR(**SMALL).fit(X, Y, y)
    assert_far_above_chance(model, class_data["test"], 0.8, dim=16)
    history = model.history_
    assert len(history) == SMALL["epochs"] and {"imd", "imi", "con", "adv"} <= set(history[0])
    assert history[-1]["emb"] < history[0]["emb"]


@pytest.mark.parametrize(
    "variant", [dict(use_imi=False), dict(use_con=False), dict(alpha=0.1, beta=0.1), dict(adv_weight=0.0, k=2)]
)
def test_variants_run_and_learn(class_data, variant):
    X, Y, y = class_data["train"]
    model = SMCR(**{**SMALL, "epochs": 4}, **variant).fit(X, Y, y)
    i2t, t2i = split_maps(model, class_data["test"])
    assert i2t > 0.6 and t2i > 0.6
    last = model.history_[-1]
    if variant.get("use_imi") is False:
        assert last["imi"] == 0.0
    if variant.get("use_con") is False:
        assert last["con"] == 0.0 and not any(k.startswith("refine") for k in model.net_.state_dict())


@pytest.mark.parametrize("alpha,beta", [(0.1, 100), (100, 0.1)])
def test_sensitivity_grid_extremes_train_without_blowing_up(class_data, alpha, beta):
    X, Y, y = class_data["train"]
    model = SMCR(**{**SMALL, "epochs": 2}, alpha=alpha, beta=beta).fit(X, Y, y)
    assert all(np.isfinite(h["objective"]) for h in model.history_)
    assert np.isfinite(model.transform_image(X[:5])).all()


def test_ablation_flags_change_the_model(class_data):
    X, Y, y = class_data["train"]
    params = {**SMALL, "epochs": 2}
    full = SMCR(**params).fit(X, Y, y).transform_image(X[:10])
    no_imi = SMCR(use_imi=False, **params).fit(X, Y, y).transform_image(X[:10])
    assert not np.array_equal(full, no_imi)


def test_same_seed_same_model_and_global_rng_untouched(class_data):
    assert_seeded_and_rng_isolated(SMCR, {**SMALL, "epochs": 2}, *class_data["train"])


def test_save_load_bit_identical(tmp_path, class_data):
    X, Y, y = class_data["train"]
    model = SMCR(**{**SMALL, "epochs": 3}).fit(X, Y, y, validation=class_data["val"])
    loaded = assert_reloads_identically(model, tmp_path / "smcr", *class_data["test"][:2])
    assert loaded.n_classes_ == 4 and list(loaded.hidden_dims) == [32]


def test_registry_defaults():
    model = create_method("smcr", alpha=10, beta=0.1)
    assert isinstance(model, SMCR) and model.alpha == 10 and model.beta == 0.1
    assert model.get_params()["use_imi"] is True and model.get_params()["use_con"] is True


def test_errors_name_the_problem(class_data):
    X, Y, y = class_data["train"]
    with pytest.raises(NotFittedError):
        SMCR().transform_image(X)
    with pytest.raises(NotFittedError):
        SMCR().save("unused")
    with pytest.raises(InputError, match="labels"):
        SMCR(**SMALL).fit(X, Y)
    for bad, word in [({"alpha": -1}, "alpha"), ({"beta": -0.5}, "beta"), ({"k": 0}, "k must"),
                      ({"batch_size": 1}, "batch_size"), ({"disc_hidden": (8,)}, "disc_hidden"),
                      ({"dropout": 1.0}, "dropout"), ({"lr": 0}, "lr")]:
        with pytest.raises(InputError, match=word):
            SMCR(**{**SMALL, **bad}).fit(X, Y, y)
    model = SMCR(**{**SMALL, "epochs": 1}).fit(X[:80], Y[:80], y[:80])
    with pytest.raises(InputError, match="columns"):
        model.transform_text(X)


def test_unit_sphere_geometry_runs_and_differs(class_data):
    X, Y, y = class_data["train"]
    params = {**SMALL, "epochs": 3}
    sphere = SMCR(unit_sphere=True, **params).fit(X, Y, y)
    i2t, t2i = split_maps(sphere, class_data["test"])
    assert i2t > 0.6 and t2i > 0.6
    assert not np.array_equal(sphere.transform_image(X[:5]), SMCR(**params).fit(X, Y, y).transform_image(X[:5]))
