"""PDF papers → figure–caption records.

>>> from scicmr.corpus.pdf import read_pdf, read_pdf_folder, PdfSettings   # doctest: +SKIP
>>> result = read_pdf("paper.pdf", "figures/")                             # doctest: +SKIP
>>> [(r.id, r.source.page, r.text) for r in result.records]                # doctest: +SKIP
[('paper-fig1', 2, 'Transmission electron micrograph of ...'), ...]
>>> result.skipped         # [] or [Skipped(item='paper.pdf', reason='encrypted PDF ...')]  # doctest: +SKIP
>>> folder = read_pdf_folder("papers/", "lib/images/pdf", relative_to="lib", workers=4)  # doctest: +SKIP
>>> folder.records, folder.skipped, folder.notes["pdf_stats"]                  # doctest: +SKIP

Result types: :class:`PdfResult` for one paper (a reader result plus the paper's pages, timings
and metadata); a folder's result is the readers' own
:class:`~scicmr.corpus.readers.base.ReadResult`, and a skipped paper is the readers'
:class:`~scicmr.corpus.readers.base.Skipped`.

One record per captioned figure: ``text`` = the caption without its label, ``images`` = the
figure region rendered with pypdfium2 and saved as a PNG, ``source`` = file, 1-based page and
the region's bbox ``(x0, top, x1, bottom)`` in PDF points from the page's top-left corner,
``context`` = the body sentences that cite the figure, ``title``/``authors``/``date`` = the
paper's, ``group`` = the paper id, and ``extra`` = label ("Figure 3"), number ("3"), caption
side ("below" = caption under the figure), caption bbox and the paper's abstract. Record ids
are ``<paper id>-fig<number>`` (``-2``, ``-3`` … appended when a number repeats).

Modules: :mod:`.layout` (lines, graphics, body text), :mod:`.captions` (caption labels, caption
blocks, citing sentences), :mod:`.figures` (region next to a caption), :mod:`.metadata`
(title, authors, abstract, year), :mod:`.render` (every page render, within one pixel budget),
:mod:`.reader` (one file), :mod:`.folder` (many files in
parallel). pdfplumber and pypdfium2 are imported only when a PDF is read.
"""

from scicmr.corpus.pdf.folder import find_pdfs, read_pdf_folder
from scicmr.corpus.pdf.reader import PdfResult, PdfSettings, read_pdf
from scicmr.corpus.pdf.render import MAX_RENDER_PIXELS, PageTooLarge, render_page

__all__ = ["MAX_RENDER_PIXELS", "PageTooLarge", "PdfResult", "PdfSettings", "find_pdfs", "read_pdf",
           "read_pdf_folder", "render_page"]
