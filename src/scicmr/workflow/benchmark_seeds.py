"""The benchmark over several seeds: each row trained, selected and tested once per seed, and
every test metric reported as mean ± std (sample std, ddof=1) over the seeds.

``OUT/seed-<s>/`` holds each seed's own benchmark (:func:`~scicmr.workflow.benchmark.run_benchmark`:
metrics JSON, table, plots); ``OUT/mean-std.json`` every shared number of the rows' test
documents as {"mean", "std", "n"} (:func:`scicmr.evaluation.significance.aggregate_runs`);
``OUT/table.md`` the seeds' table with ``mean ± std`` cells: map@k and full map (label
protocol) or R@1/5/10 and MedR per direction and rsum (pair protocol).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from scicmr._io import atomic_write_json, atomic_write_text
from scicmr.corpus.library import Library
from scicmr.errors import InputError
from scicmr.evaluation.significance import aggregate_runs, mean_std
from scicmr.evaluation.suites import BenchmarkRow
from scicmr.workflow.benchmark import TABLE_KS, run_benchmark, table_columns
from scicmr.workflow.library_data import as_library
from scicmr.workflow.outputs import check_output_dir


def seeds_table(documents: dict[str, list[dict[str, Any]]], seeds: Sequence[int], *,
                ks: Sequence[int] = TABLE_KS, title: str = "") -> str:
    """Markdown table of ``documents`` (row name → one test document per seed): mean ± std cells."""
    first = next(iter(documents.values()))[0] if documents else {"protocol": "labels"}
    columns = table_columns(first["protocol"], ks)  # the single-seed table's columns
    header = [name for name, _ in columns]
    lines = [f"### {title}", "", f"mean ± std over seeds {', '.join(map(str, seeds))} (sample std).", "",
             "| method | " + " | ".join(header) + " |", "|" + "---|" * (len(header) + 1)]
    for name, docs in documents.items():
        per_column = zip(*([value(d) for _, value in columns] for d in docs))
        shown = [f"{s['mean']:.4f} ± {s['std']:.4f}" for s in map(mean_std, per_column)]
        lines.append(f"| {name} | " + " | ".join(shown) + " |")
    return "\n".join(lines) + "\n"


def run_benchmark_seeds(lib: Library | str | Path, rows: Sequence[BenchmarkRow], out: str | Path, *,
                        seeds: Sequence[int] = (0, 1, 2), ks: Sequence[int] = TABLE_KS,
                        title: str | None = None) -> dict[str, Any]:
    """Run the benchmark once per seed and write the mean ± std summary (module docstring);
    returns {"seeds", "rows": row name → aggregated test document}."""
    seeds = list(seeds)
    if not seeds or len(set(seeds)) != len(seeds):
        raise InputError(f"seeds must be distinct and at least one, got {seeds}", fix="pass e.g. --seeds 3")
    out = check_output_dir(out, "benchmark output folder")
    lib = as_library(lib)
    title = title or f"{lib.name}: test split"
    documents: dict[str, list[dict[str, Any]]] = {}
    for seed in seeds:
        for result in run_benchmark(lib, rows, out / f"seed-{seed}", seed=seed, ks=ks, title=f"{title}, seed {seed}"):
            documents.setdefault(result.row.name, []).append(result.test)
    summary = {"seeds": seeds, "rows": {name: aggregate_runs(docs) for name, docs in documents.items()}}
    atomic_write_json(out / "mean-std.json", summary)
    atomic_write_text(out / "table.md", seeds_table(documents, seeds, ks=ks, title=title))
    return summary
