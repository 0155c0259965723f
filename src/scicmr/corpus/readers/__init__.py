"""Source readers: turn a user's data into Records plus optional precomputed features.

>>> result = read_source("pairs.jsonl", "lib/")        # doctest: +SKIP
>>> result.records, result.skipped, result.features   # doctest: +SKIP

Supported sources (:func:`detect_source_kind`):

- ``"manifest"``: a ``.jsonl``, ``.json`` or ``.csv`` file, one image–text item per row;
- ``"wikipedia"``: a folder with ``trainset_txt_img_cat.list``, ``images/`` and ``texts/``;
- ``"mat"``: a folder of ``.mat`` feature benchmarks (Wikipedia SVCL, DSCMR style), or one
  ``.mat`` file in it;
- ``"pdf"``: a folder of ``.pdf`` papers (searched recursively) or one ``.pdf`` file; every
  captioned figure becomes a record (:mod:`scicmr.corpus.pdf`).
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

from scicmr.corpus.readers.base import FeatureBlock, ReaderSkip, ReadResult, Skipped, copy_image
from scicmr.errors import InputError

__all__ = [
    "FeatureBlock", "ReadResult", "ReaderSkip", "Skipped", "SOURCE_KINDS", "copy_image",
    "detect_source_kind", "read_source",
]

SOURCE_KINDS = {
    "manifest": "a .jsonl, .json or .csv manifest file (one image-text item per row)",
    "wikipedia": "a folder in the Wikipedia layout (trainset_txt_img_cat.list, images/, texts/)",
    "mat": "a folder of .mat feature benchmarks (Wikipedia SVCL raw_features.mat, DSCMR *_img.mat/*_txt.mat)",
    "pdf": "a folder of .pdf papers or one .pdf file (figures and their captions)",
}
_MANIFEST_SUFFIXES = (".jsonl", ".json", ".csv")


def detect_source_kind(path: str | Path) -> str:
    """``"manifest"``, ``"wikipedia"``, ``"mat"`` or ``"pdf"`` for ``path``; InputError naming the path and
    the supported kinds otherwise."""
    from scicmr.corpus.readers.wikipedia import is_wikipedia_layout

    path = Path(path)
    if not path.exists():
        raise InputError(f"source {path} does not exist", fix="check the path")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in _MANIFEST_SUFFIXES:
            return "manifest"
        if suffix == ".mat":
            return "mat"
        if suffix == ".pdf":
            return "pdf"
        _unsupported(path, f"a {suffix or 'suffix-less'} file")
    if is_wikipedia_layout(path):
        return "wikipedia"
    if any(path.glob("*.mat")):
        return "mat"
    if any(p.suffix.lower() == ".pdf" for p in path.rglob("*")):
        return "pdf"
    _unsupported(path, "a folder with no recognised layout")


def _unsupported(path: Path, what: str) -> NoReturn:
    kinds = "; ".join(f"{kind}: {text}" for kind, text in SOURCE_KINDS.items())
    fix = f"supported sources are {kinds}"
    if path.is_dir():
        manifests = sorted(p.name for p in path.iterdir() if p.suffix.lower() in _MANIFEST_SUFFIXES)
        if manifests:
            fix += f". This folder holds {', '.join(manifests[:3])}: pass that file itself, e.g. {path / manifests[0]}"
    raise InputError(f"cannot read {path}: {what}", fix=fix)


def read_source(path: str | Path, library_root: str | Path, *, progress: bool = True, **options) -> ReadResult:
    """Read any supported source. Images are validated and copied into
    ``library_root/images``; records and features are returned, not stored. ``options`` go to
    the PDF reader (``workers``, ``dpi``, ``max_pages``, ``max_mb``); other kinds take none."""
    kind = detect_source_kind(path)
    if kind == "pdf":
        from scicmr.corpus.readers.pdf import read_pdfs

        return read_pdfs(path, library_root, progress=progress, **options)
    if options:
        raise InputError(f"options {sorted(options)} apply to PDF sources only, not to {kind}",
                         fix="leave them out for this source")
    if kind == "manifest":
        from scicmr.corpus.readers.manifest import read_manifest

        return read_manifest(path, library_root, progress=progress)
    if kind == "wikipedia":
        from scicmr.corpus.readers.wikipedia import read_wikipedia

        return read_wikipedia(path, library_root, progress=progress)
    from scicmr.corpus.readers.matbench import read_matbench

    return read_matbench(path, library_root, progress=progress)
