"""Corr-AE: the Correspondence Autoencoder and its cross / full variants (a baseline).

Feng, Wang, Li, "Cross-modal Retrieval with Correspondence Autoencoder", ACM MM 2014 (cited by
seed 001 as [33]: "constructed by correlating hidden representations of two unimodal
autoencoders"; seed 002 as [3]). Seeds 001 compares MFCMR against it on its two
scientific-news data sets.

The model. One autoencoder per modality; the code layers f(p) (image) and g(q) (text) are tied
by a correlation (distance) loss. With p, q a pair:

    L_I = ||p − p̂||²,  L_T = ||q − q̂||²,  L_C = ||f(p) − g(q)||²,
    L = (1 − α)(L_I + L_T) + α·L_C.

The paper's three variants differ in what each code reconstructs (``variant``):

- ``"basic"`` (Corr-AE): the image code reconstructs the image, the text code the text.
- ``"cross"`` (Corr-Cross-AE): each code reconstructs the *other* modality
  (L = (1 − α)(||q − q̂(f(p))||² + ||p − p̂(g(q))||²) + α·L_C).
- ``"full"`` (Corr-Full-AE): each code reconstructs both modalities (four reconstruction terms,
  one decoder per code and target).

Readings chosen here (the paper leaves them to its implementation):

- Inputs. The paper feeds the autoencoders with representations pre-trained by RBMs (a
  Gaussian RBM for image features, a replicated-softmax RBM for word counts). scicmr's encoders
  already give dense features, so they are standardised with the training mean and standard
  deviation and fed directly; the decoders are linear at the output (real-valued targets) and
  ``hidden_dims`` adds the deeper layers the RBM stack gave.
- Units. Logistic units everywhere, the code layer included (``activation="sigmoid"``, the
  paper's choice); tanh / ReLU are offered for comparison.
- Scale of the terms. Reconstruction and correlation errors are averaged over entries rather
  than summed (see :mod:`scicmr.methods.common_space.autoencoders`), so α keeps its meaning across feature
  widths; α absorbs the constant factors.
- The representation is the code layer. scicmr retrieves by cosine, so codes are shifted by the
  mean code of the training pairs (both modalities pooled — the shift leaves every image-text
  Euclidean distance unchanged) and L2-normalised.
- Unsupervised. Labels are not used in the loss (as in the paper); with labels in the
  validation split they score the epochs (mean i2t / t2i full mAP, else pair MRR) for early
  stopping with the best epoch's weights restored.

Defaults, chosen on validation splits only (mean i2t / t2i full mAP; seeds 0-2 where given):
basic variant, α = 0.8, lr = 1e-3, logistic units, k = 64, one hidden layer of 256. On
Wikipedia (SIFT / LDA) α = 0.8 scored 0.255 / 0.244 / 0.246 against 0.238 / 0.233 / 0.233 for
α = 0.5; ReLU (0.228) and k = 32 (0.238) were worse. The EfficientNet-feature libraries
(web_news_zh, the demo corpus) preferred α = 0.5 with lr = 3e-4 (0.268 vs 0.208 and 0.541 vs
0.521): pass those there. The variants are close; basic or cross is best depending on the data.

Learned state: ``net_`` (encoders and decoders), ``image_norm_`` / ``text_norm_``
(:class:`~scicmr.methods.common_space.autoencoders.Standardiser`), ``code_centre_`` ((k,) float64),
``history_``, ``best_epoch_``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scicmr.errors import MissingDependencyError
from scicmr.methods.base import CrossModalMethod

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - torch is an extra
    raise MissingDependencyError("torch", "torch") from exc

from scicmr.methods.common_space import autoencoders as ae
from scicmr.methods.torch_state import train_seeded, validation_arrays

_WEIGHTS_FILE = "corr_ae_weights.pt"
_ARRAYS_FILE = "corr_ae_arrays.npz"
VARIANTS = ("basic", "cross", "full")
# (code that decodes, modality it reconstructs) for each variant.
_DECODERS = {
    "basic": (("image", "image"), ("text", "text")),
    "cross": (("image", "text"), ("text", "image")),
    "full": (("image", "image"), ("image", "text"), ("text", "image"), ("text", "text")),
}


class CorrAENet(nn.Module):
    """Two encoders to a k-d code and the variant's decoders, in one module (one state_dict).

    ``decoders[f"{target}_from_{source}"]`` maps the ``source`` code to the ``target`` features.
    """

    def __init__(self, image_dim: int, text_dim: int, hidden_dims: Sequence[int], code_dim: int,
                 activation: str, variant: str):
        super().__init__()
        hidden = [int(h) for h in hidden_dims]
        dims = {"image": int(image_dim), "text": int(text_dim)}
        self.encoders = nn.ModuleDict({
            name: ae.dense_stack([dims[name], *hidden, int(code_dim)], activation, True) for name in dims
        })
        self.pairs = _DECODERS[variant]
        self.decoders = nn.ModuleDict({
            f"{target}_from_{source}": ae.dense_stack(
                [int(code_dim), *reversed(hidden), dims[target]], activation, False)
            for source, target in self.pairs
        })

    def losses(self, image: torch.Tensor, text: torch.Tensor, alpha: float) -> dict[str, torch.Tensor]:
        """The variant's loss on a (b, d_img) / (b, d_txt) batch: ``loss``, ``rec``, ``corr``."""
        codes = {"image": self.encoders["image"](image), "text": self.encoders["text"](text)}
        inputs = {"image": image, "text": text}
        rec_terms = [
            ae.reconstruction_loss(self.decoders[f"{target}_from_{source}"](codes[source]), inputs[target])
            for source, target in self.pairs
        ]
        corr = ae.correlation_loss(codes["image"], codes["text"])
        total = ae.corr_ae_objective(rec_terms, corr, alpha)
        return {"loss": total, "rec": torch.stack(rec_terms).sum(), "corr": corr}


