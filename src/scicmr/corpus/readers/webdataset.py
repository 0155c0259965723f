"""WebDataset reader: tar shards in the img2dataset layout (``scicmr ingest shards/``).

Each sample is a run of tar members sharing a key (the member name up to the first dot of its
base name): ``00000012.jpg`` (or ``.png``, ``.webp`` ...: the image), ``00000012.txt`` (the
caption) and ``00000012.json`` (metadata named like the manifest's fields: ``id``, ``title``,
``authors``, ``labels``, ``doi``, ``url`` ...), optionally ``00000012.cls`` (a class label). The
source is one ``.tar`` file or a folder of them (read in name order). Read with the standard
library's :mod:`tarfile`; images are validated and stored in the library's ``images/`` folder.

A record's id is the json's ``id``, else img2dataset's ``key`` (unique across its shards), else
the sample key: in a folder of shards ``<shard stem>-<sample key>`` (each shard may number its
samples from 0), for one ``.tar`` file the sample key alone; a key's folder part is kept
(``sub/0001`` → ``sub_0001``). img2dataset's bookkeeping fields (status, sizes, exif, hashes)
are not kept; its ``url`` (where the image was downloaded from) is kept as the record's url.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any, Iterator

from scicmr.corpus import images
from scicmr.corpus.readers.base import (
    IMAGE_EXTENSIONS,
    ReadResult,
    decode_text,
    safe_name,
)
from scicmr.corpus.readers.rows import Row, RowReader, read_rows
from scicmr.errors import InputError

SHARD_SUFFIX = ".tar"
_BOOKKEEPING = {"key", "status", "error_message", "width", "height", "original_width", "original_height",
                "exif", "sha256", "md5"}
_IMAGE_EXTS = {ext.lstrip(".") for ext in IMAGE_EXTENSIONS}
_TEXT_LIMIT = 16 * 1024 * 1024  # a caption or json member larger than this is not metadata


def shard_files(path: Path) -> list[Path]:
    """The shards of ``path``: itself when it is a ``.tar`` file, else the folder's ``*.tar``, sorted."""
    if path.is_file():
        return [path]
    return sorted(p for p in path.glob("*.tar") if p.is_file())


def read_webdataset(path: str | Path, library_root: str | Path, *, progress: bool = True) -> ReadResult:
    """Read WebDataset shards into records; images go to ``library_root/images/<safe id>.<ext>``."""
    path = Path(path)
    shards = shard_files(path)
    if not shards:
        raise InputError(f"{path} holds no .tar shards", fix="pass a .tar shard or a folder of them")
    result = ReadResult(notes={"dataset": path.stem if path.is_file() else path.name, "layout": "webdataset",
                               "standard_split": False, "shards": len(shards)})
    state = RowReader(path if path.is_dir() else path.parent, Path(library_root), result, id_prefix=None,
                      source_name=shards[0].name)
    rows = (row for shard in shards for row in _shard_rows(shard, result, prefix_ids=path.is_dir()))
    read_rows(rows, state, progress=progress, desc=f"reading {len(shards)} shard(s)")
    return result


def _shard_rows(shard: Path, result: ReadResult, *, prefix_ids: bool) -> Iterator[Row]:
    """One row per sample of ``shard``; a shard that cannot be opened is one skipped item.
    ``prefix_ids``: default ids start with the shard's stem (a folder of shards)."""
    try:
        archive = tarfile.open(shard, "r:*")
    except (tarfile.TarError, OSError) as exc:
        yield shard.name, shard.name, None, f"not a readable tar file: {type(exc).__name__}: {exc}"
        return
    with archive:
        key, members = None, {}
        try:
            for member in archive:
                if not member.isfile():
                    continue
                folder, _, base = member.name.rpartition("/")
                stem, dot, ext = base.partition(".")
                if not dot or not stem:
                    continue  # no key: not part of a sample (e.g. a README in the shard)
                sample = f"{folder}/{stem}" if folder else stem
                if sample != key and key is not None:
                    yield _sample_row(shard, key, members, result, prefix_ids)
                    members = {}
                key = sample
                members[ext.lower()] = _member_bytes(archive, member, ext.lower())
        except (tarfile.TarError, OSError, EOFError) as exc:
            yield f"{shard.name}", shard.name, None, f"tar file is damaged after {key or 'its start'}: {exc}; " \
                                                     "the samples before it were read"
        if key is not None:
            yield _sample_row(shard, key, members, result, prefix_ids)


def _member_bytes(archive: tarfile.TarFile, member: tarfile.TarInfo, ext: str) -> bytes | str:
    """The member's bytes, or a reason (str) when it is too large to read."""
    limit = images.MAX_IMAGE_BYTES if ext in _IMAGE_EXTS else _TEXT_LIMIT
    if member.size > limit:
        return f"{member.name} is {member.size:,} bytes, over the {limit:,}-byte limit"
    handle = archive.extractfile(member)
    return handle.read() if handle is not None else b""


def _sample_row(shard: Path, key: str, members: dict[str, Any], result: ReadResult, prefix_ids: bool) -> Row:
    """The row of one sample; its default id is made of the key (see the module docstring) and
    its ``source_file`` is the shard unless its json names one."""
    item = f"{shard.name}:{key}"
    default_id = safe_name(key.replace("/", "_")) if "/" in key else key  # ids have no "/"
    if prefix_ids:
        default_id = f"{shard.stem}-{default_id}"
    too_large = [value for value in members.values() if isinstance(value, str)]
    if too_large:
        return item, default_id, None, too_large[0]
    fields: dict[str, Any] = {}
    if "json" in members:
        text, _ = decode_text(members["json"])
        try:
            meta = json.loads(text)
        except (ValueError, RecursionError) as exc:
            return item, default_id, None, f"malformed JSON in {key}.json: {exc}"
        if not isinstance(meta, dict):
            return item, default_id, None, f"{key}.json is not a JSON object: got {type(meta).__name__}"
        if "id" not in meta and meta.get("key") not in (None, ""):
            meta["id"] = meta["key"]
        fields.update({k: v for k, v in meta.items() if k not in _BOOKKEEPING})
    if not fields.get("source_file"):
        fields["source_file"] = shard.name
    if "txt" in members:
        fields["caption"] = decode_text(members["txt"])[0]
    if "cls" in members and "labels" not in fields and "label" not in fields:
        fields["labels"] = decode_text(members["cls"])[0].strip()
    pictures = [members[ext] for ext in sorted(members) if ext in _IMAGE_EXTS]
    if pictures:
        fields["image"] = pictures[0]
        if len(pictures) > 1:
            result.quirk(item, "several images", f"{len(pictures)} image members; the first one is used")
    return item, default_id, fields, ""
