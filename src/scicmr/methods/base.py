"""The method contract (sklearn-like) shared by every cross-modal method.

- The constructor only stores parameters (keyword arguments, same names as attributes).
- ``fit(image_features, text_features, labels=None, validation=None, **side)`` learns and
  returns ``self``; learned state ends in ``_``.
- ``transform_image(X)`` / ``transform_text(Y)`` map (n, d_img) / (n, d_txt) float32 features
  to (n, k) float32 vectors in the shared space.
- ``save(dir)`` writes ``config.json`` (method name, class, params, versions, dims) beside the
  weights; ``load(dir)`` restores a model that gives bit-identical outputs.

Side features. Some methods use per-item metadata besides the two feature matrices (MFCMR's
time and author features). A method lists the names it reads in ``side_features``; ``fit`` and
``transform_*`` accept them as keyword arguments and pass on only those names. The standard
names are ``years`` ((n,) int64, 0 = unknown) and ``authors`` (list of n lists of str). Items
whose side features are unknown (a typed query) get 0 / [] and the method must cope.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from scicmr import __version__
from scicmr._io import atomic_directory, atomic_write_json, read_json
from scicmr.errors import InputError, NotFittedError


def as_label_matrix(labels: np.ndarray | None, n: int) -> np.ndarray | None:
    """Normalise labels to an (n, C) float32 multi-hot matrix.

    Accepts None, an (n,) integer class vector, or an (n, C) 0/1 matrix.
    """
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.ndim == 1:
        if len(labels) != n:
            raise InputError(f"got {len(labels)} labels for {n} items")
        classes = np.unique(labels)
        return (labels[:, None] == classes[None, :]).astype(np.float32)
    if labels.ndim != 2 or labels.shape[0] != n:
        raise InputError(f"labels must be (n,) or (n, C) with n={n}; got shape {labels.shape}")
    return labels.astype(np.float32)


def check_features(name: str, features: Any, dim: int | None = None) -> np.ndarray:
    """(n, d) float32 view of ``features``; InputError naming the problem otherwise."""
    array = np.asarray(features, dtype=np.float32)
    if array.ndim != 2:
        raise InputError(f"{name} must be a 2-D (n, d) array, got shape {array.shape}")
    if dim is not None and array.shape[1] != dim:
        raise InputError(
            f"{name} has {array.shape[1]} columns but the model was fitted on {dim}",
            fix="encode queries with the same encoder the model was trained on",
        )
    if not np.isfinite(array).all():
        raise InputError(f"{name} contains NaN or infinite values", fix="check the encoder output")
    return array


class CrossModalMethod:
    """Base class. Subclasses set ``name`` and implement ``_fit``, ``_transform_image``,
    ``_transform_text``, ``_save_state`` / ``_load_state``."""

    name: ClassVar[str] = "base"
    side_features: ClassVar[tuple[str, ...]] = ()

    # -- sklearn-style parameters
    @classmethod
    def _param_names(cls) -> list[str]:
        signature = inspect.signature(cls.__init__)
        return [p for p in signature.parameters if p != "self"]

    def _init_params(self, arguments: dict[str, Any]) -> None:
        """Store each constructor argument as the attribute of the same name, the only thing a
        constructor does (sklearn style). Subclasses call ``self._init_params(locals())``."""
        for name in self._param_names():
            setattr(self, name, arguments[name])

    def _raise_problems(self, problems: list[str]) -> None:
        """One InputError listing every problem found with the parameters (none: return)."""
        if problems:
            cls = type(self)
            raise InputError(
                f"bad {cls.__name__} parameters: " + "; ".join(problems),
                fix=f"see help({cls.__module__}.{cls.__name__})",
            )

    def get_params(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "CrossModalMethod":
        valid = set(self._param_names())
        for key, value in params.items():
            if key not in valid:
                raise InputError(f"{type(self).__name__} has no parameter {key!r}", fix=f"valid: {sorted(valid)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- the contract
    def fit(
        self,
        image_features: np.ndarray,
        text_features: np.ndarray,
        labels: np.ndarray | None = None,
        *,
        validation: tuple | None = None,
        **side: Any,
    ) -> "CrossModalMethod":
        """Learn the shared space from paired rows of image and text features.

        Args:
            image_features: (n, d_img) float32.
            text_features: (n, d_txt) float32, row i paired with image row i.
            labels: None, (n,) int classes or (n, C) multi-hot.
            validation: optional (X_val, Y_val, labels_val) or (X_val, Y_val, labels_val,
                side_val dict) for model selection / early stopping.
            side: per-item side features (see the module docstring); names the method does not
                list in ``side_features`` are ignored.
        """
        X = check_features("image_features", image_features)
        Y = check_features("text_features", text_features)
        if len(X) != len(Y):
            raise InputError(f"image_features has {len(X)} rows but text_features has {len(Y)}; rows must pair up")
        if len(X) < 2:
            raise InputError(f"need at least 2 training pairs, got {len(X)}", fix="ingest more data")
        L = as_label_matrix(labels, len(X))
        if validation is not None:
            Xv, Yv, Lv = validation[:3]
            side_val = validation[3] if len(validation) > 3 else {}
            if len(Xv) != len(Yv):
                raise InputError(f"validation has {len(Xv)} image rows but {len(Yv)} text rows; rows must pair up")
            validation = (
                check_features("validation image_features", Xv, X.shape[1]),
                check_features("validation text_features", Yv, Y.shape[1]),
                as_label_matrix(Lv, len(Xv)) if Lv is not None else None,
            )
            if self.side_features:
                validation = (*validation, self._side(side_val, len(Xv)))
        self.image_dim_ = X.shape[1]
        self.text_dim_ = Y.shape[1]
        self._fit(X, Y, L, validation, **self._side(side, len(X)))
        self.fitted_ = True
        return self

    def transform_image(self, image_features: np.ndarray, **side: Any) -> np.ndarray:
        """(n, d_img) features (+ side features) → (n, k) float32 shared-space vectors."""
        self._check_fitted()
        X = check_features("image features", image_features, self.image_dim_)
        return np.asarray(self._transform_image(X, **self._side(side, len(X))), dtype=np.float32)

    def transform_text(self, text_features: np.ndarray, **side: Any) -> np.ndarray:
        """(n, d_txt) features (+ side features) → (n, k) float32 shared-space vectors."""
        self._check_fitted()
        Y = check_features("text features", text_features, self.text_dim_)
        return np.asarray(self._transform_text(Y, **self._side(side, len(Y))), dtype=np.float32)

    def _side(self, side: dict[str, Any], n: int) -> dict[str, Any]:
        """The side features this method reads, with unknown ones filled in (years 0, authors [])."""
        out = {}
        for name in self.side_features:
            value = side.get(name)
            if value is None:
                value = np.zeros(n, dtype=np.int64) if name == "years" else [[] for _ in range(n)]
            if len(value) != n:
                raise InputError(f"side feature {name!r} has {len(value)} rows for {n} items")
            if name == "years":
                years = np.asarray(value)
                if years.dtype.kind not in "iu" and not (years.dtype.kind == "f" and np.all(years == np.round(years))):
                    raise InputError(f"years must be whole numbers (0 = unknown), got dtype {years.dtype}")
                out[name] = years.astype(np.int64)
            else:
                # A bare string is one author, not a list of letters.
                out[name] = [[v] if isinstance(v, str) else list(v) for v in value]
        return out

    def _check_fitted(self) -> None:
        if not getattr(self, "fitted_", False):
            raise NotFittedError(type(self).__name__)

    # -- persistence
    def save(self, directory: str | Path) -> Path:
        """Write config.json + state atomically into ``directory`` (replacing it)."""
        self._check_fitted()
        directory = Path(directory)
        with atomic_directory(directory) as tmp:
            state_files = self._save_state(tmp)
            atomic_write_json(
                tmp / "config.json",
                {
                    "method": self.name,
                    "class": f"{type(self).__module__}.{type(self).__qualname__}",
                    "params": self.get_params(),
                    "image_dim": self.image_dim_,
                    "text_dim": self.text_dim_,
                    "state_files": state_files,
                    "scicmr_version": __version__,
                    "extra": self._extra_config(),
                },
            )
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "CrossModalMethod":
        directory = Path(directory)
        config = read_json(directory / "config.json")
        if config.get("method") != cls.name:
            raise InputError(f"{directory} holds a {config.get('method')!r} model, not {cls.name!r}")
        model = cls(**config["params"])
        model.image_dim_ = config["image_dim"]
        model.text_dim_ = config["text_dim"]
        model._load_state(directory, config)
        model.fitted_ = True
        return model

    def _extra_config(self) -> dict[str, Any]:
        return {}

    # -- hooks for subclasses
    def _fit(self, X, Y, L, validation, **side) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _transform_image(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _transform_text(self, Y: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _save_state(self, directory: Path) -> list[str]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError
