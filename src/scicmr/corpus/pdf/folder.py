"""Read a folder of PDFs in parallel (one process per file, a progress bar over files)."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from scicmr._progress import progress
from scicmr.corpus.pdf.reader import PdfResult, PdfSettings, Problem, read_pdf
from scicmr.corpus.readers.base import safe_name
from scicmr.corpus.record import Record


@dataclass
class PdfFolderResult:
    """All records of a folder, every problem (one line per skipped file or left-out figure),
    and per-file statistics ``files[name] = {"pages", "seconds", "cpu_seconds", "figures"}``."""

    records: list[Record] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    quirks: list[dict[str, str]] = field(default_factory=list)
    files: dict[str, dict[str, float]] = field(default_factory=dict)


def find_pdfs(path: str | Path) -> list[Path]:
    """``path`` itself when it is a file, else every ``*.pdf`` below it (any case), sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _paper_ids(files: list[Path], root: Path) -> list[str]:
    """Unique, file-system-safe paper ids from paths relative to the folder ("sub/a.pdf" → "sub_a")."""
    ids, seen = [], set()
    for file in files:
        rel = file.relative_to(root) if root.is_dir() else Path(file.name)
        base = safe_name(rel.with_suffix("").as_posix().replace("/", "_"))
        pid, k = base, 2
        while pid.lower() in seen:
            pid, k = f"{base}-{k}", k + 1
        seen.add(pid.lower())
        ids.append(pid)
    return ids


def _read_one(args: tuple) -> PdfResult:
    path, image_root, paper_id, relative_to, name, settings = args
    try:
        return read_pdf(path, Path(image_root) / paper_id, paper_id=paper_id, relative_to=relative_to,
                        source_name=name, settings=settings)
    except Exception as exc:  # noqa: BLE001 -- one bad file never stops the batch
        return PdfResult(problems=[Problem(name, f"unexpected error: {type(exc).__name__}: {exc}")])


def read_pdf_folder(path: str | Path, image_root: str | Path, *, relative_to: str | Path | None = None,
                    workers: int | None = None, settings: PdfSettings | None = None,
                    show_progress: bool = True) -> PdfFolderResult:
    """Read every PDF under ``path`` (or the one file ``path``); figures of paper ``p`` go to
    ``image_root/p/``. ``workers`` processes (default min(4, CPUs)); 1 reads in this process.
    Records come back in file order, whatever order the workers finish in."""
    root = Path(path)
    files = find_pdfs(root)
    settings = settings or PdfSettings()
    workers = default_workers() if workers is None else max(1, int(workers))
    ids = _paper_ids(files, root)
    names = [f.relative_to(root).as_posix() if root.is_dir() else f.name for f in files]
    jobs = [(f, str(image_root), pid, relative_to, name, settings) for f, pid, name in zip(files, ids, names)]
    results: dict[int, PdfResult] = {}
    bar = progress(range(len(jobs)), total=len(jobs), desc="PDFs", unit="file") if show_progress else iter(range(len(jobs)))
    if workers == 1 or len(jobs) <= 1:
        for i, job in enumerate(jobs):
            results[i] = _read_one(job)
            next(bar, None)
    else:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            futures = {pool.submit(_read_one, job): i for i, job in enumerate(jobs)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                next(bar, None)
    out = PdfFolderResult()
    for i, name in enumerate(names):
        res = results[i]
        out.records.extend(res.records)
        out.problems.extend(res.problems)
        out.quirks.extend(res.quirks)
        out.files[name] = {"pages": res.pages, "seconds": round(res.seconds, 4),
                           "cpu_seconds": round(res.cpu_seconds, 4), "figures": len(res.records)}
    return out
