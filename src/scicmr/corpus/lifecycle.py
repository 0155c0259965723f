"""A library folder's life on disk: build beside, swap in whole, and clean up after dead writers.

**Building** (``scicmr ingest``): a library is built in a staging folder beside its target,
``PARENT/.<name>.staging-<pid>-<random>``, whose ``.lock`` the building process holds with an
exclusive ``flock`` while it works. When the build is complete, a ``.complete`` marker is written
into it and :func:`install` swaps it in: a new target is one ``rename``; an existing library is
renamed aside to ``PARENT/.<name>.old-<pid>`` first, then the staging folder takes its name, then
the old one is removed. Every step is a rename on one file system, so a crash (an error, Ctrl-C,
``kill -9``) leaves the old library or the new one at the target, never a mix and never an
empty library — except in the instant between the two renames, where :func:`recover_target`
(called by ``Library.open`` and by ingest) finishes the swap: a *complete* staging folder is
renamed into place (roll forward), otherwise the old library is renamed back (roll back). A
staging folder whose swap never began is simply removed.

**Who may clean up** (the rule): every process that opens a library holds a *shared* ``flock`` on
``LIB/.lock`` until it exits (the kernel drops it on ``kill -9``), and a process building a
staging folder holds an *exclusive* one on the staging folder's ``.lock``. A leftover is removed
only when its owner's lock can be taken exclusively, i.e. when no live process can own it:

- beside the library, ``.<name>.staging-*`` folders whose ``.lock`` is free (a folder without a
  ``.lock`` counts as stale once it is older than :data:`NO_LOCK_GRACE_S`: its creator had not
  even locked it), and ``.<name>.old-*`` folders when no staging folder beside them is live (only
  a building ingest swaps);
- inside the library, at a process's first open and only when that process is the library's only
  user (``LIB/.lock`` taken exclusively): the temporary names of :mod:`scicmr._io`
  (``.<file>.<random>.tmp``; ``.<dir>.old-<pid>`` of an interrupted directory swap, renamed back
  when its directory is missing) and the service's ``.staging-<random>`` upload folders.

Nothing else is ever removed. Locks are advisory ``flock`` locks: on a system without ``fcntl``
(Windows) or a read-only library nothing is locked and nothing is cleaned.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import threading
import time
from pathlib import Path

try:  # POSIX only; elsewhere nothing is locked and nothing is cleaned
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

LOCK = ".lock"
COMPLETE = ".complete"
NO_LOCK_GRACE_S = 60.0
_IO_TEMP = re.compile(r"^\..+\.tmp$")  # scicmr._io: mkstemp / mkdtemp(prefix=".<name>.", suffix=".tmp")
_IO_OLD = re.compile(r"^\.(?P<name>.+)\.old-\d+$")  # scicmr._io.atomic_directory's old copy
_SERVICE_STAGING = re.compile(r"^\.staging-[A-Za-z0-9_]+$")  # the service's upload staging folders

_held: dict[str, tuple[int, int]] = {}  # resolved library root -> (fd with a shared lock, inode of .lock)
_building: set[str] = set()  # resolved staging folders this process builds (their lock is held)
_guard = threading.Lock()


def _sibling_pattern(root: Path) -> re.Pattern[str]:
    return re.compile(rf"^\.{re.escape(root.name)}\.(?P<what>staging|old)-\d+(-[A-Za-z0-9]+)?$")


# ---------------------------------------------------------------------------------- locks
def _lock_fd(path: Path) -> int | None:
    if fcntl is None:
        return None
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None


def _try_exclusive(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def hold_open(root: Path) -> bool:
    """Hold a shared lock on ``root/.lock`` for this process's life (once per library).

    Returns True when the lock is held *exclusively* right now: this is the process's first open
    of the library and no other process has it open, so leftovers are safe to remove; the caller
    must then call :func:`share` when done. A staging folder this process is building is never
    locked again (its exclusive lock is already held).
    """
    key = str(root.resolve())
    lock = root / LOCK
    with _guard:
        if key in _building:
            return False
        held = _held.get(key)
        if held is not None:
            try:
                if os.stat(lock).st_ino == held[1]:
                    return False
            except OSError:
                return False
            os.close(held[0])  # the library was swapped since: lock the new one
            del _held[key]
        fd = _lock_fd(lock)
        if fd is None:
            return False
        if _try_exclusive(fd):
            _held[key] = (fd, os.fstat(fd).st_ino)
            return True
        if _wait_shared(fd):
            _held[key] = (fd, os.fstat(fd).st_ino)
        else:
            os.close(fd)  # held exclusively for long (never by a well-behaved writer): go on unlocked
        return False


def _wait_shared(fd: int, seconds: float = 10.0) -> bool:
    """A shared lock on ``fd``, waiting out a cleaner's brief exclusive hold (never forever)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return True
        except OSError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)


def share(root: Path) -> None:
    """Downgrade this process's lock on ``root`` to shared (after cleaning up)."""
    held = _held.get(str(root.resolve()))
    if held is not None and fcntl is not None:
        fcntl.flock(held[0], fcntl.LOCK_SH)


