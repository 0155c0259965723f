"""Source readers: turn a user's data into Records plus optional precomputed features.

>>> result = read_source("pairs.jsonl", "lib/")        # doctest: +SKIP
>>> result.records, result.skipped, result.features   # doctest: +SKIP

Supported sources (:func:`detect_source_kind`; :func:`scan_source` also lists a PDF source's
files, so a caller that detects the kind and then reads walks the tree once):

- ``"manifest"``: a ``.jsonl``, ``.json`` or ``.csv`` file, one image–text item per row, or a
  folder holding exactly one such file (image paths are relative to it);
- ``"wikipedia"``: a folder with ``trainset_txt_img_cat.list``, ``images/`` and ``texts/``;
- ``"mat"``: a folder of ``.mat`` feature benchmarks (Wikipedia SVCL, DSCMR style), or one
  ``.mat`` file in it;
- ``"pdf"``: a folder of ``.pdf`` papers (searched recursively) or one ``.pdf`` file; every
  captioned figure becomes a record (:mod:`scicmr.corpus.pdf`);
- ``"table"``: a Parquet table, one item per row (image path or bytes column, text column);
- ``"webdataset"``: a ``.tar`` shard or a folder of them in the img2dataset layout;
- ``"hf"``: a Hugging Face dataset saved with ``save_to_disk`` (``hf:DIR``, or the folder itself).

Manifests, tables, shards and saved datasets share one row reader
(:mod:`scicmr.corpus.readers.rows`): the same item gives the same record in any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from scicmr.corpus.readers.base import FeatureBlock, ReaderSkip, ReadResult, Skipped, copy_image
from scicmr.errors import InputError
from scicmr.parallel import Executor

__all__ = [
    "FeatureBlock", "ReadResult", "ReaderSkip", "Skipped", "SOURCE_KINDS", "SourceScan", "copy_image",
    "detect_source_kind", "read_source", "scan_source", "source_path",
]

SOURCE_KINDS = {
    "manifest": "a .jsonl, .json or .csv manifest file (one image-text item per row)",
    "wikipedia": "a folder in the Wikipedia layout (trainset_txt_img_cat.list, images/, texts/)",
    "mat": "a folder of .mat feature benchmarks (Wikipedia SVCL raw_features.mat, DSCMR *_img.mat/*_txt.mat)",
    "pdf": "a folder of .pdf papers or one .pdf file (figures and their captions)",
    "table": "a .parquet table (an image column with paths or bytes, a caption/text column, metadata columns)",
    "webdataset": "a .tar shard or a folder of .tar shards in the img2dataset layout (NNNN.jpg, NNNN.txt, NNNN.json)",
    "hf": "a Hugging Face dataset saved with save_to_disk: hf:DIR",
}
_MANIFEST_SUFFIXES = (".jsonl", ".json", ".csv")
_TABLE_SUFFIXES = (".parquet", ".pq")
_HF_PREFIX = "hf:"


def source_path(source: str | Path) -> Path:
    """The path of a source argument: ``hf:DIR`` names the folder ``DIR``."""
    text = str(source)
    return Path(text[len(_HF_PREFIX):]) if text.startswith(_HF_PREFIX) else Path(source)


@dataclass(frozen=True)
class SourceScan:
    """A source as found on disk: ``path``, its ``kind`` (a key of :data:`SOURCE_KINDS`) and, for
    a ``"pdf"`` source, ``pdfs``: the PDF files to read, sorted (``(path,)`` for one file)."""

    path: Path
    kind: str
    pdfs: tuple[Path, ...] = ()


def scan_source(path: str | Path) -> SourceScan:
    """The kind of ``path`` and, for PDFs, its files, from one walk of the folder; InputError
    naming the path and the supported kinds when it is no supported source."""
    from scicmr.corpus.readers.wikipedia import is_wikipedia_layout

    from scicmr.corpus.readers.hf import is_saved_dataset

    hf = str(path).startswith(_HF_PREFIX)
    path = source_path(path)
    if not path.exists():
        raise InputError(f"source {path} does not exist", fix="check the path")
    if hf or is_saved_dataset(path):
        if not is_saved_dataset(path):
            raise InputError(f"{path} is not a dataset saved with save_to_disk (no state.json or dataset_dict.json)",
                             fix="in Python: dataset.save_to_disk(DIR) (or load_dataset(...).save_to_disk(DIR)), "
                                 "then scicmr ingest hf:DIR")
        return SourceScan(path, "hf")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in _MANIFEST_SUFFIXES:
            return SourceScan(path, "manifest")
        if suffix in _TABLE_SUFFIXES:
            return SourceScan(path, "table")
        if suffix == ".tar":
            return SourceScan(path, "webdataset")
        if suffix == ".mat":
            return SourceScan(path, "mat")
        if suffix == ".pdf":
            return SourceScan(path, "pdf", (path,))
        _unsupported(path, f"a {suffix or 'suffix-less'} file")
    if is_wikipedia_layout(path):
        return SourceScan(path, "wikipedia")
    if any(path.glob("*.mat")):
        return SourceScan(path, "mat")
    # The one walk of a PDF tree: any entry named *.pdf makes it a PDF source (as it always
    # has), and the files among them are what the PDF reader reads.
    named = [p for p in path.rglob("*") if p.suffix.lower() == ".pdf"]
    shards = any(path.glob("*.tar"))
    if named and shards:  # two sources in one folder: reading either silently would lose the other
        raise InputError(f"{path} holds both PDF papers and .tar WebDataset shards",
                         fix="ingest each on its own: a folder of only PDFs, and the shards (a .tar file or a "
                             "folder of only shards)")
    if shards:
        return SourceScan(path, "webdataset")
    if named:
        return SourceScan(path, "pdf", tuple(sorted(p for p in named if p.is_file())))
    manifest = _only_manifest(path)
    if manifest is not None:
        return SourceScan(manifest, "manifest")
    _unsupported(path, "a folder with no recognised layout")


def _only_manifest(folder: Path) -> Path | None:
    """The manifest a folder holds when it holds exactly one (a ``.jsonl`` wins over ``.json``
    and ``.csv`` files beside it, which may be metadata), else None."""
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in _MANIFEST_SUFFIXES]
    jsonl = [p for p in files if p.suffix.lower() == ".jsonl"]
    found = jsonl if jsonl else files
    return found[0] if len(found) == 1 else None


def detect_source_kind(path: str | Path) -> str:
    """A key of :data:`SOURCE_KINDS` (``"manifest"``, ``"table"``, ``"pdf"`` ...) for ``path``; InputError naming the path and
    the supported kinds otherwise."""
    return scan_source(path).kind


def _unsupported(path: Path, what: str) -> NoReturn:
    kinds = "; ".join(f"{kind}: {text}" for kind, text in SOURCE_KINDS.items())
    fix = f"supported sources are {kinds}"
    if path.is_dir():
        manifests = sorted(p.name for p in path.iterdir() if p.suffix.lower() in _MANIFEST_SUFFIXES)
        if manifests:
            fix += (f". This folder holds several manifests ({', '.join(manifests[:3])}): pass one of them, "
                    f"e.g. {path / manifests[0]}")
    raise InputError(f"cannot read {path}: {what}", fix=fix)


def read_source(source: str | Path | SourceScan, library_root: str | Path, *, progress: bool = True,
                executor: Executor | None = None, **options) -> ReadResult:
    """Read any supported source: a path, or what :func:`scan_source` found (not scanned again).
    Images are validated and copied into ``library_root/images``; records and features are
    returned, not stored. ``options`` go to the PDF reader (``workers``, ``dpi``, ``max_pages``,
    ``max_mb``, ``figure_ocr``); other kinds take none. ``executor`` runs a PDF source's
    per-file parsing (:mod:`scicmr.parallel`: Ray, local processes); the other kinds do little
    work per item and are read in this process whatever it is."""
    scan = source if isinstance(source, SourceScan) else scan_source(source)
    path, kind = scan.path, scan.kind
    if kind == "pdf":
        from scicmr.corpus.readers.pdf import read_pdfs

        return read_pdfs(path, library_root, progress=progress, files=scan.pdfs, executor=executor, **options)
    if options:
        raise InputError(f"options {sorted(options)} apply to PDF sources only, not to {kind}",
                         fix="leave them out for this source")
    if kind == "manifest":
        from scicmr.corpus.readers.manifest import read_manifest

        return read_manifest(path, library_root, progress=progress)
    if kind == "table":
        from scicmr.corpus.readers.table import read_table

        return read_table(path, library_root, progress=progress)
    if kind == "webdataset":
        from scicmr.corpus.readers.webdataset import read_webdataset

        return read_webdataset(path, library_root, progress=progress)
    if kind == "hf":
        from scicmr.corpus.readers.hf import read_hf_dataset

        return read_hf_dataset(path, library_root, progress=progress)
    if kind == "wikipedia":
        from scicmr.corpus.readers.wikipedia import read_wikipedia

        return read_wikipedia(path, library_root, progress=progress)
    from scicmr.corpus.readers.matbench import read_matbench

    return read_matbench(path, library_root, progress=progress)
