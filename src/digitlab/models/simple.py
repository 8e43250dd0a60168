"""The notebook's first network: one fully connected layer from 784 pixels to 10 classes.

Exactly the notebook's ``SimpleNetwork`` (``fc1`` + ``fn_activate``, 7,850 parameters). With
``outputs="sigmoid"`` its forward ends in the sigmoid, as in the course; the default returns the
layer's logits, which is what ``CrossEntropyLoss`` expects (see docs/neural-networks.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from digitlab.models.base import Network, check_choice, check_positive


@dataclass(frozen=True)
class SimpleConfig:
    input_size: int = 784  # 28 x 28 pixels, flattened (a run sizes it for its dataset)
    num_classes: int = 10  # digits 0-9 (or ten kinds of clothing)
    outputs: str = "logits"  # "logits" (correct for CrossEntropyLoss) or "sigmoid" (the notebook's)

    def __post_init__(self) -> None:
        check_positive("input_size", self.input_size)
        check_positive("num_classes", self.num_classes)
        check_choice("outputs", self.outputs, ("logits", "sigmoid"))

    def build(self) -> SimpleNetwork:
        """A freshly initialised network of this config (the class is defined below)."""
        return SimpleNetwork(self)


class SimpleNetwork(Network):
    """Linear(784, 10), then a sigmoid when ``config.outputs == "sigmoid"``.

    >>> SimpleNetwork().num_parameters()
    7850
    """

    name = "simple"

    def __init__(self, config: SimpleConfig | None = None) -> None:
        super().__init__(config or SimpleConfig())
        self.fc1 = nn.Linear(self.config.input_size, self.config.num_classes)
        self.fn_activate = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, self.config.input_size)  # (N, 28, 28) or (N, 784) -> (N, 784)
        logits = self.fc1(x)  # (N, 10)
        return self.fn_activate(logits) if self.outputs == "sigmoid" else logits
