"""Query-image matching: deterministic distortions, the aligned correlation against a slow
reference, and the matcher finding originals among distractors (torch-free thumbnail encoder)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from scicmr.errors import InputError, NotFittedError
from scicmr.matching.align import AlignedThumbs, aligned_correlation, crop_grid, thumb_vector
from scicmr.matching.distortions import KINDS, _perspective_coefficients, distort
from scicmr.matching.matcher import ImageMatcher


def _noise_image(seed: int, size=(96, 80)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))


@pytest.mark.parametrize("kind", KINDS)
def test_distortions_are_deterministic_and_seeded(kind):
    image = _noise_image(0)
    a, pa = distort(image, kind, 7)
    b, pb = distort(image, kind, 7)
    c, _ = distort(image, kind, 8)
    assert pa == pb and np.array_equal(np.asarray(a), np.asarray(b))
    assert a.mode == "RGB"
    assert not (a.size == c.size and np.array_equal(np.asarray(a), np.asarray(c)))


def test_distortion_parameters_stay_in_range():
    image = _noise_image(1)
    for seed in range(20):
        assert 0.70 <= distort(image, "crop", seed)[1]["fraction"] <= 0.95
        assert 2 <= abs(distort(image, "rotate", seed)[1]["degrees"]) <= 10
        assert 30 <= distort(image, "jpeg", seed)[1]["quality"] <= 70
    with pytest.raises(InputError):
        distort(image, "fisheye", 0)


def test_perspective_coefficients_map_output_corners_to_input_corners():
    src = np.array([[0, 0], [100, 0], [100, 80], [0, 80]], dtype=float)
    dst = src + np.array([[3, 2], [-5, 4], [-2, -6], [4, -1]])
    a, b, c, d, e, f, g, h = _perspective_coefficients(src, dst)
    for (x, y), (u, v) in zip(dst, src):
        w = g * x + h * y + 1
        assert (a * x + b * y + c) / w == pytest.approx(u) and (d * x + e * y + f) / w == pytest.approx(v)


def test_aligned_correlation_matches_slow_loop():
    reference, query = _noise_image(2), _noise_image(3)
    boxes = crop_grid((1.0, 0.8), offsets=3)
    fast, box = aligned_correlation(thumb_vector(query), AlignedThumbs.from_image(reference, boxes))
    base = reference.resize((128, 128), Image.BOX)
    q = np.asarray(query.resize((24, 24), Image.BOX), dtype=np.float64).ravel()
    q = (q - q.mean()) / np.linalg.norm(q - q.mean())
    slow = []
    for x0, y0, x1, y1 in boxes:
        crop = np.asarray(base.resize((24, 24), Image.BILINEAR, box=(x0 * 128, y0 * 128, x1 * 128, y1 * 128)),
                          dtype=np.float64).ravel()
        crop = (crop - crop.mean()) / np.linalg.norm(crop - crop.mean())
        slow.append(float(crop @ q))
    assert fast == pytest.approx(max(slow), abs=1e-5)
    assert np.array_equal(box, boxes[int(np.argmax(slow))])


@pytest.fixture(scope="module")
def figures():
    from scicmr.demo.corpus import plan_corpus
    from scicmr.demo.figures import FigureRenderer

    plan = plan_corpus(n_papers=6, seed=5)[:14]
    with FigureRenderer(192) as renderer:
        return [(item.record["id"], Image.fromarray(renderer.render(item.spec))) for item in plan]


def test_matcher_needs_fit_and_valid_k(figures):
    with pytest.raises(NotFittedError):
        ImageMatcher("thumbnail").match(figures[0][1])
    matcher = ImageMatcher("thumbnail", verifier=None).fit([i for i, _ in figures], [im for _, im in figures])
    with pytest.raises(InputError):
        matcher.match(figures[0][1], k=0)


@pytest.mark.slow
def test_matcher_finds_originals_among_distractors(figures):
    ids = [i for i, _ in figures]
    matcher = ImageMatcher("thumbnail", shortlist=8, verifier=None).fit(ids, [im for _, im in figures])
    queries, truth = [], []
    for n, (fig_id, image) in enumerate(figures):
        for kind in (("crop", "phone") if n % 2 else ("jpeg", "photometric")):
            queries.append(distort(image, kind, 100 * n + len(kind))[0])
            truth.append(fig_id)
    reranked = matcher.match_many(queries, 3)
    plain = matcher.match_many(queries, 3, rerank=False)
    top_reranked = np.mean([row[0].id == t for row, t in zip(reranked, truth)])
    top_plain = np.mean([row[0].id == t for row, t in zip(plain, truth)])
    assert top_reranked == 1.0
    assert top_reranked >= top_plain
    # Scores are ranked and the ncc of the best match is high.
    for row in reranked:
        assert [m.score for m in row] == sorted((m.score for m in row), reverse=True)
        assert row[0].ncc > 0.6


@pytest.mark.slow
def test_library_matching_saves_reuses_and_skips_quarantine(figures, tmp_path, capsys):
    from scicmr.cli import main
    from scicmr.corpus.library import Library
    from scicmr.corpus.record import Record
    from scicmr.workflow import Searcher
    from scicmr.workflow.match import image_matcher, similar_images

    lib = Library.create(tmp_path / "lib")
    lib.images_dir.mkdir()
    records = []
    for fig_id, image in figures:
        image.save(lib.images_dir / f"{fig_id}.png")
        records.append(Record(id=fig_id, text="caption", images=[f"images/{fig_id}.png"]))
    lib.add_records(records)
    query_path = tmp_path / "photo.jpg"
    distort(figures[3][1], "phone", 11)[0].save(query_path)
    hits = similar_images(lib, str(query_path), 3, encoder="thumbnail")
    assert hits[0].id == figures[3][0] and hits[0].record.id == figures[3][0]
    assert {"global_score", "ncc"} <= set(hits[0].details)
    searcher = Searcher(lib)  # no cross-modal model: matching does not need one
    for rerank in (True, False):
        want = similar_images(lib, str(query_path), 3, encoder="thumbnail", rerank=rerank)
        assert searcher.search_similar_images(str(query_path), 3, encoder="thumbnail", rerank=rerank) == want
    assert len(list((lib.root / "indexes").glob("image-match-*"))) == 1
    again = image_matcher(lib, encoder="thumbnail")  # loaded from disk, same answer
    assert again.match(str(query_path), 3)[0].id == figures[3][0]
    assert main(["match", str(lib.root), str(query_path), "-k", "2", "--encoder", "thumbnail", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [r["rank"] for r in shown] == [1, 2] and shown[0]["id"] == figures[3][0]
    marked = lib.get(figures[3][0])
    marked.extra["quarantine"] = {"reasons": ["blank"]}
    lib.update_records([marked])
    assert figures[3][0] not in {h.id for h in similar_images(lib, str(query_path), 5, encoder="thumbnail")}
    assert main(["match", str(lib.root), str(tmp_path / "missing.jpg")]) == 2


@pytest.mark.slow
def test_searcher_similar_images_uses_the_library_encoder(tmp_path):
    from factories.data import make_manifest

    from scicmr.workflow import Searcher, encode_library, ingest, train_model

    report = ingest(make_manifest(tmp_path / "src", per_field=6), tmp_path / "lib", seed=0)
    encode_library(report.library, image="thumbnail", text="tfidf")
    train_model(report.library, "cca")
    searcher = Searcher(report.library)
    lib = searcher.lib
    for record in lib.records()[:4]:
        query = distort(Image.open(lib.image_path(record)), "jpeg", 3)[0]
        hits = searcher.search_similar_images(query, k=3)
        assert hits[0].id == record.id and hits[0].modality == "image"
    assert list((lib.root / "indexes").glob("image-match-image-thumbnail-*"))


def test_detail_correlation_separates_copies_from_other_images():
    from scicmr.matching.align import detail_correlation

    a, b = _noise_image(4, (128, 128)), _noise_image(5, (128, 128))
    from PIL import ImageFilter

    smooth_a = a.filter(ImageFilter.GaussianBlur(3)).convert("F")
    smooth_b = b.filter(ImageFilter.GaussianBlur(3)).convert("F")
    full = np.array([0.0, 0.0, 1.0, 1.0])
    assert detail_correlation(smooth_a, smooth_a, full) > 0.99  # resampling at the same box
    assert detail_correlation(smooth_a, smooth_b, full) < 0.3
