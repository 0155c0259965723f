"""Reader for cross-modal feature benchmarks stored as MATLAB ``.mat`` files.

Two layouts are recognised by their variable names:

(a) **Wikipedia SVCL** ``raw_features.mat``: ``I_tr``/``I_te`` (n, 128) SIFT bag of visual
    words, ``T_tr``/``T_te`` (n, 10) LDA topics, optional ``T_tfidf_tr``/``T_tfidf_te``
    (n, 1000) TF-IDF, with ``trainset_txt_img_cat.list``/``testset_txt_img_cat.list`` beside it
    giving, row by row, the text id, image id and 1-based category. Features ``sift128``
    (image), ``lda10`` and ``tfidf1000`` (text); the default pair is sift128 + lda10.

(b) **DSCMR-style** ``{split}_img.mat``, ``{split}_txt.mat``, ``{split}_img_lab.mat`` (or
    ``_txt_lab``), each holding one variable named like the file stem; labels are (n, 1)
    0-based class indices or an (n, C) 0/1 matrix. Features ``vgg<d>`` (image) and
    ``text<d>`` (text). Record ids are ``"{split}-{row}"``.

Choice for incomplete splits in (b): a split with text features but no image features (the
shared Pascal copy lacks ``train_img.mat``) cannot give image–text pairs, and a benchmark of
precomputed features has no raw text to re-encode, so its rows are left out rather than kept
as ``kind="text"`` records that no method could train on. The split is reported once in
``skipped`` (item: the file) and in ``notes["quirks"]``; ``notes["standard_split"]`` is false
when fewer than both train and test remain, so the caller re-splits what is there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from scicmr.corpus.readers.base import FeatureBlock, ReaderSkip, ReadResult, checked_id, maybe_progress
from scicmr.corpus.readers.wikipedia import LIST_FILES, read_category_names
from scicmr.corpus.record import Record, Source
from scicmr.errors import InputError

WIKIPEDIA_CATEGORIES = (
    "art", "biology", "geography", "history", "literature", "media", "music", "royalty", "sport", "warfare",
)
_SVCL_SPLITS = (("train", "tr"), ("test", "te"))
_SVCL_REQUIRED = {"I_tr", "I_te", "T_tr", "T_te"}
_DSCMR_FILE = re.compile(r"^(?P<split>[A-Za-z0-9]+)_(?P<kind>img|txt)(?P<lab>_lab)?\.mat$")
_SPLIT_ORDER = {"train": 0, "valid": 1, "val": 1, "validation": 1, "test": 2}
_SPLIT_NAMES = {"valid": "validation", "val": "validation"}


def mat_variables(path: Path) -> list[str]:
    """Names of the variables in a .mat file without loading them; InputError when unreadable."""
    from scipy.io import whosmat

    try:
        return [name for name, _shape, _cls in whosmat(str(path))]
    except NotImplementedError:
        raise InputError(
            f"{path} is a MATLAB v7.3 (HDF5) file, which scipy cannot read",
            fix="re-save it in MATLAB with save(..., '-v7'), or convert it with h5py",
        ) from None
    except Exception as exc:  # noqa: BLE001 -- scipy raises many types for damaged files
        raise InputError(f"{path} cannot be read as a .mat file: {type(exc).__name__}: {exc}") from None


def load_matrix(path: Path, name: str) -> np.ndarray:
    """Variable ``name`` of ``path`` as a 2-D array; InputError when missing or not numeric."""
    from scipy.io import loadmat

    try:
        data = loadmat(str(path), variable_names=[name])
    except Exception as exc:  # noqa: BLE001
        raise InputError(f"{path} cannot be read as a .mat file: {type(exc).__name__}: {exc}") from None
    if name not in data:
        raise InputError(f"{path} has no variable {name!r}")
    array = np.asarray(data[name])
    if array.dtype.kind not in "biuf" or array.ndim != 2:
        raise InputError(f"{path}: variable {name!r} is not a 2-D numeric matrix ({array.dtype}, {array.shape})")
    return array


def find_mat_layout(folder: Path) -> tuple[str, Path | None]:
    """``("svcl", file)`` or ``("dscmr", None)`` for the layout in ``folder``; InputError otherwise."""
    mats = sorted(folder.glob("*.mat"))
    seen: dict[str, list[str]] = {}
    for path in mats:
        if _DSCMR_FILE.match(path.name):
            seen[path.name] = []  # named by the DSCMR convention: no need to open it here
            continue
        names = mat_variables(path)
        seen[path.name] = names
        if _SVCL_REQUIRED <= set(names):
            return "svcl", path
    if any(_DSCMR_FILE.match(p.name) and not _DSCMR_FILE.match(p.name)["lab"] for p in mats):
        return "dscmr", None
    found = "; ".join(f"{k} ({', '.join(v)})" if v else k for k, v in seen.items()) or "no .mat files"
    raise InputError(
        f"{folder}: no known .mat benchmark layout (found {found})",
        fix="expected raw_features.mat with I_tr, I_te, T_tr, T_te (Wikipedia SVCL) or "
        "train_img.mat / train_txt.mat / test_img.mat / test_txt.mat with *_img_lab.mat (DSCMR)",
    )


def read_matbench(path: str | Path, library_root: str | Path | None = None, *, progress: bool = True) -> ReadResult:
    """Read a .mat feature benchmark (a folder, or one .mat file in it).

    ``library_root`` is accepted for a uniform reader signature; these sources have no image
    files, so nothing is written.
    """
    path = Path(path)
    folder = path.parent if path.is_file() else path
    if not folder.is_dir():
        raise InputError(f"{path} does not exist", fix="check the path")
    if path.is_file():
        names = mat_variables(path)
        if not _SVCL_REQUIRED <= set(names):
            if _DSCMR_FILE.match(path.name):
                return _read_dscmr(folder, progress)
            raise InputError(f"{path}: no known benchmark variables (found {', '.join(names)})",
                             fix="pass the folder holding the benchmark's .mat files")
        return _read_svcl(path, progress)
    kind, file = find_mat_layout(folder)
    return _read_svcl(file, progress) if kind == "svcl" else _read_dscmr(folder, progress)


# ---------------------------------------------------------------------------- (a) SVCL
def _read_svcl(path: Path, progress: bool) -> ReadResult:
    folder = path.parent
    names = set(mat_variables(path))
    categories = read_category_names(folder) or list(WIKIPEDIA_CATEGORIES)
    result = ReadResult(notes={
        "dataset": "wikipedia_xmodal_svcl", "layout": "svcl_mat", "standard_split": True,
        "categories": categories, "default_features": {"image": "sift128", "text": "lda10"},
    })
    blocks = {"image": [], "lda": [], "tfidf": []}
    ids: list[str] = []
    has_tfidf = {"T_tfidf_tr", "T_tfidf_te"} <= names
    if not has_tfidf and names & {"T_tfidf_tr", "T_tfidf_te"}:
        result.quirk(path.name, "incomplete TF-IDF", "only one of T_tfidf_tr / T_tfidf_te: TF-IDF features left out")
    for split, suffix in maybe_progress(_SVCL_SPLITS, progress, desc=f"reading {path.name}"):
        matrices = {"image": load_matrix(path, f"I_{suffix}"), "lda": load_matrix(path, f"T_{suffix}")}
        if has_tfidf:
            matrices["tfidf"] = load_matrix(path, f"T_tfidf_{suffix}")
        entries = _svcl_entries(folder, split, suffix, matrices, path)
        keep = _keep_rows(entries, matrices, ids, result)
        for row in keep:
            text_id, image_id, number, where = entries[row]
            labels = [categories[number - 1]] if number <= len(categories) else [str(number)]
            result.records.append(Record(
                id=text_id, kind="pair", labels=labels, group=text_id,
                source=Source(file=path.name), extra={"split": split, "image_id": image_id, "row": row},
            ))
            ids.append(text_id)
        for key, matrix in matrices.items():
            blocks[key].append(matrix[keep])
    _svcl_blocks(result, path, ids, blocks)
    return result


def _svcl_entries(folder: Path, split: str, suffix: str, matrices: dict[str, np.ndarray],
                  path: Path) -> list[tuple[str, str, int, str]]:
    """(text id, image id, category, where) per row of the split, from its list file."""
    list_name = dict(LIST_FILES)[split]
    list_path = folder / list_name
    n = len(matrices["image"])
    shapes = {key: m.shape for key, m in matrices.items()}
    if any(shape[0] != n for shape in shapes.values()):
        raise InputError(f"{path}: the {split} matrices have different row counts {shapes}",
                         fix=f"every *_{suffix} variable must have one row per item")
    if not list_path.is_file():
        raise InputError(
            f"{folder} has {path.name} but no {list_name}: the rows' ids and categories are unknown",
            fix=f"put {list_name} (text_id<TAB>image_id<TAB>category, one line per row of I_{suffix}) beside it",
        )
    lines = [line for line in list_path.read_text(encoding="utf-8", errors="replace").splitlines() if line.strip()]
    if len(lines) != n:
        raise InputError(f"{list_name} has {len(lines)} lines but {path.name} has {n} {split} rows",
                         fix="use the list files that were published with these features")
    entries = []
    for lineno, line in enumerate(lines, start=1):
        parts = line.split("\t") if line.count("\t") == 2 else line.split()
        if len(parts) != 3 or not _is_count(parts[2].strip()) or int(parts[2]) < 1:
            raise InputError(f"{list_name} line {lineno} is malformed: {line[:80]!r}",
                             fix="each line must be text_id<TAB>image_id<TAB>category (1-based)")
        entries.append((parts[0].strip(), parts[1].strip(), int(parts[2]), f"{list_name} line {lineno}"))
    return entries


def _is_count(text: str) -> bool:
    """ASCII digits only: ``str.isdigit()`` is true for "²" too, which ``int()`` refuses."""
    return text.isascii() and text.isdigit()


def _keep_rows(entries: list[tuple[str, str, int, str]], matrices: dict[str, np.ndarray], ids: list[str],
               result: ReadResult) -> list[int]:
    """Rows to keep: valid, unique ids with finite features; the others are reported as skipped."""
    seen = set(ids)
    finite = np.ones(len(entries), dtype=bool)
    for matrix in matrices.values():
        finite &= np.isfinite(matrix).all(axis=1)
    keep = []
    for row, (text_id, _image_id, _number, where) in enumerate(entries):
        try:
            checked_id(text_id)
        except ReaderSkip as exc:
            result.skip(where, exc.reason)
            continue
        if text_id in seen:
            result.skip(text_id, f"duplicate id at {where}: the row's features are left out")
        elif not finite[row]:
            result.skip(text_id, f"NaN or infinite feature values in row {row} ({where})")
        else:
            seen.add(text_id)
            keep.append(row)
    return keep


def _svcl_blocks(result: ReadResult, path: Path, ids: list[str], blocks: dict[str, list[np.ndarray]]) -> None:
    specs = {"image": ("image", "sift", "I"), "lda": ("text", "lda", "T"), "tfidf": ("text", "tfidf", "T_tfidf")}
    for key, parts in blocks.items():
        if not parts:
            continue
        modality, prefix, var = specs[key]
        widths = sorted({part.shape[1] if part.ndim == 2 else -1 for part in parts})
        if len(widths) != 1 or widths[0] < 1:
            raise InputError(f"{path}: the {var}_tr / {var}_te matrices have widths {widths}; they must be 2-D with the "
                             "same number (> 0) of columns", fix="use the feature files published with the dataset")
        vectors = np.concatenate(parts).astype(np.float32)
        name = f"{prefix}{vectors.shape[1]}"
        result.features.append(FeatureBlock(modality, name, list(ids), vectors, {
            "source": path.name, "variables": [f"{var}_tr", f"{var}_te"], "dim": int(vectors.shape[1]),
            "dataset": "wikipedia_xmodal_svcl", "kind": "precomputed",
        }))
    result.notes["default_features"] = {
        "image": next(b.name for b in result.features if b.modality == "image"),
        "text": next(b.name for b in result.features if b.name.startswith("lda")),
    }


# ---------------------------------------------------------------------------- (b) DSCMR
def _dscmr_files(folder: Path) -> dict[str, dict[str, Path]]:
    """``{split: {"img"|"txt"|"img_lab"|"txt_lab": path}}`` in train, validation, test order."""
    files: dict[str, dict[str, Path]] = {}
    for path in sorted(folder.glob("*.mat")):
        match = _DSCMR_FILE.match(path.name)
        if match:
            key = match["kind"] + ("_lab" if match["lab"] else "")
            files.setdefault(match["split"], {})[key] = path
    return dict(sorted(files.items(), key=lambda kv: (_SPLIT_ORDER.get(kv[0], 3), kv[0])))


def load_single(path: Path, result: ReadResult) -> np.ndarray:
    """The variable named like the file stem, or the file's only variable (a reported quirk)."""
    names = mat_variables(path)
    if path.stem in names:
        return load_matrix(path, path.stem)
    if len(names) == 1:
        result.quirk(path.name, "variable name", f"variable {names[0]!r} used (expected {path.stem!r})")
        return load_matrix(path, names[0])
    raise InputError(f"{path} has no variable {path.stem!r} (found {', '.join(names) or 'none'})",
                     fix="DSCMR-style files hold one variable named like the file")


