"""DCMH, MS-SCH-GAN and the masked hash transformer: each learns on separable synthetic data
(Hamming-ranking mAP far above chance), end to end on tiny images, reloads bit-identically,
and rejects bad input clearly."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from factories.data import class_splits  # noqa: E402
from factories.hashing import chance_map, hamming_map, tiny_images  # noqa: E402

from scicmr.errors import InputError, NotFittedError  # noqa: E402
from scicmr.hashing.base import model_bits, produces_codes  # noqa: E402
from scicmr.hashing.codes import pack_codes  # noqa: E402
from scicmr.methods import create_method, load_method  # noqa: E402

torch.set_num_threads(1)

SMALL = {
    "dcmh": dict(hidden_dims=(32,), epochs=15, batch_size=64, lr=3e-3),
    "ms-sch-gan": dict(hidden_dims=(32,), epochs=8, batch_size=64, lr=3e-3, pool_size=32),
    "mask-hash-transformer": dict(d_model=32, ff_dim=64, n_heads=4, image_regions=4, text_tokens=4,
                                  text_vocab=16, min_token_width=4, epochs=10, batch_size=64, lr=3e-3),
}


@pytest.fixture(scope="module")
def data():
    # 24 / 16 dimensions, image features offset by 3, text scaled by 5 (400 / 100 / 200 pairs)
    return class_splits(dx=24, dy=16, x_offset=3.0, y_scale=5.0)


@pytest.fixture(scope="module")
def fitted(data):
    X, Y, y = data["train"]
    Xv, Yv, yv = data["val"]
    return {name: create_method(name, n_bits=16, **params).fit(X, Y, y, validation=(Xv, Yv, yv))
            for name, params in SMALL.items()}


@pytest.mark.parametrize("name", list(SMALL))
def test_learns_separable_data(name, fitted, data):
    X, Y, y = data["test"]
    i2t, t2i = hamming_map(fitted[name], X, Y, y)
    chance = chance_map(y)
    assert i2t > chance + 0.45 and t2i > chance + 0.45, (i2t, t2i, chance)


@pytest.mark.parametrize("name", list(SMALL))
def test_codes_and_save_load_identity(name, fitted, data, tmp_path):
    model = fitted[name]
    X, Y, _ = data["test"]
    assert produces_codes(model) and model_bits(model) == 16
    relaxed = model.transform_image(X)
    assert relaxed.shape == (len(X), 16) and relaxed.dtype == np.float32
    assert np.abs(relaxed).max() <= 1.0
    np.testing.assert_array_equal(model.codes_image(X), pack_codes(relaxed))
    assert model.codes_text(Y).shape == (len(Y), 2)
    loaded = load_method(model.save(tmp_path / name))
    assert type(loaded) is type(model)
    np.testing.assert_array_equal(loaded.transform_image(X), relaxed)
    np.testing.assert_array_equal(loaded.transform_text(Y), model.transform_text(Y))


@pytest.mark.parametrize("name", list(SMALL))
def test_seeded_fits_repeat(name, data):
    X, Y, y = (a[:120] for a in data["train"])
    params = {**SMALL[name], "epochs": 2}
    a = create_method(name, n_bits=8, **params).fit(X, Y, y)
    b = create_method(name, n_bits=8, **params).fit(X, Y, y)
    np.testing.assert_array_equal(a.transform_text(Y), b.transform_text(Y))


def test_ms_sch_gan_learns_from_mostly_unlabelled_pairs(data):
    X, Y, y = data["train"]
    semi = y.copy()
    semi[80:] = -1  # 80 labelled pairs, 320 unlabelled
    model = create_method("ms-sch-gan", n_bits=16, **SMALL["ms-sch-gan"]).fit(X, Y, semi)
    Xt, Yt, yt = data["test"]
    i2t, t2i = hamming_map(model, Xt, Yt, yt)
    assert min(i2t, t2i) > chance_map(yt) + 0.45, (i2t, t2i)
    # the multi-hot form (all-zero rows unlabelled) is accepted too
    onehot = np.eye(4, dtype=np.float32)[y]
    onehot[80:] = 0
    create_method("ms-sch-gan", n_bits=8, **{**SMALL["ms-sch-gan"], "epochs": 1}).fit(X, Y, onehot)


@pytest.mark.parametrize("name", ["dcmh", "mask-hash-transformer"])
def test_end_to_end_on_tiny_images(name, data):
    _, Y, y = data["train"]
    _, Yt, yt = data["test"]
    images, test_images = tiny_images(y, 5), tiny_images(yt, 6)
    params = {**SMALL[name], "epochs": 15}
    model = create_method(name, n_bits=16, image_shape=(3, 8, 8), cnn_channels=16, **params).fit(images, Y, y)
    i2t, t2i = hamming_map(model, test_images, Yt, yt)
    assert min(i2t, t2i) > chance_map(yt) + 0.3, (i2t, t2i)


def test_bad_input_is_reported(data, tmp_path):
    X, Y, y = data["train"]
    with pytest.raises(InputError, match="n_bits"):
        create_method("dcmh", n_bits=0).fit(X, Y, y)
    with pytest.raises(InputError, match="n_bits"):
        create_method("dcmh", n_bits=16.5).fit(X, Y, y)
    with pytest.raises(InputError, match="image_shape"):
        create_method("dcmh", image_shape=(3, 4, 4), epochs=1).fit(X, Y, y)
    with pytest.raises(InputError, match="divisible"):
        create_method("mask-hash-transformer", d_model=30, n_heads=4).fit(X, Y, y)
    with pytest.raises(InputError, match="pool_size"):
        create_method("ms-sch-gan", pool_size=0).fit(X, Y, y)
    with pytest.raises(NotFittedError):
        create_method("dcmh").codes_image(X)
    model = create_method("dcmh", n_bits=8, hidden_dims=(8,), epochs=1).fit(X, Y, y)
    with pytest.raises(InputError, match="columns"):
        model.codes_text(X)


@pytest.mark.slow
def test_transformer_without_global_token_learns_and_reloads(data, tmp_path):
    X, Y, y = data["train"]
    params = {**SMALL["mask-hash-transformer"], "global_token": False}
    model = create_method("mask-hash-transformer", n_bits=16, **params).fit(X, Y, y)
    Xt, Yt, yt = data["test"]
    i2t, t2i = hamming_map(model, Xt, Yt, yt)
    assert min(i2t, t2i) > chance_map(yt) + 0.45, (i2t, t2i)
    loaded = load_method(model.save(tmp_path / "global"))
    np.testing.assert_array_equal(loaded.transform_text(Yt), model.transform_text(Yt))
    assert "text_global.weight" not in loaded.net_.state_dict()
    assert "text_global.weight" in create_method("mask-hash-transformer", n_bits=16, **SMALL["mask-hash-transformer"]) \
        .fit(X, Y, y).net_.state_dict()  # the default has the global token
