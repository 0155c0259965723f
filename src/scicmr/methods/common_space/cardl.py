"""CARDL (seed paper 000): two MLP towers into a 64-d space trained with L_I2T + L_T2I.

Wang, Liang, Kou, Xu, "Cross-Media Scientific Research Achievements Retrieval Based on Deep
Language Model", sections 2–3, equations (1)–(3).

What the paper specifies and how it is read here:

- Towers. An image tower (CNN features → MLP) and a text tower (fine-tuned BERT-like sentence
  vector → MLP) map to a unified 64-d space. The CNN and the sentence encoder run upstream in
  scicmr's encoders, so this method receives fixed feature vectors and trains the two MLPs
  (Linear → ReLU → Dropout per hidden layer, then Linear to ``embed_dim``). Inputs are
  standardised with the training mean and standard deviation.
- Similarity, eq. (3): cosine. Outputs are L2-normalised, so an inner-product index is exact
  cosine search.
- Loss, eq. (1)–(2): L_total = L_I2T + L_T2I, each a cross-entropy between a target
  distribution y_ij and p_ij, the softmax over a minibatch of the cosine similarities divided
  by a temperature τ (the paper leaves the logits unscaled; cosines in [-1, 1] give a nearly
  flat softmax, so τ is a parameter, fixed by default, learnable with ``learn_temperature``).
  Without labels (or ``use_labels=False``) y_ij is one-hot on the item's own pair. With labels,
  the paper's "1/m Σ over the m labels" is read as a normalised target: y_ij is uniform over
  the batch items sharing at least one label with item i (the own pair always included), so
  every row sums to 1 (:func:`scicmr.methods.common_space.cardl_losses.cardl_loss`).
- The paper's BERT fine-tuning on title ↔ abstract pairs belongs to the text encoder, not here.

Training: Adam, seeded minibatches, early stopping on validation (mean i2t / t2i full-ranking
mAP with labels, else mean pair MRR) with the best epoch's weights restored; without
validation it trains for ``epochs``. Learned state: ``net_`` (the towers), ``image_mean_``,
``image_std_``, ``text_mean_``, ``text_std_`` ((d,) float32), ``history_``, ``best_epoch_``,
``temperature_``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scicmr.errors import MissingDependencyError
from scicmr.methods.base import CrossModalMethod

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - torch is an extra
    raise MissingDependencyError("torch", "torch") from exc

from scicmr.methods.torch_state import (  # noqa: E402
    StandardisedTowers,
    mlp,
    train_seeded,
    training_problems,
    unit_rows,
    validation_arrays,
)

_WEIGHTS_FILE = "cardl_weights.pt"
_NORMALISER_FILE = "cardl_normaliser.npz"


class CARDLNet(nn.Module):
    """The two towers and the (log) temperature, one module so one state_dict holds all."""

    def __init__(self, image_dim, text_dim, embed_dim, hidden_dims, dropout, temperature, learn_temperature):
        super().__init__()
        self.image_tower = mlp(image_dim, hidden_dims, embed_dim, dropout)
        self.text_tower = mlp(text_dim, hidden_dims, embed_dim, dropout)
        log_t = torch.tensor(math.log(float(temperature)), dtype=torch.float32)
        self.learn_temperature = bool(learn_temperature)
        if self.learn_temperature:
            self.log_temperature = nn.Parameter(log_t)
        else:
            # A buffer: saved with the weights, never touched by the optimiser.
            self.register_buffer("log_temperature", log_t)

    def temperature(self) -> torch.Tensor:
        """τ as a 0-d tensor; a learned τ is kept ≥ 0.01 (CLIP's cap) so logits stay bounded."""
        tau = self.log_temperature.exp()
        return tau.clamp(min=0.01) if self.learn_temperature else tau


class CARDL(StandardisedTowers, CrossModalMethod):
    """CARDL: image and text MLP towers to a shared cosine space (see the module docstring).

    Args:
        embed_dim: size k of the unified space (64 in the paper).
        hidden_dims: widths of the hidden layers of each tower (() for a linear map).
        dropout: dropout after each hidden layer.
        temperature: τ dividing the cosine similarities in the loss (initial value if learned).
        learn_temperature: learn log τ with the towers (no weight decay on it).
        use_labels: spread targets over same-label batch items when labels are given.
        epochs, batch_size, lr, weight_decay: Adam training; batch_size ≥ 2 (in-batch loss).
        patience: early-stopping patience in epochs (used only with validation data; None never
            stops early but still restores the best epoch).
        seed: seeds initialisation, dropout and the minibatch order.
        device: torch device string ("cpu", "cuda", "cuda:1").
    """

    name = "cardl"

    def __init__(
        self,
        embed_dim: int = 64,
        hidden_dims: Sequence[int] = (512,),
        dropout: float = 0.1,
        temperature: float = 0.07,
        learn_temperature: bool = False,
        use_labels: bool = True,
        epochs: int = 100,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        patience: int = 10,
        seed: int = 0,
        device: str = "cpu",
    ):
        self._init_params(locals())

    # -- helpers
    def _check_params(self) -> None:
        problems = training_problems(self)
        if any(int(h) < 1 for h in self.hidden_dims):
            problems.append(f"hidden_dims must be positive widths (got {self.hidden_dims})")
        if not float(self.temperature) > 0:
            problems.append(f"temperature must be > 0 (got {self.temperature})")
        self._raise_problems(problems)

    def _build_net(self, image_dim: int, text_dim: int) -> CARDLNet:
        net = CARDLNet(
            image_dim, text_dim, int(self.embed_dim), tuple(self.hidden_dims),
            self.dropout, self.temperature, self.learn_temperature,
        )
        return net.to(self._torch_device())

    @staticmethod
    def _embed(tower: nn.Module, inputs: "torch.Tensor") -> np.ndarray:
        """(n, d) standardised tensor → (n, k) float32 unit rows (tower in eval mode)."""
        return unit_rows(tower, inputs, int(tower[-1].out_features))

    # -- the contract
    def _fit(self, X, Y, L, validation, **side) -> None:
        from scicmr.methods.common_space.cardl_losses import cardl_loss
        from scicmr.evaluation.metrics import cross_modal_score
        from scicmr.methods.training import adam, loss_step

        self._check_params()
        self._fit_normaliser(X, Y)
        Xt, Yt = self._standardise_image(X), self._standardise_text(Y)
        Lt = torch.from_numpy(L).to(self._torch_device()) if (L is not None and self.use_labels) else None

        def make_step(net: CARDLNet):
            def loss_of(index):
                labels = None if Lt is None else Lt[index]
                return cardl_loss(net.image_tower(Xt[index]), net.text_tower(Yt[index]), net.temperature(), labels)

            optimizer = adam(net, float(self.lr), float(self.weight_decay), no_decay=("log_temperature",))
            return loss_step(loss_of, optimizer)

        train_seeded(self, len(X), lambda: self._build_net(X.shape[1], Y.shape[1]), make_step,
                     lambda net: self._validator(net, validation, cross_modal_score))
        self.temperature_ = float(self.net_.temperature().detach())

    def _validator(self, net: CARDLNet, validation, score_fn):
        if validation is None:
            return None
        Xv, Yv, Lv = validation_arrays(validation)
        Xv, Yv = self._standardise_image(Xv), self._standardise_text(Yv)
        return lambda: score_fn(self._embed(net.image_tower, Xv), self._embed(net.text_tower, Yv), Lv)

    def _transform_image(self, X: np.ndarray) -> np.ndarray:
        return self._embed(self.net_.image_tower, self._standardise_image(X))

    def _transform_text(self, Y: np.ndarray) -> np.ndarray:
        return self._embed(self.net_.text_tower, self._standardise_text(Y))

    # -- persistence
    def _save_state(self, directory: Path) -> list[str]:
        return self._save_towers(directory, _WEIGHTS_FILE, _NORMALISER_FILE)

    def _extra_config(self) -> dict[str, Any]:
        return {"history": self.history_, "best_epoch": self.best_epoch_, "temperature": self.temperature_}

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        self._load_normaliser(directory, _NORMALISER_FILE)
        net = self._load_net(directory, _WEIGHTS_FILE, self._build_net(int(config["image_dim"]), int(config["text_dim"])))
        self.net_ = net
        extra = config.get("extra") or {}
        self.history_ = extra.get("history", [])
        self.best_epoch_ = extra.get("best_epoch")
        self.temperature_ = float(net.temperature().detach())
