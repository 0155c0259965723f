"""Reader for PDF papers: a folder of ``.pdf`` files (searched recursively) or one ``.pdf``.

Each captioned figure becomes a record (see :mod:`scicmr.corpus.pdf`); figure PNGs are written
under ``library_root/images/pdf/<paper id>/``. A file that cannot be used (encrypted, corrupt,
not a PDF, scanned without a text layer, over the size limits, without captioned figures) is
one :class:`~scicmr.corpus.readers.base.Skipped` entry; the others are still read.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scicmr.corpus.readers.base import ReadResult
from scicmr.parallel import Executor


def read_pdfs(path: str | Path, library_root: str | Path, *, progress: bool = True, workers: int | None = None,
              dpi: int | None = None, max_pages: int | None = None, max_mb: float | None = None,
              figure_ocr: str | None = None, files: Sequence[Path] | None = None,
              executor: Executor | None = None) -> ReadResult:
    """Read the PDFs at ``path`` into a :class:`ReadResult` (options: ``workers`` processes,
    render ``dpi``, the ``max_pages`` / ``max_mb`` limits, ``figure_ocr`` ``"auto"``/``"off"``;
    None keeps the defaults). ``files``: the PDFs as :func:`~scicmr.corpus.readers.scan_source`
    listed them (None lists them again). ``executor``: where the files are read (a
    :class:`~scicmr.parallel.RayExecutor` for Ray; None: ``workers`` local processes).

    Raises:
        InputError: an unknown ``figure_ocr`` mode (before any file is read).
    """
    from scicmr.corpus.pdf import PdfSettings, read_pdf_folder

    given = {"dpi": dpi, "max_pages": max_pages, "max_megabytes": max_mb, "ocr": figure_ocr}
    settings = PdfSettings(**{name: value for name, value in given.items() if value is not None})
    root = Path(library_root)
    return read_pdf_folder(path, root / "images" / "pdf", relative_to=root, workers=workers,
                           settings=settings, show_progress=progress, files=files, executor=executor)
