"""kill -9 at every crash point of encode, train, index, clean, ocr and the service's writes,
and at seeded random moments; after each kill the library must open, ``scicmr info`` and
``scicmr search`` must work or say cleanly what to re-run (never a traceback), the record set
must be the one before or the one after the command (never fewer records, never duplicates),
and re-running the killed command must succeed.

Each kill is asserted to be a real SIGKILL (return code -9), so a misspelt crash point cannot
pass by testing nothing. The default variant runs small generated libraries through the
weight-free pipeline (thumbnail + TF-IDF + CCA); the ``slow`` variant adds many more random
kills on a larger library. The ingest kills live in ``test_ingest_kills.py``.
"""

from __future__ import annotations

import json
import shutil
import time

import kill_helpers as kh
import pytest

# -- shared templates (built once per session; every test works on its own copy) -------------------


@pytest.fixture(scope="session")
def templates(tmp_path_factory):
    base = tmp_path_factory.mktemp("kill-templates")
    built = {}
    for stage in ("ingest", "encode", "train", "index"):
        folder = base / stage
        built[stage] = kh.build_library(folder, upto=stage)
    return built


@pytest.fixture(scope="session")
def clean_template(tmp_path_factory):
    """An indexed library with three exact-duplicate figures for ``scicmr clean --checks exact``."""
    folder = tmp_path_factory.mktemp("kill-clean")
    return kh.build_library(folder, upto="index", extra_rows=kh.duplicate_rows(folder / "src"))


def _assert_usable(lib, *, must_search: bool = False):
    state = kh.usability(lib)
    assert not state.problems(), "\n".join(state.problems())
    if must_search:
        assert state.searched, state.search.stderr


# -- deterministic crash points of the CLI commands ------------------------------------------------

COMMAND_POINTS = [
    # (crash point, the stage the library is at, the command killed)
    ("encode.encoder_saved:1", "ingest", "encode"),
    ("features.ids_written:1", "ingest", "encode"),
    ("encode.features_saved:1", "ingest", "encode"),
    ("features.ids_written:2", "ingest", "encode"),
    ("encode.features_saved:2", "ingest", "encode"),
    ("train.model_saved", "encode", "train"),
    ("train.training_json_written", "encode", "train"),
    ("index.modality_written:1", "train", "index"),
    ("index.modality_written:2", "train", "index"),
]


@pytest.mark.parametrize("point,stage,command", COMMAND_POINTS, ids=[p for p, _, _ in COMMAND_POINTS])
def test_kill_at_crash_point(templates, tmp_path, point, stage, command):
    lib = kh.copy_library(templates[stage], tmp_path)
    before = kh.record_ids(lib)
    argv = kh.stage_args(command, lib)
    killed = kh.cli(*argv, crash_at=point)
    assert killed.returncode == kh.KILLED, f"{point} did not fire: rc {killed.returncode}\n{killed.stderr}"
    assert kh.record_ids(lib) == before
    _assert_usable(lib)
    rerun = kh.cli(*argv)
    assert rerun.returncode == 0, rerun.stderr
    assert kh.record_ids(lib) == before
    if command != "encode":  # an encoded-only library has no model to search with yet
        _assert_usable(lib, must_search=True)


def test_reencode_killed_while_rewriting_a_cache_is_not_taken_as_complete(tmp_path):
    """A feature cache rewritten for a different id set (records restored from quarantine),
    killed after the new table is staged but before it is swapped in, must not pass for a
    complete cache: the rows would belong to other records (or not exist)."""
    lib = kh.build_library(tmp_path, upto="ingest", extra_rows=kh.duplicate_rows(tmp_path / "src"))
    assert kh.cli("clean", str(lib), "--checks", "exact").returncode == 0
    assert kh.cli(*kh.stage_args("encode", lib)).returncode == 0  # caches without the quarantined
    assert kh.cli("clean", str(lib), "--restore").returncode == 0
    killed = kh.cli(*kh.stage_args("encode", lib), crash_at="features.ids_written:1")
    assert killed.returncode == kh.KILLED, killed.stderr
    rerun = kh.cli(*kh.stage_args("encode", lib))
    assert rerun.returncode == 0, rerun.stderr
    for stage in ("train", "index"):
        done = kh.cli(*kh.stage_args(stage, lib))
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    _assert_usable(lib, must_search=True)
    meta = json.loads((lib / "library.json").read_text())
    image_key = meta["encoders"]["image"]["key"]
    from scicmr.corpus.table import ChunkedTable

    table = ChunkedTable.open(lib / "features" / image_key)
    assert len(table.column("vectors")) == len(table.ids())


# -- clean: journal first, then the moves, then the marks ------------------------------------------

CLEAN_POINTS = ["clean.journal_written", "clean.files_moved"]


@pytest.fixture(scope="module")
def cleaned_reference(clean_template, tmp_path_factory):
    lib = kh.copy_library(clean_template, tmp_path_factory.mktemp("clean-ref"))
    done = kh.cli("clean", str(lib), "--checks", "exact")
    assert done.returncode == 0, done.stderr
    return kh.visible_ids(lib)