class CorrAE(CrossModalMethod):
    """Correspondence autoencoder (see the module docstring).

    Args:
        embed_dim: width k of the code layer (the shared space).
        hidden_dims: hidden widths between input and code in each encoder (decoders mirror).
        variant: ``"basic"`` (Corr-AE), ``"cross"`` (Corr-Cross-AE) or ``"full"`` (Corr-Full-AE).
        alpha: weight α in (0, 1) of the correlation loss; 1 − α weighs reconstruction.
        activation: ``"sigmoid"`` (the paper), ``"tanh"`` or ``"relu"`` for hidden and code units.
        epochs, batch_size, lr, weight_decay: Adam training.
        patience: early-stopping patience in epochs (with validation data; None: never stop early).
        seed: seeds initialisation and the minibatch order.
        device: torch device string.
    """

    name = "corr-ae"

    def __init__(
        self,
        embed_dim: int = 64,
        hidden_dims: Sequence[int] = (256,),
        variant: str = "basic",
        alpha: float = 0.8,
        activation: str = "sigmoid",
        epochs: int = 200,
        batch_size: int = 64,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        patience: int | None = 20,
        seed: int = 0,
        device: str = "cpu",
    ):
        self._init_params(locals())

    def _check_params(self) -> None:
        try:
            problems = ae.width_problems("hidden_dims", self.hidden_dims, allow_empty=True)
            if int(self.embed_dim) < 1:
                problems.append(f"embed_dim must be >= 1 (got {self.embed_dim})")
            if self.variant not in VARIANTS:
                problems.append(f"variant must be one of {', '.join(VARIANTS)} (got {self.variant!r})")
            if not 0.0 < float(self.alpha) < 1.0:
                problems.append(f"alpha must be in (0, 1) (got {self.alpha}); at 1 nothing is reconstructed "
                                "and the codes collapse")
            problems += ae.training_problems(self.epochs, self.batch_size, self.lr, self.weight_decay,
                                             self.patience, self.activation)
        except (TypeError, ValueError) as exc:
            problems = [f"a numeric parameter is not a number ({exc})"]
        self._raise_problems(problems)

    def _build_net(self, image_dim: int, text_dim: int) -> CorrAENet:
        net = CorrAENet(image_dim, text_dim, tuple(self.hidden_dims), int(self.embed_dim),
                        self.activation, self.variant)
        return net.to(ae.torch_device(self.device))

    # -- the contract
    def _fit(self, X, Y, L, validation, **side) -> None:
        from scicmr.evaluation.metrics import cross_modal_score
        from scicmr.methods.training import adam, dict_step

        self._check_params()
        device = ae.torch_device(self.device)
        self.image_norm_, self.text_norm_ = ae.Standardiser.fit(X), ae.Standardiser.fit(Y)
        Xt, Yt = self.image_norm_.tensor(X, device), self.text_norm_.tensor(Y, device)
        alpha = float(self.alpha)

        def make_step(net: CorrAENet):
            optimizer = adam(net, float(self.lr), float(self.weight_decay))
            return dict_step(lambda index: net.losses(Xt[index], Yt[index], alpha), optimizer)

        train_seeded(self, len(X), lambda: self._build_net(X.shape[1], Y.shape[1]), make_step,
                     lambda net: self._validator(net, Xt, Yt, validation, cross_modal_score), min_batch=1)
        self.code_centre_ = self._centre(self.net_, Xt, Yt)

    def _codes(self, net: CorrAENet, modality: str, inputs: "torch.Tensor") -> "torch.Tensor":
        return ae.run_in_chunks(net.encoders[modality], inputs, int(self.embed_dim))

    def _centre(self, net: CorrAENet, Xt, Yt) -> np.ndarray:
        """(k,) float64 mean code of the training pairs, both modalities pooled."""
        codes = torch.cat([self._codes(net, "image", Xt), self._codes(net, "text", Yt)])
        return codes.double().mean(dim=0).cpu().numpy()

    def _validator(self, net, Xt, Yt, validation, score_fn):
        if validation is None:
            return None
        Xv, Yv, Lv = validation_arrays(validation)
        device = Xt.device
        Xv, Yv = self.image_norm_.tensor(Xv, device), self.text_norm_.tensor(Yv, device)

        def score() -> float:
            centre = self._centre(net, Xt, Yt)  # the centre moves with the weights
            img = ae.centred_unit_rows(self._codes(net, "image", Xv), centre)
            txt = ae.centred_unit_rows(self._codes(net, "text", Yv), centre)
            return score_fn(img, txt, Lv)

        return score

    def _transform_image(self, X: np.ndarray) -> np.ndarray:
        inputs = self.image_norm_.tensor(X, ae.torch_device(self.device))
        return ae.centred_unit_rows(self._codes(self.net_, "image", inputs), self.code_centre_)

    def _transform_text(self, Y: np.ndarray) -> np.ndarray:
        inputs = self.text_norm_.tensor(Y, ae.torch_device(self.device))
        return ae.centred_unit_rows(self._codes(self.net_, "text", inputs), self.code_centre_)

    # -- persistence
    def _save_state(self, directory: Path) -> list[str]:
        ae.save_module(directory / _WEIGHTS_FILE, self.net_)
        ae.save_arrays(directory / _ARRAYS_FILE, {
            "image_mean": self.image_norm_.mean, "image_std": self.image_norm_.std,
            "text_mean": self.text_norm_.mean, "text_std": self.text_norm_.std,
            "code_centre": self.code_centre_,
        })
        return [_WEIGHTS_FILE, _ARRAYS_FILE]

    def _extra_config(self) -> dict[str, Any]:
        return {"history": self.history_, "best_epoch": self.best_epoch_}

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        arrays = ae.load_arrays(directory / _ARRAYS_FILE)
        self.image_norm_ = ae.Standardiser(arrays["image_mean"], arrays["image_std"])
        self.text_norm_ = ae.Standardiser(arrays["text_mean"], arrays["text_std"])
        self.code_centre_ = arrays["code_centre"]
        net = self._build_net(int(config["image_dim"]), int(config["text_dim"]))
        self.net_ = ae.load_module(directory / _WEIGHTS_FILE, net, ae.torch_device(self.device))
        extra = config.get("extra") or {}
        self.history_ = extra.get("history", [])
        self.best_epoch_ = extra.get("best_epoch")
