"""Loss terms of the adversarial family (SMCR, ACMR, SSACR), pure torch functions.

Every function is stateless, takes (b, ·) minibatch tensors and returns a 0-d tensor; its
docstring gives the paper equation it computes and the reading chosen where the paper is loose.
Notation: b rows per minibatch, k the embedding size, C the number of classes; row i of the image
tensors is paired with row i of the text tensors. Sums over the minibatch in the papers are
written here as means (the papers' 1/m of Algorithm 1), so weights do not depend on b.

Import this module only where torch is installed (the methods import it lazily).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def target_distribution(labels: torch.Tensor) -> torch.Tensor:
    """(b, C) multi-hot labels → (b, C) rows summing to 1 (one-hot rows are unchanged).

    A multi-label row spreads its mass uniformly over its labels, so ``l_i · log p̂_i`` stays a
    cross-entropy; an unlabelled row stays all zero and so adds nothing to the label loss.
    """
    labels = labels.float()
    return labels / labels.sum(dim=1, keepdim=True).clamp(min=1.0)


def label_prediction_loss(img_logits: torch.Tensor, txt_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Intra-media discrimination loss L_imd (SMCR eq. 1; ACMR eq. 2).

    .. math::

        L_{imd} = -\\frac{1}{b} \\sum_i \\tilde l_i \\cdot
                  (\\log \\hat p(v_i) + \\log \\hat p(t_i))

    with p̂ the softmax of the shared label classifier and l̃_i the label row normalised to sum
    to 1 (:func:`target_distribution`).

    Args:
        img_logits, txt_logits: (b, C) classifier logits of the image and the text embeddings.
        labels: (b, C) multi-hot (or one-hot) labels.
    """
    target = target_distribution(labels)
    return -(target * (F.log_softmax(img_logits, dim=1) + F.log_softmax(txt_logits, dim=1))).sum(dim=1).mean()


def media_adversarial_loss(d_img_logits: torch.Tensor, d_txt_logits: torch.Tensor) -> torch.Tensor:
    """Media-classification loss L_adv of the discriminator (SMCR eq. 9; ACMR eq. 7).

    .. math::

        L_{adv} = -\\frac{1}{b} \\sum_i \\left(\\log(1 - D(v_i)) + \\log D(t_i)\\right)

    with D(·) = σ(logit) the probability that an embedding came from the text mapping (media
    label 0 = image, 1 = text, as the paper's text assigns them; eq. 9 writes the same loss with
    D the image probability). Computed with the stable log-sigmoid.

    Args:
        d_img_logits, d_txt_logits: (b,) discriminator logits of image and text embeddings.
    """
    return -(F.logsigmoid(-d_img_logits) + F.logsigmoid(d_txt_logits)).mean()


