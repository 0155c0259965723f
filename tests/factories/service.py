"""A tiny trained library for the service tests (generated images, thumbnail + TF-IDF
encoders, CCA, flat index) and helpers to serve it."""

from __future__ import annotations

import io
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

from factories.data import make_manifest, write_image

API_KEY = "test-key-0123456789"
CHROMIUM = os.environ.get("SCICMR_CHROMIUM", "/usr/bin/chromium")


def browser_marks() -> list:
    """``pytestmark`` of the browser tests: slow, and skipped without Chromium."""
    import pytest

    return [pytest.mark.slow,
            pytest.mark.skipif(not Path(CHROMIUM).exists(),
                               reason=f"no Chromium at {CHROMIUM} (apt install chromium, or set SCICMR_CHROMIUM)")]


def build_library(root: Path, extra_rows: list[str] | None = None) -> Path:
    from scicmr.workflow import build_index, encode_library, ingest, train_model

    report = ingest(make_manifest(root / "src", extra_rows=extra_rows), root / "lib", split=(0.6, 0.2, 0.2), seed=0)
    encode_library(report.library, image="thumbnail", text="tfidf")
    train_model(report.library, "cca")
    build_index(report.library, kind="flat")
    return report.library


def encoded_library(root: Path, per_field: int = 10, *, labels: bool = True) -> Path:
    """An untrained library of generated pairs (60/20/20 split), thumbnail + TF-IDF features
    (``labels=False``: a library without labels, evaluated under the pair protocol)."""
    from scicmr.workflow import encode_library, ingest

    report = ingest(make_manifest(root / "src", per_field=per_field, labels=labels), root / "lib",
                    split=(0.6, 0.2, 0.2))
    encode_library(report.library, image="thumbnail", text="tfidf")
    return report.library


def copy_library(source: Path, dest: Path) -> Path:
    shutil.copytree(source, dest)
    return dest


def image_bytes(colour: str, seed: int, fmt: str = "PNG", size: int = 48) -> bytes:
    """An image of one field's colour (red astronomy, green genomics, blue climate) as bytes."""
    import tempfile

    from PIL import Image

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "image.png"
        write_image(path, colour, seed, size)
        buffer = io.BytesIO()
        with Image.open(path) as image:
            image.convert("RGB").save(buffer, fmt)
    return buffer.getvalue()


def client(library: Path, **settings):
    """A started TestClient (lifespan run) serving ``library``; use it as a context manager."""
    from fastapi.testclient import TestClient

    from scicmr.service import Settings, create_app

    return TestClient(create_app(Settings(library=library, **settings)))



@contextmanager
def served(library: Path):
    """The base URL of ``library`` served by a real HTTP server in a background thread."""
    from scicmr.service import Settings, create_app
    from scicmr.service.background import BackgroundServer

    with BackgroundServer(create_app(Settings(library=library))) as base_url:
        yield base_url
