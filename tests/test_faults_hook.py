"""The crash-point hook kills the process (SIGKILL) exactly at the named pass, and only then."""

import os
import signal
import subprocess
import sys

SCRIPT = """
from scicmr._faults import crash_point
for i in range(5):
    crash_point("loop")
    print(i, flush=True)
"""


def _run(env_value):
    env = {**os.environ, "SCICMR_CRASH_AT": env_value} if env_value else {**os.environ}
    env.pop("SCICMR_CRASH_AT", None) if env_value is None else None
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)


def test_unset_runs_through():
    result = _run(None)
    assert result.returncode == 0 and result.stdout.split() == ["0", "1", "2", "3", "4"]


def test_kills_at_the_nth_pass():
    result = _run("loop:3")
    assert result.returncode == -signal.SIGKILL and result.stdout.split() == ["0", "1"]


def test_other_names_do_not_fire():
    assert _run("elsewhere").returncode == 0
