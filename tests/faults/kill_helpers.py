"""Helpers of the kill tests (tests/faults/test_kills.py) and bench/faults.py.

Every command runs in a child process (``python -m scicmr.cli ...``) so that a SIGKILL, from
a crash point (``SCICMR_CRASH_AT``) or from outside, kills only the child. The checks after a
kill read the library the way a user would (``scicmr info``, ``scicmr search``) and the record
table directly (ids, in order), never through the code under test alone.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
TESTS = Path(__file__).resolve().parents[1]
KILLED = -signal.SIGKILL

# The fast, weight-free pipeline: thumbnail images, TF-IDF texts, CCA.
ENCODE = ["--image-encoder", "thumbnail", "--text-encoder", "tfidf"]
STAGES = ("ingest", "encode", "train", "index")


def env(crash_at: str | None = None, **extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k != "SCICMR_CRASH_AT"}
    e["PYTHONPATH"] = os.pathsep.join([str(SRC), str(TESTS)])
    e.setdefault("OMP_NUM_THREADS", "1")
    e.setdefault("MKL_NUM_THREADS", "1")
    e.setdefault("OPENBLAS_NUM_THREADS", "1")
    if crash_at:
        e["SCICMR_CRASH_AT"] = crash_at
    e.update(extra)
    return e


def cli_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "scicmr.cli", *map(str, args)]


def cli(*args: str, cwd: Path | None = None, crash_at: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(cli_argv(*args), cwd=cwd, env=env(crash_at), capture_output=True, text=True, timeout=timeout,
                          check=False)


def stage_args(stage: str, lib: Path, source: Path | None = None) -> list[str]:
    return {
        "ingest": ["ingest", str(source), "--out", str(lib)],
        "encode": ["encode", str(lib), *ENCODE],
        "train": ["train", str(lib), "--method", "cca"],
        "index": ["index", str(lib)],
    }[stage]


def make_source(folder: Path, per_field: int = 6, extra_rows: list[str] | None = None) -> Path:
    from factories.data import (
        make_manifest,  # tests/ is on sys.path in pytest and in bench/faults.py
    )

    return make_manifest(folder, per_field=per_field, extra_rows=extra_rows)


def duplicate_rows(folder: Path, copies: int = 3) -> list[str]:
    """Manifest rows of ``copies`` records sharing one image's bytes (exact duplicates)."""
    from factories.data import write_image

    images = folder / "images"
    images.mkdir(parents=True, exist_ok=True)
    write_image(images / "dup-0.png", "blue", seed=999)
    rows = []
    for i in range(copies):
        if i:
            shutil.copyfile(images / "dup-0.png", images / f"dup-{i}.png")
        rows.append(json.dumps({"id": f"dup-{i}", "image": f"images/dup-{i}.png", "title": f"Duplicate {i}",
                                "caption": f"Figure {i}: gene expression heat map, duplicated", "labels": ["genomics"],
                                "group": f"dup-paper{i}"}))
    return rows


def ocr_done(lib: Path) -> list[str]:
    """Ids of records that carry OCR text."""
    conn = sqlite3.connect(f"file:{lib / 'records.sqlite'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id, body FROM records ORDER BY position").fetchall()
    finally:
        conn.close()
    return [i for i, body in rows if isinstance(json.loads(body).get("extra", {}).get("ocr_text"), str)]


def build_library(folder: Path, upto: str = "index", per_field: int = 6, extra_rows: list[str] | None = None) -> Path:
    """A generated library run through the stages up to ``upto`` (``ingest`` .. ``index``)."""
    source = make_source(folder / "src", per_field, extra_rows)
    lib = folder / "lib"
    for stage in STAGES[: STAGES.index(upto) + 1]:
        done = cli(*stage_args(stage, lib, source))
        assert done.returncode == 0, f"{stage}: {done.stderr}"
    return lib


def copy_library(template: Path, folder: Path) -> Path:
    lib = folder / "lib"
    shutil.copytree(template, lib)
    return lib


