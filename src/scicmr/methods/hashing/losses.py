"""Loss functions of the deep cross-modal hashing methods (DCMH, MS-SCH-GAN, the masked
hash transformer). Pure torch, no state; each docstring gives the equation it computes.

Notation: F (b, c) image-side relaxed codes (tanh outputs), G (n, c) text-side codes, c the
number of bits, S (b, n) the 0/1 cross-modal similarity, W (b, n) the 0/1 mask of the pairs
whose similarity is known (semi-supervised data: an unlabelled pair knows only itself).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F_


def pair_similarity(q_labels: torch.Tensor | None, c_labels: torch.Tensor | None,
                    q_index: torch.Tensor, c_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Similarity S and known-pair mask W between query rows and candidate rows.

    - No labels at all (both None): the unsupervised reading, S_ij = [i is j's own pair] and
      every pair known (W = 1): other items count as dissimilar.
    - With labels, S_ij = [ℓ_i · ℓ_j > 0] ∨ [same item]; a row whose label vector is all zero is
      *unlabelled*: only its own pair is known (W_ij = [both labelled] ∨ [same item]).

    Args:
        q_labels: (b, C) multi-hot or None; c_labels: (n, C) or None.
        q_index: (b,) int64 item ids of the queries; c_index: (n,) item ids of the candidates
            (row i of the image side and row i of the text side form item i's pair).

    Returns:
        S, W: (b, n) float32.
    """
    same = (q_index[:, None] == c_index[None, :]).float()
    if q_labels is None or c_labels is None:
        return same, torch.ones_like(same)
    share = ((q_labels.float() @ c_labels.float().T) > 0).float()
    q_known = (q_labels.sum(dim=1) > 0).float()
    c_known = (c_labels.sum(dim=1) > 0).float()
    known = torch.maximum(q_known[:, None] * c_known[None, :], same)
    return torch.maximum(share, same), known


def pairwise_likelihood_loss(F: torch.Tensor, G: torch.Tensor, S: torch.Tensor,
                             W: torch.Tensor | None = None) -> torch.Tensor:
    """DCMH's negative log-likelihood of the inter-modal similarities (Jiang & Li 2017, eq. 2):

    .. math::

        \\mathcal{J}_1 = -\\sum_{i,j} W_{ij}\\,\\big(S_{ij}\\Theta_{ij} - \\log(1 + e^{\\Theta_{ij}})\\big),
        \\qquad \\Theta_{ij} = \\tfrac12 F_i^\\top G_j

    (softplus(Θ) − SΘ is the same quantity, computed without overflow).

    Args:
        F: (b, c); G: (n, c); S, W: (b, n) (W None: all ones).

    Returns:
        A scalar tensor: the sum over the (b, n) pairs.
    """
    theta = 0.5 * (F @ G.T)
    terms = F_.softplus(theta) - S * theta
    if W is not None:
        terms = terms * W
    return terms.sum()


def quantisation_loss(B: torch.Tensor, F: torch.Tensor) -> torch.Tensor:
    """‖B − F‖²_F, the squared distance of relaxed codes F (b, c) from binary codes B (b, c)
    in {−1, +1} (DCMH eq. 3's γ term; the hash constraint of the masked transformer)."""
    return ((B - F) ** 2).sum()


def bit_balance_loss(column_sum: torch.Tensor) -> torch.Tensor:
    """‖F𝟏‖², with ``column_sum`` (c,) = Σ_i F_i over *all* n training items: each bit is +1 on
    about half the items (DCMH eq. 3's η term)."""
    return (column_sum ** 2).sum()


def dcmh_objective(F: torch.Tensor, G_all: torch.Tensor, S: torch.Tensor, W: torch.Tensor | None,
                   B: torch.Tensor, column_sum: torch.Tensor, gamma: float, eta: float) -> torch.Tensor:
    """DCMH's objective (eq. 3) as seen by one tower's minibatch with the other side fixed:

    .. math::

        \\mathcal{J} = \\mathcal{J}_1(F, G) + \\gamma\\,\\lVert B - F\\rVert_F^2
            + \\eta\\,\\lVert F\\mathbf{1} \\rVert^2

    Args:
        F: (b, c) the minibatch's outputs of the tower being updated.
        G_all: (n, c) the other modality's stored outputs (fixed).
        S, W: (b, n) similarity and known-pair mask.
        B: (b, c) the minibatch's current binary codes.
        column_sum: (c,) Σ over all n items of this tower's outputs, the minibatch rows live.
        gamma, eta: the weights γ and η.
    """
    return (pairwise_likelihood_loss(F, G_all, S, W) + float(gamma) * quantisation_loss(B, F)
            + float(eta) * bit_balance_loss(column_sum))


