"""CARDL: learns on separable synthetic pairs, is deterministic, saves/loads bit-identically."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scicmr.errors import InputError, NotFittedError  # noqa: E402
from scicmr.methods import create_method, load_method  # noqa: E402
from scicmr.methods.cardl import CARDL  # noqa: E402
from scicmr.methods.training import full_map, retrieval_score  # noqa: E402

torch.set_num_threads(1)

SMALL = dict(hidden_dims=(32,), embed_dim=16, epochs=6, batch_size=64, lr=3e-3, seed=0)


def class_pairs(n, seed, classes=4, dx=20, dy=12, spread=1.0):
    """Image/text pairs whose features are class-dependent Gaussians in both views.

    Returns X (n, dx) float32, Y (n, dy) float32, y (n,) int class ids.
    """
    rng = np.random.default_rng(1000)  # class centres are shared by every split
    centres_x, centres_y = 2.0 * rng.normal(size=(classes, dx)), 2.0 * rng.normal(size=(classes, dy))
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = centres_x[y] + spread * rng.normal(size=(n, dx)) + 5.0  # offset: standardising matters
    Y = 10.0 * (centres_y[y] + spread * rng.normal(size=(n, dy)))  # other scale per view
    return X.astype(np.float32), Y.astype(np.float32), y


@pytest.fixture(scope="module")
def data():
    return {"train": class_pairs(400, 1), "val": class_pairs(100, 2), "test": class_pairs(200, 3)}


def _test_maps(model, data):
    X, Y, y = data["test"]
    onehot = np.eye(4)[y]
    img, txt = model.transform_image(X), model.transform_text(Y)
    return full_map(img, txt, onehot, onehot), full_map(txt, img, onehot, onehot)


@pytest.mark.parametrize("use_labels", [True, False])
def test_learns_separable_classes_far_above_chance(data, use_labels):
    X, Y, y = data["train"]
    model = CARDL(use_labels=use_labels, **SMALL).fit(X, Y, y if use_labels else None)
    i2t, t2i = _test_maps(model, data)
    assert i2t > 0.8 and t2i > 0.8  # chance is about 0.25 with 4 balanced classes
    img = model.transform_image(data["test"][0])
    assert img.dtype == np.float32 and img.shape == (200, 16)
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1.0, atol=1e-5)
    assert len(model.history_) == SMALL["epochs"] and model.best_epoch_ == SMALL["epochs"]
    assert model.history_[-1]["train_loss"] < model.history_[0]["train_loss"]


def test_default_embedding_size_is_64(data):
    X, Y, y = data["train"]
    model = CARDL(epochs=1, hidden_dims=(16,)).fit(X[:50], Y[:50], y[:50])
    assert model.transform_text(Y[:3]).shape == (3, 64)


def test_same_seed_same_model_different_seed_differs(data):
    X, Y, y = data["train"]
    a = CARDL(**SMALL).fit(X, Y, y).transform_image(X[:20])
    b = CARDL(**SMALL).fit(X, Y, y).transform_image(X[:20])
    c = CARDL(**{**SMALL, "seed": 1}).fit(X, Y, y).transform_image(X[:20])
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_leaves_the_global_torch_rng_alone(data):
    X, Y, y = data["train"]
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    CARDL(**{**SMALL, "epochs": 1}).fit(X, Y, y)
    assert torch.equal(torch.rand(3), expected)


def test_save_load_bit_identical(tmp_path, data):
    X, Y, y = data["train"]
    model = CARDL(learn_temperature=True, **SMALL).fit(X, Y, y, validation=data["val"])
    model.save(tmp_path / "cardl")
    loaded = load_method(tmp_path / "cardl")
    assert isinstance(loaded, CARDL)
    Xt, Yt, _ = data["test"]
    assert np.array_equal(loaded.transform_image(Xt), model.transform_image(Xt))
    assert np.array_equal(loaded.transform_text(Yt), model.transform_text(Yt))
    assert loaded.best_epoch_ == model.best_epoch_ and loaded.history_ == model.history_
    assert loaded.temperature_ == model.temperature_
    assert list(loaded.hidden_dims) == list(model.hidden_dims)


def test_learned_temperature_moves_fixed_one_does_not(data):
    X, Y, y = data["train"]
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
    rescored = retrieval_score(model.transform_image(Xv), model.transform_text(Yv), onehot)
    assert rescored == pytest.approx(max(scores), abs=1e-9)
    # ... and equals a run stopped at that epoch (validation touches no RNG and no weights)
    short = CARDL(**{**params, "epochs": model.best_epoch_}).fit(X, Y, y)
    assert np.array_equal(short.transform_image(Xv), model.transform_image(Xv))


def test_validation_without_labels_uses_pair_mrr(data):
    X, Y, _ = data["train"]
    Xv, Yv, _ = data["val"]
    model = CARDL(**{**SMALL, "epochs": 2}).fit(X, Y, validation=(Xv, Yv, None))
    best = model.history_[model.best_epoch_ - 1]["val_score"]
    assert best == pytest.approx(retrieval_score(model.transform_image(Xv), model.transform_text(Yv), None), abs=1e-9)


def test_registry_and_params():
    model = create_method("cardl", embed_dim=8)
    assert isinstance(model, CARDL) and model.embed_dim == 8 and model.get_params()["epochs"] == 100


def test_errors_name_the_problem(data):
    X, Y, y = data["train"]
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
