"""The three-loss common-space machinery shared by DSCMR and IDCMR.

Both methods (Zhen et al., "Deep Supervised Cross-Modal Retrieval", CVPR 2019; Bhatt &
Ganatra, "Improvement of deep cross-modal retrieval by generating real-valued representation",
PeerJ CS 2021 = seed 004) train two towers whose LAST layers are shared, with a linear label
classifier on top of the common space, by minimising

    J = J1 + w2 · J2 + w3 · J3

(DSCMR names the weights α, β; IDCMR λ, η). In the row convention used here U (b, k) and
V (b, k) are the image and text embeddings of a minibatch of b pairs, Z (b, C) the multi-hot
labels and P (k, C) the classifier:

- J1, label-space discrimination: (1/b)(‖UP − Z‖²_F + ‖VP − Z‖²_F)  (:func:`label_space_loss`).
- J2, common-space discrimination: the negative log-likelihood of the label similarity
  S_ij = [z_i · z_j > 0] under p(S_ij = 1) = σ(θ_ij), across (θ = sim(u_i, v_j)) and within
  modalities (sim(u_i, u_j), sim(v_i, v_j)), each term the mean over the b² pairs of
  log(1 + e^θ) − S θ  (:func:`common_space_loss`).
- J3, modality invariance: (1/b)‖U − V‖²_F  (:func:`invariance_loss`).

Readings shared by both methods (the papers differ in places; every choice is one of them):

- Squared Frobenius norms divided by b in J1 and J3 (the brief's DSCMR form; IDCMR eq. (18)
  and (23) print an unsquared ‖·‖_F/n, but IDCMR's closed-form classifier update (Algorithm 1,
  step 7) is the least-squares minimiser, i.e. of the squared norm). Per-item means keep the
  weights w2, w3 independent of the batch size.
- J2 is a mean over the b² pairs for both methods (DSCMR's 1/n²; IDCMR's printed 1/n over an
  n×n sum would grow with the batch size). IDCMR eq. (19)–(22) print log(1 + θ); that is a typo
  for the logistic likelihood log(1 + e^θ) it derives from eq. (21) (as in DCMH), and it is
  computed as softplus(θ) for numerical stability. IDCMR eq. (19) repeats φ twice: read as the
  image–image (φ) and text–text (ϕ) terms it defines just below.
- S_ii = 1 always (an item is similar to itself and to its own pair), so items without labels
  still get their own pair as the one positive. Without any labels J1 is dropped and S = I.
- The towers receive fixed feature vectors from scicmr's encoders (VGG / CNN features and
  word-vector or TextCNN text features are computed upstream): each tower is an MLP of
  modality-specific layers (``hidden_dims``), followed by the shared layers (``shared_dims``
  hidden widths, then a Linear to ``embed_dim``) whose weights both modalities use. Inputs are
  standardised with the training mean and standard deviation.
- Retrieval uses the cosine (DSCMR's evaluation); outputs are L2-normalised.

The method-specific choices (the similarity inside J2 and how the classifier is obtained) are
class attributes of :class:`CommonSpaceMethod`, set by :class:`~scicmr.methods.common_space.dscmr.DSCMR`
and :class:`~scicmr.methods.common_space.idcmr.IDCMR`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Sequence

import numpy as np

from scicmr.errors import MissingDependencyError
from scicmr.methods.base import CrossModalMethod

try:
    import torch
    import torch.nn.functional as F
    from torch import nn
except ImportError as exc:  # pragma: no cover - torch is an extra
    raise MissingDependencyError("torch", "torch") from exc

from scicmr.methods.torch_state import (  # noqa: E402
    StandardisedTowers,
    standardiser,  # noqa: F401  (re-exported: it was defined here)
    train_seeded,
    training_problems,
    unit_rows,
    validation_arrays,
)

ACTIVATIONS = ("relu", "sigmoid", "tanh")
SIMILARITIES = ("inner", "cosine")


# ----------------------------------------------------------------------------- losses
def label_similarity(labels: torch.Tensor | None, n: int) -> torch.Tensor:
    """S_ij = 1 when items i and j share a label or i = j, else 0.

    Args:
        labels: (b, C) multi-hot, or None (then S = I: each pair is its own class).
        n: b, used when ``labels`` is None.

    Returns:
        (b, b) float32 0/1 matrix.
    """
    if labels is None:
        return torch.eye(n)
    labels = labels.float()
    share = (labels @ labels.T) > 0
    share = share | torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return share.float()


def label_space_loss(U: torch.Tensor, V: torch.Tensor, P: torch.Tensor, Z: torch.Tensor) -> torch.Tensor:
    """J1 = (1/b)(‖U P − Z‖²_F + ‖V P − Z‖²_F): both modalities through one linear classifier.

    DSCMR eq. (1) (J1 = ‖PᵀU − Y‖ terms) / IDCMR eq. (18), in rows.

    Args:
        U, V: (b, k) image / text embeddings; P: (k, C) classifier; Z: (b, C) labels.
    """
    b = len(U)
    return (((U @ P - Z) ** 2).sum() + ((V @ P - Z) ** 2).sum()) / b


def pair_scores(A: torch.Tensor, B: torch.Tensor, similarity: str, scale: float) -> torch.Tensor:
    """θ_ij = scale · sim(a_i, b_j) for all pairs: (b, k), (b, k) -> (b, b).

    ``similarity`` "inner" is aᵀb (IDCMR's θ_ij = U_iᵀV_j); "cosine" is the cosine (DSCMR's
    Γ, Φ, Θ = ½ cos). The cosine's denominators are clamped at 1e-6 like DSCMR's code.
    """
    scores = A @ B.T
    if similarity == "cosine":
        norms = A.norm(dim=1, keepdim=True) @ B.norm(dim=1, keepdim=True).T
        scores = scores / norms.clamp(min=1e-6)
    elif similarity != "inner":
        raise ValueError(f"similarity must be one of {SIMILARITIES}, got {similarity!r}")
    return scale * scores


def likelihood_loss(theta: torch.Tensor, S: torch.Tensor) -> torch.Tensor:
    """Mean over the (b, b) pairs of log(1 + e^θ) − S θ = −log σ(θ)^S (1 − σ(θ))^(1−S).

    The negative log-likelihood of the 0/1 similarities S under p(S_ij = 1) = σ(θ_ij)
    (DSCMR eq. (2) terms; IDCMR eq. (21)–(22)).
    """
    return (F.softplus(theta) - S * theta).mean()


def common_space_loss(
    U: torch.Tensor, V: torch.Tensor, S: torch.Tensor, similarity: str = "cosine", scale: float = 0.5
) -> torch.Tensor:
    """J2 = ℓ(θ(U, V)) + ℓ(θ(U, U)) + ℓ(θ(V, V)), ℓ = :func:`likelihood_loss`.

    Across media (image i vs text j) and within each medium; S: (b, b) label similarity.
    """
    terms = [pair_scores(A, B, similarity, scale) for A, B in ((U, V), (U, U), (V, V))]
    return sum(likelihood_loss(theta, S) for theta in terms)


def invariance_loss(U: torch.Tensor, V: torch.Tensor) -> torch.Tensor:
    """J3 = (1/b)‖U − V‖²_F: paired embeddings should coincide (DSCMR J3, IDCMR eq. (23))."""
    return ((U - V) ** 2).sum() / len(U)


def closed_form_classifier(U: torch.Tensor, V: torch.Tensor, Z: torch.Tensor, ridge: float) -> torch.Tensor:
    """argmin_P ‖UP − Z‖² + ‖VP − Z‖² + r‖P‖² = (UᵀU + VᵀV + rI)⁻¹ (Uᵀ + Vᵀ) Z.

    IDCMR Algorithm 1, step 7 prints C = (UUᵀ)⁻¹UᵀS + (VVᵀ)⁻¹VᵀS, the sum of the two
    single-modality least-squares solutions; the minimiser of J1 (the sum of both residuals)
    is the joint solution above. The ridge r = ridge · trace(UᵀU + VᵀV)/k (relative, so scale
    free) keeps it defined when b < k. Computed in float64 without gradient.

    Args:
        U, V: (b, k); Z: (b, C). Returns (k, C) float32.
    """
    with torch.no_grad():
        U64, V64, Z64 = U.double(), V.double(), Z.double()
        gram = U64.T @ U64 + V64.T @ V64
        k = gram.shape[0]
        r = float(ridge) * float(torch.trace(gram)) / k + 1e-8
        rhs = (U64 + V64).T @ Z64
        return torch.linalg.solve(gram + r * torch.eye(k, dtype=gram.dtype, device=gram.device), rhs).to(U.dtype)


# ----------------------------------------------------------------------------- networks
def _activation(name: str) -> nn.Module:
    return {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[name]()


def _stack(in_dim: int, widths: Sequence[int], activation: str, dropout: float) -> tuple[list[nn.Module], int]:
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(in_dim, int(width)), _activation(activation), nn.Dropout(float(dropout))]
        in_dim = int(width)
    return layers, in_dim


class CommonSpaceNet(nn.Module):
    """Two modality-specific MLPs feeding the same shared layers, plus an optional classifier.

    image: d_img → hidden_dims (Linear, act, dropout) → shared; text likewise; shared:
    shared_dims (Linear, act, dropout) → Linear(embed_dim). ``classifier`` is a bias-free
    Linear(embed_dim, n_classes) (DSCMR's P) or None (IDCMR's closed form, or no labels).
    """

    def __init__(self, image_dim, text_dim, hidden_dims, shared_dims, embed_dim, activation, dropout, n_classes):
        super().__init__()
        image_layers, width = _stack(image_dim, hidden_dims, activation, dropout)
        text_layers, _ = _stack(text_dim, hidden_dims, activation, dropout)  # same widths as the image tower
        self.image_tower = nn.Sequential(*image_layers)
        self.text_tower = nn.Sequential(*text_layers)
        shared_layers, width = _stack(width, shared_dims, activation, dropout)
        self.shared = nn.Sequential(*shared_layers, nn.Linear(width, int(embed_dim)))
        self.classifier = nn.Linear(int(embed_dim), int(n_classes), bias=False) if n_classes else None

    def embed_image(self, x: torch.Tensor) -> torch.Tensor:
        return self.shared(self.image_tower(x))

    def embed_text(self, y: torch.Tensor) -> torch.Tensor:
        return self.shared(self.text_tower(y))


# ----------------------------------------------------------------------------- the method
class CommonSpaceMethod(StandardisedTowers, CrossModalMethod):
    """Base of DSCMR and IDCMR: towers with shared last layers trained on J1 + w2·J2 + w3·J3.

    Subclasses define ``__init__`` (their parameter names and defaults; the common ones are
    embed_dim, hidden_dims, shared_dims, activation, dropout, epochs, batch_size, lr,
    weight_decay, patience, seed, device), ``_weights() -> (w2, w3)`` and set the class
    attributes below. Learned state: ``net_``, the normaliser arrays, ``n_classes_`` (0 when
    the classifier is not a learned layer), ``history_`` (per-epoch loss, j1, j2, j3,
    val_score) and ``best_epoch_``.
    """

    similarity: ClassVar[str] = "cosine"  # inside J2: "cosine" or "inner"
    similarity_scale: ClassVar[float] = 0.5  # θ = scale · sim

    # -- hooks
    def _weights(self) -> tuple[float, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _classifier_mode(self) -> str:
        """How P is obtained: "learned" (a trained bias-free Linear) or "closed_form" (least
        squares on each minibatch, :func:`closed_form_classifier`)."""
        return "learned"

    def _ridge(self) -> float:
        """Relative ridge of the closed-form classifier (used when no P is given)."""
        return 1e-3

    def _extra_problems(self) -> list[str]:
        return []

    # -- parameters
    def _check_params(self) -> None:
        problems = list(self._extra_problems()) + training_problems(self)
        if len(tuple(self.hidden_dims)) < 1 or any(int(h) < 1 for h in self.hidden_dims):
            problems.append(f"hidden_dims needs at least one positive width per tower (got {self.hidden_dims})")
        if any(int(h) < 1 for h in self.shared_dims):
            problems.append(f"shared_dims must be positive widths (got {self.shared_dims})")
        if self.activation not in ACTIVATIONS:
            problems.append(f"activation must be one of {ACTIVATIONS} (got {self.activation!r})")
        if any(not float(w) >= 0 for w in self._weights()):
            problems.append(f"the loss weights must be >= 0 (got {self._weights()})")
        self._raise_problems(problems)

    def _build_net(self, image_dim: int, text_dim: int, n_classes: int) -> CommonSpaceNet:
        net = CommonSpaceNet(image_dim, text_dim, tuple(self.hidden_dims), tuple(self.shared_dims),
                             int(self.embed_dim), self.activation, float(self.dropout), int(n_classes))
        return net.to(self._torch_device())

    # -- the objective
    def objective(
        self, U: torch.Tensor, V: torch.Tensor, Z: torch.Tensor | None, P: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """J1, J2, J3 and J = J1 + w2·J2 + w3·J3 on one minibatch.

        Args:
            U, V: (b, k) image / text embeddings (row i a pair).
            Z: (b, C) labels or None (then J1 = 0 and S = I).
            P: (k, C) classifier; None computes the closed-form one from (U, V, Z).
        """
        w2, w3 = self._weights()
        S = label_similarity(Z, len(U)).to(U.device, U.dtype)
        j2 = common_space_loss(U, V, S, self.similarity, self.similarity_scale)
        j3 = invariance_loss(U, V)
        if Z is None:
            j1 = U.new_zeros(())
        else:
            if P is None:
                P = closed_form_classifier(U, V, Z, self._ridge())
            j1 = label_space_loss(U, V, P, Z)
        return {"loss": j1 + w2 * j2 + w3 * j3, "j1": j1, "j2": j2, "j3": j3}

    def _step(self, net: CommonSpaceNet, optimizer, Xt, Yt, Lt):
        from scicmr.methods.training import dict_step

        def terms(index: torch.Tensor) -> dict[str, torch.Tensor]:
            P = net.classifier.weight.T if net.classifier is not None else None
            return self.objective(net.embed_image(Xt[index]), net.embed_text(Yt[index]),
                                  None if Lt is None else Lt[index], P)

        return dict_step(terms, optimizer)

    # -- the contract
    def _fit(self, X, Y, L, validation, **side) -> None:
        from scicmr.evaluation.metrics import cross_modal_score
        from scicmr.methods.training import adam

        self._check_params()
        self._fit_normaliser(X, Y)
        Xt, Yt = self._standardise_image(X), self._standardise_text(Y)
        Lt = torch.from_numpy(L).to(self._torch_device()) if L is not None else None
        self.n_classes_ = L.shape[1] if (L is not None and self._classifier_mode() == "learned") else 0
        train_seeded(
            self, len(X), lambda: self._build_net(X.shape[1], Y.shape[1], self.n_classes_),
            lambda net: self._step(net, adam(net, float(self.lr), float(self.weight_decay)), Xt, Yt, Lt),
            lambda net: self._validator(net, validation, cross_modal_score),
        )

    def _validator(self, net: CommonSpaceNet, validation, score_fn):
        if validation is None:
            return None
        Xv, Yv, Lv = validation_arrays(validation)
        Xv, Yv = self._standardise_image(Xv), self._standardise_text(Yv)
        return lambda: score_fn(self._embed(net.embed_image, Xv), self._embed(net.embed_text, Yv), Lv)

    def _embed(self, embed, inputs: "torch.Tensor") -> np.ndarray:
        """(n, d) standardised tensor → (n, k) float32 unit rows (network in eval mode)."""
        return unit_rows(embed, inputs, int(self.embed_dim))

    def _transform_image(self, X: np.ndarray) -> np.ndarray:
        return self._embed(self.net_.embed_image, self._standardise_image(X))

    def _transform_text(self, Y: np.ndarray) -> np.ndarray:
        return self._embed(self.net_.embed_text, self._standardise_text(Y))

    # -- persistence
    def _files(self) -> tuple[str, str]:
        return f"{self.name}_weights.pt", f"{self.name}_normaliser.npz"

    def _save_state(self, directory: Path) -> list[str]:
        return self._save_towers(directory, *self._files())

    def _extra_config(self) -> dict[str, Any]:
        return {"history": self.history_, "best_epoch": self.best_epoch_, "n_classes": self.n_classes_}

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        weights_file, normaliser_file = self._files()
        self._load_normaliser(directory, normaliser_file)
        extra = config.get("extra") or {}
        self.n_classes_ = int(extra.get("n_classes", 0))
        net = self._build_net(int(config["image_dim"]), int(config["text_dim"]), self.n_classes_)
        self.net_ = self._load_net(directory, weights_file, net)
        self.history_ = extra.get("history", [])
        self.best_epoch_ = extra.get("best_epoch")
