"""Ingest is all or nothing: a failed, interrupted or killed ingest leaves the target as it was
(absent, or the old library with --overwrite), never an empty library that blocks the retry; and
train refuses a library without train pairs before it spends minutes encoding."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from factories.data import make_manifest
from scicmr.corpus.library import Library
from scicmr.errors import InputError, LibraryError
from scicmr.workflow import encode_library, ingest, train_model


def _bad_manifest(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "bad.jsonl"
    path.write_text("".join(json.dumps({"id": f"x{i}", "image": f"missing-{i}.png", "caption": "c"}) + "\n"
                            for i in range(3)))
    return path


def _siblings(root: Path) -> list[str]:
    return sorted(p.name for p in root.parent.iterdir() if p.name.startswith(f".{root.name}."))


@pytest.fixture()
def trained(tmp_path):
    lib_root = tmp_path / "lib"
    ingest(make_manifest(tmp_path / "src", per_field=4), lib_root, split=(0.6, 0.2, 0.2))
    encode_library(lib_root, image="thumbnail", text="tfidf")
    train_model(lib_root, "cca")
    lib = Library.open(lib_root)
    return lib_root, {"ids": lib.ids(), "features": lib.feature_keys(), "models": lib.models()}


def _state(root: Path) -> dict:
    lib = Library.open(root)
    return {"ids": lib.ids(), "features": lib.feature_keys(), "models": lib.models()}


def test_overwrite_with_an_all_bad_source_keeps_the_old_library(trained, tmp_path):
    root, before = trained
    with pytest.raises(InputError, match="no usable records"):
        ingest(_bad_manifest(tmp_path / "bad"), root, overwrite=True)
    assert _state(root) == before and len(before["ids"]) == 12 and before["models"] == ["cca"]
    assert _siblings(root) == []


@pytest.mark.parametrize("error", [RuntimeError("reader crashed"), KeyboardInterrupt()])
def test_overwrite_that_raises_keeps_the_old_library(trained, tmp_path, monkeypatch, error):
    root, before = trained

    def boom(*args, **kwargs):
        raise error

    monkeypatch.setattr("scicmr.corpus.readers.read_source", boom)
    with pytest.raises(type(error)):
        ingest(make_manifest(tmp_path / "new", per_field=2), root, overwrite=True)
    assert _state(root) == before and _siblings(root) == []


def test_overwrite_replaces_the_library_when_complete(trained, tmp_path):
    root, _ = trained
    report = ingest(make_manifest(tmp_path / "new", per_field=2), root, overwrite=True)
    after = _state(root)
    assert report.added == 6 and len(after["ids"]) == 6 and after["models"] == [] and after["features"] == []
    assert _siblings(root) == []


@pytest.mark.parametrize("error", [None, RuntimeError("reader crashed"), KeyboardInterrupt()])
def test_a_failed_ingest_leaves_no_library_and_the_retry_works(tmp_path, monkeypatch, error):
    root = tmp_path / "lib"
    with monkeypatch.context() as patch:
        if error is None:
            source = _bad_manifest(tmp_path / "bad")
        else:
            source = make_manifest(tmp_path / "src", per_field=2)
            patch.setattr("scicmr.corpus.readers.read_source", lambda *a, **k: (_ for _ in ()).throw(error))
        with pytest.raises((InputError, type(error)) if error is not None else InputError):
            ingest(source, root)
    assert not root.exists() and _siblings(root) == []
    report = ingest(make_manifest(tmp_path / "src", per_field=2), root)
    assert report.added == 6 and len(Library.open(root)) == 6


def _cli_ingest(source: Path, root: Path, crash: str | None, *extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(Path(__file__).parents[2] / "src"),
                                                                    os.environ.get("PYTHONPATH")) if p)}
    env.pop("SCICMR_CRASH_AT", None)
    if crash:
        env["SCICMR_CRASH_AT"] = crash
    return subprocess.run([sys.executable, "-m", "scicmr.cli", "ingest", str(source), "--out", str(root), *extra],
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("point", ["ingest.records_committed", "ingest.before_swap"])
def test_a_killed_ingest_does_not_block_the_retry(tmp_path, point):
    source, root = make_manifest(tmp_path / "src", per_field=2), tmp_path / "lib"
    killed = _cli_ingest(source, root, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert not root.exists() and len(_siblings(root)) == 1  # the dead run's staging folder
    retry = _cli_ingest(source, root, None)
    assert retry.returncode == 0, retry.stderr
    assert len(Library.open(root)) == 6 and _siblings(root) == []


def test_records_are_committed_with_their_splits(tmp_path):
    """The staging database of a run killed right after its commit holds no record without a
    split (a kill there once left 1000 records with split none)."""
    source, root = make_manifest(tmp_path / "src", per_field=2), tmp_path / "lib"
    assert _cli_ingest(source, root, "ingest.records_committed").returncode == -signal.SIGKILL
    (staging,) = [p for p in tmp_path.iterdir() if p.name.startswith(".lib.staging-")]
    assert set(Library(staging).split_counts()) <= {"train", "validation", "test"}


def test_ingest_refuses_a_folder_that_holds_other_files(tmp_path):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "thesis.tex").write_text("keep me")
    with pytest.raises(LibraryError, match="holds other files"):
        ingest(make_manifest(tmp_path / "src", per_field=2), tmp_path / "lib")
    assert (tmp_path / "lib" / "thesis.tex").read_text() == "keep me"


def test_ingest_into_an_empty_existing_folder(tmp_path):
    (tmp_path / "lib").mkdir()
    assert ingest(make_manifest(tmp_path / "src", per_field=2), tmp_path / "lib").added == 6


def test_train_refuses_a_library_without_train_pairs_before_encoding(tmp_path, monkeypatch):
    root = tmp_path / "lib"
    ingest(make_manifest(tmp_path / "src", per_field=2), root, split=(0.0, 0.0, 1.0))

    def no_encoding(*args, **kwargs):
        raise AssertionError("train encoded a library it could not train on")

    monkeypatch.setattr("scicmr.workflow.encode.encode_library", no_encoding)
    with pytest.raises(LibraryError, match=r"0 training pair\(s\).*test 6"):
        train_model(root, "cca")
    assert Library.open(root).feature_keys() == []
