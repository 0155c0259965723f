"""Shared plumbing of the deep cross-modal hashing methods (DCMH, MS-SCH-GAN, the masked hash
transformer).

A hashing method is a :class:`~scicmr.methods.base.CrossModalMethod` following the hashing
contract of :mod:`scicmr.hashing.base` (``produces_codes``, ``n_bits``): ``transform_image`` /
``transform_text`` return the relaxed (n, n_bits) float32 tanh outputs in (−1, 1), and
``codes_image`` / ``codes_text`` (from :class:`~scicmr.hashing.base.HashingMixin`) the packed
binary codes (:func:`scicmr.hashing.codes.pack_codes`: bit = output ≥ 0). Validation scores are
Hamming-ranking scores: cosines of :func:`sign_vectors`, which the metrics compute exactly.

Labels. ``fit`` accepts labels with missing entries, for the semi-supervised methods:

- (n,) integer classes with a negative value (−1) for an unlabelled row;
- (n,) float classes with NaN for an unlabelled row;
- (n, C) multi-hot rows, an all-zero row being unlabelled.

They become an (n, C) multi-hot matrix whose unlabelled rows are zero; the losses then know
only an unlabelled item's own pair (see :func:`scicmr.methods.hashing.losses.pair_similarity`).

Raw images. With ``image_shape=(C, H, W)`` the image "features" are flattened pixel arrays
((n, C·H·W) float32, e.g. ``images.reshape(n, -1)``) and the image side runs
:class:`PixelCNN`, trained end to end with the rest.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from scicmr._io import atomic_write_bytes
from scicmr.errors import InputError, MissingDependencyError
from scicmr.hashing.base import HashingMixin, check_bits
from scicmr.methods.base import CrossModalMethod

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - torch is an extra
    raise MissingDependencyError("torch", "torch") from exc

_NORMALISER_KEYS = ("image_mean_", "image_std_", "text_mean_", "text_std_")
_CHUNK = 2048  # rows per forward pass at transform time (bounds memory, not results)


def semi_supervised_labels(labels: Any) -> Any:
    """Labels with missing entries → (n, C) float32 multi-hot, unlabelled rows all zero.

    (n,) int with negatives or float with NaN mark unlabelled rows; (n, C) passes through; None
    stays None. Any other (n,) vector is returned unchanged (the base class one-hot encodes it).
    """
    if labels is None:
        return None
    array = np.asarray(labels)
    if array.ndim != 1 or array.dtype.kind not in "iuf":
        return labels
    missing = np.isnan(array) if array.dtype.kind == "f" else array < 0
    if not missing.any():
        return labels
    classes = np.unique(array[~missing])
    matrix = np.zeros((len(array), len(classes)), dtype=np.float32)
    present = np.flatnonzero(~missing)
    matrix[present, np.searchsorted(classes, array[present])] = 1.0
    return matrix


def sign_vectors(relaxed: np.ndarray) -> np.ndarray:
    """(n, b) relaxed codes → (n, b) float64 ±1 vectors (bit = output ≥ 0) whose cosine
    ranking *is* Hamming ranking, ties included: cos = 1 − 2·hamming / b, and
    :func:`scicmr.evaluation.metrics.cosine_scores` scales the exact dot products by one
    factor common to all rows (every row has norm √b), so equal distances give equal scores,
    a larger distance never scores higher, and ties go by index, the Hamming indexes' rule."""
    return np.where(np.asarray(relaxed) >= 0, 1.0, -1.0)


