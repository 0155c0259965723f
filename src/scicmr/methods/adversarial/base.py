"""Shared machinery of the adversarial family (SMCR, ACMR, SSACR; usable by MFCMR).

The three methods share one shape (ACMR, Wang et al. 2017; SMCR seed 002 §4): per-medium
feature projectors into a common space, a label classifier on that space, and a *media
discriminator* that tries to tell image embeddings from text embeddings while the projectors
try to fool it. This module holds the pieces:

- :func:`grad_reverse` — the gradient reversal layer (Ganin & Lempitsky 2015): identity forward,
  −scale·gradient backward, so one backward pass trains the discriminator to *minimise* L_adv
  and the projectors to *maximise* it (ACMR's implementation). :func:`dann_schedule` is its
  usual ramp of the scale from 0 to 1.
- :func:`alternating_step` — the explicit min–max of SMCR's Algorithm 1 (and MFCMR's): the
  projectors descend L_emb − γ·L_adv with the discriminator frozen; every k-th minibatch the
  discriminator descends L_adv (= ascends L_emb − L_adv) with a learning rate scaled by λ.
- :func:`projector`, :class:`MediaDiscriminator` — the networks (the discriminator is the
  papers' three-layer fully connected network).
- :class:`AdversarialMethod` — the fit / transform / save / load plumbing common to the three:
  standardised inputs, labels required, seeded and RNG-isolated training through
  :func:`scicmr.methods.training.train_loop` (validation early stopping, best weights
  restored), L2-normalised outputs of the image / text projectors (cosine retrieval), weights
  saved as a torch state_dict beside an npz normaliser, bit-identical reload.
"""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator, Sequence

import numpy as np

from scicmr.errors import InputError, MissingDependencyError
from scicmr.methods.base import CrossModalMethod

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - torch is an extra
    raise MissingDependencyError("torch", "torch") from exc

from scicmr.methods.training import dict_step  # noqa: E402
from scicmr.methods.torch_state import (  # noqa: E402
    StandardisedTowers,
    mlp,
    standardiser,  # noqa: F401  (re-exported: it was defined here)
    train_seeded,
    training_problems,
    unit_rows,
    validation_arrays,
)


# -- gradient reversal


class _GradientReversal(torch.autograd.Function):
    """Identity forward; backward multiplies the incoming gradient by −scale."""

    @staticmethod
    def forward(ctx, inputs, scale):
        ctx.scale = float(scale)
        return inputs.view_as(inputs)

    @staticmethod
    def backward(ctx, grad_output):
        return -ctx.scale * grad_output, None


def grad_reverse(inputs: "torch.Tensor", scale: float = 1.0) -> "torch.Tensor":
    """Gradient reversal layer: returns ``inputs`` unchanged; gradients flowing back through it
    are multiplied by ``-scale``. inputs: any shape."""
    return _GradientReversal.apply(inputs, scale)


def dann_schedule(progress: float, gamma: float = 10.0) -> float:
    """Ganin & Lempitsky's reversal-scale ramp 2/(1 + exp(−γ·p)) − 1 for training progress
    p ∈ [0, 1]: 0 at the start (the discriminator is still noise), → 1 at the end."""
    return 2.0 / (1.0 + math.exp(-gamma * float(progress))) - 1.0


# -- networks


# The feature projectors: Linear → ReLU → Dropout per hidden width, a Linear to out_dim, then
# optionally tanh (ACMR's bounded output); the towers of CARDL and MFCMR have the same shape.
projector = mlp


class MediaDiscriminator(nn.Module):
    """Three fully connected layers (SMCR §4.2, ACMR §3.3): (n, k) embeddings → (n,) logits of
    "this embedding came from the text projector"."""

    def __init__(self, in_dim: int, hidden_dims: Sequence[int] = (64, 32)):
        super().__init__()
        if len(hidden_dims) != 2:
            raise InputError(
                f"the media discriminator has three layers, so two hidden widths; got {tuple(hidden_dims)}",
                fix="pass disc_hidden=(h1, h2)",
            )
        h1, h2 = (int(h) for h in hidden_dims)
        self.layers = nn.Sequential(nn.Linear(int(in_dim), h1), nn.ReLU(), nn.Linear(h1, h2), nn.ReLU(), nn.Linear(h2, 1))

    def forward(self, embeddings: "torch.Tensor") -> "torch.Tensor":
        return self.layers(embeddings).squeeze(-1)


