"""Deterministic crash points for the fault suite (``tests/faults``, ``bench/faults.py``).

Code that writes a library calls :func:`crash_point` with a stable name at the moments a crash
would hurt most (after a temporary file is written, between two renames, after a commit). When
the environment variable ``SCICMR_CRASH_AT`` names that point, the process kills itself with
SIGKILL there — no cleanup, no ``finally``, exactly like ``kill -9`` or a power cut — so a test
can prove that the library on disk is still consistent afterwards.

``SCICMR_CRASH_AT=name`` kills at the first pass through ``name``; ``name:N`` at the N-th
(1-based), for points inside loops. Unset (always, outside the fault suite), a crash point
costs one environment lookup. A fault test must check that its process really died by SIGKILL
(return code -9), so a misspelt name cannot pass by testing nothing.

Names are ``<verb>.<moment>``, e.g. ``ingest.records_committed``; grep ``crash_point(`` for the
full list.
"""

from __future__ import annotations

import os
import signal

ENV = "SCICMR_CRASH_AT"

_passes: dict[str, int] = {}


def crash_point(name: str) -> None:
    """Kill this process with SIGKILL if ``SCICMR_CRASH_AT`` names ``name`` (and this pass)."""
    wanted = os.environ.get(ENV)
    if not wanted:
        return
    target, _, nth = wanted.partition(":")
    if target != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
