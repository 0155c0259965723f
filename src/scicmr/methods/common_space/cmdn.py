"""CMDN: Cross-Media Multiple Deep Networks, two-stage hierarchical learning (a baseline).

Peng, Huang, Qi, "Cross-Media Shared Representation by Hierarchical Learning with Multiple Deep
Networks", IJCAI 2016. Seed 000 compares CARDL with CMDN (MAP@1/5/10); seed 002 compares SMCR
with it and describes it as: "In the first stage, the CMDN does not only utilize separate
representations within the media as previous works, however jointly learns two complementary
separate representations for each media type; in the second stage, since each media type has
two complementary separate representations, the method combines separate representations
hierarchically in a deeper two-level network in order to jointly model inter-media and
intra-media information to generate shared representations", and later as a method that
"models inter-media invariance and intra-media discrimination in the multi-task learning
framework".

What is implemented (x an image feature row, y its text, both standardised):

Stage 1 — two complementary separate representations per modality (three ``train_loop`` runs):

- intra-media: a stacked denoising autoencoder per modality on its own features
  (:class:`~scicmr.methods.common_space.autoencoders.Autoencoder`, masking noise at rate ``noise``),
  L = ||x − dec(enc(x̃))||²; the representation is the code enc(x).
- inter-media: the paper uses a multimodal DBN; here a joint (bimodal) autoencoder over both
  modalities (:class:`~scicmr.methods.common_space.autoencoders.BimodalAutoencoder`), trained to rebuild
  both inputs from both, from the image alone and from the text alone
  (:func:`~scicmr.methods.common_space.autoencoders.bimodal_loss`). The inter-media representation of an
  image is the joint code computed from the image alone (the text input at its mean), and
  symmetrically for a text. An autoencoder replaces the DBN's contrastive-divergence training
  (same role, gradient training, deterministic with the seed).

Stage 2 — hierarchical combination into the common space (one ``train_loop`` run): per
modality, the two stage-1 codes are concatenated and standardised, r = [intra, inter], then a
two-level network (first level: ``shared_dims``, combining intra and inter; second level: the
``embed_dim`` code) maps r to the common representation c. The two modalities' networks are
trained together like a correspondence autoencoder with label supervision:

    L = (1 − α)(||r_I − r̂_I||² + ||r_T − r̂_T||²) + α·||c_I − c_T||²
        + λ·(CE(W c_I, ℓ) + CE(W c_T, ℓ)),

where r̂ is each network's mirrored decoder output (it keeps the code from collapsing), W a
linear classifier shared by both modalities and ℓ the item's labels (targets spread uniformly
over an item's labels). The label term is this module's reading of "intra-media
discrimination"; λ = ``label_weight`` (0, or no labels, gives the unsupervised model).

Other readings: all stage-1 representations are frozen in stage 2 (stage-wise learning);
stacked autoencoders are trained end-to-end rather than greedily layer by layer; squared errors
are averaged over entries (see :mod:`scicmr.methods.common_space.autoencoders`); logistic units by default.
Like Corr-AE, outputs are codes shifted by the pooled mean training code and L2-normalised
(scicmr retrieves by cosine). Early stopping: stage 1 on the negative validation
reconstruction loss of the stage's network, stage 2 on validation retrieval (mean i2t / t2i
full mAP with labels, else pair MRR); the best epoch's weights are restored at each stage.

Defaults, chosen on validation splits only (mean i2t / t2i full mAP on Wikipedia / the demo
corpus / web_news_zh): α = 0.5 (0.283 / 0.559 / 0.366; α = 0.8: 0.281 / 0.553 / 0.357) and
λ = 1 (λ = 0, unsupervised: 0.256 / 0.518 / 0.250; λ = 0.3: 0.280 / 0.559 / 0.351).

Learned state: ``net_`` (:class:`CMDNNet`), ``image_norm_`` / ``text_norm_`` (input
standardisers), ``image_rep_norm_`` / ``text_rep_norm_`` (stage-2 input standardisers),
``code_centre_`` ((k,) float64), ``n_classes_``, ``history_`` (stage → per-epoch records),
``best_epoch_`` (stage 2's).
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
from scicmr.methods.torch_state import seeded, validation_arrays

_WEIGHTS_FILE = "cmdn_weights.pt"
_ARRAYS_FILE = "cmdn_arrays.npz"
MODALITIES = ("image", "text")


class CMDNNet(nn.Module):
    """Every network of both stages in one module (one state_dict).

    - ``intra[m]``: stage-1 denoising autoencoder of modality m;
    - ``inter``: stage-1 bimodal autoencoder;
    - ``top_encoders[m]`` / ``top_decoders[m]``: stage-2 two-level network of modality m and
      its mirrored decoder;
    - ``classifier``: stage-2 shared linear label classifier (absent when ``n_classes`` is 0).
    """

    def __init__(self, dims: dict[str, int], intra_dims: Sequence[int], inter_dims: Sequence[int],
                 shared_dims: Sequence[int], embed_dim: int, activation: str, n_classes: int):
        super().__init__()
        intra, inter, shared = list(intra_dims), list(inter_dims), list(shared_dims)
        self.intra = nn.ModuleDict({
            m: ae.Autoencoder(dims[m], intra[:-1], intra[-1], activation) for m in MODALITIES
        })
        self.inter = ae.BimodalAutoencoder(dims["image"], dims["text"], inter[:-1], inter[-1], activation)
        rep_dim = int(intra[-1]) + int(inter[-1])
        self.top_encoders = nn.ModuleDict({
            m: ae.dense_stack([rep_dim, *shared, int(embed_dim)], activation, True) for m in MODALITIES
        })
        self.top_decoders = nn.ModuleDict({
            m: ae.dense_stack([int(embed_dim), *reversed(shared), rep_dim], activation, False) for m in MODALITIES
        })
        self.classifier = nn.Linear(int(embed_dim), int(n_classes)) if n_classes else None

    def separate(self, modality: str, inputs: torch.Tensor) -> torch.Tensor:
        """Stage-1 representation [intra, inter] of (b, d) standardised inputs → (b, rep_dim)."""
        inter = self.inter.encode_image(inputs) if modality == "image" else self.inter.encode_text(inputs)
        return torch.cat([self.intra[modality].encode(inputs), inter], dim=1)

    def top_losses(self, reps: dict[str, torch.Tensor], labels: torch.Tensor | None,
                   alpha: float, label_weight: float) -> dict[str, torch.Tensor]:
        """Stage-2 loss on standardised (b, rep_dim) reps: ``loss``, ``rec``, ``corr``, ``label``."""
        codes = {m: self.top_encoders[m](reps[m]) for m in MODALITIES}
        rec = [ae.reconstruction_loss(self.top_decoders[m](codes[m]), reps[m]) for m in MODALITIES]
        corr = ae.correlation_loss(codes["image"], codes["text"])
        total = ae.corr_ae_objective(rec, corr, alpha)
        label = total.new_zeros(())
        if labels is not None and self.classifier is not None and label_weight > 0:
            label = sum(ae.label_loss(self.classifier(codes[m]), labels) for m in MODALITIES)
            total = total + float(label_weight) * label
        return {"loss": total, "rec": torch.stack(rec).sum(), "corr": corr, "label": label}


class CMDN(CrossModalMethod):
    """Cross-media multiple deep networks (see the module docstring).

    Args:
        embed_dim: width k of the common representation.
        intra_dims: stage-1 denoising autoencoder widths per modality; the last is its code.
        inter_dims: stage-1 bimodal autoencoder widths: each modality's pathway, then the last
            is the joint code.
        shared_dims: stage-2 first-level widths (combining intra and inter) before the k-d code.
        activation: ``"sigmoid"`` (default, logistic units as in the paper), ``"tanh"``, ``"relu"``.
        noise: masking-noise rate in [0, 1) of the denoising autoencoders.
        alpha: stage-2 weight α in (0, 1) of the correlation loss against reconstruction.
        label_weight: stage-2 weight λ >= 0 of the label loss (used only when labels are given).
        pretrain_epochs: epochs of each stage-1 network; epochs: epochs of stage 2.
        batch_size, lr, weight_decay: Adam training, every stage.
        patience: early-stopping patience in epochs (with validation data; None: never stop early).
        seed: seeds initialisation, noise and the minibatch order.
        device: torch device string.
    """

    name = "cmdn"

    def __init__(
        self,
        embed_dim: int = 64,
        intra_dims: Sequence[int] = (256, 128),
        inter_dims: Sequence[int] = (256, 128),
        shared_dims: Sequence[int] = (128,),
        activation: str = "sigmoid",
        noise: float = 0.2,
        alpha: float = 0.5,
        label_weight: float = 1.0,
        pretrain_epochs: int = 50,
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
            problems = ae.width_problems("intra_dims", self.intra_dims, allow_empty=False)
            problems += ae.width_problems("inter_dims", self.inter_dims, allow_empty=False)
            problems += ae.width_problems("shared_dims", self.shared_dims, allow_empty=True)
            if int(self.embed_dim) < 1:
                problems.append(f"embed_dim must be >= 1 (got {self.embed_dim})")
            if not 0.0 <= float(self.noise) < 1.0:
                problems.append(f"noise must be in [0, 1) (got {self.noise})")
            if not 0.0 < float(self.alpha) < 1.0:
                problems.append(f"alpha must be in (0, 1) (got {self.alpha})")
            if not float(self.label_weight) >= 0:
                problems.append(f"label_weight must be >= 0 (got {self.label_weight})")
            if int(self.pretrain_epochs) < 1:
                problems.append(f"pretrain_epochs must be >= 1 (got {self.pretrain_epochs})")
            problems += ae.training_problems(self.epochs, self.batch_size, self.lr, self.weight_decay,
                                             self.patience, self.activation)
        except (TypeError, ValueError) as exc:
            problems = [f"a numeric parameter is not a number ({exc})"]
        self._raise_problems(problems)

    def _build_net(self, image_dim: int, text_dim: int, n_classes: int) -> CMDNNet:
        net = CMDNNet({"image": int(image_dim), "text": int(text_dim)}, tuple(self.intra_dims), tuple(self.inter_dims),
                      tuple(self.shared_dims), int(self.embed_dim), self.activation, int(n_classes))
        return net.to(ae.torch_device(self.device))

    # -- the contract
    def _fit(self, X, Y, L, validation, **side) -> None:
        self._check_params()
        device = ae.torch_device(self.device)
        val = validation_arrays(validation)
        self.image_norm_, self.text_norm_ = ae.Standardiser.fit(X), ae.Standardiser.fit(Y)
        inputs = {"image": self.image_norm_.tensor(X, device), "text": self.text_norm_.tensor(Y, device)}
        val_inputs = None if val is None else {
            "image": self.image_norm_.tensor(val[0], device), "text": self.text_norm_.tensor(val[1], device)}
        use_labels = L is not None and float(self.label_weight) > 0
        self.n_classes_ = int(L.shape[1]) if use_labels else 0
        labels = torch.from_numpy(L).to(device) if use_labels else None
        # seeded: initialisation and noise without disturbing the caller's RNG.
        with seeded(device, self.seed):
            net = self._build_net(X.shape[1], Y.shape[1], self.n_classes_)
            histories = self._stage_one(net, inputs, val_inputs)
            top = self._stage_two(net, inputs, labels, val_inputs, None if val is None else val[2])
        histories["top"] = top.history
        self.net_ = net.eval()
        self.code_centre_ = self._centre(net, inputs)
        self.stage_histories_ = histories
        self.history_ = top.history
        self.best_epoch_ = top.best_epoch

    def _loop(self, module, n, step, validate, stage: int, desc: str):
        from scicmr.methods.training import train_loop

        epochs = self.pretrain_epochs if stage < 3 else self.epochs
        return train_loop(
            module, n, step, epochs=int(epochs), batch_size=int(self.batch_size), seed=int(self.seed) + stage,
            validate=validate, patience=None if self.patience is None else int(self.patience), desc=desc,
        )

    def _stage_one(self, net: CMDNNet, inputs: dict, val_inputs: dict | None) -> dict[str, list]:
        """Train the two denoising autoencoders, then the bimodal one; their per-epoch histories."""
        from scicmr.methods.training import adam, dict_step

        histories, n = {}, len(inputs["image"])
        for m in MODALITIES:
            model, x = net.intra[m], inputs[m]

            def intra_loss(index, model=model, x=x):
                clean = x[index]
                return {"loss": ae.reconstruction_loss(model(ae.masking_noise(clean, float(self.noise)))[1], clean)}

            validate = None if val_inputs is None else (
                lambda model=model, xv=val_inputs[m]: -float(ae.reconstruction_loss(model(xv)[1], xv)))
            optimizer = adam(model, float(self.lr), float(self.weight_decay))
            stage = MODALITIES.index(m)  # 0, 1: their own minibatch orders
            histories[f"intra_{m}"] = self._loop(model, n, dict_step(intra_loss, optimizer), validate, stage,
                                                 f"cmdn intra {m}").history
        image, text = inputs["image"], inputs["text"]

        def inter_loss(index):
            return {"loss": ae.bimodal_loss(net.inter, image[index], text[index])}

        validate = None if val_inputs is None else (
            lambda: -float(ae.bimodal_loss(net.inter, val_inputs["image"], val_inputs["text"])))
        optimizer = adam(net.inter, float(self.lr), float(self.weight_decay))
        step = dict_step(inter_loss, optimizer)
        histories["inter"] = self._loop(net.inter, n, step, validate, 2, "cmdn inter").history
        return histories

    def _stage_two(self, net: CMDNNet, inputs: dict, labels, val_inputs: dict | None, val_labels):
        """Fit the stage-2 standardisers on the frozen stage-1 reps, then train the top networks."""
        from scicmr.evaluation.metrics import cross_modal_score
        from scicmr.methods.training import adam, dict_step

        reps = {m: ae.run_in_chunks(lambda x, m=m: net.separate(m, x), inputs[m], self._rep_dim()) for m in MODALITIES}
        self.image_rep_norm_ = ae.Standardiser.fit(reps["image"].cpu().numpy())
        self.text_rep_norm_ = ae.Standardiser.fit(reps["text"].cpu().numpy())
        reps = {m: self._rep_tensor(m, reps[m]) for m in MODALITIES}
        parts = {"encoders": net.top_encoders, "decoders": net.top_decoders}
        if net.classifier is not None:
            parts["classifier"] = net.classifier
        top = nn.ModuleDict(parts)  # shares the parameters: restoring it restores net
        alpha, label_weight = float(self.alpha), float(self.label_weight)

        def top_loss(index):
            batch_labels = None if labels is None else labels[index]
            return net.top_losses({m: reps[m][index] for m in MODALITIES}, batch_labels, alpha, label_weight)

        validate = None
        if val_inputs is not None:
            def validate():
                centre = self._centre(net, inputs)
                img = ae.centred_unit_rows(self._codes(net, "image", val_inputs["image"]), centre)
                txt = ae.centred_unit_rows(self._codes(net, "text", val_inputs["text"]), centre)
                return cross_modal_score(img, txt, val_labels)

        optimizer = adam(top, float(self.lr), float(self.weight_decay))
        return self._loop(top, len(inputs["image"]), dict_step(top_loss, optimizer), validate, 3, "cmdn top")

    def _rep_dim(self) -> int:
        return int(list(self.intra_dims)[-1]) + int(list(self.inter_dims)[-1])

    def _rep_tensor(self, modality: str, reps: "torch.Tensor") -> "torch.Tensor":
        norm = self.image_rep_norm_ if modality == "image" else self.text_rep_norm_
        return norm.tensor(reps.cpu().numpy(), reps.device)

    def _codes(self, net: CMDNNet, modality: str, inputs: "torch.Tensor") -> "torch.Tensor":
        """(n, d) standardised features → (n, k) common-space codes (no grad)."""

        def forward(x):
            reps = self._rep_tensor(modality, net.separate(modality, x))
            return net.top_encoders[modality](reps)

        return ae.run_in_chunks(forward, inputs, int(self.embed_dim))

    def _centre(self, net: CMDNNet, inputs: dict) -> np.ndarray:
        """(k,) float64 mean code of the training pairs, both modalities pooled."""
        codes = torch.cat([self._codes(net, m, inputs[m]) for m in MODALITIES])
        return codes.double().mean(dim=0).cpu().numpy()

    def _transform_image(self, X: np.ndarray) -> np.ndarray:
        inputs = self.image_norm_.tensor(X, ae.torch_device(self.device))
        return ae.centred_unit_rows(self._codes(self.net_, "image", inputs), self.code_centre_)

    def _transform_text(self, Y: np.ndarray) -> np.ndarray:
        inputs = self.text_norm_.tensor(Y, ae.torch_device(self.device))
        return ae.centred_unit_rows(self._codes(self.net_, "text", inputs), self.code_centre_)

    # -- persistence
    _NORMS = ("image_norm_", "text_norm_", "image_rep_norm_", "text_rep_norm_")

    def _save_state(self, directory: Path) -> list[str]:
        ae.save_module(directory / _WEIGHTS_FILE, self.net_)
        arrays = {"code_centre": self.code_centre_}
        for key in self._NORMS:
            arrays[f"{key}mean"], arrays[f"{key}std"] = getattr(self, key).mean, getattr(self, key).std
        ae.save_arrays(directory / _ARRAYS_FILE, arrays)
        return [_WEIGHTS_FILE, _ARRAYS_FILE]

    def _extra_config(self) -> dict[str, Any]:
        return {"n_classes": self.n_classes_, "best_epoch": self.best_epoch_, "stage_histories": self.stage_histories_}

    def _load_state(self, directory: Path, config: dict[str, Any]) -> None:
        arrays = ae.load_arrays(directory / _ARRAYS_FILE)
        for key in self._NORMS:
            setattr(self, key, ae.Standardiser(arrays[f"{key}mean"], arrays[f"{key}std"]))
        self.code_centre_ = arrays["code_centre"]
        extra = config.get("extra") or {}
        self.n_classes_ = int(extra.get("n_classes", 0))
        net = self._build_net(int(config["image_dim"]), int(config["text_dim"]), self.n_classes_)
        self.net_ = ae.load_module(directory / _WEIGHTS_FILE, net, ae.torch_device(self.device))
        self.stage_histories_ = extra.get("stage_histories", {})
        self.history_ = self.stage_histories_.get("top", [])
        self.best_epoch_ = extra.get("best_epoch")
