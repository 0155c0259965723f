"""Shared types and helpers of the source readers.

A reader turns a user's source (a manifest, a folder in the Wikipedia layout, a feature
benchmark, PDF papers) into a :class:`ReadResult`: the usable records, one :class:`Skipped`
entry per unusable item with its reason, and optional precomputed features. Readers never raise
on a bad row; they raise :class:`~scicmr.errors.InputError` only when the source as a whole
cannot be read (no such file, unknown layout, inconsistent shapes).

A skipped item is always a :class:`Skipped`, whichever reader (or one PDF,
:func:`scicmr.corpus.pdf.read_pdf`) left it out; the ingest report writes its
:meth:`Skipped.to_dict`. A helper that finds one item unusable raises :class:`ReaderSkip` with
the reason; the reader that catches it names the item and records the :class:`Skipped`.

Readers are pure with respect to the library: the only thing they write is validated image
copies under ``library_root/images`` (atomically); storing records and features is the
caller's job.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, TypeVar

import numpy as np

from scicmr._io import atomic_write_bytes
from scicmr._progress import progress as _progress
from scicmr.corpus import images
from scicmr.corpus.record import Record, check_record_id
from scicmr.errors import InputError

T = TypeVar("T")

#: Extensions kept as they are when copying images; anything else is stored under the format
#: PIL recognised (so a PNG named ".dat" is still served with the right suffix).
IMAGE_EXTENSIONS = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".tif", ".tiff", ".webp"}
_FORMAT_EXTENSIONS = {"PNG": ".png", "JPEG": ".jpg", "GIF": ".gif", "BMP": ".bmp", "TIFF": ".tif", "WEBP": ".webp"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class Skipped:
    """One unusable item: ``item`` names it (a record id, ``"line 7"``, a PDF file) and ``reason``
    says why it was left out. The one skipped-item type of every reader and of ingest."""

    item: str
    reason: str

    def to_dict(self) -> dict[str, str]:
        return {"item": self.item, "reason": self.reason}


@dataclass
class FeatureBlock:
    """Precomputed features shipped with a source.

    Attributes:
        modality: ``"image"`` or ``"text"``.
        name: short name of the feature type, e.g. ``"sift128"``, ``"lda10"``, ``"vgg4096"``.
        ids: record ids, one per row of ``vectors``.
        vectors: (n, d) float32, row i belongs to ``ids[i]``.
        config: JSON-able description (origin file, variables, dimension) used as a cache key.
    """

    modality: str
    name: str
    ids: list[str]
    vectors: np.ndarray
    config: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.vectors = np.asarray(self.vectors, dtype=np.float32)
        if self.modality not in ("image", "text"):
            raise ValueError(f"feature modality must be 'image' or 'text', got {self.modality!r}")
        if self.vectors.ndim != 2 or len(self.vectors) != len(self.ids):
            raise ValueError(f"features {self.name}: need (n, d) with n = {len(self.ids)}, got {self.vectors.shape}")

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])


@dataclass
class ReadResult:
    """What a reader produced.

    ``notes`` is JSON-able and may hold ``"dataset"``, ``"layout"``, ``"default_features"``
    (``{"image": name, "text": name}``), ``"standard_split"`` (bool: records carry a given
    train/test split) and ``"quirks"``: a list of ``{"item", "quirk", "detail"}`` dicts for
    oddities that were worked around (the item was kept). A PDF folder's result adds
    ``"pdf_files"`` (how many PDFs were found) and ``"pdf_stats"`` (per file: pages, seconds,
    CPU seconds, figures); see :func:`scicmr.corpus.pdf.read_pdf_folder`.
    """

    records: list[Record] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    features: list[FeatureBlock] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def skip(self, item: str, reason: str) -> None:
        self.skipped.append(Skipped(str(item), reason))

    def quirk(self, item: str, quirk: str, detail: str = "") -> None:
        """Record an oddity that was worked around (the item itself was kept or resolved)."""
        self.notes.setdefault("quirks", []).append({"item": str(item), "quirk": quirk, "detail": detail})

    @property
    def quirks(self) -> list[dict[str, str]]:
        return self.notes.get("quirks", [])

    def summary(self) -> dict[str, Any]:
        """Counts for an ingest report: records, skipped, feature blocks, quirks."""
        return {
            "records": len(self.records),
            "skipped": len(self.skipped),
            "features": {f"{b.modality}:{b.name}": list(b.vectors.shape) for b in self.features},
            "quirks": len(self.quirks),
        }


class ReaderSkip(Exception):
    """The signal (not a second item type) that one item is unusable: a helper raises it with the
    reason (e.g. an image that does not decode, a PDF that is encrypted); the reader that catches
    it knows the item's name and records a :class:`Skipped`."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def build_record(**fields: Any) -> Record:
    """``Record(**fields)``, the one validation every reader uses; a field the record refuses
    (a bad date or id, a lone surrogate, a non-finite number) becomes a :class:`ReaderSkip`
    with the reason, so the reader skips that row and goes on."""
    try:
        return Record(**fields)
    except InputError as exc:
        raise ReaderSkip(exc.problem) from None


def checked_id(value: Any) -> str:
    """``value`` when it is a valid record id (:func:`scicmr.corpus.record.check_record_id`);
    ReaderSkip with the allowed characters otherwise. Readers call it before copying files."""
    try:
        return check_record_id(value)
    except InputError as exc:
        raise ReaderSkip(exc.problem) from None


def maybe_progress(iterable: Iterable[T], enabled: bool, *, total: int | None = None, desc: str = "") -> Iterator[T]:
    """``progress()`` when ``enabled``, the bare iterable otherwise."""
    if not enabled:
        return iter(iterable)
    return _progress(iterable, total=total, desc=desc)


