"""A real local Ray head for the Ray tests: started on loopback with its own temp dir and ports,
stopped by killing exactly the processes it started (never ``ray stop``, which would stop
every Ray on the machine, other sessions' too)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

SRC = Path(__file__).resolve().parents[2] / "src"
# A test's private cluster on loopback: no token authentication (Ray >= 2.5x turns it on when
# ~/.ray/auth_token exists, a file other sessions on the machine may write).
ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ray_binary() -> str:
    beside = Path(sys.executable).parent / "ray"
    return str(beside) if beside.exists() else (shutil.which("ray") or "ray")


@contextmanager
def ray_head(num_cpus: int = 2, timeout: float = 90.0) -> Iterator[str]:
    """Start ``ray start --head --block`` with ``num_cpus`` worker CPUs in a new process group;
    yield its address (``127.0.0.1:port``) once it accepts connections; at exit SIGTERM, then
    SIGKILL, that process group (its workers exit with their raylet)."""
    temp = tempfile.mkdtemp(prefix="scr", dir="/tmp")  # short: Ray's socket paths have a length limit
    port = free_port()
    env = {**os.environ, **ENV, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    command = [_ray_binary(), "start", "--head", "--block", "--node-ip-address", "127.0.0.1", "--port", str(port),
               "--num-cpus", str(num_cpus), "--include-dashboard", "false", "--disable-usage-stats",
               "--temp-dir", temp, "--ray-client-server-port", str(free_port()),
               "--dashboard-agent-listen-port", str(free_port())]
    head = subprocess.Popen(command, env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_until_listening(head, port, timeout)
        yield f"127.0.0.1:{port}"
    finally:
        _stop(head)
        shutil.rmtree(temp, ignore_errors=True)


def _wait_until_listening(head: subprocess.Popen, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if head.poll() is not None:
            raise RuntimeError(f"ray start exited with status {head.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the Ray head did not listen on port {port} within {timeout:.0f} s")


def _stop(head: subprocess.Popen) -> None:
    """SIGTERM the head's process group, SIGKILL it if it lingers, then SIGKILL what is left
    of the group (the head's children)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(head.pid, sig)
        except ProcessLookupError:
            return
        try:
            head.wait(3 if sig == signal.SIGTERM else 10)
            break
        except subprocess.TimeoutExpired:
            continue
    try:
        os.killpg(head.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