def row_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(b,) Euclidean distances ‖a_i − b_i‖₂ of paired rows; the gradient at a zero distance is 0
    (torch's norm backward masks it), never NaN."""
    return torch.linalg.vector_norm(a - b, dim=1)


def pairwise_distance(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(b_a, b_b) Euclidean distances ‖a_i − b_j‖₂, computed from differences (exact, and with
    a finite gradient at zero), not from the ‖a‖² + ‖b‖² − 2a·b expansion."""
    return torch.linalg.vector_norm(a[:, None, :] - b[None, :, :], dim=2)


def smcr_consistency_loss(
    img_semantics: torch.Tensor, txt_semantics: torch.Tensor, img_emb: torch.Tensor, txt_emb: torch.Tensor
) -> torch.Tensor:
    """SMCR's inter-media consistency loss L_imi (eq. 2–4), averaged over the pairs.

    .. math::

        L_{imi} = \\frac{1}{b} \\sum_i \\left(\\|l_{v_i} - l_{t_i}\\|_2
                  + \\|f_V(v_i) - f_T(t_i)\\|_2\\right)

    Reading: l_v, l_t are the *semantic distributions* of the image and the text of pair i, i.e.
    the label distributions the shared classifier predicts for them (softmax outputs, the sense
    of "semantic distribution" in seed 001). Ground-truth labels are equal within a pair, which
    would make eq. 2 a constant without gradient; predicted distributions make it a term that
    keeps the pair consistent in label space (eq. 2) as well as in the common space (eq. 3).

    Args:
        img_semantics, txt_semantics: (b, C) predicted label distributions (rows sum to 1).
        img_emb, txt_emb: (b, k) Base-Net outputs S_V, S_T.
    """
    return row_distance(img_semantics, txt_semantics).mean() + row_distance(img_emb, txt_emb).mean()


def smcr_constraint_loss(
    img_emb: torch.Tensor,
    txt_emb: torch.Tensor,
    img_refined: torch.Tensor,
    txt_refined: torch.Tensor,
    margin: float = 0.0,
) -> torch.Tensor:
    """SMCR's intra-semantics media constraint L_con = L_con,V + L_con,T (eq. 5–7), averaged.

    .. math::

        L_{con,V} = \\frac{1}{b} \\sum_i \\max(0, \\|S'_{V_i} - S_{T_i}\\|_2 - \\|S'_{V_i} - S_{V_i}\\|_2 + m)

    and L_con,T the same with V and T swapped: the Refine-Net output S' of one medium must lie
    nearer to the other medium's Base-Net output of the same pair than to its own (a triplet with
    anchor S', positive the other medium, negative its own medium). The paper's margin is 0;
    ``margin`` m adds one (the triplet loss of its reference [9]).

    Args:
        img_emb, txt_emb: (b, k) Base-Net outputs S_V, S_T.
        img_refined, txt_refined: (b, k) Refine-Net outputs S'_V = g_V(S_V), S'_T = g_T(S_T).
    """
    con_v = F.relu(row_distance(img_refined, txt_emb) - row_distance(img_refined, img_emb) + margin)
    con_t = F.relu(row_distance(txt_refined, img_emb) - row_distance(txt_refined, txt_emb) + margin)
    return con_v.mean() + con_t.mean()


def relevance_mask(labels: torch.Tensor) -> torch.Tensor:
    """(b, b) bool: items i, j share at least one label, or i = j (a pair is its own match,
    so unlabelled rows still have one positive)."""
    labels = labels.float()
    share = (labels @ labels.T) > 0
    return share | torch.eye(len(labels), dtype=torch.bool, device=labels.device)


def _one_way_invariance(dist: torch.Tensor, positive: torch.Tensor, margin: float, neg_weight: float) -> torch.Tensor:
    """Mean over anchors (rows of ``dist``) of mean positive distance + λ·mean negative hinge."""
    pos = positive.float()
    neg = 1.0 - pos
    pull = (dist * pos).sum(dim=1) / pos.sum(dim=1)  # every row has its own pair as a positive
    push = (F.relu(margin - dist) * neg).sum(dim=1) / neg.sum(dim=1).clamp(min=1.0)
    return (pull + neg_weight * push).mean()


def acmr_invariance_loss(
    img_emb: torch.Tensor, txt_emb: torch.Tensor, labels: torch.Tensor, margin: float = 1.0, neg_weight: float = 1.0
) -> torch.Tensor:
    """ACMR's inter-modal invariance (triplet) loss L_imi = L_imi,V + L_imi,T (ACMR eq. 3–5).

    .. math::

        L_{imi,V} = \\sum_{i,j,k} \\left(\\ell_2(v_i, t_j^+) + \\lambda \\max(0, \\mu - \\ell_2(v_i, t_k^-))\\right)

    with ℓ2(v, t) = ‖f_V(v) − f_T(t)‖₂, t⁺ the texts sharing a label with image i (its own pair
    included), t⁻ the texts sharing none, and L_imi,T the same with an anchor text. Triplets are
    all (i, j, k) of the minibatch; the sum over them is taken as a mean, which splits into
    mean_j ℓ2(v_i, t_j⁺) + λ·mean_k hinge(v_i, t_k⁻) per anchor (an anchor without negatives adds
    only its pull term), then a mean over anchors.

    Args:
        img_emb, txt_emb: (b, k) projected image / text features.
        labels: (b, C) multi-hot labels.
        margin: μ. neg_weight: λ.
    """
    dist = pairwise_distance(img_emb, txt_emb)  # (b, b): image i to text j
    positive = relevance_mask(labels)
    return _one_way_invariance(dist, positive, margin, neg_weight) + _one_way_invariance(
        dist.T, positive.T, margin, neg_weight
    )


def label_similarity(labels: torch.Tensor) -> torch.Tensor:
    """Sim_L (seed 001 eq. 2–3): (b, b) cosine of the label rows; an unlabelled row is similar
    only to itself (1 on its diagonal, 0 elsewhere) instead of an undefined 0/0."""
    labels = labels.float()
    norms = labels.norm(dim=1)
    unit = labels / norms.clamp(min=1e-12)[:, None]
    sim = unit @ unit.T
    unlabelled = norms == 0
    eye = torch.eye(len(labels), dtype=sim.dtype, device=sim.device)
    return torch.where(unlabelled[:, None] | unlabelled[None, :], eye, sim)


def cosine_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(b_a, b_b) cosine similarities of the rows of a and b."""
    return F.normalize(a, dim=1) @ F.normalize(b, dim=1).T


def ssacr_similarity_loss(
    img_emb: torch.Tensor, txt_emb: torch.Tensor, labels: torch.Tensor, intra_weight: float = 1.0
) -> torch.Tensor:
    """SSACR's semantic-similarity loss: the similarities of the mapped features are fitted to
    the similarities of the original semantic (label) vectors.

    .. math::

        L_{sim} = \\overline{(\\cos(S_{V_i}, S_{T_j}) - Sim_L(i,j))^2}
                + \\gamma \\left[\\overline{(\\cos(S_{V_i}, S_{V_j}) - Sim_L(i,j))^2}
                + \\overline{(\\cos(S_{T_i}, S_{T_j}) - Sim_L(i,j))^2}\\right]

    (overline = mean over the b² pairs (i, j)). The cross-media term makes media of the same
    semantics close (the seed papers' summary of SSACR [21]); the intra-media terms, weighted by
    γ = ``intra_weight``, make same-media items of different semantics far apart. The "ℓ2 norm"
    between the two similarity matrices is read as the mean squared (Frobenius²/b²) difference.

    Args:
        img_emb, txt_emb: (b, k) mapped features. labels: (b, C) multi-hot.
    """
    target = label_similarity(labels)
    cross = (cosine_matrix(img_emb, txt_emb) - target).pow(2).mean()
    if intra_weight == 0:
        return cross
    intra = (cosine_matrix(img_emb, img_emb) - target).pow(2).mean() + (
        cosine_matrix(txt_emb, txt_emb) - target
    ).pow(2).mean()
    return cross + intra_weight * intra
