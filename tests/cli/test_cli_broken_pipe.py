"""`scicmr info LIB | head` and `scicmr search ... --json | head`: when the reader closes the
pipe early, the command exits quietly (status 141, nothing on stderr), with no traceback."""

import json
import os
import subprocess
import sys

import pytest

from factories.service import build_library
from scicmr.cli import main


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    return build_library(tmp_path_factory.mktemp("cli-pipe"))


def _run_into_closed_pipe(argv):
    """Run ``scicmr argv`` with stdout a pipe whose reader has already gone."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has exited: every write gets EPIPE
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        result = subprocess.run([sys.executable, "-m", "scicmr.cli", *argv], stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=120, env=env)
    finally:
        os.close(write_end)
    return result


@pytest.mark.parametrize("argv", [["info", "{lib}"], ["search", "{lib}", "gene expression", "--json"]])
def test_a_closed_pipe_ends_the_command_quietly(library, argv):
    result = _run_into_closed_pipe([a.format(lib=library) for a in argv])
    assert "Traceback" not in result.stderr and "BrokenPipeError" not in result.stderr, result.stderr
    assert result.returncode == 141, result.stderr


def test_output_is_unchanged_when_the_pipe_stays_open(library, capsys):
    assert main(["search", str(library), "gene expression", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)
