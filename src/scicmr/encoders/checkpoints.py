"""Encoders from user-supplied weights on the local disk (nothing is downloaded).

Frameworks:

- ``torchvision``: ``arch`` (e.g. ``resnet50``) built with ``weights=None``, then a state-dict
  file loaded; the last Linear layer of the classifier is dropped, so the output is the
  pooled (or penultimate) feature vector.
- ``timm``: ``timm.create_model(arch, pretrained=False, num_classes=0)`` (pooled features) and
  a state-dict file; classifier weights in the file are ignored.
- ``open_clip``: ``arch`` is a built-in model name or the stem of a custom model config JSON
  (``model_config``); ``path`` is the checkpoint file. Image tower (``encode_image``) or, with
  ``modality="text"``, the text tower (``encode_text``).
- ``hf``: a local Hugging Face model folder (``save_pretrained`` output). Images via
  ``get_image_features`` (CLIP-like) or the pooled output; text via ``get_text_features``.

The output dimension is discovered by running a dummy input. Weights that do not fit the
architecture (missing / unexpected keys, wrong shapes) raise InputError naming the keys.
Preprocessing is PIL + numpy (see :func:`scicmr.encoders.images.imagenet_batch`) with each
framework's own size, mean and std.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from scicmr._io import read_json
from scicmr.encoders._torchvision_compat import import_torchvision
from scicmr.encoders.base import Encoder, path_fingerprint
from scicmr.encoders.images import CROP_FRACTION, IMAGENET_MEAN, IMAGENET_STD, RESIZE_MODES, imagenet_batch, import_torch
from scicmr.errors import InputError, MissingDependencyError

FRAMEWORKS = ("torchvision", "timm", "open_clip", "hf")
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_FIX_ARCH = "check that arch names the architecture the weights were trained with"


@dataclass
class LoadedModel:
    """A ready model: ``embed`` maps a (b, 3, s, s) float tensor (or a list of texts) to (b, d)."""

    module: Any
    embed: Callable[[Any], Any]
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    crop_fraction: float


class CheckpointEncoder(Encoder):
    """Features from user-supplied weights: item -> (d,) float32, d found by a dummy forward.

    Args:
        framework: one of ``torchvision``, ``timm``, ``open_clip``, ``hf``.
        path: weights file (folder for ``hf``).
        arch: architecture name (torchvision / timm / open_clip).
        modality: ``"image"``; ``"text"`` for the text tower of open_clip / hf models.
        model_config: open_clip model config JSON for a custom architecture (its file stem
            becomes the arch name).
        image_size: input resolution (None: the model's own).
        resize: ``"crop"`` (centre crop) or ``"pad"`` (whole image on white).
        normalize: L2-normalise the vectors (usual for CLIP embeddings).
    """

    name = "checkpoint"

    def __init__(
        self,
        framework: str | None = None,
        path: str | None = None,
        arch: str | None = None,
        modality: str = "image",
        model_config: str | None = None,
        image_size: int | None = None,
        resize: str = "crop",
        normalize: bool = False,
    ):
        if framework not in FRAMEWORKS:
            raise InputError(f"checkpoint framework must be one of {', '.join(FRAMEWORKS)}; got {framework!r}")
        if modality not in ("image", "text"):
            raise InputError(f"modality must be 'image' or 'text', got {modality!r}")
        if modality == "text" and framework not in ("open_clip", "hf"):
            raise InputError(f"{framework} checkpoints are image models", fix="use modality='image'")
        if resize not in RESIZE_MODES:
            raise InputError(f"unknown resize mode {resize!r}", fix=f"choose one of: {', '.join(RESIZE_MODES)}")
        if image_size is not None and (isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 8):
            raise InputError(f"image_size must be an integer >= 8 or None, got {image_size!r}")
        self.framework = framework
        self.path = _existing_path(path, "path", folder=framework == "hf")
        self.model_config = _existing_path(model_config, "model_config") if model_config is not None else None
        if arch is None and framework in ("torchvision", "timm"):
            raise InputError(f"a {framework} checkpoint needs arch=", fix="e.g. arch='resnet50'")
        if framework == "open_clip" and arch is None:
            if self.model_config is None:
                raise InputError("an open_clip checkpoint needs arch= or model_config=", fix="e.g. arch='ViT-B-32'")
            arch = Path(self.model_config).stem
        self.arch = arch
        self.modality = modality
        self.image_size = image_size
        self.resize = resize
        self.normalize = bool(normalize)
        self._loaded: LoadedModel | None = None
        self._dim_value: int | None = None

    def _identity(self) -> dict[str, Any]:
        identity = {"weights": path_fingerprint(self.path)}
        if self.model_config is not None:
            identity["model_config_file"] = path_fingerprint(self.model_config)
        return identity

    def load_model(self) -> LoadedModel:
        """Build the architecture and load the weights (once)."""
        if self._loaded is None:
            import_torch()
            loader = {"torchvision": _load_torchvision, "timm": _load_timm, "open_clip": _load_open_clip, "hf": _load_hf}
            self._loaded = loader[self.framework](self)
            self._loaded.module.eval()
        return self._loaded

    def _dim(self) -> int:
        if self._dim_value is None:
            loaded = self.load_model()
            if self.modality == "text":
                probe = ["a"]
            else:
                probe = import_torch().zeros(1, 3, loaded.image_size, loaded.image_size)
            self._dim_value = int(self._forward(probe).shape[1])
        return self._dim_value

    def _forward(self, inputs) -> np.ndarray:
        torch = import_torch()
        with torch.inference_mode():
            out = self.load_model().embed(inputs)
            out = torch.flatten(out, 1).float()
            if self.normalize:
                out = torch.nn.functional.normalize(out, dim=1)
        return out.numpy()

    def _encode_batch(self, batch: list[Any]) -> np.ndarray:
        if self.modality == "text":
            return self._forward(list(batch))
        loaded = self.load_model()
        pixels = imagenet_batch(
            batch, loaded.image_size, mean=loaded.mean, std=loaded.std, resize=self.resize, crop_fraction=loaded.crop_fraction
        )
        return self._forward(import_torch().from_numpy(pixels))


def _existing_path(path: Any, what: str, *, folder: bool = False) -> str:
    if path is None:
        kind = "folder" if folder else "file"
        raise InputError(f"a checkpoint encoder needs {what}=", fix=f"pass the local {kind} with the weights")
    resolved = Path(path).expanduser()
    if not resolved.exists():
        raise InputError(f"{what} {str(path)!r} does not exist", fix="check the path (weights are never downloaded)")
    if folder and not resolved.is_dir():
        raise InputError(f"{what} {str(path)!r} must be a model folder (save_pretrained output)")
    if not folder and not resolved.is_file():
        raise InputError(f"{what} {str(path)!r} must be a file")
    return str(resolved.resolve())


# ---------------------------------------------------------------------------- state dicts
def read_state_dict(path: str | Path) -> dict[str, Any]:
    """Tensors from a .safetensors / torch.save file; unwraps {"state_dict": ...} / {"model": ...}
    and strips DataParallel ``module.`` / torch.compile ``_orig_mod.`` prefixes."""
    torch = import_torch()
    try:
        if str(path).endswith(".safetensors"):
            from safetensors.torch import load_file

            state: Any = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling / format errors come in many types
        raise InputError(
            f"cannot read weights from {path} ({type(exc).__name__}: {str(exc)[:200]})",
            fix="save them with torch.save(model.state_dict(), path) or as .safetensors",
        ) from None
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict) or not state or not all(torch.is_tensor(v) for v in state.values()):
        raise InputError(f"{path} does not hold a state dict of tensors", fix="save model.state_dict(), not the model object")
    for prefix in ("module.", "_orig_mod."):
        if all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
    return state


def _key_list(keys: list[str]) -> str:
    shown = ", ".join(keys[:5])
    return shown + (f" (+{len(keys) - 5} more)" if len(keys) > 5 else "")


def load_state_strict(module: Any, state: dict[str, Any], path: str, what: str) -> None:
    """Load ``state`` into ``module``; InputError naming missing / unexpected keys or shapes."""
    try:
        result = module.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # shape mismatches raise even with strict=False
        raise InputError(f"the weights in {path} do not fit {what}: {str(exc)[:600]}", fix=_FIX_ARCH) from None
    problems = []
    if result.missing_keys:
        problems.append(f"missing keys: {_key_list(list(result.missing_keys))}")
    if result.unexpected_keys:
        problems.append(f"unexpected keys: {_key_list(list(result.unexpected_keys))}")
    if problems:
        raise InputError(f"the weights in {path} do not fit {what}: {'; '.join(problems)}", fix=_FIX_ARCH)


def _drop_classifier_keys(state: dict[str, Any], prefixes: tuple[str, ...], module: Any) -> dict[str, Any]:
    """Remove classifier weights the feature model no longer has (any number of classes)."""
    own = set(module.state_dict())
    return {k: v for k, v in state.items() if k in own or not k.startswith(prefixes)}


# ---------------------------------------------------------------------------- torchvision
def strip_torchvision_classifier(model: Any, arch: str) -> str:
    """Replace the classifier's last Linear layer with Identity; return its state-dict prefix."""
    import torch.nn as nn

    for attr in ("fc", "classifier", "heads", "head"):
        layer = getattr(model, attr, None)
        if isinstance(layer, nn.Linear):
            setattr(model, attr, nn.Identity())
            return f"{attr}."
        if isinstance(layer, nn.Sequential):
            linear = [name for name, child in layer.named_children() if isinstance(child, nn.Linear)]
            if linear:
                setattr(layer, linear[-1], nn.Identity())
                return f"{attr}.{linear[-1]}."
    raise InputError(f"cannot find a Linear classifier in torchvision model {arch!r}", fix="use framework='timm' for this model")


def _load_torchvision(encoder: CheckpointEncoder) -> LoadedModel:
    torchvision = import_torchvision()
    try:
        model = torchvision.models.get_model(encoder.arch, weights=None)
    except (ValueError, KeyError):
        raise InputError(f"torchvision has no model {encoder.arch!r}", fix="see torchvision.models.list_models()") from None
    prefix = strip_torchvision_classifier(model, encoder.arch)
    state = _drop_classifier_keys(read_state_dict(encoder.path), (prefix,), model)
    load_state_strict(model, state, encoder.path, f"torchvision {encoder.arch}")
    return LoadedModel(model, model, encoder.image_size or 224, IMAGENET_MEAN, IMAGENET_STD, CROP_FRACTION)


# ---------------------------------------------------------------------------- timm
def _load_timm(encoder: CheckpointEncoder) -> LoadedModel:
    import_torchvision()  # timm imports torchvision
    try:
        import timm
        import timm.data
    except ImportError:
        raise MissingDependencyError("timm", "checkpoints") from None
    try:
        model = timm.create_model(encoder.arch, pretrained=False, num_classes=0)
    except RuntimeError:
        raise InputError(f"timm has no model {encoder.arch!r}", fix="see timm.list_models('*resnet*')") from None
    classifier = model.pretrained_cfg.get("classifier") or ()
    names = (classifier,) if isinstance(classifier, str) else tuple(classifier)
    state = _drop_classifier_keys(read_state_dict(encoder.path), tuple(f"{n}." for n in names), model)
    load_state_strict(model, state, encoder.path, f"timm {encoder.arch}")
    data = timm.data.resolve_data_config({}, model=model)
    size = encoder.image_size or int(data["input_size"][-1])
    return LoadedModel(model, model, size, tuple(data["mean"]), tuple(data["std"]), float(data.get("crop_pct", CROP_FRACTION)))


# ---------------------------------------------------------------------------- open_clip
def _load_open_clip(encoder: CheckpointEncoder) -> LoadedModel:
    import_torchvision()  # open_clip imports torchvision
    try:
        import open_clip
    except ImportError:
        raise MissingDependencyError("open_clip_torch", "checkpoints") from None
    if encoder.model_config is not None:
        _register_open_clip_config(open_clip, encoder.model_config, encoder.arch)
    if encoder.arch not in open_clip.list_models():
        raise InputError(f"open_clip has no model config {encoder.arch!r}", fix="pass model_config= with the model's JSON config")
    try:
        model, _, _ = open_clip.create_model_and_transforms(encoder.arch, pretrained=encoder.path, device="cpu")
    except RuntimeError as exc:
        problem = f"the weights in {encoder.path} do not fit open_clip {encoder.arch}: {str(exc)[:600]}"
        raise InputError(problem, fix=_FIX_ARCH) from None
    preprocess = getattr(model.visual, "preprocess_cfg", {})
    size = encoder.image_size or _square_size(preprocess.get("size", 224))
    if encoder.modality == "image":
        embed = model.encode_image
    else:
        tokenizer = open_clip.get_tokenizer(encoder.arch)
        embed = lambda texts: model.encode_text(tokenizer(texts))  # noqa: E731
    mean = tuple(preprocess.get("mean", CLIP_MEAN))
    std = tuple(preprocess.get("std", CLIP_STD))
    return LoadedModel(model, embed, size, mean, std, 1.0)


def _register_open_clip_config(open_clip: Any, config_path: str, arch: str) -> None:
    """Add a custom model config JSON to open_clip's registry (named by its file stem)."""
    try:
        config = read_json(config_path)
    except ValueError as exc:
        raise InputError(f"model_config {config_path} is not valid JSON ({exc})") from None
    if not all(key in config for key in ("embed_dim", "vision_cfg", "text_cfg")):
        raise InputError(
            f"model_config {config_path} lacks embed_dim / vision_cfg / text_cfg", fix="use an open_clip model config"
        )
    if Path(config_path).stem != arch:
        raise InputError(
            f"open_clip names a config by its file stem ({Path(config_path).stem!r}), but arch={arch!r}",
            fix="leave arch unset or rename the config file to <arch>.json",
        )
    open_clip.add_model_config(config_path)


def _square_size(size: Any) -> int:
    if isinstance(size, (list, tuple)):
        if len(set(size)) != 1:
            raise InputError(f"non-square model input {tuple(size)} is not supported", fix="pass image_size=")
        return int(size[0])
    return int(size)


# ---------------------------------------------------------------------------- Hugging Face
def _load_hf(encoder: CheckpointEncoder) -> LoadedModel:
    import_torchvision(optional=True)  # transformers imports torchvision when it is installed
    from scicmr.encoders.sentence import _quiet_transformers

    try:
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        raise MissingDependencyError("transformers", "text") from None
    try:
        with _quiet_transformers():
            model, info = AutoModel.from_pretrained(encoder.path, local_files_only=True, output_loading_info=True)
    except (OSError, ValueError, KeyError) as exc:
        raise InputError(f"{encoder.path} is not a loadable Hugging Face model folder ({str(exc)[:300]})") from None
    problems = [
        f"{kind.replace('_', ' ')}: {_key_list([str(k) for k in info[kind]])}"
        for kind in ("missing_keys", "unexpected_keys", "mismatched_keys")
        if info.get(kind)
    ]
    if problems:
        raise InputError(f"the weights in {encoder.path} do not fit {type(model).__name__}: {'; '.join(problems)}", fix=_FIX_ARCH)
    size, mean, std, crop_fraction = _hf_preprocessing(encoder.path, model.config, encoder.image_size)
    if encoder.modality == "image":
        embed = lambda pixels: _hf_image_features(model, pixels)  # noqa: E731
    else:
        tokenizer = AutoTokenizer.from_pretrained(encoder.path, local_files_only=True)
        embed = lambda texts: _hf_text_features(model, tokenizer, texts)  # noqa: E731
    return LoadedModel(model, embed, size, mean, std, crop_fraction)


def _pooled(output: Any) -> Any:
    """A (b, d) tensor from a transformers output: the tensor itself, pooled output or CLS."""
    import torch

    if torch.is_tensor(output):
        return output
    pooled = getattr(output, "pooler_output", None)
    if pooled is not None:
        return pooled
    return output.last_hidden_state[:, 0]


def _hf_image_features(model: Any, pixels: Any) -> Any:
    if hasattr(model, "get_image_features"):  # CLIP-like: projected into the shared space
        return _pooled(model.get_image_features(pixel_values=pixels))
    return _pooled(model(pixel_values=pixels))


def _hf_text_features(model: Any, tokenizer: Any, texts: list[str]) -> Any:
    # Truncate to what the position embeddings allow: tokenizers saved without a
    # model_max_length report a huge sentinel value.
    text_config = getattr(model.config, "text_config", model.config)
    limit = min(int(tokenizer.model_max_length), int(getattr(text_config, "max_position_embeddings", 10**9)))
    tokens = tokenizer(texts, padding=True, truncation=True, max_length=limit, return_tensors="pt")
    inputs = {"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]}
    if hasattr(model, "get_text_features"):
        return _pooled(model.get_text_features(**inputs))
    return _pooled(model(**inputs))


def _hf_preprocessing(path: str, config: Any, image_size: int | None) -> tuple[int, tuple, tuple, float]:
    """(size, mean, std, crop fraction) from preprocessor_config.json, else the model config."""
    file = Path(path) / "preprocessor_config.json"
    processor = read_json(file) if file.exists() else {}

    def edge(value: Any) -> int | None:
        if isinstance(value, dict):
            value = value.get("shortest_edge") or value.get("height")
        return int(value) if value else None

    vision = getattr(config, "vision_config", config)
    native = getattr(vision, "image_size", 224)
    native = _square_size(native) if isinstance(native, (list, tuple)) else int(native)
    crop, resize = edge(processor.get("crop_size")), edge(processor.get("size"))
    size = image_size or crop or resize or native
    crop_fraction = crop / resize if crop and resize and crop < resize else 1.0
    clip_like = "clip" in str(getattr(config, "model_type", "")).lower()
    mean = tuple(processor.get("image_mean") or (CLIP_MEAN if clip_like else IMAGENET_MEAN))
    std = tuple(processor.get("image_std") or (CLIP_STD if clip_like else IMAGENET_STD))
    return size, mean, std, crop_fraction
