"""`scicmr serve`: bad arguments fail with the CLI's clear message; a real server answers
over HTTP on loopback with the settings given on the command line and in the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("uvicorn")

from factories.service import build_library  # noqa: E402
from scicmr.cli import main  # noqa: E402
from scicmr.service.background import free_port  # noqa: E402

SRC = Path(__file__).resolve().parents[1] / "src"


def test_serve_refuses_what_is_not_a_trained_library(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nothing")]) == 2
    assert "is not a scicmr library" in capsys.readouterr().err
    assert main(["serve", str(tmp_path), "--port", "0"]) == 2
    assert "--port must be" in capsys.readouterr().err


@pytest.mark.slow
def test_serve_answers_over_http(tmp_path):
    import httpx

    library = build_library(tmp_path)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1", "SERVE_TEST_KEY": "k" * 20}
    process = subprocess.Popen(
        [sys.executable, "-m", "scicmr.cli", "serve", str(library), "--port", str(port), "--max-k", "5",
         "--api-key-env", "SERVE_TEST_KEY", "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.stdout.read()
            try:
                health = httpx.get(base + "/health", timeout=2).json()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert health["writes_enabled"] and health["indexed"] == 36
        hits = httpx.get(base + "/api/search", params={"q": "galaxy redshift spectrum", "k": 5}).json()["hits"]
        assert len(hits) == 5 and hits[0]["labels"] == ["astronomy"]
        assert httpx.get(base + "/api/search", params={"q": "galaxy", "k": 6}).status_code == 422
        assert httpx.get(base + "/").text.count("capture=\"environment\"") == 1
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert f"http://127.0.0.1:{port}/" in process.stdout.read()


def test_worker_environment_drops_a_stale_api_key():
    from scicmr.service.settings import Settings

    environ = {"SCICMR_API_KEY": "left-over-key-123"}  # e.g. exported in the shell
    Settings.from_env({}, library="lib").export_environ(environ)  # writes off (key read from elsewhere)
    assert "SCICMR_API_KEY" not in environ and Settings.from_env(environ).writes_enabled is False
    Settings.from_env({}, library="lib", api_key="a-long-secret-key").export_environ(environ)
    assert Settings.from_env(environ).api_key == "a-long-secret-key"
