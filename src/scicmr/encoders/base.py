"""The encoder contract (raw text or images -> feature vectors) and the feature cache helpers.

An encoder turns items of one modality into an (n, dim) float32 array:

- ``modality``: ``"text"`` (items are strings) or ``"image"`` (paths or PIL images).
- ``fit(items)`` returns self; it is a no-op for pretrained encoders, while TF-IDF / BoW / LDA
  learn a vocabulary (callers fit on the train split only). ``encode`` before ``fit`` on a
  fittable encoder raises :class:`~scicmr.errors.NotFittedError`.
- ``encode(items, batch_size=32, executor=None)`` -> (n, dim) float32, with a progress bar
  over batches (an executor of :mod:`scicmr.parallel` runs the batches on Ray workers).
- ``config()`` -> JSON-able dict that fully identifies the encoder (class, params, weights and,
  once fitted, a fingerprint of the fitted state); it keys the library's feature cache.
- ``save(dir)`` writes ``config.json`` + state atomically; ``scicmr.encoders.load_encoder(dir)``
  restores an encoder with identical outputs.

Constructors only store and validate parameters; heavy models load lazily on first use.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from scicmr._io import atomic_directory, atomic_write_json, read_json
from scicmr.errors import InputError, LibraryError, NotFittedError
from scicmr.parallel import Executor, LocalExecutor

MODALITIES = ("text", "image")


class Encoder:
    """Base class. Subclasses set ``modality``, ``name`` and implement ``_encode_batch`` and
    ``_dim``; fittable ones set ``fittable = True`` and implement ``_fit``, ``_save_state``,
    ``_load_state`` and ``_state_fingerprint``."""

    modality: ClassVar[str] = "text"
    name: str = "encoder"
    fittable: ClassVar[bool] = False
    # Bump when a change alters the vectors for the same params: it is part of config(), so
    # cached features computed by an older revision are not reused.
    revision: ClassVar[int] = 1

    # -- parameters (sklearn style: constructor argument names == attribute names)
    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- the contract
    def fit(self, items: Sequence[Any]) -> "Encoder":
        """Learn what the encoder needs from ``items`` (train split only); returns self."""
        if not self.fittable:
            return self
        items = self._check_items(items)
        if not items:
            raise InputError(f"cannot fit the {self.name} encoder on zero items", fix="fit on a non-empty train split")
        self._fit(items)
        self.fitted_ = True
        return self

    @property
    def is_fitted(self) -> bool:
        return (not self.fittable) or getattr(self, "fitted_", False)

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} ({self.name})")

    @property
    def dim(self) -> int:
        """Length of one output vector."""
        self._check_fitted()
        return int(self._dim())

    def encode(self, items: Sequence[Any], batch_size: int = 32, executor: Executor | None = None) -> np.ndarray:
        """Encode ``items`` (strings for text, paths / PIL images for images).

        ``executor`` runs the batches (:mod:`scicmr.parallel`): None encodes them here, one after
        the other; a :class:`~scicmr.parallel.RayExecutor` sends this fitted encoder once to each
        Ray worker, which loads its model once and encodes the batches sent to it.

        Returns:
            (n, dim) float32 array, row i for ``items[i]``.
        """
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InputError(f"batch_size must be a positive integer, got {batch_size!r}")
        items = self._check_items(items)
        self._check_fitted()
        dim = self.dim
        out = np.empty((len(items), dim), dtype=np.float32)
        starts = range(0, len(items), batch_size)
        batches = [items[start : start + batch_size] for start in starts]
        runner = executor or LocalExecutor()
        results = runner.map(encode_batch, batches, context=self, desc=f"encode {self.name}", unit="batch")
        for start, batch, vectors in zip(starts, batches, results):
            if vectors.shape != (len(batch), dim):
                raise RuntimeError(f"{type(self).__name__} returned {vectors.shape} for {len(batch)} items of dim {dim}")
            out[start : start + len(batch)] = vectors
        return out

    def _check_items(self, items: Sequence[Any]) -> list[Any]:
        single_image = type(items).__module__.startswith("PIL.")
        if single_image or isinstance(items, (str, bytes, os.PathLike)):
            raise InputError(
                f"encode/fit take a sequence of items, got a single {type(items).__name__}",
                fix="wrap it in a list: encoder.encode([item])",
            )
        items = list(items)
        if self.modality == "text":
            for i, item in enumerate(items):
                if not isinstance(item, str):
                    raise InputError(
                        f"text item {i} is {type(item).__name__}, not str",
                        fix="pass strings (use '' for a missing text)",
                    )
        return items

    # -- identity
    def config(self) -> dict[str, Any]:
        """JSON-able identity of this encoder (the feature-cache key is derived from it)."""
        config = {
            "name": self.name,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "modality": self.modality,
            "revision": self.revision,
            "params": self.get_params(),
        }
        config.update(self._identity())
        if self.fittable:
            config["fitted_state"] = self._state_fingerprint() if self.is_fitted else None
        return config

    def _identity(self) -> dict[str, Any]:
        """Extra identity beyond params (e.g. which weights file); overridden by subclasses."""
        return {}

    # -- persistence
    def save(self, directory: str | Path) -> Path:
        """Write ``config.json`` + state files into ``directory`` atomically (replacing it)."""
        self._check_fitted()
        directory = Path(directory)
        with atomic_directory(directory) as tmp:
            state_files = self._save_state(tmp) if self.fittable else []
            from scicmr import __version__

            atomic_write_json(
                tmp / "config.json",
                {**self.config(), "dim": self.dim, "state_files": state_files, "scicmr_version": __version__},
            )
        return directory

    def _restore(self, directory: Path, config: dict[str, Any]) -> None:
        """Load the fitted state written by ``save`` (used by ``load_encoder``)."""
        if self.fittable:
            self._load_state(directory, config)
            self.fitted_ = True
            if config.get("fitted_state") != self._state_fingerprint():
                raise LibraryError(
                    f"the encoder state in {directory} does not match its config.json fingerprint",
                    fix="the folder is damaged or was edited; re-fit and save the encoder",
                )

    # -- hooks for subclasses
    def _dim(self) -> int:  # pragma: no cover - abstract
        raise NotImplementedError

    def _encode_batch(self, batch: list[Any]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit(self, items: list[Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _save_state(self, directory: Path) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _state_fingerprint(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


def encode_batch(encoder: Encoder, batch: list[Any]) -> np.ndarray:
    """One batch through ``encoder`` as (len(batch), dim) float32: what an executor's worker runs."""
    return np.asarray(encoder._encode_batch(batch), dtype=np.float32)


