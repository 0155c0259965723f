"""The one check of a path the user named for a command's output, and the write to it.

Every workflow function that writes a file or folder the user named (``export_jsonl``'s
``out``, ``evaluate_model``'s ``json_path``, ``run_benchmark``'s ``out``) checks it with
:func:`check_output_file` / :func:`check_output_dir` *before* doing any work, so a mistyped
path fails in a second with a fix, not after a long run with a traceback: a folder, a device,
a fifo or a socket where a file was asked for, a path under a file, a folder without write
permission or on a read-only file system all become an :class:`~scicmr.errors.InputError`.
``-`` names standard output. Files are then written by :func:`write_output_text`: atomically,
and through a symlink (the real file is replaced, the link kept; :mod:`scicmr._io`).
"""

from __future__ import annotations

import errno
import os
import stat
import sys
from pathlib import Path

from scicmr._io import atomic_write_bytes, json_text, real_target
from scicmr.errors import InputError

STDOUT = "-"  # an output file path naming standard output

_SPECIAL = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
            (stat.S_ISFIFO, "a fifo (named pipe)"), (stat.S_ISSOCK, "a socket"))


def _special_kind(mode: int) -> str | None:
    return next((name for test, name in _SPECIAL if test(mode)), None)


def _check_folder_writable(folder: Path, shown: str) -> None:
    """InputError when files cannot be created in ``folder`` (its nearest existing ancestor
    when it does not exist yet: it will be created); ``shown`` is the user's path."""
    existing = folder
    while not existing.exists() and not existing.is_symlink() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"cannot write {shown}: {existing} is a file, not a folder",
                         fix="choose a path whose folders are folders (not files)")
    try:
        read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        raise InputError(f"cannot write {shown}: {existing} is on a read-only file system",
                         fix="choose a path on a writable disk")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"cannot write {shown}: no permission to create files in {existing}",
                         fix="choose a folder you can write to, or change its permissions")


def check_output_file(path: str | os.PathLike, what: str = "output file", example: str = "out.json") -> Path | None:
    """Check a user-named output file before any work; the path to write, or None for ``-``.

    Symlinks are followed (the real file is written, the link kept). Raises InputError with a
    fix for an empty path, a folder, a device, fifo or socket (``-`` writes standard output),
    a path under a file, and a folder without write permission or on a read-only file system.
    """
    text = os.fspath(path)
    if text == STDOUT:
        return None
    if not text.strip():
        raise InputError(f"the {what} path is empty", fix=f"name a file, or {STDOUT} for standard output")
    try:
        mode = os.stat(text).st_mode  # follows symlinks, /dev/stdout's included
    except FileNotFoundError:
        mode = None
    except NotADirectoryError:
        mode = None  # a parent is a file: reported below
    except OSError as exc:
        raise InputError(f"cannot write {text}: {exc.strerror}", fix="choose another path") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise InputError(f"cannot write {text}: it is a folder, not a file",
                         fix=f"name a file inside it, e.g. {os.path.join(text, example)}")
    kind = _special_kind(mode) if mode is not None else None
    if kind is not None:
        raise InputError(f"cannot write {text}: it is {kind}, not a regular file",
                         fix=f"name a regular file, or {STDOUT} to write to standard output")
    target = real_target(text)
    _check_folder_writable(target.parent, text)
    return target


def check_output_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Check a user-named output folder before any work (it may not exist yet); the path.

    Raises InputError with a fix when it is a file or special file, lies under a file, or its
    nearest existing folder is not writable or on a read-only file system.
    """
    text = os.fspath(path)
    if not text.strip() or text == STDOUT:
        raise InputError(f"the {what} must be a folder path, got {text!r}", fix="name a folder, e.g. reports/run1")
    try:
        mode = os.stat(text).st_mode
    except (FileNotFoundError, NotADirectoryError):
        mode = None
    except OSError as exc:
        raise InputError(f"cannot write {text}: {exc.strerror}", fix="choose another folder") from None
    if mode is not None and not stat.S_ISDIR(mode):
        kind = _special_kind(mode) or "a file"
        raise InputError(f"cannot write into {text}: it is {kind}, not a folder",
                         fix="name a folder (new or existing), not a file")
    _check_folder_writable(real_target(text), text)
    return Path(text)


def write_output_text(path: str | os.PathLike, text: str, what: str = "output file",
                      example: str = "out.json") -> Path | None:
    """Write ``text`` to a user-named file (checked by :func:`check_output_file`; atomic, through
    symlinks) or to standard output for ``-``; the path written, None for stdout. An OS error
    while writing (disk full, permissions changed meanwhile) becomes an InputError naming the path.
    """
    target = check_output_file(path, what, example)
    if target is None:
        try:
            sys.stdout.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            # The reader stopped early (`| head`): not an error; silence the flush at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return None
    return write_output_bytes(target, text.encode("utf-8"), os.fspath(path))


def write_output_bytes(target: Path, data: bytes, shown: str) -> Path:
    """Atomic write (through symlinks) of an already checked output file; an OS error while
    writing (disk full, permissions changed meanwhile) becomes an InputError naming ``shown``."""
    try:
        return atomic_write_bytes(target, data)
    except OSError as exc:
        full = exc.errno == errno.ENOSPC
        raise InputError(f"cannot write {shown}: {'the disk is full' if full else exc.strerror or exc}",
                         fix="free some space or choose another disk" if full else "choose another path") from None


def write_output_json(path: str | os.PathLike, obj: object, what: str = "output file") -> Path | None:
    """:func:`write_output_text` of ``obj`` as indented JSON (as the library's own reports)."""
    return write_output_text(path, json_text(obj), what)
