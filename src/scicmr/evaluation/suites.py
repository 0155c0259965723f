"""Named benchmark suites as data: which methods, with which parameters and validation grids.

A suite is a list of rows; each row names a registered method, fixed parameters, and an
optional ``grid`` searched on the validation split (the test split is evaluated once, for the
selected setting). ``sweep`` rows expand one parameter over values for sensitivity plots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from scicmr.errors import InputError


@dataclass(frozen=True)
class BenchmarkRow:
    """One row of a benchmark table.

    Attributes:
        name: row label in tables and file names (e.g. ``"smcr-no-imi"``).
        method: registered method name.
        params: fixed constructor parameters.
        grid: {param: [values]} searched on validation; the best setting is tested.
        sweep: (param, value) when the row is one point of a sensitivity sweep.
    """

    name: str
    method: str
    params: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, list] = field(default_factory=dict)
    sweep: tuple[str, Any] | None = None


# Small validation grids: enough to give every deep method a fair learning rate / width.
_DEEP_GRID = {"lr": [1e-3, 3e-4]}

SEEDS_TABLE = [
    BenchmarkRow("cca", "cca"),
    BenchmarkRow("corr-ae", "corr-ae", grid=_DEEP_GRID),
    BenchmarkRow("cmdn", "cmdn", grid=_DEEP_GRID),
    BenchmarkRow("acmr", "acmr", grid=_DEEP_GRID),
    BenchmarkRow("dscmr", "dscmr", grid=_DEEP_GRID),
    BenchmarkRow("ssacr", "ssacr", grid=_DEEP_GRID),
    BenchmarkRow("cardl", "cardl", grid=_DEEP_GRID),
    BenchmarkRow("idcmr", "idcmr", grid=_DEEP_GRID),
    BenchmarkRow("mfcmr", "mfcmr", grid=_DEEP_GRID),
    BenchmarkRow("smcr", "smcr", grid=_DEEP_GRID),
]

MFCMR_ABLATION = [
    BenchmarkRow(f"mfcmr-{variant}", "mfcmr", {"variant": variant}) for variant in ("N", "T", "A", "full")
]

SMCR_ABLATION = [
    BenchmarkRow("smcr", "smcr"),
    BenchmarkRow("smcr-no-imi", "smcr", {"use_imi": False}),
    BenchmarkRow("smcr-no-con", "smcr", {"use_con": False}),
]

SENSITIVITY_VALUES = (0.1, 1.0, 10.0, 100.0)


def sweep(method: str, param: str, values, base: dict[str, Any] | None = None) -> list[BenchmarkRow]:
    """Rows ``<method>-<param>=<value>`` varying one parameter (everything else fixed)."""
    return [
        BenchmarkRow(f"{method}-{param}={value:g}" if isinstance(value, float) else f"{method}-{param}={value}",
                     method, {**(base or {}), param: value}, sweep=(param, value))
        for value in values
    ]


SUITES: dict[str, list[BenchmarkRow]] = {
    "seeds-table": SEEDS_TABLE,
    "core": [BenchmarkRow("cca", "cca"), BenchmarkRow("cardl", "cardl")],
    "mfcmr-ablation": MFCMR_ABLATION,
    "smcr-ablation": SMCR_ABLATION,
    "mfcmr-k": sweep("mfcmr", "k", (1, 2, 4, 8)),
    "mfcmr-alpha": sweep("mfcmr", "alpha", SENSITIVITY_VALUES),
    "mfcmr-beta": sweep("mfcmr", "beta", SENSITIVITY_VALUES),
    "smcr-alpha": sweep("smcr", "alpha", SENSITIVITY_VALUES),
    "smcr-beta": sweep("smcr", "beta", SENSITIVITY_VALUES),
}


def suite_rows(suite: str | None = None, methods: list[str] | None = None) -> list[BenchmarkRow]:
    """Rows of a named suite, optionally restricted to ``methods`` (row names or methods).

    With only ``methods`` given, each becomes a plain row of that registered method.
    """
    if suite is None:
        if not methods:
            raise InputError("name a --suite or a list of --methods", fix=f"suites: {', '.join(sorted(SUITES))}")
        return [BenchmarkRow(m, m) for m in methods]
    if suite not in SUITES:
        raise InputError(f"unknown benchmark suite {suite!r}", fix=f"choose one of: {', '.join(sorted(SUITES))}")
    rows = SUITES[suite]
    if methods:
        rows = [r for r in rows if r.name in methods or r.method in methods]
        if not rows:
            raise InputError(f"suite {suite!r} has no rows for {methods}")
    return list(rows)
