"""ADHN: SE-G block, losses on hand-computed cases, learning on separable images, save/load."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from scicmr.errors import InputError, NotFittedError  # noqa: E402
from scicmr.evaluation.hashing_metrics import hamming_metrics  # noqa: E402
from scicmr.methods.hashing.adhn import ADHN  # noqa: E402
from scicmr.methods.hashing.adhn_net import SEG, ADHNNet, build_backbone  # noqa: E402
from scicmr.hashing.base import produces_codes  # noqa: E402
from scicmr.methods.hashing.adhn_losses import label_similarity, pairwise_likelihood_loss, quantisation_loss  # noqa: E402
from scicmr.methods import available_methods, load_method  # noqa: E402


def coloured_images(n_per_class: int, seed: int, size: int = 32):
    """(3n, size, size, 3) uint8: class c is a noisy square of colour c on white, anywhere."""
    rng = np.random.default_rng(seed)
    colours = np.array([[220, 30, 30], [30, 180, 30], [30, 30, 220]])
    images, labels = [], []
    for label, colour in enumerate(colours):
        for _ in range(n_per_class):
            image = np.full((size, size, 3), 255, dtype=np.int64)
            side = rng.integers(size // 3, size // 2)
            top, left = rng.integers(0, size - side, 2)
            image[top : top + side, left : left + side] = colour
            image += rng.integers(-30, 30, image.shape)
            images.append(np.clip(image, 0, 255).astype(np.uint8))
            labels.append(label)
    return np.stack(images), np.array(labels)


def test_seg_block_shape_and_formula():
    torch.manual_seed(0)
    block = SEG(32, reduction=8)
    assert isinstance(block.activation, torch.nn.GELU) and block.squeeze.out_features == 4
    x = torch.randn(2, 32, 5, 6)
    y = block(x)
    assert y.shape == x.shape
    z = x.mean(dim=(2, 3))
    hidden = z @ block.squeeze.weight.T + block.squeeze.bias
    gelu = 0.5 * hidden * (1 + torch.erf(hidden / math.sqrt(2)))
    s = torch.sigmoid(gelu @ block.excite.weight.T + block.excite.bias)
    torch.testing.assert_close(y, x * s[:, :, None, None])
    assert ((s > 0) & (s < 1)).all()
    assert isinstance(SEG(8, activation="relu").activation, torch.nn.ReLU)
    near_identity = SEG(32, reduction=8, excite_bias=3.0)
    assert torch.all(near_identity.excite.bias == 3.0)
    with torch.no_grad():
        near_identity.excite.weight.zero_()
    torch.testing.assert_close(near_identity(x), x * torch.sigmoid(torch.tensor(3.0)))


def test_losses_on_hand_cases():
    h = torch.tensor([[1.0, 1.0], [1.0, -1.0]])  # θ_12 = ½ (1 - 1) = 0
    assert float(pairwise_likelihood_loss(h, torch.ones(2, 2))) == pytest.approx(math.log(2))
    h = torch.tensor([[1.0, 1.0], [1.0, 1.0]])  # θ_12 = 1, dissimilar: log(1 + e)
    assert float(pairwise_likelihood_loss(h, torch.eye(2))) == pytest.approx(math.log(1 + math.e))
    # similar: log(1 + e) - 1
    assert float(pairwise_likelihood_loss(h, torch.ones(2, 2))) == pytest.approx(math.log(1 + math.e) - 1)
    assert float(quantisation_loss(torch.tensor([[0.5, -0.5]]))) == pytest.approx(0.5)
    assert float(quantisation_loss(torch.tensor([[0.0, 0.0], [1.0, -1.0]]))) == pytest.approx((2 + 0) / 2)
    torch.testing.assert_close(label_similarity(torch.tensor([0, 1, 0])),
                               torch.tensor([[1.0, 0, 1], [0, 1, 0], [1, 0, 1]]))
    torch.testing.assert_close(label_similarity(torch.tensor([[1, 0], [1, 1], [0, 1]])),
                               torch.tensor([[1.0, 1, 0], [1, 1, 1], [0, 1, 1]]))


def test_network_freezing_and_attention_placement():
    net = ADHNNet(build_backbone("tiny"), n_bits=16, attention="se-g", frozen_stages=2)
    assert sorted(net.attention) == ["0", "2"]
    # stem, stage0 (frozen), SE-G 0 (trainable): the frozen prefix ends before SE-G 0.
    assert net.first_trainable() == 2
    net.train()
    assert not net.stem.training and not net.stages[1].training and net.stages[2].training
    counts = net.parameter_counts()
    assert counts["attention"] > 0 and counts["trainable"] < counts["total"]
    plain = ADHNNet(build_backbone("tiny"), n_bits=16, attention="none", frozen_stages=2)
    assert plain.parameter_counts()["attention"] == 0 and plain.first_trainable() == 3
    codes = net(torch.randn(3, 3, 32, 32))
    assert codes.shape == (3, 16) and codes.abs().max() < 1


def test_adhn_learns_separable_images_and_round_trips(tmp_path):
    images, labels = coloured_images(12, seed=0)
    test_images, test_labels = coloured_images(5, seed=1)
    model = ADHN(n_bits=16, backbone="tiny", image_size=32, epochs=30, batch_size=8, lr=3e-3,
                 backbone_lr=3e-3, seed=0)
    assert "adhn" in available_methods("images") and produces_codes(model)
    with pytest.raises(NotFittedError):
        model.transform(test_images)
    model.fit(images, labels, validation=coloured_images(4, seed=2))
    codes = model.codes(test_images)
    assert codes.shape == (15, 2) and codes.dtype == np.uint8
    metrics = hamming_metrics(codes, model.codes(images), test_labels, labels, ks=(10,))
    assert metrics["map@10"] > 0.8, metrics  # chance is about 1/3
    assert len(model.history_) == 30 and model.train_seconds_ > 0 and 1 <= model.best_epoch_ <= 30
    model.save(tmp_path / "adhn")
    loaded = load_method(tmp_path / "adhn")
    np.testing.assert_array_equal(loaded.codes(test_images), codes)
    np.testing.assert_array_equal(loaded.transform(test_images), model.transform(test_images))


def test_bad_input():
    images, labels = coloured_images(2, seed=0)
    with pytest.raises(InputError, match="labels"):
        ADHN(backbone="tiny", image_size=32, epochs=1).fit(images, labels[:-1])
    with pytest.raises(InputError, match="n_bits"):
        ADHN(n_bits=0, backbone="tiny").fit(images, labels)
    with pytest.raises(InputError, match="backbone"):
        ADHN(backbone="vgg", epochs=1).fit(images, labels)
    with pytest.raises(InputError, match="checkpoint"):
        ADHN(backbone="resnet50", epochs=1).fit(images, labels)
    with pytest.raises(InputError, match="attention"):
        ADHN(backbone="tiny", attention="cbam", image_size=32, epochs=1).fit(images, labels)
