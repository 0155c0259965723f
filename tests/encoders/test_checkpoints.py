"""User-supplied checkpoints (torchvision, timm, open_clip, Hugging Face) with tiny random models,
and the torchvision import workaround."""

import json
import sys
import warnings

import numpy as np
import pytest
from PIL import Image

from scicmr.encoders import create_encoder, load_encoder
from scicmr.encoders._torchvision_compat import import_torchvision, import_with_stand_in
from scicmr.encoders.images import imagenet_batch
from scicmr.errors import InputError

torch = pytest.importorskip("torch")


def ckpt(framework, path, **extra):
    return {"name": "checkpoint", "framework": framework, "path": str(path), **extra}


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)
    torch.manual_seed(0)


def images(n=3, size=48):
    rng = np.random.default_rng(5)
    return [Image.fromarray(rng.integers(0, 256, size=(size, size + 8, 3), dtype=np.uint8)) for _ in range(n)]


def reference(module_fn, items, size, mean, std, crop_fraction):
    """Slow path: preprocess, run the original model, flatten."""
    with torch.inference_mode():
        pixels = torch.from_numpy(imagenet_batch(items, size, mean=mean, std=std, crop_fraction=crop_fraction))
        return torch.flatten(module_fn(pixels), 1).numpy()


# ---------------------------------------------------------------------------- compat import
@pytest.mark.slow
def test_import_torchvision_runs_a_model():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        torchvision = import_torchvision()
        import open_clip  # noqa: F401  (imports torchvision itself)
        import timm  # noqa: F401
    model = torchvision.models.resnet18(weights=None).eval()
    with torch.inference_mode():
        assert model(torch.zeros(1, 3, 32, 32)).shape == (1, 1000)
    assert import_torchvision() is torchvision


def test_import_torchvision_when_not_installed(monkeypatch):
    import importlib.util

    from scicmr.errors import MissingDependencyError

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torchvision" else real_find_spec(name, *a))
    assert import_torchvision(optional=True) is None
    with pytest.raises(MissingDependencyError, match="torchvision"):
        import_torchvision()


def _fake_package(root, name, error):
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("from . import extension\nfrom . import _meta_registrations\nVALUE = 42\n")
    (package / "extension.py").write_text("LOADED = True\n")
    (package / "_meta_registrations.py").write_text(f"raise RuntimeError({error!r})\n")


@pytest.fixture
def fake_packages(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("scicmr_fakevision")]:
        del sys.modules[name]


def test_stand_in_fallback_on_missing_operator(fake_packages):
    name = "scicmr_fakevision_a"
    _fake_package(fake_packages, name, f"operator {name}::nms does not exist")
    with pytest.warns(RuntimeWarning, match="compiled ops"):
        module = import_with_stand_in(name)
    assert module.VALUE == 42 and module.extension.LOADED
    assert sys.modules[f"{name}._meta_registrations"].__doc__.startswith("scicmr stand-in")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the warning is given once only
        assert import_with_stand_in(name) is module


def test_other_import_failures_propagate(fake_packages):
    _fake_package(fake_packages, "scicmr_fakevision_b", "something else broke")
    with pytest.raises(RuntimeError, match="something else broke"):
        import_with_stand_in("scicmr_fakevision_b")
    # The right message raised from the wrong place is not ours to hide either.
    package = fake_packages / "scicmr_fakevision_c"
    package.mkdir()
    (package / "__init__.py").write_text("raise RuntimeError('operator scicmr_fakevision_c::nms does not exist')\n")
    with pytest.raises(RuntimeError, match="does not exist"):
        import_with_stand_in("scicmr_fakevision_c")


# ---------------------------------------------------------------------------- torchvision
def test_torchvision_resnet18_checkpoint(tmp_path):
    torchvision = import_torchvision()
    model = torchvision.models.resnet18(weights=None, num_classes=7).eval()  # any class count loads
    torch.save(model.state_dict(), tmp_path / "resnet18.pth")
    encoder = create_encoder(ckpt("torchvision", tmp_path / "resnet18.pth", arch="resnet18", image_size=64))
    assert encoder.dim == 512
    got = encoder.encode(images(), batch_size=2)
    model.fc = torch.nn.Identity()
    expected = reference(model, images(), 64, (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), 0.875)
    assert got.shape == (3, 512) and got.dtype == np.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)
    encoder.save(tmp_path / "saved")
    restored = load_encoder(tmp_path / "saved")
    np.testing.assert_array_equal(restored.encode(images(), batch_size=2), got)
    assert restored.config() == encoder.config() and len(encoder.config()["weights"]) == 16


def test_torchvision_state_dict_that_does_not_fit(tmp_path):
    torchvision = import_torchvision()
    state = torchvision.models.resnet18(weights=None).state_dict()
    del state["layer1.0.conv1.weight"]
    state["extra.weight"] = torch.zeros(1)
    torch.save(state, tmp_path / "broken.pth")
    encoder = create_encoder(ckpt("torchvision", tmp_path / "broken.pth", arch="resnet18"))
    with pytest.raises(InputError) as info:
        encoder.encode(images(1))
    assert "layer1.0.conv1.weight" in str(info.value) and "extra.weight" in str(info.value)


