"""Torch plumbing shared by every deep method (CARDL, MFCMR, the adversarial and common-space
families, Corr-AE, CMDN): one place for what they all repeat.

- :func:`mlp` — the towers' shape: Linear → ReLU → Dropout per hidden width, a last Linear.
- :func:`torch_device` — the ``device`` parameter as a ``torch.device``, with a clear error.
- :func:`standardiser` / :func:`standardise` — per-column training mean and std, and the
  standardised float32 tensor of new features.
- :func:`run_in_chunks` / :func:`unit_rows` — forward passes over at most :data:`CHUNK` rows at
  a time without gradients (bounds memory, not results); ``unit_rows`` L2-normalises each row
  (cosine retrieval).
- :func:`seeded` — seed torch's global RNG for initialisation and dropout inside
  ``torch.random.fork_rng``, so the caller's RNG stream is left as it was.
- :func:`train_seeded` — build a method's network and run the seeded, validated training
  loop every deep method here runs, setting ``net_``, ``history_`` and ``best_epoch_``.
- :func:`validation_arrays` — the (X_val, Y_val, labels_val) of a ``validation`` tuple, or an
  InputError when it holds no rows.
- :func:`save_module` / :func:`load_module`, :func:`save_arrays` / :func:`load_arrays` —
  state_dicts and named arrays written atomically and read back without pickles.
- :class:`StandardisedTowers` — a mixin for methods whose learned normaliser is the four
  attributes :data:`NORMALISER_KEYS` ((d,) float32 each) saved as one .npz beside a torch
  state_dict.

Import this module only where torch is installed (the methods import it after their own
torch check).
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from scicmr._io import atomic_write_bytes
from scicmr.errors import InputError

CHUNK = 4096  # rows per forward pass at transform time (bounds memory, not results)
NORMALISER_KEYS = ("image_mean_", "image_std_", "text_mean_", "text_std_")


def torch_device(name: str) -> torch.device:
    """``torch.device(name)``; InputError when it is unknown or asks for CUDA that is absent."""
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise InputError(f"unknown torch device {name!r}", fix='use "cpu" or "cuda"') from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InputError(f"device {name!r} requested but CUDA is not available", fix='use device="cpu"')
    return device


def mlp(
    in_dim: int, hidden_dims: Sequence[int], out_dim: int, dropout: float, out_activation: str | None = None
) -> nn.Sequential:
    """Linear → ReLU → Dropout for each hidden width, then a Linear to ``out_dim`` and
    optionally tanh (ACMR's bounded projector output). Maps (n, in_dim) → (n, out_dim)."""
    layers: list[nn.Module] = []
    width = int(in_dim)
    for hidden in hidden_dims:
        layers += [nn.Linear(width, int(hidden)), nn.ReLU(), nn.Dropout(float(dropout))]
        width = int(hidden)
    layers.append(nn.Linear(width, int(out_dim)))
    if out_activation == "tanh":
        layers.append(nn.Tanh())
    elif out_activation is not None:
        raise InputError(f"unknown projector activation {out_activation!r}", fix='use None or "tanh"')
    return nn.Sequential(*layers)


def standardiser(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(d,) float32 mean and std of (n, d) features (computed in float64).

    Constant columns carry no signal; they get std 1 so they stay at 0 instead of NaN.
    """
    mean = features.mean(axis=0, dtype=np.float64)
    std = features.std(axis=0, dtype=np.float64)
    std[std < 1e-8] = 1.0
    return mean.astype(np.float32), std.astype(np.float32)


def standardise(features: np.ndarray, mean: np.ndarray, std: np.ndarray, device: torch.device | str) -> torch.Tensor:
    """(n, d) features → (n, d) float32 tensor ``(features − mean) / std`` on ``device``."""
    scaled = ((features - mean) / std).astype(np.float32, copy=False)
    return torch.from_numpy(np.ascontiguousarray(scaled)).to(device)


def run_in_chunks(fn: Callable, inputs: torch.Tensor | tuple, out_dim: int) -> torch.Tensor:
    """``fn`` over (n, ·) ``inputs`` in chunks of :data:`CHUNK` rows, no grad → (n, out_dim).

    ``inputs`` is one tensor or a tuple of tensors with the same rows (``fn`` then receives the
    matching chunk of each, in order).
    """
    tensors = inputs if isinstance(inputs, tuple) else (inputs,)
    n = len(tensors[0])
    with torch.no_grad():
        parts = [fn(*(t[i : i + CHUNK] for t in tensors)) for i in range(0, n, CHUNK)]
    return torch.cat(parts) if parts else tensors[0].new_zeros((0, int(out_dim)))


def unit_rows(fn: Callable, inputs: torch.Tensor | tuple, out_dim: int) -> np.ndarray:
    """(n, out_dim) float32 numpy rows of ``fn(inputs)``, each L2-normalised (see
    :func:`run_in_chunks` for ``inputs``). The caller puts the network in eval mode."""
    out = run_in_chunks(lambda *chunk: nn.functional.normalize(fn(*chunk), dim=1), inputs, out_dim)
    return out.cpu().numpy().astype(np.float32, copy=False)


@contextlib.contextmanager
def seeded(device: torch.device, seed: int) -> Iterator[None]:
    """Within the block torch's global RNG (and the CUDA one of ``device``) is seeded with
    ``seed``; afterwards it continues where the caller left it (``fork_rng``)."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(int(seed))
        yield


def training_problems(method: Any) -> list[str]:
    """Problems with the parameters the tower methods share: ``embed_dim``, ``dropout``,
    ``batch_size`` (>= 2: their losses compare the items of a minibatch), ``epochs``, ``lr``
    and ``weight_decay``."""
    problems = []
    if int(method.embed_dim) < 1:
        problems.append(f"embed_dim must be >= 1 (got {method.embed_dim})")
    if not 0.0 <= float(method.dropout) < 1.0:
        problems.append(f"dropout must be in [0, 1) (got {method.dropout})")
    if int(method.batch_size) < 2:
        problems.append(f"batch_size must be >= 2 for the in-batch losses (got {method.batch_size})")
    if int(method.epochs) < 1:
        problems.append(f"epochs must be >= 1 (got {method.epochs})")
    if not float(method.lr) > 0:
        problems.append(f"lr must be > 0 (got {method.lr})")
    if float(method.weight_decay) < 0:
        problems.append(f"weight_decay must be >= 0 (got {method.weight_decay})")
    return problems


def validation_arrays(validation: tuple | None) -> tuple | None:
    """(X_val, Y_val, labels_val) of a ``validation`` tuple (None stays None).

    :meth:`~scicmr.methods.base.CrossModalMethod.fit` has checked each array's columns and that
    the rows pair up; an empty split would leave nothing to select a model by.
    """
    if validation is None:
        return None
    Xv, Yv, Lv = validation[:3]
    if len(Xv) != len(Yv) or len(Xv) == 0:
        raise InputError(
            f"validation has {len(Xv)} image rows and {len(Yv)} text rows",
            fix="pass validation=(X_val, Y_val, labels_val) with the same, non-zero number of paired rows",
        )
    return Xv, Yv, Lv


def save_module(path: Path, module: nn.Module) -> None:
    """Write ``module``'s state_dict (moved to CPU) atomically to ``path``."""
    buffer = io.BytesIO()
    torch.save({key: value.detach().cpu() for key, value in module.state_dict().items()}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_module(path: Path, module: nn.Module, device: torch.device) -> nn.Module:
    """Load a state_dict written by :func:`save_module` into ``module`` (on ``device``), eval mode."""
    module.load_state_dict(torch.load(path, map_location=device, weights_only=True))
    return module.to(device).eval()


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write named arrays as one .npz atomically (no pickles)."""
    buffer = io.BytesIO()
    np.savez(buffer, **{key: np.asarray(value) for key, value in arrays.items()})
    atomic_write_bytes(path, buffer.getvalue())


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The named arrays of an .npz written by :func:`save_arrays`."""
    with np.load(path, allow_pickle=False) as arrays:
        return {key: arrays[key] for key in arrays.files}


class StandardisedTowers:
    """Mixin for a method with a ``device`` parameter, the learned normaliser
    :data:`NORMALISER_KEYS` and a torch network ``net_``.

    Persistence: the state_dict in ``weights_file`` and the normaliser in ``normaliser_file``
    (the .npz keys are the attribute names, e.g. ``image_mean_``).
    """

    def _torch_device(self) -> torch.device:
        return torch_device(self.device)

    def _fit_normaliser(self, X: np.ndarray, Y: np.ndarray) -> None:
        self.image_mean_, self.image_std_ = standardiser(X)
        self.text_mean_, self.text_std_ = standardiser(Y)

    def _standardise(self, features: np.ndarray, mean: np.ndarray, std: np.ndarray) -> torch.Tensor:
        return standardise(features, mean, std, self._torch_device())

    def _standardise_image(self, X: np.ndarray) -> torch.Tensor:
        return self._standardise(X, self.image_mean_, self.image_std_)

    def _standardise_text(self, Y: np.ndarray) -> torch.Tensor:
        return self._standardise(Y, self.text_mean_, self.text_std_)

    def _save_towers(self, directory: Path, weights_file: str, normaliser_file: str) -> list[str]:
        save_module(directory / weights_file, self.net_)
        save_arrays(directory / normaliser_file, {key: getattr(self, key) for key in NORMALISER_KEYS})
        return [weights_file, normaliser_file]

    def _load_normaliser(self, directory: Path, normaliser_file: str) -> None:
        arrays = load_arrays(directory / normaliser_file)
        for key in NORMALISER_KEYS:
            setattr(self, key, arrays[key])

    def _load_net(self, directory: Path, weights_file: str, net: nn.Module) -> nn.Module:
        return load_module(directory / weights_file, net, self._torch_device())


def train_seeded(
    method: Any,
    n: int,
    build_net: Callable[[], nn.Module],
    make_step: Callable[[nn.Module], Callable],
    make_validate: Callable[[nn.Module], Callable | None] | None = None,
    *,
    min_batch: int = 2,
) -> Any:
    """Build ``method``'s network and train it the way every deep method here does.

    Inside :func:`seeded` (``method.seed``): ``build_net()``, then
    :func:`~scicmr.methods.training.train_loop` over ``n`` rows with ``make_step(net)``, the
    validator ``make_validate(net)`` (None: no validation) and the method's ``epochs``,
    ``batch_size``, ``seed`` and ``patience``. ``method.net_`` is the network being trained
    from the moment it is built (validators may read it) and, at the end, the best epoch's
    network in eval mode; ``method.history_`` and ``method.best_epoch_`` are set from the
    run. ``min_batch``: the in-batch losses need two rows. Returns the TrainResult.
    """
    from scicmr.methods.training import train_loop

    with seeded(torch_device(method.device), method.seed):
        net = build_net()
        method.net_ = net
        result = train_loop(
            net, n, make_step(net),
            epochs=int(method.epochs), batch_size=int(method.batch_size), seed=int(method.seed),
            validate=None if make_validate is None else make_validate(net),
            patience=None if method.patience is None else int(method.patience),
            min_batch=min_batch, desc=method.name,
        )
    method.net_ = net.eval()
    method.history_ = result.history
    method.best_epoch_ = result.best_epoch
    return result
