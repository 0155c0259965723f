"""Two small ASGI middlewares: request metrics (Prometheus text format, written by hand) and
a request-body size limit.

Every label takes values from a fixed set, so no stream of requests can grow ``/metrics``:
the route is the matched route template (``/api/records/{record_id}``), never the raw path
(unmatched paths count as ``"unmatched"``); the method is one of :data:`KNOWN_METHODS` or
``"other"`` (the client chooses the method string freely); the status is a standard HTTP code
or its class (``"5xx"``).
"""

from __future__ import annotations

import json
import threading
import time
from bisect import bisect_left
from collections import defaultdict
from http import HTTPStatus
from typing import Callable

# Seconds. Covers a cached thumbnail (~1 ms) to a write that re-indexes (seconds).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_KNOWN_STATUSES = frozenset(int(s) for s in HTTPStatus)


def method_label(method: str) -> str:
    """The method, or ``"other"`` for anything outside :data:`KNOWN_METHODS`."""
    return method if method in KNOWN_METHODS else "other"


def status_label(status: int) -> str:
    """A standard status code as text, else its class (``"4xx"``), else ``"other"``."""
    if status in _KNOWN_STATUSES:
        return str(status)
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"


class Metrics:
    """Request counters and latency histograms, safe to update from many threads."""

    def __init__(self, buckets: tuple[float, ...] = LATENCY_BUCKETS):
        self.buckets = buckets
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._histograms: dict[tuple[str, str], list] = {}
        self.started = time.time()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one request; ``route`` must already be a template (the middleware's job),
        the method and status are mapped to bounded labels here."""
        method = method_label(method)
        with self._lock:
            self._requests[(method, route, status_label(status))] += 1
            counts, total = self._histograms.setdefault((method, route), [[0] * (len(self.buckets) + 1), 0.0])
            # bucket i counts observations <= buckets[i]; the last slot is +Inf.
            counts[bisect_left(self.buckets, seconds)] += 1
            self._histograms[(method, route)][1] = total + seconds

    def render(self, gauges: dict[str, tuple[str, float]] | None = None) -> str:
        """The Prometheus text exposition (version 0.0.4)."""
        lines = ["# HELP scicmr_http_requests_total HTTP requests by method, route and status.",
                 "# TYPE scicmr_http_requests_total counter"]
        with self._lock:
            requests = dict(self._requests)
            histograms = {k: (list(v[0]), v[1]) for k, v in self._histograms.items()}
        for (method, route, status), count in sorted(requests.items()):
            lines.append(f'scicmr_http_requests_total{{method="{method}",route="{_escape(route)}",status="{status}"}} {count}')
        lines += ["# HELP scicmr_http_request_duration_seconds Time from request to last response byte.",
                  "# TYPE scicmr_http_request_duration_seconds histogram"]
        for (method, route), (counts, total) in sorted(histograms.items()):
            labels = f'method="{method}",route="{_escape(route)}"'
            cumulative = 0
            for bound, count in zip(self.buckets, counts):
                cumulative += count
                lines.append(f'scicmr_http_request_duration_seconds_bucket{{{labels},le="{bound}"}} {cumulative}')
            cumulative += counts[-1]
            lines.append(f'scicmr_http_request_duration_seconds_bucket{{{labels},le="+Inf"}} {cumulative}')
            lines.append(f"scicmr_http_request_duration_seconds_sum{{{labels}}} {total:.6f}")
            lines.append(f"scicmr_http_request_duration_seconds_count{{{labels}}} {cumulative}")
        for name, (help_text, value) in sorted((gauges or {}).items()):
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {value:g}"]
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class MetricsMiddleware:
    """Times every HTTP request and records it in a :class:`Metrics`."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = [500]

        async def send_and_note(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or ("static" if scope["path"].startswith("/static/") else "unmatched")
            self.metrics.observe(scope["method"], path, status[0], time.perf_counter() - started)


class BodyLimitMiddleware:
    """Refuses request bodies over ``limit_for(path)`` bytes with 413.

    A declared Content-Length over the limit is refused before any byte is read; a body sent
    without one (chunked) is counted as it arrives and cut off at the limit.
    """

    def __init__(self, app, limit_for: Callable[[str], int]):
        self.app = app
        self.limit_for = limit_for

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from starlette.exceptions import HTTPException

        limit = self.limit_for(scope["path"])
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
            return await _refuse(send, limit)
        received = 0

        async def counting_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, f"request body is larger than the {limit:,}-byte limit")
            return message

        await self.app(scope, counting_receive, send)


async def _refuse(send, limit: int) -> None:
    body = json.dumps({"error": {"status": 413, "problem": f"request body is larger than the {limit:,}-byte limit",
                                 "fix": "send a smaller file"}}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
