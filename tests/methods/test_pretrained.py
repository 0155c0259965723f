"""The `pretrained` method: a dual encoder's towers used as the shared space, no training — on a
tiny randomly initialised open_clip model built here, end to end through the library."""

import json

import numpy as np
import pytest

from scicmr.errors import InputError
from scicmr.methods.common_space.pretrained import PretrainedDualEncoder


def test_it_serves_the_features_normalised_and_learns_nothing(tmp_path):
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(6, 8)).astype(np.float32), rng.normal(size=(6, 8)).astype(np.float32)
    model = PretrainedDualEncoder().fit(X, Y)
    np.testing.assert_allclose(model.transform_image(X), X / np.linalg.norm(X, axis=1, keepdims=True), rtol=1e-6)
    np.testing.assert_allclose(model.transform_text(Y), Y / np.linalg.norm(Y, axis=1, keepdims=True), rtol=1e-6)
    model.save(tmp_path / "m")
    from scicmr.methods import load_method

    again = load_method(tmp_path / "m")
    assert type(again) is PretrainedDualEncoder
    np.testing.assert_array_equal(again.transform_text(Y), model.transform_text(Y))


def test_towers_of_different_widths_are_refused_with_the_fix():
    with pytest.raises(InputError) as err:
        PretrainedDualEncoder().fit(np.ones((3, 8), np.float32), np.ones((3, 5), np.float32))
    assert "same checkpoint" in err.value.fix


@pytest.mark.slow
def test_a_tiny_open_clip_checkpoint_searches_zero_shot(tmp_path):
    torch = pytest.importorskip("torch")
    from factories.data import make_manifest
    from scicmr.encoders._torchvision_compat import import_torchvision
    from scicmr.workflow import Searcher, encode_library, ingest, train_model

    import_torchvision()  # before open_clip, which imports torchvision (the CPU workaround)
    open_clip = pytest.importorskip("open_clip")

    config = tmp_path / "scicmr-tiny-clip-zs.json"
    config.write_text(json.dumps({
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1}}))
    open_clip.add_model_config(config)
    torch.manual_seed(0)
    clip = open_clip.create_model("scicmr-tiny-clip-zs").eval()
    torch.save(clip.state_dict(), tmp_path / "tiny.pt")
    spec = {"name": "checkpoint", "framework": "open_clip", "path": str(tmp_path / "tiny.pt"),
            "model_config": str(config)}
    lib = ingest(make_manifest(tmp_path / "src", per_field=4), tmp_path / "lib", split=(0.5, 0.25, 0.25)).library
    encode_library(lib, image=spec, text={**spec, "modality": "text"}, batch_size=4)
    train_model(lib, "pretrained", fusion=False)
    searcher = Searcher(lib)
    query = "Study 1 in genomics"
    hits = searcher.search_text(query, k=5, channels=["cross_modal"])
    # The reference: the checkpoint's own text and image towers, cosine, by hand.
    tokens = open_clip.get_tokenizer("scicmr-tiny-clip-zs")([query])
    with torch.inference_mode():
        q = clip.encode_text(tokens).numpy()[0]
    from scicmr.corpus.library import Library

    library = Library.open(lib)
    image_key = library.meta["encoders"]["image"]["key"]
    ids = [r.id for r in library.records() if r.kind == "pair"]
    images = library.load_features(image_key, ids)
    images = images / np.linalg.norm(images, axis=1, keepdims=True)
    expected = np.argsort(-(images @ (q / np.linalg.norm(q))), kind="stable")[:5]
    assert [h.id for h in hits] == [ids[i] for i in expected]
