"""MFCMR (seed paper 001): multi-feature fusion with a modality-adversarial game.

Jiang, Du, Xue, Li, "Cross-media retrieval of scientific and technological information based
on multi-feature fusion", Neurocomputing 2022, section 3, equations (1)–(16), Algorithm 1.

What the paper specifies and how it is read here:

- Fusion, section 3.1: S_v = f_V(v, t, a), S_w = f_W(w, t, a). Each mapping network is an MLP
  (Linear → ReLU → Dropout per hidden layer, then Linear to ``embed_dim``) on the
  concatenation ``[standardised feature | time one-hot | author multi-hot]``; the one-hots come
  from :mod:`scicmr.methods.adversarial.side_features` fitted on the training items (year bins of
  ``year_bin`` years; the ``max_authors`` most frequent authors seen in ≥ ``min_author_count``
  items). Image and text of one item share t and a. Unknown years (0) and unseen or absent
  authors encode to zeros, so a typed query without metadata still maps.
- Variants, section 4.2 / Tables 4–5: ``"full"`` (time and author), ``"N"`` (neither: image or
  text feature only), ``"T"`` (time only), ``"A"`` (author only). A switched-off part has width
  0, so the network is exactly the smaller one.
- Data without dates or authors (Wikipedia, web_news_zh: years all 0, authors all []): the year
  encoder fits 0 bins and the author vocabulary is empty, the side block has width 0 and the
  full model *is* the N variant (same weights, same outputs for the same seed); nothing
  divides by a zero count.
- L_emb = L_imd + α·L_mod + β·L_reg (the paper's "α·L_mod + α·L_mod" is a typo for the β term):
  :mod:`scicmr.methods.adversarial.mfcmr_losses` (label prediction by a classifier θ_imd on the common
  space shared by both modalities; label-cosine vs mapped-feature-cosine matrices compared by
  the mean squared difference; class-centre distances d1–d4 on unit-normalised common vectors,
  over the classes present in the minibatch).
- The paper calls the softmax output "the semantic distribution mapped to the public space";
  here the common space is the mapper output and the softmax belongs to the classifier θ_imd
  (eq. (1) names θ_imd separately), so retrieval uses the ``embed_dim`` vectors, by cosine
  (eqs. (2)–(4)); outputs are L2-normalised, so an inner-product index is exact cosine search.
- L_adv, eq. (13): a modality discriminator D (MLP, ``disc_hidden_dims``, sigmoid output =
  probability of text) on the unit-normalised common vectors. Normalising its input is a
  reading: the similarity terms ignore vector length, so with raw vectors the mappers could
  win the game by scaling vectors up, driving −L_adv to −∞ without aligning anything.
- Min–max, eqs. (14)–(16) and Algorithm 1: the mappers and θ_imd minimise L_emb − γ·L_adv
  (γ = ``adv_weight``; the paper has γ = 1) with Adam at ``lr``; after every ``k`` generator
  steps (a global count over minibatches, paper k = 4) the discriminator takes one step
  minimising L_adv on the current batch at learning rate ``lr · disc_lr_scale`` (the paper's
  μ·λ).
- Without labels (or ``use_labels=False``) each pair is its own class: L_mod's label matrix is
  the identity, L_reg's classes are the pairs (d1 = 0, d2–d4 pull a pair together) and there
  is no classifier (L_imd = 0).
- ``side_dropout`` (not in the paper, default 0): during training each modality's side block
  is zeroed for this fraction of items, so the model also learns to place queries that carry
  no metadata.

Defaults: α = β = 1, γ = 1 and k = 4 (the paper's values where it gives them) were the best
of a small grid on the demo corpus's validation split; on Wikipedia's validation split every
setting tried scored within ±0.003 mean mAP. Observed on the demo corpus: the text mapper
learns to lean on the text feature and nearly ignores the side block, the image mapper uses it
heavily, so typed text queries lose nothing without metadata while image queries without it
fall back towards the N variant.

Training: seeded; early stopping on validation (mean i2t / t2i full mAP with labels, else mean
pair MRR; :func:`scicmr.methods.training.train_loop`) with the best epoch's weights restored.
Learned state: ``net_`` (mappers, classifier, discriminator), ``side_encoder_``
(:class:`~scicmr.methods.adversarial.side_features.SideEncoder`), ``image_mean_``, ``image_std_``,
``text_mean_``, ``text_std_`` ((d,) float32), ``n_classes_``, ``history_``, ``best_epoch_``,
``generator_steps_``, ``discriminator_steps_``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scicmr.errors import InputError, MissingDependencyError
from scicmr.methods.base import CrossModalMethod
from scicmr.methods.adversarial.side_features import SideEncoder, as_author_lists, as_years

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - torch is an extra
    raise MissingDependencyError("torch", "torch") from exc

from scicmr.methods.torch_state import StandardisedTowers, mlp, train_seeded, unit_rows  # noqa: E402

VARIANTS = {"full": (True, True), "N": (False, False), "T": (True, False), "A": (False, True)}
_WEIGHTS_FILE = "mfcmr_weights.pt"
_NORMALISER_FILE = "mfcmr_normaliser.npz"
_SIDE_FILE = "mfcmr_side_encoder.json"


class MFCMRNet(nn.Module):
    """f_V, f_W, the classifier θ_imd (absent when ``n_classes`` is 0) and the discriminator D."""

    def __init__(self, image_dim, text_dim, side_dim, embed_dim, hidden_dims, dropout, n_classes, disc_hidden_dims):
        super().__init__()
        self.image_mapper = mlp(image_dim + side_dim, hidden_dims, embed_dim, dropout)
        self.text_mapper = mlp(text_dim + side_dim, hidden_dims, embed_dim, dropout)
        self.classifier = nn.Linear(embed_dim, n_classes) if n_classes > 0 else None
        self.discriminator = mlp(embed_dim, disc_hidden_dims, 1, dropout=0.0)

    def map_image(self, features: torch.Tensor, side: torch.Tensor) -> torch.Tensor:
        """f_V(v, t, a): (b, d_v) and (b, d_side) → (b, p)."""
        return self.image_mapper(torch.cat([features, side], dim=1))

    def map_text(self, features: torch.Tensor, side: torch.Tensor) -> torch.Tensor:
        """f_W(w, t, a): (b, d_w) and (b, d_side) → (b, p)."""
        return self.text_mapper(torch.cat([features, side], dim=1))

    def discriminate(self, mapped: torch.Tensor) -> torch.Tensor:
        """(b, p) common vectors → (b,) logits of "this is text" (on unit vectors, see module doc)."""
        return self.discriminator(nn.functional.normalize(mapped, dim=1)).reshape(-1)

    def generator_parameters(self) -> list[nn.Parameter]:
        modules = [self.image_mapper, self.text_mapper] + ([self.classifier] if self.classifier is not None else [])
        return [p for module in modules for p in module.parameters()]


class MFCMR(StandardisedTowers, CrossModalMethod):
    """MFCMR: feature + time + author fusion, L_emb and a modality discriminator (module doc).

    Args:
        variant: "full" (time and author features), "N" (neither), "T" (time only) or "A"
            (author only), the paper's MFCMR / MFCMR_N / MFCMR_T / MFCMR_A.
        embed_dim: size p of the common space.
        hidden_dims: hidden widths of each mapping network (() for a linear map).
        disc_hidden_dims: hidden widths of the modality discriminator.
        dropout: dropout after each hidden layer of the mappers.
        alpha, beta: weights of L_mod and L_reg in L_emb (paper: anything in [0.1, 1] works).
        adv_weight: γ, weight of −L_adv in the mappers' objective (paper: 1).
        k: generator steps per discriminator step (paper: 4).
        disc_lr_scale: λ, the discriminator's learning rate is ``lr · disc_lr_scale``.
        year_bin: width of a year bin in years.
        max_authors: size of the author vocabulary (most frequent training authors).
        min_author_count: an author must appear in at least this many training items.
        side_dropout: fraction of training items whose side block is zeroed, per modality.
        use_labels: use labels when given (else each pair is its own class).
        epochs, batch_size, lr, weight_decay: Adam training; batch_size ≥ 2.
        patience: early-stopping patience in epochs (with validation data; None never stops).
        seed: seeds initialisation, dropout and the minibatch order.
        device: torch device string ("cpu", "cuda").
    """

    name = "mfcmr"
    side_features = ("years", "authors")

    def __init__(
        self,
        variant: str = "full",
        embed_dim: int = 64,
        hidden_dims: Sequence[int] = (512,),
        disc_hidden_dims: Sequence[int] = (64,),
        dropout: float = 0.1,
        alpha: float = 1.0,
        beta: float = 1.0,
        adv_weight: float = 1.0,
        k: int = 4,
        disc_lr_scale: float = 1.0,
        year_bin: int = 1,
        max_authors: int = 2000,
        min_author_count: int = 1,
        side_dropout: float = 0.0,
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

    # -- checks and building blocks
    def _check_params(self) -> None:
        problems = []
        if self.variant not in VARIANTS:
            problems.append(f"variant must be one of {sorted(VARIANTS)} (got {self.variant!r})")
        positive_ints = ("embed_dim", "k", "year_bin", "min_author_count", "epochs")
        problems += [f"{name} must be an integer >= 1 (got {getattr(self, name)!r})"
                     for name in positive_ints if not _is_int(getattr(self, name), 1)]
        if not _is_int(self.max_authors, 0):
            problems.append(f"max_authors must be an integer >= 0 (got {self.max_authors!r})")
        if not _is_int(self.batch_size, 2):
            problems.append(f"batch_size must be an integer >= 2 (got {self.batch_size!r})")
        for name in ("hidden_dims", "disc_hidden_dims"):
            widths = getattr(self, name)
            if isinstance(widths, (str, bytes)) or not all(_is_int(h, 1) for h in widths):
                problems.append(f"{name} must be a list of positive widths (got {widths!r})")
        for name in ("alpha", "beta", "adv_weight", "weight_decay"):
            if not _is_real(getattr(self, name)) or float(getattr(self, name)) < 0:
                problems.append(f"{name} must be a number >= 0 (got {getattr(self, name)!r})")
        for name in ("lr", "disc_lr_scale"):
            if not _is_real(getattr(self, name)) or not float(getattr(self, name)) > 0:
                problems.append(f"{name} must be a number > 0 (got {getattr(self, name)!r})")
        for name in ("dropout", "side_dropout"):
            if not _is_real(getattr(self, name)) or not 0.0 <= float(getattr(self, name)) < 1.0:
                problems.append(f"{name} must be in [0, 1) (got {getattr(self, name)!r})")
        if self.patience is not None and not _is_int(self.patience, 1):
            problems.append(f"patience must be an integer >= 1 or None (got {self.patience!r})")
        self._raise_problems(problems)

    def _build_net(self, image_dim: int, text_dim: int, side_dim: int, n_classes: int) -> MFCMRNet:
        net = MFCMRNet(
            image_dim, text_dim, side_dim, int(self.embed_dim), tuple(int(h) for h in self.hidden_dims),
            float(self.dropout), n_classes, tuple(int(h) for h in self.disc_hidden_dims),
        )
        return net.to(self._torch_device())

    def _tensor(self, array: np.ndarray) -> "torch.Tensor":
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)).to(self._torch_device())

    def _inputs(self, features: np.ndarray, mean: np.ndarray, std: np.ndarray, side: dict) -> tuple:
        """Standardised (n, d) features and the (n, d_side) side block as tensors."""
        block = self.side_encoder_.transform(side["years"], side["authors"])
        return self._standardise(features, mean, std), self._tensor(block)

    def _embed(self, mapper, features: "torch.Tensor", side: "torch.Tensor") -> np.ndarray:
        """Unit (n, p) float32 rows of ``mapper`` (eval mode, chunked)."""
        return unit_rows(mapper, (features, side), int(self.embed_dim))

    # -- the contract
    def _side(self, side: dict[str, Any], n: int) -> dict[str, Any]:
        # base._side casts years with int64 (2019.5 -> 2019) and turns each item into
        # list(item), which splits a bare string into letters; reject both mistakes here.
        if side.get("years") is not None:
            as_years(side["years"])
        if side.get("authors") is not None:
            as_author_lists(side["authors"])
        return super()._side(side, n)

    def _fit(self, X, Y, L, validation, **side) -> None:
        from scicmr.evaluation.metrics import cross_modal_score

        self._check_params()
        use_years, use_authors = VARIANTS[self.variant]
        self.side_encoder_ = SideEncoder(use_years, use_authors, int(self.year_bin), int(self.max_authors),
                                         int(self.min_author_count)).fit(side["years"], side["authors"])
        self._fit_normaliser(X, Y)
        labels = L if (L is not None and self.use_labels) else None
        self.n_classes_ = 0 if labels is None else int(labels.shape[1])
        Xt, side_t = self._inputs(X, self.image_mean_, self.image_std_, side)
        Yt = self._standardise_text(Y)  # image and text share one side block
        data = (Xt, side_t, Yt, None if labels is None else self._tensor(labels))
        counts = {"generator": 0, "discriminator": 0}
        train_seeded(
            self, len(X), lambda: self._build_net(X.shape[1], Y.shape[1], self.side_encoder_.dim, self.n_classes_),
            lambda net: self._step(net, data, counts), lambda net: self._validator(net, validation, cross_modal_score),
        )
        self.generator_steps_ = counts["generator"]
        self.discriminator_steps_ = counts["discriminator"]

    def _drop_side(self, side: "torch.Tensor") -> "torch.Tensor":
        """Zero the side block of a random ``side_dropout`` fraction of rows (training only).
        Draws no random numbers when off, so runs with and without side data stay aligned."""
        rate = float(self.side_dropout)
        if rate == 0.0 or side.shape[1] == 0:
            return side
        keep = (torch.rand(side.shape[0], 1, device=side.device) >= rate).to(side.dtype)
        return side * keep

    def _step(self, net: MFCMRNet, data: tuple, counts: dict):
        """Algorithm 1 (:func:`~scicmr.methods.adversarial.base.alternating_step`): one mapper /
        classifier step per minibatch (Adam with weight decay); after every k-th, one
        discriminator step on the same batch (its own Adam at ``lr · disc_lr_scale``)."""
        from scicmr.methods.adversarial.base import alternating_step
        from scicmr.methods.adversarial.mfcmr_losses import adversarial_loss, embedding_loss
        from scicmr.methods.training import adam

        Xt, side_t, Yt, Lt = data
        alpha, beta, gamma = float(self.alpha), float(self.beta), float(self.adv_weight)
        gen_opt = torch.optim.Adam(net.generator_parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
        disc_opt = adam(net.discriminator, float(self.lr) * float(self.disc_lr_scale), float(self.weight_decay))

        def mapped(index):
            side = side_t[index]
            return net.map_image(Xt[index], self._drop_side(side)), net.map_text(Yt[index], self._drop_side(side))

        def generator_loss(index: "torch.Tensor") -> dict:
            counts["generator"] += 1
            s_v, s_w = mapped(index)
            labels = torch.eye(len(index), device=s_v.device) if Lt is None else Lt[index]
            logits = (None, None) if net.classifier is None else (net.classifier(s_v), net.classifier(s_w))
            parts = embedding_loss(s_v, s_w, labels, *logits, alpha, beta)
            adv = adversarial_loss(net.discriminate(s_w), net.discriminate(s_v))
            # eq. (15): the mappers minimise L_emb − γ·L_adv
            return {"loss": parts["emb"] - gamma * adv, **parts, "adv": adv}

        def discriminator_loss(index: "torch.Tensor") -> "torch.Tensor":
            counts["discriminator"] += 1
            with torch.no_grad():  # the common vectors are D's fixed input here
                s_v, s_w = mapped(index)
            return adversarial_loss(net.discriminate(s_w), net.discriminate(s_v))

        return alternating_step(generator_loss, discriminator_loss, gen_opt, disc_opt,
                                discriminator=net.discriminator, k=int(self.k))

    def _validator(self, net: MFCMRNet, validation, score_fn):
        if validation is None:
            return None
        Xv, Yv, Lv, side_v = validation
        if len(Xv) == 0:
            raise InputError("validation data has no rows", fix="pass validation=None or at least one pair")
        Lv = Lv if self.use_labels else None
        Xv, side_block = self._inputs(Xv, self.image_mean_, self.image_std_, side_v)
        Yv = self._standardise_text(Yv)
        return lambda: score_fn(
            self._embed(net.map_image, Xv, side_block), self._embed(net.map_text, Yv, side_block), Lv
        )

    def _transform_image(self, X: np.ndarray, **side) -> np.ndarray:
        features, block = self._inputs(X, self.image_mean_, self.image_std_, side)
        return self._embed(self.net_.map_image, features, block)

    def _transform_text(self, Y: np.ndarray, **side) -> np.ndarray:
        features, block = self._inputs(Y, self.text_mean_, self.text_std_, side)
        return self._embed(self.net_.map_text, features, block)

    # -- persistence
    def _save_state(self, directory: Path) -> list[str]:
        files = self._save_towers(directory, _WEIGHTS_FILE, _NORMALISER_FILE)
        self.side_encoder_.save(directory / _SIDE_FILE)
        return [*files, _SIDE_FILE]

    def _extra_config(self) -> dict[str, Any]:
        return {"history": self.history_, "best_epoch": self.best_epoch_, "n_classes": self.n_classes_,
                "side_dim": self.side_encoder_.dim, "generator_steps": self.generator_steps_,
                "discriminator_steps": self.discriminator_steps_}

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        self._load_normaliser(directory, _NORMALISER_FILE)
        self.side_encoder_ = SideEncoder.load(directory / _SIDE_FILE)
        extra = config.get("extra") or {}
        self.n_classes_ = int(extra.get("n_classes", 0))
        net = self._build_net(
            int(config["image_dim"]), int(config["text_dim"]), self.side_encoder_.dim, self.n_classes_
        )
        self.net_ = self._load_net(directory, _WEIGHTS_FILE, net)
        self.history_ = extra.get("history", [])
        self.best_epoch_ = extra.get("best_epoch")
        self.generator_steps_ = extra.get("generator_steps")
        self.discriminator_steps_ = extra.get("discriminator_steps")


def _is_int(value: Any, minimum: int) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return int(value) == value and int(value) >= minimum
    except (TypeError, ValueError):
        return False


def _is_real(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False