def record_ids(lib: Path) -> list[str]:
    """Record ids in library order, read straight from records.sqlite (WAL included)."""
    conn = sqlite3.connect(f"file:{lib / 'records.sqlite'}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT id FROM records ORDER BY position")]
    finally:
        conn.close()


def visible_ids(lib: Path) -> list[str]:
    """Ids of records not quarantined (what encode / train / search use)."""
    conn = sqlite3.connect(f"file:{lib / 'records.sqlite'}?mode=ro", uri=True)
    try:
        rows = conn.execute("SELECT id, body FROM records ORDER BY position").fetchall()
    finally:
        conn.close()
    return [i for i, body in rows if "quarantine" not in json.loads(body).get("extra", {})]


@dataclass
class Usability:
    info: subprocess.CompletedProcess
    search: subprocess.CompletedProcess

    def problems(self) -> list[str]:
        """What a user would see wrong: a traceback, or a failure that is not a clean ``error:``."""
        found = []
        for name, done in (("info", self.info), ("search", self.search)):
            if "Traceback" in done.stderr:
                found.append(f"{name}: traceback\n{done.stderr[-2000:]}")
            elif done.returncode != 0 and not done.stderr.lstrip().startswith("error:"):
                found.append(f"{name}: rc {done.returncode} without a clean error: {done.stderr[-500:]!r}")
        if self.info.returncode != 0:
            found.append(f"info failed: {self.info.stderr[-500:]!r}")
        return found

    @property
    def searched(self) -> bool:
        return self.search.returncode == 0


def usability(lib: Path, query: str = "gene expression heat map") -> Usability:
    return Usability(cli("info", str(lib)), cli("search", str(lib), query, "-k", "3", "--json"))


def kill_after(argv: list[str], delay: float, cwd: Path | None = None, timeout: float = 120) -> int | None:
    """Start ``argv``, SIGKILL it after ``delay`` seconds; its return code (None: it had ended
    by itself before the kill, and its own code is returned instead)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
        return proc.returncode
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=timeout)


def seeded_delays(seed: int, n: int, low: float, high: float) -> list[float]:
    rng = random.Random(seed)
    return [round(rng.uniform(low, high), 3) for _ in range(n)]


# ---------------------------------------------------------------------------- the service


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


API_KEY = "fault-suite-key"


class Server:
    """``scicmr serve LIB`` in a child process on a free loopback port."""

    def __init__(self, lib: Path, crash_at: str | None = None, startup: float = 30):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = lib.parent / f"serve-{self.port}.log"
        self._log = open(self.log, "wb")  # noqa: SIM115 -- closed in stop()
        self.proc = subprocess.Popen(
            cli_argv("serve", str(lib), "--port", str(self.port), "--log-level", "warning"),
            env=env(crash_at, SCICMR_API_KEY=API_KEY), stdout=self._log, stderr=subprocess.STDOUT)
        self.started = self._wait(startup)

    def _wait(self, startup: float) -> bool:
        import httpx

        deadline = time.monotonic() + startup
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        return False

    def output(self) -> str:
        self._log.flush()
        return self.log.read_text(errors="replace")

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode

    def __enter__(self) -> Server:  # noqa: PYI034
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def png_bytes(colour=(200, 30, 30), seed: int = 7) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(colour)[None, None, :] + rng.normal(0, 25, (48, 64, 3)), 0, 255).astype("uint8")
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def post_record(url: str, record_id: str, timeout: float = 60):
    """POST one figure–caption record; the httpx response, or the exception when the server died."""
    import httpx

    row = {"id": record_id, "title": "Added study", "caption": "gene expression heat map of an added sample",
           "labels": ["genomics"], "image": f"{record_id}.png"}
    try:
        return httpx.post(url + "/api/records", data={"records": json.dumps([row])},
                          files=[("files", (f"{record_id}.png", png_bytes(), "image/png"))],
                          headers={"X-API-Key": API_KEY}, timeout=timeout)
    except httpx.HTTPError as exc:
        return exc