def fingerprint(*parts: Any) -> str:
    """Short stable hash of arrays, strings and JSON-able values (16 hex characters).

    Arrays contribute dtype, shape and bytes, so equal fingerprints mean equal fitted state.
    """
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            digest.update(f"ndarray:{array.dtype.str}:{array.shape}".encode())
            digest.update(array.tobytes())
        else:
            digest.update(json.dumps(part, sort_keys=True, ensure_ascii=False, default=str).encode())
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


# ---------------------------------------------------------------------------- feature cache
def feature_key(encoder: Encoder) -> str:
    """Library feature-cache key for ``encoder``: ``<modality>-<name>-<hash of config()>``."""
    from scicmr.corpus.library import config_key

    return config_key(f"{encoder.modality}-{encoder.name}", encoder.config())


def encode_cached(
    encoder: Encoder,
    library: Any,
    ids: Sequence[str],
    items: Sequence[Any],
    *,
    batch_size: int = 32,
    force: bool = False,
    key: str | None = None,
) -> np.ndarray:
    """Encode ``items`` (row i belongs to record ``ids[i]``) through ``library``'s feature cache.

    Vectors already cached under ``key`` (default ``feature_key(encoder)``; another key keeps a
    second text of the same records, such as a figure's printed words, apart) are reused; only ids missing from the
    cache are encoded, and only their rows are appended to the cache (one chunk).
    ``force=True`` re-encodes everything.

    Returns:
        (n, dim) float32, rows in the order of ``ids``.
    """
    ids = [str(i) for i in ids]
    items = list(items)
    if len(ids) != len(items):
        raise InputError(f"got {len(ids)} ids for {len(items)} items; they must pair up")
    if len(set(ids)) != len(ids):
        raise InputError("ids passed to encode_cached are not unique", fix="pass each record once")
    key = key or feature_key(encoder)
    known = _cached_positions(library, key) if not force else None
    missing = [p for p, i in enumerate(ids) if known is None or i not in known]
    if not missing:
        return np.asarray(library.load_features(key, ids), dtype=np.float32)
    fresh = encoder.encode([items[p] for p in missing], batch_size=batch_size)
    new_ids = [ids[p] for p in missing]
    if known is not None and library.load_features(key).shape[1:] == fresh.shape[1:]:
        library.append_features(key, new_ids, fresh)  # only the new rows are written
    else:  # nothing cached, forced, or a stale entry of another shape: replace it
        library.save_features(key, new_ids, fresh, encoder.config())
    return np.asarray(library.load_features(key, ids), dtype=np.float32)


def _cached_positions(library: Any, key: str) -> dict[str, int] | None:
    """id -> row of the cache ``key``, or None when nothing (readable) is cached."""
    if not library.has_features(key):
        return None
    return library.feature_table(key).positions()


_PATH_FINGERPRINTS: dict[tuple, str] = {}


def path_fingerprint(path: str | os.PathLike) -> str:
    """sha256 (16 hex) of a file's bytes, or of every file under a directory (names + bytes).

    Identifies user-supplied weights in ``config()``; memoised on (path, sizes, mtimes) so
    asking twice does not re-read gigabytes.
    """
    path = Path(path).resolve()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    stamp = (str(path),) + tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if stamp not in _PATH_FINGERPRINTS:
        digest = hashlib.sha256()
        for file in files:
            digest.update(file.relative_to(path).as_posix().encode() if file != path else b"")
            digest.update(b"\x00")
            with open(file, "rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            digest.update(b"\x00")
        _PATH_FINGERPRINTS[stamp] = digest.hexdigest()[:16]
    return _PATH_FINGERPRINTS[stamp]
