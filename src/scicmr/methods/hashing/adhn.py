"""ADHN — attention deep hashing network for query images (seed 003), an image-only hasher.

>>> model = ADHN(n_bits=32, backbone="efficientnet-lite0").fit(images, labels)   # doctest: +SKIP
>>> codes = model.codes(query_images)        # (q, 4) uint8 packed codes          # doctest: +SKIP

Training (end to end on labelled images): the pairwise-similarity likelihood L_s over the
ordered pairs of each minibatch (items sharing a label are similar) plus λ times the
quantisation loss ||h - sign(h)||² (:mod:`scicmr.methods.hashing.adhn_losses`), Adam on the trainable part:
the later backbone stages, the SE-G blocks and the hash layer (the stem and early stages are
frozen, which keeps CPU training feasible). The frozen prefix — every segment before the first
trainable one — is a fixed map, so its outputs are computed once per fit and reused by every
epoch (identical results, several times faster).

Where it sits: ADHN maps images (not feature vectors) to codes and has no text side, so it is
not in the cross-modal method registry; it is registered in :mod:`scicmr.hashing.registry`
(``method_class("adhn")``, inputs "images") and follows the hashing contract of :mod:`scicmr.hashing.base`
(``produces_codes``, ``n_bits``, relaxed ``transform(images)``, packed ``codes(images)``).

Validation: with ``validation=(images, labels)`` the epoch whose validation queries rank the
training images best (full mAP by Hamming ranking) is kept.
"""

from __future__ import annotations

import inspect
import io
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scicmr import __version__
from scicmr._io import atomic_directory, atomic_write_bytes, atomic_write_json, read_json
from scicmr.errors import InputError, LibraryError, NotFittedError
from scicmr.hashing.base import HashingMixin, check_bits

_CHUNK = 64  # images per forward pass outside training (memory only; results do not depend on it)


def _label_array(labels: Any, n: int) -> np.ndarray:
    """(n,) int64 class ids or (n, C) float32 multi-hot; InputError otherwise."""
    array = np.asarray(labels)
    if array.ndim == 1 and array.dtype.kind in "iu" and len(array) == n:
        return array.astype(np.int64)
    if array.ndim == 2 and len(array) == n and array.dtype.kind in "iufb":
        return (array != 0).astype(np.float32)
    raise InputError(
        f"labels must be (n,) integer class ids or an (n, C) multi-hot matrix with n={n}; got {array.dtype} {array.shape}",
        fix="give one label (or one label row) per image",
    )


def _as_image_list(images: Any) -> list:
    """Paths, PIL images, encoded bytes, or an (n, H, W, 3) uint8 array → a list of image-likes."""
    if isinstance(images, np.ndarray):
        from PIL import Image

        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise InputError(f"an image array must be (n, H, W, 3) uint8, got {images.dtype} {images.shape}")
        return [Image.fromarray(image) for image in images]
    return list(images)


