"""The hashing methods through the library workflow: train on a generated manifest, evaluate,
reload, and codes for the whole library."""

import numpy as np
import pytest

pytest.importorskip("torch")

from factories.data import make_manifest  # noqa: E402
from scicmr.corpus.library import Library  # noqa: E402
from scicmr.methods import load_method  # noqa: E402
from scicmr.workflow import encode_library, evaluate_model, ingest, train_model  # noqa: E402


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("hashing-workflow")
    report = ingest(make_manifest(root / "src"), root / "lib", split=(0.6, 0.2, 0.2), seed=0)
    encode_library(report.library, image="thumbnail", text="tfidf")
    return report


@pytest.mark.parametrize("method", ["dcmh", "ms-sch-gan", "mask-hash-transformer"])
def test_train_and_evaluate_through_the_library(method, library):
    report = library
    params = {"n_bits": 16, "epochs": 3, "batch_size": 8}
    trained = train_model(report.library, method, params, name=method)
    document = evaluate_model(report.library, method, split="test", plots=False)
    assert 0.0 <= document["i2t"]["map"] <= 1.0 and 0.0 <= document["t2i"]["map"] <= 1.0
    model = load_method(trained.directory)
    lib = Library.open(report.library)
    key = lib.meta["encoders"]["image"]["key"]
    codes = model.codes_image(lib.load_features(key))
    assert codes.dtype == np.uint8 and codes.shape == (len(lib.load_features(key)), 2)