def _owner_gone(folder: Path) -> int | bool:
    """An fd holding ``folder/.lock`` exclusively when no live process owns ``folder``;
    True when the folder has no lock and is old; False when it is (or may be) in use."""
    lock = folder / LOCK
    if not lock.exists():
        try:
            return time.time() - folder.stat().st_mtime > NO_LOCK_GRACE_S
        except OSError:
            return False
    fd = _lock_fd(lock)
    if fd is None:
        return False
    if _try_exclusive(fd):
        return fd
    os.close(fd)
    return False


# ---------------------------------------------------------------------------------- building
def new_staging(root: Path) -> tuple[Path, int | None]:
    """A fresh staging folder beside ``root`` and the fd of its exclusively held ``.lock``."""
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".{root.name}.staging-{os.getpid()}-{secrets.token_hex(4)}"
    staging.mkdir()
    fd = _lock_fd(staging / LOCK)
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
    with _guard:
        _building.add(str(staging.resolve()))
    return staging, fd


def discard_staging(staging: Path, fd: int | None) -> None:
    """Remove a staging folder after a failed build (the target was never touched)."""
    shutil.rmtree(staging, ignore_errors=True)
    with _guard:
        _building.discard(str(staging.resolve()))
    if fd is not None:
        os.close(fd)


def install(staging: Path, root: Path, fd: int | None) -> None:
    """Swap the complete library in ``staging`` into ``root`` (see the module docstring).

    ``root`` must be absent, an empty folder, or a library (the caller checked it may be replaced).
    """
    from scicmr._faults import crash_point

    (staging / COMPLETE).write_bytes(b"")
    _fsync_dir(staging)
    crash_point("ingest.before_swap")
    old = None
    if root.exists() and any(root.iterdir()):
        old = root.parent / f".{root.name}.old-{os.getpid()}"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(root, old)
        crash_point("ingest.old_moved_aside")
    os.replace(staging, root)
    _fsync_dir(root.parent)
    crash_point("ingest.after_swap")
    (root / COMPLETE).unlink(missing_ok=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    with _guard:
        _building.discard(str(staging.resolve()))
        if fd is not None:  # the staging lock is now the library's: keep it, shared, like any opener
            key = str(root.resolve())
            if key in _held:
                os.close(_held[key][0])
            _held[key] = (fd, os.fstat(fd).st_ino)
            fcntl.flock(fd, fcntl.LOCK_SH)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------- recovery
def recover_target(root: Path) -> list[str]:
    """Finish or undo an interrupted swap into ``root`` and remove dead writers' staging and
    old folders beside it; returns what was done (one line each).

    Only a swap that had begun (an old library renamed aside, the target missing) is finished:
    with a complete staging folder (roll forward), else by renaming the old library back. A
    staging folder whose swap never began is removed, so a killed ingest into a new folder
    leaves nothing, whatever moment it died.
    """
    if not root.parent.is_dir():
        return []
    pattern = _sibling_pattern(root)
    found = sorted(p for p in root.parent.iterdir() if pattern.match(p.name))
    stale: dict[Path, int | bool] = {}
    for folder in (p for p in found if pattern.match(p.name)["what"] == "staging"):
        owner = _owner_gone(folder)
        if owner is not False:
            stale[folder] = owner
    if len(stale) == sum(pattern.match(p.name)["what"] == "staging" for p in found):
        # No ingest is building, so none is swapping: an old library aside is a dead one's. (Its
        # own .lock may be held by readers that had it open; they do not own the swap.)
        stale.update({p: True for p in found if pattern.match(p.name)["what"] == "old"})
    try:
        return _settle(root, pattern, list(stale))
    finally:
        for owner in stale.values():
            if not isinstance(owner, bool):
                os.close(owner)


def _settle(root: Path, pattern: re.Pattern[str], stale: list[Path]) -> list[str]:
    olds = [p for p in stale if pattern.match(p.name)["what"] == "old"]
    done = []
    if olds and (not root.exists() or (root.is_dir() and not any(root.iterdir()))):
        complete = [p for p in stale if p not in olds and (p / COMPLETE).exists()]
        chosen = complete[0] if complete else olds[0]
        if root.exists():
            root.rmdir()
        os.replace(chosen, root)
        (root / COMPLETE).unlink(missing_ok=True)
        done.append(f"finished an interrupted swap: {chosen.name} -> {root.name}")
        stale = [p for p in stale if p != chosen]
    for folder in stale:
        shutil.rmtree(folder, ignore_errors=True)
        done.append(f"removed {folder.name} (left by a dead writer)")
    return done


def remove_leftovers(root: Path) -> list[str]:
    """Remove the temporary names of dead writers inside ``root`` (caller holds it exclusively);
    an interrupted :func:`scicmr._io.atomic_directory` swap is rolled back. Returns the paths."""
    done = []
    (root / COMPLETE).unlink(missing_ok=True)
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for name in list(dirs) + files:
            path = here / name
            old = _IO_OLD.match(name)
            if old and not (here / old["name"]).exists():
                os.replace(path, here / old["name"])
            elif old or _IO_TEMP.match(name) or (here == root and _SERVICE_STAGING.match(name)):
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
            else:
                continue
            done.append(str(path.relative_to(root)))
            if name in dirs:
                dirs.remove(name)
    return done
