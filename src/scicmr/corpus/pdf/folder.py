"""Read a folder of PDFs in parallel (one job per file on an executor: local processes or Ray;
a progress bar over files)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from scicmr.corpus.figure_text import FIGURE_TEXT
from scicmr.corpus.pdf.figure_ocr import unavailable_reason
from scicmr.corpus.pdf.reader import PdfResult, PdfSettings, read_pdf
from scicmr.corpus.readers.base import ReadResult, safe_name
from scicmr.parallel import Executor, LocalExecutor


def find_pdfs(path: str | Path) -> list[Path]:
    """``path`` itself when it is a file, else every ``*.pdf`` below it (any case), sorted."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() == ".pdf")


def default_workers() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def _paper_ids(files: Sequence[Path], root: Path) -> list[str]:
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
        result = PdfResult()
        result.skip(name, f"unexpected error: {type(exc).__name__}: {exc}")
        return result


def read_pdf_folder(path: str | Path, image_root: str | Path, *, relative_to: str | Path | None = None,
                    workers: int | None = None, settings: PdfSettings | None = None,
                    show_progress: bool = True, files: Sequence[Path] | None = None,
                    executor: Executor | None = None) -> ReadResult:
    """Read every PDF under ``path`` (or the one file ``path``) into one reader result.

    Figures of paper ``p`` go to ``image_root/p/``. ``workers`` processes (default min(4, CPUs));
    1 reads in this process. ``executor``: a :mod:`scicmr.parallel` executor that runs the
    per-file jobs instead (a :class:`~scicmr.parallel.RayExecutor`: each file one Ray task;
    ``workers`` is then unused); the result is the same. ``files``: the PDFs to read when the
    caller has listed them already (:func:`scicmr.corpus.readers.scan_source`), so the tree is
    walked once; None lists them with :func:`find_pdfs`.

    Returns:
        a :class:`~scicmr.corpus.readers.base.ReadResult`: records in file order, one
        :class:`~scicmr.corpus.readers.base.Skipped` per unusable file, every quirk, and notes
        ``{"quirks"?, "dataset": "pdf", "layout": "pdf", "pdf_files": n, "pdf_stats": {file name:
        {"pages", "seconds", "cpu_seconds", "figures", "ocr_figures", "ocr_cached",
        "ocr_seconds"}}}``. Without Tesseract (``settings.ocr`` not ``"off"``) no file tries OCR and
        one quirk says how many figures kept no words and how to install it.
    """
    root = Path(path)
    files = find_pdfs(root) if files is None else list(files)
    settings = settings or PdfSettings()
    workers = default_workers() if workers is None else max(1, int(workers))
    ids = _paper_ids(files, root)
    names = [f.relative_to(root).as_posix() if root.is_dir() else f.name for f in files]
    ocr_missing = unavailable_reason() if settings.ocr != "off" and files else None
    if ocr_missing:  # say it once for the folder, not once per file
        settings = replace(settings, ocr="off")
    jobs = [(f, str(image_root), pid, relative_to, name, settings) for f, pid, name in zip(files, ids, names)]
    out, stats = ReadResult(), {}
    runner = executor or LocalExecutor(workers)
    results = runner.map(_read_one, jobs, desc="PDFs" if show_progress else None, unit="file")
    for name, res in zip(names, results):
        out.records.extend(res.records)
        out.skipped.extend(res.skipped)
        if res.quirks:
            out.notes.setdefault("quirks", []).extend(res.quirks)
        stats[name] = {"pages": res.pages, "seconds": round(res.seconds, 4),
                       "cpu_seconds": round(res.cpu_seconds, 4), "figures": len(res.records),
                       "ocr_figures": res.ocr_figures, "ocr_cached": res.ocr_cached,
                       "ocr_seconds": round(res.ocr_seconds, 4)}
    if ocr_missing:
        without = sum(1 for r in out.records if not r.extra.get(FIGURE_TEXT))
        if without:
            out.quirk(str(path), f"figure OCR unavailable: {without} figures without text-layer words keep none",
                      ocr_missing)
    # Key order as the ingest report has always written it: quirks first (when any).
    out.notes.update({"dataset": "pdf", "layout": "pdf", "pdf_files": len(files), "pdf_stats": stats})
    return out
