"""The benchmark runner: methods side by side on one library, the way the papers' tables are.

For each row of a suite (:mod:`scicmr.evaluation.suites`): train every setting of its
validation grid on the train split (early stopping on validation), pick the setting with the
best validation score (mean of i2t and t2i full mAP; pair MRR without labels), evaluate that
one model once on the test split, and write

- ``OUT/metrics/<row>.json`` — the metrics JSON of DESIGN.md plus the selection record;
- ``OUT/table.md`` — txt2img / img2txt / average at map@5/20/25/50 and full map (label
  protocol), or R@1/5/10 and MedR per direction and rsum (pair protocol: a library without
  labels), one table for both (:func:`table_columns`);
- ``OUT/plots/`` — loss curves, map@k curves of all rows, and sensitivity plots for sweeps.
"""

from __future__ import annotations

import itertools
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from scicmr._io import atomic_write_json, atomic_write_text
from scicmr.corpus.library import Library
from scicmr.evaluation.suites import BenchmarkRow
from scicmr.methods import method_class
from scicmr.workflow.library_data import as_library, training_info
from scicmr.workflow.outputs import check_output_dir
from scicmr.workflow.evaluate import evaluate_model
from scicmr.workflow.train import history_series, train_model

TABLE_KS = (5, 20, 25, 50)


@dataclass
class RowResult:
    row: BenchmarkRow
    test: dict[str, Any]
    selected: dict[str, Any]
    validation_scores: list[float]
    train_seconds: float
    history: list | dict | None


def _settings(row: BenchmarkRow) -> list[dict[str, Any]]:
    if not row.grid:
        return [{}]
    keys = sorted(row.grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(row.grid[k] for k in keys))]


def validation_score(document: dict[str, Any]) -> float:
    """Mean of the two directions' full mAP (label protocol) or MRR (pair protocol)."""
    key = "map" if document["protocol"] == "labels" else "mrr"
    return (document["i2t"][key] + document["t2i"][key]) / 2


def _has_validation(lib: Library) -> bool:
    return lib.split_counts().get("validation", 0) > 0


def run_row(lib: Library, row: BenchmarkRow, *, seed: int = 0, ks: Sequence[int] = TABLE_KS) -> RowResult:
    """Select ``row``'s setting on validation, then test it once."""
    accepts_seed = "seed" in method_class(row.method)._param_names()
    candidates = []
    for index, setting in enumerate(_settings(row)):
        params = {**row.params, **setting, **({"seed": seed} if accepts_seed else {})}
        name = f"bench-{row.name}" + (f"-g{index}" if row.grid else "")
        report = train_model(lib, row.method, params, name=name)
        score = (validation_score(evaluate_model(lib, name, split="validation", ks=tuple(ks), plots=False))
                 if _has_validation(lib) else 0.0)
        candidates.append((score, index, name, params, report.seconds))
    best_score, _, best_name, best_params, seconds = max(candidates, key=lambda c: (c[0], -c[1]))
    test = evaluate_model(lib, best_name, split="test", ks=tuple(ks), plots=False)
    history = training_info(lib, best_name).get("history")
    for _, _, name, _, _ in candidates:
        if name != best_name:
            shutil.rmtree(lib.model_dir(name), ignore_errors=True)
    return RowResult(row, test, best_params, [c[0] for c in candidates], seconds, history)


def run_benchmark(
    lib: Library | str | Path,
    rows: Sequence[BenchmarkRow],
    out: str | Path,
    *,
    seed: int = 0,
    ks: Sequence[int] = TABLE_KS,
    title: str | None = None,
) -> list[RowResult]:
    """Run ``rows`` on ``lib`` and write metrics JSON, a Markdown table and plots to ``out``."""
    from scicmr._progress import progress

    out = check_output_dir(out, "benchmark output folder")  # before hours of training, not after
    lib = as_library(lib)
    results = []
    started = time.perf_counter()
    for row in progress(rows, total=len(rows), desc="benchmark", unit="method"):
        result = run_row(lib, row, seed=seed, ks=ks)
        results.append(result)
        atomic_write_json(out / "metrics" / f"{row.name}.json", {
            **result.test,
            "row": row.name,
            "selected_params": result.selected,
            "validation_scores": result.validation_scores,
            "train_seconds": result.train_seconds,
            "seed": seed,
        })
    title = title or f"{lib.name}: test split"
    table = markdown_table(results, ks=ks, title=title)
    atomic_write_text(out / "table.md", table + f"\n_total {time.perf_counter() - started:.0f}s, seed {seed}_\n")
    write_benchmark_plots(results, out / "plots", title)
    return results


