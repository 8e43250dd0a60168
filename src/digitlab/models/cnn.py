"""A small convolutional network (Part II of the course): 99% on MNIST in seconds on a laptop CPU.

Each block is conv -> max-pool 2x2 -> BatchNorm -> ReLU. Pooling *before* BatchNorm and ReLU gives
the same kind of network as the usual conv-BN-ReLU-pool order but runs BN and ReLU on a quarter of
the pixels; on a CPU those memory-bound steps cost more than the convolutions. Channels-last memory
layout speeds up the oneDNN convolutions and pooling on CPU further.

The default is small on purpose, in the spirit of tuomaso/train_mnist_fast (24@5x5, 32@3x3): conv
16@5x5 and 32@3x3 without padding ("valid": 28 -> 24 -> 12 -> 10 -> 5), so the fully connected
layer sees 5x5x32 = 800 numbers. The first block works on the largest images, so its width sets
most of an epoch's time on a CPU: 16 channels train an epoch about a quarter faster than 24, as
accurately on validation images. Measured in benchmarks/RESULTS.md.

``test_time_mirror`` and ``test_time_shift`` are test-time augmentation in the airbench manner:
outside training the network also scores each image's left-right mirror and copies moved a pixel
left and right, in one batch, and answers their weighted mean. Fashion-MNIST's CNN trains with
mirrored images and predicts this way (its preset says so): a mirrored coat is a coat.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch
from torch import nn

from digitlab.models.base import Network, check_choice, check_positive, widths
from digitlab.pixels import shift

POOL = 2  # each block halves height and width (after its convolution)
PADDINGS = ("valid", "same")  # valid: no padding, the conv trims k-1 pixels; same: padded to keep the size


@dataclass(frozen=True)
class CNNConfig:
    channels: tuple[int, ...] = (16, 32)  # output channels of each conv block (16 first: as accurate as 24, a quarter faster on CPU)
    kernel_size: int | tuple[int, ...] = (5, 3)  # odd; one for all blocks, or per block (the last repeats, extras unused)
    padding: str = "valid"  # "valid" (no padding: cheaper, 28 -> 24 -> 12 -> 10 -> 5) or "same"
    hidden_sizes: tuple[int, ...] = (256,)  # neurons of each fully connected layer before the output; () for none
    dropout: float = 0.0  # before each fully connected layer, while training (0: the small net needs none)
    batch_norm: bool = True  # BatchNorm2d in every block (the conv then needs no bias); stands high learning rates
    channels_last: bool = True  # NHWC memory layout: faster convolutions on CPU (and GPU tensor cores)
    # Test-time augmentation: outside training, also score each image's left-right mirror and answer the mean. For
    # clothing, whose mirror image is the same garment (trained with 'mirror'); never digits: a mirrored 2 is no 2.
    test_time_mirror: bool = False
    # Pixels: also score copies (and their mirrors) moved this far left and right, weighted half as the unmoved (0: none).
    test_time_shift: int = 0
    image_size: int = 28  # side of the square input images (a run sizes it for its dataset)
    num_classes: int = 10  # output scores, one per class

    def __post_init__(self) -> None:
        object.__setattr__(self, "channels", tuple(self.channels))  # lists from JSON/CLI become tuples
        if isinstance(self.kernel_size, list | tuple):
            object.__setattr__(self, "kernel_size", tuple(self.kernel_size))
        if not self.channels:
            raise ValueError("channels must name at least one conv block, e.g. (16, 32)")
        for width in self.channels:
            check_positive("every channel count", width)
        check_choice("padding", self.padding, PADDINGS)
        sizes = self.kernel_size if isinstance(self.kernel_size, tuple) else (self.kernel_size,)
        if not sizes:
            raise ValueError("kernel_size must name at least one size, e.g. 3 or (5, 3)")
        if any(isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0 for k in sizes):
            raise ValueError(f"kernel_size must be odd and positive, got {self.kernel_size!r}")
        check_positive("image_size", self.image_size)
        if min(self.sides) < 1:
            raise ValueError(f"{len(self.channels)} blocks shrink a {self.image_size}-pixel image to nothing ({self.sides}); "
                             "use fewer channels entries, smaller kernels or padding='same'")
        if isinstance(self.test_time_shift, bool) or not isinstance(self.test_time_shift, int) \
                or not 0 <= self.test_time_shift < self.image_size:
            raise ValueError(f"test_time_shift must be 0 (none) or a number of pixels below {self.image_size}, got {self.test_time_shift!r}")
        object.__setattr__(self, "hidden_sizes", widths("hidden_sizes", self.hidden_sizes))
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout!r}")
        check_positive("num_classes", self.num_classes)

    @property
    def kernel_sizes(self) -> tuple[int, ...]:
        """The kernel size of each block: (5, 3) for two blocks, (5, 3, 3) for three, (5,) for one."""
        sizes = self.kernel_size if isinstance(self.kernel_size, tuple) else (self.kernel_size,)
        blocks = len(self.channels)
        return (sizes + (sizes[-1],) * blocks)[:blocks]

    @property
    def sides(self) -> tuple[int, ...]:
        """Image side after each block: (12, 5) for the default on 28x28 images."""
        sides, side = [], self.image_size
        for k in self.kernel_sizes:
            side = (side if self.padding == "same" else side - k + 1) // POOL
            sides.append(side)
        return tuple(sides)

    @property
    def test_time_views(self) -> tuple[tuple[int, bool], ...]:
        """(columns moved right, mirrored) of every view a prediction scores; the image itself comes first."""
        offsets = (0, self.test_time_shift, -self.test_time_shift) if self.test_time_shift else (0,)
        mirrors = (False, True) if self.test_time_mirror else (False,)
        return tuple((offset, mirrored) for offset in offsets for mirrored in mirrors)

    @property
    def test_time_weights(self) -> tuple[float, ...]:
        """The weight of each view's scores: the unmoved views share one half, the moved ones the other (airbench)."""
        views = self.test_time_views
        unmoved = sum(offset == 0 for offset, _ in views)
        if unmoved == len(views):
            return (1 / unmoved,) * unmoved
        return tuple(0.5 / unmoved if offset == 0 else 0.5 / (len(views) - unmoved) for offset, _ in views)

    @property
    def feature_size(self) -> int:
        """Numbers per image after the last block: channels x side x side."""
        return self.channels[-1] * self.sides[-1] ** 2

    def build(self) -> CNN:
        """A freshly initialised network of this config (the class is defined below)."""
        return CNN(self)


