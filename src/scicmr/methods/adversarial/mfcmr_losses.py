"""MFCMR's loss terms (seed paper 001, eqs. (1)–(13)), pure torch functions without state.

Notation: b is the minibatch size, p the common-space size, C the number of classes. ``s_v`` /
``s_w`` are the mapped image / text vectors f_V(v, t, a) / f_W(w, t, a), row i of one paired
with row i of the other. ``labels`` is a (b, C) multi-hot float matrix; an all-zero row is an
unlabelled item. Readings of the paper that had to be chosen are stated in each docstring and
collected in :mod:`scicmr.methods.adversarial.mfcmr`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

_EPS = 1e-12


def label_prediction_loss(logits_v: torch.Tensor, logits_w: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """L_imd, eq. (1): the shared classifier θ_imd predicts each item's labels from both
    modalities.

    .. math::

        L_{imd} = -\\frac{1}{b} \\sum_{i=1}^{b} y_i \\cdot (\\log p(s_{v,i}) + \\log p(s_{w,i}))

    with p = softmax of the classifier's logits and y_i the item's labels normalised to sum 1
    (a multi-label item is not weighted more than a single-label one; for one-hot labels this
    is eq. (1) exactly). An unlabelled row (y_i = 0) adds nothing; the 1/b stays as in eq. (1).

    Args:
        logits_v, logits_w: (b, C) classifier logits of s_v and s_w.
        labels: (b, C) multi-hot float.
    """
    labels = labels.to(logits_v.dtype)
    targets = labels / labels.sum(dim=1, keepdim=True).clamp(min=1.0)
    log_p = F.log_softmax(logits_v, dim=1) + F.log_softmax(logits_w, dim=1)
    return -(targets * log_p).sum(dim=1).mean()


def cosine_matrix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(n, m) cosine similarities of the rows of a (n, d) and b (m, d), eq. (2); a zero row has
    similarity 0 with everything (instead of 0/0)."""
    a = a / a.norm(dim=1, keepdim=True).clamp(min=_EPS)
    b = b / b.norm(dim=1, keepdim=True).clamp(min=_EPS)
    return a @ b.T


