"""MS-SCH-GAN: semi-supervised cross-modal hashing GAN with modal similarity (seed 003).

Seed 003 names the method and its motive only: SCH-GAN (Zhang, Lai & Peng, "SCH-GAN:
Semi-supervised Cross-modal Hashing by Generative Adversarial Network", IEEE T-Cybernetics
2018) "does not consider the similarity between multimodal data well and does not separate
dissimilar data well", so a modal-similarity term is added. The reading implemented here:

- Two hash models, each an image and a text MLP ending in a tanh hash layer: the *generator*
  G and the *discriminator* D (SCH-GAN §3). Retrieval uses D's codes, as in SCH-GAN.
- Generator (SCH-GAN eq. 4): for a query q of one modality it puts a relevance distribution on
  a pool of m items of the other modality drawn from the *unlabelled* pairs (all pairs when
  nothing is unlabelled), p_θ(d | q) = softmax_d(−‖g_q − g_d‖² / τ), and samples k items
  from it: the unlabelled items it believes relevant.
- Discriminator (SCH-GAN eq. 6): for each query a true relevant item d⁺ of the other
  modality is drawn from the minibatch (an item sharing a label, or the query's own pair, which
  is always relevant); D scores a generated pick d by the triplet form
  f_φ(d, q) = max(0, m + ‖h_q − h_{d⁺}‖² − ‖h_q − h_d‖²) and minimises it (pushing generated
  picks beyond the true ones), so f_φ is large only for picks D cannot tell from relevant items.
- Generator's reward (SCH-GAN eq. 8–9): r = log(1 + exp f_φ(d, q)), trained by policy gradient
  (REINFORCE) on log p_θ(d | q)·(r − r̄); the mean reward r̄ is a variance-reducing baseline.
- Modal similarity (the "MS" of MS-SCH-GAN, read as): a pairwise-likelihood term (DCMH's
  J₁ = Σ W_ij(log(1 + e^{Θ_ij}) − S_ij Θ_ij), Θ = ½ h_iᵀh_j) over the minibatch, *between*
  modalities and *within* each modality, so similar items of either modality attract and
  dissimilar ones are pushed apart (the separation SCH-GAN's triplet alone leaves weak), plus
  the quantisation term ‖sign(h) − h‖². D minimises α·L_ms + its triplet loss; G minimises
  β·L_ms + its policy-gradient loss (so its relevance starts meaningful).
- Semi-supervision. Labels may be missing per row (see :mod:`scicmr.methods.hashing.base`:
  −1 / NaN / an all-zero row). An unlabelled pair still knows its own pairing: it enters L_ms
  (its own pair as the only known similarity) and the generator's candidate pool. Without any
  labels the method is self-supervised on the pairing alone.

Training: Adam for each model, seeded, early stopping on validation Hamming-ranking mAP of D's
codes with the best epoch's weights restored.
"""

from __future__ import annotations

from typing import Sequence

from scicmr.methods.hashing.base import HashingMethod, hash_mlp

import torch
from torch import nn


class MSSCHGANNet(nn.Module):
    """Generator and discriminator hash towers; encode_* use the discriminator's."""

    def __init__(self, image_dim, text_dim, bits, hidden_dims, dropout):
        super().__init__()
        self.gen = nn.ModuleDict({"image": hash_mlp(image_dim, hidden_dims, bits, dropout),
                                  "text": hash_mlp(text_dim, hidden_dims, bits, dropout)})
        self.disc = nn.ModuleDict({"image": hash_mlp(image_dim, hidden_dims, bits, dropout),
                                   "text": hash_mlp(text_dim, hidden_dims, bits, dropout)})

    def encode_image(self, x: "torch.Tensor") -> "torch.Tensor":
        return self.disc["image"](x)

    def encode_text(self, y: "torch.Tensor") -> "torch.Tensor":
        return self.disc["text"](y)


