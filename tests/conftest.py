"""Test-wide settings: offline, quiet, single-threaded (deterministic and fair on 2 cores), the
fixtures several test files share, and the slow-test rule: tests marked ``slow`` are deselected
in a bare local ``pytest`` and run with ``--runslow``, any ``-m`` expression, a test named by
node id, or ``CI=true`` (CI runs ``make test`` with it, so they keep their coverage)."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("SCICMR_QUIET", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="session", autouse=True)
def _private_cache_dir(tmp_path_factory):
    """Caches (figure OCR at PDF ingest) go to a folder of this test session, never the user's
    ``~/.cache``; identical figures across tests still share it."""
    old = os.environ.get("SCICMR_CACHE_DIR")
    os.environ["SCICMR_CACHE_DIR"] = str(tmp_path_factory.mktemp("scicmr-cache"))
    yield
    if old is None:
        os.environ.pop("SCICMR_CACHE_DIR", None)
    else:
        os.environ["SCICMR_CACHE_DIR"] = old


@pytest.fixture(scope="module")
def class_data():
    """Separable synthetic train / val / test feature pairs (:func:`factories.data.class_splits`),
    rebuilt for each test module, as the method tests use them."""
    from factories.data import class_splits

    return class_splits()


# -- slow tests: deselected in a bare local run, always run in CI ------------------------------
SLOW_HOW = "run them with --runslow or -m slow (CI=true runs everything)"
_SLOW_DESELECTED = pytest.StashKey[int]()


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False,
                     help="also run the tests marked slow (deselected locally by default; CI=true runs them)")


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pytest_collection_modifyitems(config, items):
    # Slow tests run whenever someone asked for them: --runslow, any -m expression, tests named
    # by node id (path::test), or CI (CI=true; `make test` there keeps them, coverage intact).
    named = any("::" in arg for arg in config.args)
    if config.getoption("--runslow") or config.getoption("markexpr") or named or _in_ci():
        return
    slow = [item for item in items if item.get_closest_marker("slow") is not None]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if item.get_closest_marker("slow") is None]
    config.stash[_SLOW_DESELECTED] = len(slow)


def pytest_terminal_summary(terminalreporter, config):
    count = config.stash.get(_SLOW_DESELECTED, 0)
    if count:
        terminalreporter.write_line(f"{count} slow test{'s' if count > 1 else ''} deselected; {SLOW_HOW}.")


@pytest.fixture(scope="session")
def trained_library_source(tmp_path_factory):
    """One small trained library (generated pairs, thumbnail + TF-IDF features, CCA, flat
    index), built once per run; tests that write take :func:`trained_library_copy`."""
    from factories.service import build_library

    return build_library(tmp_path_factory.mktemp("trained-library"))


@pytest.fixture()
def trained_library_copy(trained_library_source, tmp_path):
    """A private copy of :func:`trained_library_source` for a test to change."""
    from factories.service import copy_library

    return copy_library(trained_library_source, tmp_path / "lib")