def modality_deviation_loss(s_v: torch.Tensor, s_w: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """L_mod, eqs. (2)–(5): the label similarity matrix against the cross-modal similarity
    matrix of the mapped features.

    .. math::

        Sim_L(i, j) = \\cos(l_i, l_j), \\qquad Sim_S(i, j) = \\cos(s_{v,i}, s_{w,j}), \\qquad
        L_{mod} = \\frac{1}{b^2} \\sum_{i,j} (Sim_L(i, j) - Sim_S(i, j))^2

    Reading: the paper "chooses the ℓ2 norm to measure the difference between two similarity
    matrices" but eq. (5) puts ‖·‖₂ around each scalar entry (which would be an ℓ1 distance).
    The squared ℓ2 (Frobenius) distance is used, averaged over the b² entries so α does not
    depend on the batch size (Algorithm 1 also scales by 1/m).

    Args:
        s_v, s_w: (b, p) mapped image and text vectors.
        labels: (b, C) multi-hot float (the identity for label-free training: own pair only).
    """
    sim_l = cosine_matrix(labels.to(s_v.dtype), labels.to(s_v.dtype))
    sim_s = cosine_matrix(s_v, s_w)
    return (sim_l - sim_s).pow(2).mean()


def _distances(points: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """(n, C) Euclidean distances; sqrt of a clamped square so a zero distance (a class with one
    member sits on its centre) has gradient 0 instead of NaN."""
    squared = (points[:, None, :] - centres[None, :, :]).pow(2).sum(dim=2)
    return squared.clamp(min=_EPS).sqrt()


def class_centre_distances(
    s_v: torch.Tensor, s_w: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """d1–d4 of eqs. (6)–(11) over the classes present in the batch.

    .. math::

        c^v_j = \\frac{1}{n_j} \\sum_{i \\in j} u_{v,i}, \\quad
        c^w_j = \\frac{1}{n_j} \\sum_{i \\in j} u_{w,i}, \\\\
        d_1 = \\frac{1}{k} \\sum_j \\frac{1}{n_j} \\sum_{i \\in j}
              (\\|c^v_j - u_{v,i}\\| + \\|c^w_j - u_{w,i}\\|), \\quad
        d_2 = \\frac{1}{k} \\sum_j \\|c^w_j - c^v_j\\|, \\\\
        d_3 = \\frac{1}{k} \\sum_j \\frac{1}{n_j} \\sum_{i \\in j} \\|c^v_j - u_{w,i}\\|, \\quad
        d_4 = \\frac{1}{k} \\sum_j \\frac{1}{n_j} \\sum_{i \\in j} \\|c^w_j - u_{v,i}\\|

    Readings: the centres live in the common space (eqs. (6)–(7) write v and w, but d2 and d3
    compare image with text centres, which only have a common size after mapping) and are
    taken of the L2-normalised mapped vectors u = s/‖s‖, because retrieval ranks by cosine and
    unnormalised distances could be shrunk by scaling the whole space down. k is the number of
    classes present in the minibatch, n_j their member counts; a multi-label item belongs to
    every class it has; an unlabelled item belongs to none.

    Args:
        s_v, s_w: (b, p) mapped image and text vectors.
        labels: (b, C) multi-hot float.

    Returns:
        Four scalar tensors (d1, d2, d3, d4); all zero when no class is present.
    """
    u_v, u_w = F.normalize(s_v, dim=1), F.normalize(s_w, dim=1)
    members = (labels > 0).to(u_v.dtype)
    counts = members.sum(dim=0)
    present = counts > 0
    if not bool(present.any()):
        zero = u_v.sum() * 0.0  # keeps the graph and the device
        return zero, zero, zero, zero
    members, counts = members[:, present], counts[present]
    centre_v = (members.T @ u_v) / counts[:, None]
    centre_w = (members.T @ u_w) / counts[:, None]

    def per_class_mean(dist: torch.Tensor) -> torch.Tensor:
        # dist (b, k): mean over each class's members, then over the k classes
        return ((members * dist).sum(dim=0) / counts).mean()

    d1 = per_class_mean(_distances(u_v, centre_v) + _distances(u_w, centre_w))
    d2 = (centre_w - centre_v).pow(2).sum(dim=1).clamp(min=_EPS).sqrt().mean()
    d3 = per_class_mean(_distances(u_w, centre_v))
    d4 = per_class_mean(_distances(u_v, centre_w))
    return d1, d2, d3, d4


def semantic_consistency_loss(s_v: torch.Tensor, s_w: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """L_reg, eq. (12): (d1 + d2 + d3 + d4) / 4 (see :func:`class_centre_distances`)."""
    d1, d2, d3, d4 = class_centre_distances(s_v, s_w, labels)
    return (d1 + d2 + d3 + d4) / 4.0


def adversarial_loss(text_logits: torch.Tensor, image_logits: torch.Tensor) -> torch.Tensor:
    """L_adv, eq. (13): the modality discriminator's cross-entropy (text = 1, image = 0).

    .. math::

        L_{adv} = -\\frac{1}{b} \\sum_{i=1}^{b}
                  (\\log D(s_{w,i}) + \\log(1 - D(s_{v,i}))), \\qquad D = \\sigma(z)

    computed from the discriminator's logits z (log σ via softplus: no log(0) for confident
    predictions). The discriminator minimises it; the mapping networks minimise
    L_emb − γ·L_adv (eq. (14)–(15)).

    Args:
        text_logits: (b,) or (b, 1) logits of D on mapped text vectors.
        image_logits: (b,) or (b, 1) logits of D on mapped image vectors.
    """
    # -log σ(z) = softplus(-z);  -log(1 - σ(z)) = softplus(z)
    return F.softplus(-text_logits.reshape(-1)).mean() + F.softplus(image_logits.reshape(-1)).mean()


def embedding_loss(
    s_v: torch.Tensor,
    s_w: torch.Tensor,
    labels: torch.Tensor,
    logits_v: torch.Tensor | None,
    logits_w: torch.Tensor | None,
    alpha: float,
    beta: float,
) -> dict[str, torch.Tensor]:
    """L_emb = L_imd + α·L_mod + β·L_reg (section 3.2), with its parts.

    ``logits_v`` / ``logits_w`` None (label-free training: no classifier) drops L_imd.

    Returns:
        dict with scalar tensors ``emb``, ``imd``, ``mod``, ``reg``.
    """
    if logits_v is None or logits_w is None:
        imd = s_v.sum() * 0.0
    else:
        imd = label_prediction_loss(logits_v, logits_w, labels)
    mod = modality_deviation_loss(s_v, s_w, labels)
    reg = semantic_consistency_loss(s_v, s_w, labels)
    return {"emb": imd + alpha * mod + beta * reg, "imd": imd, "mod": mod, "reg": reg}
