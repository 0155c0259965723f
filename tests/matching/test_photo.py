"""Photos of printed pages: the page/photo distortions, the local-feature verifier (ranking,
localisation, shortlist against verifying everything, persistence, bad inputs)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from scicmr.errors import InputError, NotFittedError
from scicmr.matching.distortions import distort

cv2 = pytest.importorskip("cv2")

from scicmr.matching.local_features import LocalFeatureVerifier  # noqa: E402
from scicmr.matching.matcher import ImageMatcher  # noqa: E402

def quick(detector: str = "sift") -> LocalFeatureVerifier:
    """A verifier sized for tests: queries described at 900 px (defaults: 1600 px)."""
    return LocalFeatureVerifier(detector, query_side=900, query_features=2500, reference_sides=(480, 200))


WORDS = ("time", "rate", "loss", "depth", "flux", "mass", "gain", "model", "error", "signal", "phase", "field")


def plot_figure(layout_seed: int, data_seed: int, size=(360, 270)) -> Image.Image:
    """A line/bar plot drawn with PIL: axes, tick labels, title and legend from
    ``layout_seed``; the data (curves and bars) from ``data_seed``. Two figures with one
    layout seed are template siblings (same axes and labels, other data)."""
    layout, data = np.random.default_rng(layout_seed), np.random.default_rng(data_seed)
    w, h = size
    image = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=13)
    x0, y0, x1, y1 = 48, 34, w - 12, h - 36
    draw.rectangle([x0, y0, x1, y1], outline=(0, 0, 0), width=2)
    draw.text((x0, 8), " ".join(layout.choice(WORDS, 3)).title(), font=font, fill=(0, 0, 0))
    for i, t in enumerate(np.linspace(0, 1, 5)):
        x, y = x0 + t * (x1 - x0), y1 - t * (y1 - y0)
        draw.line([(x, y1), (x, y1 + 5)], fill=(0, 0, 0), width=2)
        draw.text((x - 8, y1 + 8), str(int(layout.integers(0, 99))), font=font, fill=(0, 0, 0))
        draw.text((6, y - 7), f"{i * layout.uniform(0.5, 3):.1f}", font=font, fill=(0, 0, 0))
    for j in range(3):
        colour = tuple(int(c) for c in data.integers(0, 200, 3))
        ys = y1 - 10 - data.uniform(0.1, 0.9, 24) * (y1 - y0 - 20)
        draw.line(list(zip(np.linspace(x0 + 4, x1 - 4, 24), ys)), fill=colour, width=2)
        for bx in data.uniform(x0 + 10, x1 - 20, 3):
            draw.rectangle([bx, y1 - data.uniform(10, 80), bx + 10, y1], fill=colour)
        draw.text((x1 - 90, y0 + 6 + 16 * j), str(layout.choice(WORDS)), font=font, fill=colour)
    return image


@pytest.fixture(scope="module")
def collection():
    """Eight figures: 0 and 1 are template siblings, the rest differ in layout and data."""
    figures = [plot_figure(0, 100), plot_figure(0, 101)] + [plot_figure(s, 200 + s) for s in range(2, 8)]
    return [f"fig{i}" for i in range(len(figures))], figures


@pytest.fixture(scope="module")
def verifier(collection):
    return quick().fit(collection[1])


@pytest.fixture(scope="module")
def photos(collection):
    """(photo, truth id, distortion parameters) of figures 0 (a template sibling of 1), 3, 4
    and 6, each with the next figure as its neighbour on the page."""
    figures = collection[1]
    out = []
    for t in (0, 3, 4, 6):
        image, params = distort(figures[t], "photo", 70 + t, neighbour=figures[(t + 1) % 8])
        out.append((image, f"fig{t}", params))
    return out


# ---------------------------------------------------------------------------------- distortions
@pytest.mark.parametrize("kind", ["page", "photo"])
def test_page_photos_put_the_figure_in_at_most_60_percent_of_the_frame(kind, collection):
    figure, other = collection[1][2], collection[1][3]
    turns = []
    for seed in range(3):
        image, params = distort(figure, kind, seed, neighbour=other if seed % 2 else None)
        assert image.mode == "RGB" and 800 <= max(image.size) <= 1600
        assert 0.15 <= params["area_fraction"] <= 0.6
        quad = np.asarray(params["quad"])
        assert quad.shape == (4, 2)
        assert (quad[:, 0] > -0.1 * image.width).all() and (quad[:, 0] < 1.1 * image.width).all()
        assert params["text_lines"] > 0 and params["neighbour"] in ("image", "synthetic plot", "none")
        turns.append(abs(params["degrees"]))
    assert 2 <= min(turns) and max(turns) <= (5 if kind == "page" else 10)


# ------------------------------------------------------------------------------------ verifier
def test_verifier_finds_and_localises_the_photographed_figure(verifier, photos):
    right, close = 0, 0
    for photo, truth, params in photos:
        target = int(truth[3:])
        found, _ = verifier.verify_image(photo)
        best = max(range(len(found)), key=lambda p: (found[p].inliers > 0, found[p].ncc or -1.0))
        right += best == target
        if found[target].quad is not None:
            true = np.asarray(params["quad"])
            diagonal = np.linalg.norm(true[2] - true[0])
            close += np.abs(found[target].quad - true).max() < 0.05 * diagonal
    assert right >= 3  # of 4: the template sibling (0 vs 1) and the neighbour do not win
    assert close >= 3


def test_votes_point_at_the_photographed_figure(collection, verifier):
    figures = collection[1]
    photo, _ = distort(figures[4], "page", 9, neighbour=figures[6])
    votes = verifier.votes(verifier.describe_query(photo).descriptors)
    assert votes.shape == (8,) and int(np.argmax(votes)) in (4, 6)
    assert votes[4] >= 0.5 * votes.max()


def test_verifier_round_trips_and_refuses_bad_input(collection, verifier, tmp_path):
    loaded = LocalFeatureVerifier.load(verifier.save(tmp_path))
    assert loaded.get_params() == verifier.get_params()
    for name in ("points_", "descriptors_", "offsets_", "sizes_", "thumbs_"):
        assert np.array_equal(getattr(loaded, name), getattr(verifier, name))
    photo, _ = distort(collection[1][5], "photo", 3)
    assert [v.inliers for v in loaded.verify_image(photo)[0]] == [v.inliers for v in verifier.verify_image(photo)[0]]
    with pytest.raises(InputError):
        LocalFeatureVerifier(detector="surf")
    with pytest.raises(NotFittedError):
        LocalFeatureVerifier().verify_image(photo)
    blank = Image.new("RGB", (300, 200), (255, 255, 255))
    assert all(v.inliers == 0 for v in verifier.verify_image(blank)[0])
    assert len(verifier.describe_query(Image.new("RGB", (6, 4))).points) == 0


def test_orb_detector_also_localises(collection):
    ids, figures = collection
    orb = LocalFeatureVerifier(detector="orb", features=800, query_side=900).fit(figures[2:6])
    photo, _ = distort(figures[3], "page", 5)
    found, _ = orb.verify_image(photo)
    assert max(range(4), key=lambda p: found[p].inliers) == 1


# ------------------------------------------------------------------------------------- matcher
def test_matcher_ranks_the_photographed_figure_first(collection, photos):
    ids, figures = collection
    fast = ImageMatcher("thumbnail", verifier=quick(), verify=3, verify_global=1).fit(ids, figures)
    slow = ImageMatcher("thumbnail", verifier=quick(), verify=None).fit(ids, figures)
    images = [p for p, _, _ in photos]
    fast_rows, slow_rows = fast.match_many(images, 5), slow.match_many(images, 5)
    assert sum(row[0].id == truth for row, (_, truth, _) in zip(fast_rows, photos)) >= 3
    # The shortlist (votes) verifies what verifying every figure verifies first.
    assert [row[0].id for row in fast_rows] == [row[0].id for row in slow_rows]
    for row in fast_rows:
        assert [m.score for m in row] == sorted((m.score for m in row), reverse=True)
        assert row[0].inliers is not None and len(row[0].quad) == 4
        assert row[-1].inliers is None or row[-1].inliers >= 0
    old = ImageMatcher("thumbnail", verifier=None).fit(ids, figures).match(images[0], 3)
    assert all(m.inliers is None and m.ncc is not None for m in old)


def test_matcher_ranks_blank_and_tiny_queries_by_global_score(collection):
    ids, figures = collection
    matcher = ImageMatcher("thumbnail", verifier=quick()).fit(ids, figures)
    for query in (Image.new("RGB", (200, 150), (255, 255, 255)), figures[2].resize((12, 9))):
        row = matcher.match(query, 4)
        assert len(row) == 4 and all(m.inliers is None for m in row)
    with pytest.raises(InputError):
        ImageMatcher("thumbnail", order="votes")


def test_matcher_save_load_keeps_local_features(collection, photos, tmp_path):
    ids, figures = collection
    paths = []
    for fig_id, image in zip(ids, figures):
        paths.append(str(tmp_path / f"{fig_id}.png"))
        image.save(paths[-1])
    matcher = ImageMatcher("thumbnail", verifier=quick(), verify=4).fit(ids, paths)
    loaded = ImageMatcher.load(matcher.save(tmp_path / "matcher"))
    assert loaded.config() == matcher.config() and loaded.verifier is not None
    image = photos[1][0]
    assert [m.to_dict() for m in loaded.match(image, 3)] == [m.to_dict() for m in matcher.match(image, 3)]
    assert ImageMatcher.load(ImageMatcher("thumbnail", verifier=None).fit(ids, paths).save(tmp_path / "old")).verifier is None


@pytest.mark.slow
def test_library_photo_search_reports_the_quad_and_rebuilds_old_matchers(collection, photos, tmp_path):
    from scicmr._io import atomic_write_json, read_json
    from scicmr.corpus.library import Library
    from scicmr.corpus.record import Record
    from scicmr.workflow.match import image_matcher, similar_images

    lib = Library.create(tmp_path / "lib")
    lib.images_dir.mkdir()
    for fig_id, image in zip(*collection):
        image.save(lib.images_dir / f"{fig_id}.png")
    lib.add_records([Record(id=fig_id, text="caption", images=[f"images/{fig_id}.png"]) for fig_id in collection[0]])
    photo, truth, _ = photos[2]
    hits = similar_images(lib, photo, 3, encoder="thumbnail")
    assert hits[0].id == truth and hits[0].details["inliers"] >= 10 and len(hits[0].details["quad"]) == 4
    assert {"global_score", "ncc", "inliers", "quad", "rectified_ncc"} <= set(hits[0].details)
    (directory,) = (lib.root / "indexes").glob("image-match-*")
    config = read_json(directory / "config.json")
    atomic_write_json(directory / "config.json", {k: v for k, v in config.items() if k != "verifier"})  # scicmr 0.1
    assert image_matcher(lib, encoder="thumbnail").verifier is not None
    assert "verifier" in read_json(directory / "config.json")
    assert image_matcher(lib, encoder="thumbnail", verifier=None).verifier is None
