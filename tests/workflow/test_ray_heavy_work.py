"""Ray runs the heavy verbs (PDF ingest, figure OCR, encoding) with the same results as the
single-process path, on a real local Ray head (loopback, 2 worker CPUs) shared by the module."""

from __future__ import annotations

import json
import operator
from pathlib import Path

import numpy as np
import pytest

from factories.ocr import HAVE_TESSERACT, make_text_library, needs_tesseract
from factories.papers import make_papers_library
from factories.pdf import Fig, body, make_paper
from factories.ray_head import ENV, ray_head

pytest.importorskip("ray")

from scicmr.cli import main  # noqa: E402
from scicmr.corpus.library import Library  # noqa: E402
from scicmr.corpus.ocr import OcrSettings  # noqa: E402
from scicmr.errors import InputError  # noqa: E402
from scicmr.workflow import LocalExecutor, RayExecutor, encode_library, ingest  # noqa: E402
from scicmr.workflow.ocr import ocr_figures  # noqa: E402

# One head for the module: starting Ray costs ~10 s on 2 busy cores, the tests after it little.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_executor():
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENV.items():
            patch.setenv(name, value)
        with ray_head(num_cpus=2) as address:
            executor = RayExecutor(address)
            try:
                yield executor
            finally:
                executor.close()


def test_map_keeps_input_order_with_tasks_and_actors(ray_executor):
    items = list(range(23))
    assert list(ray_executor.map(operator.neg, items, desc="neg")) == [-i for i in items]
    # With a context: a pool of actors that each hold it, fn(context, item).
    assert list(ray_executor.map(operator.mul, items, context=3)) == [3 * i for i in items]
    assert list(ray_executor.map(operator.neg, [])) == []
    assert list(LocalExecutor(2).map(operator.mul, items, context=3)) == [3 * i for i in items]


def test_an_error_in_a_worker_is_raised_here_with_its_fix(ray_executor):
    with pytest.raises(InputError, match="cannot read OCR languages") as caught:
        list(ray_executor.map(OcrSettings, ["eng", "not a language!"]))
    assert caught.value.fix == "write them like eng or eng+chi_sim"


def _papers(root: Path) -> Path:
    """Four good papers (vector and raster figures), one encrypted, one that is not a PDF."""
    folder = root / "papers"
    (folder / "sub").mkdir(parents=True)
    for i, name in enumerate(["a.pdf", "b.pdf", "sub/c.pdf", "d.pdf"]):
        make_paper(folder / name, [body(3, cite=f"As Figure 1 shows, sample {i} grows."),
                                   Fig("1", f"Figure 1: Vector plot of sample {i}.", "vector", height=100), body(2),
                                   Fig("2", f"Figure 2: Photograph of sample {i}.", "raster", height=90)],
                   title=f"Ray paper {i} on samples")
    make_paper(folder / "locked.pdf", [body(3), Fig("1", "Figure 1: Secret.", "raster")], encrypt="s3cret")
    (folder / "notes.pdf").write_text("plain text, not a PDF\n")
    return folder


def _library_state(root: Path) -> tuple[list[dict], dict[str, bytes], dict]:
    lib = Library.open(root)
    records = [r.to_dict() for r in lib.records()]
    images = {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted((root / "images").rglob("*.png"))}
    report = json.loads((root / "reports" / "ingest.json").read_text())
    for stats in report["notes"]["pdf_stats"].values():  # timings and cache hits differ run to run
        for key in ("seconds", "cpu_seconds", "ocr_seconds", "ocr_cached"):
            stats.pop(key)
    report.pop("library")
    return records, images, report


@pytest.mark.skipif(not HAVE_TESSERACT, reason="figure OCR at ingest needs Tesseract")
def test_pdf_ingest_on_ray_equals_the_local_ingest(tmp_path, ray_executor):
    folder = _papers(tmp_path)
    ingest(folder, tmp_path / "local", reader_options={"workers": 1})
    ingest(folder, tmp_path / "ray", executor=ray_executor)
    local, on_ray = _library_state(tmp_path / "local"), _library_state(tmp_path / "ray")
    assert len(local[0]) == 8 and {s["item"] for s in local[2]["skipped"]} == {"locked.pdf", "notes.pdf"}
    assert on_ray[0] == local[0]  # records: ids, captions, figure words (text layer and OCR), splits
    assert on_ray[1] == local[1]  # the figure PNGs, byte for byte
    assert on_ray[2] == local[2]  # skipped files and reasons, quirks, per-file pages and figures
    assert sum(s["ocr_figures"] for s in on_ray[2]["notes"]["pdf_stats"].values()) == 8


@needs_tesseract
def test_ocr_on_ray_equals_local_ocr(tmp_path, ray_executor):
    libs = []
    for name, executor in (("local", None), ("ray", ray_executor)):
        lib = make_text_library(tmp_path / name)
        (lib.images_dir / "fig-c.png").write_bytes(b"not an image at all")  # skipped, the run goes on
        report = ocr_figures(lib, lang="eng", workers=1, executor=executor)
        assert report.done == 2 and [s["item"] for s in report.skipped] == ["fig-c"]
        libs.append((report, {r.id: r.extra for r in Library.open(lib.root).records()}))
    (local, local_extra), (on_ray, ray_extra) = libs
    assert [s["reason"].replace("/ray/", "/local/") for s in on_ray.skipped] == [s["reason"] for s in local.skipped]
    assert ray_extra == local_extra
    assert "GALAXY" in ray_extra["fig-a"]["ocr_text"].upper()


def _encoded(root: Path, keys: dict[str, str]) -> dict[str, np.ndarray]:
    lib = Library.open(root)
    return {m: np.asarray(lib.load_features(k)) for m, k in keys.items()}


def test_encode_on_ray_equals_local_encoding(tmp_path, ray_executor):
    make_papers_library(tmp_path / "local", papers=5, per_paper=3)
    make_papers_library(tmp_path / "ray", papers=5, per_paper=3)
    spec = {"image": "thumbnail", "text": '{"name": "tfidf", "svd_dim": 4}'}
    local_keys = encode_library(tmp_path / "local", batch_size=4, **spec)
    ray_keys = encode_library(tmp_path / "ray", batch_size=4, executor=ray_executor, **spec)
    assert ray_keys == local_keys
    local, on_ray = _encoded(tmp_path / "local", local_keys), _encoded(tmp_path / "ray", ray_keys)
    for modality in ("image", "text"):
        assert on_ray[modality].shape == local[modality].shape == (15, on_ray[modality].shape[1])
        np.testing.assert_allclose(on_ray[modality], local[modality], rtol=1e-5, atol=1e-6)


def test_cli_encode_with_a_ray_address(tmp_path, ray_executor, capsys):
    make_papers_library(tmp_path / "lib", papers=3, per_paper=2)
    argv = ["encode", str(tmp_path / "lib"), "--image-encoder", "thumbnail", "--text-encoder", "bow", "--json"]
    assert main(argv + ["--ray", ray_executor.address]) == 0
    keys = json.loads(capsys.readouterr().out)
    on_ray = _encoded(tmp_path / "lib", keys)
    assert main(argv + ["--force"]) == 0  # the same, encoded here
    assert json.loads(capsys.readouterr().out) == keys
    here = _encoded(tmp_path / "lib", keys)
    for modality in keys:
        np.testing.assert_allclose(on_ray[modality], here[modality], rtol=1e-5, atol=1e-6)
