"""One-hot encoders for the per-item side features ``years`` and ``authors`` (numpy only).

MFCMR (seed paper 001, section 3.1) feeds a "time feature vector" t_i ∈ R^{d_t} and an "author
feature vector" a_i ∈ R^{d_a}, both one-hot, into its mapping networks beside the image or
text feature. These encoders build them; any method that lists ``side_features`` may reuse them.

- :class:`YearEncoder` — one-hot over year bins fitted on the training years. Bin b covers
  ``[first + b·w, first + (b+1)·w)`` with w = ``bin_width`` and ``first`` the earliest known
  training year; years outside the fitted range clip to the edge bins (a 2030 paper lands in the
  last bin, not nowhere). A year ≤ 0 means "unknown" (the method contract uses 0) and encodes
  to the all-zero vector. Fitted on no known year at all, the encoder has 0 bins, so every
  vector is empty (width 0) and a method built on it behaves exactly as without the feature.
- :class:`AuthorEncoder` — multi-hot over a vocabulary of the ``max_authors`` most frequent
  training authors (each author counted once per item; ties broken by name, so the vocabulary
  is deterministic). Names are compared after collapsing whitespace and case folding
  ("J.  Smith" and "j. smith" are one author). Unseen authors and items without authors give
  zeros.
- :class:`SideEncoder` — both together, concatenated ``[years | authors]``; either part may be
  switched off (width 0).

State is plain JSON (``to_state`` / ``from_state``, ``save`` / ``load``), so a saved model is
readable and reloads bit-identically.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scicmr._io import atomic_write_json, read_json
from scicmr.errors import InputError, NotFittedError


def _check_int(name: str, value: Any, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be an integer, got {value!r}") from None
    if number != value or number < minimum:
        raise InputError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return number


def as_years(years: Any) -> np.ndarray:
    """(n,) int64 view of ``years``; InputError for anything that is not a 1-D integer list."""
    array = np.asarray(years)
    if array.ndim != 1:
        raise InputError(f"years must be a 1-D sequence of ints (0 = unknown), got shape {array.shape}")
    if array.size and not np.issubdtype(array.dtype, np.integer):
        floating = np.issubdtype(array.dtype, np.floating)
        whole = floating and np.all(np.isfinite(array)) and np.all(array == np.round(array))
        if not whole:
            raise InputError("years must be whole numbers (0 = unknown)", fix="pass e.g. [2019, 2021, 0]")
    return array.astype(np.int64)


def normalise_author(name: Any) -> str:
    """Comparison key of an author name: whitespace collapsed, case folded ('' when blank)."""
    if not isinstance(name, str):
        raise InputError(f"author names must be strings, got {type(name).__name__} {name!r}")
    return " ".join(name.split()).casefold()


def as_author_lists(authors: Any) -> list[list[str]]:
    """Normalised author lists, one per item; a bare string in place of a list is an error
    (iterating it would make every character an author)."""
    if isinstance(authors, (str, bytes)):
        raise InputError("authors must be a list of lists of names, got a single string")
    out = []
    for item in authors:
        if isinstance(item, (str, bytes)):
            raise InputError(
                f"each item's authors must be a list of names, got the string {item!r}",
                fix='wrap it: [["A. Author", "B. Author"], [], ...]',
            )
        names = [normalise_author(name) for name in (item or [])]
        # dict.fromkeys keeps first-seen order and drops an author listed twice on one item.
        out.append([name for name in dict.fromkeys(names) if name])
    return out


class YearEncoder:
    """Year → one-hot over bins of ``bin_width`` years (see the module docstring).

    Attributes after ``fit``: ``first_year_`` (int or None), ``n_bins_`` (int, 0 when no known
    year was seen), ``dim`` (= ``n_bins_``).
    """

    def __init__(self, bin_width: int = 1):
        self.bin_width = bin_width

    def fit(self, years: Any) -> "YearEncoder":
        """Fit the bins on (n,) int training years (≤ 0 = unknown, ignored)."""
        width = _check_int("year bin width", self.bin_width, 1)
        years = as_years(years)
        known = years[years > 0]
        if known.size == 0:
            self.first_year_, self.n_bins_ = None, 0
        else:
            first, last = int(known.min()), int(known.max())
            self.first_year_, self.n_bins_ = first, (last - first) // width + 1
        return self

    @property
    def dim(self) -> int:
        self._check_fitted()
        return int(self.n_bins_)

    def bins(self, years: Any) -> np.ndarray:
        """(n,) int64 bin index per year, -1 for unknown years (≤ 0) or an empty encoder."""
        self._check_fitted()
        years = as_years(years)
        index = np.full(len(years), -1, dtype=np.int64)
        if self.n_bins_ == 0:
            return index
        known = years > 0
        raw = (years[known] - self.first_year_) // int(self.bin_width)
        index[known] = np.clip(raw, 0, self.n_bins_ - 1)
        return index

    def transform(self, years: Any) -> np.ndarray:
        """(n,) int years → (n, n_bins) float32 one-hot rows (all-zero for unknown years)."""
        index = self.bins(years)
        out = np.zeros((len(index), self.n_bins_), dtype=np.float32)
        rows = np.flatnonzero(index >= 0)
        out[rows, index[rows]] = 1.0
        return out

    def fit_transform(self, years: Any) -> np.ndarray:
        return self.fit(years).transform(years)

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_bins_"):
            raise NotFittedError("YearEncoder")

    # -- state
    def to_state(self) -> dict[str, Any]:
        self._check_fitted()
        return {"kind": "years", "bin_width": int(self.bin_width), "first_year": self.first_year_,
                "n_bins": int(self.n_bins_)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "YearEncoder":
        if state.get("kind") != "years":
            raise InputError(f"not a YearEncoder state: kind={state.get('kind')!r}")
        encoder = cls(bin_width=int(state["bin_width"]))
        first = state["first_year"]
        encoder.first_year_ = None if first is None else int(first)
        encoder.n_bins_ = int(state["n_bins"])
        return encoder

    def save(self, path: str | Path) -> Path:
        return atomic_write_json(path, self.to_state())

    @classmethod
    def load(cls, path: str | Path) -> "YearEncoder":
        return cls.from_state(read_json(path))


class AuthorEncoder:
    """Authors → multi-hot over the top ``max_authors`` training authors seen in at least
    ``min_count`` items (see the module docstring).

    Attributes after ``fit``: ``vocabulary_`` (list of normalised names, most frequent first),
    ``dim`` (its length).
    """

    def __init__(self, max_authors: int = 1000, min_count: int = 1):
        self.max_authors = max_authors
        self.min_count = min_count

    def fit(self, authors: Sequence[Sequence[str]]) -> "AuthorEncoder":
        """Fit the vocabulary on n lists of training author names."""
        limit = _check_int("max_authors", self.max_authors, 0)
        min_count = _check_int("min_author_count", self.min_count, 1)
        counts = Counter(name for names in as_author_lists(authors) for name in names)
        ranked = sorted((item for item in counts.items() if item[1] >= min_count), key=lambda kv: (-kv[1], kv[0]))
        self.vocabulary_ = [name for name, _ in ranked[:limit]]
        self._index = {name: i for i, name in enumerate(self.vocabulary_)}
        return self

    @property
    def dim(self) -> int:
        self._check_fitted()
        return len(self.vocabulary_)

    def transform(self, authors: Sequence[Sequence[str]]) -> np.ndarray:
        """n author lists → (n, len(vocabulary_)) float32 multi-hot rows (zeros if none known)."""
        self._check_fitted()
        lists = as_author_lists(authors)
        out = np.zeros((len(lists), len(self.vocabulary_)), dtype=np.float32)
        for row, names in enumerate(lists):
            for name in names:
                column = self._index.get(name)
                if column is not None:
                    out[row, column] = 1.0
        return out

    def fit_transform(self, authors: Sequence[Sequence[str]]) -> np.ndarray:
        return self.fit(authors).transform(authors)

    def _check_fitted(self) -> None:
        if not hasattr(self, "vocabulary_"):
            raise NotFittedError("AuthorEncoder")

    # -- state
    def to_state(self) -> dict[str, Any]:
        self._check_fitted()
        return {"kind": "authors", "max_authors": int(self.max_authors), "min_count": int(self.min_count),
                "vocabulary": list(self.vocabulary_)}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "AuthorEncoder":
        if state.get("kind") != "authors":
            raise InputError(f"not an AuthorEncoder state: kind={state.get('kind')!r}")
        encoder = cls(max_authors=int(state["max_authors"]), min_count=int(state["min_count"]))
        encoder.vocabulary_ = [str(name) for name in state["vocabulary"]]
        encoder._index = {name: i for i, name in enumerate(encoder.vocabulary_)}
        return encoder

    def save(self, path: str | Path) -> Path:
        return atomic_write_json(path, self.to_state())

    @classmethod
    def load(cls, path: str | Path) -> "AuthorEncoder":
        return cls.from_state(read_json(path))


class SideEncoder:
    """``[year one-hot | author multi-hot]`` per item; a part that is switched off has width 0.

    Args:
        use_years, use_authors: which parts to build.
        year_bin: width of a year bin (:class:`YearEncoder`).
        max_authors, min_author_count: author vocabulary size and frequency floor.
    """

    def __init__(self, use_years: bool = True, use_authors: bool = True, year_bin: int = 1,
                 max_authors: int = 1000, min_author_count: int = 1):
        self.use_years = use_years
        self.use_authors = use_authors
        self.year_bin = year_bin
        self.max_authors = max_authors
        self.min_author_count = min_author_count

    def fit(self, years: Any, authors: Sequence[Sequence[str]]) -> "SideEncoder":
        self.years_ = YearEncoder(self.year_bin).fit(years) if self.use_years else None
        self.authors_ = None
        if self.use_authors:
            self.authors_ = AuthorEncoder(self.max_authors, self.min_author_count).fit(authors)
        return self

    @property
    def dim(self) -> int:
        self._check_fitted()
        return sum(part.dim for part in (self.years_, self.authors_) if part is not None)

    def transform(self, years: Any, authors: Sequence[Sequence[str]]) -> np.ndarray:
        """(n,) years and n author lists → (n, dim) float32."""
        self._check_fitted()
        years = as_years(years)
        if len(years) != len(authors):
            raise InputError(f"got {len(years)} years but {len(authors)} author lists; one of each per item")
        parts = [np.zeros((len(years), 0), dtype=np.float32)]
        if self.years_ is not None:
            parts.append(self.years_.transform(years))
        if self.authors_ is not None:
            parts.append(self.authors_.transform(authors))
        return np.concatenate(parts, axis=1)

    def _check_fitted(self) -> None:
        if not hasattr(self, "years_"):
            raise NotFittedError("SideEncoder")

    def to_state(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "kind": "side",
            "years": None if self.years_ is None else self.years_.to_state(),
            "authors": None if self.authors_ is None else self.authors_.to_state(),
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> "SideEncoder":
        if state.get("kind") != "side":
            raise InputError(f"not a SideEncoder state: kind={state.get('kind')!r}")
        years, authors = state.get("years"), state.get("authors")
        encoder = cls(use_years=years is not None, use_authors=authors is not None)
        encoder.years_ = None if years is None else YearEncoder.from_state(years)
        encoder.authors_ = None if authors is None else AuthorEncoder.from_state(authors)
        if encoder.years_ is not None:
            encoder.year_bin = encoder.years_.bin_width
        if encoder.authors_ is not None:
            encoder.max_authors, encoder.min_author_count = encoder.authors_.max_authors, encoder.authors_.min_count
        return encoder

    def save(self, path: str | Path) -> Path:
        return atomic_write_json(path, self.to_state())

    @classmethod
    def load(cls, path: str | Path) -> "SideEncoder":
        return cls.from_state(read_json(path))