class MSSCHGAN(HashingMethod):
    """MS-SCH-GAN (see the module docstring for the reading of the seed).

    Args:
        n_bits: code length c.
        hidden_dims, dropout: each hash MLP's hidden widths and dropout.
        alpha: α, weight of the modal-similarity term in D's loss.
        beta: β, weight of the modal-similarity term in G's loss.
        gamma: weight of the quantisation term (inside L_ms).
        margin: the triplet margin in Hamming bits per bit of code: m = 4 · margin · c in
            squared distance (‖a − b‖² = 4 × Hamming for ±1 codes).
        temperature: τ of the relevance softmax, relative: τ = temperature · 4c.
        pool_size: m, candidates (unlabelled items) the generator scores per minibatch.
        samples: k, picks sampled per query.
        epochs, batch_size, lr, weight_decay: Adam training of both models.
        patience: early-stopping patience in epochs (with validation data).
        seed: seeds initialisation, dropout, sampling and minibatch order.
        device: torch device string.
    """

    name = "ms-sch-gan"

    def __init__(
        self,
        n_bits: int = 32,
        hidden_dims: Sequence[int] = (512,),
        dropout: float = 0.1,
        alpha: float = 1.0,
        beta: float = 1.0,
        gamma: float = 0.1,
        margin: float = 0.125,
        temperature: float = 0.1,
        pool_size: int = 64,
        samples: int = 4,
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
        problems = [f"{key} must be >= 0 (got {getattr(self, key)})"
                    for key in ("alpha", "beta", "gamma", "margin") if not float(getattr(self, key)) >= 0]
        problems += [f"{key} must be >= 1 (got {getattr(self, key)})"
                     for key in ("pool_size", "samples") if int(getattr(self, key)) < 1]
        if not float(self.temperature) > 0:
            problems.append(f"temperature must be > 0 (got {self.temperature})")
        return problems

    def _build_net(self, image_dim: int, text_dim: int) -> MSSCHGANNet:
        return MSSCHGANNet(image_dim, text_dim, int(self.n_bits), tuple(self.hidden_dims), float(self.dropout))

    def _train(self, net: MSSCHGANNet, Xt, Yt, Lt, validate):
        return self._run_loop(net, len(Xt), self._step(net, Xt, Yt, Lt), validate)

    def _step(self, net: MSSCHGANNet, Xt, Yt, Lt):
        """One minibatch: a discriminator update, then a generator update (module docstring)."""
        from scicmr.methods.hashing.losses import pair_similarity

        d_opt = torch.optim.Adam(net.disc.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
        g_opt = torch.optim.Adam(net.gen.parameters(), lr=float(self.lr), weight_decay=float(self.weight_decay))
        inputs = {"image": Xt, "text": Yt}
        unlabelled = (torch.arange(len(Xt), device=Xt.device) if Lt is None
                      else torch.nonzero(Lt.sum(1) == 0).squeeze(1))
        if len(unlabelled) == 0:
            unlabelled = torch.arange(len(Xt), device=Xt.device)
        bits = int(self.n_bits)
        margin, tau = 4.0 * float(self.margin) * bits, 4.0 * float(self.temperature) * bits

        def step(index: "torch.Tensor") -> dict:
            labels = None if Lt is None else Lt[index]
            S, W = pair_similarity(labels, labels, index, index)
            pool = unlabelled[torch.randperm(len(unlabelled), device=Xt.device)[: int(self.pool_size)]]
            batch = {m: inputs[m][index] for m in inputs}
            cands = {m: inputs[m][pool] for m in inputs}
            picks = self._generate(net, batch, cands, tau)
            positives = torch.multinomial(S * W, 1).squeeze(1)  # a relevant item per query row
            d_opt.zero_grad(set_to_none=True)
            d_loss, d_terms = self._discriminator_loss(net, batch, cands, picks, positives, S, W, margin)
            d_loss.backward()
            d_opt.step()
            g_opt.zero_grad(set_to_none=True)
            g_loss, g_terms = self._generator_loss(net, batch, cands, S, W, positives, margin, tau)
            g_loss.backward()
            g_opt.step()
            return {"loss": float(d_loss.detach()), "g_loss": float(g_loss.detach()), **d_terms, **g_terms}

        return step

    def _generate(self, net, batch, cands, tau: float) -> dict:
        """Sample k candidate rows per query from G's relevance distribution, per direction."""
        from scicmr.methods.hashing.losses import relevance_log_probs

        with torch.no_grad():
            picks = {}
            for query, other in (("image", "text"), ("text", "image")):
                log_p = relevance_log_probs(net.gen[query](batch[query]), net.gen[other](cands[other]), tau)
                picks[query] = torch.multinomial(log_p.exp(), int(self.samples), replacement=True)
        return picks

    def _modal_similarity(self, towers, batch, S, W) -> "torch.Tensor":
        """L_ms: mean pairwise likelihood between and within modalities + γ · mean quantisation."""
        from scicmr.methods.hashing.losses import pairwise_likelihood_loss, quantisation_loss

        h_i, h_t = towers["image"](batch["image"]), towers["text"](batch["text"])
        known = W.sum()
        likelihood = sum(pairwise_likelihood_loss(a, b, S, W) for a, b in ((h_i, h_t), (h_i, h_i), (h_t, h_t))) / (3 * known)
        quant = (quantisation_loss(torch.sign(h_i).detach(), h_i) + quantisation_loss(torch.sign(h_t).detach(), h_t))
        return likelihood + float(self.gamma) * quant / (2 * h_i.numel())

    def _triplet_scores(self, towers, batch, cands, picks, positives, margin: float) -> dict:
        """f_φ of every sampled pick, per query direction: (b·k,) scores under ``towers``."""
        from scicmr.methods.hashing.losses import triplet_hash_score

        k = int(self.samples)
        scores = {}
        for query, other in (("image", "text"), ("text", "image")):
            h_q = towers[query](batch[query])
            h_pos = towers[other](batch[other])[positives]
            h_pick = towers[other](cands[other])[picks[query].reshape(-1)]
            scores[query] = triplet_hash_score(h_q.repeat_interleave(k, 0), h_pos.repeat_interleave(k, 0), h_pick, margin)
        return scores

    def _discriminator_loss(self, net, batch, cands, picks, positives, S, W, margin):
        scores = self._triplet_scores(net.disc, batch, cands, picks, positives, margin)
        adversarial = 0.5 * (scores["image"].mean() + scores["text"].mean())
        similarity = self._modal_similarity(net.disc, batch, S, W)
        return adversarial + float(self.alpha) * similarity, {"d_adv": float(adversarial.detach()),
                                                              "d_ms": float(similarity.detach())}

    def _generator_loss(self, net, batch, cands, S, W, positives, margin, tau):
        from scicmr.methods.hashing.losses import generator_reward, policy_gradient_loss, relevance_log_probs

        picks = self._generate(net, batch, cands, tau)
        with torch.no_grad():
            rewards = {q: generator_reward(s) for q, s in
                       self._triplet_scores(net.disc, batch, cands, picks, positives, margin).items()}
        policy = 0.0
        for query, other in (("image", "text"), ("text", "image")):
            log_p = relevance_log_probs(net.gen[query](batch[query]), net.gen[other](cands[other]), tau)
            chosen = log_p.gather(1, picks[query]).reshape(-1)
            policy = policy + 0.5 * policy_gradient_loss(chosen, rewards[query])
        similarity = self._modal_similarity(net.gen, batch, S, W)
        reward = 0.5 * (rewards["image"].mean() + rewards["text"].mean())
        return policy + float(self.beta) * similarity, {"g_reward": float(reward), "g_ms": float(similarity.detach())}
