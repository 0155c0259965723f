"""Group-aware train / validation / test splits.

Records come in groups (all figures of one paper); a split never cuts a group, so nothing of a
test paper is seen in training. Assignment is deterministic for a given seed.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from scicmr.errors import InputError

SPLITS = ("train", "validation", "test")


def group_split(
    group_keys: Sequence[str],
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
) -> list[str]:
    """Assign each item a split so that items with equal group key share it.

    Groups are shuffled with ``seed`` and filled greedily, train first, until each split holds
    about its fraction of the *items* (not of the groups).

    Args:
        group_keys: one key per item, length n.
        fractions: (train, validation, test), non-negative, summing to 1.

    Returns:
        list of n split names.
    """
    fractions = tuple(float(f) for f in fractions)
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-6:
        raise InputError(
            f"split fractions must be three non-negative numbers summing to 1, got {fractions}",
            fix="pass e.g. --split 0.8,0.1,0.1",
        )
    n = len(group_keys)
    groups: dict[str, list[int]] = {}
    for position, key in enumerate(group_keys):
        groups.setdefault(key, []).append(position)
    order = sorted(groups)
    np.random.default_rng(seed).shuffle(order)
    targets = np.cumsum(np.asarray(fractions) * n)
    result = [""] * n
    filled = 0
    for key in order:
        members = groups[key]
        # The split whose cumulative target this group's midpoint falls under.
        midpoint = filled + len(members) / 2.0
        split_index = int(np.searchsorted(targets, midpoint, side="right"))
        split_index = min(split_index, 2)
        for position in members:
            result[position] = SPLITS[split_index]
        filled += len(members)
    return result


def carve_validation(
    group_keys: Sequence[str], split_names: Sequence[str], fraction: float = 0.1, seed: int = 0
) -> list[str]:
    """Move about ``fraction`` of the train items (whole groups) to ``validation``.

    For benchmarks with a fixed train/test split: the test split stays untouched, and model
    selection uses the carved validation part only.
    """
    if not 0.0 <= fraction < 1.0:
        raise InputError(f"validation fraction must be in [0, 1), got {fraction}")
    train_positions = [i for i, s in enumerate(split_names) if s == "train"]
    keys = [group_keys[i] for i in train_positions]
    inner = group_split(keys, (1.0 - fraction, fraction, 0.0), seed=seed)
    result = list(split_names)
    for position, name in zip(train_positions, inner):
        result[position] = "validation" if name == "validation" else "train"
    return result
