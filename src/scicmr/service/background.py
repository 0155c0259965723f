"""Serve an app from a background thread on a free loopback port (browser tests, screenshots).

>>> with BackgroundServer(create_app(settings)) as base_url:    # doctest: +SKIP
...     httpx.get(base_url + "/health")
"""

from __future__ import annotations

import socket
import threading
import time


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


class BackgroundServer:
    """uvicorn running ``app`` in a daemon thread; the context gives its base URL and stops it
    on exit (in-flight requests finish first)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int | None = None, start_timeout: float = 120.0):
        self.app = app
        self.host = host
        self.port = port
        self.start_timeout = start_timeout

    def __enter__(self) -> str:
        import uvicorn

        self.port = self.port or free_port(self.host)
        self.server = uvicorn.Server(uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="scicmr-server", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the server on {self.host}:{self.port} did not start")
            time.sleep(0.02)
        return f"http://{self.host}:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)
