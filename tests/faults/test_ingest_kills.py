"""kill -9 at every ingest crash point, and at a seeded random moment, for ``ingest`` into a new
folder and ``ingest --overwrite`` over a trained library: afterwards the folder is absent (new)
or opens, ``scicmr info`` and ``search`` work, and its records are exactly the before or the
after state — never fewer, never duplicated, never an empty library."""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from factories.data import make_manifest

SRC = str(Path(__file__).resolve().parents[2] / "src")
POINTS = ["ingest.records_committed", "ingest.staging_written", "ingest.before_swap", "ingest.after_swap"]
OVERWRITE_POINTS = POINTS[:3] + ["ingest.old_moved_aside", "ingest.after_swap"]
CHECK = """
import json, sys
from scicmr.cli import main
from scicmr.corpus.library import Library
root = sys.argv[1]
assert main(["info", root]) == 0
print("SEARCH", main(["search", root, "gene expression heat map", "-k", "3", "--json"]))
print("IDS", json.dumps(Library.open(root).ids()))
"""


def _env(crash: str | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)}
    env.pop("SCICMR_CRASH_AT", None)
    if crash:
        env["SCICMR_CRASH_AT"] = crash
    return env


def _ingest_argv(source: Path, root: Path, overwrite: bool) -> list[str]:
    return [sys.executable, "-m", "scicmr.cli", "ingest", str(source), "--out", str(root)] + (
        ["--overwrite"] if overwrite else [])


def _check(root: Path) -> tuple[list[str], int]:
    """(record ids, search exit status) from a fresh process, after ``info`` succeeded."""
    done = subprocess.run([sys.executable, "-c", CHECK, str(root)], env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    status = int(next(line for line in lines if line.startswith("SEARCH ")).split()[1])
    return json.loads(next(line for line in lines if line.startswith("IDS "))[4:]), status


def _no_leftovers(root: Path) -> None:
    assert [p.name for p in root.parent.iterdir() if p.name.startswith(f".{root.name}.")] == []


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    base = tmp_path_factory.mktemp("sources")
    return make_manifest(base / "old", per_field=4), make_manifest(base / "new", per_field=2)


@pytest.fixture(scope="module")
def trained(sources, tmp_path_factory):
    """A trained, indexed library of 12 records (built in another process: this one holds no lock)."""
    root = tmp_path_factory.mktemp("trained") / "lib"
    code = ("import sys; from scicmr.workflow import ingest, encode_library, train_model, build_index\n"
            "ingest(sys.argv[1], sys.argv[2], split=(0.6, 0.2, 0.2)); encode_library(sys.argv[2], image='thumbnail', "
            "text='tfidf'); train_model(sys.argv[2], 'cca'); build_index(sys.argv[2], kind='flat')")
    done = subprocess.run([sys.executable, "-c", code, str(sources[0]), str(root)], env=_env(), capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    ids, status = _check(root)
    assert len(ids) == 12 and status == 0
    return root, ids


def _assert_new_folder_state(root: Path, new_ids: int) -> None:
    if not root.exists():
        return  # the before state of a new folder (a dead run's staging folder goes at the next ingest or open)
    ids, status = _check(root)
    _no_leftovers(root)
    assert len(ids) == len(set(ids)) == new_ids
    assert status == 2  # no model yet: the clear "train first" error, not a traceback


def _assert_overwrite_state(root: Path, before: list[str], new_ids: int) -> str:
    ids, status = _check(root)
    _no_leftovers(root)
    assert len(ids) == len(set(ids))
    if ids == before:
        assert status == 0  # the old trained library, searchable as before
        return "before"
    assert len(ids) == new_ids and status == 2
    return "after"


@pytest.mark.parametrize("point", POINTS)
def test_kill_during_ingest_into_a_new_folder(sources, tmp_path, point):
    root = tmp_path / "lib"
    killed = subprocess.run(_ingest_argv(sources[1], root, False), env=_env(point), capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    _assert_new_folder_state(root, 6)
    assert root.exists() == (point == "ingest.after_swap")
    retry = subprocess.run(_ingest_argv(sources[1], root, point == "ingest.after_swap"), env=_env(),
                           capture_output=True, text=True, timeout=300)
    assert retry.returncode == 0, retry.stderr
    _no_leftovers(root)


@pytest.mark.parametrize("point", OVERWRITE_POINTS)
def test_kill_during_overwrite_of_a_trained_library(sources, trained, tmp_path, point):
    root = tmp_path / "lib"
    shutil.copytree(trained[0], root)
    killed = subprocess.run(_ingest_argv(sources[1], root, True), env=_env(point), capture_output=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    state = _assert_overwrite_state(root, trained[1], 6)
    # Until its swap began the old library stands; from the first rename on, the new one.
    assert state == ("after" if point in ("ingest.old_moved_aside", "ingest.after_swap") else "before")


def _kill_at_random(argv: list[str], delay: float) -> int:
    process = subprocess.Popen(argv, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    return process.wait(timeout=300)


@pytest.mark.parametrize("seed", [7])
def test_kill_at_a_random_moment(sources, trained, tmp_path, seed):
    rng = random.Random(seed)
    root = tmp_path / "new"
    _kill_at_random(_ingest_argv(sources[1], root, False), rng.uniform(0.3, 1.5))
    _assert_new_folder_state(root, 6)
    root = tmp_path / "old"
    shutil.copytree(trained[0], root)
    _kill_at_random(_ingest_argv(sources[1], root, True), rng.uniform(0.3, 1.5))
    _assert_overwrite_state(root, trained[1], 6)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_kill_a_larger_overwrite_at_random_moments(trained, tmp_path, seed):
    """900 records (a few seconds to ingest): kills land in reading, hashing, the commit and the
    swap."""
    source = make_manifest(tmp_path / "big", per_field=300)
    root = tmp_path / "lib"
    shutil.copytree(trained[0], root)
    _kill_at_random(_ingest_argv(source, root, True), random.Random(seed).uniform(0.3, 4.0))
    _assert_overwrite_state(root, trained[1], 900)
