"""CARDL: learns on separable synthetic pairs, is deterministic, saves/loads bit-identically."""

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
from scicmr.methods.common_space.cardl import CARDL  # noqa: E402
from scicmr.evaluation.metrics import cross_modal_score  # noqa: E402

torch.set_num_threads(1)

SMALL = dict(hidden_dims=(32,), embed_dim=16, epochs=6, batch_size=64, lr=3e-3, seed=0)


@pytest.mark.parametrize("use_labels", [True, False])
def test_learns_separable_classes_far_above_chance(class_data, use_labels):
    X, Y, y = class_data["train"]
    model = CARDL(use_labels=use_labels, **SMALL).fit(X, Y, y if use_labels else None)
    assert_far_above_chance(model, class_data["test"], 0.8, dim=16)
    assert len(model.history_) == SMALL["epochs"] and model.best_epoch_ == SMALL["epochs"]
    assert model.history_[-1]["train_loss"] < model.history_[0]["train_loss"]


def test_default_embedding_size_is_64(class_data):
    X, Y, y = class_data["train"]
    model = CARDL(epochs=1, hidden_dims=(16,)).fit(X[:50], Y[:50], y[:50])
    assert model.transform_text(Y[:3]).shape == (3, 64)


def test_same_seed_same_model_different_seed_differs_global_rng_untouched(class_data):
    assert_seeded_and_rng_isolated(CARDL, SMALL, *class_data["train"])


def test_save_load_bit_identical(tmp_path, class_data):
    X, Y, y = class_data["train"]
    model = CARDL(learn_temperature=True, **SMALL).fit(X, Y, y, validation=class_data["val"])
    loaded = assert_reloads_identically(model, tmp_path / "cardl", *class_data["test"][:2])
    assert loaded.temperature_ == model.temperature_
    assert list(loaded.hidden_dims) == list(model.hidden_dims)


def test_learned_temperature_moves_fixed_one_does_not(class_data):
    X, Y, y = class_data["train"]
    fixed = CARDL(**{**SMALL, "epochs": 2}).fit(X, Y, y)
    learned = CARDL(learn_temperature=True, **{**SMALL, "epochs": 2}).fit(X, Y, y)
    assert fixed.temperature_ == pytest.approx(0.07, rel=1e-6)
    assert learned.temperature_ != pytest.approx(0.07, rel=1e-4)


def test_early_stopping_restores_best_epoch():
    # noisy classes and a high learning rate: the validation score peaks, then wanders
    X, Y, y = class_pairs(400, 1, spread=3.0)
    Xv, Yv, yv = class_pairs(100, 2, spread=3.0)
    params = {**SMALL, "epochs": 40, "lr": 1e-2, "patience": 3}
    model = CARDL(**params).fit(X, Y, y, validation=(Xv, Yv, yv))
    scores = [h["val_score"] for h in model.history_]
    assert len(scores) < 40 and len(scores) == model.best_epoch_ + 3
    assert scores[model.best_epoch_ - 1] == max(scores) and len(set(scores)) > 1
    # the model holds the best epoch's weights: rescoring it gives the best score back ...
    onehot = np.eye(4)[yv]
    rescored = cross_modal_score(model.transform_image(Xv), model.transform_text(Yv), onehot)
    assert rescored == pytest.approx(max(scores), abs=1e-9)
    # ... and equals a run stopped at that epoch (validation touches no RNG and no weights)
    short = CARDL(**{**params, "epochs": model.best_epoch_}).fit(X, Y, y)
    assert np.array_equal(short.transform_image(Xv), model.transform_image(Xv))


def test_validation_without_labels_uses_pair_mrr(class_data):
    X, Y, _ = class_data["train"]
    Xv, Yv, _ = class_data["val"]
    model = CARDL(**{**SMALL, "epochs": 2}).fit(X, Y, validation=(Xv, Yv, None))
    best = model.history_[model.best_epoch_ - 1]["val_score"]
    assert best == pytest.approx(cross_modal_score(model.transform_image(Xv), model.transform_text(Yv), None), abs=1e-9)


def test_registry_and_params():
    model = create_method("cardl", embed_dim=8)
    assert isinstance(model, CARDL) and model.embed_dim == 8 and model.get_params()["epochs"] == 100


def test_errors_name_the_problem(class_data):
    X, Y, y = class_data["train"]
    with pytest.raises(NotFittedError):
        CARDL().transform_text(Y)
    with pytest.raises(InputError, match="rows"):
        CARDL(**SMALL).fit(X, Y[:-1])
    with pytest.raises(InputError, match="validation"):
        CARDL(**SMALL).fit(X, Y, y, validation=(X[:10], Y[:9], None))
    with pytest.raises(InputError, match="batch_size"):
        CARDL(batch_size=1).fit(X, Y)
    with pytest.raises(InputError, match="CUDA|device"):
        CARDL(device="cuda:7" if not torch.cuda.is_available() else "nonsense").fit(X, Y)
    model = CARDL(**{**SMALL, "epochs": 1}).fit(X[:80], Y[:80], y[:80])
    with pytest.raises(InputError, match="columns"):
        model.transform_image(Y)
    with pytest.raises(InputError, match="columns"):
        model.transform_text(X)
