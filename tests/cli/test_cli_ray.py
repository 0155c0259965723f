"""``--ray [ADDRESS]`` on ingest, ocr and encode: the flag, its errors, and a local Ray started
by the command itself (the runs against a given address are in tests/workflow/test_ray_heavy_work.py)."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from factories.papers import make_papers_library
from factories.ray_head import ENV
from scicmr.cli import build_parser, main
from scicmr.corpus.library import Library


@pytest.mark.parametrize("verb", [["ingest", "src", "--out", "lib"], ["ocr", "lib"], ["encode", "lib"]])
def test_ray_flag_takes_an_optional_address(verb):
    parser = build_parser()
    assert parser.parse_args(verb).ray is None
    assert parser.parse_args(verb + ["--ray"]).ray == "local"
    assert parser.parse_args(verb + ["--ray", "ray://head:10001"]).ray == "ray://head:10001"
    assert parser.parse_args(verb + ["--ray=host:6379"]).ray == "host:6379"


def test_ray_without_the_package_names_the_extra(tmp_path, monkeypatch, capsys):
    make_papers_library(tmp_path / "lib", papers=2, per_paper=1)
    monkeypatch.setitem(sys.modules, "ray", None)  # as if ray were not installed
    assert main(["encode", str(tmp_path / "lib"), "--ray"]) == 2
    err = capsys.readouterr().err
    assert "needs the Python package 'ray'" in err and "pip install 'scicmr[ray]'" in err


def test_ray_and_workers_together_are_refused(tmp_path, capsys):
    make_papers_library(tmp_path / "lib", papers=2, per_paper=1)
    assert main(["ocr", str(tmp_path / "lib"), "--workers", "2", "--ray"]) == 2
    assert "give one of them" in capsys.readouterr().err


@pytest.mark.slow
def test_ray_without_an_address_starts_a_local_ray(tmp_path, monkeypatch, capsys):
    pytest.importorskip("ray")
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    make_papers_library(tmp_path / "lib", papers=3, per_paper=2)
    argv = ["encode", str(tmp_path / "lib"), "--image-encoder", "thumbnail", "--text-encoder", "bow", "--json"]
    assert main(argv + ["--ray"]) == 0
    keys = json.loads(capsys.readouterr().out)
    lib = Library.open(tmp_path / "lib")
    on_ray = {m: np.asarray(lib.load_features(k)) for m, k in keys.items()}
    import ray

    assert not ray.is_initialized()  # the command stopped the Ray it started
    assert main(argv + ["--force"]) == 0
    capsys.readouterr()
    for modality, key in keys.items():
        np.testing.assert_allclose(on_ray[modality], np.asarray(lib.load_features(key)), rtol=1e-5, atol=1e-6)
