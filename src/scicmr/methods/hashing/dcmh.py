"""DCMH: deep cross-modal hashing (Jiang & Li, CVPR 2017), the reference baseline of issue 6.

The model and how each part is read here:

- Towers. An image network and a text network end in a c-bit hash layer. The paper's image
  network is CNN-F on raw pixels and its text network an MLP on bag-of-words; here both default
  to MLPs on precomputed (standardised) features. With ``image_shape=(C, H, W)`` the image rows
  are flattened pixels and the image tower is :class:`~scicmr.methods.hashing.base.PixelCNN` +
  the MLP, trained end to end (the "end to end" variant; see docs/deep_hashing.md for its cost).
  Outputs are relaxed by tanh (the paper leaves F, G linear and relies on the quantisation term;
  tanh bounds them and makes the relaxed codes comparable across items).
- Objective, eq. (3): min_{B,θx,θy} −Σ_ij (S_ij Θ_ij − log(1 + e^{Θ_ij})) + γ(‖B − F‖² + ‖B − G‖²)
  + η(‖F𝟏‖² + ‖G𝟏‖²), Θ_ij = ½ F_iᵀG_j, with S_ij = 1 when image i and text j share a label
  (their own pair without labels; unlabelled rows of a partly labelled set know only their own
  pair, see :func:`~scicmr.methods.hashing.losses.pair_similarity`).
- Alternating optimisation (Algorithm 1). F and G of every training item are kept in buffers;
  for each minibatch the image tower takes a gradient step on the objective with G fixed (the
  minibatch's rows of F live, the rest from the buffer), the buffer rows are refreshed, then the
  text tower does the same with F fixed, then B = sign(F + G) for those rows (the closed form of
  the B-step, eq. 4). The paper sweeps all minibatches of one modality before the other; taking
  turns per minibatch is the same block-coordinate descent at a finer grain. The objective is
  divided by (b · n) per step, which leaves the relative weights of its terms unchanged and
  keeps one learning rate usable across dataset sizes.

Training: Adam (the paper uses SGD), seeded, early stopping on the validation mean of i2t / t2i
Hamming-ranking mAP with the best epoch's weights restored.
"""

from __future__ import annotations

from typing import Sequence

from scicmr.methods.hashing.base import HashingMethod, PixelCNN, hash_mlp

import torch
from torch import nn


class DCMHNet(nn.Module):
    """The image and text hash towers. encode_*: (n, d) → (n, bits) tanh codes."""

    def __init__(self, image_dim, text_dim, bits, hidden_dims, dropout, image_shape=None, cnn_channels=32):
        super().__init__()
        self.cnn = PixelCNN(image_shape, cnn_channels) if image_shape is not None else None
        image_in = cnn_channels if self.cnn is not None else image_dim
        self.image = hash_mlp(image_in, hidden_dims, bits, dropout)
        self.text = hash_mlp(text_dim, hidden_dims, bits, dropout)

    def encode_image(self, x: "torch.Tensor") -> "torch.Tensor":
        return self.image(self.cnn.pooled(x) if self.cnn is not None else x)

    def encode_text(self, y: "torch.Tensor") -> "torch.Tensor":
        return self.text(y)


