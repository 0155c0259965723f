"""A small reusable torch training loop for the deep methods (CARDL, MFCMR, SMCR, ACMR, DSCMR).

The loop owns what every method repeats: seeded minibatch order, per-epoch loss history,
validation-based early stopping with restore of the best weights, and a progress bar. The
method owns the maths through two callables:

- ``step(batch_index) -> float | dict[str, float]`` does one optimisation step on the rows
  ``batch_index`` ((b,) int64 tensor) and returns the loss(es). :func:`loss_step` builds one
  from a loss closure and an optimiser; adversarial methods write their own step (several
  optimisers, k generator steps per discriminator step) and return a dict of losses.
- ``validate() -> float`` scores the current model, higher is better (run under
  ``torch.no_grad()`` with the module in eval mode). The usual one is
  :func:`scicmr.evaluation.metrics.cross_modal_score` of the validation pairs' vectors (the
  metrics the evaluation reports, in float64).

Typical use::

    opt = adam(module, lr=1e-3, weight_decay=1e-4)
    result = train_loop(module, n, loss_step(lambda idx: loss_of(idx), opt),
                        epochs=100, batch_size=128, seed=0, validate=score, patience=10)
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from scicmr._progress import progress
from scicmr.errors import InputError

StepFn = Callable[[torch.Tensor], "float | dict[str, float]"]


@dataclass
class TrainResult:
    """What :func:`train_loop` learned about the run.

    Attributes:
        history: one dict per epoch run: ``epoch`` (1-based), ``train_loss`` (mean of the step
            losses; the first key when a step returns a dict), the other step keys averaged,
            ``val_score`` (None without validation) and ``seconds``.
        best_epoch: the epoch whose weights the module holds at the end (the last epoch when
            there is no validation).
        best_score: the validation score of ``best_epoch`` (None without validation).
        stopped_early: True when patience ran out before ``epochs``.
    """

    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_score: float | None = None
    stopped_early: bool = False


def adam(
    module: torch.nn.Module, lr: float, weight_decay: float = 0.0, no_decay: tuple[str, ...] = ()
) -> torch.optim.Adam:
    """Adam over ``module``'s trainable parameters; names containing any of ``no_decay``
    (e.g. a learnable temperature) get no weight decay."""
    decay, plain = [], []
    for name, param in module.named_parameters():
        if param.requires_grad:
            (plain if any(key in name for key in no_decay) else decay).append(param)
    groups = [{"params": decay, "weight_decay": weight_decay}]
    if plain:
        groups.append({"params": plain, "weight_decay": 0.0})
    return torch.optim.Adam(groups, lr=lr)


def loss_step(
    loss_fn: Callable[[torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    clip_grad_norm: float | None = None,
) -> StepFn:
    """A step function: zero grads, ``loss_fn(batch_index).backward()``, optional clipping, step."""

    def step(batch_index: torch.Tensor) -> float:
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(batch_index)
        loss.backward()
        if clip_grad_norm is not None:
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
        optimizer.step()
        return float(loss.detach())

    return step


def dict_step(
    loss_fn: Callable[[torch.Tensor], dict],
    optimizer: torch.optim.Optimizer,
    clip_grad_norm: float | None = None,
) -> StepFn:
    """A step function logging several named losses: zero grads, ``loss_fn(batch_index)``
    (a dict of 0-d tensors whose first value is the one minimised), its backward, optional
    clipping, one optimiser step. Returns every value as a float (same keys every call, as
    train_loop's per-epoch means need)."""

    def step(batch_index: torch.Tensor) -> dict[str, float]:
        optimizer.zero_grad(set_to_none=True)
        losses = loss_fn(batch_index)
        next(iter(losses.values())).backward()
        if clip_grad_norm is not None:
            params = [p for group in optimizer.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
        optimizer.step()
        return {key: float(value.detach()) for key, value in losses.items()}

    return step


def minibatches(n: int, batch_size: int, generator: torch.Generator, min_batch: int = 1) -> list[torch.Tensor]:
    """One epoch of shuffled row indices, cut into (≤ batch_size,) int64 tensors.

    A last batch smaller than ``min_batch`` is dropped (in-batch contrastive losses need at
    least 2 rows); the order depends only on ``generator``'s state.
    """
    order = torch.randperm(n, generator=generator)
    batches = list(torch.split(order, batch_size))
    if len(batches) > 1 and len(batches[-1]) < min_batch:
        batches.pop()
    return batches


def _snapshot(module: torch.nn.Module) -> dict:
    # clone: state_dict() shares storage with the live parameters, which keep training.
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


def _mean_logs(logs: list) -> dict[str, float]:
    if not logs:
        return {"train_loss": float("nan")}
    if isinstance(logs[0], dict):
        keys = list(logs[0])
        means = {key: float(np.mean([log[key] for log in logs])) for key in keys}
        return {"train_loss": means[keys[0]], **means}
    return {"train_loss": float(np.mean(logs))}


def _check_loop_args(n: int, epochs: int, batch_size: int, patience: int | None) -> None:
    if n < 1:
        raise InputError(f"need at least one training row, got {n}")
    if int(epochs) < 1:
        raise InputError(f"epochs must be >= 1, got {epochs}")
    if int(batch_size) < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    if patience is not None and int(patience) < 1:
        raise InputError(f"patience must be >= 1 (or None to never stop early), got {patience}")


def train_loop(
    module: torch.nn.Module,
    n: int,
    step: StepFn,
    *,
    epochs: int,
    batch_size: int,
    seed: int = 0,
    validate: Callable[[], float] | None = None,
    patience: int | None = 10,
    min_delta: float = 0.0,
    min_batch: int = 1,
    desc: str = "train",
) -> TrainResult:
    """Run ``epochs`` passes of ``step`` over shuffled minibatches of ``range(n)``.

    Args:
        module: everything trained (a ModuleDict may hold several towers); its state is what
            gets snapshotted and restored.
        n: number of training rows.
        step: see the module docstring.
        epochs, batch_size: the usual.
        seed: seeds the shuffling generator (the caller seeds torch's global RNG for
            initialisation and dropout).
        validate: None trains all epochs and keeps the last weights; otherwise called after
            each epoch, and the best-scoring weights are restored at the end.
        patience: stop after this many epochs without an improvement > ``min_delta``
            (None: never stop early).
        min_batch: drop a last batch smaller than this.
        desc: progress-bar label.
    """
    _check_loop_args(n, epochs, batch_size, patience)
    generator = torch.Generator().manual_seed(int(seed))
    result = TrainResult()
    best_state, since_best = None, 0
    for epoch in progress(range(1, int(epochs) + 1), total=int(epochs), desc=desc, unit="epoch"):
        start = time.perf_counter()
        module.train()
        logs = [step(index) for index in minibatches(n, int(batch_size), generator, min_batch)]
        record = {"epoch": epoch, **_mean_logs(logs), "val_score": None}
        if validate is not None:
            module.eval()
            with torch.no_grad():
                record["val_score"] = float(validate())
            if result.best_score is None or record["val_score"] > result.best_score + min_delta:
                result.best_score, result.best_epoch = record["val_score"], epoch
                best_state, since_best = _snapshot(module), 0
            else:
                since_best += 1
        else:
            result.best_epoch = epoch
        record["seconds"] = time.perf_counter() - start
        result.history.append(record)
        if patience is not None and validate is not None and since_best >= int(patience):
            result.stopped_early = epoch < int(epochs)
            break
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    return result