# -- the min–max step


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[None]:
    """Within the block ``module``'s parameters take no gradient (gradients still flow through
    it to its inputs); their previous ``requires_grad`` flags are restored afterwards."""
    params = list(module.parameters())
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


def alternating_step(
    generator_loss: Callable[["torch.Tensor"], dict],
    discriminator_loss: Callable[["torch.Tensor"], "torch.Tensor"],
    generator_opt: "torch.optim.Optimizer",
    discriminator_opt: "torch.optim.Optimizer",
    *,
    discriminator: nn.Module,
    k: int = 1,
    clip_grad_norm: float | None = None,
) -> Callable[["torch.Tensor"], dict]:
    """A :func:`~scicmr.methods.training.train_loop` step running Algorithm 1's min–max.

    Each call (one minibatch ``index``, (b,) int64) does one generator update: zero grads,
    ``generator_loss(index)`` with ``discriminator`` frozen, backward of its first value (the
    quantity to minimise, e.g. L_emb − γ·L_adv), optional clipping, ``generator_opt.step()``.
    After every k-th call it does one discriminator update on ``discriminator_loss(index)``
    (L_adv on detached embeddings). Returns the generator's losses as floats (same keys every
    call, as train_loop's per-epoch means need).
    """
    if int(k) < 1:
        raise InputError(f"k (generator steps per discriminator step) must be >= 1, got {k}")
    calls = [0]

    def step(index: "torch.Tensor") -> dict:
        generator_opt.zero_grad(set_to_none=True)
        with frozen(discriminator):
            losses = generator_loss(index)
            objective = next(iter(losses.values()))
            objective.backward()
        if clip_grad_norm is not None:
            params = [p for group in generator_opt.param_groups for p in group["params"]]
            torch.nn.utils.clip_grad_norm_(params, clip_grad_norm)
        generator_opt.step()
        calls[0] += 1
        if calls[0] % int(k) == 0:
            discriminator_opt.zero_grad(set_to_none=True)
            discriminator_loss(index).backward()
            discriminator_opt.step()
        return {key: float(value.detach()) for key, value in losses.items()}

    return step


# The train_loop step for gradient-reversal training: one optimiser over every network, one
# backward of the first value of ``loss_fn(index)`` (e.g. L_emb + L_adv computed through
# grad_reverse), one step; returns the losses as floats. It is training.dict_step.
joint_step = dict_step


# -- shared fit / transform / persistence


def _widths_ok(widths: Any) -> bool:
    """True for a sequence of positive integer layer widths (() included)."""
    try:
        return all(int(w) == w and int(w) >= 1 for w in widths)
    except (TypeError, ValueError):
        return False