# -- SCH-GAN / MS-SCH-GAN


def squared_distances(queries: torch.Tensor, candidates: torch.Tensor) -> torch.Tensor:
    """(b, m) squared Euclidean distances between (b, c) and (m, c) relaxed codes; for codes in
    {−1, +1} this is 4 × the Hamming distance."""
    return (queries.pow(2).sum(1, keepdim=True) - 2 * queries @ candidates.T + candidates.pow(2).sum(1)[None, :]).clamp_min(0)


def relevance_log_probs(queries: torch.Tensor, candidates: torch.Tensor, temperature: float) -> torch.Tensor:
    """The generator's relevance distribution over candidates (SCH-GAN §3.2):

    .. math::

        p_\\theta(d \\mid q) = \\frac{\\exp(-\\lVert h_q - h_d\\rVert^2 / \\tau)}
                                     {\\sum_{d'} \\exp(-\\lVert h_q - h_{d'}\\rVert^2 / \\tau)}

    Args:
        queries: (b, c); candidates: (m, c) (the same pool for every query) or (b, m, c).

    Returns:
        (b, m) log-probabilities.
    """
    if candidates.ndim == 3:
        dist = ((queries[:, None, :] - candidates) ** 2).sum(-1)
    else:
        dist = squared_distances(queries, candidates)
    return F_.log_softmax(-dist / float(temperature), dim=1)


def triplet_hash_score(query: torch.Tensor, positive: torch.Tensor, candidate: torch.Tensor,
                       margin: float) -> torch.Tensor:
    """The discriminator's score of a (query, candidate) pair against a true positive
    (SCH-GAN's triplet form):

    .. math::

        f_\\phi(d, q) = \\max\\big(0,\\; m + \\lVert h_q - h_{d^+}\\rVert^2 - \\lVert h_q - h_d\\rVert^2\\big)

    0 when the candidate lies clearly farther than the true positive (spotted as generated);
    large when the generator's pick is as close as a true relevant item.

    Args:
        query, positive, candidate: (b, c) relaxed codes, row-aligned.

    Returns:
        (b,) scores.
    """
    d_pos = ((query - positive) ** 2).sum(1)
    d_cand = ((query - candidate) ** 2).sum(1)
    return torch.relu(float(margin) + d_pos - d_cand)


def generator_reward(scores: torch.Tensor) -> torch.Tensor:
    """SCH-GAN's reward for a generated pair, log(1 + exp(f_φ(d, q))) = softplus(f_φ);
    scores (b,) → (b,) rewards (no gradient flows into the discriminator through it)."""
    return F_.softplus(scores.detach())


def policy_gradient_loss(log_probs: torch.Tensor, rewards: torch.Tensor) -> torch.Tensor:
    """REINFORCE surrogate of the generator's objective, to be *minimised*:

    .. math::

        -\\frac{1}{b}\\sum_i \\log p_\\theta(d_i \\mid q_i)\\,(r_i - \\bar r)

    The mean reward \\bar r is a baseline that lowers the gradient's variance without biasing it.

    Args:
        log_probs: (b,) log p of the sampled candidates; rewards: (b,) (detached).
    """
    advantage = rewards.detach() - rewards.detach().mean()
    return -(log_probs * advantage).mean()


# -- masked modelling (the transformer)


def masked_region_loss(predicted: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the masked image-region tokens only:
    Σ_{masked (i,r)} ‖x̂_ir − x_ir‖² / (#masked · d_r). predicted, target: (b, r, d_r);
    mask: (b, r) bool. 0 when nothing is masked."""
    m = mask.float()
    count = m.sum() * predicted.shape[-1]
    if float(count) == 0:
        return predicted.sum() * 0.0
    return (((predicted - target) ** 2).sum(-1) * m).sum() / count


def masked_token_loss(logits: torch.Tensor, token_ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of predicting the masked text tokens' ids, averaged over masked tokens.
    logits: (b, t, K); token_ids: (b, t) int64; mask: (b, t) bool. 0 when nothing is masked."""
    if not bool(mask.any()):
        return logits.sum() * 0.0
    return F_.cross_entropy(logits[mask], token_ids[mask])