def _label_names(labels: np.ndarray) -> list[list[str] | None]:
    """(n, 1) class indices -> [["3"], …]; (n, C) 0/1 matrix -> the columns that are set.
    A row whose label is not a finite whole number (NaN, inf, 2.5) gives None: that row is
    skipped with the reason, the others are kept."""
    if labels.shape[1] == 1:
        return [[str(int(v))] if np.isfinite(v) and float(v).is_integer() else None for v in labels[:, 0]]
    return [[str(j) for j in np.flatnonzero(row)] if np.isfinite(row).all() else None for row in labels]


def _read_dscmr(folder: Path, progress: bool) -> ReadResult:
    result = ReadResult(notes={"dataset": folder.name, "layout": "dscmr_mat"})
    image_parts, text_parts, ids, complete = [], [], [], []
    for split, files in maybe_progress(_dscmr_files(folder).items(), progress, desc=f"reading {folder.name}"):
        if not _dscmr_split_complete(split, files, result):
            continue
        image, text = load_single(files["img"], result), load_single(files["txt"], result)
        if len(image) != len(text):
            raise InputError(
                f"{folder}: split {split!r} has {len(image)} image rows ({files['img'].name}) but "
                f"{len(text)} text rows ({files['txt'].name}); rows must be paired one to one",
                fix="use image and text files of the same split from the same release",
            )
        labels = _dscmr_labels(split, files, len(image), result)
        finite = np.isfinite(image).all(axis=1) & np.isfinite(text).all(axis=1)
        name = _SPLIT_NAMES.get(split, split)
        for row in range(len(image)):
            record_id = f"{split}-{row}"
            if not finite[row]:
                result.skip(record_id, f"NaN or infinite feature values in row {row} of split {split}")
                continue
            if labels and labels[row] is None:
                result.skip(record_id, f"the label of row {row} of split {split} is not a class index "
                                       "(NaN, infinite or not a whole number)")
                finite[row] = False  # its features are left out with it
                continue
            result.records.append(Record(
                id=record_id, kind="pair", labels=labels[row] if labels else [], group=record_id,
                source=Source(file=files["img"].name), extra={"split": name, "row": row},
            ))
            ids.append(record_id)
        image_parts.append(image[finite])
        text_parts.append(text[finite])
        complete.append(name)
    if not ids:
        raise InputError(f"{folder}: no split has both image and text features",
                         fix="a DSCMR-style split needs {split}_img.mat and {split}_txt.mat")
    result.notes["standard_split"] = {"train", "test"} <= set(complete)
    result.notes["splits"] = complete
    _dscmr_blocks(result, folder, ids, image_parts, text_parts)
    return result


