"""Autoencoder building blocks and losses shared by Corr-AE and CMDN (pure torch).

Layers:

- :func:`dense_stack` — Linear layers with an activation between them (and optionally after
  the last one): every encoder and decoder here (Corr-AE's encoders and per-target decoders,
  CMDN's stage-2 networks).
- :class:`Autoencoder` — encoder ``in → hidden… → code`` and a mirrored decoder
  ``code → …hidden → out`` (CMDN's intra-media stacked denoising autoencoders).
- :class:`BimodalAutoencoder` — two modality pathways meeting in one joint code, two decoders
  (CMDN's inter-media network).

Losses (each docstring gives the equation; b rows, d or k columns):

- :func:`reconstruction_loss` — squared reconstruction error, averaged over the b·d entries.
- :func:`correlation_loss` — Corr-AE's L_C = ||f(x_I) − g(x_T)||², averaged over the b·k entries.
- :func:`corr_ae_objective` — Corr-AE's L = (1 − α)·Σ L_rec + α·L_C.
- :func:`bimodal_loss` — reconstruct both modalities from both / image only / text only.
- :func:`label_loss` — softmax cross-entropy against (multi-)label targets.

Why averages and not the papers' plain sums: a sum over columns weighs each term by its width
(1,000 TF-IDF columns against 128 SIFT words against a 64-unit code), so the balance between
the modalities, and the meaning of α, would change with the features. Averages weigh the two
reconstructions equally whatever their widths, and rescale L_C by the constant 1/k, which α
absorbs.

Helpers: :class:`Standardiser` (per-column mean / std of the training features),
:func:`masking_noise` (the denoising corruption), :func:`centred_unit_rows` (codes → cosine-ready
outputs), and the parameter checks both methods share; :func:`torch_device`,
:func:`run_in_chunks` and the save / load of state_dicts and arrays are those of
:mod:`scicmr.methods.torch_state`, re-exported here. Import this module only where torch is installed (the methods import it
lazily).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from scicmr.errors import InputError
from scicmr.methods.torch_state import (  # noqa: F401  (re-exported for Corr-AE and CMDN)
    CHUNK,
    load_arrays,
    load_module,
    run_in_chunks,
    save_arrays,
    save_module,
    standardise,
    standardiser,
    torch_device,
)

ACTIVATIONS = ("sigmoid", "tanh", "relu")


def check_activation(name: str) -> str:
    """``name`` when it is one of :data:`ACTIVATIONS`; InputError naming the choices otherwise."""
    if name not in ACTIVATIONS:
        raise InputError(f"unknown activation {name!r}", fix=f"choose one of: {', '.join(ACTIVATIONS)}")
    return name


def _activation(name: str) -> nn.Module:
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[check_activation(name)]()


def dense_stack(widths: Sequence[int], activation: str, last_activation: bool) -> nn.Sequential:
    """Linear layers through ``widths`` (``widths[0]`` is the input width).

    An activation follows every Linear but the last; the last gets one only when
    ``last_activation`` (a code layer of logistic units, as in the papers) and stays linear
    otherwise (a decoder reconstructing standardised, real-valued features).
    """
    widths = [int(w) for w in widths]
    if len(widths) < 2:
        raise ValueError(f"dense_stack needs at least an input and an output width, got {widths}")
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2 or last_activation:
            layers.append(_activation(activation))
    return nn.Sequential(*layers)


class Autoencoder(nn.Module):
    """``in_dim → hidden_dims… → code_dim → reversed(hidden_dims)… → in_dim``.

    Args:
        in_dim: input width d.
        hidden_dims: encoder hidden widths (the decoder mirrors them); () for one layer.
        code_dim: width k of the code layer, the learned representation.
        activation: one of :data:`ACTIVATIONS`, used by every hidden and code unit (the
            reconstruction layer stays linear: it rebuilds standardised, real-valued features).
    """

    def __init__(self, in_dim: int, hidden_dims: Sequence[int], code_dim: int, activation: str):
        super().__init__()
        hidden = [int(h) for h in hidden_dims]
        self.encoder = dense_stack([int(in_dim), *hidden, int(code_dim)], activation, True)
        self.decoder = dense_stack([int(code_dim), *reversed(hidden), int(in_dim)], activation, False)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(b, in_dim) → (b, code_dim)."""
        return self.encoder(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(b, in_dim) → (code (b, code_dim), reconstruction (b, in_dim))."""
        code = self.encoder(x)
        return code, self.decoder(code)


class BimodalAutoencoder(nn.Module):
    """A joint autoencoder over both modalities (Ngiam et al. 2011's bimodal deep autoencoder).

    ``image → hidden_dims…`` and ``text → hidden_dims…`` pathways meet in one joint code layer
    (``code_dim`` units) from which two decoders reconstruct both inputs. Trained with one
    modality zeroed on part of the batch (:func:`bimodal_loss`), the joint code of a single
    modality must predict the other one too: its inter-media representation.

    Args:
        image_dim, text_dim: input widths.
        hidden_dims: widths of each modality's pathway before the joint layer (() joins the
            inputs directly).
        code_dim: joint code width.
        activation: one of :data:`ACTIVATIONS`.
    """

    def __init__(self, image_dim: int, text_dim: int, hidden_dims: Sequence[int], code_dim: int, activation: str):
        super().__init__()
        hidden = [int(h) for h in hidden_dims]
        self.image_path = dense_stack([int(image_dim), *hidden], activation, True) if hidden else nn.Identity()
        self.text_path = dense_stack([int(text_dim), *hidden], activation, True) if hidden else nn.Identity()
        joint_in = 2 * hidden[-1] if hidden else int(image_dim) + int(text_dim)
        self.joint = dense_stack([joint_in, int(code_dim)], activation, True)
        self.image_decoder = dense_stack([int(code_dim), *reversed(hidden), int(image_dim)], activation, False)
        self.text_decoder = dense_stack([int(code_dim), *reversed(hidden), int(text_dim)], activation, False)

    def encode(self, image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """(b, d_img), (b, d_txt) → (b, code_dim) joint code (pass zeros for a missing modality)."""
        return self.joint(torch.cat([self.image_path(image), self.text_path(text)], dim=1))

    def encode_image(self, image: torch.Tensor) -> torch.Tensor:
        """Joint code of the image alone (text input zero, i.e. its training mean)."""
        zeros = image.new_zeros((len(image), self.text_decoder[-1].out_features))
        return self.encode(image, zeros)

    def encode_text(self, text: torch.Tensor) -> torch.Tensor:
        """Joint code of the text alone (image input zero, i.e. its training mean)."""
        zeros = text.new_zeros((len(text), self.image_decoder[-1].out_features))
        return self.encode(zeros, text)

    def forward(self, image: torch.Tensor, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstructions ((b, d_img), (b, d_txt)) from the joint code of both inputs."""
        code = self.encode(image, text)
        return self.image_decoder(code), self.text_decoder(code)


# -- losses


def reconstruction_loss(recon: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Squared reconstruction error averaged over entries.

    .. math:: L_{rec} = \\frac{1}{b\\,d} \\sum_{i=1}^{b} \\lVert x_i - \\hat{x}_i \\rVert_2^2

    Args:
        recon, target: (b, d) float.
    """
    if recon.shape != target.shape:
        raise ValueError(f"recon {tuple(recon.shape)} and target {tuple(target.shape)} must have the same shape")
    return (recon - target).pow(2).mean()


def correlation_loss(code_a: torch.Tensor, code_b: torch.Tensor) -> torch.Tensor:
    """Corr-AE's correlation (distance) loss between paired codes, averaged over entries.

    .. math:: L_C = \\frac{1}{b\\,k} \\sum_{i=1}^{b} \\lVert f(p_i) - g(q_i) \\rVert_2^2

    Args:
        code_a, code_b: (b, k) float, row i of one paired with row i of the other.
    """
    if code_a.shape != code_b.shape:
        raise ValueError(f"codes {tuple(code_a.shape)} and {tuple(code_b.shape)} must have the same shape")
    return (code_a - code_b).pow(2).mean()


def corr_ae_objective(rec_terms: Sequence[torch.Tensor], corr: torch.Tensor, alpha: float) -> torch.Tensor:
    """Corr-AE's total loss (Feng et al. 2014, eq. for L(p, q; W_f, W_g)).

    .. math:: L = (1 - \\alpha) \\sum_j L_{rec,j} + \\alpha\\, L_C

    ``rec_terms`` holds the reconstruction terms of the variant: L_I + L_T (basic), the two
    cross terms (Corr-Cross-AE) or all four (Corr-Full-AE).
    """
    return (1.0 - float(alpha)) * torch.stack(list(rec_terms)).sum() + float(alpha) * corr


def label_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Softmax cross-entropy against label targets spread uniformly over an item's labels.

    .. math:: L_{lab} = -\\frac{1}{b} \\sum_i \\sum_c t_{ic} \\log \\mathrm{softmax}_c(z_i),
              \\qquad t_{ic} = \\ell_{ic} / \\textstyle\\sum_{c'} \\ell_{ic'}

    Rows without any label contribute 0 (their target row is all zero).

    Args:
        logits: (b, C) float; labels: (b, C) multi-hot (a one-hot class matrix is the usual case).
    """
    labels = labels.to(logits.dtype)
    targets = labels / labels.sum(dim=1, keepdim=True).clamp(min=1.0)
    return -(targets * F.log_softmax(logits, dim=1)).sum(dim=1).mean()


def bimodal_loss(net: "BimodalAutoencoder", image: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
    """Bimodal autoencoder loss: reconstruct both modalities from both, image only, text only.

    .. math:: L = \\frac{1}{3} \\sum_{(a, t) \\in \\{(x, y), (x, 0), (0, y)\\}}
              \\big[L_{rec}(\\hat{x}(a, t), x) + L_{rec}(\\hat{y}(a, t), y)\\big]

    Zeroing one (standardised) input is Ngiam et al.'s training with a missing modality; it is
    what makes the single-modality joint code carry the other modality.
    """
    total = image.new_zeros(())
    for a, t in ((image, text), (image, torch.zeros_like(text)), (torch.zeros_like(image), text)):
        image_hat, text_hat = net(a, t)
        total = total + reconstruction_loss(image_hat, image) + reconstruction_loss(text_hat, text)
    return total / 3.0


def masking_noise(x: torch.Tensor, rate: float) -> torch.Tensor:
    """Denoising corruption: each entry is zeroed independently with probability ``rate``.

    On standardised features zero is the column mean, so a masked entry reads "unknown".
    Uses torch's global RNG (the caller seeds it inside ``fork_rng``).
    """
    if rate <= 0.0:
        return x
    keep = torch.rand(x.shape, device=x.device) >= float(rate)
    return x * keep.to(x.dtype)


# -- numpy-side helpers


class Standardiser:
    """Per-column standardisation fitted on the training features.

    Attributes:
        mean, std: (d,) float32; columns with std < 1e-8 keep std 1 (they stay 0, not NaN).
    """

    def __init__(self, mean: np.ndarray, std: np.ndarray):
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)

    @classmethod
    def fit(cls, features: np.ndarray) -> "Standardiser":
        return cls(*standardiser(features))

    def tensor(self, features: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
        """(n, d) features → (n, d) float32 standardised tensor on ``device``."""
        return standardise(features, self.mean, self.std, device)


def centred_unit_rows(codes: torch.Tensor, centre: np.ndarray) -> np.ndarray:
    """(n, k) codes → (n, k) float32 rows of ``codes − centre``, L2-normalised.

    Retrieval in scicmr ranks by cosine. Subtracting one centre shared by both modalities
    changes no Euclidean distance between an image code and a text code, but turns the
    all-positive logistic codes into directions a cosine can tell apart.
    """
    shifted = codes.detach().cpu().double().numpy() - np.asarray(centre, dtype=np.float64)
    norms = np.linalg.norm(shifted, axis=1, keepdims=True)
    return (shifted / np.maximum(norms, 1e-12)).astype(np.float32)


# -- parameter checks shared by the methods (they collect problems, then raise one InputError)


def width_problems(name: str, widths: Any, allow_empty: bool) -> list[str]:
    """Problems with a sequence of layer widths (positive integers; non-empty unless allowed)."""
    try:
        values = [int(w) for w in widths]
    except (TypeError, ValueError):
        return [f"{name} must be a sequence of positive integers (got {widths!r})"]
    if any(v < 1 for v in values) or any(float(w) != int(w) for w in widths):
        return [f"{name} must hold positive integer widths (got {widths!r})"]
    if not values and not allow_empty:
        return [f"{name} needs at least one width (got {widths!r})"]
    return []


def training_problems(epochs: Any, batch_size: Any, lr: Any, weight_decay: Any, patience: Any,
                      activation: Any) -> list[str]:
    """Problems with the optimisation parameters every autoencoder method shares."""
    problems = []
    if int(epochs) < 1:
        problems.append(f"epochs must be >= 1 (got {epochs})")
    if int(batch_size) < 1:
        problems.append(f"batch_size must be >= 1 (got {batch_size})")
    if not float(lr) > 0:
        problems.append(f"lr must be > 0 (got {lr})")
    if not float(weight_decay) >= 0:
        problems.append(f"weight_decay must be >= 0 (got {weight_decay})")
    if patience is not None and int(patience) < 1:
        problems.append(f"patience must be >= 1 or None (got {patience})")
    if activation not in ACTIVATIONS:
        problems.append(f"activation must be one of {', '.join(ACTIVATIONS)} (got {activation!r})")
    return problems