Column = tuple[str, Callable[[dict[str, Any]], float]]  # (header, test document → cell value)

_RECALL_COLUMNS = ("R@1", "R@5", "R@10", "MedR")


def table_columns(protocol: str, ks: Sequence[int] = TABLE_KS) -> list[Column]:
    """The table's metric columns under ``protocol``, each a (header, document → value) pair, so
    a table's header and its cells come from one list. Labels: txt2img, img2txt and their
    average at each map@k of ``ks`` and full map. Pair (no labels): R@1/5/10 and MedR per
    direction and rsum (the image–text literature's table; ``ks`` unused)."""
    if protocol == "pair":
        return [(f"{shown} {name}", lambda d, task=task, name=name: d[task][name])
                for shown, task in (("txt2img", "t2i"), ("img2txt", "i2t")) for name in _RECALL_COLUMNS] + \
               [("rsum", lambda d: d["rsum"])]
    keys = [(f"@{k}", f"map@{k}") for k in ks] + [("full", "map")]
    return ([(f"{shown} {cut}", lambda d, task=task, key=key: d[task][key])
             for shown, task in (("txt2img", "t2i"), ("img2txt", "i2t")) for cut, key in keys]
            + [(f"avg {cut}", lambda d, key=key: (d["t2i"][key] + d["i2t"][key]) / 2) for cut, key in keys])


def table_cells(document: dict[str, Any], ks: Sequence[int] = TABLE_KS) -> list[float]:
    """``document``'s values in the columns of :func:`table_columns` (by its own protocol)."""
    return [value(document) for _, value in table_columns(document["protocol"], ks)]


def _table_note(document: dict[str, Any]) -> str:
    pool = document["pool"]
    what = ("R@k (percent of queries whose own pair ranks in the top k), MedR and rsum"
            if document["protocol"] == "pair" else "map@k (seeds' definition) and full-ranking mAP")
    return f"{what}; pool {pool['queries']} queries × {pool['candidates']} candidates per direction."


def markdown_table(results: Sequence[RowResult], *, ks: Sequence[int] = TABLE_KS, title: str = "") -> str:
    """The benchmark's table (:func:`table_columns` under the rows' protocol, from the first
    row): txt2img, img2txt and their average at each map@k and full map, or R@k and MedR per
    direction and rsum."""
    protocol = results[0].test["protocol"] if results else "labels"
    columns = table_columns(protocol, ks)
    header = ["method"] + [name for name, _ in columns] + ["train s"]
    lines = [f"### {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    if results:
        lines.insert(1, f"\n{_table_note(results[0].test)}")
    for result in results:
        values = " | ".join(f"{value(result.test):.4f}" for _, value in columns)
        lines.append(f"| {result.row.name} | {values} | {result.train_seconds:.1f} |")
    return "\n".join(lines) + "\n"


def write_benchmark_plots(results: Sequence[RowResult], folder: Path, title: str) -> list[Path]:
    """map@k curves of every row, loss curves, and a sensitivity plot per swept parameter."""
    from scicmr.evaluation.plots import plot_loss_curves, plot_map_at_k, plot_sensitivity

    written = []
    for direction in ("i2t", "t2i"):
        curves = {r.row.name: tuple(r.test["curves"]["map_at_k"][direction]) for r in results if "curves" in r.test}
        if curves:
            written.append(plot_map_at_k(curves, folder / f"map-at-k-{direction}.png", f"{title} — {direction}"))
    losses = {r.row.name: history_series(r.history)["train_loss"] for r in results
              if "train_loss" in history_series(r.history)}
    if losses:
        written.append(plot_loss_curves(losses, folder / "loss.png", f"{title} — training loss"))
    swept: dict[str, list[RowResult]] = {}
    for result in results:
        if result.row.sweep:
            swept.setdefault(result.row.sweep[0], []).append(result)
    for param, points in swept.items():
        xs = [p.row.sweep[1] for p in points]
        key = "map" if points[0].test["protocol"] == "labels" else "mrr"  # as validation_score
        series = {d: [p.test[d][key] for p in points] for d in ("i2t", "t2i")}
        series["average"] = [(a + b) / 2 for a, b in zip(series["i2t"], series["t2i"])]
        written.append(plot_sensitivity(param, xs, series, folder / f"sensitivity-{param}.png",
                                        f"{title} — sensitivity to {param}", metric=f"test {key}"))
    return written
