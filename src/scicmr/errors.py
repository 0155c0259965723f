"""Errors that name the problem and the fix.

Every error a user can trigger derives from :class:`ScicmrError`; its message is the problem,
and ``fix`` (when given) says what to do about it. The CLI prints both and exits non-zero
without a traceback.
"""

from __future__ import annotations


class ScicmrError(Exception):
    """Base class: ``problem`` says what went wrong, ``fix`` what the user can do."""

    def __init__(self, problem: str, fix: str | None = None):
        self.problem = problem
        self.fix = fix
        super().__init__(problem if fix is None else f"{problem}\n  fix: {fix}")


class InputError(ScicmrError, ValueError):
    """Bad input from the user: a malformed file, an unknown name, an out-of-range value."""


class LibraryError(ScicmrError):
    """The library directory is missing, incomplete or inconsistent."""


class NotFittedError(ScicmrError, ValueError, AttributeError):
    """A model or encoder was used before ``fit`` (sklearn's contract)."""

    def __init__(self, what: str):
        super().__init__(
            f"{what} is not fitted yet",
            fix=f"call {what}.fit(...) first, or load a trained one with .load(dir)",
        )


class MissingDependencyError(ScicmrError, ImportError):
    """An optional dependency (an extra) is not installed."""

    def __init__(self, package: str, extra: str):
        super().__init__(
            f"this feature needs the Python package {package!r}, which is not installed",
            fix=f"pip install -c constraints.txt 'scicmr[{extra}]' (or run `make setup`)",
        )
