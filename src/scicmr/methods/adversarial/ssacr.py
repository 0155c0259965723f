"""SSACR: semantic-similarity based adversarial cross-media retrieval (baseline of seeds 001, 002).

Liu, Du, Zhou, "A Cross Media Search Method for Social Networks Based on Adversarial Learning
and Semantic Similarity", SCIENTIA SINICA Informationis 51(5), 2021 (seed 002 ref. [21],
seed 001 ref. [36]).

Which reading, and why. The acronym is sometimes expanded as "semi-supervised adversarial
cross-media retrieval", but both seed papers that compare against it spell it out as *Semantic
Similarity based Adversarial Cross-media Retrieval* and describe it, so that is the method
implemented here. The paper itself is not available; its essence is taken from those
descriptions:

- seed 002 §2: it "uses semantic distribution and similarity as the training basis of the
  feature mapping network, so that the distance between different media data under the same
  semantics is small, and the distance between the same media data under different semantics
  is large"; §5.3: "the similarity of the feature vectors of different media data mapped to the
  same semantic space is calculated and compared with the similarity between the original
  semantic feature vectors";
- seed 001 §4: it alternately trains two networks (feature mapping vs media discrimination)
  so the mapped data stay semantically consistent with the original data, and it lacks
  MFCMR's semantic-consistency regulariser and multi-feature inputs (MFCMR, from the same
  group, reads as SSACR + time/author features + L_reg, so its L_imd and similarity-matrix loss
  are the shared core).

So, the model:

- Feature mapping networks f_V, f_T: MLPs (Linear → ReLU → Dropout, Linear to ``embed_dim``)
  on standardised features; retrieval by cosine of their L2-normalised outputs.
- "Semantic distribution": a shared linear + softmax label classifier with the cross-entropy
  L_imd of seed 001 eq. 1 / seed 002 eq. 1.
- "Semantic similarity": Sim_L(i, j) = cos(l_i, l_j) of the label vectors (seed 001 eq. 2–3)
  is the target of the cosine-similarity matrices of the mapped features —
  across media (image i vs text j: same semantics close) and, weighted by ``intra_weight``,
  within each medium (different semantics far apart), as mean squared differences
  (:func:`~scicmr.methods.adversarial.losses.ssacr_similarity_loss`).
- L_emb = L_imd + α·L_sim; a three-layer media discriminator with L_adv; alternating min–max
  exactly as SMCR's Algorithm 1 (mapping networks descend L_emb − γ·L_adv with the
  discriminator frozen; the discriminator descends L_adv once per ``k`` minibatches).

Training: Adam, seeded minibatches, early stopping on the validation score (mean i2t / t2i
full mAP) with the best epoch's weights restored. Labels are required.
"""

from __future__ import annotations

from typing import Sequence

# adversarial.py raises MissingDependencyError when torch is missing, so it is imported first.
from scicmr.methods.adversarial.base import AdversarialMethod

from torch import nn


class SSACR(AdversarialMethod):
    """SSACR: label prediction + label-similarity matching of the mapped features, media adversary.

    Args:
        embed_dim: size of the common space.
        hidden_dims: hidden widths of each mapping network.
        dropout: dropout after each hidden layer.
        alpha: α, weight of the semantic-similarity loss L_sim.
        intra_weight: γ_intra, weight of L_sim's within-medium terms relative to the cross-media one.
        adv_weight: γ, weight of −L_adv in the mapping networks' objective (0 switches it off).
        k: minibatches (generator updates) per discriminator update.
        disc_hidden: the discriminator's two hidden widths (three layers in all).
        disc_lr_scale: the discriminator's learning rate relative to ``lr``.
        epochs, batch_size, lr, weight_decay: Adam training; batch_size >= 2.
        patience: early-stopping patience in epochs (with validation data; None never stops).
        seed: seeds initialisation, dropout and minibatch order.
        device: torch device string.
    """

    name = "ssacr"
    _weights_file = "ssacr_weights.pt"
    _normaliser_file = "ssacr_normaliser.npz"
    nonnegative_params = ("alpha", "intra_weight", "adv_weight")

    def __init__(
        self,
        embed_dim: int = 64,
        hidden_dims: Sequence[int] = (512,),
        dropout: float = 0.1,
        alpha: float = 1.0,
        intra_weight: float = 1.0,
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
        return nn.ModuleDict(self._core_net(image_dim, text_dim, n_classes))

    def _losses(self, net: nn.ModuleDict, x, y, labels) -> dict:
        """One minibatch: L_emb − γ·L_adv first, then each term."""
        from scicmr.methods.adversarial.losses import (
            label_prediction_loss,
            media_adversarial_loss,
            ssacr_similarity_loss,
        )

        s_v, s_t = net["image"](x), net["text"](y)
        imd = label_prediction_loss(net["classifier"](s_v), net["classifier"](s_t), labels)
        sim = ssacr_similarity_loss(s_v, s_t, labels, float(self.intra_weight))
        emb = imd + float(self.alpha) * sim
        adv = media_adversarial_loss(net["discriminator"](s_v), net["discriminator"](s_t))
        return {"objective": emb - float(self.adv_weight) * adv, "emb": emb, "imd": imd, "sim": sim, "adv": adv}