@pytest.mark.parametrize("point", CLEAN_POINTS)
def test_kill_clean(clean_template, cleaned_reference, tmp_path, point):
    lib = kh.copy_library(clean_template, tmp_path)
    before, visible = kh.record_ids(lib), kh.visible_ids(lib)
    assert len(cleaned_reference) < len(visible), "the duplicates must be flagged for this test to mean anything"
    killed = kh.cli("clean", str(lib), "--checks", "exact", crash_at=point)
    assert killed.returncode == kh.KILLED, f"{point} did not fire: rc {killed.returncode}\n{killed.stderr}"
    assert kh.record_ids(lib) == before  # quarantine marks records, it never removes them
    assert kh.visible_ids(lib) in (visible, cleaned_reference)
    _assert_usable(lib, must_search=True)
    rerun = kh.cli("clean", str(lib), "--checks", "exact")
    assert rerun.returncode == 0, rerun.stderr
    assert kh.record_ids(lib) == before
    assert kh.visible_ids(lib) == cleaned_reference
    restored = kh.cli("clean", str(lib), "--restore")
    assert restored.returncode == 0, restored.stderr
    assert kh.visible_ids(lib) == visible
    assert all((lib / "images" / p.name).exists() for p in (clean_template / "images").iterdir())


# -- OCR: chunk transactions -----------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="needs the tesseract binary")
def test_kill_ocr_between_chunks(tmp_path):
    lib = kh.build_library(tmp_path, upto="ingest", per_field=12)  # 36 figures: one chunk of 32 + 4
    before = kh.record_ids(lib)
    killed = kh.cli("ocr", str(lib), "--lang", "eng", "--workers", "1", crash_at="ocr.chunk_committed:1")
    assert killed.returncode == kh.KILLED, killed.stderr
    assert kh.record_ids(lib) == before
    done = kh.ocr_done(lib)
    assert len(done) == 32  # the committed chunk survives
    assert kh.cli("info", str(lib)).returncode == 0
    rerun = kh.cli("ocr", str(lib), "--lang", "eng", "--workers", "1", "--json")
    assert rerun.returncode == 0, rerun.stderr
    assert kh.record_ids(lib) == before and len(kh.ocr_done(lib)) == len(before)
    assert json.loads(rerun.stdout)["cached"] == 32  # resumed, not redone


# -- the service's write path ----------------------------------------------------------------------


@pytest.mark.parametrize("point,committed", [("serve.features_appended", False), ("serve.records_committed", True)])
def test_kill_service_write(templates, tmp_path, point, committed):
    lib = kh.copy_library(templates["index"], tmp_path)
    before = kh.record_ids(lib)
    with kh.Server(lib, crash_at=point) as server:
        assert server.started, server.output()
        answer = kh.post_record(server.url, "added-1")
        server.proc.wait(timeout=30)
        assert server.proc.returncode == kh.KILLED, f"{point} did not fire: {answer!r}\n{server.output()}"
    assert kh.record_ids(lib) == (before + ["added-1"] if committed else before)
    _assert_usable(lib, must_search=True)
    import httpx

    with kh.Server(lib) as server:
        assert server.started, f"the service does not start after a kill at {point}:\n{server.output()}"
        again = kh.post_record(server.url, "added-1")
        assert not isinstance(again, Exception), again
        assert again.status_code == (409 if committed else 201), again.text
        found = httpx.get(server.url + "/api/search", params={"q": "gene expression heat map of an added sample",
                                                             "k": 50}, timeout=30)
        assert found.status_code == 200, found.text
        assert "added-1" in found.text
    assert kh.record_ids(lib) == before + ["added-1"]


# -- seeded random-time kills ----------------------------------------------------------------------


def _random_kill(templates, tmp_path, command: str, stage: str, delay: float):
    lib = kh.copy_library(templates[stage], tmp_path)
    before = kh.record_ids(lib)
    argv = kh.stage_args(command, lib) + (["--force"] if command == "encode" else [])
    code = kh.kill_after(kh.cli_argv(*argv), delay)
    assert code in (kh.KILLED, 0), code
    assert kh.record_ids(lib) == before
    _assert_usable(lib)
    rerun = kh.cli(*argv)
    assert rerun.returncode == 0, rerun.stderr
    _assert_usable(lib, must_search=True)


RANDOM_FAST = [(c, s, d) for (c, s), d in zip([("encode", "index"), ("train", "index"), ("index", "index"),
                                               ("encode", "index")],
                                              kh.seeded_delays(2026, 4, 0.3, 1.5))]


@pytest.mark.parametrize("command,stage,delay", RANDOM_FAST)
def test_random_time_kill(templates, tmp_path, command, stage, delay):
    _random_kill(templates, tmp_path, command, stage, delay)


RANDOM_SLOW = [(c, "index", d) for n, c in enumerate(("encode", "train", "index"))
               for d in kh.seeded_delays(100 + n, 8, 0.05, 2.5)]


@pytest.mark.slow
@pytest.mark.parametrize("command,stage,delay", RANDOM_SLOW)
def test_random_time_kill_many(templates, tmp_path, command, stage, delay):
    _random_kill(templates, tmp_path, command, stage, delay)


@pytest.mark.slow
def test_random_time_kill_clean_large(tmp_path):
    """A larger library, clean killed at seeded moments, re-run each time until it completes."""
    lib = kh.build_library(tmp_path, upto="index", per_field=20, extra_rows=kh.duplicate_rows(tmp_path / "src"))
    before = kh.record_ids(lib)
    for delay in kh.seeded_delays(7, 5, 0.2, 2.0):
        kh.kill_after(kh.cli_argv("clean", str(lib), "--checks", "exact"), delay)
        assert kh.record_ids(lib) == before
        _assert_usable(lib)
        time.sleep(0)
    assert kh.cli("clean", str(lib), "--checks", "exact").returncode == 0
    _assert_usable(lib, must_search=True)