class DCMH(HashingMethod):
    """DCMH with alternating image / text / B updates (see the module docstring).

    Args:
        n_bits: code length c (16, 32, 48, 64, …).
        hidden_dims: hidden widths of each tower's MLP.
        dropout: dropout after each hidden layer.
        gamma: γ, weight of the quantisation term ‖B − F‖² + ‖B − G‖².
        eta: η, weight of the bit-balance term ‖F𝟏‖² + ‖G𝟏‖². The paper uses 1; with tanh
            outputs η = 1 drove the codes to 0 on the synthetic test data (mAP at chance) while
            0.1 gave balanced bits and a perfect ranking, so 0.1 is the default.
        image_shape: None for feature vectors, or (C, H, W) when the image rows are flattened
            pixels (end-to-end CNN).
        cnn_channels: channels of the pixel CNN's last conv block.
        epochs, batch_size, lr, weight_decay: Adam training.
        patience: early-stopping patience in epochs (with validation data).
        seed: seeds initialisation, dropout and minibatch order.
        device: torch device string.
    """

    name = "dcmh"

    def __init__(
        self,
        n_bits: int = 32,
        hidden_dims: Sequence[int] = (512,),
        dropout: float = 0.1,
        gamma: float = 1.0,
        eta: float = 0.1,
        image_shape: Sequence[int] | None = None,
        cnn_channels: int = 32,
        epochs: int = 50,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 1e-5,
        patience: int = 10,
        seed: int = 0,
        device: str = "cpu",
    ):
        self._init_params(locals())

    def _method_problems(self) -> list[str]:
        return [f"{key} must be >= 0 (got {getattr(self, key)})"
                for key in ("gamma", "eta") if not float(getattr(self, key)) >= 0]

    def _build_net(self, image_dim: int, text_dim: int) -> DCMHNet:
        return DCMHNet(image_dim, text_dim, int(self.n_bits), tuple(self.hidden_dims), float(self.dropout),
                       self.image_shape, int(self.cnn_channels))

    def _train(self, net: DCMHNet, Xt, Yt, Lt, validate):
        step = dcmh_step(net, Xt, Yt, Lt, gamma=float(self.gamma), eta=float(self.eta),
                         lr=float(self.lr), weight_decay=float(self.weight_decay))
        return self._run_loop(net, len(Xt), step, validate)

def dcmh_step(net: DCMHNet, Xt, Yt, Lt, *, gamma: float, eta: float, lr: float, weight_decay: float):
    """A train_loop step running DCMH's alternating updates on one minibatch (module docstring).

    Xt (n, d_img), Yt (n, d_txt) standardised tensors; Lt (n, C) multi-hot or None. Returns the
    image-step and text-step objectives (per pair) as floats.
    """
    from scicmr.methods.hashing.losses import dcmh_objective, pair_similarity

    image_params = [p for name, p in net.named_parameters() if not name.startswith("text.")]
    image_opt = torch.optim.Adam(image_params, lr=lr, weight_decay=weight_decay)
    text_opt = torch.optim.Adam(net.text.parameters(), lr=lr, weight_decay=weight_decay)
    n = len(Xt)
    with torch.no_grad():
        net.eval()
        buffers = {"F": _all_codes(net.encode_image, Xt), "G": _all_codes(net.encode_text, Yt)}
        buffers["B"] = torch.where(buffers["F"] + buffers["G"] >= 0, 1.0, -1.0)
    everyone = torch.arange(n, device=Xt.device)

    def side_step(index, encode, inputs, own, other, optimizer) -> float:
        S, W = pair_similarity(None if Lt is None else Lt[index], Lt, index, everyone)
        optimizer.zero_grad(set_to_none=True)
        out = encode(inputs[index])
        column_sum = buffers[own].sum(0) - buffers[own][index].sum(0) + out.sum(0)
        loss = dcmh_objective(out, buffers[other], S, W, buffers["B"][index], column_sum, gamma, eta)
        loss = loss / (len(index) * n)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            buffers[own][index] = out.detach()
        return float(loss.detach())

    def step(index: "torch.Tensor") -> dict:
        image_loss = side_step(index, net.encode_image, Xt, "F", "G", image_opt)
        text_loss = side_step(index, net.encode_text, Yt, "G", "F", text_opt)
        with torch.no_grad():
            buffers["B"][index] = torch.where(buffers["F"][index] + buffers["G"][index] >= 0, 1.0, -1.0)
        return {"loss": image_loss + text_loss, "image_loss": image_loss, "text_loss": text_loss}

    return step


def _all_codes(encode, inputs: "torch.Tensor", chunk: int = 2048) -> "torch.Tensor":
    return torch.cat([encode(inputs[i : i + chunk]) for i in range(0, len(inputs), chunk)])