# ---------------------------------------------------------------------------- timm
def test_timm_checkpoint_and_mismatch(tmp_path):
    import timm

    model = timm.create_model("resnet10t", pretrained=False, num_classes=5).eval()
    torch.save({"state_dict": model.state_dict(), "epoch": 3}, tmp_path / "r10t.pth")
    encoder = create_encoder(ckpt("timm", tmp_path / "r10t.pth", arch="resnet10t", image_size=64))
    got = encoder.encode(images(), batch_size=2)
    model.reset_classifier(0)
    data = timm.data.resolve_data_config({}, model=model)
    expected = reference(model, images(), 64, data["mean"], data["std"], data["crop_pct"])
    assert got.shape == (3, model.num_features) == (3, encoder.dim)
    np.testing.assert_allclose(got, expected, atol=1e-5)

    wrong = create_encoder(ckpt("timm", tmp_path / "r10t.pth", arch="resnet18"))
    with pytest.raises(InputError, match="do not fit timm resnet18"):
        wrong.encode(images(1))


def test_checkpoint_argument_errors(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        create_encoder(ckpt("timm", tmp_path / "none.pth", arch="resnet10t"))
    with pytest.raises(InputError, match="framework"):
        create_encoder(ckpt("caffe", tmp_path))
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="arch"):
        create_encoder(ckpt("timm", tmp_path / "junk.pth"))
    junk = create_encoder(ckpt("timm", tmp_path / "junk.pth", arch="resnet10t"))
    with pytest.raises(InputError, match="cannot read weights"):
        junk.encode(images(1))
    with pytest.raises(InputError, match="image models"):
        create_encoder(ckpt("timm", tmp_path / "junk.pth", arch="resnet10t", modality="text"))


# ---------------------------------------------------------------------------- open_clip
TINY_CLIP = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def test_open_clip_custom_config(tmp_path):
    import_torchvision()
    import open_clip

    config = tmp_path / "scicmr-tiny-clip.json"
    config.write_text(json.dumps(TINY_CLIP))
    open_clip.add_model_config(config)
    model = open_clip.create_model("scicmr-tiny-clip").eval()
    torch.save(model.state_dict(), tmp_path / "tiny.pt")
    spec = ckpt("open_clip", tmp_path / "tiny.pt", model_config=str(config))
    image_encoder = create_encoder({**spec, "normalize": True})
    got = image_encoder.encode(images(), batch_size=2)
    expected = reference(model.encode_image, images(), 32, model.visual.image_mean, model.visual.image_std, 1.0)
    assert got.shape == (3, 16) == (3, image_encoder.dim) and image_encoder.arch == "scicmr-tiny-clip"
    np.testing.assert_allclose(got, expected / np.linalg.norm(expected, axis=1, keepdims=True), atol=1e-5)

    text_encoder = create_encoder({**spec, "modality": "text"})
    texts = ["graphene lattice", "stock market"]
    tokenizer = open_clip.get_tokenizer("scicmr-tiny-clip")
    with torch.inference_mode():
        np.testing.assert_allclose(text_encoder.encode(texts), model.encode_text(tokenizer(texts)).numpy(), atol=1e-5)
    assert text_encoder.modality == "text" and text_encoder.config()["modality"] == "text"

    state = model.state_dict()
    state.pop("text_projection")
    torch.save(state, tmp_path / "partial.pt")
    partial = create_encoder({**spec, "path": str(tmp_path / "partial.pt")})
    with pytest.raises(InputError, match="text_projection"):
        partial.encode(images(1))


# ---------------------------------------------------------------------------- Hugging Face
def _tiny_hf_clip(folder):
    import_torchvision()
    from transformers import CLIPConfig, CLIPModel, CLIPTokenizer

    text = dict(vocab_size=64, hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=2,
                max_position_embeddings=16, bos_token_id=0, eos_token_id=1, pad_token_id=1)
    vision = dict(image_size=32, patch_size=8, hidden_size=32, intermediate_size=37, num_hidden_layers=1, num_attention_heads=2)
    model = CLIPModel(CLIPConfig(text_config=text, vision_config=vision, projection_dim=16)).eval()
    model.save_pretrained(folder)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for token in list("abcdefghijklmnopqrstuvwxyz") + [w + "</w>" for w in "graphene lattice stock market".split()]:
        vocab[token] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt")).save_pretrained(folder)
    return model


def test_hf_clip_folder(tmp_path):
    folder = tmp_path / "clip"
    folder.mkdir()
    model = _tiny_hf_clip(folder)
    image_encoder = create_encoder(ckpt("hf", folder))
    got = image_encoder.encode(images(), batch_size=2)

    def projected(pixels):
        out = model.get_image_features(pixel_values=pixels)
        return out if torch.is_tensor(out) else out.pooler_output

    expected = reference(projected, images(), 32, (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711), 1.0)
    assert got.shape == (3, 16) == (3, image_encoder.dim)
    np.testing.assert_allclose(got, expected, atol=1e-5)

    text_encoder = create_encoder(ckpt("hf", folder, modality="text"))
    texts = ["graphene lattice", "stock market today"]
    vectors = text_encoder.encode(texts)
    assert vectors.shape == (2, 16) and not np.allclose(vectors[0], vectors[1])
    from transformers import AutoTokenizer

    tokens = AutoTokenizer.from_pretrained(folder)(texts, padding=True, truncation=True, max_length=16, return_tensors="pt")
    with torch.inference_mode():
        out = model.get_text_features(input_ids=tokens["input_ids"], attention_mask=tokens["attention_mask"])
    np.testing.assert_allclose(vectors, (out if torch.is_tensor(out) else out.pooler_output).numpy(), atol=1e-5)
    np.testing.assert_allclose(text_encoder.encode(texts[:1]), vectors[:1], atol=1e-5)


def test_hf_weights_that_do_not_fit(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = tmp_path / "clip"
    folder.mkdir()
    _tiny_hf_clip(folder)
    state = load_file(str(folder / "model.safetensors"))
    state.pop("visual_projection.weight")
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    encoder = create_encoder(ckpt("hf", folder))
    with pytest.raises(InputError, match="visual_projection.weight"):
        encoder.encode(images(1))
