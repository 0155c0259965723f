"""SMCR (seed paper 002): semantics-adversarial and media-adversarial cross-media retrieval.

Li, Xue, Du, Xu, Jiang, Kou, Xu, "Scientific and Technological Information Oriented
Semantics-adversarial and Media-adversarial Cross-media Retrieval", §4 and Algorithm 1.

The model (§4.1–4.2) and how each part is read here:

- Base-Net P1, one per medium: S_V = f_V(v), S_T = f_T(t), MLPs (Linear → ReLU → Dropout per
  hidden width, then Linear to ``embed_dim``) over standardised input features. Retrieval
  uses the L2-normalised Base-Net outputs (cosine similarity in the common space S).
- Refine-Net P2, one per medium, "with the same structure" as P1 but reading P1's output:
  S'_V = g_V(S_V), S'_T = g_T(S_T) (hidden widths as P1, ``embed_dim`` → ``embed_dim``). It only
  shapes training through L_con; it is not used at retrieval time.
- Label classifier θ_imd: one linear layer + softmax on S shared by both media (the "softmax
  layer that maintains linear activations", following ACMR [28]).
- L_imd, eq. 1: cross-entropy of the label predictions of image and text
  (:func:`~scicmr.methods.adversarial.losses.label_prediction_loss`; multi-label rows are
  normalised to a distribution).
- L_imi, eq. 2–4: ‖l_v − l_t‖₂ + ‖S_V − S_T‖₂ per pair. l_v, l_t are read as the *predicted*
  label distributions of the pair's image and text (with ground-truth labels eq. 2 would be a
  constant with no gradient, and the ablation "without L_imi" would only drop eq. 3); see
  :func:`~scicmr.methods.adversarial.losses.smcr_consistency_loss`.
- L_con, eq. 5–7: max(0, ‖S'_V − S_T‖₂ − ‖S'_V − S_V‖₂) + the text twin, margin 0 as printed
  (``con_margin`` adds one). Gradients reach both Base-Nets and both Refine-Nets, as the
  parameter lists of eq. 5–6 say.
- Geometry. As printed, eq. 3 and eq. 5–6 apply to the raw Base-/Refine-Net outputs, and so
  does the default. ``unit_sphere=True`` measures them, and feeds the discriminator, on the
  L2-normalised outputs (the geometry retrieval uses); it resists the collapse described below
  (α = 10: 0.258 instead of 0.145) but scored lower at α, β ≤ 1 (Wikipedia validation, 2–3
  seeds: 0.262 vs 0.283 with one hidden layer, 0.260 with two).
- L_emb, eq. 8: α·L_imi + β·L_con + L_imd. ``use_imi=False`` / ``use_con=False`` are the
  ablations of §6.2 (SMCR without L_imi / without L_con); α, β ∈ {0.1, 1, 10, 100} is the §6.3
  sensitivity grid. The paper gives no default; α = 1, β = 0.1 scored best among (α, β) ∈
  {(1, 1), (1, 0.1), (0.1, 0.1)} on the validation splits of all three libraries measured
  (Wikipedia 2 seeds: 0.2828 / 0.2829 / 0.2689 mean i2t+t2i full mAP in the 16-point grid;
  web_news_zh 0.411 / 0.418 / 0.405; the generated demo corpus 0.578 / 0.601 / 0.592). In the
  raw geometry α ≥ 10 collapses the embeddings on Wikipedia (validation mAP ≈ chance, 0.145),
  as does α = 1 with two hidden layers: the pull of eq. 3 is cheapest to satisfy by shrinking
  every embedding.
- Media discriminator, §4.2: a three-layer fully connected network on S (image = 0, text = 1),
  trained on L_adv, eq. 9.
- Min–max, eq. 10–11 and Algorithm 1: the mapping networks and the classifier descend
  L_emb − γ·L_adv with the discriminator frozen (γ = ``adv_weight``; the paper's is 1); the
  discriminator descends L_adv (= ascends L_emb − L_adv) once per ``k`` minibatches with
  learning rate λ·μ (λ = ``disc_lr_scale``). The k-loop runs over consecutive minibatches.
  Terms are minibatch means (the paper's 1/m).

Training: Adam (weight decay on the mapping networks and classifier), seeded minibatches,
early stopping on the validation score (mean i2t / t2i full mAP) with the best epoch's
weights restored; without validation it trains for ``epochs``. Labels are required.
"""

from __future__ import annotations

from typing import Sequence

# adversarial.py raises MissingDependencyError when torch is missing, so it is imported first.
from scicmr.methods.adversarial.base import AdversarialMethod, projector