def _steps_per_epoch(n: int, batch_size: int) -> int:
    """Minibatches train_loop runs per epoch: ceil(n / b), less a last batch of one row, which
    it drops (min_batch=2) unless it is the only one."""
    steps = -(-n // batch_size)
    if steps > 1 and n % batch_size == 1:
        steps -= 1
    return steps


class AdversarialMethod(StandardisedTowers, CrossModalMethod):
    """Base of SMCR, ACMR and SSACR (see the module docstring).

    Subclasses store their parameters in ``__init__`` (the common ones: embed_dim, hidden_dims,
    dropout, disc_hidden, epochs, batch_size, lr, weight_decay, patience, seed, device; with
    ``alternating`` also k and disc_lr_scale), list their loss weights in
    ``nonnegative_params`` and implement ``_build_net(image_dim, text_dim, n_classes) ->
    nn.ModuleDict`` (usually :meth:`_core_net` plus extras) and ``_losses(net, x, y, labels)``
    (the objective first). ``alternating`` methods train by Algorithm 1's min–max
    (:meth:`_minmax_step`); the others override ``_make_step(net, Xt, Yt, Lt,
    steps_per_epoch) -> step``. Learned state: ``net_``, ``n_classes_``, the normaliser
    ``image_mean_`` … ``text_std_`` ((d,) float32), ``history_``, ``best_epoch_``.
    """

    _weights_file = "weights.pt"
    _normaliser_file = "normaliser.npz"
    alternating: ClassVar[bool] = True  # Algorithm 1 (k, disc_lr_scale); False: gradient reversal
    nonnegative_params: ClassVar[tuple[str, ...]] = ()  # the loss weights

    # -- hooks
    def _check_method_params(self) -> list[str]:
        """Problems with parameters only this method has (none by default)."""
        return []

    def _build_net(self, image_dim: int, text_dim: int, n_classes: int) -> nn.ModuleDict:  # pragma: no cover
        raise NotImplementedError

    def _losses(self, net: nn.ModuleDict, x, y, labels) -> dict:  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_step(self, net, Xt, Yt, Lt, steps_per_epoch: int):
        """Algorithm 1's alternating step over :meth:`_losses` (see :meth:`_minmax_step`)."""
        return self._minmax_step(net, Xt, Yt, Lt, lambda x, y, labels: self._losses(net, x, y, labels))

    def _core_net(self, image_dim: int, text_dim: int, n_classes: int, out_activation: str | None = None) -> dict:
        """The parts every method of the family has, in this order (it fixes the seeded
        initialisation): ``image`` and ``text`` projectors to ``embed_dim``, the shared linear
        label ``classifier`` and the three-layer media ``discriminator``."""
        size, hidden, drop = int(self.embed_dim), tuple(self.hidden_dims), float(self.dropout)
        return {
            "image": projector(image_dim, hidden, size, drop, out_activation=out_activation),
            "text": projector(text_dim, hidden, size, drop, out_activation=out_activation),
            "classifier": nn.Linear(size, int(n_classes)),
            "discriminator": MediaDiscriminator(size, tuple(self.disc_hidden)),
        }

    # -- helpers
    def _check_params(self) -> None:
        problems = training_problems(self)
        if not _widths_ok(self.hidden_dims):
            problems.append(f"hidden_dims must be a sequence of positive widths (got {self.hidden_dims!r})")
        if not _widths_ok(self.disc_hidden) or len(tuple(self.disc_hidden)) != 2:
            problems.append(f"disc_hidden must be two positive widths (got {self.disc_hidden!r})")
        problems += [
            f"{key} must be >= 0 (got {getattr(self, key)})"
            for key in self.nonnegative_params
            if not float(getattr(self, key)) >= 0
        ]
        if self.alternating:
            if int(self.k) < 1:
                problems.append(f"k must be >= 1 generator steps per discriminator step (got {self.k})")
            if not float(self.disc_lr_scale) > 0:
                problems.append(f"disc_lr_scale must be > 0 (got {self.disc_lr_scale})")
        problems += self._check_method_params()
        self._raise_problems(problems)

    def _embed(self, tower: nn.Module, inputs: "torch.Tensor") -> np.ndarray:
        """(n, d) standardised tensor → (n, k) float32 unit rows (the tower in eval mode)."""
        tower.eval()
        return unit_rows(tower, inputs, int(self.embed_dim))

    def _media_view(self, embeddings: "torch.Tensor") -> "torch.Tensor":
        """What the media discriminator sees of (b, k) projector outputs (they themselves by
        default; a subclass may normalise them)."""
        return embeddings

    def _minmax_step(self, net: nn.ModuleDict, Xt, Yt, Lt, losses: Callable):
        """Algorithm 1's step for ``net`` (with ``image``, ``text``, ``discriminator``).

        ``losses(x, y, labels)`` returns the mapping networks' terms on a minibatch, the
        objective first. The mapping networks and classifier use Adam with weight decay; the
        discriminator its own Adam at lr·disc_lr_scale, updated once per ``k`` minibatches on
        L_adv of the detached embeddings.
        """
        from scicmr.methods.adversarial.losses import media_adversarial_loss

        discriminator = net["discriminator"]
        mapping = [p for name, p in net.named_parameters() if not name.startswith("discriminator.")]
        generator_opt = torch.optim.Adam(mapping, lr=float(self.lr), weight_decay=float(self.weight_decay))
        discriminator_opt = torch.optim.Adam(discriminator.parameters(), lr=float(self.lr) * float(self.disc_lr_scale))

        def discriminator_loss(index):
            with torch.no_grad():  # the embeddings are the discriminator's fixed input here
                s_v = self._media_view(net["image"](Xt[index]))
                s_t = self._media_view(net["text"](Yt[index]))
            return media_adversarial_loss(discriminator(s_v), discriminator(s_t))

        return alternating_step(
            lambda index: losses(Xt[index], Yt[index], Lt[index]),
            discriminator_loss, generator_opt, discriminator_opt,
            discriminator=discriminator, k=int(self.k),
        )

    def _require_labels(self, L: np.ndarray | None) -> np.ndarray:
        name = type(self).__name__
        if L is None or not L.any():
            raise InputError(
                f"{name} is supervised: it needs class labels (its label-prediction loss and media "
                "adversary are defined through them), but the training pairs have none",
                fix="ingest a library whose records carry labels, or train an unsupervised method (cca, cardl)",
            )
        return L

    # -- the contract
    def _fit(self, X, Y, L, validation, **side) -> None:
        from scicmr.evaluation.metrics import cross_modal_score

        self._check_params()
        L = self._require_labels(L)
        device = self._torch_device()
        self.n_classes_ = int(L.shape[1])
        self._fit_normaliser(X, Y)
        Xt, Yt = self._standardise_image(X), self._standardise_text(Y)
        Lt = torch.from_numpy(np.ascontiguousarray(L, dtype=np.float32)).to(device)
        validate = self._validator(validation, cross_modal_score)
        steps_per_epoch = _steps_per_epoch(len(X), int(self.batch_size))
        train_seeded(
            self, len(X), lambda: self._build_net(X.shape[1], Y.shape[1], self.n_classes_).to(device),
            lambda net: self._make_step(net, Xt, Yt, Lt, steps_per_epoch), lambda net: validate,
        )

    def _validator(self, validation, score_fn):
        if validation is None:
            return None
        Xv, Yv, Lv = validation_arrays(validation)
        Xv, Yv = self._standardise_image(Xv), self._standardise_text(Yv)
        # self.net_ is read at call time: it is the network being trained.
        return lambda: score_fn(self._embed(self.net_["image"], Xv), self._embed(self.net_["text"], Yv), Lv)

    def _transform_image(self, X: np.ndarray) -> np.ndarray:
        return self._embed(self.net_["image"], self._standardise_image(X))

    def _transform_text(self, Y: np.ndarray) -> np.ndarray:
        return self._embed(self.net_["text"], self._standardise_text(Y))

    # -- persistence
    def _save_state(self, directory: Path) -> list[str]:
        return self._save_towers(directory, self._weights_file, self._normaliser_file)

    def _extra_config(self) -> dict[str, Any]:
        return {"history": self.history_, "best_epoch": self.best_epoch_, "n_classes": self.n_classes_}

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        self._load_normaliser(directory, self._normaliser_file)
        extra = config.get("extra") or {}
        self.n_classes_ = int(extra["n_classes"])
        net = self._build_net(int(config["image_dim"]), int(config["text_dim"]), self.n_classes_)
        self.net_ = self._load_net(directory, self._weights_file, net)
        self.history_ = extra.get("history", [])
        self.best_epoch_ = extra.get("best_epoch")
