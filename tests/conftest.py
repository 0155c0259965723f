"""Test-wide settings: offline, quiet, single-threaded (deterministic and fair on 2 cores), and
the fixtures several test files share."""

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("SCICMR_QUIET", "1")
os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(scope="module")
def class_data():
    """Separable synthetic train / val / test feature pairs (``_factories.class_splits``),
    rebuilt for each test module, as the method tests use them."""
    from factories.data import class_splits

    return class_splits()
