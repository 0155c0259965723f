"""Growing a large index without rebuilding it: an immutable base, a small exact delta, tombstones.

A library of a million figures cannot rebuild (or copy) its index to add one record. A
:class:`LayeredIndex` answers for rows ``0 .. n`` from

- a *base* index over rows ``0 .. n_base`` (flat, HNSW, IVF-PQ: whatever was built, shared
  read-only by every snapshot that uses it),
- an exact *delta* over rows ``n_base .. n`` added since (small; rebuilt per add), and
- *dead* rows (deleted since the base was built), which never come back: the base is asked
  for ``k`` plus the number of dead rows, so deletions cannot push live results out.

Results are merged by descending score, ties by ascending row (the contract of every index
here), so a layered index over exact layers equals one exact index over the live rows.
:class:`RowBlocks` is the matching view of the vectors: consecutive blocks (memory-mapped table
chunks, then in-memory additions) used as one (n, d) matrix without concatenating them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from scicmr.index.base import PAD_ID, normalise_rows, order_by_score_then_id
from scicmr.index.exact import top_k_rows


class RowBlocks:
    """Consecutive (n_i, d) blocks read as one (n, d) matrix: matrix products, row gathers and
    appends that share the existing blocks (nothing is copied)."""

    def __init__(self, blocks: Sequence[np.ndarray], dim: int | None = None):
        blocks = [b for b in blocks if len(b)] or [np.zeros((0, dim or (blocks[0].shape[1] if blocks else 0)), np.float32)]
        self.blocks = tuple(blocks)
        self.offsets = np.cumsum([0] + [len(b) for b in self.blocks])
        self.dtype = self.blocks[0].dtype
        self.shape = (int(self.offsets[-1]), int(self.blocks[0].shape[1]))
        self.ndim = 2

    def __len__(self) -> int:
        return self.shape[0]

    def __matmul__(self, other: np.ndarray) -> np.ndarray:
        """(n, d) @ (d, q) -> (n, q), block by block."""
        parts = [np.asarray(b) @ other for b in self.blocks]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def __getitem__(self, rows: Any) -> np.ndarray:
        """Rows by int positions, a bool mask or a slice -> (m, d) array (a copy)."""
        if isinstance(rows, slice):
            rows = np.arange(len(self))[rows]
        rows = np.asarray(rows)
        if rows.dtype == bool:
            rows = np.flatnonzero(rows)
        rows = rows.astype(np.int64, copy=False)
        if len(self.blocks) == 1:
            return np.asarray(self.blocks[0][rows])
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        which = np.searchsorted(self.offsets, rows, side="right") - 1
        for b in np.unique(which):
            picked = which == b
            out[picked] = self.blocks[b][rows[picked] - self.offsets[b]]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        whole = self.blocks[0] if len(self.blocks) == 1 else np.concatenate(self.blocks)
        return np.asarray(whole, dtype=dtype)

    def appended(self, more: np.ndarray) -> "RowBlocks":
        """These rows then ``more`` ((m, d)); the existing blocks are shared, not copied."""
        return RowBlocks([*self.blocks, np.asarray(more, dtype=self.dtype)], self.shape[1])

    def tail(self, start: int) -> "RowBlocks":
        """Rows ``start ..`` as blocks (whole blocks shared; a split block is sliced, not copied)."""
        kept = []
        for block, begin in zip(self.blocks, self.offsets[:-1]):
            end = begin + len(block)
            if end > start:
                kept.append(block[max(0, start - begin):])
        return RowBlocks(kept, self.shape[1])


class ChainedRows(Sequence):
    """Per-row values (record ids, label lists, ...) kept in consecutive tuples, so appending a
    few rows to a million shares the existing parts instead of copying them."""

    def __init__(self, parts: Sequence[Sequence[Any]]):
        self.parts = tuple(tuple(p) if not isinstance(p, tuple) else p for p in parts if len(p))
        self.offsets = np.cumsum([0] + [len(p) for p in self.parts])

    def __len__(self) -> int:
        return int(self.offsets[-1])

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return tuple(self)[i]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        part = int(np.searchsorted(self.offsets, i, side="right")) - 1
        return self.parts[part][i - int(self.offsets[part])]

    def __iter__(self):
        for part in self.parts:
            yield from part

    def index(self, value: Any, start: int = 0, stop: int | None = None) -> int:
        """The first position >= ``start`` holding ``value`` (ValueError when none), a scan in C per part."""
        for part, begin in zip(self.parts, self.offsets[:-1]):
            end = int(begin) + len(part)
            if end <= start:
                continue
            try:
                return int(begin) + part.index(value, max(0, start - int(begin)))
            except ValueError:
                continue
        raise ValueError(f"{value!r} is not in the rows")

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Sequence) and len(other) == len(self) and all(a == b for a, b in zip(self, other))

    def __hash__(self) -> int:  # pragma: no cover - mutable-looking sequences are not hashed
        raise TypeError("ChainedRows is not hashable")

    def appended(self, more: Sequence[Any]) -> "ChainedRows":
        """These rows then ``more``; the existing parts are shared."""
        return ChainedRows([*self.parts, tuple(more)])


class LayeredIndex:
    """Base index + exact delta + dead rows, answering like one index over the live rows.

    Args:
        base: an index over rows ``0 .. n_base`` (``search(queries, k) -> (scores, rows)``;
            ``len(base)`` = n_base), or None for none.
        delta: (m, d) vectors of rows ``n_base .. n_base + m``; for cosine they must be unit rows
            (snapshots store them so: normalising a memory-mapped delta per query would cost a pass).
        dead: (n,) bool, True for deleted rows (None: none).
    """

    def __init__(self, base: Any, delta: np.ndarray | RowBlocks, dead: np.ndarray | None = None):
        self.base = base
        self.n_base = len(base) if base is not None else 0
        self.delta = delta if isinstance(delta, RowBlocks) else RowBlocks([np.asarray(delta, np.float32)])
        n = self.n_base + len(self.delta)
        self.dead = np.zeros(n, dtype=bool) if dead is None else np.asarray(dead, dtype=bool)
        if len(self.dead) != n:
            raise ValueError(f"dead must be ({n},) for {self.n_base} base + {len(self.delta)} delta rows, got {self.dead.shape}")
        self.n_dead_base = int(self.dead[: self.n_base].sum())
        self.dim = int(getattr(base, "dim", self.delta.shape[1]))
        self.metric = getattr(base, "metric", "cosine")

    def __len__(self) -> int:
        return len(self.dead) - int(self.dead.sum())

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(q, d) queries -> scores (q, k) float32 descending, rows (q, k) int64 (-1 pads)."""
        queries = np.atleast_2d(np.asarray(queries, dtype=np.float32))
        parts_scores, parts_rows = [], []
        if self.n_base:
            fetch = min(self.n_base, k + self.n_dead_base)
            scores, rows = self.base.search(queries, fetch)
            parts_scores.append(np.asarray(scores, np.float32))
            parts_rows.append(np.asarray(rows, np.int64))
        if len(self.delta):
            unit = normalise_rows(queries) if self.metric == "cosine" else queries
            every = (self.delta @ unit.T).T.astype(np.float32, copy=False)
            rows = np.arange(self.n_base, self.n_base + len(self.delta), dtype=np.int64)
            scores, rows = top_k_rows(every, rows, min(len(rows), k + int(self.dead[self.n_base:].sum())))
            parts_scores.append(scores)
            parts_rows.append(rows)
        if not parts_rows:
            return np.full((len(queries), k), -np.inf, np.float32), np.full((len(queries), k), PAD_ID, np.int64)
        scores, rows = np.concatenate(parts_scores, axis=1), np.concatenate(parts_rows, axis=1)
        gone = (rows < 0) | self.dead[np.clip(rows, 0, None)]
        scores, rows = np.where(gone, -np.inf, scores).astype(np.float32), np.where(gone, PAD_ID, rows)
        scores, rows = order_by_score_then_id(scores, rows)
        if rows.shape[1] < k:
            pad = k - rows.shape[1]
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
            rows = np.pad(rows, ((0, 0), (0, pad)), constant_values=PAD_ID)
        return scores[:, :k], rows[:, :k]

    def extended(self, more: np.ndarray) -> "LayeredIndex":
        """This index plus rows ``more`` ((m, d)) at the end: the base is shared."""
        return LayeredIndex(self.base, self.delta.appended(more), np.concatenate([self.dead, np.zeros(len(more), bool)]))

    def without(self, rows: np.ndarray) -> "LayeredIndex":
        """This index with ``rows`` dead (they keep their positions)."""
        dead = self.dead.copy()
        dead[np.asarray(rows, dtype=np.int64)] = True
        return LayeredIndex(self.base, self.delta, dead)
