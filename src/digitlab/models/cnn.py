"""A small convolutional network (Part II of the course): fast on a laptop CPU, >99% on MNIST.

Each block is conv 3x3 -> max-pool 2x2 -> BatchNorm -> ReLU, halving the image each time
(28 -> 14 -> 7). Pooling *before* BatchNorm and ReLU gives the same kind of network as the usual
conv-BN-ReLU-pool order but runs BN and ReLU on a quarter of the pixels; on a CPU those
memory-bound steps cost more than the convolutions. Channels-last memory layout speeds up the
oneDNN convolutions and pooling on CPU further (both measured in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from digitlab.models.base import Network, check_positive

POOL = 2  # each block halves height and width


@dataclass(frozen=True)
class CNNConfig:
    channels: tuple[int, ...] = (32, 64)  # output channels of each conv block
    hidden: int = 128  # neurons of the fully connected layer before the output; 0 for none
    dropout: float = 0.25  # before each fully connected layer, while training
    kernel_size: int = 3  # odd, so 'same' padding keeps the size before pooling
    batch_norm: bool = True  # BatchNorm2d in every block (the conv then needs no bias)
    channels_last: bool = True  # NHWC memory layout: faster convolutions on CPU (and GPU tensor cores)
    image_size: int = 28  # side of the square input images (build(..., image_shape=) sets it)
    num_classes: int = 10  # output scores, one per class

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))  # lists from JSON/CLI become tuples
        if not self.channels:
            raise ValueError("channels must name at least one conv block, e.g. (32, 64)")
        for width in self.channels:
            check_positive("every channel count", width)
        if self.image_size // POOL ** len(self.channels) < 1:
            raise ValueError(f"{len(self.channels)} blocks halve a {self.image_size}-pixel image to nothing; use fewer channels entries")
        if self.hidden < 0:
            raise ValueError(f"hidden must be 0 (none) or positive, got {self.hidden!r}")
        if self.kernel_size < 1 or self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd and positive, got {self.kernel_size!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        check_positive("image_size", self.image_size)
        check_positive("num_classes", self.num_classes)

    @property
    def feature_size(self) -> int:
        """Numbers per image after the last block: channels x side x side."""
        side = self.image_size // POOL ** len(self.channels)
        return self.channels[-1] * side * side


def conv_block(in_channels: int, out_channels: int, config: CNNConfig) -> nn.Sequential:
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, config.kernel_size, padding=config.kernel_size // 2, bias=not config.batch_norm),
        nn.MaxPool2d(POOL),
    ]
    if config.batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class CNN(Network):
    """Conv blocks, then [dropout, Linear, ReLU] and dropout, Linear to logits.

    >>> CNN().num_parameters()
    421738
    """

    name = "cnn"

    def __init__(self, config: CNNConfig | None = None) -> None:
        super().__init__(config or CNNConfig())
        widths = (1, *self.config.channels)  # grayscale in
        self.features = nn.Sequential(*(conv_block(a, b, self.config) for a, b in itertools.pairwise(widths)))
        head: list[nn.Module] = [nn.Flatten(), nn.Dropout(self.config.dropout)]
        width = self.config.feature_size
        if self.config.hidden:
            head += [nn.Linear(width, self.config.hidden), nn.ReLU(), nn.Dropout(self.config.dropout)]
            width = self.config.hidden
        head.append(nn.Linear(width, self.config.num_classes))
        self.classifier = nn.Sequential(*head)
        if self.config.channels_last:
            self.to(memory_format=torch.channels_last)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        side = self.config.image_size
        x = x.reshape(-1, 1, side, side)  # (N, 28, 28) or (N, 784) -> (N, 1, 28, 28)
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        features = self.features(x)  # (N, channels[-1], 7, 7) for two blocks
        return self.classifier(features)  # (N, num_classes) logits
