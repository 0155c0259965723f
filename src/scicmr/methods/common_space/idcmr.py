"""IDCMR (seed paper 004): Bhatt & Ganatra, "Improvement of deep cross-modal retrieval by
generating real-valued representation", PeerJ Computer Science 7:e491 (2021).

A CNN image tower and a word-vector (GloVe) text tower whose last layers share weights map
both media into a real-valued common space, trained by (eq. (24))

    J = J1 + λ·J2 + η·J3
    J1 = (1/n)‖CᵀU − Z‖ + (1/n)‖CᵀV − Z‖                 eq. (18), label-space discrimination
    J2 = −(1/n) Σ_ij [S_ij θ_ij − log(1 + e^θij)]          eq. (19)–(22), across media
       − (1/n) Σ_ij [S_ij φ_ij − log(1 + e^φij)]           within images
       − (1/n) Σ_ij [S_ij ϕ_ij − log(1 + e^ϕij)]           within texts
    J3 = (1/n)‖U − V‖                                      eq. (23), modality invariance

with θ_ij = u_iᵀv_j, φ_ij = u_iᵀu_j, ϕ_ij = v_iᵀv_j (plain inner products) and S_ij = 1 when
items i and j share a category. Algorithm 1 alternates, per minibatch of 128: (step 7) the
linear classifier C in closed form from the current U, V, then (step 8) a gradient step on
both networks.

The losses, network and training are shared with DSCMR in :mod:`scicmr.methods.common_space.base`
(read its docstring for the readings common to both: squared norms per item in J1/J3, J2 as a
mean over pairs, log(1 + θ) read as the logistic log(1 + e^θ), the repeated φ read as the
image and text terms, S_ii = 1). IDCMR's own choices:

- J2 uses raw inner products (``similarity = "inner"``, scale 1), as eq. (19)–(22) define θ,
  φ, ϕ; DSCMR uses half cosines instead.
- ``classifier="closed_form"`` (default) follows Algorithm 1 step 7: on every minibatch C is
  the least-squares classifier of the (detached) current embeddings, and the networks then
  descend J with that C fixed. The printed formula (UUᵀ)⁻¹UᵀS + (VVᵀ)⁻¹VᵀS sums two
  single-modality solutions; we use the minimiser of J1 itself, (UᵀU + VᵀV + rI)⁻¹(U + V)ᵀZ,
  with a small relative ridge r (``ridge``) so it exists when the batch is smaller than the
  space. ``classifier="learned"`` trains C as a layer instead (DSCMR's way).
- Shared last layers: the modality-specific ``hidden_dims`` feed ``shared_dims`` hidden layers
  and the final Linear, all shared ("the two sub-networks share the weights of the last
  layers"). The paper discusses sigmoid and recommends ReLU against vanishing gradients;
  ``activation`` offers both, ReLU by default.
- Optimiser: Adam instead of Algorithm 1's plain SGD (η = 0.1 there is also the name of the
  J3 weight; the learning rate is a separate parameter here), with validation early stopping.
- The CNN and the GloVe text model run upstream (scicmr encoders: EfficientNet / SIFT image
  features; :mod:`scicmr.encoders.wordvec` trains CBOW, skip-gram and GloVe vectors on the
  library's own train texts), so the towers are MLPs over those feature vectors.

Retrieval: cosine of the L2-normalised common-space vectors.

Defaults. The paper fixes the batch size (128) and lists η = 0.1 among its initial values but
gives no λ; λ = 0.1, η = 0.01 and lr = 1e-3 were picked on the validation split carved from
the Wikipedia benchmark's training set (SIFT / LDA features; mean i2t/t2i mAP, grid λ ∈ {0.01,
0.1, 1}, η ∈ {0.01, 0.1}: 0.2745 for λ = 0.1, η = 0.01 against 0.2260 for η = 0.1). There a
learned classifier validated slightly higher (0.2832); the closed form stays the default because
it is the paper's algorithm.
"""

from __future__ import annotations

from typing import Sequence

from scicmr.methods.common_space.base import CommonSpaceMethod

CLASSIFIERS = ("closed_form", "learned")


class IDCMR(CommonSpaceMethod):
    """IDCMR (see the module docstring).

    Args:
        embed_dim: size of the common space.
        hidden_dims: widths of the modality-specific layers of each tower (at least one).
        shared_dims: widths of the shared hidden layers before the last shared Linear.
        activation: "relu", "sigmoid" or "tanh" after every hidden layer.
        dropout: dropout after every hidden layer.
        lam: λ, weight of J2 (pairwise likelihood across and within media).
        eta: η, weight of J3 (modality invariance).
        classifier: "closed_form" (Algorithm 1 step 7, per minibatch) or "learned".
        ridge: relative ridge of the closed-form classifier.
        epochs, batch_size, lr, weight_decay: Adam training; batch_size ≥ 2.
        patience: early-stopping patience in epochs (used only with validation data).
        seed: seeds initialisation, dropout and the minibatch order.
        device: torch device string.
    """

    name = "idcmr"
    similarity = "inner"
    similarity_scale = 1.0

    def __init__(
        self,
        embed_dim: int = 256,
        hidden_dims: Sequence[int] = (1024,),
        shared_dims: Sequence[int] = (512,),
        activation: str = "relu",
        dropout: float = 0.0,
        lam: float = 0.1,
        eta: float = 0.01,
        classifier: str = "closed_form",
        ridge: float = 1e-3,
        epochs: int = 200,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        patience: int = 20,
        seed: int = 0,
        device: str = "cpu",
    ):
        self._init_params(locals())

    def _weights(self) -> tuple[float, float]:
        return float(self.lam), float(self.eta)

    def _classifier_mode(self) -> str:
        return self.classifier

    def _ridge(self) -> float:
        return float(self.ridge)

    def _extra_problems(self) -> list[str]:
        problems = []
        if self.classifier not in CLASSIFIERS:
            problems.append(f"classifier must be one of {CLASSIFIERS} (got {self.classifier!r})")
        if not float(self.ridge) > 0:
            problems.append(f"ridge must be > 0 (got {self.ridge})")
        return problems
