"""Library.open repairs what dead writers left: temporary names of atomic writes, interrupted
directory swaps, the service's upload staging folders, an interrupted ingest swap beside the
library, and a quarantine killed after its journal — but never touches what a live process owns."""

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from factories.data import make_manifest

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _run(code: str, crash: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (SRC, os.environ.get("PYTHONPATH")) if p)}
    env.pop("SCICMR_CRASH_AT", None)
    if crash:
        env["SCICMR_CRASH_AT"] = crash
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return _run(f"import sys; from scicmr.cli import main; sys.exit(main({list(argv)!r}))")


@pytest.fixture()
def library(tmp_path):
    """A library built by another process (this one never opened it, so holds no lock on it)."""
    root = tmp_path / "lib"
    done = _cli("ingest", str(make_manifest(tmp_path / "src", per_field=2)), "--out", str(root))
    assert done.returncode == 0, done.stderr
    return root


def _plant(root: Path) -> dict[str, Path]:
    (root / "models" / "cca").mkdir(parents=True)
    (root / "models" / "cca" / "config.json").write_text("{}")
    (root / "models" / ".lda.old-4242").mkdir()
    (root / "models" / ".lda.old-4242" / "config.json").write_text('{"old": true}')
    planted = {
        "tmp_file": root / ".library.json.k2j3h4.tmp",
        "tmp_deep": root / "reports" / ".ingest.json.abc.tmp",
        "tmp_dir": root / "models" / ".cardl.x1y2.tmp",
        "old_dir": root / "models" / ".cca.old-4242",
        "service_staging": root / ".staging-a1b2c3",
    }
    planted["tmp_file"].write_text("torn")
    planted["tmp_deep"].write_text("torn")
    for name in ("tmp_dir", "old_dir", "service_staging"):
        planted[name].mkdir()
    (root / "notes.tmp").write_text("a user's file")
    (root / ".my-notes").write_text("a user's file")
    return planted


def test_open_removes_dead_writers_leftovers(library):
    planted = _plant(library)
    assert _cli("info", str(library)).returncode == 0
    assert not any(p.exists() for p in planted.values())
    # The interrupted directory swap whose directory is missing is rolled back, not deleted.
    assert (library / "models" / "lda" / "config.json").read_text() == '{"old": true}'
    assert (library / "notes.tmp").exists() and (library / ".my-notes").exists()


def test_open_leaves_leftovers_alone_while_another_process_has_the_library_open(library):
    from scicmr.corpus.library import Library

    Library.open(library)  # this process now holds the library open (a shared lock)
    planted = _plant(library)
    assert _cli("info", str(library)).returncode == 0
    assert all(p.exists() for p in planted.values())


def test_a_live_staging_folder_beside_the_library_is_not_removed(tmp_path):
    staging = tmp_path / f".lib.staging-{os.getpid()}-abcd1234"
    staging.mkdir()
    fd = os.open(staging / ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a live ingest building it
    try:
        done = _cli("ingest", str(make_manifest(tmp_path / "src", per_field=2)), "--out", str(tmp_path / "lib"))
        assert done.returncode == 0, done.stderr
        assert staging.exists()
    finally:
        os.close(fd)
    assert _cli("info", str(tmp_path / "lib")).returncode == 0
    assert not staging.exists()


QUARANTINE = """
from scicmr.cleaning.quarantine import quarantine
from scicmr.cleaning.report import CleaningReport, Flag
from scicmr.corpus.library import Library
lib = Library.open({root!r})
quarantine(lib, CleaningReport(n_images=6, checks=[], config={{}},
                               flags=[Flag(id=i, path="", reasons={{"blank": "x"}}) for i in {ids!r}]))
"""


@pytest.mark.parametrize("point", ["clean.journal_written", "clean.files_moved"])
def test_a_quarantine_killed_after_its_journal_is_completed_at_open(library, point):
    from scicmr.corpus.library import Library

    ids = ["astronomy-0", "genomics-1"]
    killed = _run(QUARANTINE.format(root=str(library), ids=ids), crash=point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    lib = Library.open(library)
    for record in lib.get_many(ids):
        assert record.extra["quarantine"]["reasons"] == ["blank"]
        assert not (library / record.image).exists() and (library / "quarantine" / record.image).exists()
    others = [r for r in lib.records() if r.id not in ids]
    assert all("quarantine" not in r.extra and (library / r.image).exists() for r in others)
    assert not (library / "quarantine" / "pending.json").exists()


def test_a_restore_killed_midway_is_completed_at_open(library):
    from scicmr.corpus.library import Library

    ids = ["astronomy-0", "genomics-1"]
    assert _run(QUARANTINE.format(root=str(library), ids=ids)).returncode == 0
    code = f"from scicmr.cleaning.quarantine import restore\nfrom scicmr.corpus.library import Library\n" \
           f"restore(Library.open({str(library)!r}))"
    assert _run(code, crash="clean.files_moved").returncode == -signal.SIGKILL
    lib = Library.open(library)
    assert all("quarantine" not in r.extra and (library / r.image).exists() for r in lib.records())


def test_an_interrupted_swap_is_finished_even_while_a_reader_holds_the_old_library(library, tmp_path):
    from scicmr.corpus.library import Library

    assert len(Library.open(library)) == 6  # a reader (this process) keeps the old library open
    code = ("import sys; from scicmr.cli import main; "
            f"sys.exit(main(['ingest', {str(make_manifest(tmp_path / 'new', per_field=3))!r}, '--out', "
            f"{str(library)!r}, '--overwrite']))")
    assert _run(code, crash="ingest.old_moved_aside").returncode == -signal.SIGKILL
    assert not library.exists()
    assert len(Library.open(library)) == 9  # rolled forward: the new library was complete
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".lib.")] == []
