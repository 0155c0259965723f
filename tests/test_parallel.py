"""The executor strategy without Ray: results in input order, the local process pool, the
missing-ray error, and what Ray workers are given (the Ray runs are in tests/workflow/test_ray_*)."""

from __future__ import annotations

import operator
import os
import sys
from pathlib import Path

import pytest

from scicmr.errors import InputError
from scicmr.parallel import LocalExecutor, RayExecutor, in_order, worker_env


def test_in_order_yields_by_index_whatever_the_arrival_order():
    arrivals = [(2, "c"), (0, "a"), (3, "d"), (1, "b")]
    assert list(in_order(arrivals, 4)) == ["a", "b", "c", "d"]


@pytest.mark.parametrize("workers", [1, 2])
def test_local_executor_maps_in_order_with_and_without_context(workers):
    items = list(range(9))
    assert list(LocalExecutor(workers).map(operator.neg, items, desc="neg")) == [-i for i in items]
    assert list(LocalExecutor(workers).map(operator.mul, items, context=4)) == [4 * i for i in items]


def test_local_executor_raises_the_functions_error():
    from scicmr.corpus.ocr import OcrSettings

    with pytest.raises(InputError, match="cannot read OCR languages"):
        list(LocalExecutor(2).map(OcrSettings, ["eng", "not a language!"]))


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_local_executor_refuses_bad_worker_counts(workers):
    with pytest.raises(InputError):
        LocalExecutor(workers)


def test_ray_executor_without_ray_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(InputError, match="needs the Python package 'ray'") as caught:
        RayExecutor()
    assert "pip install 'scicmr[ray]'" in caught.value.fix


def test_workers_get_no_secrets_or_crash_points(monkeypatch, tmp_path):
    for name, value in [("SCICMR_API_KEY", "secret-key"), ("SCICMR_MILVUS_TOKEN", "user:password"),
                        ("SCICMR_CRASH_AT", "table.chunk_written"), ("SCICMR_LIBRARY", str(tmp_path))]:
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SCICMR_QUIET", "1")
    monkeypatch.setenv("SCICMR_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    env = worker_env()["env_vars"]
    assert {k for k in env if k.startswith("SCICMR_")} == {"SCICMR_QUIET", "SCICMR_CACHE_DIR"}
    assert env["HF_HUB_OFFLINE"] == "1"
    assert "secret-key" not in str(env) and "user:password" not in str(env)


def test_workers_get_scicmr_settings_and_this_checkout(monkeypatch, tmp_path):
    monkeypatch.setenv("SCICMR_CACHE_DIR", str(tmp_path))
    env = worker_env()["env_vars"]
    assert env["SCICMR_CACHE_DIR"] == str(tmp_path)
    import scicmr

    assert env["PYTHONPATH"].split(os.pathsep)[0] == str(Path(scicmr.__file__).resolve().parents[1])
