"""Import torchvision when its compiled ops cannot load (a CUDA build on a CPU-only torch).

The pinned torchvision 0.28 wheel is a CUDA build. On the CPU torch wheel its C++ operators
are never registered, and ``import torchvision`` dies in ``torchvision/_meta_registrations.py``
with ``RuntimeError: operator torchvision::nms does not exist`` while registering fake (meta)
kernels for those missing ops. timm and open_clip import torchvision at import time, so they
die too.

The meta registrations only matter for torch.compile / fake-tensor tracing of detection ops.
Models (``torchvision.models.*``), transforms and everything timm / open_clip need work without
them, so on exactly that failure we drop the half-imported modules, put an empty stand-in in
place of ``torchvision._meta_registrations`` and import again. torchvision's compiled ops
(nms, roi_align, deform_conv2d, ...) stay unavailable; we warn once so nobody is surprised.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import traceback
import types
import warnings

_WARNED: set[str] = set()


def import_torchvision(*, optional: bool = False) -> types.ModuleType | None:
    """Import and return ``torchvision``, working around its missing compiled ops on CPU torch.

    Call this before importing timm, open_clip, sentence-transformers or transformers: once
    torchvision sits in ``sys.modules``, their own ``import torchvision`` succeeds.

    Args:
        optional: when torchvision is not installed, return None instead of raising
            MissingDependencyError (callers that only import it to pre-empt the failure).
    """
    if importlib.util.find_spec("torchvision") is None:
        if optional:
            return None
        from scicmr.errors import MissingDependencyError

        raise MissingDependencyError("torchvision", "checkpoints")
    return import_with_stand_in("torchvision")


def import_with_stand_in(package: str) -> types.ModuleType:
    """Import ``package``; on a missing-operator failure inside its ``_meta_registrations``,
    replace that module with an empty stand-in and import again (warning once).

    Any other error propagates unchanged. ``package`` is a parameter so the fallback can be
    tested with a small fake package instead of the real torchvision.
    """
    try:
        return importlib.import_module(package)
    except RuntimeError as exc:
        if not _is_missing_operator_failure(exc, package):
            raise
    _drop_partial_imports(package)
    stand_in_name = f"{package}._meta_registrations"
    stand_in = types.ModuleType(stand_in_name)
    stand_in.__doc__ = "scicmr stand-in: the compiled ops these registrations describe did not load."
    sys.modules[stand_in_name] = stand_in
    module = importlib.import_module(package)
    _warn_once(package)
    return module


def _is_missing_operator_failure(exc: RuntimeError, package: str) -> bool:
    """True when ``exc`` is "operator <package>::<op> does not exist" raised from
    ``<package>/_meta_registrations.py`` (and nothing else)."""
    if not re.search(rf"operator {re.escape(package)}::\w+ does not exist", str(exc)):
        return False
    frames = traceback.extract_tb(exc.__traceback__)
    return any(frame.filename.replace("\\", "/").endswith(f"{package}/_meta_registrations.py") for frame in frames)


def _drop_partial_imports(package: str) -> None:
    # The failed import leaves submodules (extension, _internally_replaced_utils, ...) behind;
    # a fresh import must not mix them with the new package object.
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


def _warn_once(package: str) -> None:
    if package in _WARNED:
        return
    _WARNED.add(package)
    warnings.warn(
        f"{package}'s compiled ops (nms, roi_align, deform_conv2d, ...) are unavailable: this "
        f"{package} build does not match the installed torch. Models and transforms still work; "
        f"reinstall a {package} built for this torch to get the ops back.",
        RuntimeWarning,
        stacklevel=3,
    )
