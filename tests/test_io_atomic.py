import pytest

from scicmr._io import atomic_directory, atomic_write_json, read_json


def test_atomic_json_replaces(tmp_path):
    path = tmp_path / "a" / "x.json"
    atomic_write_json(path, {"v": 1})
    atomic_write_json(path, {"v": 2})
    assert read_json(path) == {"v": 2}
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]


def test_atomic_directory_keeps_old_on_failure(tmp_path):
    target = tmp_path / "model"
    with atomic_directory(target) as tmp:
        (tmp / "w.txt").write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_directory(target) as tmp:
            (tmp / "w.txt").write_text("new")
            raise RuntimeError("crash mid-write")
    assert (target / "w.txt").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    with atomic_directory(target) as tmp:
        (tmp / "w.txt").write_text("new")
    assert (target / "w.txt").read_text() == "new"