def _dscmr_split_complete(split: str, files: dict[str, Path], result: ReadResult) -> bool:
    if "img" in files and "txt" in files:
        return True
    present = [p.name for key, p in files.items() if key in ("img", "txt")]
    missing = [f"{split}_{k}.mat" for k in ("img", "txt") if k not in files]
    if present:
        reason = (f"split {split!r} has {', '.join(present)} but no {', '.join(missing)}: its rows have one "
                  "modality only and are left out (no image–text pairs)")
        result.skip(present[0], reason)
        result.quirk(split, "incomplete split", reason)
    else:
        result.quirk(split, "labels only", f"split {split!r} has labels but no features; ignored")
    return False


def _dscmr_labels(split: str, files: dict[str, Path], n: int, result: ReadResult) -> list[list[str] | None] | None:
    path = files.get("img_lab") or files.get("txt_lab")
    if path is None:
        result.quirk(split, "no labels", f"no {split}_img_lab.mat: the split's records have no labels")
        return None
    labels = load_single(path, result)
    if labels.shape[0] == 1 and labels.shape[1] == n and n > 1:
        labels = labels.T  # saved as a row vector (1, n)
    if len(labels) != n:
        raise InputError(f"{path.name} has {len(labels)} rows but split {split!r} has {n} items",
                         fix="labels must have one row per item")
    if "txt_lab" in files and "img_lab" in files:
        other = load_single(files["txt_lab"], result)
        if other.shape != labels.shape or not np.array_equal(other, labels):
            result.quirk(split, "label mismatch", "image and text labels differ; image labels used")
    return _label_names(labels)


def _dscmr_blocks(result: ReadResult, folder: Path, ids: list[str], image_parts: list[np.ndarray],
                  text_parts: list[np.ndarray]) -> None:
    for modality, parts in (("image", image_parts), ("text", text_parts)):
        dims = {part.shape[1] for part in parts}
        if len(dims) > 1:
            raise InputError(f"{folder}: {modality} features have different dimensions across splits {sorted(dims)}",
                             fix="all splits must come from the same feature extractor")
    image = np.concatenate(image_parts).astype(np.float32)
    text = np.concatenate(text_parts).astype(np.float32)
    config: dict[str, Any] = {"source": folder.name, "layout": "dscmr", "kind": "precomputed",
                              "splits": result.notes["splits"]}
    image_name, text_name = f"vgg{image.shape[1]}", f"text{text.shape[1]}"
    result.features.append(FeatureBlock("image", image_name, list(ids), image, {**config, "dim": image.shape[1]}))
    result.features.append(FeatureBlock("text", text_name, list(ids), text, {**config, "dim": text.shape[1]}))
    result.notes["default_features"] = {"image": image_name, "text": text_name}
