"""Losses of deep image hashing (ADHN, seed 003): pairwise-similarity likelihood + quantisation.

Pure torch, no state. h denotes (b, c) relaxed codes (tanh outputs of the hash layer), c bits.
Import this module only where torch is installed (ADHN imports it lazily).
"""

from __future__ import annotations

import torch

# ADHN's terms are DCMH's summed ones with the codes on both sides, normalised per pair / item.
from scicmr.methods.hashing import losses as dcmh_losses


def label_similarity(labels: torch.Tensor) -> torch.Tensor:
    """(b, b) float 0/1: s_ij = 1 when items i and j share a label.

    Args:
        labels: (b,) int class ids or (b, C) multi-hot.
    """
    if labels.ndim == 1:
        return (labels[:, None] == labels[None, :]).float()
    labels = labels.float()
    return ((labels @ labels.T) > 0).float()


def pairwise_likelihood_loss(h: torch.Tensor, similarity: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of the pairwise similarities (the pairwise-similarity loss).

    .. math::

        \\Theta_{ij} = \\tfrac12 h_i^\\top h_j, \\qquad
        p(s_{ij} = 1 \\mid h) = \\sigma(\\Theta_{ij}), \\qquad
        L_s = \\frac{1}{b(b-1)} \\sum_{i \\ne j} \\big(\\log(1 + e^{\\Theta_{ij}}) - s_{ij}\\Theta_{ij}\\big)

    The mean runs over the ordered pairs of distinct batch items (an item is trivially similar
    to itself); softplus is the overflow-free log(1 + e^Θ).

    Args:
        h: (b, c) relaxed codes, b >= 2.
        similarity: (b, b) 0/1 float (:func:`label_similarity`).

    Returns:
        A scalar tensor.
    """
    if h.ndim != 2 or similarity.shape != (h.shape[0], h.shape[0]) or h.shape[0] < 2:
        raise ValueError(f"need h (b >= 2, c) and similarity (b, b); got {tuple(h.shape)} and {tuple(similarity.shape)}")
    off_diagonal = 1.0 - torch.eye(len(h), dtype=h.dtype, device=h.device)
    # DCMH's summed likelihood with the codes on both sides and the diagonal weighted out.
    return dcmh_losses.pairwise_likelihood_loss(h, h, similarity, off_diagonal) / off_diagonal.sum()


def quantisation_loss(h: torch.Tensor) -> torch.Tensor:
    """Mean squared distance of relaxed codes from their binary codes.

    .. math::

        L_q = \\frac{1}{b} \\sum_i \\lVert h_i - \\operatorname{sign}(h_i) \\rVert_2^2

    sign(0) is taken as +1 (the bit rule of :func:`scicmr.hashing.pack_codes`); the binary codes
    are constants (no gradient flows through sign).
    """
    binary = torch.where(h >= 0, torch.ones_like(h), -torch.ones_like(h)).detach()
    return dcmh_losses.quantisation_loss(binary, h) / len(h)


def adhn_loss(h: torch.Tensor, labels: torch.Tensor, quantisation_weight: float) -> tuple[torch.Tensor, dict[str, float]]:
    """ADHN's objective L = L_s + λ L_q on one minibatch; returns (loss, {"pair", "quant"})."""
    pair = pairwise_likelihood_loss(h, label_similarity(labels))
    quant = quantisation_loss(h)
    return pair + quantisation_weight * quant, {"pair": float(pair.detach()), "quant": float(quant.detach())}
