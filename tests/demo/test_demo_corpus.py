"""The demo corpus generator: files on disk, determinism, and the structure it promises
(fields, figure kinds, author communities, time trends)."""

from __future__ import annotations

import collections
import json
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from scicmr.demo import FIGURE_KINDS, dated_terms, field_names, generate_corpus, plan_corpus, render_figure
from scicmr.demo.figures import FigureRenderer
from scicmr.errors import InputError

FIELDS = ("id", "image", "title", "caption", "abstract", "keywords", "authors", "date", "labels", "group",
          "figure_kind", "page", "source_file")


def _read_manifest(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _all_text(record, spec=None):
    """Every text a reader or an OCR engine could see for one figure."""
    texts = [record["title"], record["caption"], record["abstract"], *record["keywords"]]
    if spec is not None:
        texts += [spec.get(k) or "" for k in ("title", "xlabel", "ylabel", "clabel")]
        texts += spec["series"] + spec["categories"] + spec["labels"]
    return "\n".join(texts)


@pytest.fixture(scope="module")
def big_plan():
    return plan_corpus(n_papers=800, seed=3)


def test_generated_files_match_the_manifest(tmp_path):
    manifest = generate_corpus(tmp_path / "corpus", n_papers=6, seed=1, image_size=96, progress=False)
    assert manifest == tmp_path / "corpus" / "manifest.jsonl"
    rows = _read_manifest(manifest)
    assert 6 * 2 <= len(rows) <= 6 * 4
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert set(FIELDS) <= set(row)
        assert row["image"] == f"images/{row['id']}.png"
        assert row["id"].startswith(row["group"] + "-fig")
        assert re.fullmatch(r"20(0[5-9]|1\d|2[0-4])", row["date"])
        assert len(row["labels"]) == 1 and row["labels"][0] in field_names()
        assert 1 <= len(row["authors"]) <= 5 and len(set(row["authors"])) == len(row["authors"])
        assert row["figure_kind"] in FIGURE_KINDS and isinstance(row["page"], int)
        assert row["caption"].startswith(f"Figure {row['id'].rsplit('fig', 1)[1]}: ")
        assert 2 <= row["abstract"].count(". ") + 1 <= 4
        with Image.open(tmp_path / "corpus" / row["image"]) as image:
            image.load()
            assert image.size == (96, 96) and image.mode == "RGB"
            assert not {"Software", "Creation Time", "Date"} & set(image.info)  # no timestamps in PNGs
            assert np.asarray(image).std() > 5  # something was drawn


def test_same_seed_same_bytes_and_other_seed_differs(tmp_path):
    paths = [generate_corpus(tmp_path / name, n_papers=3, seed=seed, image_size=64, progress=False)
             for name, seed in (("a", 5), ("b", 5), ("c", 6))]
    assert paths[0].read_bytes() == paths[1].read_bytes()
    for row in _read_manifest(paths[0]):
        assert (tmp_path / "a" / row["image"]).read_bytes() == (tmp_path / "b" / row["image"]).read_bytes()
    assert paths[0].read_bytes() != paths[2].read_bytes()
    # A smaller run into the same folder leaves exactly the images its manifest lists.
    (tmp_path / "a" / "notes.txt").write_text("mine")
    small = generate_corpus(tmp_path / "a", n_papers=1, seed=5, image_size=64, progress=False)
    listed = {row["image"].split("/")[1] for row in _read_manifest(small)}
    assert {p.name for p in (tmp_path / "a" / "images").iterdir()} == listed
    assert (tmp_path / "a" / "notes.txt").read_text() == "mine"
    first = _read_manifest(paths[0])[0]["image"]
    other = tmp_path / "c" / first
    assert not other.exists() or other.read_bytes() != (tmp_path / "a" / first).read_bytes()


def test_reused_figure_matches_a_fresh_figure_per_drawing():
    """Fast path (one cleared figure, shared rcParams context) == slow reference (new figure each time)."""
    plan = plan_corpus(n_papers=4, seed=2)
    with FigureRenderer(80) as renderer:
        fast = [renderer.render(item.spec) for item in plan]
    for item, pixels in zip(reversed(plan), reversed(fast)):  # order must not matter either
        assert np.array_equal(pixels, render_figure(item.spec, 80))


def test_every_kind_and_variant_renders(big_plan):
    import matplotlib

    before = dict(matplotlib.rcParams)
    seen = {}
    for item in big_plan[:1200]:
        seen.setdefault((item.spec["kind"], item.spec["variant"]), item.spec)
    assert len(seen) >= 25
    with FigureRenderer(64) as renderer:
        for spec in seen.values():
            pixels = renderer.render(spec)
            assert pixels.shape == (64, 64, 3) and pixels.dtype == np.uint8 and pixels.std() > 1
    assert {k: v for k, v in matplotlib.rcParams.items() if k in before} == before  # rcParams restored


def test_fields_kinds_and_captions_vary(big_plan):
    records = [item.record for item in big_plan]
    assert {r["labels"][0] for r in records} == set(field_names()) and len(field_names()) >= 6
    assert {r["figure_kind"] for r in records} == set(FIGURE_KINDS)
    captions = [i.record["caption"] for i in plan_corpus(n_papers=120, seed=0)]
    assert len(set(captions)) == len(captions)
    by_paper = collections.defaultdict(list)
    for r in records:
        by_paper[r["group"]].append(r)
    for rows in by_paper.values():
        assert 2 <= len(rows) <= 4
        assert len({(r["title"], r["abstract"], r["date"], tuple(r["authors"])) for r in rows}) == 1
        assert [r["page"] for r in rows] == sorted(r["page"] for r in rows)


def test_figure_kind_tells_something_about_the_field_but_not_everything(big_plan):
    counts = collections.Counter((i.record["figure_kind"], i.record["labels"][0]) for i in big_plan)
    by_kind = collections.defaultdict(collections.Counter)
    for (kind, field), n in counts.items():
        by_kind[kind][field] += n
    majority = sum(max(c.values()) for c in by_kind.values()) / len(big_plan)
    assert 1.5 / len(field_names()) < majority < 0.6
    assert "astrophysics" in [f for f, _ in by_kind["spectrum"].most_common(2)]
    assert "genomics" in [f for f, _ in by_kind["heatmap"].most_common(2)]
    assert "machine learning" in [f for f, _ in by_kind["diagram"].most_common(2)]


def test_authors_concentrate_in_one_or_two_fields(big_plan):
    fields_of = collections.defaultdict(set)
    papers_of = collections.defaultdict(set)
    for item in big_plan:
        for author in item.record["authors"]:
            fields_of[author].add(item.record["labels"][0])
            papers_of[author].add(item.record["group"])
    share = sum(len(f) <= 2 for f in fields_of.values()) / len(fields_of)
    assert share >= 0.9
    assert sum(len(p) >= 3 for p in papers_of.values()) >= len(papers_of) / 3  # repeat authors exist


def test_dated_terms_never_appear_before_their_year(big_plan):
    terms = dated_terms()
    terms.update({"transformer": 2018, "graph neural network": 2018, "CRISPR": 2013, "SARS-CoV-2": 2020,
                  "COVID": 2020, "JWST": 2022, "CMIP6": 2019, "Omicron": 2022, "large language model": 2022})
    # Whole words, plural allowed: "ViT" must not match "conductivity", "transformer" matches "transformers".
    patterns = {t: re.compile(rf"(?<!\w){re.escape(t)}s?(?!\w)", re.IGNORECASE) for t in terms}
    seen_after = collections.Counter()
    for item in big_plan:
        year, text = int(item.record["date"]), _all_text(item.record, item.spec)
        lowered = text.lower()
        for term, since in terms.items():
            if term.lower() in lowered and patterns[term].search(text):  # cheap substring test first
                assert year >= since, f"{term!r} (from {since}) appears in {item.record['id']} of {year}"
                seen_after[term] += 1
    for term in ("transformer", "CRISPR", "SARS-CoV-2", "graph neural network"):
        assert seen_after[term] > 0, f"{term!r} never appears: the time trend is missing"


def test_fields_grow_at_different_rates(big_plan):
    years = collections.defaultdict(list)
    for item in big_plan:
        years[item.record["labels"][0]].append(int(item.record["date"]))
    assert np.mean(years["machine learning"]) > np.mean(years["materials science"]) + 1.5


@pytest.mark.parametrize("kwargs", [dict(n_papers=0), dict(n_papers=2.5), dict(figures_per_paper=(3, 2)),
                                    dict(figures_per_paper=(0, 2)), dict(figures_per_paper="2-4"), dict(seed="x"),
                                    dict(image_size=10)])
def test_bad_arguments_raise_input_error(tmp_path, kwargs):
    with pytest.raises(InputError):
        generate_corpus(tmp_path / "out", progress=False, **kwargs)
    assert not (tmp_path / "out").exists()


def test_importing_the_demo_package_does_not_load_matplotlib():
    code = "import sys, scicmr.demo; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
