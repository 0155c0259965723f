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


def merge_groups(group_keys: Sequence[str], *links: Sequence[str | None]) -> list[str]:
    """Group keys widened so that items sharing any ``links`` value (e.g. the SHA-256 of their
    image, their normalised text) share a key: duplicates then travel together like a group.

    Each of ``links`` has one value per item (None: no link). Returns one key per item: the
    smallest original group key of its merged cluster (deterministic).
    """
    parent: dict[str, str] = {key: key for key in group_keys}

    def find(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for values in links:
        first: dict[str, str] = {}
        for key, value in zip(group_keys, values):
            if value is None:
                continue
            other = first.setdefault(value, key)
            a, b = find(key), find(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return [find(key) for key in group_keys]


def repair_given_splits(
    group_keys: Sequence[str], given: Sequence[str | None], ids: Sequence[str]
) -> tuple[list[str | None], list[dict]]:
    """Make a given split (a manifest's ``split`` column) keep every group whole.

    A group whose members name different splits moves whole to the split most of its members
    name (ties go to test, then validation, then train, so the evaluation set never shrinks to
    nothing); members without a split join their group's. Returns the repaired splits and one
    repair per cut group: ``{"group", "moved_to", "given": {split: count}, "moved": [ids]}``.
    """
    members: dict[str, list[int]] = {}
    for position, key in enumerate(group_keys):
        members.setdefault(key, []).append(position)
    result = list(given)
    repairs = []
    for key in sorted(members):
        named = [given[p] for p in members[key] if given[p]]
        if not named:
            continue
        counts = {s: named.count(s) for s in dict.fromkeys(named)}
        target = max(counts, key=lambda s: (counts[s], _TIE_ORDER.get(s, -1)))
        for p in members[key]:
            result[p] = target
        if len(counts) > 1:
            repairs.append({"group": key, "moved_to": target, "given": counts,
                            "moved": [ids[p] for p in members[key] if given[p] and given[p] != target]})
    return result, repairs


_TIE_ORDER = {"train": 0, "validation": 1, "test": 2}


def duplicates_across_splits(
    values: Sequence[str | None], split_names: Sequence[str], ids: Sequence[str]
) -> list[dict]:
    """Sets of items with an equal ``values`` entry (a content hash) that sit in more than one
    split: ``[{"key", "ids", "splits"}]``, sorted by first id. These inflate test scores when a
    given split is kept as it is."""
    by_value: dict[str, list[int]] = {}
    for position, value in enumerate(values):
        if value is not None:
            by_value.setdefault(value, []).append(position)
    found = []
    for value, positions in by_value.items():
        splits = sorted({split_names[p] for p in positions})
        if len(splits) > 1:
            found.append({"key": value, "ids": [ids[p] for p in positions], "splits": splits})
    return sorted(found, key=lambda d: d["ids"][0])
