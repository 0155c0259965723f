"""Image data cleaning: hashes against slow references, every planted defect flagged and
nothing clean, quarantine + restore round trip, the CLI."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest
from PIL import Image

from scicmr.cleaning import cleaning_config, parse_checks, scan_images
from scicmr.cleaning.anomalies import knn_outlier_scores, outlier_mask
from scicmr.cleaning.checks import content_measures
from scicmr.cleaning.phash import dhash_bits, phash_bits
from scicmr.errors import InputError


def _slow_phash(image) -> np.ndarray:
    """pHash by the textbook double sum of the orthonormal DCT-II."""
    x = np.asarray(image.convert("L").resize((32, 32), Image.BOX), dtype=np.float64)
    n = 32
    coeffs = np.zeros((8, 8))
    for u in range(8):
        for v in range(8):
            total = 0.0
            for i in range(n):
                for j in range(n):
                    total += x[i, j] * np.cos(np.pi * (2 * i + 1) * u / (2 * n)) * np.cos(np.pi * (2 * j + 1) * v / (2 * n))
            cu = np.sqrt(1 / n) if u == 0 else np.sqrt(2 / n)
            cv = np.sqrt(1 / n) if v == 0 else np.sqrt(2 / n)
            coeffs[u, v] = cu * cv * total
    flat = coeffs.ravel()
    return flat > np.median(flat[1:])


def _slow_dhash(image) -> np.ndarray:
    x = np.asarray(image.convert("L").resize((9, 8), Image.BOX), dtype=np.float64)
    return np.array([x[r, c] < x[r, c + 1] for r in range(8) for c in range(8)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hashes_match_slow_references(seed):
    rng = np.random.default_rng(seed)
    image = Image.fromarray(rng.integers(0, 256, (50, 70, 3), dtype=np.uint8))
    assert np.array_equal(phash_bits(image), _slow_phash(image))
    assert np.array_equal(dhash_bits(image), _slow_dhash(image))


def test_content_measures_and_outlier_rule_against_loops():
    rng = np.random.default_rng(3)
    probe = rng.integers(0, 256, (16, 16)).astype(np.float64)
    m = content_measures(probe, 24)
    counts = [0] * 32
    for v in probe.ravel():
        counts[min(int(v // 8), 31)] += 1
    entropy = -sum(c / 256 * np.log2(c / 256) for c in counts if c)
    assert m["entropy"] == pytest.approx(entropy)
    feats = rng.normal(size=(12, 5)).astype(np.float32)
    scores = knn_outlier_scores(feats, 3)
    unit = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    for i in range(12):
        d = sorted(1 - float(unit[i] @ unit[j]) for j in range(12) if j != i)
        assert scores[i] == pytest.approx(np.mean(d[:3]))
    mask, threshold = outlier_mask(np.r_[np.zeros(20), 5.0], contamination=0.1, z=3)
    assert mask.tolist() == [False] * 20 + [True] and 0 <= threshold < 5


def test_config_and_checks_reject_bad_input():
    with pytest.raises(InputError):
        cleaning_config({"nope": 1})
    with pytest.raises(InputError):
        cleaning_config("extreme")
    with pytest.raises(InputError):
        parse_checks("integrity,colour")
    assert parse_checks("fast") == ("integrity", "size", "aspect", "blank", "exact", "near")
    assert cleaning_config("strict").phash_max > cleaning_config().phash_max


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    from scicmr.demo.defects import plant_defects

    return plant_defects(tmp_path_factory.mktemp("defects") / "lib", n_clean=24, seed=0)


@pytest.fixture(scope="module")
def planted_report(planted):
    from scicmr.encoders import create_encoder

    items = [(r.id, str(planted.library.image_path(r))) for r in planted.library.records()]
    return scan_images(items, encoder=create_encoder("thumbnail"))


@pytest.mark.slow
def test_every_planted_defect_flagged_and_nothing_clean(planted, planted_report):
    assert planted_report.flagged_ids == set(planted.expected)
    for flag in planted_report.flags:
        assert set(flag.reasons) & planted.expected[flag.id], (flag.id, flag.reasons)
    for copy, original in planted.duplicate_of.items():
        assert next(f for f in planted_report.flags if f.id == copy).duplicate_of == original


@pytest.mark.slow
def test_each_check_alone_flags_only_its_defects(planted):
    items = [(r.id, str(planted.library.image_path(r))) for r in planted.library.records()]
    for check, reasons in [("integrity", {"corrupt"}), ("blank", {"blank"}), ("size", {"too_small"}),
                           ("aspect", {"extreme_aspect"}), ("exact", {"exact_duplicate"}),
                           ("near", {"near_duplicate", "exact_duplicate"})]:  # a byte copy is also a near copy
        report = scan_images(items, checks=check)
        assert report.flagged_ids == {i for i, r in planted.expected.items() if r & reasons}, check


@pytest.mark.slow
def test_quarantine_and_restore_round_trip(planted, tmp_path):
    from scicmr.cli import main
    from scicmr.corpus.library import Library
    from scicmr.workflow.library_data import paired_records
    from scicmr.workflow.clean import clean_library, restore_library

    root = tmp_path / "lib"
    shutil.copytree(planted.library.root, root)
    lib = Library.open(root)
    before = {p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / "images").iterdir()}
    assert main(["clean", str(root), "--dry-run", "--checks", "fast", "--json"]) == 0
    assert not (root / "quarantine").exists() and (root / "reports" / "cleaning.json").exists()
    report, moved = clean_library(lib, checks="fast")
    flagged = report.flagged_ids
    assert flagged == {i for i in planted.expected if i != "defect-texture"}
    assert set(moved.records) == flagged
    for record in lib.get_many(sorted(flagged)):
        assert record.extra["quarantine"]["reasons"]
        assert not (root / record.image).exists() and (root / "quarantine" / record.image).exists()
    assert {r.id for r in paired_records(lib, None)} == set(lib.ids()) - flagged
    # A second pass finds nothing new among what is left.
    again, _ = clean_library(lib, checks="fast")
    assert again.flagged_ids == set()
    restored = restore_library(lib)
    assert set(restored.records) == flagged
    after = {p.relative_to(root): hashlib.sha256(p.read_bytes()).hexdigest() for p in (root / "images").iterdir()}
    assert after == before
    assert all("quarantine" not in r.extra for r in lib.records())
    assert len(paired_records(lib, None)) == len(lib)
    assert main(["clean", str(root), "--restore"]) == 0  # nothing left to restore: still fine


@pytest.mark.slow
def test_clean_uses_the_library_features_and_skips_quarantined_in_training(tmp_path):
    from factories.data import make_manifest

    from scicmr.workflow import encode_library, ingest, train_model
    from scicmr.workflow.clean import clean_library

    report = ingest(make_manifest(tmp_path / "src", per_field=6), tmp_path / "lib", seed=0)
    encode_library(report.library, image="thumbnail", text="tfidf")
    cleaned, moved = clean_library(report.library, checks="outlier,domain", dry_run=True)
    assert moved is None and any("cached library features (image-thumbnail-" in n for n in cleaned.notes)
    # Quarantine one record by hand-made report: training still works on the rest.
    from scicmr.cleaning.quarantine import quarantine
    from scicmr.cleaning.report import CleaningReport, Flag
    from scicmr.corpus.library import Library

    lib = Library.open(report.library)
    victim = lib.records("train")[0]
    before = len(lib.records("train"))
    quarantine(lib, CleaningReport(1, ["blank"], {}, [Flag(victim.id, victim.image, {"blank": "test"})]))
    assert train_model(lib, "cca").train_pairs == before - 1