def conv_block(in_channels: int, out_channels: int, kernel_size: int, config: CNNConfig) -> nn.Sequential:
    padding = kernel_size // 2 if config.padding == "same" else 0
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding, bias=not config.batch_norm),
        nn.MaxPool2d(POOL),
    ]
    if config.batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class CNN(Network):
    """Conv blocks, then dropout and [Linear, ReLU, dropout] per hidden size, Linear to logits.

    >>> CNN().num_parameters()
    212730
    """

    name = "cnn"

    def __init__(self, config: CNNConfig | None = None) -> None:
        super().__init__(config or CNNConfig())
        widths = (1, *self.config.channels)  # grayscale in
        blocks = zip(itertools.pairwise(widths), self.config.kernel_sizes, strict=True)
        self.features = nn.Sequential(*(conv_block(a, b, k, self.config) for (a, b), k in blocks))
        head: list[nn.Module] = [nn.Flatten(), nn.Dropout(self.config.dropout)]
        width = self.config.feature_size
        for hidden in self.config.hidden_sizes:
            head += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(self.config.dropout)]
            width = hidden
        head.append(nn.Linear(width, self.config.num_classes))
        self.classifier = nn.Sequential(*head)
        if self.config.channels_last:
            self.to(memory_format=torch.channels_last)

    @property
    def views(self) -> int:
        """How many views of each image this forward pass scores: 1 while training, more with test-time augmentation."""
        return 1 if self.training else len(self.config.test_time_views)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        side = self.config.image_size
        x = x.reshape(-1, 1, side, side)  # (N, 28, 28) or (N, 784) -> (N, 1, 28, 28)
        views = self.views
        if views > 1:
            # One batch holds every view, so a hook on a block sees image i at index i (its other views at kN + i).
            x = torch.cat([view(x, offset, mirrored) for offset, mirrored in self.config.test_time_views])  # (V*N, 1, 28, 28)
        if self.config.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        features = self.features(x)  # (N, channels[-1], 5, 5) for the default (V*N with test-time views)
        logits = self.classifier(features)  # (N, num_classes), or (V*N, num_classes)
        if views > 1:
            weights = logits.new_tensor(self.config.test_time_weights)  # (V,)
            logits = torch.einsum("v,vnc->nc", weights, logits.unflatten(0, (views, -1)))  # (N, classes): weighted mean
        return logits

    def views_to_image(self, maps: torch.Tensor) -> torch.Tensor:
        """Maps (V*N, H, W) over the views of a forward pass -> (V, N, H, W), each moved back onto its image."""
        views = self.config.test_time_views[:self.views]  # while training: the image itself only
        maps = maps.unflatten(0, (len(views), -1))
        moved_back = [view(part, -offset, False) for part, (offset, _) in zip(maps, views, strict=True)]
        return torch.stack([part.flip(-1) if mirrored else part for part, (_, mirrored) in zip(moved_back, views, strict=True)])


def view(images: torch.Tensor, offset: int, mirrored: bool) -> torch.Tensor:
    """Images (..., H, W) mirrored left-right (first) and moved ``offset`` columns right (left if negative), black in."""
    images = images.flip(-1) if mirrored else images
    return shift(images, 0, offset) if offset else images