def standardiser(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(d,) float32 mean and std of (n, d) features; constant columns get std 1."""
    mean = features.mean(axis=0, dtype=np.float64)
    std = features.std(axis=0, dtype=np.float64)
    std[std < 1e-8] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def hash_mlp(in_dim: int, hidden_dims, bits: int, dropout: float) -> nn.Sequential:
    """Linear → ReLU → Dropout per hidden width, then Linear to ``bits`` and tanh (the hash
    layer's relaxation). (n, in_dim) → (n, bits) in (−1, 1)."""
    layers: list[nn.Module] = []
    width = int(in_dim)
    for hidden in hidden_dims:
        layers += [nn.Linear(width, int(hidden)), nn.ReLU(), nn.Dropout(float(dropout))]
        width = int(hidden)
    layers += [nn.Linear(width, int(bits)), nn.Tanh()]
    return nn.Sequential(*layers)


class PixelCNN(nn.Module):
    """A small CNN for raw images: two stride-2 3×3 conv blocks (BatchNorm-free, so outputs do
    not depend on the batch), (n, C·H·W) flattened pixels → (n, channels, ⌈H/4⌉, ⌈W/4⌉) grid.

    ``forward`` returns the grid; :meth:`pooled` its global average, (n, channels).
    """

    def __init__(self, image_shape, channels: int = 32):
        super().__init__()
        shape = tuple(int(s) for s in image_shape)
        if len(shape) != 3 or min(shape) < 1:
            raise InputError(f"image_shape must be (channels, height, width), got {image_shape!r}")
        self.image_shape = shape
        self.channels = int(channels)
        self.layers = nn.Sequential(
            nn.Conv2d(shape[0], self.channels // 2, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(self.channels // 2, self.channels, 3, stride=2, padding=1), nn.ReLU(),
        )

    def forward(self, flat: "torch.Tensor") -> "torch.Tensor":
        return self.layers(flat.reshape(len(flat), *self.image_shape))

    def pooled(self, flat: "torch.Tensor") -> "torch.Tensor":
        return self.forward(flat).mean(dim=(2, 3))


class HashingMethod(HashingMixin, CrossModalMethod):
    """Base of the deep cross-modal hashing methods (see the module docstring).

    Subclasses store their parameters (at least ``n_bits``, ``epochs``, ``batch_size``, ``lr``,
    ``seed``, ``device``; optionally ``image_shape``), and implement
    ``_build_net(image_dim, text_dim) -> nn.Module`` whose ``encode_image(x)`` /
    ``encode_text(y)`` map standardised inputs to (n, n_bits) tanh codes, and
    ``_train(net, Xt, Yt, Lt, validate) -> TrainResult``. ``_method_problems() -> list[str]``
    adds parameter checks. Learned state: ``net_``, the normaliser ``image_mean_`` …
    ``text_std_``, ``history_``, ``best_epoch_``.
    """

    image_shape: Any = None
    _weights_file = "weights.pt"
    _normaliser_file = "normaliser.npz"

    # -- the contract, with missing labels allowed
    def fit(self, image_features, text_features, labels=None, *, validation=None, **side):
        """As :meth:`CrossModalMethod.fit`; labels may mark unlabelled rows (module docstring)."""
        if validation is not None and len(validation) > 2:
            validation = (validation[0], validation[1], semi_supervised_labels(validation[2]), *validation[3:])
        return super().fit(image_features, text_features, semi_supervised_labels(labels),
                           validation=validation, **side)

    # -- hooks
    def _build_net(self, image_dim: int, text_dim: int) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def _train(self, net, Xt, Yt, Lt, validate):  # pragma: no cover - abstract
        raise NotImplementedError

    def _method_problems(self) -> list[str]:
        return []

    # -- helpers
    def _torch_device(self) -> "torch.device":
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as exc:
            raise InputError(f"unknown torch device {self.device!r}", fix='use "cpu" or "cuda"') from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise InputError(f"device {self.device!r} requested but CUDA is not available", fix='use device="cpu"')
        return device

    def _check_params(self, image_dim: int) -> None:
        check_bits(self.n_bits)
        problems = []
        if int(self.epochs) < 1:
            problems.append(f"epochs must be >= 1 (got {self.epochs})")
        if int(self.batch_size) < 2:
            problems.append(f"batch_size must be >= 2 (got {self.batch_size})")
        if not float(self.lr) > 0:
            problems.append(f"lr must be > 0 (got {self.lr})")
        if self.image_shape is not None and int(np.prod(self.image_shape)) != image_dim:
            problems.append(f"image_shape {tuple(self.image_shape)} has {int(np.prod(self.image_shape))} "
                            f"values but the image rows have {image_dim}")
        problems += self._method_problems()
        if problems:
            cls = type(self)
            raise InputError(f"bad {cls.__name__} parameters: " + "; ".join(problems),
                             fix=f"see help({cls.__module__}.{cls.__name__})")

    def _tensor(self, features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> "torch.Tensor":
        scaled = ((features - mean) / std).astype(np.float32, copy=False)
        return torch.from_numpy(np.ascontiguousarray(scaled)).to(self._torch_device())

    def _encode(self, encode, inputs: "torch.Tensor") -> np.ndarray:
        """Chunked eval-mode forward: (n, d) tensor → (n, n_bits) float32 tanh codes."""
        with torch.no_grad():
            parts = [encode(inputs[i : i + _CHUNK]) for i in range(0, len(inputs), _CHUNK)]
        if not parts:
            return np.zeros((0, int(self.n_bits)), dtype=np.float32)
        return torch.cat(parts).cpu().numpy().astype(np.float32, copy=False)

    def _validator(self, validation):
        """Validation score of the network being trained: mean i2t / t2i full mAP of Hamming
        ranking (labelled validation rows only), or pair MRR without labels."""
        from scicmr.evaluation.metrics import cross_modal_score

        if validation is None:
            return None
        Xv, Yv, Lv = validation[:3]
        if Lv is not None:
            keep = Lv.sum(axis=1) > 0
            Xv, Yv, Lv = Xv[keep], Yv[keep], (Lv[keep] if keep.any() else None)
        if len(Xv) == 0:
            raise InputError("validation has no usable rows", fix="pass validation=None or labelled paired rows")
        Xv = self._tensor(Xv, self.image_mean_, self.image_std_)
        Yv = self._tensor(Yv, self.text_mean_, self.text_std_)

        def score() -> float:
            img = sign_vectors(self._encode(self.net_.encode_image, Xv))
            txt = sign_vectors(self._encode(self.net_.encode_text, Yv))
            return cross_modal_score(img, txt, Lv)

        return score

    def _fit(self, X, Y, L, validation, **side) -> None:
        self._check_params(X.shape[1])
        device = self._torch_device()
        self.image_mean_, self.image_std_ = standardiser(X)
        self.text_mean_, self.text_std_ = standardiser(Y)
        Xt = self._tensor(X, self.image_mean_, self.image_std_)
        Yt = self._tensor(Y, self.text_mean_, self.text_std_)
        Lt = None if L is None else torch.from_numpy(np.ascontiguousarray(L, dtype=np.float32)).to(device)
        validate = self._validator(validation)
        devices = [device.index or 0] if device.type == "cuda" else []
        # fork_rng: seed initialisation, dropout, masking and sampling without disturbing the caller.
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(int(self.seed))
            self.net_ = self._build_net(X.shape[1], Y.shape[1]).to(device)
            self._prepare_net(self.net_, Xt, Yt)
            result = self._train(self.net_, Xt, Yt, Lt, validate)
        self.net_.eval()
        self.history_ = result.history
        self.best_epoch_ = result.best_epoch

    def _run_loop(self, net, n: int, step, validate):
        """train_loop with this method's epochs, batch size, seed and patience."""
        from scicmr.methods.training import train_loop

        return train_loop(net, n, step, epochs=int(self.epochs), batch_size=int(self.batch_size),
                          seed=int(self.seed), validate=validate,
                          patience=None if self.patience is None else int(self.patience),
                          min_batch=2, desc=self.name)

    def _prepare_net(self, net, Xt, Yt) -> None:
        """Hook run once before training (the transformer fits its text-token codebook here)."""

    def _transform_image(self, X: np.ndarray) -> np.ndarray:
        self.net_.eval()
        return self._encode(self.net_.encode_image, self._tensor(X, self.image_mean_, self.image_std_))

    def _transform_text(self, Y: np.ndarray) -> np.ndarray:
        self.net_.eval()
        return self._encode(self.net_.encode_text, self._tensor(Y, self.text_mean_, self.text_std_))

    # -- persistence
    def _save_state(self, directory: Path) -> list[str]:
        weights = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in self.net_.state_dict().items()}, weights)
        atomic_write_bytes(directory / self._weights_file, weights.getvalue())
        arrays = io.BytesIO()
        np.savez(arrays, **{key: getattr(self, key) for key in _NORMALISER_KEYS})
        atomic_write_bytes(directory / self._normaliser_file, arrays.getvalue())
        return [self._weights_file, self._normaliser_file]

    def _extra_config(self) -> dict[str, Any]:
        return {"history": self.history_, "best_epoch": self.best_epoch_, "n_bits": int(self.n_bits)}

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        with np.load(directory / self._normaliser_file, allow_pickle=False) as arrays:
            for key in _NORMALISER_KEYS:
                setattr(self, key, arrays[key])
        net = self._build_net(int(config["image_dim"]), int(config["text_dim"]))
        state = torch.load(directory / self._weights_file, map_location=self._torch_device(), weights_only=True)
        net.load_state_dict(state)
        self.net_ = net.to(self._torch_device()).eval()
        extra = config.get("extra") or {}
        self.history_ = extra.get("history", [])
        self.best_epoch_ = extra.get("best_epoch")
