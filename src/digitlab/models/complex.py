"""The notebook's fully connected 3-layer network: 784 -> 512 -> 512 -> 10.

Exactly the notebook's ``ComplexNetwork``: three ``Linear`` layers, sigmoid after each hidden layer
and a softmax module for the output, 669,706 parameters; ``torchinfo.summary`` prints the same
table as the notebook. ``outputs="softmax"`` (or ``"sigmoid"``, the notebook's first suggestion)
ends the forward pass there; the default returns logits for ``CrossEntropyLoss``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from digitlab.models.base import OUTPUTS, Network, check_choice, check_positive, widths

HIDDEN_LAYERS = 2  # fc1 and fc2, as the notebook names them


@dataclass(frozen=True)
class ComplexConfig:
    input_size: int = 784  # 28 x 28 pixels, flattened (a run sizes it for its dataset)
    hidden_sizes: tuple[int, int] = (512, 512)  # neurons of its two hidden layers (the notebook's 512 and 512)
    num_classes: int = 10  # digits 0-9 (or ten kinds of clothing)
    outputs: str = "logits"  # "logits" (correct), "softmax" (the notebook's) or "sigmoid"

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden_sizes", widths("hidden_sizes", self.hidden_sizes))
        if len(self.hidden_sizes) != HIDDEN_LAYERS:
            raise ValueError(f"the ComplexNetwork has {HIDDEN_LAYERS} hidden layers, so hidden_sizes names {HIDDEN_LAYERS} widths, "
                             f"not {self.hidden_sizes!r} (the mlp model takes any number)")
        for name in ("input_size", "num_classes"):
            check_positive(name, getattr(self, name))
        check_choice("outputs", self.outputs, OUTPUTS)

    def build(self) -> ComplexNetwork:
        """A freshly initialised network of this config (the class is defined below)."""
        return ComplexNetwork(self)


class ComplexNetwork(Network):
    """Linear-sigmoid, Linear-sigmoid, Linear, then softmax/sigmoid or nothing (``config.outputs``).

    >>> ComplexNetwork().num_parameters()
    669706
    """

    name = "complex"

    def __init__(self, config: ComplexConfig | None = None) -> None:
        super().__init__(config or ComplexConfig())
        first, second = self.config.hidden_sizes
        self.fc1 = nn.Linear(self.config.input_size, first)
        self.fc2 = nn.Linear(first, second)
        self.fc3 = nn.Linear(second, self.config.num_classes)
        self.fn_activate = nn.Sigmoid()
        self.fn_output = nn.Softmax(dim=1)  # over the classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(-1, self.config.input_size)  # (N, 28, 28) or (N, 784) -> (N, 784)
        hidden = self.fn_activate(self.fc1(x))  # (N, 512)
        hidden = self.fn_activate(self.fc2(hidden))  # (N, 512)
        logits = self.fc3(hidden)  # (N, 10)
        if self.outputs == "softmax":
            return self.fn_output(logits)
        if self.outputs == "sigmoid":
            return self.fn_activate(logits)
        return logits
