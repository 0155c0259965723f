"""Atomic file writes: write to a temporary sibling, fsync, then rename.

A crash at any point leaves either the old file or the new one, never a torn mix. A target
that is a symlink is written through: the temporary file goes beside the *real* file and
replaces it, so the link stays a link (renaming onto the link itself would replace it with a
regular file — ``--out /dev/stdout`` once did that to ``/dev/stdout``).

User-named output paths are checked above this layer, in :mod:`scicmr.workflow.outputs`
(this bottom layer raises no scicmr errors).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np


def real_target(path: str | os.PathLike) -> Path:
    """``path`` with symlinks resolved when it is one (a dangling link: the file it names), so
    a write replaces the real file and keeps the link; other paths come back unchanged."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; parent folders are created. A symlink is
    written through (its real file is replaced, the link kept); returns the path written."""
    path = real_target(path)
    with contextlib.suppress(FileNotFoundError, NotADirectoryError):
        mode = os.stat(path).st_mode
        if not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            # Renaming onto a device, fifo or socket would replace it with a regular file.
            raise OSError(errno.EINVAL, "refusing to replace a special file (device, fifo or socket)", str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def json_text(obj: Any) -> str:
    """``obj`` as the indented JSON text (numpy values and paths included) every writer here uses."""
    return json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default) + "\n"


def atomic_write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write_text(path, json_text(obj))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Save one array as .npy atomically."""
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.asarray(array), allow_pickle=False)
    return atomic_write_bytes(path, buffer.getvalue())


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Build a directory in a temporary sibling and swap it in when the block succeeds.

    Usage::

        with atomic_directory(lib / "models" / "cardl") as tmp:
            (tmp / "config.json").write_text(...)

    If the block raises, the temporary folder is removed and ``path`` is untouched. A symlink
    to a folder is kept: the real folder is replaced.
    """
    path = real_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if path.exists():
        old = path.with_name(f".{path.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(path, old)
    os.replace(tmp, path)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def read_json(path: str | os.PathLike) -> Any:
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)
