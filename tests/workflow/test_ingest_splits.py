"""Ingest keeps groups and duplicates whole: a given split that cuts a paper is repaired and
reported; exact duplicate images / texts stay in one split when ingest makes the split, and are
reported with their ids when the split is given (they would inflate test scores)."""

import json
import shutil
from pathlib import Path

from factories.data import write_image
from scicmr.corpus.library import Library
from scicmr.workflow import ingest


def _rows(folder: Path, n_groups: int, per_group: int) -> list[dict]:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for g in range(n_groups):
        for i in range(per_group):
            rid = f"p{g}-f{i}"
            write_image(folder / "images" / f"{rid}.png", ("red", "green", "blue")[g % 3], seed=1000 * g + i)
            rows.append({"id": rid, "image": f"images/{rid}.png", "title": f"Paper {g}",
                         "caption": f"Figure {i} of paper {g}: measurement {g * 31 + i}", "group": f"paper{g}",
                         "labels": [f"field{g % 3}"]})
    return rows


def _write(folder: Path, rows: list[dict]) -> Path:
    path = folder / "manifest.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _splits(root: Path) -> dict[str, str]:
    return {r.id: r.extra["split"] for r in Library.open(root).records()}


def test_a_given_split_that_cuts_a_group_is_repaired_and_reported(tmp_path):
    rows = _rows(tmp_path / "src", n_groups=4, per_group=8)
    for row in rows:
        row["split"] = "test" if row["group"] == "paper3" else "train"
    rows[0]["split"] = rows[1]["split"] = "test"  # 2 of paper0's 8 figures
    report = ingest(_write(tmp_path / "src", rows), tmp_path / "lib", validation_fraction=0.0)
    splits = _splits(tmp_path / "lib")
    assert {splits[f"p0-f{i}"] for i in range(8)} == {"train"}
    assert {splits[f"p3-f{i}"] for i in range(8)} == {"test"}
    saved = json.loads((tmp_path / "lib" / "reports" / "ingest.json").read_text())
    expected = [{"group": "paper0", "moved_to": "train", "given": {"test": 2, "train": 6}, "moved": ["p0-f0", "p0-f1"]}]
    assert report.split_repairs == saved["split_repairs"] == expected
    assert any(q["quirk"] == "split cut a group" for q in saved["notes"]["quirks"])


def _duplicate(folder: Path, rows: list[dict], pairs: list[tuple[int, int]], what: str) -> None:
    for a, b in pairs:
        if what == "image":
            shutil.copyfile(folder / rows[a]["image"], folder / rows[b]["image"])
        else:
            rows[b]["title"], rows[b]["caption"] = rows[a]["title"], rows[a]["caption"].upper() + "  "


def test_duplicates_share_a_split_when_ingest_makes_it(tmp_path):
    folder = tmp_path / "src"
    rows = _rows(folder, n_groups=40, per_group=1)
    image_pairs, text_pairs = [(i, 39 - i) for i in range(0, 12)], [(i, 39 - i) for i in range(12, 18)]
    _duplicate(folder, rows, image_pairs, "image")
    _duplicate(folder, rows, text_pairs, "text")
    report = ingest(_write(folder, rows), tmp_path / "lib", split=(0.5, 0.0, 0.5), seed=3)
    splits = _splits(tmp_path / "lib")
    assert all(splits[rows[a]["id"]] == splits[rows[b]["id"]] for a, b in image_pairs + text_pairs)
    assert report.duplicates["images"]["count"] == report.duplicates["texts"]["count"] == 0
    assert set(splits.values()) == {"train", "test"}


def test_duplicates_across_a_given_split_are_kept_and_reported(tmp_path):
    folder = tmp_path / "src"
    rows = _rows(folder, n_groups=6, per_group=1)
    for g, row in enumerate(rows):
        row["split"] = "train" if g < 3 else "test"
    _duplicate(folder, rows, [(0, 3)], "image")
    _duplicate(folder, rows, [(1, 4)], "text")
    ingest(_write(folder, rows), tmp_path / "lib", validation_fraction=0.0)
    splits = _splits(tmp_path / "lib")
    assert [splits[r["id"]] for r in rows] == ["train"] * 3 + ["test"] * 3  # the given split is kept
    saved = json.loads((tmp_path / "lib" / "reports" / "ingest.json").read_text())
    assert saved["duplicates"]["images"] == {"count": 1, "sets": [{"ids": ["p0-f0", "p3-f0"], "splits": ["test", "train"]}]}
    assert saved["duplicates"]["texts"] == {"count": 1, "sets": [{"ids": ["p1-f0", "p4-f0"], "splits": ["test", "train"]}]}
    quirks = {q["quirk"]: q for q in saved["notes"]["quirks"]}
    assert quirks["duplicate images across splits"]["item"] == "p0-f0 = p3-f0"
    assert "1 set(s)" in quirks["duplicate texts across splits"]["detail"]
