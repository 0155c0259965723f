"""Loss functions shared by the deep cross-modal methods (pure torch).

Every function takes and returns torch tensors and has no state; the docstring of each gives
the equation it computes, with b the minibatch size. Import this module only where torch is
installed (methods import it lazily).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def in_batch_cross_entropy(sim_logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean soft-target cross-entropy over the rows of an in-batch similarity matrix.

    .. math::

        L = -\\frac{1}{b} \\sum_{i=1}^{b} \\sum_{j=1}^{b} y_{ij} \\log p_{ij},
        \\qquad p_{ij} = \\frac{\\exp s_{ij}}{\\sum_{k} \\exp s_{ik}}

    Args:
        sim_logits: (b, b) float; row i holds query i's logits against the b candidates.
        targets: (b, b) float, each row a distribution (non-negative, summing to 1).

    Returns:
        A scalar tensor.
    """
    if sim_logits.ndim != 2 or sim_logits.shape != targets.shape:
        shapes = f"sim_logits {tuple(sim_logits.shape)} and targets {tuple(targets.shape)}"
        raise ValueError(f"{shapes} must both be (b, b)")
    # log_softmax is the numerically stable log p_ij (no exp overflow for small temperatures).
    log_p = F.log_softmax(sim_logits, dim=1)
    return -(targets * log_p).sum(dim=1).mean()


def soft_targets_from_labels(labels: torch.Tensor) -> torch.Tensor:
    """Row-normalised "shares a label" matrix: the target distribution y_ij of CARDL eq. (2).

    .. math::

        S_{ij} = [\\ell_i \\cdot \\ell_j > 0] \\lor [i = j], \\qquad
        y_{ij} = S_{ij} / \\sum_k S_{ik}

    The diagonal is always set, so an item without labels still has its own pair as the
    single positive (the one-hot, label-free target).

    Args:
        labels: (b, C) multi-hot float or int (a one-hot class matrix is the single-label case).

    Returns:
        (b, b) float32; every row sums to 1 and is uniform over the items sharing a label.
    """
    labels = labels.float()
    share = (labels @ labels.T) > 0
    share = share | torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    share = share.float()
    return share / share.sum(dim=1, keepdim=True)


def cardl_loss(
    img_emb: torch.Tensor,
    txt_emb: torch.Tensor,
    temperature: float | torch.Tensor,
    label_matrix: torch.Tensor | None = None,
) -> torch.Tensor:
    """CARDL's objective, eq. (1)–(3): L_total = L_I2T + L_T2I over one minibatch.

    .. math::

        s_{ij} = \\frac{\\cos(u_i, v_j)}{\\tau}, \\qquad
        L_{I2T} = -\\frac{1}{b}\\sum_i \\sum_j y_{ij} \\log \\mathrm{softmax}_j(s_{i\\cdot}), \\qquad
        L_{T2I} = -\\frac{1}{b}\\sum_j \\sum_i y_{ji} \\log \\mathrm{softmax}_i(s_{\\cdot j})

    with u the image and v the text embeddings, τ the temperature and y the targets: the
    identity (own pair only) when ``label_matrix`` is None, else
    :func:`soft_targets_from_labels` (uniform over the batch items sharing a label; the paper's
    1/m over m labels, read as a normalised target distribution).

    Args:
        img_emb: (b, k) image embeddings (normalised here: eq. (3) is cosine similarity).
        txt_emb: (b, k) text embeddings, row i paired with image row i.
        temperature: positive scalar (float or 0-d tensor, may carry a gradient).
        label_matrix: optional (b, C) multi-hot labels of the pairs.

    Returns:
        A scalar tensor L_I2T + L_T2I.
    """
    u = F.normalize(img_emb, dim=1)
    v = F.normalize(txt_emb, dim=1)
    logits = (u @ v.T) / temperature
    if label_matrix is None:
        targets = torch.eye(len(u), dtype=logits.dtype, device=logits.device)
    else:
        targets = soft_targets_from_labels(label_matrix).to(logits.dtype)
    # "shares a label" is symmetric, so the same row-normalised targets serve both directions.
    return in_batch_cross_entropy(logits, targets) + in_batch_cross_entropy(logits.T, targets)
