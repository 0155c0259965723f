"""Reader for image+text folders in the Wikipedia cross-modal layout (Rasiwasia et al. 2010)::

    ROOT/
      images/<category>/<image id>.jpg
      texts/<text id>.txt            (or .xml with a <document><text>…</text></document> wrapper)
      trainset_txt_img_cat.list      "text_id<TAB>image_id<TAB>category number" (1-based)
      testset_txt_img_cat.list       same, the test split (optional)
      categories.list                one category name per line (optional; else "1", "2", …)

Real copies of this layout have quirks; each is worked around and reported, never fatal:

- a list entry whose image does not exist under its id: skipped;
- an image id present in two category folders: the one in the listed category is used;
- an image name with a space before the extension ("22 .jpg"): found by normalised name;
- an image in another category folder than the listed one: used, the label follows the list;
- a text id listed twice (e.g. in both train and test): the first entry is kept;
- a missing or empty text file: skipped.

Records: ``id`` = text id, ``kind="pair"``, ``labels=[category name]``, ``group`` = id,
``extra["split"]`` = ``"train"``/``"test"``, ``extra["image_id"]``; ``title`` = the first line
of the text when the text has several lines and the first is short (the rest is ``text``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path

from scicmr.corpus.readers.base import (
    IMAGE_EXTENSIONS,
    ReaderSkip,
    ReadResult,
    build_record,
    checked_id,
    copy_image,
    decode_text,
    maybe_progress,
    safe_name,
)
from scicmr.corpus.record import Record, Source
from scicmr.errors import InputError

LIST_FILES = (("train", "trainset_txt_img_cat.list"), ("test", "testset_txt_img_cat.list"))
TEXT_SUFFIXES = (".txt", ".xml")
_MAX_TITLE = 120
_TEXT_TAG = re.compile(r"<text>(.*?)</text>", re.DOTALL | re.IGNORECASE)
_TITLE_TAG = re.compile(r"<title>(.*?)</title>", re.DOTALL | re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^>]{0,200}>")


def is_wikipedia_layout(folder: Path) -> bool:
    return (folder / LIST_FILES[0][1]).is_file() and (folder / "images").is_dir() and (folder / "texts").is_dir()


@dataclass
class Entry:
    """One line of a *_txt_img_cat.list file."""

    text_id: str
    image_id: str
    category: str
    split: str
    where: str  # "trainset_txt_img_cat.list line 7", for reports


def read_category_names(folder: Path) -> list[str] | None:
    """Names from ``categories.list`` (line i is category i+1), or None when absent."""
    path = folder / "categories.list"
    if not path.is_file():
        return None
    text, _ = decode_text(path.read_bytes())
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_list_entries(folder: Path, categories: list[str] | None, result: ReadResult) -> list[Entry]:
    """Entries of the train and test lists in file order; malformed lines are skipped and
    ids listed twice keep their first entry (a reported quirk)."""
    entries: list[Entry] = []
    first: dict[str, Entry] = {}
    for split, name in LIST_FILES:
        path = folder / name
        if not path.is_file():
            if split == "train":
                raise InputError(f"{folder} has no {name}", fix="the Wikipedia layout needs the train list")
            result.quirk(name, "missing list", "no test list: every record is in the train split")
            continue
        text, _ = decode_text(path.read_bytes())
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{name} line {lineno}"
            try:
                entry = _parse_line(line, categories, split, where)
            except ReaderSkip as exc:
                result.skip(where, exc.reason)
                continue
            if entry.text_id in first:
                result.quirk(entry.text_id, "listed twice",
                             f"{where} repeats {first[entry.text_id].where}; the first entry is kept")
                continue
            first[entry.text_id] = entry
            entries.append(entry)
    return entries


def _parse_line(line: str, categories: list[str] | None, split: str, where: str) -> Entry:
    # Tabs are the format; whitespace is accepted too since some copies were re-saved by editors.
    parts = line.rstrip("\r\n").split("\t")
    if len(parts) != 3:
        parts = line.split()
    if len(parts) != 3:
        raise ReaderSkip(f"malformed list line {line.strip()[:80]!r}: expected text_id, image_id, category")
    text_id, image_id, number = (p.strip() for p in parts)
    if not (number.isascii() and number.isdigit()) or int(number) < 1:  # "²".isdigit() is true
        raise ReaderSkip(f"category {number!r} is not a positive integer (categories are 1-based)")
    if categories is not None and int(number) > len(categories):
        raise ReaderSkip(f"category {number} is out of range: categories.list names {len(categories)}")
    category = categories[int(number) - 1] if categories is not None else str(int(number))
    if not text_id or not image_id:
        raise ReaderSkip("empty text id or image id")
    checked_id(text_id)  # before any file is looked up or copied: "a/b" would reach into texts/a/
    return Entry(text_id, image_id, category, split, where)


def index_images(images_dir: Path) -> dict[str, list[Path]]:
    """Map normalised image stem -> image files under ``images_dir`` (any depth), sorted.

    Stems are stripped of surrounding whitespace, so "22 .jpg" is found as image "22".
    """
    index: dict[str, list[Path]] = {}
    for path in sorted(images_dir.rglob("*")):
        if path.is_file() and path.suffix.lower() in IMAGE_EXTENSIONS:
            index.setdefault(path.stem.strip(), []).append(path)
    return index


def choose_image(entry: Entry, candidates: list[Path], images_dir: Path, category_dirs: set[str],
                 result: ReadResult) -> Path:
    """Pick the image of ``entry`` among the files with its id; report the quirks met.

    ``category_dirs`` are the folder names under ``images_dir``: an image outside the listed
    category's folder is only reported when such a folder exists (with no categories.list the
    labels are numbers and never match folder names).
    """
    if not candidates:
        raise ReaderSkip(f"no image file for image id {entry.image_id!r} under {images_dir.name}/ ({entry.where})")
    folders = [p.parent.relative_to(images_dir).as_posix() for p in candidates]
    matching = [p for p, f in zip(candidates, folders) if f == entry.category]
    chosen = matching[0] if matching else candidates[0]
    folder = chosen.parent.relative_to(images_dir).as_posix()
    if len(candidates) > 1:
        result.quirk(entry.text_id, "image in several category folders",
                     f"image {entry.image_id} is in {', '.join(folders)}; used {folder}"
                     + (" (the listed category)" if matching else f" (none is the listed {entry.category})"))
    elif not matching and entry.category in category_dirs:
        result.quirk(entry.text_id, "image in another category folder",
                     f"image {entry.image_id} is in {folder}, listed as {entry.category}; label follows the list")
    if chosen.stem != chosen.stem.strip():
        result.quirk(entry.text_id, "whitespace in image file name",
                     f"{chosen.relative_to(images_dir).as_posix()!r} matched image id {entry.image_id}")
    return chosen


def read_article(texts_dir: Path, text_id: str, result: ReadResult) -> tuple[str, str, str]:
    """``(title, text, file name)`` of one article; ReaderSkip when missing or empty."""
    path = next((texts_dir / f"{text_id}{s}" for s in TEXT_SUFFIXES if (texts_dir / f"{text_id}{s}").is_file()), None)
    if path is None:
        raise ReaderSkip(f"text file not found: {texts_dir.name}/{text_id}.txt")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ReaderSkip(f"text file cannot be read: {path}: {exc}") from None
    text, encoding = decode_text(raw)
    if encoding != "utf-8-sig":
        result.quirk(text_id, "text not UTF-8", f"{path.name} decoded as {encoding}")
    title, body = split_article(text)
    if not body and not title:
        raise ReaderSkip(f"empty text in {texts_dir.name}/{path.name}")
    return title, body, path.name


def split_article(text: str) -> tuple[str, str]:
    """Unwrap an XML-ish ``<document><title>…</title><text>…</text></document>`` and split
    off a short first line as the title. Returns ``(title, body)``, both stripped."""
    text = text.strip()
    title = ""
    if text.startswith("<"):
        # A regex, not an XML parser: these files are rarely well-formed (bare "&", "<" in text).
        match, title_match = _TEXT_TAG.search(text), _TITLE_TAG.search(text)
        title = html.unescape(_ANY_TAG.sub(" ", title_match.group(1))).strip() if title_match else ""
        inner = match.group(1) if match else _TITLE_TAG.sub(" ", text)
        text = html.unescape(_ANY_TAG.sub(" ", inner)).strip()
    lines = text.splitlines()
    if not title and len(lines) > 1 and len(lines[0].strip()) <= _MAX_TITLE:
        title, text = lines[0].strip(), "\n".join(lines[1:]).strip()
    return title, text


def read_wikipedia(folder: str | Path, library_root: str | Path, *, progress: bool = True) -> ReadResult:
    """Read a folder in the Wikipedia layout; images are validated and copied into
    ``library_root/images/<safe text id>.<ext>``."""
    folder = Path(folder)
    if not is_wikipedia_layout(folder):
        raise InputError(
            f"{folder} is not in the Wikipedia layout",
            fix="it needs trainset_txt_img_cat.list, images/<category>/ and texts/",
        )
    categories = read_category_names(folder)
    result = ReadResult(notes={"dataset": folder.name, "layout": "wikipedia", "standard_split": True,
                               "categories": categories})
    if categories is None:
        result.quirk("categories.list", "missing categories.list", "labels are the category numbers")
    entries = read_list_entries(folder, categories, result)
    layout = _Layout(folder, Path(library_root))
    used: set[Path] = set()
    for entry in maybe_progress(entries, progress, desc=f"reading {folder.name}"):
        # Quirks go to a scratch result first, so a row that ends up skipped reports only its reason.
        scratch = ReadResult()
        try:
            record, image = layout.make_record(entry, scratch)
        except ReaderSkip as exc:
            result.skip(entry.text_id, exc.reason)
            continue
        result.notes.setdefault("quirks", []).extend(scratch.quirks)
        used.add(image)
        result.records.append(record)
    unused = sorted(p.relative_to(layout.images_dir).as_posix()
                    for paths in layout.image_index.values() for p in paths if p not in used)
    result.notes["unused_images"] = {"count": len(unused), "examples": unused[:10]}
    return result


class _Layout:
    """The folder being read: its image index and where copies go."""

    def __init__(self, folder: Path, library_root: Path):
        self.folder = folder
        self.images_dir = folder / "images"
        self.texts_dir = folder / "texts"
        self.library_root = library_root
        self.image_index = index_images(self.images_dir)
        self.category_dirs = {p.name for p in self.images_dir.iterdir() if p.is_dir()}

    def make_record(self, entry: Entry, scratch: ReadResult) -> tuple[Record, Path]:
        title, body, text_name = read_article(self.texts_dir, entry.text_id, scratch)
        candidates = self.image_index.get(entry.image_id.strip(), [])
        image = choose_image(entry, candidates, self.images_dir, self.category_dirs, scratch)
        stored = copy_image(image, self.library_root, safe_name(entry.text_id) + image.suffix.lower())
        record = build_record(
            id=entry.text_id,
            kind="pair",
            title=title,
            text=body,
            labels=[entry.category],
            images=[stored],
            source=Source(file=f"texts/{text_name}"),
            group=entry.text_id,
            extra={"split": entry.split, "image_id": entry.image_id,
                   "source_image": image.relative_to(self.folder).as_posix()},
        )
        return record, image