def safe_name(item_id: str, max_length: int = 80) -> str:
    """A file-system-safe stem for ``item_id``.

    Ids that are already safe are kept as they are; others are cleaned and get a short hash
    of the original id, so two ids that clean to the same text ("a/b", "a_b") stay distinct.
    """
    cleaned = _UNSAFE.sub("_", item_id).strip("._") or "item"
    if cleaned == item_id and len(cleaned) <= max_length:
        return cleaned
    digest = hashlib.sha1(item_id.encode("utf-8")).hexdigest()[:8]
    return f"{cleaned[:max_length]}-{digest}"


def decode_image_bytes(data: bytes, name: str = "upload") -> str:
    """Check that ``data`` decodes fully as an image; return PIL's format name (e.g. ``"PNG"``).

    Raises ReaderSkip with the reason otherwise; ``name`` (the file name, or ``"upload"``)
    names the item in it. PIL signals bad data with many exception types (OSError for
    truncated files, SyntaxError from some plugins, ValueError, struct errors,
    DecompressionBombError), so everything is caught and reported. The pixel count in the
    header is checked against :data:`scicmr.corpus.images.MAX_IMAGE_PIXELS` before decoding.
    """
    from PIL import Image

    if not data:
        raise ReaderSkip("image cannot be decoded: the file is empty (0 bytes)")
    try:
        with Image.open(io.BytesIO(data)) as image:
            limit = images.MAX_IMAGE_PIXELS
            if image.width * image.height > limit:
                raise ReaderSkip(f"image cannot be decoded: {name} is {image.width}x{image.height} pixels, over "
                                 f"the MAX_IMAGE_PIXELS limit of {limit:,} (scicmr.corpus.images)")
            image.load()  # decode every pixel: a truncated file fails here, not at open()
            fmt = image.format or ""
            if image.width < 1 or image.height < 1:
                raise ReaderSkip(f"image cannot be decoded: it has no pixels ({image.width}x{image.height})")
    except ReaderSkip:
        raise
    except Image.DecompressionBombError as exc:
        raise ReaderSkip(f"image cannot be decoded: too many pixels (decompression bomb guard): "
                         f"{images.name_stream(str(exc), name)}") from None
    except Exception as exc:  # noqa: BLE001 -- any decoder failure means the image is unusable
        raise ReaderSkip(f"image cannot be decoded: {type(exc).__name__}: {images.name_stream(str(exc), name)}") from None
    return fmt


def copy_image(src: Path, library_root: Path, relative_dest: str) -> str:
    """Validate ``src`` and copy it atomically to ``library_root/images/relative_dest``.

    The suffix of ``relative_dest`` is replaced by one matching the decoded format when the
    given suffix is not a known image extension.

    Returns:
        the path relative to the library root, ``"images/<relative_dest>"`` (POSIX slashes).

    Raises:
        ReaderSkip: the file is missing, unreadable or does not decode fully.
    """
    src = Path(src)
    if not src.is_file():
        raise ReaderSkip(f"image file not found: {src}")
    try:
        size = src.stat().st_size
        if size > images.MAX_IMAGE_BYTES:  # checked before reading: a huge (or sparse) file is never loaded
            raise ReaderSkip(f"image file {src.name} is {size:,} bytes, over the MAX_IMAGE_BYTES limit of "
                             f"{images.MAX_IMAGE_BYTES:,} bytes (scicmr.corpus.images); shrink or convert it")
        data = src.read_bytes()
    except OSError as exc:
        raise ReaderSkip(f"image file cannot be read: {src}: {exc}") from None
    fmt = decode_image_bytes(data, src.name)
    dest = Path(relative_dest)
    if dest.suffix.lower() not in IMAGE_EXTENSIONS:
        dest = dest.with_suffix(_FORMAT_EXTENSIONS.get(fmt, dest.suffix or ".img"))
    # Validated bytes are written (not a second read of src): what was checked is what lands.
    atomic_write_bytes(Path(library_root) / "images" / dest, data)
    return "images/" + dest.as_posix()


def store_image_bytes(data: bytes, library_root: Path, stem: str, name: str = "image") -> str:
    """Validate image ``data`` (an image column's bytes, a tar member) and write it atomically
    to ``library_root/images/<stem><ext>``, ``ext`` from the decoded format (``.png``, ``.jpg``).
    Returns ``"images/<stem><ext>"``; ReaderSkip when too large or not fully decodable."""
    if len(data) > images.MAX_IMAGE_BYTES:
        raise ReaderSkip(f"image {name} is {len(data):,} bytes, over the MAX_IMAGE_BYTES limit of "
                         f"{images.MAX_IMAGE_BYTES:,} bytes (scicmr.corpus.images); shrink or convert it")
    dest = stem + _FORMAT_EXTENSIONS.get(decode_image_bytes(data, name), ".img")
    atomic_write_bytes(Path(library_root) / "images" / dest, data)
    return "images/" + dest


def split_list(value: Any) -> list[str]:
    """A list of clean strings from a list, a ``;``-separated string, a scalar or None."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        items = [str(v).strip() for v in value if v is not None]
    elif isinstance(value, float) and value.is_integer():
        items = [str(int(value))]
    else:
        items = [part.strip() for part in str(value).split(";")]
    return [item for item in items if item]


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes as UTF-8 (BOM allowed), falling back to GB18030, then UTF-8 with
    replacement characters. Returns ``(text, encoding used)``."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    return data.decode("utf-8", errors="replace"), "utf-8 (with replacement characters)"