import torch
from torch import nn


class SMCR(AdversarialMethod):
    """SMCR: Base-/Refine-Nets, L_emb = α·L_imi + β·L_con + L_imd, media adversary.

    Args:
        embed_dim: size of the common space S.
        hidden_dims: hidden widths of each Base-Net and Refine-Net (() for linear maps).
        dropout: dropout after each hidden layer.
        alpha, beta: α and β of eq. 8 (must be >= 0).
        use_imi, use_con: keep L_imi / L_con (False gives the §6.2 ablations).
        con_margin: margin added inside L_con's hinge (0 in the paper).
        unit_sphere: measure L_imi's and L_con's distances, and feed the discriminator, on the
            L2-normalised embeddings instead of the raw ones.
        adv_weight: γ, weight of −L_adv in the mapping networks' objective (>= 0; 0 switches the
            adversary off).
        k: minibatches (generator updates) per discriminator update.
        disc_hidden: the discriminator's two hidden widths (three layers in all).
        disc_lr_scale: λ, the discriminator's learning rate relative to ``lr``.
        epochs, batch_size, lr, weight_decay: Adam training; batch_size >= 2.
        patience: early-stopping patience in epochs (with validation data; None never stops).
        seed: seeds initialisation, dropout and minibatch order.
        device: torch device string.
    """

    name = "smcr"
    _weights_file = "smcr_weights.pt"
    _normaliser_file = "smcr_normaliser.npz"
    nonnegative_params = ("alpha", "beta", "adv_weight", "con_margin")

    def __init__(
        self,
        embed_dim: int = 64,
        hidden_dims: Sequence[int] = (512,),
        dropout: float = 0.1,
        alpha: float = 1.0,
        beta: float = 0.1,
        use_imi: bool = True,
        use_con: bool = True,
        con_margin: float = 0.0,
        unit_sphere: bool = False,
        adv_weight: float = 1.0,
        k: int = 1,
        disc_hidden: Sequence[int] = (64, 32),
        disc_lr_scale: float = 1.0,
        epochs: int = 100,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        patience: int = 10,
        seed: int = 0,
        device: str = "cpu",
    ):
        self._init_params(locals())

    def _build_net(self, image_dim: int, text_dim: int, n_classes: int) -> nn.ModuleDict:
        parts = self._core_net(image_dim, text_dim, n_classes)
        size, hidden, drop = int(self.embed_dim), tuple(self.hidden_dims), float(self.dropout)
        if self.use_con:
            # The Refine-Nets exist only where L_con uses them, so the ablation's weights stay small.
            parts["refine_image"] = projector(size, hidden, size, drop)
            parts["refine_text"] = projector(size, hidden, size, drop)
        return nn.ModuleDict(parts)

    def _losses(self, net: nn.ModuleDict, x: "torch.Tensor", y: "torch.Tensor", labels: "torch.Tensor") -> dict:
        """The terms of eq. 8–10 on one minibatch: objective (L_emb − γ·L_adv first), then each term."""
        from scicmr.methods.adversarial.losses import (
            label_prediction_loss,
            media_adversarial_loss,
            smcr_consistency_loss,
            smcr_constraint_loss,
        )

        s_v, s_t = net["image"](x), net["text"](y)
        logits_v, logits_t = net["classifier"](s_v), net["classifier"](s_t)
        imd = label_prediction_loss(logits_v, logits_t, labels)
        zero = imd.new_zeros(())
        # Distances are measured where retrieval measures them when unit_sphere is set.
        e_v, e_t = self._media_view(s_v), self._media_view(s_t)
        imi = (
            smcr_consistency_loss(logits_v.softmax(dim=1), logits_t.softmax(dim=1), e_v, e_t)
            if self.use_imi else zero
        )
        if self.use_con:
            r_v, r_t = self._media_view(net["refine_image"](s_v)), self._media_view(net["refine_text"](s_t))
            con = smcr_constraint_loss(e_v, e_t, r_v, r_t, float(self.con_margin))
        else:
            con = zero
        emb = float(self.alpha) * imi + float(self.beta) * con + imd
        adv = media_adversarial_loss(net["discriminator"](e_v), net["discriminator"](e_t))
        return {"objective": emb - float(self.adv_weight) * adv, "emb": emb, "imd": imd, "imi": imi, "con": con, "adv": adv}

    def _media_view(self, embeddings: "torch.Tensor") -> "torch.Tensor":
        return torch.nn.functional.normalize(embeddings, dim=1) if self.unit_sphere else embeddings