class ADHN(HashingMixin):
    """Attention deep hashing network (see the module docstring).

    Args:
        n_bits: code length b (16, 32, 48, 64 in the seed).
        backbone: ``"efficientnet-lite0"``, ``"resnet50"`` (needs ``checkpoint``) or ``"tiny"``.
        checkpoint: local ResNet-50 state dict for ``backbone="resnet50"``.
        attention: ``"se-g"`` (the paper), ``"se"`` (ReLU excitation) or ``"none"`` (ablation).
        reduction: SE-G squeeze ratio r.
        excite_bias: initial bias of the SE-G excitation layer (None: PyTorch's default init,
            channel weights start near 0.5; e.g. 3.0 starts them near 0.95, close to identity).
        frozen_stages: leading backbone stages kept frozen (None: the backbone's default).
        image_size, resize: input side in pixels and ``"pad"`` (whole figure on white) or ``"crop"``.
        epochs, batch_size, weight_decay: Adam training.
        lr: learning rate of the new parts (SE-G blocks, hash layer); backbone_lr: of the
            trainable pretrained stages (smaller, so fine-tuning does not wash out ImageNet features).
        quantisation_weight: λ in L = L_s + λ L_q.
        seed: initialisation and minibatch order.
    """

    def __init__(self, n_bits: int = 32, backbone: str = "efficientnet-lite0", checkpoint: str | None = None,
                 attention: str = "se-g", reduction: int = 16, excite_bias: float | None = None,
                 frozen_stages: int | None = None,
                 image_size: int = 128, resize: str = "pad", epochs: int = 20, batch_size: int = 32,
                 lr: float = 1e-3, backbone_lr: float = 1e-4, weight_decay: float = 1e-4,
                 quantisation_weight: float = 0.1, seed: int = 0):
        self.n_bits = n_bits
        self.backbone = backbone
        self.checkpoint = checkpoint
        self.attention = attention
        self.reduction = reduction
        self.excite_bias = excite_bias
        self.frozen_stages = frozen_stages
        self.image_size = image_size
        self.resize = resize
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.backbone_lr = backbone_lr
        self.weight_decay = weight_decay
        self.quantisation_weight = quantisation_weight
        self.seed = seed

    # -- parameters
    def get_params(self) -> dict[str, Any]:
        names = [p for p in inspect.signature(type(self).__init__).parameters if p != "self"]
        return {name: getattr(self, name) for name in names}

    def __repr__(self) -> str:
        return f"ADHN({', '.join(f'{k}={v!r}' for k, v in self.get_params().items())})"

    def _check_params(self) -> None:
        check_bits(self.n_bits)
        problems = [f"{name} must be >= {low}, got {getattr(self, name)!r}"
                    for name, low in (("epochs", 1), ("batch_size", 2), ("image_size", 16), ("reduction", 1))
                    if not isinstance(getattr(self, name), int) or getattr(self, name) < low]
        if not (float(self.lr) > 0 and float(self.backbone_lr) >= 0 and float(self.quantisation_weight) >= 0):
            problems.append(f"lr must be > 0, backbone_lr and quantisation_weight >= 0; got {self.lr}, "
                            f"{self.backbone_lr}, {self.quantisation_weight}")
        if problems:
            raise InputError("bad ADHN parameters: " + "; ".join(problems), fix="see help(scicmr.methods.hashing.adhn.ADHN)")

    # -- pixels
    def pixels(self, images: Any) -> "Any":
        """(n,) image-likes → (n, 3, S, S) float32 tensor, ImageNet-normalised (S = image_size)."""
        import torch

        from scicmr.encoders.images import imagenet_batch

        return torch.from_numpy(imagenet_batch(_as_image_list(images), int(self.image_size), resize=self.resize))

    def _build(self, pretrained: bool):
        from scicmr.methods.hashing.adhn_net import ADHNNet, build_backbone

        backbone = build_backbone(self.backbone, pretrained, self.checkpoint)
        return ADHNNet(backbone, int(self.n_bits), self.attention, int(self.reduction), self.frozen_stages,
                       self.excite_bias)

    def _forward_chunks(self, pixels, start: int = 0, stop: int | None = None, codes: bool = True):
        """Eval-mode, no-grad pass in chunks: segments start..stop (or to the codes)."""
        import torch

        self.net_.eval()
        with torch.no_grad():
            parts = [self.net_.codes_from(pixels[i : i + _CHUNK], start) if codes
                     else self.net_.run(pixels[i : i + _CHUNK], start, stop)
                     for i in range(0, len(pixels), _CHUNK)]
        return torch.cat(parts)

    # -- the contract
    def fit(self, images: Sequence[Any], labels: Any, *, validation: tuple | None = None) -> "ADHN":
        """Train on (n,) images with (n,) class ids or (n, C) multi-hot labels; returns self."""
        import torch

        from scicmr.methods.hashing.adhn_losses import adhn_loss
        from scicmr.methods.training import loss_step, train_loop

        self._check_params()
        images = _as_image_list(images)
        if len(images) < 2:
            raise InputError(f"ADHN needs at least 2 labelled images, got {len(images)}")
        targets = torch.from_numpy(_label_array(labels, len(images)))
        started = time.perf_counter()
        with torch.random.fork_rng():
            torch.manual_seed(int(self.seed))
            self.net_ = self._build(pretrained=True)
            start = self.net_.first_trainable()
            # The frozen prefix is a fixed map: compute it once, train from its output.
            cached = self._forward_chunks(self.pixels(images), 0, start, codes=False)
            validate = self._validator(validation, cached, start, targets)

            def loss(index: "torch.Tensor") -> "torch.Tensor":
                value, _ = adhn_loss(self.net_.codes_from(cached[index], start), targets[index],
                                     float(self.quantisation_weight))
                return value

            optimiser = self._optimiser()
            result = train_loop(self.net_, len(images), loss_step(loss, optimiser), epochs=int(self.epochs),
                                batch_size=int(self.batch_size), seed=int(self.seed), validate=validate,
                                patience=None, min_batch=2, desc="ADHN")
        self.train_seconds_ = time.perf_counter() - started
        self.history_, self.best_epoch_ = result.history, result.best_epoch
        self.parameters_ = self.net_.parameter_counts()
        self.fitted_ = True
        return self

    def _optimiser(self):
        """Adam: new parts (attention, hash layer) at ``lr``, trainable backbone stages at ``backbone_lr``."""
        import torch

        new = [*self.net_.attention.parameters(), *self.net_.hash.parameters()]
        fresh = {id(p) for p in new}
        backbone = [p for p in self.net_.parameters() if p.requires_grad and id(p) not in fresh]
        groups = [{"params": new, "lr": float(self.lr)}]
        if backbone:
            groups.append({"params": backbone, "lr": float(self.backbone_lr)})
        return torch.optim.Adam(groups, weight_decay=float(self.weight_decay))

    def _validator(self, validation, cached, start: int, targets):
        if validation is None:
            return None
        from scicmr.evaluation.metrics import retrieval_metrics

        val_images, val_labels = validation
        val_pixels = self.pixels(val_images)
        val_labels = _label_array(val_labels, len(val_pixels))

        def multi_hot(labels: np.ndarray, classes: np.ndarray) -> np.ndarray:
            return (labels[:, None] == classes[None, :]).astype(np.float32) if labels.ndim == 1 else labels

        classes = np.unique(np.concatenate([targets.numpy(), val_labels])) if val_labels.ndim == 1 else None
        train_hot, val_hot = multi_hot(targets.numpy(), classes), multi_hot(val_labels, classes)

        def score() -> float:
            # Cosine of ±1 vectors is 1 - 2·hamming / bits; the metrics scale the exact dot
            # products by one common factor, so it ranks as Hamming distance, ties by index.
            database = np.where(self._forward_chunks(cached, start).numpy() >= 0, 1.0, -1.0)
            queries = np.where(self._forward_chunks(val_pixels).numpy() >= 0, 1.0, -1.0)
            return retrieval_metrics(queries, database, val_hot, train_hot, ks=(), dtype=np.float64)["map"]

        return score

    def transform(self, images: Sequence[Any]) -> np.ndarray:
        """(n,) images → (n, n_bits) float32 relaxed codes in (-1, 1)."""
        if not getattr(self, "fitted_", False):
            raise NotFittedError("ADHN")
        return self._forward_chunks(self.pixels(images)).numpy().astype(np.float32)

    # -- persistence
    def save(self, directory: str | Path) -> Path:
        """config.json (params, history, parameter counts, training time) + weights.pt, atomically."""
        import torch

        if not getattr(self, "fitted_", False):
            raise NotFittedError("ADHN")
        directory = Path(directory)
        buffer = io.BytesIO()
        torch.save({k: v.detach().cpu() for k, v in self.net_.state_dict().items()}, buffer)
        with atomic_directory(directory) as tmp:
            atomic_write_bytes(tmp / "weights.pt", buffer.getvalue())
            atomic_write_json(tmp / "config.json", {
                "method": "adhn", "class": f"{type(self).__module__}.{type(self).__qualname__}",
                "params": self.get_params(), "n_bits": int(self.n_bits), "history": self.history_,
                "best_epoch": self.best_epoch_, "train_seconds": self.train_seconds_,
                "parameters": self.parameters_, "scicmr_version": __version__, "state_files": ["weights.pt"],
            })
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> "ADHN":
        """Restore a model saved by :meth:`save`; it gives identical codes."""
        import torch

        directory = Path(directory)
        try:
            config = read_json(directory / "config.json")
        except (OSError, ValueError) as exc:
            raise LibraryError(f"{directory} holds no readable ADHN config ({exc})", fix="train and save a model first") from None
        saved_as = config.get("method") or config.get("hasher")  # "hasher": saved by scicmr 0.1
        if saved_as != "adhn":
            raise InputError(f"{directory} holds a {saved_as!r} model, not 'adhn'")
        model = cls(**config["params"])
        model.net_ = model._build(pretrained=False)
        state = torch.load(directory / "weights.pt", map_location="cpu", weights_only=True)
        model.net_.load_state_dict(state)
        model.net_.eval()
        model.history_, model.best_epoch_ = config.get("history", []), config.get("best_epoch")
        model.train_seconds_, model.parameters_ = config.get("train_seconds"), config.get("parameters")
        model.fitted_ = True
        return model
